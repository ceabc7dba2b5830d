//! Blocking abusive visitors. An agent blocks the visitor of a
//! conversation, with a reason; the block covers that contact (a verified
//! visitor is one contact in every browser) and, when asked, the address
//! their messenger last connected from, for a while. Their sockets close on
//! every instance (`Event::Blocked`), and a blocked visitor's messenger
//! cannot connect again, so nothing more they write arrives. Admins lift
//! blocks in settings. The inbox's server functions (`app::inbox::blocks`)
//! only check the session and call here.

use std::net::IpAddr;

use crate::protocol::{
    AddressFor, AgentId, Block, ContactId, ConversationId, MAX_BLOCK_REASON_CHARS, Timestamp,
};
use crate::server::AppState;
use crate::server::bus::Event;
use crate::server::publish::publish_event;
use crate::server::store::{StoreError, now};

/// Why a block (or lifting one) was refused.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("That conversation does not exist (any more).")]
    NoConversation,
    #[error("That block was lifted already.")]
    NoBlock,
    #[error("Choose for how long to block their address: an hour, a day, a week or a month.")]
    AddressFor,
    #[error(
        "Say why you block this visitor (at most {MAX_BLOCK_REASON_CHARS} characters): the team sees it when lifting the block."
    )]
    Reason,
    #[error("could not reach the database: {0}")]
    Store(#[from] StoreError),
}

/// Blocks the visitor of `conversation`, and their address for as long as
/// `address_for` says (`hour`, `day`, `week`, `month`; empty: not their
/// address). Returns who was blocked.
pub async fn block(
    state: &AppState,
    agent: AgentId,
    conversation: ConversationId,
    reason: &str,
    address_for: &str,
) -> Result<ContactId, BlockError> {
    let for_address = match address_for {
        "" => None,
        other => Some(AddressFor::parse(other).ok_or(BlockError::AddressFor)?),
    };
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_BLOCK_REASON_CHARS {
        return Err(BlockError::Reason);
    }
    let contact = state
        .store
        .conversation_contact(conversation)
        .await?
        .ok_or(BlockError::NoConversation)?;
    let at = now();
    let until = for_address.map(|f| Timestamp(at.0 + f.millis()));
    let address = state
        .store
        .block_contact(contact, reason, until, agent, at)
        .await?
        .ok_or(BlockError::NoConversation)?;
    let address = address.and_then(|a| a.parse::<IpAddr>().ok());
    publish_event(
        state,
        Event::Blocked {
            contact_id: contact,
            address,
        },
    )
    .await;
    tracing::info!(
        agent = agent.0,
        contact = contact.0,
        address = address.is_some(),
        "blocked a visitor"
    );
    Ok(contact)
}

/// Lifts a block: the visitor may open the messenger again.
pub async fn lift(state: &AppState, admin: AgentId, id: i64) -> Result<(), BlockError> {
    let contact = state
        .store
        .lift_block(id)
        .await?
        .ok_or(BlockError::NoBlock)?;
    tracing::info!(admin = admin.0, contact = contact.0, "lifted a block");
    Ok(())
}

/// The blocks admins may lift, newest first.
pub async fn list(state: &AppState) -> Result<Vec<Block>, BlockError> {
    Ok(state.store.blocks(now()).await?)
}

/// Whether this visitor may chat from this address.
pub async fn admits(
    state: &AppState,
    contact: ContactId,
    address: IpAddr,
) -> Result<bool, StoreError> {
    Ok(!state
        .store
        .blocked(contact, &address.to_string(), now())
        .await?)
}
