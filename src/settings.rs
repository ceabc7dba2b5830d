//! What admins set about the messenger, and what the messenger shows from it.
//!
//! Both sides read these types: the Settings page edits [`MessengerSettings`];
//! the messenger, the bubble and `/widget.js` draw a [`MessengerLook`], which
//! the server computes from the settings and the clock (office hours) and
//! pushes to open messengers when either changes (`server::workspace`).

use serde::{Deserialize, Serialize};

/// The product's own blue, until an admin picks a brand colour.
pub const DEFAULT_BRAND: &str = "#2f5fd0";

/// The away line when the admins left theirs empty.
pub const PLAIN_AWAY: &str =
    "We're away right now. Leave a message and we'll reply when we're back.";

/// Longest team name, greeting, or introduction and away text (characters).
pub const MAX_NAME: usize = 60;
pub const MAX_GREETING: usize = 80;
pub const MAX_TEXT: usize = 280;

/// Which bottom corner the launcher sits in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LauncherSide {
    Left,
    #[default]
    Right,
}

/// How soon the team usually answers, as visitors are told.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyTime {
    Minutes,
    #[default]
    Hour,
    Hours,
    Day,
}

impl ReplyTime {
    pub const ALL: [ReplyTime; 4] = [Self::Minutes, Self::Hour, Self::Hours, Self::Day];

    /// What the messenger's header says while nobody is online.
    pub fn sentence(self) -> &'static str {
        match self {
            Self::Minutes => "Usually replies in a few minutes",
            Self::Hour => "Usually replies in under an hour",
            Self::Hours => "Usually replies in a few hours",
            Self::Day => "Usually replies within a day",
        }
    }

    /// The form value.
    pub fn key(self) -> &'static str {
        match self {
            Self::Minutes => "minutes",
            Self::Hour => "hour",
            Self::Hours => "hours",
            Self::Day => "day",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == key)
    }
}

/// When the team is at work, in one time zone; the same hours on each
/// chosen day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeHours {
    /// An IANA name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Monday first.
    pub days: [bool; 7],
    /// Minutes after midnight, local time; `opens < closes`.
    pub opens: u16,
    pub closes: u16,
}

impl Default for OfficeHours {
    fn default() -> Self {
        Self {
            time_zone: "UTC".into(),
            days: [true, true, true, true, true, false, false],
            opens: 9 * 60,
            closes: 17 * 60,
        }
    }
}

/// Everything an admin sets about the messenger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessengerSettings {
    pub team_name: String,
    /// `#rrggbb`.
    pub brand_colour: String,
    pub launcher_side: LauncherSide,
    /// The greeting's first line ("Hi there").
    pub greeting: String,
    /// The team's introduction under it.
    pub intro: String,
    pub reply_time: ReplyTime,
    /// `None`: always open (no away message).
    pub office_hours: Option<OfficeHours>,
    /// Shown outside office hours.
    pub away_message: String,
}

impl Default for MessengerSettings {
    fn default() -> Self {
        Self {
            team_name: "Northwind Coffee".into(),
            brand_colour: DEFAULT_BRAND.into(),
            launcher_side: LauncherSide::Right,
            greeting: "Hi there".into(),
            intro: "Ask us anything about beans, brewing or your order — we're here to help."
                .into(),
            reply_time: ReplyTime::Hour,
            office_hours: None,
            away_message: "We're away right now. Leave a message and we'll get back to you \
                           here when we're back."
                .into(),
        }
    }
}

impl MessengerSettings {
    /// Trims the texts and checks every field; the error says which field
    /// and why, in words for the admin.
    pub fn validated(mut self) -> Result<Self, String> {
        fn text(value: &mut String, label: &str, max: usize, required: bool) -> Result<(), String> {
            *value = value.trim().to_owned();
            if required && value.is_empty() {
                return Err(format!("The {label} cannot be empty."));
            }
            if value.chars().count() > max {
                return Err(format!("The {label} is limited to {max} characters."));
            }
            if value.chars().any(|c| c.is_control() && c != '\n') {
                return Err(format!("The {label} contains control characters."));
            }
            Ok(())
        }
        text(&mut self.team_name, "team name", MAX_NAME, true)?;
        text(&mut self.greeting, "greeting", MAX_GREETING, true)?;
        text(&mut self.intro, "introduction", MAX_TEXT, false)?;
        text(&mut self.away_message, "away message", MAX_TEXT, false)?;
        self.brand_colour = self.brand_colour.trim().to_ascii_lowercase();
        if rgb(&self.brand_colour).is_none() {
            return Err(format!(
                "The brand colour must be written #rrggbb (e.g. {DEFAULT_BRAND}), not \"{}\".",
                self.brand_colour
            ));
        }
        if let Some(hours) = &mut self.office_hours {
            hours.time_zone = hours.time_zone.trim().to_owned();
            if hours.time_zone.is_empty() || hours.time_zone.len() > 64 {
                return Err("Choose the time zone your office hours are in.".into());
            }
            if !hours.days.iter().any(|d| *d) {
                return Err("Office hours need at least one day.".into());
            }
            if hours.opens >= hours.closes || hours.closes > 24 * 60 {
                return Err("Office hours must close after they open, on the same day.".into());
            }
        }
        Ok(self)
    }
}

/// The Settings page's messenger form, as the browser posts it (every field
/// text; checkboxes present only when ticked).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessengerForm {
    pub team_name: String,
    pub brand_colour: String,
    pub launcher_side: String,
    pub greeting: String,
    pub intro: String,
    pub reply_time: String,
    /// "on" when office hours apply.
    pub office_hours: Option<String>,
    pub time_zone: String,
    /// `HH:MM`.
    pub opens: String,
    pub closes: String,
    /// One per weekday, Monday first: "on" when ticked.
    pub mon: Option<String>,
    pub tue: Option<String>,
    pub wed: Option<String>,
    pub thu: Option<String>,
    pub fri: Option<String>,
    pub sat: Option<String>,
    pub sun: Option<String>,
    pub away_message: String,
}

/// Weekday names, Monday first, as the form and the page write them.
pub const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Mon"),
    ("tue", "Tue"),
    ("wed", "Wed"),
    ("thu", "Thu"),
    ("fri", "Fri"),
    ("sat", "Sat"),
    ("sun", "Sun"),
];

impl MessengerForm {
    /// The settings the form describes, checked.
    pub fn into_settings(self) -> Result<MessengerSettings, String> {
        let ticked = |field: &Option<String>| field.as_deref().is_some_and(|v| !v.is_empty());
        let office_hours = if ticked(&self.office_hours) {
            let time = |value: &str, which: &str| {
                parse_clock(value)
                    .ok_or_else(|| format!("Give the time the office {which} as HH:MM."))
            };
            Some(OfficeHours {
                time_zone: self.time_zone,
                days: [
                    ticked(&self.mon),
                    ticked(&self.tue),
                    ticked(&self.wed),
                    ticked(&self.thu),
                    ticked(&self.fri),
                    ticked(&self.sat),
                    ticked(&self.sun),
                ],
                opens: time(&self.opens, "opens")?,
                closes: time(&self.closes, "closes")?,
            })
        } else {
            None
        };
        MessengerSettings {
            team_name: self.team_name,
            brand_colour: self.brand_colour,
            launcher_side: match self.launcher_side.as_str() {
                "left" => LauncherSide::Left,
                _ => LauncherSide::Right,
            },
            greeting: self.greeting,
            intro: self.intro,
            reply_time: ReplyTime::from_key(&self.reply_time).unwrap_or_default(),
            office_hours,
            away_message: self.away_message,
        }
        .validated()
    }
}

/// What the messenger shows: the settings as they apply right now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessengerLook {
    pub team_name: String,
    pub brand_colour: String,
    /// Text and icons on the brand colour: black or white, whichever
    /// contrasts more (always at least 4.5:1).
    pub brand_text: String,
    pub launcher_side: LauncherSide,
    pub greeting: String,
    pub intro: String,
    /// "Usually replies in …".
    pub reply_time: String,
    /// Outside office hours: the away message (or a plain one when the admin
    /// left it empty).
    pub away: Option<String>,
}

impl Default for MessengerLook {
    fn default() -> Self {
        MessengerSettings::default().look(false)
    }
}

impl MessengerSettings {
    /// The look, given whether the office is closed now.
    pub fn look(&self, away: bool) -> MessengerLook {
        MessengerLook {
            team_name: self.team_name.clone(),
            brand_colour: self.brand_colour.clone(),
            brand_text: text_on(&self.brand_colour).into(),
            launcher_side: self.launcher_side,
            greeting: self.greeting.clone(),
            intro: self.intro.clone(),
            reply_time: self.reply_time.sentence().into(),
            away: away.then(|| {
                if self.away_message.is_empty() {
                    PLAIN_AWAY.into()
                } else {
                    self.away_message.clone()
                }
            }),
        }
    }
}

/// `#rrggbb` → its three channels.
pub fn rgb(colour: &str) -> Option<[u8; 3]> {
    let hex = colour.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// WCAG relative luminance.
fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

/// The WCAG contrast ratio of two colours.
pub fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// Black or white text on `background`, whichever reads better.
pub fn text_on(background: &str) -> &'static str {
    let Some(bg) = rgb(background) else {
        return "#ffffff";
    };
    if contrast(bg, [255; 3]) >= contrast(bg, [0; 3]) {
        "#ffffff"
    } else {
        "#000000"
    }
}

/// `HH:MM` → minutes after midnight (what `<input type=time>` sends); a
/// day that ends at midnight closes at 23:59.
pub fn parse_clock(value: &str) -> Option<u16> {
    let (h, m) = value.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.get(..2)?.parse().ok()?);
    // Up to 23:59: what `<input type=time>` can show.
    (h < 24 && m < 60).then(|| h * 60 + m)
}

/// Minutes after midnight → `HH:MM`.
pub fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_on_any_brand_colour_reaches_aa_contrast() {
        for colour in [
            "#2f5fd0", "#ffde00", "#000000", "#ffffff", "#777777", "#00a86b",
        ] {
            let ink = rgb(text_on(colour)).unwrap();
            let ratio = contrast(rgb(colour).unwrap(), ink);
            assert!(ratio >= 4.5, "{colour}: {ratio}");
        }
        assert_eq!(text_on("#ffde00"), "#000000");
        assert_eq!(text_on("#2f5fd0"), "#ffffff");
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let ok = MessengerSettings {
            team_name: "  Acme  ".into(),
            brand_colour: "#AABBCC".into(),
            ..Default::default()
        }
        .validated()
        .unwrap();
        assert_eq!(
            (ok.team_name.as_str(), ok.brand_colour.as_str()),
            ("Acme", "#aabbcc")
        );
        for bad in [
            MessengerSettings {
                brand_colour: "red".into(),
                ..Default::default()
            },
            MessengerSettings {
                team_name: " ".into(),
                ..Default::default()
            },
            MessengerSettings {
                greeting: "x".repeat(MAX_GREETING + 1),
                ..Default::default()
            },
            MessengerSettings {
                office_hours: Some(OfficeHours {
                    opens: 17 * 60,
                    closes: 9 * 60,
                    ..Default::default()
                }),
                ..Default::default()
            },
            MessengerSettings {
                office_hours: Some(OfficeHours {
                    days: [false; 7],
                    ..Default::default()
                }),
                ..Default::default()
            },
        ] {
            assert!(bad.clone().validated().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_form_becomes_settings() {
        let form = MessengerForm {
            team_name: "Acme".into(),
            brand_colour: "#112233".into(),
            launcher_side: "left".into(),
            greeting: "Hello".into(),
            reply_time: "minutes".into(),
            office_hours: Some("on".into()),
            time_zone: "Europe/Paris".into(),
            opens: "08:30".into(),
            closes: "18:00".into(),
            mon: Some("on".into()),
            sat: Some("on".into()),
            ..Default::default()
        };
        let settings = form.clone().into_settings().unwrap();
        assert_eq!(settings.launcher_side, LauncherSide::Left);
        assert_eq!(settings.reply_time, ReplyTime::Minutes);
        let hours = settings.office_hours.unwrap();
        assert_eq!(hours.days, [true, false, false, false, false, true, false]);
        assert_eq!((hours.opens, hours.closes), (510, 1080));
        let bad_time = MessengerForm {
            opens: "half past eight".into(),
            ..form
        };
        assert!(bad_time.into_settings().unwrap_err().contains("HH:MM"));
    }

    #[test]
    fn clock_times_round_trip() {
        assert_eq!(parse_clock("09:30"), Some(570));
        assert_eq!(parse_clock("23:59"), Some(1439));
        assert_eq!(parse_clock("24:00"), None);
        assert_eq!(parse_clock("65535:00"), None);
        assert_eq!(parse_clock("9"), None);
        assert_eq!(clock(570), "09:30");
    }
}
