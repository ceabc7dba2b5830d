//! The workspace's settings as the server applies them: the messenger's look
//! and office hours, and which sites may embed the messenger.
//!
//! Admins change them on the Settings page; they are kept in the `settings`
//! table and held here as one snapshot, swapped whole on save, so every
//! request (the frame-ancestors header, the socket's Origin check) reads them
//! without touching the database. Open messengers hear a new look at once,
//! and again at every opening and closing of the office ([`run_clock`]).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use tokio::sync::{Notify, watch};

use crate::server::bus::{Bus, Event};
use crate::server::hub::Hub;
use crate::server::store::{Store, StoreError};
use crate::settings::{MessengerLook, MessengerSettings, OfficeHours};

/// Setting keys.
const MESSENGER: &str = "messenger";
const EMBED_ORIGINS: &str = "embed_origins";

/// Most sites an admin may list.
pub const MAX_ORIGINS: usize = 50;

/// The settings in force.
pub struct Workspace {
    current: RwLock<Arc<Snapshot>>,
    /// `MINICOM_ALLOWED_ORIGINS`: always allowed, shown as fixed.
    fixed_origins: Vec<String>,
    /// Wakes the office-hours clock when the settings change.
    changed: Notify,
}

struct Snapshot {
    messenger: MessengerSettings,
    /// The sites admins listed (besides the fixed ones).
    origins: Vec<String>,
}

/// Why a save was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{0}")]
    Invalid(String),
    #[error("could not save the settings: {0}")]
    Store(#[from] StoreError),
}

impl Workspace {
    /// Reads the saved settings (defaults for what was never saved).
    pub async fn load(store: &Store, fixed_origins: Vec<String>) -> Result<Self, StoreError> {
        let messenger = match store.setting(MESSENGER).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_else(|err| {
                tracing::warn!(%err, "the saved messenger settings could not be read; using the defaults until an admin saves them again");
                MessengerSettings::default()
            }),
            None => MessengerSettings::default(),
        };
        let origins = store
            .setting(EMBED_ORIGINS)
            .await?
            .map(|list| list.lines().map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Self::with(messenger, origins, fixed_origins))
    }

    /// Reads the saved settings again (another instance changed them).
    pub async fn reload(&self, store: &Store) -> Result<(), StoreError> {
        let fresh = Self::load(store, Vec::new()).await?.snapshot();
        self.replace(|_| Snapshot {
            messenger: fresh.messenger.clone(),
            origins: fresh.origins.clone(),
        });
        Ok(())
    }

    /// Settings held in memory only (tests).
    pub fn with(
        messenger: MessengerSettings,
        origins: Vec<String>,
        fixed_origins: Vec<String>,
    ) -> Self {
        Self {
            current: RwLock::new(Arc::new(Snapshot { messenger, origins })),
            fixed_origins,
            changed: Notify::new(),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn replace(&self, change: impl FnOnce(&Snapshot) -> Snapshot) {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *current = Arc::new(change(&current));
        drop(current);
        self.changed.notify_waiters();
    }

    /// The messenger's settings as saved.
    pub fn messenger(&self) -> MessengerSettings {
        self.snapshot().messenger.clone()
    }

    /// What the messenger shows now.
    pub fn look(&self) -> MessengerLook {
        self.look_at(Timestamp::now())
    }

    /// What the messenger shows at `now`.
    pub fn look_at(&self, now: Timestamp) -> MessengerLook {
        let snapshot = self.snapshot();
        let away = snapshot
            .messenger
            .office_hours
            .as_ref()
            .is_some_and(|hours| !office_open(hours, now));
        snapshot.messenger.look(away)
    }

    /// Checks and saves the messenger's settings; open messengers get the
    /// new look at once.
    pub async fn save_messenger(
        &self,
        store: &Store,
        bus: &dyn Bus,
        settings: MessengerSettings,
    ) -> Result<(), SaveError> {
        let settings = settings.validated().map_err(SaveError::Invalid)?;
        if let Some(hours) = &settings.office_hours
            && TimeZone::get(&hours.time_zone).is_err()
        {
            return Err(SaveError::Invalid(format!(
                "\"{}\" is not a time zone this server knows; use a name like Europe/Berlin.",
                hours.time_zone
            )));
        }
        let json = serde_json::to_string(&settings).expect("settings always serialise");
        store.set_setting(MESSENGER, &json).await?;
        self.replace(|old| Snapshot {
            messenger: settings,
            origins: old.origins.clone(),
        });
        // Every instance's visitors hear it (a lost announcement only
        // leaves open messengers on the old look until they reconnect: the
        // socket's `hello` carries the look). Other instances read the
        // settings again when they hear `SettingsChanged`.
        if let Err(err) = bus.publish(Event::Look { look: self.look() }).await {
            tracing::warn!(%err, "could not tell open messengers about the new settings");
        }
        Ok(())
    }

    /// The sites allowed to embed the messenger: `(fixed, listed by admins)`.
    pub fn origins(&self) -> (Vec<String>, Vec<String>) {
        (self.fixed_origins.clone(), self.snapshot().origins.clone())
    }

    /// Saves the admins' list (one origin per line); returns it as kept.
    pub async fn save_origins(&self, store: &Store, text: &str) -> Result<Vec<String>, SaveError> {
        let mut origins: Vec<String> = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let origin = parse_origin(line).map_err(SaveError::Invalid)?;
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        if origins.len() > MAX_ORIGINS {
            return Err(SaveError::Invalid(format!(
                "At most {MAX_ORIGINS} sites can be listed."
            )));
        }
        store
            .set_setting(EMBED_ORIGINS, &origins.join("\n"))
            .await?;
        self.replace(|old| Snapshot {
            messenger: old.messenger.clone(),
            origins: origins.clone(),
        });
        Ok(origins)
    }

    /// Whether the page at `origin` may embed the messenger (frame it, open
    /// its socket, say who its visitor is).
    pub fn may_embed(&self, origin: &str) -> bool {
        let listed = |list: &[String]| list.iter().any(|o| o.eq_ignore_ascii_case(origin));
        listed(&self.fixed_origins) || listed(&self.snapshot().origins)
    }

    /// The `frame-ancestors` sources of `/messenger`.
    pub fn frame_ancestors(&self) -> String {
        let snapshot = self.snapshot();
        std::iter::once("'self'")
            .chain(self.fixed_origins.iter().map(String::as_str))
            .chain(snapshot.origins.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// An origin as browsers write it: `https://shop.example.com[:port]`,
/// lower case, without the scheme's default port (browsers leave it out of
/// `Origin`, so a listed `:443` would never match).
pub fn parse_origin(text: &str) -> Result<String, String> {
    let origin = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let refused = || {
        format!(
            "\"{}\" is not a site's origin: write the scheme and host only, like https://shop.example.com",
            text.trim()
        )
    };
    let (scheme, rest) = origin.split_once("://").ok_or_else(refused)?;
    // `[v6]:port` or `name:port`, the port optional.
    let (host, port) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((v6, after)) => {
            if v6.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(refused());
            }
            match after {
                "" => (&rest[..v6.len() + 2], None),
                _ => (
                    &rest[..v6.len() + 2],
                    Some(after.strip_prefix(':').ok_or_else(refused)?),
                ),
            }
        }
        None => match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        },
    };
    let host_ok = host.starts_with('[')
        || !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if !matches!(scheme, "http" | "https") || !host_ok || !port_ok {
        return Err(refused());
    }
    Ok(match (scheme, port) {
        ("https", Some("443")) | ("http", Some("80")) => format!("{scheme}://{host}"),
        _ => origin,
    })
}

/// Whether the office is open at `now`.
pub fn office_open(hours: &OfficeHours, now: Timestamp) -> bool {
    let Ok(tz) = TimeZone::get(&hours.time_zone) else {
        return true;
    };
    let local = now.to_zoned(tz);
    let day = usize::from(local.weekday().to_monday_zero_offset().unsigned_abs());
    let minute =
        u16::from(local.hour().unsigned_abs()) * 60 + u16::from(local.minute().unsigned_abs());
    hours.days[day] && (hours.opens..hours.closes).contains(&minute)
}

/// The next opening or closing after `now`, within a week.
pub fn next_change(hours: &OfficeHours, now: Timestamp) -> Option<Timestamp> {
    let tz = TimeZone::get(&hours.time_zone).ok()?;
    let today: Date = now.to_zoned(tz.clone()).date();
    (0..8)
        .filter_map(|offset| today.checked_add(offset.days()).ok())
        .filter(|date| {
            hours.days[usize::from(date.weekday().to_monday_zero_offset().unsigned_abs())]
        })
        .flat_map(|date| [hours.opens, hours.closes].map(move |minutes| (date, minutes)))
        .filter_map(|(date, minutes)| {
            let at = if minutes >= 24 * 60 {
                date.tomorrow()
                    .ok()?
                    .to_datetime(jiff::civil::Time::midnight())
            } else {
                date.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0)
            };
            at.to_zoned(tz.clone()).ok().map(|z: Zoned| z.timestamp())
        })
        .filter(|at| *at > now)
        .min()
}

/// Longest sleep of the clock between checks (the wall clock may jump).
const CLOCK_CHECK: Duration = Duration::from_secs(600);

/// Tells open messengers when the office opens or closes, until the server
/// stops. Each instance tells its own visitors (not through the bus: in a
/// cluster every instance runs this clock).
pub async fn run_clock(
    workspace: Arc<Workspace>,
    hub: Arc<Hub>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut shown = workspace.look();
    loop {
        // Listening before reading: a save in between still wakes us.
        let changed = workspace.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let now = Timestamp::now();
        let wait = workspace
            .snapshot()
            .messenger
            .office_hours
            .as_ref()
            .and_then(|hours| next_change(hours, now))
            .map(|at| {
                // A second late, so the change has happened when we look.
                Duration::try_from(at.duration_since(now)).unwrap_or_default()
                    + Duration::from_secs(1)
            })
            .unwrap_or(CLOCK_CHECK)
            .min(CLOCK_CHECK);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            // Saved: the save announced the new look itself.
            () = changed => {
                shown = workspace.look();
                continue;
            }
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        }
        let look = workspace.look();
        if look != shown {
            hub.deliver(&Event::Look { look: look.clone() });
            shown = look;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin_weekdays() -> OfficeHours {
        OfficeHours {
            time_zone: "Europe/Berlin".into(),
            days: [true, true, true, true, true, false, false],
            opens: 9 * 60,
            closes: 17 * 60 + 30,
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn office_hours_are_read_in_their_time_zone() {
        let hours = berlin_weekdays();
        // Tuesday 2026-12-01: Berlin is UTC+1 in winter.
        assert!(!office_open(&hours, at("2026-12-01T07:59:00Z")));
        assert!(office_open(&hours, at("2026-12-01T08:00:00Z")));
        assert!(office_open(&hours, at("2026-12-01T16:29:00Z")));
        assert!(!office_open(&hours, at("2026-12-01T16:30:00Z")));
        // Saturday.
        assert!(!office_open(&hours, at("2026-12-05T10:00:00Z")));
        // Summer time: UTC+2.
        assert!(office_open(&hours, at("2026-07-01T07:00:00Z")));
        assert!(!office_open(&hours, at("2026-07-01T06:59:00Z")));
    }

    #[test]
    fn the_next_change_is_the_next_opening_or_closing() {
        let hours = berlin_weekdays();
        assert_eq!(
            next_change(&hours, at("2026-12-01T10:00:00Z")),
            Some(at("2026-12-01T16:30:00Z"))
        );
        // Friday evening → Monday morning.
        assert_eq!(
            next_change(&hours, at("2026-12-04T18:00:00Z")),
            Some(at("2026-12-07T08:00:00Z"))
        );
        // Across the spring change: Monday 2026-03-30 opens at 07:00 UTC.
        assert_eq!(
            next_change(&hours, at("2026-03-27T17:00:00Z")),
            Some(at("2026-03-30T07:00:00Z"))
        );
    }

    #[test]
    fn the_look_says_away_outside_office_hours() {
        let settings = MessengerSettings {
            office_hours: Some(berlin_weekdays()),
            away_message: "Back on Monday.".into(),
            ..Default::default()
        };
        let workspace = Workspace::with(settings, Vec::new(), Vec::new());
        assert_eq!(workspace.look_at(at("2026-12-01T10:00:00Z")).away, None);
        assert_eq!(
            workspace
                .look_at(at("2026-12-05T10:00:00Z"))
                .away
                .as_deref(),
            Some("Back on Monday.")
        );
    }

    #[test]
    fn origins_are_scheme_and_host_only() {
        assert_eq!(
            parse_origin("https://Shop.example.com/").unwrap(),
            "https://shop.example.com"
        );
        assert_eq!(
            parse_origin("http://localhost:8080").unwrap(),
            "http://localhost:8080"
        );
        assert_eq!(
            parse_origin("HTTPS://shop.example.com:443").unwrap(),
            "https://shop.example.com"
        );
        assert_eq!(
            parse_origin("http://[::1]:8080").unwrap(),
            "http://[::1]:8080"
        );
        assert_eq!(parse_origin("http://my_host:80").unwrap(), "http://my_host");
        for bad in [
            "shop.example.com",
            "https://shop.example.com/page",
            "javascript://x",
            "https://",
            "https://a b",
            "https://::",
            "https://shop.example.com:99999",
            "https://shop.example.com;script-src *",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fixed_and_listed_sites_may_embed() {
        let workspace = Workspace::with(
            MessengerSettings::default(),
            vec!["https://shop.example.com".into()],
            vec!["https://fixed.example.com".into()],
        );
        assert!(workspace.may_embed("https://shop.example.com"));
        assert!(workspace.may_embed("https://FIXED.example.com"));
        assert!(!workspace.may_embed("https://evil.example.com"));
        assert_eq!(
            workspace.frame_ancestors(),
            "'self' https://fixed.example.com https://shop.example.com"
        );
    }
}
