//! Labels: the rules for the ones admins create, and telling every open
//! inbox when they change. The store keeps them (`store::labels`);
//! `ws::workflow` puts them on conversations.

use crate::protocol::{Label, LabelColor, LabelId, MAX_LABEL_CHARS, MAX_LABELS};
use crate::server::AppState;
use crate::server::bus::Event;
use crate::server::publish::publish_event;
use crate::server::store::{LabelCreated, StoreError};

/// Why a label was not created.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("A label's name is one line of 1 to {MAX_LABEL_CHARS} characters.")]
    BadName,
    #[error("Pick one of the offered colours.")]
    BadColor,
    #[error("There is a label called “{0}” already.")]
    Taken(String),
    #[error("There are {MAX_LABELS} labels already; delete one first.")]
    Full,
    #[error("could not save the label: {0}")]
    Store(#[from] StoreError),
}

/// Checks a label's name: trimmed, one line, not empty, not too long.
pub fn check_name(name: &str) -> Result<&str, LabelError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_LABEL_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(LabelError::BadName);
    }
    Ok(name)
}

/// The thread's line for putting a label on (or taking it off).
pub fn label_line(actor: &str, label: &str, on: bool) -> String {
    if on {
        format!("{actor} added the label {label}")
    } else {
        format!("{actor} removed the label {label}")
    }
}

/// Creates a label and tells every open inbox.
pub async fn create(state: &AppState, name: &str, color: &str) -> Result<Label, LabelError> {
    let name = check_name(name)?;
    let color = LabelColor::parse(color).ok_or(LabelError::BadColor)?;
    // The database folds ASCII letters only: "Ärger" and "ärger" are one
    // name to people.
    let folded = name.to_lowercase();
    let existing = state.store.labels().await?;
    if existing.iter().any(|l| l.name.to_lowercase() == folded) {
        return Err(LabelError::Taken(name.to_owned()));
    }
    let label = match state.store.create_label(name, color, MAX_LABELS).await? {
        LabelCreated::Created(label) => label,
        LabelCreated::Taken => return Err(LabelError::Taken(name.to_owned())),
        LabelCreated::Full => return Err(LabelError::Full),
    };
    changed(state).await?;
    Ok(label)
}

/// Deletes a label (off every conversation) and tells every open inbox.
pub async fn delete(state: &AppState, id: LabelId) -> Result<(), LabelError> {
    if state.store.delete_label(id).await? {
        changed(state).await?;
    }
    Ok(())
}

async fn changed(state: &AppState) -> Result<(), StoreError> {
    let labels = state.store.labels().await?;
    publish_event(state, Event::Labels { labels }).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_name_is_one_short_line() {
        assert_eq!(check_name("  Billing ").unwrap(), "Billing");
        assert!(check_name("   ").is_err());
        assert!(check_name("two\nlines").is_err());
        assert!(check_name(&"x".repeat(MAX_LABEL_CHARS + 1)).is_err());
        assert_eq!(label_line("Ana", "Bug", true), "Ana added the label Bug");
        assert_eq!(label_line("Ana", "Bug", false), "Ana removed the label Bug");
    }
}
