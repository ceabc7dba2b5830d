//! API tokens as the settings page shows them: what a company's other
//! systems (a CRM, a shop's backend) use to call `/api/v1`. The server side
//! (hashing, checking, the requests themselves) is `server::api`.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// Longest name an admin gives a token, in characters (it names the bot
/// the token posts as, so it stays short).
pub const MAX_TOKEN_NAME_CHARS: usize = 60;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiScope {
    /// List and read conversations, messages and contacts.
    Read,
    /// Everything `Read` may, and post messages and change conversations.
    Write,
}

impl ApiScope {
    pub const ALL: [ApiScope; 2] = [Self::Read, Self::Write];

    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "read" => Self::Read,
            "write" => Self::Write,
            _ => return None,
        })
    }

    /// What an admin reads when choosing.
    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "Read only",
            Self::Write => "Read and write",
        }
    }

    /// Whether a token of this scope may do what `needed` allows.
    pub fn allows(self, needed: ApiScope) -> bool {
        self == Self::Write || needed == Self::Read
    }
}

/// A token as listed (never the secret itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scope: ApiScope,
    /// The teammate who made it (`None`: since erased or unknown).
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A token just made: the secret, shown once, and how it is listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiToken {
    pub secret: String,
    pub token: ApiToken,
}
