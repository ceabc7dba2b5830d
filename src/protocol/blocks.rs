//! Blocks: a visitor the team stopped from writing, as the inbox and the
//! settings page show them, and the close codes the socket ends with when
//! the server will not let a person go on (both sides read them here).

use serde::{Deserialize, Serialize};

use super::{ContactId, Timestamp};

/// Close codes the server ends sockets with on purpose: Minicom's own
/// (4000–4999), after which the browser must not reconnect, and the one
/// after which it must.
pub mod close {
    /// The agent signed out (here or in another tab), was deactivated, or
    /// the session expired.
    pub const SIGNED_OUT: u16 = 4001;
    /// This site lets only verified visitors chat.
    pub const UNVERIFIED: u16 = 4003;
    /// The team blocked this visitor (or their address) from the chat.
    pub const BLOCKED: u16 = 4004;
    /// Reconnect in a moment: the server restarts, or the visitor was
    /// erased and comes back as someone new (WebSocket's "service restart").
    pub const RECONNECT: u16 = 1012;
    /// What a blocked visitor is told: no reason, no name, nothing more.
    pub const BLOCKED_REASON: &str = "You can no longer send messages in this chat.";
}

/// Longest reason an agent gives for a block, in characters.
pub const MAX_BLOCK_REASON_CHARS: usize = 500;

/// For how long a block also covers the visitor's network address (a person
/// who clears their cookies comes back as someone new; their address is
/// what is left, and it is shared and changes, so only for a while).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressFor {
    Hour,
    Day,
    Week,
    Month,
}

impl AddressFor {
    pub const ALL: [AddressFor; 4] = [Self::Hour, Self::Day, Self::Week, Self::Month];

    /// How long, in milliseconds.
    pub fn millis(self) -> i64 {
        const HOUR: i64 = 3_600_000;
        match self {
            Self::Hour => HOUR,
            Self::Day => 24 * HOUR,
            Self::Week => 7 * 24 * HOUR,
            Self::Month => 30 * 24 * HOUR,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// For people: "for 1 hour".
    pub fn label(self) -> &'static str {
        match self {
            Self::Hour => "for 1 hour",
            Self::Day => "for 1 day",
            Self::Week => "for 7 days",
            Self::Month => "for 30 days",
        }
    }
}

/// A block as the contact panel shows it beside the thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockNote {
    pub reason: String,
    /// The teammate who blocked (none once they were removed).
    pub by: Option<String>,
    pub at: Timestamp,
    /// Until when their address is blocked too, if it is (and still is).
    pub address_until: Option<Timestamp>,
}

/// A block as admins see it in settings, to lift it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub id: i64,
    pub contact_id: ContactId,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub note: BlockNote,
    /// The address blocked, while it still is.
    pub address: Option<String>,
}
