//! Refusals: the stable code a client may match on, and the sentence for
//! people that goes with it.

use serde::{Deserialize, Serialize};

use super::*;

/// Stable error codes; clients may match on them. The sentence that goes with a
/// code is for people and may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON.
    InvalidJson,
    /// The `type` is not one this server knows.
    UnknownType,
    /// A field is missing or has the wrong type.
    InvalidFrame,
    /// The message body is empty or only whitespace.
    EmptyBody,
    /// The message body is longer than `MAX_BODY_CHARS`.
    BodyTooLong,
    /// A profile field is too long or malformed.
    InvalidProfile,
    /// The conversation does not exist or you may not see it.
    Forbidden,
    /// An agent must name the conversation to send to.
    ConversationRequired,
    /// Binary frames are not part of the protocol.
    UnsupportedFrame,
    /// Only a teammate (an agent socket) may do that.
    AgentsOnly,
    /// The reaction is not a single emoji.
    InvalidReaction,
    /// That message is someone else's.
    NotYours,
    /// The edit window for that message has closed.
    EditWindowClosed,
    /// That message was deleted.
    MessageDeleted,
    /// The message already carries as many reactions as allowed.
    TooManyReactions,
    /// The server's disk is full: nothing was stored; retry later.
    StorageFull,
    /// Too many frames too fast; see `retry_after_ms`.
    RateLimited,
    /// This server runs no AI assistant.
    AssistantOff,
    /// A snooze needs a time in the future, within a year.
    InvalidSnooze,
    /// No active teammate has that id.
    UnknownAgent,
    /// No label has that id (an admin may have deleted it).
    UnknownLabel,
    /// The visitor started as many conversations as an hour allows.
    TooManyConversations,
    /// A rating is 1 to 5, of a resolved conversation, with a short comment.
    InvalidRating,
    /// A message names more files than it may carry.
    TooManyAttachments,
    /// A file the message names is not this sender's upload for this
    /// conversation, was already sent, or expired (an hour after upload).
    UnknownAttachment,
    /// The server failed; the frame may be retried with the same `client_id`.
    Internal,
}

/// Why a frame was refused, with the code and the sentence sent back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("That frame is not valid JSON: {0}. Send one JSON object per frame.")]
    InvalidJson(String),
    #[error("Unknown frame type \"{0}\". See docs/protocol.md for the frames this server accepts.")]
    UnknownType(String),
    #[error("That frame is malformed: {0}.")]
    InvalidFrame(String),
    #[error("The message is empty. Write something before sending.")]
    EmptyBody,
    #[error(
        "The message is {0} characters long; the limit is {MAX_BODY_CHARS}. Split it into shorter messages."
    )]
    BodyTooLong(usize),
    #[error("{0}")]
    InvalidProfile(String),
    #[error("You cannot see that conversation.")]
    Forbidden,
    #[error("Agents must say which conversation a message is for (conversation_id).")]
    ConversationRequired,
    #[error("Binary frames are not supported; send JSON text frames.")]
    UnsupportedFrame,
    #[error("Only teammates signed in to the inbox may send \"{0}\".")]
    AgentsOnly(&'static str),
    #[error("A reaction must be one emoji (at most {MAX_REACTION_BYTES} bytes).")]
    InvalidReaction,
    #[error("You can only change your own messages.")]
    NotYours,
    #[error("Messages can be edited for {0} minutes after sending; this one is older.")]
    EditWindowClosed(i64),
    #[error("That message was deleted.")]
    MessageDeleted,
    #[error(
        "That message has all the reactions it can take ({MAX_REACTIONS_PER_MESSAGE} different ones, {MAX_REACTIONS_PER_PERSON} per person). Take one of yours back first."
    )]
    TooManyReactions,
    #[error(
        "The server has run out of disk space, so this was not saved. It is kept here; retry in a little while."
    )]
    StorageFull,
    #[error("You're sending too fast. Wait {} s, then try again.", .0.div_ceil(1000).max(1))]
    RateLimited(u64),
    #[error("This server runs no AI assistant (MINICOM_ASSISTANT=off).")]
    AssistantOff,
    #[error("Pick a time to snooze until: in the future, and within a year.")]
    InvalidSnooze,
    #[error("No active teammate has that id: pick someone from the team list.")]
    UnknownAgent,
    #[error("No label has that id; an admin may have deleted it. Pick one from the list.")]
    UnknownLabel,
    #[error(
        "You have started {0} conversations in the last hour, the most allowed. Continue one of them, or try again later."
    )]
    TooManyConversations(u32),
    #[error(
        "A rating is 1 to 5, given once the conversation is resolved, with a comment of at most {MAX_RATING_COMMENT_CHARS} characters."
    )]
    InvalidRating,
    #[error(
        "A message carries at most {MAX_ATTACHMENTS} files; this one names {0}. Send the rest in another message."
    )]
    TooManyAttachments(usize),
    #[error(
        "A file this message names is not one you uploaded to this conversation, or it was already sent, or it expired (files not sent within an hour are removed). Attach it again."
    )]
    UnknownAttachment,
    #[error("The server could not handle that just now; please retry.")]
    Internal,
}

impl ProtocolError {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidJson(_) => ErrorCode::InvalidJson,
            Self::UnknownType(_) => ErrorCode::UnknownType,
            Self::InvalidFrame(_) => ErrorCode::InvalidFrame,
            Self::EmptyBody => ErrorCode::EmptyBody,
            Self::BodyTooLong(_) => ErrorCode::BodyTooLong,
            Self::InvalidProfile(_) => ErrorCode::InvalidProfile,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::ConversationRequired => ErrorCode::ConversationRequired,
            Self::UnsupportedFrame => ErrorCode::UnsupportedFrame,
            Self::AgentsOnly(_) => ErrorCode::AgentsOnly,
            Self::InvalidReaction => ErrorCode::InvalidReaction,
            Self::NotYours => ErrorCode::NotYours,
            Self::EditWindowClosed(_) => ErrorCode::EditWindowClosed,
            Self::MessageDeleted => ErrorCode::MessageDeleted,
            Self::TooManyReactions => ErrorCode::TooManyReactions,
            Self::StorageFull => ErrorCode::StorageFull,
            Self::RateLimited(_) => ErrorCode::RateLimited,
            Self::AssistantOff => ErrorCode::AssistantOff,
            Self::InvalidSnooze => ErrorCode::InvalidSnooze,
            Self::UnknownAgent => ErrorCode::UnknownAgent,
            Self::UnknownLabel => ErrorCode::UnknownLabel,
            Self::TooManyConversations(_) => ErrorCode::TooManyConversations,
            Self::InvalidRating => ErrorCode::InvalidRating,
            Self::TooManyAttachments(_) => ErrorCode::TooManyAttachments,
            Self::UnknownAttachment => ErrorCode::UnknownAttachment,
            Self::Internal => ErrorCode::Internal,
        }
    }

    /// The `error` frame that reports this error.
    pub fn to_frame(&self, client_id: Option<ClientId>) -> ServerFrame {
        ServerFrame::Error {
            code: self.code(),
            message: self.to_string(),
            client_id,
            retry_after_ms: match self {
                Self::RateLimited(ms) => Some(*ms),
                _ => None,
            },
        }
    }
}
