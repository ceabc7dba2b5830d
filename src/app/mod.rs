//! The Leptos UI, rendered on the server and hydrated in the browser.
//!
//! - [`demo`] — `/`: a fictional company's site with the messenger bubble.
//! - [`messenger`] — `/messenger` and the bubble's panel: the visitor's side.
//! - [`inbox`] — `/inbox`: sign-in, the conversation list and the thread.
//! - [`help`] — `/help`: the public help center (articles, search).
//! - [`components`] — pieces both sides share (message list, composer, …).

pub mod components;
pub mod demo;
pub mod help;
pub mod inbox;
pub mod messenger;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

/// A page title that follows `text` in the browser but is a plain string
/// on the server. leptos_axum writes the `<title>` after the page's first
/// chunk, where the page's reactive values may no longer be readable: a
/// reactive title there panicked now and then under load ("no Arena is
/// active", about 1 page load in 120 while 18,000 visitors arrived;
/// leptos-rs/leptos#3729), and that visitor got no page.
///
/// On the server the text is escaped: leptos_meta writes the `<title>` of a
/// server-rendered page as it is given, so a team name or a search for
/// `</title><meta …>` would otherwise end it. (The browser sets the live
/// title as text.) Every page title goes through here.
pub fn live_title(
    text: impl Fn() -> String + Send + Sync + 'static,
) -> leptos::text_prop::TextProp {
    #[cfg(feature = "ssr")]
    {
        untrack(text)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .into()
    }
    #[cfg(not(feature = "ssr"))]
    {
        text.into()
    }
}

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The server's security headers chose a nonce for this page's scripts
    // (its Content-Security-Policy allows no other inline script).
    #[cfg(feature = "ssr")]
    if let Some(nonce) = use_context::<axum::http::request::Parts>().and_then(|parts| {
        parts
            .extensions
            .get::<crate::server::http::ScriptNonce>()
            .cloned()
    }) {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
    // The messenger's look as it is now: its colours as a stylesheet (the
    // first paint is in the brand colour), the rest for the page's script.
    let look = crate::client::look::initial();
    let look_json = serde_json::to_string(&look).unwrap_or_default();
    let colours = crate::client::look::colours_css(&look);
    // The messenger's language, for the page's code; the page itself is in
    // it only when it is the messenger alone (the demo site is English).
    let language = crate::i18n::context::chosen();
    #[cfg(feature = "ssr")]
    let messenger_alone = use_context::<axum::http::request::Parts>()
        .is_some_and(|parts| parts.uri.path() == "/messenger");
    #[cfg(not(feature = "ssr"))]
    let messenger_alone = false;
    let page_language = if messenger_alone {
        language.tag()
    } else {
        "en"
    };
    view! {
        <!DOCTYPE html>
        <html lang=page_language>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                // Hydrated when the browser is idle, the WASM fetched at low
                // priority: the page paints first, and what must work before
                // hydration does (the bubble is a link, forms post).
                <HydrationScripts options defer=true />
                <MetaTags />
                <link rel="stylesheet" id="leptos" href="/pkg/minicom.css" />
                <style nonce=leptos::nonce::use_nonce()>{colours}</style>
                <meta name=crate::client::look::META content=look_json />
                <meta name=crate::i18n::META content=language.tag() />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=demo::DemoPage />
                <Route path=path!("/messenger") view=messenger::MessengerPage />
                // The team's pages are sent whole (`Async`): streamed, a
                // resource's content could replace its fallback before the
                // lazily loaded code hydrated the page, which then found
                // the content where it expected the fallback and stopped
                // (seen now and then in CI on `/inbox?c=…`).
                <Route path=path!("/inbox") view={Lazy::<InboxRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/inbox/team") view={Lazy::<TeamRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/inbox/settings") view={Lazy::<SettingsRoute>::new()}
                    ssr=SsrMode::Async />
                <Route path=path!("/inbox/help") view={Lazy::<ArticlesRoute>::new()}
                    ssr=SsrMode::Async />
                // Whole before sent: the title and description are in the head.
                <Route path=path!("/help") view=help::HelpPage ssr=SsrMode::Async />
                <Route path=path!("/help/:collection") view=help::HelpPage ssr=SsrMode::Async />
                <Route path=path!("/help/:collection/:slug") view=help::HelpArticlePage
                    ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

// The team's pages are loaded on demand: a release build (`cargo leptos
// build --split`) moves their code into chunks of its own, so the messenger
// that visitors load on every website carries none of the inbox.

/// `/inbox`.
struct InboxRoute;

#[lazy_route]
impl LazyRoute for InboxRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <inbox::InboxPage /> }.into_any()
    }
}

/// `/inbox/team`.
struct TeamRoute;

#[lazy_route]
impl LazyRoute for TeamRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <inbox::TeamPage /> }.into_any()
    }
}

/// `/inbox/settings`.
struct SettingsRoute;

#[lazy_route]
impl LazyRoute for SettingsRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <inbox::SettingsPage /> }.into_any()
    }
}

/// `/inbox/help`.
struct ArticlesRoute;

#[lazy_route]
impl LazyRoute for ArticlesRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <inbox::ArticlesPage /> }.into_any()
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found — Minicom" />
        <main class="not-found">
            <h1>"Page not found"</h1>
            <p>
                "Try the " <a href="/" rel="external">"demo site"</a> " or the "
                <a href="/inbox" rel="external">"inbox"</a> "."
            </p>
        </main>
    }
}
