//! The inbox's lists (agents): which conversations each holds, in which
//! order, and how many; and what a visitor's rating says.

use serde::{Deserialize, Serialize};

use super::{AgentId, ConversationStatus, ConversationSummary, LabelId};

/// The five faces of a rating, from 1 (awful) to 5 (great).
pub const RATINGS: [&str; 5] = ["Awful", "Bad", "OK", "Good", "Great"];

/// Longest comment a visitor may add to a rating, in characters.
pub const MAX_RATING_COMMENT_CHARS: usize = 1_000;

/// The name of a rating ("Good"), if it is one.
pub fn rating_name(score: u8) -> Option<&'static str> {
    RATINGS.get(usize::from(score).checked_sub(1)?).copied()
}

/// The inbox's lists (agents).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxView {
    /// Open conversations assigned to you.
    Mine,
    /// Conversations (in any state) where a teammate mentioned you in a
    /// note you have not opened since.
    Mentions,
    /// Open conversations nobody owns.
    Unassigned,
    /// Every open conversation.
    #[default]
    Open,
    /// Conversations set aside until later.
    Snoozed,
    /// Conversations that are done.
    Resolved,
}

impl InboxView {
    /// Every view, in the order the inbox shows them.
    pub const ALL: [InboxView; 6] = [
        Self::Mine,
        Self::Mentions,
        Self::Unassigned,
        Self::Open,
        Self::Snoozed,
        Self::Resolved,
    ];

    /// The view's name for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Mine => "Mine",
            Self::Mentions => "Mentions",
            Self::Unassigned => "Unassigned",
            Self::Open => "All open",
            Self::Snoozed => "Snoozed",
            Self::Resolved => "Resolved",
        }
    }

    /// Whether a row belongs in this view, for `me`.
    pub fn holds(self, row: &ConversationSummary, me: AgentId) -> bool {
        let open = row.status == ConversationStatus::Open;
        match self {
            Self::Mine => open && row.assignee.as_ref().is_some_and(|a| a.id == me.0),
            Self::Mentions => row.mentions.contains(&me),
            Self::Unassigned => open && row.assignee.is_none(),
            Self::Open => open,
            Self::Snoozed => row.status == ConversationStatus::Snoozed,
            Self::Resolved => row.status == ConversationStatus::Resolved,
        }
    }
}

/// The order of an inbox list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxSort {
    /// Newest activity first.
    #[default]
    Newest,
    /// The visitor who has waited longest first; nobody waiting last.
    Waiting,
}

impl InboxSort {
    /// A row's place in this order, ascending: rows compare by `(key, id)`.
    /// Also the keyset cursor `more_conversations` continues after.
    pub fn key(self, row: &ConversationSummary) -> (i64, i64) {
        match self {
            Self::Newest => (-row.last_message_at.0, -row.id.0),
            Self::Waiting => (row.waiting_since.map_or(i64::MAX, |t| t.0), row.id.0),
        }
    }
}

/// How many conversations each inbox list holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxCounts {
    pub open: u32,
    pub unassigned: u32,
    pub snoozed: u32,
    pub resolved: u32,
    /// Open conversations per teammate who owns any.
    pub assigned: Vec<AssignedCount>,
    /// Conversations with an unseen mention, per teammate who has any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentioned: Vec<MentionCount>,
}

/// Conversations where one teammate has an unseen mention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MentionCount {
    pub agent_id: AgentId,
    pub unseen: u32,
}

/// Open conversations one teammate owns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedCount {
    pub agent_id: AgentId,
    pub open: u32,
}

impl InboxCounts {
    /// How many conversations a view holds, for `me`.
    pub fn of(&self, view: InboxView, me: AgentId) -> u32 {
        match view {
            InboxView::Mine => self
                .assigned
                .iter()
                .find(|a| a.agent_id == me)
                .map_or(0, |a| a.open),
            InboxView::Mentions => self
                .mentioned
                .iter()
                .find(|m| m.agent_id == me)
                .map_or(0, |m| m.unseen),
            InboxView::Unassigned => self.unassigned,
            InboxView::Open => self.open,
            InboxView::Snoozed => self.snoozed,
            InboxView::Resolved => self.resolved,
        }
    }
}

/// Longest a conversation may be snoozed.
pub const MAX_SNOOZE_MS: i64 = 366 * 24 * 3_600_000;

/// A label admins created, to put on conversations.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Label {
    pub id: LabelId,
    pub name: String,
    pub color: LabelColor,
}

/// Longest label name, in characters.
pub const MAX_LABEL_CHARS: usize = 40;

/// Most labels a workspace keeps.
pub const MAX_LABELS: usize = 100;

/// The colours a label can have: named, so each has a light and a dark
/// shade that keep their text readable (the stylesheet's `label-*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelColor {
    #[default]
    Gray,
    Red,
    Orange,
    Green,
    Teal,
    Blue,
    Purple,
    Pink,
}

impl LabelColor {
    /// Every colour, in the order the picker shows them.
    pub const ALL: [LabelColor; 8] = [
        Self::Gray,
        Self::Red,
        Self::Orange,
        Self::Green,
        Self::Teal,
        Self::Blue,
        Self::Purple,
        Self::Pink,
    ];

    /// The name stored, sent and used in class names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gray => "gray",
            Self::Red => "red",
            Self::Orange => "orange",
            Self::Green => "green",
            Self::Teal => "teal",
            Self::Blue => "blue",
            Self::Purple => "purple",
            Self::Pink => "pink",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}
