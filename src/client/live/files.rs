//! Files the person attaches: staged beside the composer, uploaded at once
//! while connected (each with its progress, a cancel and, when refused,
//! the reason and a retry), then carried by the message they are sent with.
//!
//! A file waits like a message when the network is gone: a message whose
//! files are not all uploaded stays in the outbox, and the messages after
//! it wait too, so the conversation keeps the order it was written in.
//! The file itself stays in this page's memory (a browser cannot keep it
//! across a reload); after a reload a file that had not reached the server
//! says so and asks to be attached again.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Connection, Delivery, Live};
use crate::protocol::{Attachment, ConversationId};

/// Uploads running at once from one page.
#[cfg(feature = "hydrate")]
const UPLOADS_AT_ONCE: usize = 3;
/// How long before an upload that failed in passing (busy server, a limit)
/// is tried again while connected.
#[cfg(feature = "hydrate")]
const RETRY_MS: u64 = 4_000;

/// A file on its way.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OutFile {
    /// This page's handle on it.
    pub key: u64,
    pub name: String,
    pub size: u64,
    pub state: FileState,
    /// The conversation it was attached in (`None`: a visitor's next).
    #[serde(default)]
    pub conversation: Option<ConversationId>,
    /// A preview, when the browser calls it a picture (the server judges for
    /// itself): an object URL, released once sent.
    #[serde(skip)]
    pub preview: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FileState {
    /// To upload when connected.
    Waiting,
    /// This percentage sent.
    Uploading(u8),
    Uploaded(Attachment),
    /// Refused for good, with the reason.
    Failed(String),
}

/// What the page holds of a file beyond what is shown.
#[cfg(feature = "hydrate")]
pub(super) struct Handle {
    file: web_sys::File,
    conversation: Option<ConversationId>,
    request: Option<web_sys::XmlHttpRequest>,
}
#[cfg(not(feature = "hydrate"))]
pub(super) struct Handle;

/// The page's files, by key: the browser's own objects, which live on the
/// page's one thread. (On the server, which renders pages on any thread,
/// there are none, and the store must be one any thread may drop.)
#[cfg(feature = "hydrate")]
pub(super) type Handles = StoredValue<std::collections::HashMap<u64, Handle>, LocalStorage>;
#[cfg(not(feature = "hydrate"))]
pub(super) type Handles = StoredValue<std::collections::HashMap<u64, Handle>>;

#[cfg(feature = "hydrate")]
pub(super) fn new_handles() -> Handles {
    StoredValue::new_local(Default::default())
}
#[cfg(not(feature = "hydrate"))]
pub(super) fn new_handles() -> Handles {
    StoredValue::new(Default::default())
}

/// What the reload message says of a file that never reached the server
/// (a message of [`crate::i18n`]).
#[cfg(feature = "hydrate")]
pub(super) const LOST_IN_RELOAD: &str = "file-lost";

impl OutFile {
    pub fn is_done(&self) -> bool {
        matches!(self.state, FileState::Uploaded(_))
    }
}

impl Live {
    /// Attaches the browser's `files` to the message being written in
    /// `conversation` (`None`: a visitor's first); they start uploading.
    #[cfg(feature = "hydrate")]
    pub fn stage(&self, conversation: Option<ConversationId>, files: Vec<web_sys::File>) {
        let mut staged = Vec::new();
        for file in files {
            let key = crate::protocol::ClientId::new().0.as_u64_pair().0;
            let preview = file
                .type_()
                .starts_with("image/")
                .then(|| web_sys::Url::create_object_url_with_blob(&file).ok())
                .flatten();
            staged.push(OutFile {
                key,
                name: crate::protocol::clean_file_name(&file.name()),
                size: file.size() as u64,
                state: FileState::Waiting,
                conversation,
                preview,
            });
            self.handles.update_value(|h| {
                h.insert(
                    key,
                    Handle {
                        file,
                        conversation,
                        request: None,
                    },
                );
            });
        }
        self.staged.update(|s| s.extend(staged));
        self.pump_uploads();
    }

    /// The files attached to what is being written in `conversation` (a
    /// teammate's stay with the conversation they were attached in; a
    /// visitor writes in one place).
    pub fn staged_for(&self, conversation: Option<ConversationId>) -> Vec<OutFile> {
        let agent = self.is_agent();
        self.staged
            .try_with(|s| {
                s.iter()
                    .filter(|f| !agent || f.conversation == conversation)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The staged files of `conversation`, for the message now sent.
    pub(super) fn take_staged(&self, conversation: Option<ConversationId>) -> Vec<OutFile> {
        let agent = self.is_agent();
        self.staged
            .try_update(|s| {
                let (taken, kept) = std::mem::take(s)
                    .into_iter()
                    .partition(|f| !agent || f.conversation == conversation);
                *s = kept;
                taken
            })
            .unwrap_or_default()
    }

    /// Stops and drops a file: from the composer, or from an unsent message
    /// (a message left with neither text nor files goes too).
    pub fn cancel_file(&self, key: u64) {
        #[cfg(feature = "hydrate")]
        if let Some(Some(handle)) = self.handles.try_update_value(|h| h.remove(&key))
            && let Some(request) = handle.request
        {
            let _ = request.abort();
        }
        #[cfg(not(feature = "hydrate"))]
        self.handles.update_value(|h| {
            h.remove(&key);
        });
        let revoke = |f: &OutFile| {
            #[cfg(feature = "hydrate")]
            if let Some(url) = &f.preview {
                let _ = web_sys::Url::revoke_object_url(url);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = f;
        };
        self.staged.update(|s| {
            s.iter().filter(|f| f.key == key).for_each(revoke);
            s.retain(|f| f.key != key);
        });
        self.outbox.update(|o| {
            for p in o.iter_mut() {
                p.files.iter().filter(|f| f.key == key).for_each(revoke);
                p.files.retain(|f| f.key != key);
            }
            o.retain(|p| !p.body.is_empty() || !p.files.is_empty());
        });
        self.send_next();
    }

    /// Tries a refused file again.
    pub fn retry_file(&self, key: u64) {
        self.set_file(key, FileState::Waiting);
        // Its message, "Not sent" because of it, may go again.
        self.outbox.update(|o| {
            for p in o
                .iter_mut()
                .filter(|p| p.files.iter().any(|f| f.key == key))
            {
                if !p
                    .files
                    .iter()
                    .any(|f| matches!(f.state, FileState::Failed(_)))
                {
                    p.delivery = Delivery::Sending;
                }
            }
        });
        self.pump_uploads();
        self.send_next();
    }

    /// Sets a file's state wherever it is, staged or in the outbox. A file
    /// refused for good makes its message "Not sent", with the reason.
    fn set_file(&self, key: u64, state: FileState) {
        let update = |f: &mut OutFile| {
            if f.key == key {
                f.state = state.clone();
            }
        };
        self.staged.update(|s| s.iter_mut().for_each(update));
        self.outbox.update(|o| {
            for p in o.iter_mut() {
                p.files.iter_mut().for_each(update);
                if let FileState::Failed(reason) = &state
                    && let Some(f) = p.files.iter().find(|f| f.key == key)
                {
                    p.delivery = Delivery::Failed(format!("{}: {reason}", f.name));
                }
            }
        });
    }

    /// Files waiting to be uploaded, in the order they were attached: the
    /// outbox's (older) first, then the composer's.
    fn waiting_files(&self) -> Vec<u64> {
        let mut keys: Vec<u64> = self.outbox.with_untracked(|o| {
            o.iter()
                .filter(|p| p.delivery == Delivery::Sending)
                .flat_map(|p| p.files.iter())
                .filter(|f| f.state == FileState::Waiting)
                .map(|f| f.key)
                .collect()
        });
        self.staged.with_untracked(|s| {
            keys.extend(
                s.iter()
                    .filter(|f| f.state == FileState::Waiting)
                    .map(|f| f.key),
            )
        });
        keys
    }

    /// Starts uploads while connected and the browser has a network, a few
    /// at a time.
    pub(crate) fn pump_uploads(&self) {
        if self.connection.get_untracked() != Connection::Online || !self.online.get_untracked() {
            return; // `catch_up`, or the network's return, pumps again.
        }
        #[cfg(feature = "hydrate")]
        {
            let running = self
                .handles
                .with_value(|h| h.values().filter(|h| h.request.is_some()).count());
            let free = UPLOADS_AT_ONCE.saturating_sub(running);
            for key in self.waiting_files().into_iter().take(free) {
                self.upload(key);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = self.waiting_files();
    }

    #[cfg(feature = "hydrate")]
    fn upload(&self, key: u64) {
        let live = *self;
        let Some(Some((file, conversation))) = self
            .handles
            .try_with_value(|h| h.get(&key).map(|h| (h.file.clone(), h.conversation)))
        else {
            // Nothing to send from this page (attached before a reload).
            self.set_file(key, FileState::Failed(self.words.t(LOST_IN_RELOAD)));
            return;
        };
        self.set_file(key, FileState::Uploading(0));
        let role = if self.is_agent() { "agent" } else { "visitor" };
        let request = crate::client::upload::start(
            &file,
            role,
            conversation,
            move |percent| {
                // Only while it is still on its way (cancelled: gone).
                let uploading = live.handles.with_value(|h| h.contains_key(&key));
                if uploading {
                    live.set_file(key, FileState::Uploading(percent));
                }
            },
            move |outcome| live.uploaded(key, outcome),
        );
        if request.is_none() {
            self.set_file(key, FileState::Failed(self.words.t("file-not-started")));
        }
        self.handles.update_value(|h| {
            if let Some(handle) = h.get_mut(&key) {
                handle.request = request;
            }
        });
    }

    #[cfg(feature = "hydrate")]
    fn uploaded(&self, key: u64, outcome: Result<Attachment, crate::client::upload::Failure>) {
        use crate::client::upload::Failure;
        let still_wanted = self.handles.try_update_value(|h| {
            h.get_mut(&key)
                .map(|handle| handle.request = None)
                .is_some()
        });
        if still_wanted != Some(true) {
            return; // Cancelled.
        }
        match outcome {
            Ok(attachment) => {
                self.set_file(key, FileState::Uploaded(attachment));
                self.send_next();
            }
            Err(Failure::Refused { code, message }) => {
                let reason = self.words.file_refusal(&code, &message);
                self.set_file(key, FileState::Failed(reason));
                self.pump_uploads();
            }
            Err(Failure::Passing) => {
                // Not again at once: a while later, or when the network or
                // the socket comes back.
                self.set_file(key, FileState::Waiting);
                let live = *self;
                wasm_bindgen_futures::spawn_local(async move {
                    gloo_timers::future::sleep(std::time::Duration::from_millis(RETRY_MS)).await;
                    live.pump_uploads();
                });
            }
        }
    }

    /// A sent message's files are the server's now: the page lets go.
    pub(super) fn release_files(&self, files: &[OutFile]) {
        self.handles.update_value(|h| {
            for f in files {
                h.remove(&f.key);
            }
        });
        #[cfg(feature = "hydrate")]
        for url in files.iter().filter_map(|f| f.preview.as_ref()) {
            let _ = web_sys::Url::revoke_object_url(url);
        }
    }

    /// The server no longer knows a sent message's uploads (they expired
    /// an hour after upload): the files this page still holds go up again,
    /// once. Returns whether the message may go again.
    pub(super) fn upload_again(&self, client_id: crate::protocol::ClientId) -> bool {
        let held: std::collections::HashSet<u64> =
            self.handles.with_value(|h| h.keys().copied().collect());
        let mut again = false;
        self.outbox.update(|o| {
            let Some(p) = o.iter_mut().find(|p| p.client_id == client_id) else {
                return;
            };
            if p.uploaded_again || !p.files.iter().all(|f| held.contains(&f.key)) {
                return;
            }
            p.uploaded_again = true;
            again = true;
            p.in_flight = false;
            for f in &mut p.files {
                f.state = FileState::Waiting;
            }
        });
        again
    }
}
