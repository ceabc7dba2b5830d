//! `/inbox/help`: admins write the help center's articles. A list of every
//! article (drafts too) beside an editor: title, collection, Markdown body
//! with a live preview, save as draft or publish, and the article's
//! history to look back on and restore from. The rules live in
//! `server::help`; these server functions only check the session.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_meta::Title;

use super::sign_in::SignIn;
use super::team::{Access, refusal, team_access};
use crate::client::time::format_full;
use crate::help::{ArticleDraft, ArticleRow, Revision};

#[cfg(feature = "ssr")]
use super::require_admin;

#[cfg(feature = "ssr")]
fn failed(err: impl std::fmt::Display) -> ServerFnError {
    ServerFnError::new(err.to_string())
}

/// Every article, drafts included.
#[server]
pub async fn articles_admin() -> Result<Vec<ArticleRow>, ServerFnError> {
    let (state, _) = require_admin().await?;
    crate::server::help::list(&state.store)
        .await
        .map_err(failed)
}

/// One article for the editor, with its history.
#[server]
pub async fn article_edit(
    id: i64,
) -> Result<Option<(ArticleDraft, ArticleRow, Vec<Revision>)>, ServerFnError> {
    let (state, _) = require_admin().await?;
    crate::server::help::edit(&state.store, id)
        .await
        .map_err(failed)
}

/// Saves an article: a draft, or published (then public and searchable).
#[server(input = Json)]
pub async fn article_save(draft: ArticleDraft) -> Result<ArticleRow, ServerFnError> {
    let (state, admin) = require_admin().await?;
    let saved = crate::server::help::save(&state.store, &draft, Some(admin.id))
        .await
        .map_err(failed)?;
    tracing::info!(
        admin = admin.id.0,
        article = saved.id,
        published = saved.published,
        "saved a help article"
    );
    Ok(saved)
}

/// Deletes an article and its history.
#[server]
pub async fn article_delete(id: i64) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    if !state.store.delete_article(id).await.map_err(failed)? {
        return Err(ServerFnError::new(
            "That article was already deleted; the list is up to date now.",
        ));
    }
    tracing::info!(admin = admin.id.0, article = id, "deleted a help article");
    Ok(())
}

/// The article's body as its page will show it.
#[server(input = Json)]
pub async fn article_preview(body: String) -> Result<String, ServerFnError> {
    require_admin().await?;
    if body.len() > crate::help::MAX_BODY_BYTES {
        return Err(ServerFnError::new("The article is too long to preview."));
    }
    Ok(crate::server::help::markdown::render(&body))
}

/// The help center page of the inbox.
#[component]
pub fn ArticlesPage() -> impl IntoView {
    let access = Resource::new(|| (), |_| team_access());
    view! {
        <Title text="Help center — Minicom" />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match access.await {
                    Ok(Access::Admin { .. }) => EitherOf3::A(view! { <Articles /> }),
                    Ok(Access::NotAdmin) => EitherOf3::B(view! {
                        <main class="team">
                            <p><a href="/inbox" rel="external">"← Inbox"</a></p>
                            <h1>"Help center"</h1>
                            <p>"Only admins can write help articles. "
                                <a href="/help" rel="external">"Read the help center"</a> "."</p>
                        </main>
                    }),
                    _ => EitherOf3::C(view! { <SignIn /> }),
                }
            })}
        </Transition>
    }
}

/// What the editor holds.
#[derive(Clone, Copy)]
struct Editor {
    id: RwSignal<Option<i64>>,
    title: RwSignal<String>,
    collection: RwSignal<String>,
    body: RwSignal<String>,
    published: RwSignal<bool>,
    url: RwSignal<Option<String>>,
    history: RwSignal<Vec<Revision>>,
    /// The last save's outcome: what to say, and whether it went wrong.
    said: RwSignal<Option<(String, bool)>>,
    busy: RwSignal<bool>,
}

impl Editor {
    fn new() -> Self {
        Self {
            id: RwSignal::new(None),
            title: RwSignal::new(String::new()),
            collection: RwSignal::new(String::new()),
            body: RwSignal::new(String::new()),
            published: RwSignal::new(false),
            url: RwSignal::new(None),
            history: RwSignal::new(Vec::new()),
            said: RwSignal::new(None),
            busy: RwSignal::new(false),
        }
    }

    fn clear(self) {
        self.id.set(None);
        self.title.set(String::new());
        self.collection.set(String::new());
        self.body.set(String::new());
        self.published.set(false);
        self.url.set(None);
        self.history.set(Vec::new());
        self.said.set(None);
    }

    fn show(self, draft: ArticleDraft, row: ArticleRow, history: Vec<Revision>) {
        self.id.set(draft.id);
        self.title.set(draft.title);
        self.collection.set(draft.collection);
        self.body.set(draft.body);
        self.published.set(draft.published);
        self.url.set(Some(row.url));
        self.history.set(history);
    }

    fn draft(self, published: bool) -> ArticleDraft {
        ArticleDraft {
            id: self.id.get_untracked(),
            title: self.title.get_untracked(),
            collection: self.collection.get_untracked(),
            body: self.body.get_untracked(),
            published,
        }
    }
}

#[component]
fn Articles() -> impl IntoView {
    let list = Resource::new(|| (), |_| articles_admin());
    let editor = Editor::new();
    // The article asked for last: an older answer arriving late is dropped.
    let wanted = StoredValue::new(0u64);
    let open = move |id: i64| {
        editor.said.set(None);
        let n = wanted.get_value() + 1;
        wanted.set_value(n);
        leptos::task::spawn_local(async move {
            let loaded = article_edit(id).await;
            if wanted.try_get_value() != Some(n) {
                return;
            }
            match loaded {
                Ok(Some((draft, row, history))) => editor.show(draft, row, history),
                Ok(None) => editor
                    .said
                    .set(Some(("That article was deleted.".into(), true))),
                Err(e) => editor.said.set(Some((refusal(e), true))),
            }
        });
    };
    let save = move |published: bool| {
        if editor.busy.get_untracked() {
            return;
        }
        editor.busy.set(true);
        let draft = editor.draft(published);
        // Whatever was open when the save began: another one opened
        // meanwhile keeps what it shows.
        let n = wanted.get_value();
        leptos::task::spawn_local(async move {
            let result = article_save(draft).await;
            match result {
                Ok(row) => {
                    let said = if row.published {
                        "Published: visitors can read it and the assistant answers from it."
                    } else {
                        "Saved as a draft: only the team sees it."
                    };
                    list.refetch();
                    if wanted.try_get_value() == Some(n) {
                        // At once: a second save updates this article.
                        editor.id.set(Some(row.id));
                        editor.published.set(row.published);
                        editor.url.set(Some(row.url.clone()));
                        editor.said.set(Some((said.into(), false)));
                        // The saved version joins the history (the text as
                        // typed stays: the admin may have gone on typing).
                        if let Ok(Some((_, _, history))) = article_edit(row.id).await
                            && wanted.try_get_value() == Some(n)
                        {
                            editor.history.set(history);
                        }
                    }
                }
                Err(e) => editor.said.set(Some((refusal(e), true))),
            }
            editor.busy.set(false);
        });
    };
    let delete = move |_| {
        let Some(id) = editor.id.get_untracked() else {
            return;
        };
        if editor.busy.get_untracked() {
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            let sure = leptos::web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message(
                        "Delete this article and its history? This cannot be undone.",
                    )
                    .ok()
                })
                .unwrap_or(false);
            if !sure {
                return;
            }
        }
        leptos::task::spawn_local(async move {
            match article_delete(id).await {
                Ok(()) => {
                    editor.clear();
                    editor.said.set(Some(("Deleted.".into(), false)));
                }
                Err(e) => editor.said.set(Some((refusal(e), true))),
            }
            list.refetch();
        });
    };
    view! {
        <main class="team help-admin">
            <p><a href="/inbox" rel="external">"← Inbox"</a></p>
            <div class="help-admin-title">
                <h1>"Help center"</h1>
                <a class="button-quiet" href="/help" target="_blank" rel="noopener">
                    "View the help center"<span class="sr-only">" (opens in a new tab)"</span>
                </a>
            </div>
            <p class="team-hint">"Published articles are public at /help, searchable in the messenger, \
                and what the AI assistant answers from."</p>
            <div class="help-admin-grid">
                <section class="team-card help-admin-list" aria-labelledby="articles-heading">
                    <div class="help-admin-list-head">
                        <h2 id="articles-heading">"Articles"</h2>
                        <button type="button" class="button-small" on:click=move |_| {
                    wanted.update_value(|n| *n += 1);
                    editor.clear();
                }>
                            "New article"
                        </button>
                    </div>
                    <Transition fallback=|| view! { <p>"Loading the articles…"</p> }>
                        {move || Suspend::new(async move {
                            match list.await {
                                Ok(rows) if rows.is_empty() => Either::Left(view! {
                                    <p class="team-hint">"No articles yet: write the first one."</p>
                                }.into_any()),
                                Ok(rows) => Either::Left(view! {
                                    <ul class="help-admin-rows">
                                        {rows.into_iter().map(|row| {
                                            let id = row.id;
                                            view! {
                                                <li>
                                                    <button type="button" class="help-admin-row"
                                                        class:current=move || editor.id.get() == Some(id)
                                                        aria-current=move || (editor.id.get() == Some(id)).then_some("true")
                                                        on:click=move |_| open(id)>
                                                        <span class="help-admin-row-title">{row.title}</span>
                                                        <span class="help-admin-row-meta">
                                                            {row.collection} " · "
                                                            <span class="pill" class:pill-live=row.published>
                                                                {if row.published { "Published" } else { "Draft" }}
                                                            </span>
                                                        </span>
                                                    </button>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any()),
                                Err(e) => Either::Right(view! {
                                    <p class="form-problem" role="alert">{refusal(e)}</p>
                                }),
                            }
                        })}
                    </Transition>
                </section>
                <ArticleEditor editor save=Callback::new(save) delete=Callback::new(delete) />
            </div>
        </main>
    }
}

#[component]
fn ArticleEditor(
    editor: Editor,
    save: Callback<bool>,
    delete: Callback<leptos::ev::MouseEvent>,
) -> impl IntoView {
    // The preview follows the text once typing pauses.
    let shown = RwSignal::new(String::new());
    let typed = StoredValue::new(0u64);
    Effect::new(move |_| {
        let body = editor.body.get();
        let n = typed.get_value() + 1;
        typed.set_value(n);
        set_timeout(
            move || {
                if typed.try_get_value() == Some(n) {
                    shown.set(body);
                }
            },
            std::time::Duration::from_millis(250),
        );
    });
    let preview = LocalResource::new(move || {
        let body = shown.get();
        async move { article_preview(body).await }
    });
    let heading = move || {
        if editor.id.get().is_some() {
            "Edit article"
        } else {
            "New article"
        }
    };
    view! {
        <section class="team-card help-editor" aria-labelledby="editor-heading">
            <h2 id="editor-heading">{heading}</h2>
            <div class="help-editor-fields">
                <label>
                    "Title"
                    <input type="text" required maxlength=crate::help::MAX_TITLE_CHARS
                        prop:value=move || editor.title.get()
                        on:input=move |ev| editor.title.set(event_target_value(&ev)) />
                </label>
                <label>
                    "Collection"
                    <input type="text" required maxlength=crate::help::MAX_COLLECTION_CHARS
                        placeholder="e.g. Shipping"
                        prop:value=move || editor.collection.get()
                        on:input=move |ev| editor.collection.set(event_target_value(&ev)) />
                </label>
            </div>
            <div class="help-editor-panes">
                <label class="help-editor-body">
                    "Article (Markdown: ## headings, - lists, **bold**, [links](https://…))"
                    <textarea rows="16" prop:value=move || editor.body.get()
                        on:input=move |ev| editor.body.set(event_target_value(&ev))></textarea>
                </label>
                <div class="help-editor-preview">
                    <p class="help-editor-preview-label" id="preview-label">"Preview"</p>
                    <article class="help-article help-preview" aria-labelledby="preview-label">
                        // Not a heading of this page: the page's own are around it.
                        <p class="help-preview-title">{move || editor.title.get()}</p>
                        {move || match preview.get() {
                            Some(Ok(html)) => Either::Left(view! {
                                // The server's rendering: HTML in the text stays text.
                                <div class="help-body" inner_html=html></div>
                            }),
                            Some(Err(e)) => Either::Right(view! {
                                <p class="form-problem">{refusal(e)}</p>
                            }),
                            None => Either::Right(view! { <p class="team-hint">"…"</p> }),
                        }}
                    </article>
                </div>
            </div>
            <div class="help-editor-actions">
                <button type="button" class="button-primary" disabled=move || editor.busy.get()
                    on:click=move |_| save.run(true)>
                    {move || if editor.published.get() { "Update" } else { "Publish" }}
                </button>
                <button type="button" class="button-quiet" disabled=move || editor.busy.get()
                    on:click=move |_| save.run(false)>
                    {move || if editor.published.get() { "Unpublish" } else { "Save draft" }}
                </button>
                {move || editor.url.get().filter(|_| editor.published.get()).map(|url| view! {
                    <a class="button-quiet" href=url target="_blank" rel="noopener">
                        "View"<span class="sr-only">" the article (opens in a new tab)"</span>
                    </a>
                })}
                <Show when=move || editor.id.get().is_some()>
                    <button type="button" class="button-quiet danger" disabled=move || editor.busy.get()
                        on:click=move |ev| delete.run(ev)>"Delete"</button>
                </Show>
            </div>
            {move || editor.said.get().map(|(text, problem)| if problem {
                Either::Left(view! { <p class="form-problem" role="alert">{text}</p> })
            } else {
                Either::Right(view! { <p class="form-success" role="status">{text}</p> })
            })}
            <History editor />
        </section>
    }
}

/// The article's saved versions; restoring one puts it in the editor (it
/// is saved only when the admin saves).
#[component]
fn History(editor: Editor) -> impl IntoView {
    move || {
        let history = editor.history.get();
        (!history.is_empty()).then(|| {
            view! {
                <details class="help-history">
                    <summary>{match history.len() {
                        1 => "History (1 version)".to_owned(),
                        n => format!("History ({n} versions)"),
                    }}</summary>
                    <ol>
                        {history.into_iter().map(|revision| {
                            let who = revision.saved_by.clone().unwrap_or_else(|| "A former teammate".into());
                            let state = if revision.published { "published" } else { "draft" };
                            let when = format_full(revision.saved_at);
                            let label = format!("Restore the version of {when}");
                            view! {
                                <li>
                                    <span>{when} " · " {who} " · " {state}</span>
                                    <button type="button" class="link-button"
                                        aria-label=label
                                        on:click=move |_| {
                                        editor.title.set(revision.title.clone());
                                        editor.collection.set(revision.collection.clone());
                                        editor.body.set(revision.body.clone());
                                        editor.said.set(Some((
                                            "That version is in the editor: save to keep it.".into(),
                                            false,
                                        )));
                                    }>"Restore"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                </details>
            }
        })
    }
}
