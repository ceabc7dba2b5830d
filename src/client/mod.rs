//! The browser runtime: everything live on the page goes through here.
//!
//! - [`live`] — the state the UI renders (conversations, threads, the outbox,
//!   the connection), updated only by applying server frames.
//! - `socket` — (browser only) the one WebSocket per tab: connects, reconnects
//!   with backoff, feeds frames into [`live::Live`] and sends what it queues.
//! - [`time`] — timestamps in the reader's local time.
//! - [`typing`] — when to tell the server someone is typing (paced to its limit).
//! - [`look`] — the messenger's brand colour and texts on the page, as the
//!   server rendered them and as `look` frames change them.
//! - `upload` — (browser only) one file's upload, with its progress.
//! - `embed` — (browser only) the embedding site's `postMessage`s to the
//!   messenger frame: link to its signed-in user, or forget them.
//!
//! Components never open sockets; they read signals from [`live::Live`] and call
//! its methods.

#[cfg(feature = "hydrate")]
pub mod embed;
pub mod live;
pub mod look;
#[cfg(feature = "hydrate")]
pub mod notify;
#[cfg(feature = "hydrate")]
pub mod socket;
pub mod time;
pub mod typing;
#[cfg(feature = "hydrate")]
pub mod upload;

use leptos::prelude::*;

use self::live::Live;

/// Which of the browser's identities a page speaks for; the identity itself
/// always comes from the matching cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The messenger: the visitor cookie.
    Visitor,
    /// The inbox: the agent session cookie.
    Agent,
}

impl Role {
    /// The `role` query value of `/ws`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visitor => "visitor",
            Self::Agent => "agent",
        }
    }
}

/// Creates the page's live state, provides it to the components below, and —
/// in the browser, after hydration — restores the saved outbox and connects.
pub fn provide_live(role: Role) -> Live {
    let mut live = Live::new();
    // The visitor's language for the messenger's words (the team's pages
    // stay English).
    if role == Role::Visitor {
        live.words = crate::i18n::context::chosen();
    }
    provide_context(live);
    // After hydration: the saved outbox is not part of the server-rendered page.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        live.persist_outbox(match role {
            Role::Visitor => "minicom.outbox.visitor",
            Role::Agent => "minicom.outbox.agent",
        });
        notify::restore_mute(live);
        if role == Role::Visitor {
            embed::listen(live);
        }
        socket::start(live, role);
    });
    // A new look (an admin saved the settings, the office opened or closed)
    // recolours the page and, in the widget's frame, the launcher outside it.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let look = live.look.get();
        if role == Role::Visitor {
            look::apply_colours(&look);
            embed::tell_look(&look);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = role;
    live
}
