//! # Minicom
//!
//! Real-time customer-support chat: website visitors talk to the team through a
//! **messenger**; agents answer many conversations at once in an **inbox**.
//!
//! # Layout
//!
//! - [`protocol`] — the wire: every frame the browser and the server exchange,
//!   and the close codes that end a socket on purpose.
//! - [`settings`] — what admins set about the messenger (colour, texts, office
//!   hours) and the look the messenger draws from it; both sides read it.
//! - [`help`] — the help center's articles, search results and an answer's
//!   sources as both sides see them; slugs and limits.
//! - [`i18n`] — the messenger's own words in English, Spanish, French, German
//!   and Portuguese (Fluent catalogues), the language chosen from the
//!   browser's or named by the embedding site; the inbox stays English.
//! - [`mentions`] — `@Name` in the team's notes: who a note names, and
//!   completing a name as the agent types.
//! - [`replies`] — saved replies: checking shortcuts, finding them as the agent
//!   types `/`, filling in names.
//! - [`rich_text`] — links, `*bold*`, `_italic_` and `` `code` `` in a
//!   message's text, parsed into spans the UI draws as text (never HTML).
//! - `server` — (feature `ssr`) config, HTTP router, `/ws` handler, hub, bus
//!   (in-process, or Redis between several instances), `cluster` (what keeps
//!   instances in step: settings, sign-outs), store (SQLite embedded, or
//!   PostgreSQL for several instances: one interface; messages are written
//!   by a group-commit writer, plain batches in a fixed number of
//!   statements, with SQLite's checkpoints beside it), the team's workflow
//!   (resolve, snooze, assign; the snooze clock and the inbox lists' counts),
//!   search (each engine's own full-text index, results with snippets),
//!   transcripts, the contact panel's facts about a visitor (`contacts`),
//!   blocking abusive visitors (`blocks`: their contact and, for a while,
//!   their address; their sockets close on every instance), erasing a
//!   person (`erase`: at their request, by email from the command line,
//!   or after a retention period; the rows in `store::erase`),
//!   files in conversations (`files`: uploads judged by their bytes,
//!   pictures made safe, served only to the conversation's people), the
//!   help center (`help`: articles' Markdown rendered safely, split into
//!   passages, and found for a question), the assistant (`assistant`:
//!   engines, answers grounded in the help center, streamed as drafts),
//!   backups of the embedded database (`backup`: `minicom backup` and
//!   `restore`, and on a schedule; the database file's side in
//!   `store::snapshot`), and what connects Minicom to a company's other
//!   systems: the REST API (`api`: `/api/v1`, tokens, its OpenAPI
//!   document), webhooks (`webhooks`: a durable, signed, retried queue),
//!   email follow-up (`email`: replies to visitors who left, the signed
//!   links back; both queues wait for their next row with `due`) and the
//!   requests Minicom makes to other hosts (`outbound`: TLS, and the guard
//!   against private addresses). `/metrics` is `metrics`: atomics on the
//!   hot path, encoded by `prometheus-client` when scraped.
//! - [`client`] — the browser runtime: the reconnecting socket, the outbox and
//!   the live state the UI renders.
//! - [`app`] — the Leptos UI, rendered on the server and hydrated in the browser:
//!   the demo site, the messenger, the inbox and the public help center.
//!
//! One message travels composer → `client` → `/ws` → `server::ws` → `store`
//! (its batch's commit, which also reads the inbox row, then the ack) → `bus`
//! → `hub` → every watching socket → `client` → UI.

#![recursion_limit = "256"]

pub mod app;
pub mod client;
pub mod help;
pub mod i18n;
pub mod mentions;
pub mod protocol;
pub mod replies;
pub mod rich_text;
#[cfg(feature = "ssr")]
pub mod server;
pub mod settings;

/// Browser entry point: hydrates the server-rendered page. Asynchronously:
/// a team page's code may first have to arrive (a lazy route, see `app`).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(body) = document.body() else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let owner = leptos::mount::hydrate_from_async(body, app::App).await;
        owner.forget();
        // Marks the page live: until then the bubble is a link to
        // `/messenger` (tests wait for this before testing what only the live
        // page does).
        if let Some(root) = document.document_element() {
            let _ = root.set_attribute("data-hydrated", "");
        }
    });
}
