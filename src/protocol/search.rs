//! The team's search (`search` → `search_results`): what an agent asks for
//! and the conversations that answer it.

use serde::{Deserialize, Serialize};

use super::*;

/// Longest search text accepted, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// Most conversations one search answers with.
pub const SEARCH_RESULTS: usize = 20;

/// What to look for, and where.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Words to find (each as the start of a word, all of them in one
    /// message, name or email; or the text within a label's name).
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConversationStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<AssigneeFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<LabelId>,
    /// Only what was written at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// Only what was written before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// Only messages the visitor wrote, or only the team's (agents' and the
    /// assistant's, notes included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<SearchFrom>,
    #[serde(default)]
    pub order: SearchOrder,
}

/// Whose conversations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeFilter {
    Unassigned,
    Agent(AgentId),
}

/// Who wrote the matching message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchFrom {
    Visitor,
    Team,
}

/// How results are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    /// The most recent match first.
    #[default]
    Newest,
    /// The closest match first (names, then the message text's rank).
    Best,
}

/// One conversation that matched, with the match that shows why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub conversation_id: ConversationId,
    /// The visitor's name (or "Visitor #12").
    pub contact_name: String,
    pub status: ConversationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<AgentId>,
    pub matched: Matched,
    /// When the matching message was written (for a name or label match,
    /// the conversation's last activity).
    pub at: Timestamp,
    /// The matching text around the match, in pieces; the pieces that
    /// matched have `hit` set. Plain text: shown as text, never as markup.
    pub snippet: Vec<Highlighted>,
    /// Further matching messages in this conversation (among those read).
    #[serde(default)]
    pub more: u32,
}

/// What matched in a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Matched {
    /// A message (`note`: the team's private note); opening the result
    /// jumps to it.
    Message {
        message_id: MessageId,
        sender: SenderKind,
        #[serde(default)]
        note: bool,
    },
    /// The visitor's name or email.
    Contact,
    /// One of the conversation's labels.
    Label,
}

/// A piece of a snippet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Highlighted {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hit: bool,
}
