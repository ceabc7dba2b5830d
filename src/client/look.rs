//! The messenger's look (brand colour, texts, office hours) on the page.
//!
//! The server renders the look it had into the page's head — the colours as
//! a stylesheet, the rest as `<meta name="minicom-look">` — so the first
//! paint and hydration agree; later looks arrive as `look` frames and are
//! applied here without a reload.

use crate::settings::MessengerLook;

/// The `<meta>` the look travels in from the server-rendered page.
pub const META: &str = "minicom-look";

/// The look the page was rendered with.
pub fn initial() -> MessengerLook {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<crate::server::AppState>()
            .map(|state| state.workspace.look())
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| {
                d.query_selector(&format!("meta[name=\"{META}\"]"))
                    .ok()
                    .flatten()
            })
            .and_then(|meta| meta.get_attribute("content"))
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    MessengerLook::default()
}

/// The stylesheet rule that carries the colours (the server puts it in the
/// page's head, allowed by the page's nonce).
pub fn colours_css(look: &MessengerLook) -> String {
    // Both are checked `#rrggbb` values: nothing here can end the rule.
    format!(
        ":root{{--brand:{};--brand-text:{}}}",
        look.brand_colour, look.brand_text
    )
}

/// Puts a new look's colours on the page (as the root element's own style,
/// which a Content-Security-Policy allows when set from script).
#[cfg(feature = "hydrate")]
pub fn apply_colours(look: &MessengerLook) {
    use wasm_bindgen::JsCast;
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    let style = root.style();
    let _ = style.set_property("--brand", &look.brand_colour);
    let _ = style.set_property("--brand-text", &look.brand_text);
}
