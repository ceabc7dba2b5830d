//! The visitor's own frames about themselves: `profile` (the name and email
//! they typed) and `visit` (their time zone and the page they are on). The
//! rules are in `server::contacts`.

use super::{Conn, internal};
use crate::protocol::{PageVisit, ProtocolError, visitor_label};
use crate::server::contacts::{self, ContactError};
use crate::server::hub::Peer;

/// The socket's answer to a refused contact change.
fn refusal(err: ContactError) -> ProtocolError {
    match err {
        ContactError::Refused(err) => err,
        ContactError::Store(err) => internal(err),
        other => ProtocolError::InvalidProfile(other.to_string()),
    }
}

pub(super) async fn on_profile(
    conn: &Conn,
    name: Option<String>,
    email: Option<String>,
) -> Result<(), ProtocolError> {
    let Peer::Contact(contact) = conn.peer else {
        return Err(ProtocolError::InvalidProfile(
            "Only visitors set a profile here; agents change theirs in the inbox.".into(),
        ));
    };
    let (name, _) = contacts::set_profile(&conn.state, contact, name, email)
        .await
        .map_err(refusal)?;
    if let Ok(mut person) = conn.person.lock() {
        person.name = name.unwrap_or_else(|| visitor_label(contact));
    }
    Ok(())
}

pub(super) async fn on_visit(
    conn: &Conn,
    time_zone: Option<String>,
    page: Option<PageVisit>,
) -> Result<(), ProtocolError> {
    let Peer::Contact(contact) = conn.peer else {
        return Err(ProtocolError::InvalidFrame(
            "only the messenger reports a visit".into(),
        ));
    };
    contacts::record_visit(&conn.state, contact, time_zone, page)
        .await
        .map_err(refusal)
}
