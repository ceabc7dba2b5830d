//! The links an email carries, signed with the deployment's secret (the
//! one that signs visitor tokens): back to the conversation (it makes the
//! browser that follows it speak for the visitor, so it is bound to them
//! and expires), and out of further emails.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::protocol::{ContactId, ConversationId};

/// How long a link back to a conversation works.
pub const CONTINUE_DAYS: i64 = 30;

/// What the links' key is derived with: a key of their own, so nothing
/// else the secret signs (an embedding site's `user_hash` of an id its
/// user chose) can pass for a link, nor a link for anything else.
const KEY_CONTEXT: &[u8] = b"minicom email links v1";

/// The MAC of `text` with the links' own key.
fn mac(secret: &[u8], text: &str) -> Hmac<Sha256> {
    let hmac =
        |key: &[u8]| Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    let mut derive = hmac(secret);
    derive.update(KEY_CONTEXT);
    let mut mac = hmac(&derive.finalize().into_bytes());
    mac.update(text.as_bytes());
    mac
}

fn sign(secret: &[u8], text: &str) -> String {
    hex::encode(mac(secret, text).finalize().into_bytes())
}

/// Compares in constant time.
fn signed(secret: &[u8], text: &str, signature: &str) -> bool {
    let Ok(given) = hex::decode(signature) else {
        return false;
    };
    mac(secret, text).verify_slice(&given).is_ok()
}

fn continue_text(conversation: ConversationId, contact: ContactId, expires: i64) -> String {
    format!("continue:{}:{}:{expires}", conversation.0, contact.0)
}

fn unsubscribe_text(contact: ContactId) -> String {
    format!("unsubscribe:{}", contact.0)
}

/// `/messenger/continue?…`: opens the messenger on `conversation` as its
/// visitor, until `expires` (Unix seconds).
pub fn continue_path(
    secret: &[u8],
    conversation: ConversationId,
    contact: ContactId,
    expires: i64,
) -> String {
    let s = sign(secret, &continue_text(conversation, contact, expires));
    format!(
        "/messenger/continue?c={}&k={}&x={expires}&s={s}",
        conversation.0, contact.0
    )
}

/// `/messenger/unsubscribe?…`: no more emails to this visitor.
pub fn unsubscribe_path(secret: &[u8], contact: ContactId) -> String {
    let s = sign(secret, &unsubscribe_text(contact));
    format!("/messenger/unsubscribe?k={}&s={s}", contact.0)
}

/// A link back, as it came: its conversation, visitor, expiry, signature.
#[derive(serde::Deserialize)]
pub struct Continue {
    pub c: i64,
    pub k: i64,
    pub x: i64,
    pub s: String,
}

impl Continue {
    /// The conversation and visitor, when the link is genuine and not
    /// expired at `now` (Unix seconds).
    pub fn verify(&self, secret: &[u8], now: i64) -> Option<(ConversationId, ContactId)> {
        let (conversation, contact) = (ConversationId(self.c), ContactId(self.k));
        (now <= self.x
            && signed(
                secret,
                &continue_text(conversation, contact, self.x),
                &self.s,
            ))
        .then_some((conversation, contact))
    }
}

/// An unsubscribe link, as it came.
#[derive(serde::Deserialize)]
pub struct Unsubscribe {
    pub k: i64,
    pub s: String,
}

impl Unsubscribe {
    pub fn verify(&self, secret: &[u8]) -> Option<ContactId> {
        let contact = ContactId(self.k);
        signed(secret, &unsubscribe_text(contact), &self.s).then_some(contact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query<T: serde::de::DeserializeOwned>(path: &str) -> T {
        let query = path.split_once('?').unwrap().1;
        serde_json::from_value(serde_json::Value::Object(
            query
                .split('&')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    let v = v
                        .parse::<i64>()
                        .map(serde_json::Value::from)
                        .unwrap_or_else(|_| v.into());
                    (k.to_owned(), v)
                })
                .collect(),
        ))
        .unwrap()
    }

    #[test]
    fn links_open_only_what_they_were_made_for_until_they_expire() {
        let secret = b"secret";
        let path = continue_path(secret, ConversationId(7), ContactId(3), 1_000);
        let link: Continue = query(&path);
        assert_eq!(
            link.verify(secret, 999),
            Some((ConversationId(7), ContactId(3)))
        );
        assert_eq!(link.verify(secret, 1_001), None, "expired");
        assert_eq!(link.verify(b"other", 999), None);
        let forged = Continue {
            k: 4,
            ..query(&path)
        };
        assert_eq!(forged.verify(secret, 999), None, "another visitor");
        let later = Continue {
            x: 9_999,
            ..query(&path)
        };
        assert_eq!(later.verify(secret, 999), None, "a longer life");

        let out: Unsubscribe = query(&unsubscribe_path(secret, ContactId(3)));
        assert_eq!(out.verify(secret), Some(ContactId(3)));
        assert_eq!(Unsubscribe { k: 4, ..out }.verify(secret), None);

        // A plain HMAC of the same words with the secret (what an
        // embedding site's `user_hash` is) is no link.
        let plain = {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
            mac.update(b"unsubscribe:3");
            hex::encode(mac.finalize().into_bytes())
        };
        assert_eq!(Unsubscribe { k: 3, s: plain }.verify(secret), None);
    }
}
