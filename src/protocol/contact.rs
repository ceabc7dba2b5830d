//! Who the visitor in a conversation is: what the messenger reports about
//! where they are (`visit`), and what the inbox's contact panel shows.

use serde::{Deserialize, Serialize};

use super::*;

/// Longest IANA time zone name accepted (the longest real one has 32).
pub const MAX_TIME_ZONE: usize = 64;

/// Longest page address a `visit` may report, in characters.
pub const MAX_PAGE_URL: usize = 2_000;

/// Longest page title kept, in characters (a longer one is cut).
pub const MAX_PAGE_TITLE: usize = 200;

/// Most custom attributes a verified site may send for one visitor.
pub const MAX_ATTRIBUTES: usize = 30;

/// Longest custom attribute name, in characters.
pub const MAX_ATTRIBUTE_NAME: usize = 40;

/// Longest custom attribute value, in characters.
pub const MAX_ATTRIBUTE_VALUE: usize = 200;

/// Earlier conversations the panel lists (it counts them all).
pub const OTHERS_LISTED: usize = 10;

/// The page of the embedding site the visitor is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageVisit {
    /// An `http` or `https` address.
    pub url: String,
    #[serde(default)]
    pub title: String,
}

impl PageVisit {
    /// The page as reported, checked: an `http(s)` address of one line
    /// within `MAX_PAGE_URL`, and its title on one line (cut to
    /// `MAX_PAGE_TITLE`; a page's title is whatever the site set).
    pub fn clean(self) -> Result<Self, ProtocolError> {
        let url = self.url.trim();
        let scheme_ok = ["http://", "https://"].iter().any(|s| {
            url.get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
        });
        if !scheme_ok
            || url.chars().count() > MAX_PAGE_URL
            || url.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(ProtocolError::InvalidFrame(format!(
                "page.url must be an http or https address of at most {MAX_PAGE_URL} characters"
            )));
        }
        let title: String = self
            .title
            .split(char::is_control)
            .flat_map(|part| [part, " "])
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(MAX_PAGE_TITLE)
            .collect();
        Ok(Self {
            url: url.to_owned(),
            title,
        })
    }
}

impl PageVisit {
    /// (The messenger) the page as it can be reported: an address too long
    /// loses its query and fragment (tracking parameters, mostly); `None`
    /// when even that is not a page the server takes.
    pub fn fitted(self) -> Option<Self> {
        if self.url.chars().count() <= MAX_PAGE_URL {
            return self.clean().ok();
        }
        let end = self.url.find(['?', '#']).unwrap_or(self.url.len());
        Self {
            url: self.url[..end].to_owned(),
            title: self.title,
        }
        .clean()
        .ok()
    }
}

/// Whether a time zone name has the shape of an IANA name
/// (`Europe/Paris`, `America/Argentina/Buenos_Aires`, `UTC`, `Etc/GMT+5`).
pub fn looks_like_time_zone(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TIME_ZONE
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'))
}

/// One custom attribute a verified embedding site sent (`plan`: `Pro`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    pub value: String,
}

/// Another conversation of the same visitor, for the panel's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherConversation {
    pub id: ConversationId,
    pub status: ConversationStatus,
    pub last_message_at: Timestamp,
    pub preview: String,
}

/// Everything the inbox's contact panel shows about a conversation's
/// visitor. Every string is the visitor's or the site's text, shown as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPanel {
    pub contact_id: ContactId,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The embedding site vouched for who they are: name and email come
    /// from there, and agents cannot change them.
    pub verified: bool,
    pub first_seen_at: Timestamp,
    /// The messenger is open now (on any instance).
    pub online: bool,
    /// When they were last around (the last time a messenger of theirs
    /// connected or closed).
    pub last_seen_at: Timestamp,
    /// The browser's IANA time zone, as the messenger reported it.
    pub time_zone: Option<String>,
    /// The browser and its version ("Chrome 131"), read from the user agent.
    pub browser: Option<String>,
    /// The operating system ("Windows 10", "Android").
    pub os: Option<String>,
    /// The language their messenger speaks, in English ("Spanish"), when
    /// the messenger named it.
    pub language: Option<String>,
    /// The page the visitor is on, unless the site keeps it to itself.
    pub page: Option<PageVisit>,
    /// From a verified embedding site, by name.
    pub attributes: Vec<Attribute>,
    /// Their other conversations, newest first (at most `OTHERS_LISTED`).
    pub others: Vec<OtherConversation>,
    /// How many other conversations they have in all.
    pub others_total: u32,
    /// The team blocked them from the chat.
    pub blocked: Option<super::BlockNote>,
    /// Their network address is known (a block can cover it too).
    pub address_known: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, title: &str) -> Result<PageVisit, ProtocolError> {
        PageVisit {
            url: url.into(),
            title: title.into(),
        }
        .clean()
    }

    #[test]
    fn only_web_addresses_are_pages() {
        assert!(page("https://shop.example/cart?x=1", "Cart").is_ok());
        assert!(page("HTTP://shop.example/", "").is_ok());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,<b>",
            "file:///etc/passwd",
            "https://a.example/ b",
            "https://a.example/\nx",
            "",
        ] {
            assert!(page(bad, "t").is_err(), "{bad:?} was taken as a page");
        }
        let long = format!("https://a.example/{}", "x".repeat(MAX_PAGE_URL));
        assert!(page(&long, "t").is_err());
    }

    #[test]
    fn a_page_too_long_to_report_loses_its_query() {
        let long = PageVisit {
            url: format!(
                "https://a.example/cart?utm={}#top",
                "x".repeat(MAX_PAGE_URL)
            ),
            title: "Cart".into(),
        };
        assert_eq!(long.fitted().unwrap().url, "https://a.example/cart");
        let bad = PageVisit {
            url: "javascript:alert(1)".into(),
            title: String::new(),
        };
        assert_eq!(bad.fitted(), None);
    }

    #[test]
    fn a_title_becomes_one_bounded_line() {
        let cleaned = page("https://a.example/", "  Cart\n\t<b>2 items</b>\u{0}  ").unwrap();
        assert_eq!(cleaned.title, "Cart <b>2 items</b>");
        let long = page("https://a.example/", &"é".repeat(MAX_PAGE_TITLE + 50)).unwrap();
        assert_eq!(long.title.chars().count(), MAX_PAGE_TITLE);
    }

    #[test]
    fn time_zone_names_have_the_iana_shape() {
        for good in [
            "Europe/Paris",
            "America/Argentina/Buenos_Aires",
            "UTC",
            "Etc/GMT+5",
        ] {
            assert!(looks_like_time_zone(good), "{good}");
        }
        for bad in [
            "",
            "Europe/Paris<script>",
            "../../etc",
            "a b",
            &"A".repeat(65),
        ] {
            assert!(!looks_like_time_zone(bad), "{bad}");
        }
    }
}
