//! Identity: passwords, sign-in sessions and visitor tokens, all carried by
//! HttpOnly cookies. Identity is never taken from a URL or a frame.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::{HeaderMap, HeaderValue, header};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use crate::protocol::Timestamp;
use crate::server::store::{AgentRecord, ContactRecord, Store, StoreError};

/// Cookie holding an anonymous visitor's token.
pub const VISITOR_COOKIE: &str = "minicom_visitor";
/// Cookie holding an agent's sign-in session token.
pub const SESSION_COOKIE: &str = "minicom_session";
/// How long a sign-in lasts.
pub const SESSION_DAYS: i64 = 14;
/// How long a visitor token lasts in the browser.
const VISITOR_DAYS: i64 = 365;

/// A new 256-bit random token, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps of a token: a stolen database reveals no live cookie.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Hashes a password with argon2id. CPU-heavy: call from `spawn_blocking`.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a stored hash. CPU-heavy: call from `spawn_blocking`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the email is unknown, so a wrong email takes
/// as long as a wrong password and does not reveal which accounts exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&new_token()).unwrap_or_default())
}

/// A random password for a generated account: 20 characters from an alphabet
/// without look-alikes (about 115 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The value of the cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// A `Set-Cookie` value for an HttpOnly, SameSite=Lax cookie.
pub fn set_cookie(name: &str, value: &str, max_age_days: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let max_age = max_age_days * 24 * 3600;
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("cookie names and hex tokens are valid header text")
}

/// Visitor tokens are signed with their own key, derived from the identity
/// secret: a visitor-token signature is never a valid `user_hash`, nor the
/// other way round, whatever user ids a site signs.
const VISITOR_KEY_CONTEXT: &[u8] = b"minicom visitor token key";

/// Bytes of a visitor token's signature (128 bits; hex in the cookie).
const VISITOR_MAC_BYTES: usize = 16;

fn visitor_mac(secret: &[u8], random: &str) -> hmac::Hmac<Sha256> {
    use hmac::Mac;
    let hmac = |key: &[u8]| {
        hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length")
    };
    let mut derive = hmac(secret);
    derive.update(VISITOR_KEY_CONTEXT);
    let mut mac = hmac(&derive.finalize().into_bytes());
    mac.update(random.as_bytes());
    mac
}

/// A new visitor token, signed by this server (`random.signature`): only
/// tokens it issued can become visitors, so a made-up cookie creates no one.
pub fn new_visitor_token(secret: &[u8]) -> String {
    use hmac::Mac;
    let random = new_token();
    let mac = visitor_mac(secret, &random).finalize().into_bytes();
    format!("{random}.{}", hex::encode(&mac[..VISITOR_MAC_BYTES]))
}

/// Whether this server issued the visitor token (checked in constant time).
pub fn issued_visitor_token(secret: &[u8], token: &str) -> bool {
    use hmac::Mac;
    let Some((random, mac)) = token.split_once('.') else {
        return false;
    };
    match hex::decode(mac) {
        Ok(mac) if mac.len() == VISITOR_MAC_BYTES => visitor_mac(secret, random)
            .verify_truncated_left(&mac)
            .is_ok(),
        _ => false,
    }
}

/// The `Set-Cookie` values for a new, signed visitor token. Where the browser
/// can keep `Secure` cookies (`secure_context`), the cookie is
/// `SameSite=None; Secure; Partitioned` (CHIPS): the messenger framed by
/// another website keeps its visitor even with third-party cookies blocked,
/// in a jar of that website's own — a page elsewhere never sees it. An older
/// unpartitioned cookie of the same name is expired with it (the browser
/// would send both, and the old one first). On plain http a `Secure` cookie
/// would be dropped: `SameSite=Lax` then.
pub fn new_visitor_cookie(secret: &[u8], secure_context: bool) -> (String, Vec<HeaderValue>) {
    let token = new_visitor_token(secret);
    let values = if secure_context {
        let max_age = VISITOR_DAYS * 24 * 3600;
        vec![
            HeaderValue::from_str(&format!(
                "{VISITOR_COOKIE}={token}; Path=/; HttpOnly; SameSite=None; Secure; Partitioned; \
                 Max-Age={max_age}"
            ))
            .expect("cookie names and hex tokens are valid header text"),
            HeaderValue::from_str(&format!(
                "{VISITOR_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
            ))
            .expect("cookie names are valid header text"),
        ]
    } else {
        vec![set_cookie(VISITOR_COOKIE, &token, VISITOR_DAYS, false)]
    };
    (token, values)
}

/// How the server learns that browsers reach it over https.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Https {
    /// Always (`MINICOM_SECURE_COOKIES=1`).
    pub always: bool,
    /// Proxies whose `X-Forwarded-Proto` is believed (`MINICOM_TRUSTED_PROXIES`).
    pub proxies: crate::server::config::TrustedProxies,
}

/// Whether the browser came over https: the server is configured for it
/// (`MINICOM_SECURE_COOKIES`), or a trusted proxy (`MINICOM_TRUSTED_PROXIES`)
/// says so in `X-Forwarded-Proto` (or `Forwarded: proto=`). A header from
/// anyone else is ignored: it is theirs to invent.
pub fn behind_https(headers: &HeaderMap, peer: Option<std::net::IpAddr>, https: &Https) -> bool {
    if https.always {
        return true;
    }
    if !peer.is_some_and(|ip| https.proxies.contains(ip)) {
        return false;
    }
    let first = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let proto = first("x-forwarded-proto").or_else(|| {
        first("forwarded")?.split(';').find_map(|pair| {
            pair.trim()
                .strip_prefix("proto=")
                .map(|p| p.trim_matches('"').to_owned())
        })
    });
    proto.as_deref() == Some("https")
}

/// Whether the browser behind a request can keep `Secure` cookies: it came
/// over https ([`behind_https`]), or it is a browser on this machine reaching
/// the server directly by a loopback name (which browsers treat as secure) —
/// not through a proxy, which may well rewrite `Host` to a loopback name
/// while its own visitors come over plain http.
pub fn secure_context(headers: &HeaderMap, peer: Option<std::net::IpAddr>, https: &Https) -> bool {
    if behind_https(headers, peer, https) {
        return true;
    }
    let proxied = [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-real-ip",
    ]
    .iter()
    .any(|name| headers.contains_key(*name));
    if proxied || !peer.is_some_and(|ip| ip.is_loopback()) {
        return false;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The signed-in agent behind the request's session cookie, if any.
pub async fn signed_in_agent(
    store: &Store,
    headers: &HeaderMap,
) -> Result<Option<AgentRecord>, StoreError> {
    match cookie(headers, SESSION_COOKIE) {
        Some(token) => store.agent_by_session(&token_hash(token)).await,
        None => Ok(None),
    }
}

/// The known visitor behind the request's visitor cookie, if any (a
/// cookie becomes someone once its messenger's socket connects).
pub async fn signed_in_visitor(
    store: &Store,
    headers: &HeaderMap,
) -> Result<Option<ContactRecord>, StoreError> {
    match cookie(headers, VISITOR_COOKIE) {
        Some(token) => store.known_contact_for_token(&token_hash(token)).await,
        None => Ok(None),
    }
}

/// When a session started now expires.
pub fn session_expiry() -> Timestamp {
    Timestamp(crate::server::store::now().0 + SESSION_DAYS * 24 * 3600 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_contexts_are_https_or_a_local_browser() {
        let local: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
        let remote: std::net::IpAddr = "203.0.113.9".parse().expect("ip");
        let plain = Https::default();
        let always = Https {
            always: true,
            ..Https::default()
        };
        let host = |h: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_str(h).expect("host"));
            headers
        };
        for name in ["localhost:3000", "127.0.0.1:3107", "[::1]:80", "LOCALHOST"] {
            assert!(secure_context(&host(name), Some(local), &plain), "{name}");
            assert!(
                !secure_context(&host(name), Some(remote), &plain),
                "{name} from afar"
            );
        }
        for name in ["chat.example.com", "10.0.0.5:3000", "[2001:db8::1]:443"] {
            assert!(!secure_context(&host(name), Some(local), &plain), "{name}");
            assert!(
                secure_context(&host(name), Some(remote), &always),
                "{name} behind https"
            );
        }
        // A proxy on this machine that rewrites Host to a loopback name.
        let mut proxied = host("127.0.0.1:3000");
        proxied.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        assert!(!secure_context(&proxied, Some(local), &plain));
        assert!(!secure_context(&HeaderMap::new(), Some(local), &plain));
    }

    #[test]
    fn https_is_believed_only_from_trusted_proxies() {
        let proxy: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
        let stranger: std::net::IpAddr = "203.0.113.9".parse().expect("ip");
        let https = Https::default();
        let headers = |name: &'static str, value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static("chat.example.com"));
            headers.insert(name, HeaderValue::from_static(value));
            headers
        };
        let forwarded = headers("x-forwarded-proto", "https");
        assert!(behind_https(&forwarded, Some(proxy), &https));
        assert!(secure_context(&forwarded, Some(proxy), &https));
        assert!(
            !behind_https(&forwarded, Some(stranger), &https),
            "anyone can send the header"
        );
        assert!(!behind_https(
            &headers("x-forwarded-proto", "http"),
            Some(proxy),
            &https
        ));
        assert!(behind_https(
            &headers("x-forwarded-proto", "HTTPS, http"),
            Some(proxy),
            &https
        ));
        assert!(behind_https(
            &headers(
                "forwarded",
                "for=203.0.113.9;proto=https;host=chat.example.com"
            ),
            Some(proxy),
            &https
        ));
        assert!(!behind_https(&HeaderMap::new(), Some(proxy), &https));
        let elsewhere = Https {
            always: false,
            proxies: crate::server::config::TrustedProxies::parse("10.0.0.0/8").expect("list"),
        };
        assert!(!behind_https(&forwarded, Some(proxy), &elsewhere));
        assert!(behind_https(
            &forwarded,
            "10.1.2.3".parse().ok(),
            &elsewhere
        ));
    }

    #[test]
    fn visitor_cookies_are_partitioned_where_they_can_be_secure() {
        let (_, secure) = new_visitor_cookie(b"secret", true);
        let partitioned = secure[0].to_str().expect("text");
        assert!(
            partitioned.contains("; SameSite=None; Secure; Partitioned;"),
            "{partitioned}"
        );
        let expired = secure[1].to_str().expect("text");
        assert!(
            expired.contains("Max-Age=0") && !expired.contains("Partitioned"),
            "the unpartitioned one goes: {expired}"
        );
        let (_, plain) = new_visitor_cookie(b"secret", false);
        assert_eq!(plain.len(), 1);
        let plain = plain[0].to_str().expect("text");
        assert!(
            plain.contains("SameSite=Lax") && !plain.contains("Secure"),
            "{plain}"
        );
    }

    #[test]
    fn only_tokens_this_server_signed_are_its_visitors() {
        let token = new_visitor_token(b"secret");
        assert!(issued_visitor_token(b"secret", &token));
        assert!(!issued_visitor_token(b"another secret", &token));
        let (random, mac) = token.split_once('.').unwrap();
        assert!(!issued_visitor_token(b"secret", random), "unsigned");
        assert!(!issued_visitor_token(
            b"secret",
            &format!("{random}x.{mac}")
        ));
        assert!(!issued_visitor_token(
            b"secret",
            &format!("{random}.{}", &mac[1..])
        ));
        assert!(token.len() <= 128, "fits the cookie reader's limit");
    }

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "wrong"));
        assert!(!verify_password("not a hash", "correct horse"));
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; minicom_visitor=abc; b=2"),
        );
        assert_eq!(cookie(&headers, VISITOR_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), None);
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(generate_password().len(), 20);
    }
}
