//! Saved replies: answers the team (or one agent) keeps under a shortcut
//! (`/refund`), put into the composer with the visitor's and the agent's
//! names filled in. Both sides use this: the server checks what is saved,
//! the composer finds and fills them.

use serde::{Deserialize, Serialize};

/// Longest shortcut, in characters.
pub const MAX_SHORTCUT_CHARS: usize = 32;

/// Most saved replies a workspace keeps for the team.
pub const MAX_SAVED_REPLIES: usize = 500;

/// Most saved replies one agent keeps for themselves.
pub const MAX_OWN_REPLIES: usize = 100;

/// One saved reply.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SavedReply {
    pub id: i64,
    /// What follows the `/`: lower-case letters, digits, `-` and `_`.
    pub shortcut: String,
    pub body: String,
    /// The agent's own, not the team's.
    #[serde(default)]
    pub mine: bool,
}

/// The names placeholders are filled with.
pub struct Names<'a> {
    pub visitor: &'a str,
    pub visitor_email: Option<&'a str>,
    pub agent: &'a str,
}

/// The reply's text with `{{visitor.name}}`, `{{visitor.first_name}}`,
/// `{{visitor.email}}` and `{{agent.name}}` filled in; other braces stay as
/// they are (it is text, never markup).
pub fn fill(body: &str, names: &Names<'_>) -> String {
    let first = names
        .visitor
        .split_whitespace()
        .next()
        .unwrap_or(names.visitor);
    body.replace("{{visitor.name}}", names.visitor)
        .replace("{{visitor.first_name}}", first)
        .replace("{{visitor.email}}", names.visitor_email.unwrap_or(""))
        .replace("{{agent.name}}", names.agent)
}

/// What the composer offers for `typed` ("/ref"): replies whose shortcut
/// starts with what follows the `/` first, then those that contain it;
/// nothing unless the text is a `/` and one word.
pub fn matching<'a>(replies: &'a [SavedReply], typed: &str) -> Vec<&'a SavedReply> {
    let Some(word) = typed.strip_prefix('/') else {
        return Vec::new();
    };
    if word.contains(char::is_whitespace) {
        return Vec::new();
    }
    // Shortcuts are ASCII: no Unicode case tables in the browser.
    let word = word.to_ascii_lowercase();
    let mut found: Vec<&SavedReply> = replies
        .iter()
        .filter(|r| r.shortcut.starts_with(&word))
        .collect();
    found.extend(
        replies
            .iter()
            .filter(|r| !r.shortcut.starts_with(&word) && r.shortcut.contains(&word)),
    );
    found
}

/// Checks a shortcut an admin typed (a leading `/` is dropped) and returns
/// it in lower case.
pub fn check_shortcut(shortcut: &str) -> Result<String, String> {
    let shortcut = shortcut.trim().trim_start_matches('/').to_lowercase();
    let good = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if shortcut.is_empty()
        || shortcut.chars().count() > MAX_SHORTCUT_CHARS
        || !shortcut.chars().all(good)
    {
        return Err(format!(
            "A shortcut is one word of at most {MAX_SHORTCUT_CHARS} letters, digits, - or _ (like refund)."
        ));
    }
    Ok(shortcut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(shortcut: &str) -> SavedReply {
        SavedReply {
            id: 1,
            shortcut: shortcut.into(),
            body: String::new(),
            mine: false,
        }
    }

    #[test]
    fn placeholders_are_filled_and_the_rest_left_alone() {
        let names = Names {
            visitor: "Ana Lopez",
            visitor_email: None,
            agent: "Ben",
        };
        assert_eq!(
            fill(
                "Hi {{visitor.first_name}}, {{agent.name}} here. {{other}} <b>",
                &names
            ),
            "Hi Ana, Ben here. {{other}} <b>"
        );
        assert_eq!(fill("{{visitor.email}}!", &names), "!");
    }

    #[test]
    fn the_list_starts_with_what_begins_with_the_word() {
        let replies = [reply("shipping"), reply("refund"), reply("refund-late")];
        let found: Vec<_> = matching(&replies, "/ref")
            .iter()
            .map(|r| r.shortcut.as_str())
            .collect();
        assert_eq!(found, ["refund", "refund-late"]);
        let found: Vec<_> = matching(&replies, "/ip")
            .iter()
            .map(|r| r.shortcut.as_str())
            .collect();
        assert_eq!(found, ["shipping"]);
        assert_eq!(matching(&replies, "/").len(), 3);
        assert!(matching(&replies, "refund").is_empty());
        assert!(matching(&replies, "/refund now").is_empty());
    }

    #[test]
    fn shortcuts_are_one_plain_word() {
        assert_eq!(check_shortcut(" /Refund ").unwrap(), "refund");
        assert!(check_shortcut("two words").is_err());
        assert!(check_shortcut("").is_err());
        assert!(check_shortcut(&"a".repeat(33)).is_err());
        assert!(check_shortcut("<script>").is_err());
    }
}
