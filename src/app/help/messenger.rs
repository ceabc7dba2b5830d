//! "Search for help" on the messenger's home: published articles as the
//! visitor types, and the article they pick read right there, without
//! leaving the chat.

use leptos::prelude::*;

use super::{ArticleBody, help_article_by_id, help_search};
use crate::app::components::{Glyph, Icon};

/// Shortest query searched, in characters.
const MIN_QUERY: usize = 2;

#[component]
pub fn HelpSearch() -> impl IntoView {
    let w = crate::i18n::context::words();
    let typed = RwSignal::new(String::new());
    // Searched once typing pauses, not on every key.
    let asked = RwSignal::new(String::new());
    let pending = StoredValue::new(0u64);
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        typed.set(text.clone());
        let n = pending.get_value() + 1;
        pending.set_value(n);
        set_timeout(
            move || {
                if pending.try_get_value() == Some(n) {
                    asked.set(text.trim().to_owned());
                }
            },
            std::time::Duration::from_millis(200),
        );
    };
    let results = LocalResource::new(move || {
        let query = asked.try_get().unwrap_or_default();
        async move {
            if query.chars().count() < MIN_QUERY {
                return None;
            }
            Some(help_search(query).await)
        }
    });
    let reading = RwSignal::new(None::<i64>);
    let article = LocalResource::new(move || {
        let id = reading.try_get().flatten();
        async move {
            match id {
                Some(id) => Some(help_article_by_id(id).await),
                None => None,
            }
        }
    });
    view! {
        <div class="messenger-help">
            <Show when=move || reading.try_get().flatten().is_none()>
                <form class="messenger-help-search" role="search"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        asked.set(typed.try_get_untracked().unwrap_or_default().trim().to_owned());
                    }>
                    <label class="sr-only" for="messenger-help-q">{w.t("search-help")}</label>
                    <Icon glyph=Glyph::Search />
                    <input id="messenger-help-q" type="search" placeholder=w.t("search-help")
                        autocomplete="off" maxlength=crate::help::MAX_QUERY_CHARS
                        prop:value=move || typed.try_get().unwrap_or_default() on:input=on_input />
                </form>
                // Said once per search ("2 articles found"), not every title.
                <p class="sr-only" role="status">
                    {move || match results.try_get().flatten().flatten() {
                        Some(Ok(hits)) => w.t_with("articles-found", &[("count", hits.len().into())]),
                        _ => String::new(),
                    }}
                </p>
                <div class="messenger-help-results">
                    {move || match results.try_get().flatten().flatten() {
                        Some(Ok(hits)) if hits.is_empty() => view! {
                            <p class="messenger-help-empty">{w.t("help-no-match")}</p>
                        }.into_any(),
                        Some(Ok(hits)) => view! {
                            <ul class="messenger-help-list" aria-label=w.t("help-articles")>
                                {hits.into_iter().map(|hit| {
                                    let id = hit.id;
                                    view! {
                                        <li>
                                            <button type="button" on:click=move |_| reading.set(Some(id))>
                                                <span class="help-list-title">{hit.title}</span>
                                                <span class="help-list-snippet">{hit.snippet}</span>
                                            </button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Some(Err(_)) => view! {
                            <p class="form-problem">{w.t("help-unavailable")}</p>
                        }.into_any(),
                        None => ().into_any(),
                    }}
                </div>
            </Show>
            {move || reading.try_get().flatten().map(|_| view! {
                <div class="messenger-article">
                    <button type="button" class="link-button messenger-article-back"
                        on:click=move |_| reading.set(None)>
                        <Icon glyph=Glyph::Back /> " " {w.t("back-to-results")}
                    </button>
                    {move || match article.try_get().flatten().flatten() {
                        Some(Ok(Some(page))) => view! {
                            <a class="messenger-article-open" href=page.url.clone() target="_blank" rel="noopener">
                                {w.t("open-in-help-center")} <Icon glyph=Glyph::External />
                                <span class="sr-only">" " {w.t("opens-new-tab")}</span>
                            </a>
                            <ArticleBody article=page />
                        }.into_any(),
                        Some(Ok(None)) => view! {
                            <p>{w.t("article-unpublished")}</p>
                        }.into_any(),
                        Some(Err(_)) => view! {
                            <p class="form-problem">{w.t("help-unavailable")}</p>
                        }.into_any(),
                        None => view! { <p class="team-hint">{w.t("loading")}</p> }.into_any(),
                    }}
                </div>
            })}
        </div>
    }
}
