//! Files in the thread: pictures as thumbnails that open full size in a
//! lightbox, other files as cards that download; files on their way, with
//! progress; and a message's text with its links and emphasis.

use leptos::prelude::*;

use crate::app::components::{Glyph, Icon};
use crate::client::live::{FileState, Live, OutFile};
use crate::i18n::context::words;
use crate::protocol::{Attachment, ConversationId, human_size};
use crate::rich_text::{Span, parse};

/// A message's text: links (only http, https and mailto, opened in a new
/// tab, telling the target nothing), `*bold*`, `_italic_`, `` `code` ``.
/// Every piece is a text node: markup in a message stays literal.
#[component]
pub fn RichText(text: String) -> impl IntoView {
    parse(&text)
        .into_iter()
        .map(|span| match span {
            Span::Text(t) => t.into_any(),
            Span::Link(href) => view! {
                <a href=href.clone() target="_blank" rel="noopener noreferrer nofollow">{href.clone()}</a>
            }
            .into_any(),
            Span::Bold(t) => view! { <strong>{t}</strong> }.into_any(),
            Span::Italic(t) => view! { <em>{t}</em> }.into_any(),
            Span::Code(t) => view! { <code>{t}</code> }.into_any(),
        })
        .collect_view()
}

/// The pictures of the thread shown, and which one is open full size.
#[derive(Clone, Copy)]
pub struct Lightbox {
    pub open: RwSignal<Option<(Vec<Attachment>, usize)>>,
    pub pictures: Memo<Vec<Attachment>>,
}

/// A sent message's files.
#[component]
pub fn Attachments(items: Vec<Attachment>) -> impl IntoView {
    let lightbox = use_context::<Lightbox>();
    let words = words();
    items
        .into_iter()
        .map(|a| {
            if a.is_image() {
                let (w, h) = (a.width.unwrap_or(1), a.height.unwrap_or(1));
                let label = words.t_with("open-picture", &[("name", a.name.as_str().into())]);
                let id = a.id.clone();
                view! {
                    <button type="button" class="attachment-picture" aria-label=label
                        on:click=move |_| {
                            if let Some(Lightbox { open, pictures }) = lightbox {
                                let all = pictures.get_untracked();
                                let at = all.iter().position(|p| p.id == id).unwrap_or(0);
                                open.set(Some((all, at)));
                            }
                        }>
                        <img src=a.thumb_url() alt=a.name.clone() loading="lazy" decoding="async"
                            width=w.to_string() height=h.to_string() />
                    </button>
                }
                .into_any()
            } else {
                view! {
                    <a class="attachment-card" href=a.url() download=a.name.clone()>
                        <Icon glyph=Glyph::File />
                        <span class="attachment-name">{a.name.clone()}</span>
                        <span class="attachment-meta">
                            {words.t(a.kind())} " · " {human_size(a.size)}
                        </span>
                        <span class="sr-only">" " {words.t("download-hint")}</span>
                    </a>
                }
                .into_any()
            }
        })
        .collect_view()
}

/// The open picture, full size over everything: Escape closes, the arrow
/// keys go to the previous and next picture of the thread.
#[component]
pub fn LightboxView() -> impl IntoView {
    let Lightbox { open, .. } = expect_context::<Lightbox>();
    let w = words();
    let dialog = NodeRef::<leptos::html::Div>::new();
    let step = move |by: isize| {
        open.update(|o| {
            if let Some((all, at)) = o {
                let n = all.len() as isize;
                if n > 0 {
                    *at = ((*at as isize + by).rem_euclid(n)) as usize;
                }
            }
        })
    };
    Effect::new(move |_| {
        if open.with(Option::is_some)
            && let Some(dialog) = dialog.get()
        {
            let _ = dialog.focus();
        }
    });
    move || {
        open.try_get().flatten().map(|(all, at)| {
            let shown = all.get(at).cloned();
            let label = shown.as_ref().map(|a| a.name.clone()).unwrap_or_default();
            let count = all.len();
            view! {
                <div class="lightbox" role="dialog" aria-modal="true" tabindex="-1"
                    aria-label=label
                    node_ref=dialog
                    on:keydown=move |ev| match ev.key().as_str() {
                        "Escape" => open.set(None),
                        "ArrowLeft" => step(-1),
                        "ArrowRight" => step(1),
                        _ => {}
                    }
                    on:click=move |_| open.set(None)>
                    {shown.map(|a| view! {
                        <img class="lightbox-picture" src=a.url() alt=a.name.clone()
                            on:click=|ev| ev.stop_propagation() />
                        <p class="lightbox-caption" on:click=|ev| ev.stop_propagation()>
                            <a href=a.url() download=a.name.clone()>
                                <Icon glyph=Glyph::Download /> " " {a.name.clone()}
                            </a>
                            {(count > 1).then(|| {
                                let of = w.t_with("picture-of", &[("at", (at + 1).into()), ("count", count.into())]);
                                format!(" · {of}")
                            })}
                        </p>
                    })}
                    <button type="button" class="icon-button lightbox-close" aria-label=w.t("close-picture")
                        on:click=move |_| open.set(None)><Icon glyph=Glyph::Close /></button>
                    {(count > 1).then(|| view! {
                        <button type="button" class="icon-button lightbox-prev" aria-label=w.t("previous-picture")
                            on:click=move |ev| { ev.stop_propagation(); step(-1) }>
                            <Icon glyph=Glyph::Prev />
                        </button>
                        <button type="button" class="icon-button lightbox-next" aria-label=w.t("next-picture")
                            on:click=move |ev| { ev.stop_propagation(); step(1) }>
                            <Icon glyph=Glyph::Next />
                        </button>
                    })}
                </div>
            }
        })
    }
}

/// Files attached to what is being written or waiting to go: each with its
/// progress while it uploads, a cancel, and why it failed with a retry.
#[component]
pub fn OutFiles(files: Vec<OutFile>) -> impl IntoView {
    let live = expect_context::<Live>();
    let w = live.words;
    view! {
        <ul class="out-files" aria-label=w.t("attached-files")>
            {files.into_iter().map(|f| {
                let key = f.key;
                let name = f.name.clone();
                let state = match &f.state {
                    FileState::Waiting => view! {
                        <span class="out-file-state">{w.t("file-waiting")}</span>
                    }.into_any(),
                    FileState::Uploading(p) => view! {
                        <progress class="out-file-progress" max="100" value=p.to_string()
                            aria-label=w.t_with("uploading", &[("name", name.as_str().into())])></progress>
                    }.into_any(),
                    FileState::Uploaded(_) => view! {
                        <span class="out-file-state">{w.t("file-ready")}</span>
                    }.into_any(),
                    FileState::Failed(reason) => view! {
                        <span class="out-file-state failed" role="alert">{reason.clone()} " "
                            <button type="button" class="link-button"
                                on:click=move |_| live.retry_file(key)>{w.t("retry")}</button>
                        </span>
                    }.into_any(),
                };
                let remove_label = w.t_with("remove-file", &[("name", f.name.as_str().into())]);
                view! {
                    <li class="out-file" class:failed=matches!(f.state, FileState::Failed(_))>
                        {match f.preview.clone() {
                            Some(url) => view! { <img class="out-file-preview" src=url alt="" /> }.into_any(),
                            None => view! { <Icon glyph=Glyph::File /> }.into_any(),
                        }}
                        <span class="out-file-name">{f.name.clone()}</span>
                        <span class="out-file-size">{human_size(f.size)}</span>
                        {state}
                        <button type="button" class="icon-button out-file-remove" aria-label=remove_label
                            on:click=move |_| live.cancel_file(key)><Icon glyph=Glyph::Close /></button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// Files dropped on the conversation join the message being written.
pub fn drop_files(
    live: Live,
    conversation: Signal<Option<ConversationId>>,
) -> impl Fn(leptos::ev::DragEvent) + Copy + 'static {
    move |ev: leptos::ev::DragEvent| {
        #[cfg(feature = "hydrate")]
        {
            let files = ev.data_transfer().and_then(|d| d.files());
            if let Some(files) = files.filter(|f| f.length() > 0) {
                ev.prevent_default();
                live.stage(conversation.get_untracked(), file_list(&files));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, live, conversation);
    }
}

/// Lets files be dropped here (the browser would otherwise open them).
pub fn allow_drop(ev: leptos::ev::DragEvent) {
    #[cfg(feature = "hydrate")]
    if ev
        .data_transfer()
        .is_some_and(|d| d.types().includes(&"Files".into(), 0))
    {
        ev.prevent_default();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

/// The files of a browser `FileList`.
#[cfg(feature = "hydrate")]
pub fn file_list(files: &web_sys::FileList) -> Vec<web_sys::File> {
    (0..files.length()).filter_map(|i| files.get(i)).collect()
}
