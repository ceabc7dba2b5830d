//! One file's trip to `POST /files`, with progress: `XMLHttpRequest`,
//! because `fetch` reports no upload progress. The answer is the
//! [`Attachment`] a `send` then names.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{ProgressEvent, XmlHttpRequest};

use crate::protocol::{Attachment, ConversationId, url_segment};

/// Why an upload did not end with a stored file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The server refused this file for good (too big, type not allowed):
    /// why (`code`), and its words for the person (English).
    Refused { code: String, message: String },
    /// No network, a busy server, a limit that passes: try again later.
    Passing,
}

/// Starts uploading `file`; `progress` hears the percentage sent, `done`
/// the outcome. Returns the request, to abort it.
pub fn start(
    file: &web_sys::File,
    role: &str,
    conversation: Option<ConversationId>,
    progress: impl Fn(u8) + 'static,
    done: impl FnOnce(Result<Attachment, Failure>) + 'static,
) -> Option<XmlHttpRequest> {
    let request = XmlHttpRequest::new().ok()?;
    let url = match conversation {
        Some(id) => format!("/files?role={role}&conversation={}", id.0),
        None => format!("/files?role={role}"),
    };
    request.open("POST", &url).ok()?;
    request
        .set_request_header("X-File-Name", &url_segment(&file.name()))
        .ok()?;
    let on_progress = Closure::<dyn Fn(ProgressEvent)>::new(move |ev: ProgressEvent| {
        if ev.length_computable() && ev.total() > 0.0 {
            progress(((ev.loaded() / ev.total()) * 100.0).clamp(0.0, 100.0) as u8);
        }
    });
    if let Ok(upload) = request.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    // One callback for load, error and abort: whichever comes first ends it.
    let done = std::rc::Rc::new(std::cell::RefCell::new(Some(done)));
    let finished = {
        let request = request.clone();
        Closure::<dyn Fn()>::new(move || {
            let Some(done) = done.borrow_mut().take() else {
                return;
            };
            done(outcome(&request));
        })
    };
    request.set_onloadend(Some(finished.as_ref().unchecked_ref()));
    request.send_with_opt_blob(Some(file)).ok()?;
    // The closures live as long as the request may call them: until it
    // ends, which the browser guarantees (load, error, abort or timeout).
    on_progress.forget();
    finished.forget();
    Some(request)
}

fn outcome(request: &XmlHttpRequest) -> Result<Attachment, Failure> {
    let status = request.status().unwrap_or(0);
    let text = request.response_text().ok().flatten().unwrap_or_default();
    match status {
        201 => serde_json::from_str(&text).map_err(|_| Failure::Passing),
        // Aborted, or no network.
        0 => Err(Failure::Passing),
        429 | 500..=599 => Err(Failure::Passing),
        _ => {
            #[derive(serde::Deserialize)]
            struct Refusal {
                #[serde(default)]
                code: String,
                message: String,
            }
            let (code, message) = serde_json::from_str::<Refusal>(&text)
                .map(|r| (r.code, r.message))
                .unwrap_or_else(|_| {
                    (
                        String::new(),
                        format!("The server refused the file (HTTP {status})."),
                    )
                });
            Err(Failure::Refused { code, message })
        }
    }
}
