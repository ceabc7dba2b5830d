//! Timestamps as the reader expects them: local time, relative for today.

use crate::i18n::Locale;
use crate::protocol::Timestamp;

/// "just now", "5 min ago", "14:32" today, "Yesterday 14:32", else "3 Mar, 14:32".
/// On the server (no reader's time zone) it falls back to UTC.
pub fn format_time(at: Timestamp) -> String {
    format_time_in(Locale::En, at)
}

/// [`format_time`] in the reader's language ("hace 5 min", "3. März, 14:32").
pub fn format_time_in(w: Locale, at: Timestamp) -> String {
    let now = now_ms();
    let age = now - at.0;
    if (0..60_000).contains(&age) {
        return w.t("just-now");
    }
    if (60_000..3_600_000).contains(&age) {
        return w.t_with("minutes-ago", &[("minutes", (age / 60_000).into())]);
    }
    let t = local_parts(at.0);
    let today = local_parts(now);
    let clock = format!("{:02}:{:02}", t.hour, t.minute);
    if (t.year, t.month, t.day) == (today.year, today.month, today.day) {
        return clock;
    }
    let yesterday = local_parts(now - 86_400_000);
    if (t.year, t.month, t.day) == (yesterday.year, yesterday.month, yesterday.day) {
        return w.t_with("yesterday-at", &[("clock", clock.into())]);
    }
    let month = w.t(&format!("month-{}", t.month.clamp(1, 12)));
    let mut args = vec![
        ("day", t.day.into()),
        ("month", month.into()),
        ("clock", clock.into()),
    ];
    if t.year == today.year {
        w.t_with("date-this-year", &args)
    } else {
        // The year as written, not as a number ("2,025").
        args.push(("year", t.year.to_string().into()));
        w.t_with("date-other-year", &args)
    }
}

/// "just now", "5 min ago", "3 h ago", else the date: for "last seen".
pub fn format_ago(at: Timestamp) -> String {
    let w = Locale::En;
    let age = now_ms() - at.0;
    if age < 60_000 {
        w.t("just-now")
    } else if age < 3_600_000 {
        w.t_with("minutes-ago", &[("minutes", (age / 60_000).into())])
    } else if age < 86_400_000 {
        w.t_with("hours-ago", &[("hours", (age / 3_600_000).into())])
    } else {
        format_time(at)
    }
}

/// The full date and time, for a tooltip.
pub fn format_full(at: Timestamp) -> String {
    let t = local_parts(at.0);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute
    )
}

/// The reader's time zone (IANA, from `Intl`); `None` on the server.
pub fn time_zone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let format =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
        js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into())
            .ok()?
            .as_string()
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// The time of day now in another IANA time zone, as the reader's browser
/// writes times ("Tue 15:42"); `None` on the server or for a zone the
/// browser does not know.
pub fn clock_in_zone(zone: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{JsCast, JsValue};
        let options = js_sys::Object::new();
        for (key, value) in [
            ("timeZone", zone),
            ("weekday", "short"),
            ("hour", "2-digit"),
            ("minute", "2-digit"),
        ] {
            js_sys::Reflect::set(&options, &key.into(), &value.into()).ok()?;
        }
        // Built by reflection: an unknown zone is a RangeError to catch,
        // not a panic.
        let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
        let class: js_sys::Function = js_sys::Reflect::get(&intl, &"DateTimeFormat".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let args = js_sys::Array::of2(&JsValue::UNDEFINED, &options);
        let format = js_sys::Reflect::construct(&class, &args).ok()?;
        let write: js_sys::Function = js_sys::Reflect::get(&format, &"format".into())
            .ok()?
            .dyn_into()
            .ok()?;
        write
            .call1(&format, &js_sys::Date::new_0())
            .ok()?
            .as_string()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = zone;
        None
    }
}

/// The instant of a local wall-clock time: `days` after today at
/// `hour:minute` (the reader's time zone; UTC on the server).
pub fn local_instant(days: i64, hour: u32, minute: u32) -> Timestamp {
    let today = local_parts(now_ms());
    civil_instant(
        today.year,
        today.month,
        today.day as i64 + days,
        hour,
        minute,
    )
}

/// Today's weekday, Monday 0 … Sunday 6 (the reader's time zone).
pub fn weekday_today() -> u32 {
    let today = local_parts(now_ms());
    (days_from_civil(today.year, today.month, today.day as i64) + 3).rem_euclid(7) as u32
}

/// The hour of the day now (the reader's time zone).
pub fn hour_now() -> u32 {
    local_parts(now_ms()).hour
}

/// Reads an `<input type="datetime-local">` value ("2026-12-01T09:00") as
/// the reader's local time.
pub fn parse_local(value: &str) -> Option<Timestamp> {
    let (date, clock) = value.split_once('T')?;
    let mut date = date.splitn(3, '-');
    let year = date.next()?.parse().ok()?;
    let month: u32 = date.next()?.parse().ok()?;
    let day: i64 = date.next()?.parse().ok()?;
    let mut clock = clock.splitn(3, ':');
    let hour: u32 = clock.next()?.parse().ok()?;
    let minute: u32 = clock.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    Some(civil_instant(year, month, day, hour, minute))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm);
/// `day` may run past the month's end.
fn days_from_civil(year: i64, month: u32, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(feature = "hydrate")]
fn civil_instant(year: i64, month: u32, day: i64, hour: u32, minute: u32) -> Timestamp {
    // The browser knows the reader's zone and its daylight-saving rules.
    let d = js_sys::Date::new_with_year_month_day_hr_min(
        year as u32,
        month as i32 - 1,
        day as i32,
        hour as i32,
        minute as i32,
    );
    Timestamp(d.get_time() as i64)
}

#[cfg(not(feature = "hydrate"))]
fn civil_instant(year: i64, month: u32, day: i64, hour: u32, minute: u32) -> Timestamp {
    let days = days_from_civil(year, month, day);
    Timestamp((days * 86_400 + i64::from(hour) * 3_600 + i64::from(minute) * 60) * 1_000)
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
}

#[cfg(feature = "hydrate")]
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

#[cfg(not(feature = "hydrate"))]
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(feature = "hydrate")]
fn local_parts(ms: i64) -> Parts {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    Parts {
        year: d.get_full_year() as i64,
        month: d.get_month() + 1,
        day: d.get_date(),
        hour: d.get_hours(),
        minute: d.get_minutes(),
    }
}

/// UTC civil date from days since the epoch (Howard Hinnant's algorithm).
#[cfg(not(feature = "hydrate"))]
fn local_parts(ms: i64) -> Parts {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Parts {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: ((rem % 3600) / 60) as u32,
    }
}

#[cfg(all(test, not(feature = "hydrate")))]
mod tests {
    use super::*;

    #[test]
    fn utc_parts_of_a_known_instant() {
        // 2024-02-29 13:45 UTC
        let p = local_parts(1_709_214_300_000);
        assert_eq!(
            (p.year, p.month, p.day, p.hour, p.minute),
            (2024, 2, 29, 13, 45)
        );
    }

    #[test]
    fn local_values_read_back_as_their_instant() {
        assert_eq!(
            parse_local("2024-02-29T13:45"),
            Some(Timestamp(1_709_214_300_000))
        );
        assert_eq!(parse_local("2024-13-01T10:00"), None);
        assert_eq!(parse_local("nonsense"), None);
        // A day past the month's end rolls over: 31 Jan + 1 = 1 Feb.
        assert_eq!(
            civil_instant(2024, 1, 32, 0, 0),
            civil_instant(2024, 2, 1, 0, 0)
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }

    #[test]
    fn recent_times_are_relative() {
        let now = now_ms();
        assert_eq!(format_time(Timestamp(now - 5_000)), "just now");
        assert_eq!(format_time(Timestamp(now - 5 * 60_000)), "5 min ago");
    }

    #[test]
    fn times_are_written_in_the_readers_language() {
        let now = now_ms();
        let five_minutes = Timestamp(now - 5 * 60_000);
        assert_eq!(format_time_in(Locale::Es, five_minutes), "hace 5 min");
        assert_eq!(format_time_in(Locale::De, five_minutes), "vor 5 Min.");
        // 3 March 2020, 14:32 (UTC here: the server's and the tests' zone).
        let long_ago = civil_instant(2020, 3, 3, 14, 32);
        assert_eq!(format_time_in(Locale::De, long_ago), "3. März 2020, 14:32");
        assert_eq!(
            format_time_in(Locale::Pt, long_ago),
            "3 de mar. de 2020, 14:32"
        );
        assert_eq!(format_time_in(Locale::En, long_ago), "3 Mar 2020, 14:32");
    }
}
