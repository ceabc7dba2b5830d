//! Abuse limits: token buckets for the frames of each connection, caps on
//! sockets per person and per address, and sign-in throttling.
//!
//! The buckets are `governor`'s; this module only decides which bucket a frame
//! draws from and what happens when one is empty.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::protocol::ClientFrame;

/// The configurable limits, with their defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Messages (and edits) per second, and how many may come at once.
    pub sends_per_second: u32,
    pub send_burst: u32,
    /// Messages per minute, sustained.
    pub sends_per_minute: u32,
    pub typing_per_second: u32,
    pub reactions_per_second: u32,
    /// Frames of any kind per second (pings, opens, reads…), burst twice that.
    pub frames_per_second: u32,
    /// Open sockets per visitor token or agent.
    pub sockets_per_person: usize,
    /// Open sockets per client address.
    pub sockets_per_ip: usize,
    /// Failed sign-ins (per email or address, over 15 minutes) before each
    /// further try is slowed down, and before tries are refused.
    pub sign_in_slow_after: u32,
    pub sign_in_refuse_after: u32,
    /// Bytes waiting to be written to one visitor socket before it counts as
    /// too slow (agents' sockets get `AGENT_QUEUE_FACTOR` times this: every
    /// inbox change reaches every agent, so their bursts are larger).
    pub socket_queue_bytes: usize,
    /// New visitors (messenger first visits) per client address per hour.
    pub new_visitors_per_ip_hour: u32,
    /// Conversations one visitor may start per hour.
    pub conversations_per_visitor_hour: u32,
    /// Requests per minute per API token (a sixth of them at once).
    pub api_per_minute: u32,
    /// Longest a client may take to send one HTTP request's headers (a
    /// slow-loris is cut off after it).
    pub header_deadline: Duration,
    /// A typing state nobody refreshes ends after this (the protocol's 6 s;
    /// tests shorten it instead of waiting).
    pub typing_expires: Duration,
    /// How long after a person's last socket closes they are announced
    /// offline; a reload reconnects well within it, so presence does not
    /// flicker.
    pub presence_grace: Duration,
}

/// How many times a visitor's queue budget an agent's socket may hold.
pub const AGENT_QUEUE_FACTOR: usize = 4;

impl Default for Limits {
    fn default() -> Self {
        Self {
            sends_per_second: 10,
            send_burst: 20,
            sends_per_minute: 100,
            typing_per_second: crate::protocol::TYPING_STARTS_PER_SECOND,
            reactions_per_second: 5,
            frames_per_second: 50,
            sockets_per_person: 20,
            sockets_per_ip: 200,
            sign_in_slow_after: 3,
            sign_in_refuse_after: 10,
            socket_queue_bytes: 1024 * 1024,
            new_visitors_per_ip_hour: 300,
            conversations_per_visitor_hour: 20,
            api_per_minute: 600,
            header_deadline: Duration::from_secs(10),
            typing_expires: crate::server::typing::EXPIRES,
            presence_grace: Duration::from_secs(4),
        }
    }
}

/// What to do with one incoming frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Refuse it with `rate_limited`; the client may retry after this long.
    Refuse(Duration),
    /// The client keeps flooding after being told: close the socket.
    Disconnect,
}

/// The buckets of one connection.
pub struct FrameLimiter {
    frames: DefaultDirectRateLimiter,
    sends: DefaultDirectRateLimiter,
    sends_sustained: DefaultDirectRateLimiter,
    typing: DefaultDirectRateLimiter,
    reactions: DefaultDirectRateLimiter,
    /// Refusals allowed before the socket is closed (refills slowly).
    refusals: DefaultDirectRateLimiter,
}

fn per_second(rate: u32, burst: u32) -> DefaultDirectRateLimiter {
    let rate = NonZeroU32::new(rate.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}

impl FrameLimiter {
    pub fn new(limits: &Limits) -> Self {
        let per_minute = NonZeroU32::new(limits.sends_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            frames: per_second(limits.frames_per_second, limits.frames_per_second * 2),
            sends: per_second(limits.sends_per_second, limits.send_burst),
            sends_sustained: RateLimiter::direct(Quota::per_minute(per_minute)),
            typing: per_second(limits.typing_per_second, limits.typing_per_second * 2),
            reactions: per_second(limits.reactions_per_second, limits.reactions_per_second),
            refusals: per_second(1, 30),
        }
    }

    /// Any frame arrived (checked before decoding, so garbage counts too).
    pub fn frame(&self) -> Verdict {
        self.verdict(&[&self.frames])
    }

    /// A decoded frame: draws from the bucket of its kind.
    pub fn decoded(&self, frame: &ClientFrame) -> Verdict {
        match frame {
            // A rating stores a line too: it counts as a message.
            ClientFrame::Send { .. } | ClientFrame::Edit { .. } | ClientFrame::Rate { .. } => {
                self.verdict(&[&self.sends, &self.sends_sustained])
            }
            // Only starts count: a stop ends a state (it publishes only if the
            // person was typing), so "start, clear the box, start again" within
            // a second is never refused.
            ClientFrame::Typing { typing: true, .. } => self.verdict(&[&self.typing]),
            // A visit is a small write like a reaction (a page changing).
            ClientFrame::React { .. } | ClientFrame::Visit { .. } => {
                self.verdict(&[&self.reactions])
            }
            _ => Verdict::Allow,
        }
    }

    fn verdict(&self, buckets: &[&DefaultDirectRateLimiter]) -> Verdict {
        let clock = DefaultClock::default();
        for bucket in buckets {
            if let Err(not_until) = bucket.check() {
                if self.refusals.check().is_err() {
                    return Verdict::Disconnect;
                }
                return Verdict::Refuse(not_until.wait_time_from(clock.now()));
            }
        }
        Verdict::Allow
    }
}

/// Failed sign-ins counted per key (an email, an address) over a window.
///
/// With several instances the counts are also kept in Redis, so an attacker
/// gets no more tries by being spread over instances; the instance's own
/// counts still apply while Redis is unreachable (the worst of both
/// decides).
pub struct SignInThrottle {
    failures: Mutex<HashMap<String, Failures>>,
    slow_after: u32,
    refuse_after: u32,
    /// Redis, and this deployment's prefix for its keys.
    shared: Option<(crate::server::bus::Link, String)>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

/// What a sign-in attempt may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Go ahead, after waiting this long (zero for the first few tries).
    After(Duration),
    /// Refused until the window passes.
    Refused(Duration),
}

/// Failures are forgotten this long after the first one.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most; the oldest are dropped beyond it.
const MAX_KEYS: usize = 100_000;

impl SignInThrottle {
    pub fn new(limits: &Limits) -> Self {
        Self {
            failures: Mutex::default(),
            slow_after: limits.sign_in_slow_after,
            refuse_after: limits.sign_in_refuse_after,
            shared: None,
        }
    }

    /// Counting in Redis too, shared by every instance.
    pub fn shared(limits: &Limits, prefix: String, link: crate::server::bus::Link) -> Self {
        Self {
            shared: Some((link, prefix)),
            ..Self::new(limits)
        }
    }

    /// May an attempt for these keys go ahead? (The worst key decides.) The
    /// answer is the same whether or not an account exists.
    pub async fn check(&self, keys: &[String]) -> Attempt {
        let now = Instant::now();
        let mut worst = {
            let failures = self.lock();
            keys.iter()
                .filter_map(|k| failures.get(k))
                .filter(|f| now.duration_since(f.since) < WINDOW)
                .map(|f| (f.count, WINDOW.saturating_sub(now.duration_since(f.since))))
                .max()
        };
        if let Some((link, prefix)) = &self.shared {
            let mut pipe = redis::pipe();
            for key in keys {
                pipe.cmd("GET").arg(shared_key(prefix, "sign-in", key));
                pipe.cmd("PTTL").arg(shared_key(prefix, "sign-in", key));
            }
            let answers = tokio::time::timeout(
                SHARED_WITHIN,
                link.run_all::<Vec<(Option<u32>, i64)>>(&pipe),
            )
            .await;
            if let Ok(Ok(answers)) = answers {
                let shared = answers
                    .into_iter()
                    .filter_map(|(count, ttl)| {
                        // No expiry (-1) cannot happen with Redis 7; were it
                        // so, the window is counted as whole, not as over.
                        let left = if ttl < 0 {
                            WINDOW
                        } else {
                            Duration::from_millis(ttl.unsigned_abs())
                        };
                        Some((count?, left))
                    })
                    .max();
                worst = worst.max(shared);
            }
        }
        match worst {
            Some((count, left)) if count >= self.refuse_after => Attempt::Refused(left),
            Some((count, _)) if count >= self.slow_after => Attempt::After(Duration::from_secs(
                u64::from(count - self.slow_after + 1).min(5),
            )),
            _ => Attempt::After(Duration::ZERO),
        }
    }

    /// Counts a failed attempt against every key.
    pub async fn failed(&self, keys: &[String]) {
        self.failed_here(keys);
        if let Some((link, prefix)) = &self.shared {
            let mut pipe = redis::pipe();
            for key in keys {
                // The window starts at the first failure (NX: Redis 7).
                pipe.cmd("INCR")
                    .arg(shared_key(prefix, "sign-in", key))
                    .ignore();
                pipe.cmd("PEXPIRE")
                    .arg(shared_key(prefix, "sign-in", key))
                    .arg(WINDOW.as_millis() as u64)
                    .arg("NX")
                    .ignore();
            }
            let _ = link.run_all::<()>(&pipe).await;
        }
    }

    /// A successful sign-in clears its account's count (not the address's).
    pub async fn succeeded(&self, key: &str) {
        self.lock().remove(key);
        if let Some((link, prefix)) = &self.shared {
            let _ = link
                .run::<()>(redis::cmd("DEL").arg(shared_key(prefix, "sign-in", key)))
                .await;
        }
    }

    fn failed_here(&self, keys: &[String]) {
        let now = Instant::now();
        let mut failures = self.lock();
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, f| now.duration_since(f.since) < WINDOW);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert(Failures {
                count: 0,
                since: now,
            });
            if now.duration_since(entry.since) >= WINDOW {
                *entry = Failures {
                    count: 0,
                    since: now,
                };
            }
            entry.count += 1;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How long a sign-in waits for Redis's counts before deciding on this
/// instance's own.
const SHARED_WITHIN: Duration = Duration::from_secs(1);

/// A count's key as kept in Redis: hashed, so no email or client address
/// is stored there.
fn shared_key(prefix: &str, kind: &str, key: &str) -> String {
    use sha2::Digest;
    format!(
        "{prefix}{kind}:{}",
        hex::encode(sha2::Sha256::digest(key.as_bytes()))
    )
}

/// Counts new visitors per client address over a fixed hour, so a script
/// cannot mint visitors (and inbox rows) without end. Remembers at most
/// `MAX_KEYS` addresses. With several instances the counts are also kept in
/// Redis (a window from the address's first new visitor), so spreading the
/// requests over instances earns no more; while Redis is unreachable each
/// instance's own count still applies.
pub struct NewVisitors {
    per_hour: u32,
    seen: Mutex<HashMap<std::net::IpAddr, (Instant, u32)>>,
    /// Redis, and this deployment's prefix for its keys.
    shared: Option<(crate::server::bus::Link, String)>,
}

const HOUR: Duration = Duration::from_secs(3600);

impl NewVisitors {
    pub fn new(limits: &Limits) -> Self {
        Self {
            per_hour: limits.new_visitors_per_ip_hour,
            seen: Mutex::default(),
            shared: None,
        }
    }

    /// Counting in Redis too, shared by every instance.
    pub fn shared(limits: &Limits, prefix: String, link: crate::server::bus::Link) -> Self {
        Self {
            shared: Some((link, prefix)),
            ..Self::new(limits)
        }
    }

    /// Counts one more new visitor from `ip`; false when the address has had
    /// its share this hour, here or (with Redis) on all instances together.
    pub async fn admit(&self, ip: std::net::IpAddr, now: Instant) -> bool {
        let key = address_key(ip);
        if !self.admit_here(key, now) {
            return false;
        }
        let Some((link, prefix)) = &self.shared else {
            return true;
        };
        let shared_key = shared_key(prefix, "new-visitors", &key.to_string());
        let mut pipe = redis::pipe();
        pipe.cmd("INCR")
            .arg(&shared_key)
            .cmd("PEXPIRE")
            .arg(&shared_key)
            .arg(HOUR.as_millis() as u64)
            .arg("NX")
            .ignore();
        match tokio::time::timeout(SHARED_WITHIN, link.run_all::<(u32,)>(&pipe)).await {
            Ok(Ok((count,))) => count <= self.per_hour,
            // Redis unreachable or slow: this instance's count decided.
            _ => true,
        }
    }

    /// This instance's own count; false (and not counted) when the address
    /// has had its share. When more addresses are remembered than `MAX_KEYS`
    /// even after forgetting old ones, new addresses are admitted uncounted
    /// rather than everyone refused.
    fn admit_here(&self, key: std::net::IpAddr, now: Instant) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_KEYS && !seen.contains_key(&key) {
            seen.retain(|_, (since, _)| now.duration_since(*since) < HOUR);
            if seen.len() >= MAX_KEYS {
                return true;
            }
        }
        let (since, count) = seen.entry(key).or_insert((now, 0));
        if now.duration_since(*since) >= HOUR {
            (*since, *count) = (now, 0);
        }
        if *count >= self.per_hour {
            return false;
        }
        *count += 1;
        true
    }
}

/// What a client address counts as: IPv6 addresses by their /64 (one host
/// usually holds a whole /64).
fn address_key(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            std::net::IpAddr::V6(octets.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientId, ConversationId};

    fn send() -> ClientFrame {
        ClientFrame::Send {
            conversation_id: Some(ConversationId(1)),
            client_id: ClientId::new(),
            body: "hi".into(),
            new_conversation: false,
            note: false,
            attachments: Vec::new(),
        }
    }

    #[tokio::test]
    async fn new_visitors_are_capped_per_address_per_hour() {
        let limits = Limits {
            new_visitors_per_ip_hour: 3,
            ..Limits::default()
        };
        let visitors = NewVisitors::new(&limits);
        let start = Instant::now();
        let a: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        let b: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(visitors.admit(a, start).await);
        }
        assert!(!visitors.admit(a, start).await, "the fourth this hour");
        assert!(
            visitors.admit(b, start).await,
            "another address has its own share"
        );
        assert!(
            visitors.admit(a, start + HOUR).await,
            "a new hour, a new share"
        );
        // One IPv6 host holds a /64: its addresses share one count.
        let v6 = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        for i in 1..=3 {
            assert!(visitors.admit(v6(&format!("2001:db8::{i}")), start).await);
        }
        assert!(!visitors.admit(v6("2001:db8::ffff"), start).await);
        assert!(
            visitors.admit(v6("2001:db8:0:1::1"), start).await,
            "another /64"
        );
    }

    #[test]
    fn a_burst_passes_then_sends_are_refused_with_a_hint() {
        let limiter = FrameLimiter::new(&Limits::default());
        for _ in 0..20 {
            assert_eq!(limiter.decoded(&send()), Verdict::Allow);
        }
        let Verdict::Refuse(wait) = limiter.decoded(&send()) else {
            panic!("the 21st send at once is refused");
        };
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        // Other kinds of frames are not affected by the send bucket.
        assert_eq!(limiter.decoded(&ClientFrame::Ping), Verdict::Allow);
    }

    #[test]
    fn a_client_that_keeps_flooding_is_disconnected() {
        let limiter = FrameLimiter::new(&Limits::default());
        let verdicts: Vec<Verdict> = (0..100).map(|_| limiter.decoded(&send())).collect();
        assert!(verdicts.contains(&Verdict::Disconnect));
        let first_cut = verdicts.iter().position(|v| *v == Verdict::Disconnect);
        assert!(first_cut > Some(40), "told first, cut later: {first_cut:?}");
    }

    #[tokio::test]
    async fn sign_in_failures_slow_then_refuse_for_any_key() {
        let limits = Limits::default();
        let throttle = SignInThrottle::new(&limits);
        let keys = [
            "email:ana@example.com".to_string(),
            "ip:10.0.0.1".to_string(),
        ];
        assert_eq!(throttle.check(&keys).await, Attempt::After(Duration::ZERO));
        for _ in 0..limits.sign_in_slow_after {
            throttle.failed(&keys).await;
        }
        assert!(matches!(throttle.check(&keys).await, Attempt::After(d) if d > Duration::ZERO));
        for _ in limits.sign_in_slow_after..limits.sign_in_refuse_after {
            throttle.failed(&keys).await;
        }
        assert!(matches!(throttle.check(&keys).await, Attempt::Refused(_)));
        // Another email from the same address is refused too.
        let other = [
            "email:ben@example.com".to_string(),
            "ip:10.0.0.1".to_string(),
        ];
        assert!(matches!(throttle.check(&other).await, Attempt::Refused(_)));
        throttle.succeeded("email:ana@example.com").await;
        assert!(
            matches!(throttle.check(&keys).await, Attempt::Refused(_)),
            "the address still counts"
        );
    }
}
