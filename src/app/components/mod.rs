//! Pieces the messenger and the inbox share.

mod answers;
pub mod attachments;
mod avatar;
mod composer;
mod connection;
mod icons;
mod message_item;
mod message_list;
mod transcript;

pub use avatar::Avatar;
pub use composer::{Composer, ReplyPicker};
pub use connection::{ConnectionBanner, ConnectionStatus, NoticeBar};
pub use icons::{Glyph, Icon};
pub use message_list::{MessageList, Side, typing_line};
pub use transcript::{Reader, TranscriptMenu, transcript_href};
