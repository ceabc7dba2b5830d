//! (Browser only) the embedding site speaks to the messenger frame with
//! `postMessage` (`/widget.js` does it for the site, or the site itself):
//!
//! - `{"minicom": "identify", "user_id": …, "user_hash": …, "expires": …,
//!   "name": …, "email": …, "attributes": {…}}` — the site's signed-in user (signed on the
//!   site's server, see the README);
//! - `{"minicom": "forget"}` — the user signed out of the site;
//! - `{"minicom": "shown" | "hidden"}` — the widget's panel opened or closed
//!   (replies count as seen only while shown);
//! - `{"minicom": "prefill", "text": …}` — `Minicom('showNewMessage', text)`;
//! - `{"minicom": "page", "url": …, "title": …}` — the site's page changed
//!   without a reload (the first page comes in the frame's address, after
//!   `#page=…&title=…`); the team sees it beside the conversation.
//!
//! When it listens, the messenger tells its parent page `{"minicom":
//! "ready"}` (again after each reload), so the page knows when to speak; it
//! then reports `{"minicom": "unread", "count": …}` whenever that changes, and
//! `{"minicom": "close"}` from its close button. Identify and forget go to the
//! server together with the origin of the page that sent them (the server
//! accepts only allowed embedding origins), then the messenger reloads as the
//! visitor the server now says it is. A link can never do this: only a page
//! the site serves, framing the messenger, can send these messages. The
//! others are taken only from the parent window, and replies go only to the
//! parent's origin (which the frame's `frame-ancestors` policy allowed).

use leptos::prelude::*;
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::client::live::Live;

/// A message from the embedding page.
#[derive(Deserialize)]
#[serde(tag = "minicom", rename_all = "snake_case")]
enum FromSite {
    Identify {
        user_id: String,
        user_hash: String,
        #[serde(default)]
        expires: Option<i64>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        email: Option<String>,
        /// Custom attributes for the team (a JSON object), sent on as JSON.
        #[serde(default)]
        attributes: Option<serde_json::Value>,
    },
    /// The page the visitor is on changed without a reload (the site's own
    /// navigation); the first one comes in the frame's address.
    /// `url` null: the site turned page tracking off.
    Page {
        url: Option<String>,
        #[serde(default)]
        title: String,
    },
    Forget,
    Shown,
    Hidden,
    Prefill {
        text: String,
    },
}

/// Starts listening for the embedding page's messages (once per page).
pub fn listen(live: Live) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let parent = window.parent().ok().flatten().filter(|p| *p != window);
    let from_parent = {
        let parent = parent.clone();
        move |event: &web_sys::MessageEvent| {
            let source = event.source().map(wasm_bindgen::JsValue::from);
            parent
                .as_ref()
                .is_some_and(|p| source.as_ref() == Some(&wasm_bindgen::JsValue::from(p)))
        }
    };
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let Ok(json) = js_sys::JSON::stringify(&event.data()) else {
                return;
            };
            let Ok(message) = serde_json::from_str::<FromSite>(&String::from(json)) else {
                // Not for us (other scripts talk to frames too).
                return;
            };
            if !from_parent(&event) {
                return;
            }
            match message {
                FromSite::Shown => live.panel_open.set(true),
                FromSite::Hidden => live.panel_open.set(false),
                FromSite::Prefill { text } => live.prefill.set(Some(text)),
                FromSite::Page { url, title } => {
                    live.set_page(url.map(|url| crate::protocol::PageVisit { url, title }));
                }
                message @ (FromSite::Identify { .. } | FromSite::Forget) => {
                    wasm_bindgen_futures::spawn_local(forward(message, event.origin()));
                }
            }
        });
    if let Some(page) = first_page(&window) {
        live.set_page(Some(page));
    }
    let _ = window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    // Lives as long as the page.
    on_message.forget();
    let Some(parent) = parent else {
        // `/messenger?embed=1` opened as a page of its own: nobody will say
        // the panel is shown, so it is.
        if opened_for_widget(&window) {
            live.panel_open.set(true);
        }
        return;
    };
    // Framed: tell the embedding page we are listening (nothing secret: any
    // page may know a frame is ready), then keep its badge in step.
    tell_parent(&parent, "*", r#"{"minicom":"ready"}"#);
    let Some(origin) = parent_origin(&window) else {
        return;
    };
    Effect::new(move |_| {
        let count = live.total_unread();
        tell_parent(
            &parent,
            &origin,
            &format!(r#"{{"minicom":"unread","count":{count}}}"#),
        );
    });
}

/// The page the widget was on when it made this frame: `/widget.js` puts
/// it in the frame's address after `#` (which never reaches a server),
/// unless the site turned page tracking off.
fn first_page(window: &web_sys::Window) -> Option<crate::protocol::PageVisit> {
    let location = window.location();
    if !location.pathname().ok()?.starts_with("/messenger") {
        return None;
    }
    let hash = location.hash().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(hash.strip_prefix('#')?).ok()?;
    let page = crate::protocol::PageVisit {
        url: params.get("page")?,
        title: params.get("title").unwrap_or_default(),
    };
    // Read once: a reload (after a sign-in) must not bring back a page the
    // site has since moved from or stopped sharing.
    if let (Ok(history), Ok(path), Ok(search)) =
        (window.history(), location.pathname(), location.search())
    {
        let _ = history.replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("{path}{search}")),
        );
    }
    Some(page)
}

/// For a messenger drawn inside a site's own page (the demo), that page as
/// it is now; none for the messenger's own page.
pub fn this_page() -> Option<crate::protocol::PageVisit> {
    let window = web_sys::window()?;
    let location = window.location();
    if location.pathname().ok()?.starts_with("/messenger") {
        return None;
    }
    Some(crate::protocol::PageVisit {
        url: location.href().ok()?,
        title: window.document()?.title(),
    })
}

/// This page is `/messenger?embed=1`, the messenger `/widget.js` frames.
pub fn opened_for_widget(window: &web_sys::Window) -> bool {
    window
        .location()
        .search()
        .is_ok_and(|q| q.contains("embed="))
}

/// Framed by the widget right now.
pub fn in_widget_frame(window: &web_sys::Window) -> bool {
    window.parent().ok().flatten().is_some_and(|p| p != *window) && opened_for_widget(window)
}

/// Asks the embedding page to close its panel.
pub fn close_panel() {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Ok(Some(parent)) = window.parent()
        && parent != window
        && let Some(origin) = parent_origin(&window)
    {
        tell_parent(&parent, &origin, r#"{"minicom":"close"}"#);
    }
}

/// Tells the embedding page's launcher the messenger's colour and side.
pub fn tell_look(look: &crate::settings::MessengerLook) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if !in_widget_frame(&window) {
        return;
    }
    if let (Ok(Some(parent)), Some(origin), Ok(look)) = (
        window.parent(),
        parent_origin(&window),
        serde_json::to_string(look),
    ) {
        tell_parent(
            &parent,
            &origin,
            &format!(r#"{{"minicom":"look","look":{look}}}"#),
        );
    }
}

fn tell_parent(parent: &web_sys::Window, origin: &str, json: &str) {
    if let Ok(message) = js_sys::JSON::parse(json) {
        let _ = parent.post_message(&message, origin);
    }
}

/// The embedding page's origin, as the browser reports it
/// (`location.ancestorOrigins`, else the referrer's origin).
fn parent_origin(window: &web_sys::Window) -> Option<String> {
    let location = wasm_bindgen::JsValue::from(window.location());
    let from_ancestors = js_sys::Reflect::get(&location, &"ancestorOrigins".into())
        .ok()
        .filter(|list| !list.is_undefined())
        .and_then(|list| js_sys::Reflect::get(&list, &0.into()).ok())
        .and_then(|origin| origin.as_string());
    from_ancestors.or_else(|| {
        let referrer = window.document()?.referrer();
        let (scheme, rest) = referrer.split_once("://")?;
        let host = rest.split('/').next()?;
        (!host.is_empty()).then(|| format!("{scheme}://{host}"))
    })
}

/// Forwards a sign-in or sign-out to the server; unless the page reloads
/// (it then says `ready` as it starts), tells the parent it may go on.
async fn forward(message: FromSite, origin: String) {
    if !forward_to_server(message, origin).await
        && let Some(window) = web_sys::window()
        && let Ok(Some(parent)) = window.parent()
        && parent != window
    {
        tell_parent(&parent, "*", r#"{"minicom":"ready"}"#);
    }
}

/// True when the page is reloading as the visitor the server now says it is.
async fn forward_to_server(message: FromSite, origin: String) -> bool {
    let mut form = vec![("origin", origin)];
    let path = match message {
        FromSite::Identify {
            user_id,
            user_hash,
            expires,
            name,
            email,
            attributes,
        } => {
            form.push(("user_id", user_id));
            form.extend(attributes.map(|a| ("attributes", a.to_string())));
            form.push(("user_hash", user_hash));
            if let Some(expires) = expires {
                form.push(("expires", expires.to_string()));
            }
            form.extend(name.map(|n| ("name", n)));
            form.extend(email.map(|e| ("email", e)));
            "/messenger/identify"
        }
        FromSite::Forget => "/messenger/forget",
        FromSite::Shown | FromSite::Hidden | FromSite::Prefill { .. } | FromSite::Page { .. } => {
            return false;
        }
    };
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", js_sys::encode_uri_component(v)))
        .collect();
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&body.join("&").into());
    let Ok(headers) = web_sys::Headers::new() else {
        return false;
    };
    let _ = headers.set("Content-Type", "application/x-www-form-urlencoded");
    init.set_headers(&headers);
    let Some(window) = web_sys::window() else {
        return false;
    };
    let answered =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(path, &init)).await;
    match answered
        .ok()
        .and_then(|r| r.dyn_into::<web_sys::Response>().ok())
    {
        // 200: the browser is someone else now: start over as them — once
        // per tab for the same request: a browser that refuses to keep the
        // new cookie (third-party cookies blocked) would otherwise reload
        // for ever.
        Some(response) if response.status() == 200 => {
            let key = "minicom.embed.reloaded";
            let asked = format!("{path}?{}", body.join("&"));
            let storage = window.session_storage().ok().flatten();
            let again = storage
                .as_ref()
                .and_then(|s| s.get_item(key).ok().flatten())
                .is_some_and(|done| done == asked);
            if again {
                web_sys::console::warn_1(
                    &"Minicom: this browser did not keep the chat's cookie (third-party cookies blocked?), so the site's sign-in could not be applied."
                        .into(),
                );
                false
            } else {
                if let Some(storage) = storage {
                    let _ = storage.set_item(key, &asked);
                }
                window.location().reload().is_ok()
            }
        }
        // 204: it already was; nothing to do.
        Some(response) if response.ok() => false,
        Some(response) => {
            web_sys::console::warn_1(
                &format!(
                    "Minicom refused the site's {path} ({}): see the server's answer in the network panel.",
                    response.status()
                )
                .into(),
            );
            false
        }
        None => {
            web_sys::console::warn_1(&"Minicom could not reach its server.".into());
            false
        }
    }
}
