//! The visitor beside a conversation: what the contact panel shows, the
//! team's edits to an unverified visitor's name and email, what the
//! messenger reports (`visit`), and the custom attributes a verified site
//! sends. The store keeps it (`store::contacts`); the inbox's server
//! functions (`app::inbox::contact`) only check the session and call here.

use std::collections::BTreeMap;

use crate::protocol::{
    Attribute, ContactId, ContactPanel, ConversationId, MAX_ATTRIBUTE_NAME, MAX_ATTRIBUTE_VALUE,
    MAX_ATTRIBUTES, OTHERS_LISTED, PageVisit, ProtocolError, clean_profile_field, looks_like_email,
    looks_like_time_zone,
};
use crate::server::AppState;
use crate::server::publish::{publish_contact_rows, publish_summary_of};
use crate::server::store::StoreError;

/// Longest user agent kept, in bytes (real ones are under 300; the rest of
/// a longer one tells nothing more).
pub const MAX_USER_AGENT: usize = 512;

/// Longest custom attributes text read, in bytes (30 names and values at
/// their longest fit easily).
const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

/// Why a contact change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    #[error("That conversation does not exist (any more).")]
    NoConversation,
    #[error(
        "This visitor is signed in on your site: their name and email come from there and cannot be changed here."
    )]
    Verified,
    /// What was given breaks the rules (the same as over the socket).
    #[error("{0}")]
    Refused(#[from] ProtocolError),
    #[error("could not reach the database: {0}")]
    Store(#[from] StoreError),
}

/// What the panel shows about the visitor of `conversation`.
pub async fn panel(
    state: &AppState,
    conversation: ConversationId,
) -> Result<ContactPanel, ContactError> {
    let store = &state.store;
    let details = store
        .contact_details(conversation)
        .await?
        .ok_or(ContactError::NoConversation)?;
    let contact = details.record.id;
    let others = store
        .other_conversations(contact, conversation, OTHERS_LISTED)
        .await?;
    let (browser, os) = details
        .user_agent
        .as_deref()
        .map(describe_user_agent)
        .unwrap_or_default();
    let page = details.page_url.map(|url| PageVisit {
        url,
        title: details.page_title.unwrap_or_default(),
    });
    Ok(ContactPanel {
        contact_id: contact,
        name: details.record.name,
        email: details.record.email,
        verified: details.record.verified,
        first_seen_at: details.first_seen_at,
        online: state
            .presence
            .contacts_online(&state.hub, &[contact])
            .await
            .contains(&true),
        last_seen_at: details.last_seen_at,
        time_zone: details.time_zone,
        browser,
        os,
        language: details
            .language
            .as_deref()
            .and_then(crate::i18n::Locale::from_tag)
            .map(|l| l.english_name().to_owned()),
        page,
        attributes: details
            .attributes
            .as_deref()
            .map(stored_attributes)
            .unwrap_or_default(),
        others,
        others_total: u32::try_from(details.conversations.saturating_sub(1)).unwrap_or(u32::MAX),
        blocked: details.block,
        address_known: details.address_known,
    })
}

/// An agent corrects the name and email of the visitor of `conversation`:
/// each as a visitor would type it (empty means none). A verified visitor's
/// come from the embedding site and are refused here.
pub async fn edit(
    state: &AppState,
    conversation: ConversationId,
    name: Option<String>,
    email: Option<String>,
) -> Result<ContactId, ContactError> {
    let details = state
        .store
        .contact_details(conversation)
        .await?
        .ok_or(ContactError::NoConversation)?;
    if details.record.verified {
        return Err(ContactError::Verified);
    }
    let contact = details.record.id;
    set_profile(state, contact, name, email).await?;
    Ok(contact)
}

/// Checks and stores a visitor's name and email (typed by them or fixed by
/// the team), then shows every inbox their conversations' rows with it.
pub async fn set_profile(
    state: &AppState,
    contact: ContactId,
    name: Option<String>,
    email: Option<String>,
) -> Result<(Option<String>, Option<String>), ContactError> {
    let name = clean_profile_field("name", name)?;
    let email = clean_profile_field("email", email)?;
    if let Some(email) = &email
        && !looks_like_email(email)
    {
        return Err(ProtocolError::InvalidProfile(
            "That email address does not look right (expected name@example.com).".into(),
        )
        .into());
    }
    state
        .store
        .set_contact_profile(contact, name.as_deref(), email.as_deref())
        .await?;
    publish_contact_rows(state, contact).await?;
    Ok((name, email))
}

/// Records where a visitor is, as their messenger reported it: a time zone
/// this server knows and the page, each checked on its own (a bad one is
/// refused, the other still kept). When something changed the visitor's
/// newest inbox row moves, so a panel open on it shows the new page.
pub async fn record_visit(
    state: &AppState,
    contact: ContactId,
    time_zone: Option<String>,
    page: Option<PageVisit>,
) -> Result<(), ContactError> {
    let zone_ok =
        |zone: &String| looks_like_time_zone(zone) && jiff::tz::TimeZone::get(zone).is_ok();
    let (time_zone, bad_zone) = match time_zone {
        Some(zone) if !zone_ok(&zone) => (None, true),
        zone => (zone, false),
    };
    let (page, bad_page) = match page.map(PageVisit::clean) {
        Some(Err(err)) => (None, Some(err)),
        Some(Ok(page)) => (Some(page), None),
        None => (None, None),
    };
    // A refused page is not "no page": the one before stays.
    let changed = if bad_page.is_none() {
        state
            .store
            .set_visit(contact, time_zone.as_deref(), page.as_ref())
            .await?
    } else if let Some(zone) = &time_zone {
        state.store.set_time_zone(contact, zone).await?
    } else {
        false
    };
    if changed {
        // One row, their newest conversation's (the one a panel most likely
        // shows): a visitor hopping between pages must not send every
        // agent all their rows each time.
        let newest = state
            .store
            .other_conversations(contact, ConversationId(0), 1)
            .await?;
        if let Some(newest) = newest.first() {
            publish_summary_of(state, newest.id).await;
        }
    }
    if let Some(err) = bad_page {
        return Err(err.into());
    }
    if bad_zone {
        return Err(ProtocolError::InvalidFrame(
            "time_zone must be an IANA time zone name this server knows, such as Europe/Paris"
                .into(),
        )
        .into());
    }
    Ok(())
}

/// The user agent a request names, cut to `MAX_USER_AGENT` bytes.
pub fn user_agent(headers: &axum::http::HeaderMap) -> Option<&str> {
    let agent = headers
        .get(axum::http::header::USER_AGENT)?
        .to_str()
        .ok()?
        .trim();
    if agent.is_empty() {
        return None;
    }
    let mut end = agent.len().min(MAX_USER_AGENT);
    while !agent.is_char_boundary(end) {
        end -= 1;
    }
    Some(&agent[..end])
}

/// The browser with its major version ("Chrome 131") and the operating
/// system ("Mac OSX 10.15.7", "Android 14") a user agent names, read with
/// woothee's maintained rules; `None` for what it does not recognise.
pub fn describe_user_agent(agent: &str) -> (Option<String>, Option<String>) {
    let Some(found) = woothee::parser::Parser::new().parse(agent) else {
        return (None, None);
    };
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    let browser =
        known(found.name).then(
            || match found.version.split('.').next().filter(|v| known(v)) {
                Some(major) => format!("{} {major}", found.name),
                None => found.name.to_owned(),
            },
        );
    let os_version: &str = &found.os_version;
    let os = known(found.os).then(|| {
        if os_version.starts_with(|c: char| c.is_ascii_digit()) {
            format!("{} {os_version}", found.os)
        } else {
            found.os.to_owned()
        }
    });
    (browser, os)
}

/// Custom attributes as kept: the JSON object of strings to store (none
/// when nothing was usable) and what was left out and why, for the site's
/// developer.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    pub stored: Option<String>,
    pub left_out: Vec<String>,
}

/// Checks the custom attributes a verified site sent: a JSON object of at
/// most `MAX_ATTRIBUTES` names (one line, `MAX_ATTRIBUTE_NAME` characters)
/// with strings, numbers or booleans (one line, `MAX_ATTRIBUTE_VALUE`
/// characters); a `null` leaves that name out. One bad attribute never
/// costs the visitor their sign-in: it is left out, and said so.
pub fn clean_attributes(json: &str) -> Attributes {
    let refused = |why: String| Attributes {
        stored: None,
        left_out: vec![why],
    };
    if json.len() > MAX_ATTRIBUTES_BYTES {
        return refused(format!(
            "attributes must be at most {MAX_ATTRIBUTES_BYTES} bytes of JSON"
        ));
    }
    let fields = match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(fields)) => fields,
        Ok(_) => return refused("attributes must be a JSON object of names and values".into()),
        Err(e) => return refused(format!("attributes is not JSON: {e}")),
    };
    let one_line = |s: &str| !s.chars().any(char::is_control);
    let mut kept = BTreeMap::new();
    let mut left_out = Vec::new();
    for (name, value) in fields {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_ATTRIBUTE_NAME || !one_line(name) {
            left_out.push(format!(
                "an attribute name must be one line of 1 to {MAX_ATTRIBUTE_NAME} characters"
            ));
            continue;
        }
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s.trim().to_owned(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                left_out.push(format!(
                    "attribute {name:?} must be a string, number or boolean"
                ));
                continue;
            }
        };
        if text.chars().count() > MAX_ATTRIBUTE_VALUE || !one_line(&text) {
            left_out.push(format!(
                "attribute {name:?} must be one line of at most {MAX_ATTRIBUTE_VALUE} characters"
            ));
            continue;
        }
        if kept.len() == MAX_ATTRIBUTES {
            left_out.push(format!(
                "attribute {name:?} is one more than the {MAX_ATTRIBUTES} kept"
            ));
            continue;
        }
        kept.insert(name.to_owned(), text);
    }
    // A claim full of bad names makes a short report, not a long one.
    const REPORTED: usize = 5;
    if left_out.len() > REPORTED {
        let more = left_out.len() - REPORTED;
        left_out.truncate(REPORTED);
        left_out.push(format!("and {more} more"));
    }
    Attributes {
        stored: serde_json::to_string(&kept).ok(),
        left_out,
    }
}

/// Stored attributes, by name (what `clean_attributes` kept).
fn stored_attributes(json: &str) -> Vec<Attribute> {
    serde_json::from_str::<BTreeMap<String, String>>(json)
        .map(|fields| {
            fields
                .into_iter()
                .map(|(name, value)| Attribute { name, value })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_read_as_browser_and_system() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        let (browser, os) = describe_user_agent(chrome);
        assert_eq!(browser.as_deref(), Some("Chrome 131"));
        assert_eq!(os.as_deref(), Some("Windows 10"));
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        let (browser, os) = describe_user_agent(iphone);
        assert_eq!(browser.as_deref(), Some("Safari 17"));
        assert!(
            os.as_deref().is_some_and(|o| o.starts_with("iPhone")),
            "{os:?}"
        );
        assert_eq!(
            describe_user_agent("<script>alert(1)</script>"),
            (None, None)
        );
        assert_eq!(describe_user_agent(""), (None, None));
    }

    #[test]
    fn attributes_become_a_bounded_object_of_strings() {
        let cleaned = clean_attributes(r#"{"plan":"Pro","seats":12,"trial":false,"gone":null}"#);
        assert_eq!(
            cleaned.stored.as_deref(),
            Some(r#"{"plan":"Pro","seats":"12","trial":"false"}"#)
        );
        assert!(cleaned.left_out.is_empty());
        let shown = stored_attributes(cleaned.stored.as_deref().unwrap());
        assert_eq!(shown[0].name, "plan");
        assert_eq!(shown.len(), 3);
        // Hostile text is kept as text, to be shown as text.
        let hostile = clean_attributes(r#"{"note":"<img src=x onerror=alert(1)>"}"#);
        assert!(hostile.stored.unwrap().contains("<img"));
        // A bad one is left out, and said so; the rest stay.
        for bad in [
            r#"{"nested":{"a":1}}"#,
            r#"{"":"x"}"#,
            r#"{"a":"line\nbreak"}"#,
        ] {
            let with_good = format!(r#"{{"plan":"Pro",{}"#, &bad[1..]);
            let cleaned = clean_attributes(&with_good);
            assert_eq!(
                cleaned.stored.as_deref(),
                Some(r#"{"plan":"Pro"}"#),
                "{bad}"
            );
            assert_eq!(cleaned.left_out.len(), 1, "{bad}");
        }
        for whole in ["[1,2]", "not json"] {
            let cleaned = clean_attributes(whole);
            assert_eq!(cleaned.stored, None);
            assert_eq!(cleaned.left_out.len(), 1);
        }
        let many: BTreeMap<String, i32> = (0..=MAX_ATTRIBUTES as i32)
            .map(|i| (format!("k{i:02}"), i))
            .collect();
        let cleaned = clean_attributes(&serde_json::to_string(&many).unwrap());
        assert_eq!(
            stored_attributes(&cleaned.stored.unwrap()).len(),
            MAX_ATTRIBUTES
        );
        assert_eq!(cleaned.left_out.len(), 1);
        let long = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_ATTRIBUTE_VALUE + 1));
        assert_eq!(clean_attributes(&long).left_out.len(), 1);
    }
}
