//! (Browser only) the embedding site speaks to the messenger frame with
//! `postMessage`:
//!
//! - `{"minicom": "identify", "user_id": …, "user_hash": …, "expires": …,
//!   "name": …, "email": …}` — the site's signed-in user (signed on the
//!   site's server, see the README);
//! - `{"minicom": "forget"}` — the user signed out of the site.
//!
//! When it listens, the messenger tells its parent page `{"minicom":
//! "ready"}` (again after each reload), so the page knows when to speak.
//! The messenger forwards either to its own server together with the origin
//! of the page that sent it (the server accepts only allowed embedding
//! origins), then reloads as the visitor the server now says it is. A link
//! can never do this: only a page the site serves, framing the messenger,
//! can send these messages.

use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

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
    },
    Forget,
}

/// Starts listening for the embedding page's messages (once per page).
pub fn listen() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(|event: web_sys::MessageEvent| {
            let Ok(json) = js_sys::JSON::stringify(&event.data()) else {
                return;
            };
            let Ok(message) = serde_json::from_str::<FromSite>(&String::from(json)) else {
                // Not for us (other scripts talk to frames too).
                return;
            };
            let origin = event.origin();
            wasm_bindgen_futures::spawn_local(forward(message, origin));
        });
    let _ = window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    // Lives as long as the page.
    on_message.forget();
    // Framed: tell the embedding page we are listening (nothing secret: any
    // page may know a frame is ready).
    if let Ok(Some(parent)) = window.parent()
        && parent != window
        && let Ok(ready) = js_sys::JSON::parse(r#"{"minicom":"ready"}"#)
    {
        let _ = parent.post_message(&ready, "*");
    }
}

async fn forward(message: FromSite, origin: String) {
    let mut form = vec![("origin", origin)];
    let path = match message {
        FromSite::Identify {
            user_id,
            user_hash,
            expires,
            name,
            email,
        } => {
            form.push(("user_id", user_id));
            form.push(("user_hash", user_hash));
            if let Some(expires) = expires {
                form.push(("expires", expires.to_string()));
            }
            form.extend(name.map(|n| ("name", n)));
            form.extend(email.map(|e| ("email", e)));
            "/messenger/identify"
        }
        FromSite::Forget => "/messenger/forget",
    };
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", js_sys::encode_uri_component(v)))
        .collect();
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&body.join("&").into());
    let Ok(headers) = web_sys::Headers::new() else {
        return;
    };
    let _ = headers.set("Content-Type", "application/x-www-form-urlencoded");
    init.set_headers(&headers);
    let Some(window) = web_sys::window() else {
        return;
    };
    let answered =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(path, &init)).await;
    match answered.ok().and_then(|r| r.dyn_into::<web_sys::Response>().ok()) {
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
            } else {
                if let Some(storage) = storage {
                    let _ = storage.set_item(key, &asked);
                }
                let _ = window.location().reload();
            }
        }
        // 204: it already was; nothing to do.
        Some(response) if response.ok() => {}
        Some(response) => web_sys::console::warn_1(
            &format!(
                "Minicom refused the site's {path} ({}): see the server's answer in the network panel.",
                response.status()
            )
            .into(),
        ),
        None => web_sys::console::warn_1(&"Minicom could not reach its server.".into()),
    }
}
