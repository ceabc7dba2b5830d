//! Interface icons, drawn inline as SVG: they render where no emoji font is
//! installed, take the text colour (so contrast follows the theme) and cost
//! no request. Emoji stay for what people write and react with.

use leptos::prelude::*;

/// Which icon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Glyph {
    Chat,
    Close,
    Bell,
    BellOff,
    Menu,
    Back,
    Cup,
    Smile,
    Pencil,
    Trash,
    Check,
    Clock,
    Undo,
    List,
    Plus,
    Tag,
    At,
    Search,
    Filter,
    Download,
    /// A person: who the visitor is.
    User,
    /// An arrow out of a box: opens in a new tab.
    External,
    /// Attach a file.
    Paperclip,
    /// A document with a folded corner: a file that is not a picture.
    File,
    /// Arrows for the previous and next picture.
    Prev,
    Next,
    /// The five faces of a rating, awful to great.
    Face(u8),
    /// A circle struck through: block a visitor.
    Ban,
}

/// The outline and eyes every face shares.
const FACE: &str = "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z";
const EYES_L: &str = "M9 10h.01";
const EYES_R: &str = "M15 10h.01";

impl Glyph {
    /// Strokes on a 24 × 24 grid.
    fn paths(self) -> &'static [&'static str] {
        match self {
            Glyph::Chat => &["M21 11.5a8.5 8.5 0 0 1-12.3 7.6L3 21l1.9-5.4A8.5 8.5 0 1 1 21 11.5z"],
            Glyph::Close => &["M6 6l12 12", "M18 6L6 18"],
            Glyph::Ban => &[FACE, "M5.6 5.6l12.8 12.8"],
            Glyph::Bell => &["M6 16v-5a6 6 0 0 1 12 0v5l2 2H4z", "M10 21h4"],
            Glyph::BellOff => &["M6 16v-5a6 6 0 0 1 12 0v5l2 2H4z", "M10 21h4", "M3 3l18 18"],
            Glyph::Menu => &["M4 6h16", "M4 12h16", "M4 18h16"],
            Glyph::Back => &["M15 18l-6-6 6-6"],
            Glyph::Cup => &[
                "M4 9h13v4a6 6 0 0 1-6 6h-1a6 6 0 0 1-6-6z",
                "M17 10.5h1.5a2.5 2.5 0 0 1 0 5H17",
                "M8 3v3",
                "M12 3v3",
            ],
            Glyph::Smile => &[
                "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z",
                "M8 14s1.5 2 4 2 4-2 4-2",
                "M9 9.5h.01",
                "M15 9.5h.01",
            ],
            Glyph::Pencil => &["M4 20h4L19 9l-4-4L4 16z", "M13.5 6.5l4 4"],
            Glyph::Check => &["M5 12.5l4.5 4.5L19 7.5"],
            Glyph::Clock => &["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M12 7v5l3 2"],
            Glyph::Undo => &["M9 14L4 9l5-5", "M4 9h10a6 6 0 0 1 0 12h-3"],
            Glyph::List => &[
                "M9 6h11",
                "M9 12h11",
                "M9 18h11",
                "M4.5 6h.01",
                "M4.5 12h.01",
                "M4.5 18h.01",
            ],
            Glyph::Plus => &["M12 5v14", "M5 12h14"],
            Glyph::Tag => &["M3 12V3h9l9 9-9 9z", "M7.5 7.5h.01"],
            Glyph::Search => &["M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z", "M20 20l-4-4"],
            Glyph::Download => &["M12 4v11", "M7 10l5 5 5-5", "M5 20h14"],
            Glyph::User => &[
                "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z",
                "M4 21a8 8 0 0 1 16 0",
            ],
            Glyph::External => &["M14 4h6v6", "M20 4l-9 9", "M18 14v5H5V6h5"],
            Glyph::Filter => &["M4 5h16l-6 7.5V18l-4 2v-7.5z"],
            Glyph::At => &[
                "M16 12a4 4 0 1 1-8 0 4 4 0 0 1 8 0z",
                "M16 12v1.5a2.5 2.5 0 0 0 5 0V12a9 9 0 1 0-3.5 7.1",
            ],
            Glyph::Face(score) => match score {
                1 => &[
                    FACE,
                    EYES_L,
                    EYES_R,
                    "M8 16.5s1.5-2.5 4-2.5 4 2.5 4 2.5",
                    "M7.5 8l2 1",
                    "M16.5 8l-2 1",
                ],
                2 => &[
                    FACE,
                    EYES_L,
                    EYES_R,
                    "M8.5 16s1.3-1.5 3.5-1.5 3.5 1.5 3.5 1.5",
                ],
                3 => &[FACE, EYES_L, EYES_R, "M8.5 15h7"],
                4 => &[
                    FACE,
                    EYES_L,
                    EYES_R,
                    "M8.5 14s1.3 1.5 3.5 1.5 3.5-1.5 3.5-1.5",
                ],
                _ => &[FACE, EYES_L, EYES_R, "M7.5 13.5h9s-1 4-4.5 4-4.5-4-4.5-4z"],
            },
            Glyph::Paperclip => &[
                "M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9",
            ],
            Glyph::File => &["M14 3H6v18h12V7z", "M14 3v4h4", "M9 13h6", "M9 17h6"],
            Glyph::Prev => &["M15 5l-7 7 7 7"],
            Glyph::Next => &["M9 5l7 7-7 7"],
            Glyph::Trash => &[
                "M4 7h16",
                "M9 7V4h6v3",
                "M6 7l1 13h10l1-13",
                "M10 11v6",
                "M14 11v6",
            ],
        }
    }
}

/// One icon, hidden from assistive technology: the control around it carries
/// the words (an `aria-label` or visible text).
#[component]
pub fn Icon(glyph: Glyph) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            {glyph.paths().iter().map(|d| view! { <path d=*d /> }).collect_view()}
        </svg>
    }
}
