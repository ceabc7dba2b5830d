//! Pieces the messenger and the inbox share.

mod avatar;
mod composer;
mod connection;
mod icons;
mod message_list;

pub use avatar::Avatar;
pub use composer::{Composer, ReplyPicker};
pub use connection::{ConnectionBanner, ConnectionStatus, NoticeBar};
pub use icons::{Glyph, Icon};
pub use message_list::{MessageList, Side, typing_line};
