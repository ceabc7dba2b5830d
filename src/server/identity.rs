//! Verified visitor identity. A site that embeds the messenger computes, on
//! its own server, `user_hash = hex(HMAC-SHA256(secret, user_id))` and hands
//! `user_id` and `user_hash` to the messenger frame, which posts them to
//! `/messenger/identify` (see `visitors`). Minicom checks the hash in constant
//! time; a verified visitor's conversations follow them to every browser they
//! use. An email a visitor types is only ever a label.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Longest `user_id` accepted.
pub const MAX_USER_ID: usize = 200;

/// Why an identity was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("user_id must be 1 to {MAX_USER_ID} characters without control characters")]
    BadUserId,
    #[error("user_hash does not match user_id: sign user_id with this Minicom's identity secret")]
    BadHash,
    #[error("this signed identity expired: the site must sign a fresh one for each page it serves")]
    Expired,
}

/// What the embedding site signs: `user_id`, or `user_id` + newline +
/// `expires` when it also passes `expires` (Unix seconds) so a leaked link
/// stops working. A `user_id` never holds a control character, so the two
/// forms cannot be confused: `alice:99999999999` signed alone is not `alice`
/// with an expiry, and an expiring claim is not a different user id.
pub fn signed_text(user_id: &str, expires: Option<i64>) -> String {
    match expires {
        Some(expires) => format!("{user_id}\n{expires}"),
        None => user_id.to_owned(),
    }
}

/// Checks a claim with an optional expiry (`now` in Unix seconds).
pub fn verify_claim(
    secret: &[u8],
    user_id: &str,
    expires: Option<i64>,
    user_hash: &str,
    now: i64,
) -> Result<(), IdentityError> {
    verify(secret, user_id, user_hash, &signed_text(user_id, expires))?;
    match expires {
        Some(expires) if expires < now => Err(IdentityError::Expired),
        _ => Ok(()),
    }
}

/// `hex(HMAC-SHA256(secret, signed))`, what the embedding site computes
/// (`signed` is [`signed_text`]).
pub fn user_hash(secret: &[u8], signed: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(signed.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks in constant time that `user_hash` signs `signed` (see
/// [`signed_text`]) for a well-formed `user_id`.
fn verify(
    secret: &[u8],
    user_id: &str,
    user_hash: &str,
    signed: &str,
) -> Result<(), IdentityError> {
    if user_id.is_empty()
        || user_id.chars().count() > MAX_USER_ID
        || user_id.chars().any(char::is_control)
    {
        return Err(IdentityError::BadUserId);
    }
    let given = hex::decode(user_hash.trim()).map_err(|_| IdentityError::BadHash)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(signed.as_bytes());
    mac.verify_slice(&given).map_err(|_| IdentityError::BadHash)
}

/// The setting that keeps the identity secret, so every instance signs and
/// checks with the same one.
const SECRET: &str = "identity_secret";

/// The secret embedding sites sign visitors' ids with: the configured one
/// (`MINICOM_IDENTITY_SECRET`), or the one kept in the database, made once
/// by whichever instance starts first. A secret an older version kept in a
/// file beside the database is carried over, so sites keep working.
pub async fn load_or_create_secret(
    configured: Option<&str>,
    store: &crate::server::store::Store,
    data_dir: &Path,
) -> Result<String, crate::server::store::StoreError> {
    if let Some(secret) = configured {
        return Ok(secret.to_owned());
    }
    if let Some(secret) = store.setting(SECRET).await? {
        let legacy = std::fs::read_to_string(data_dir.join("identity-secret")).ok();
        if legacy.is_some_and(|old| !old.trim().is_empty() && old.trim() != secret) {
            tracing::warn!(
                "the identity-secret file beside the database differs from the secret kept in the database; the database's is used (set MINICOM_IDENTITY_SECRET to choose)"
            );
        }
        return Ok(secret);
    }
    // Only a missing file means there is none: one that cannot be read
    // (permissions after a change of service user) must not be replaced
    // silently, or every site's signatures and visitor cookie would break.
    let path = data_dir.join("identity-secret");
    let legacy = match std::fs::read_to_string(&path) {
        Ok(secret) => Some(secret.trim().to_owned()).filter(|s| !s.is_empty()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            return Err(crate::server::store::StoreError::Corrupt(format!(
                "could not read the identity secret in {}: {err}; make it readable, or set MINICOM_IDENTITY_SECRET",
                path.display()
            )));
        }
    };
    let carried = legacy.is_some();
    let secret = legacy.unwrap_or_else(crate::server::auth::new_token);
    let kept = store.setting_if_absent(SECRET, &secret).await?;
    if kept == secret {
        if carried {
            tracing::info!("moved the identity verification secret into the database");
        } else {
            tracing::info!("generated the identity verification secret");
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_for_its_user_and_secret() {
        let hash = user_hash(b"s3cret", "user-42");
        let check = |secret: &[u8], id: &str, hash: &str| verify_claim(secret, id, None, hash, 0);
        assert!(check(b"s3cret", "user-42", &hash).is_ok());
        assert_eq!(
            check(b"s3cret", "user-43", &hash),
            Err(IdentityError::BadHash)
        );
        assert_eq!(
            check(b"other", "user-42", &hash),
            Err(IdentityError::BadHash)
        );
        assert_eq!(
            check(b"s3cret", "user-42", "zz"),
            Err(IdentityError::BadHash)
        );
        assert_eq!(check(b"s3cret", "", &hash), Err(IdentityError::BadUserId));
        // The README's worked example (also computed with Python's hmac).
        assert_eq!(
            user_hash(b"my-identity-secret", "user-42"),
            "d3caf5ffe0239f8a4d2b1eab9b8154611971a7dc13c768d5bd2cd57407fe14d3"
        );
        assert_eq!(
            user_hash(
                b"my-identity-secret",
                &signed_text("user-42", Some(1_795_400_000))
            ),
            "adbc87cab04d0a36373dd38156a64586cc7ac2f89954634cba0d054eb04557bb"
        );
    }

    #[test]
    fn an_id_with_a_colon_cannot_pass_for_an_expiring_claim_or_back() {
        // Signed for the user id "alice:99999999999", which never expires…
        let forever = user_hash(b"s3cret", "alice:99999999999");
        assert!(verify_claim(b"s3cret", "alice:99999999999", None, &forever, 0).is_ok());
        // …it is not "alice" with an expiry,
        assert_eq!(
            verify_claim(b"s3cret", "alice", Some(99_999_999_999), &forever, 0),
            Err(IdentityError::BadHash)
        );
        // and an expiring claim for "user-42" is not a user id "user-42:E"
        // that would work forever.
        let expiring = user_hash(b"s3cret", &signed_text("user-42", Some(1000)));
        assert_eq!(
            verify_claim(b"s3cret", "user-42:1000", None, &expiring, 5000),
            Err(IdentityError::BadHash)
        );
        // A newline cannot be smuggled into a user id to forge the other form.
        assert_eq!(
            verify_claim(b"s3cret", "user-42\n1000", None, &expiring, 0),
            Err(IdentityError::BadUserId)
        );
    }

    #[test]
    fn an_expiring_claim_stops_working_after_its_time() {
        let hash = user_hash(b"s3cret", "user-42\n1000");
        assert!(verify_claim(b"s3cret", "user-42", Some(1000), &hash, 999).is_ok());
        assert_eq!(
            verify_claim(b"s3cret", "user-42", Some(1000), &hash, 1001),
            Err(IdentityError::Expired)
        );
        // Moving the expiry forward breaks the signature.
        assert_eq!(
            verify_claim(b"s3cret", "user-42", Some(9999), &hash, 1001),
            Err(IdentityError::BadHash)
        );
        // Dropping it too.
        assert_eq!(
            verify_claim(b"s3cret", "user-42", None, &hash, 1001),
            Err(IdentityError::BadHash)
        );
    }

    #[tokio::test]
    async fn every_instance_signs_with_the_one_secret_the_first_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/m.db", dir.path().display());
        let (a, b) = (
            crate::server::store::Store::open(&url).await.unwrap(),
            crate::server::store::Store::open(&url).await.unwrap(),
        );
        let first = load_or_create_secret(None, &a, dir.path()).await.unwrap();
        assert!(first.len() >= 43);
        assert_eq!(
            load_or_create_secret(None, &b, dir.path()).await.unwrap(),
            first
        );
        assert_eq!(
            load_or_create_secret(Some("given"), &b, dir.path())
                .await
                .unwrap(),
            "given"
        );
    }

    #[tokio::test]
    async fn a_secret_kept_in_a_file_by_an_older_version_carries_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("identity-secret"), "old-secret\n").unwrap();
        let url = format!("sqlite://{}/m.db", dir.path().display());
        let store = crate::server::store::Store::open(&url).await.unwrap();
        assert_eq!(
            load_or_create_secret(None, &store, dir.path())
                .await
                .unwrap(),
            "old-secret"
        );
        assert_eq!(
            store.setting(SECRET).await.unwrap().as_deref(),
            Some("old-secret")
        );
    }
}
