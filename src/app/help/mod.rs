//! `/help`: the public help center. Server-rendered whole before it is sent
//! (titles and descriptions in the page's head for search engines), and
//! readable without the page's script: its search box is a plain form.
//!
//! - `/help` — every collection with its articles; `/help?q=…` searches.
//! - `/help/<collection>` — one collection.
//! - `/help/<collection>/<slug>` — one article.
//!
//! The server functions here are also what the messenger's "Search for
//! help" (`messenger`) reads. They are public: they only ever return
//! published articles.

pub mod messenger;

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::app::components::{Glyph, Icon};
use crate::help::{ArticleHit, ArticlePage, Collection};

/// The server's state, for the public server functions.
#[cfg(feature = "ssr")]
fn state() -> Result<crate::server::AppState, ServerFnError> {
    use_context::<crate::server::AppState>()
        .ok_or_else(|| ServerFnError::new("server state missing from context"))
}

#[cfg(feature = "ssr")]
fn unavailable(err: crate::server::store::StoreError) -> ServerFnError {
    tracing::error!(%err, "could not read the help center");
    ServerFnError::new("The help center could not be read just now. Try again in a moment.")
}

/// The help center's front page (or one collection's), or the results of
/// a search when `query` is given.
#[server]
pub async fn help_home(
    collection: Option<String>,
    query: Option<String>,
) -> Result<(Vec<Collection>, Option<Vec<ArticleHit>>), ServerFnError> {
    let state = state()?;
    let store = &state.store;
    match query.filter(|q| !q.trim().is_empty()) {
        Some(q) => {
            let results = crate::server::help::search(store, &q)
                .await
                .map_err(unavailable)?;
            Ok((Vec::new(), Some(results)))
        }
        None => {
            let collections = crate::server::help::collections(store, collection.as_deref())
                .await
                .map_err(unavailable)?;
            Ok((collections, None))
        }
    }
}

/// Published articles matching what a visitor types (the messenger's search).
#[server]
pub async fn help_search(query: String) -> Result<Vec<ArticleHit>, ServerFnError> {
    let state = state()?;
    crate::server::help::search(&state.store, &query)
        .await
        .map_err(unavailable)
}

/// A published article by its slug.
#[server]
pub async fn help_article(slug: String) -> Result<Option<ArticlePage>, ServerFnError> {
    let state = state()?;
    crate::server::help::page(&state.store, &slug)
        .await
        .map_err(unavailable)
}

/// A published article by id (the messenger opens a result so).
#[server]
pub async fn help_article_by_id(id: i64) -> Result<Option<ArticlePage>, ServerFnError> {
    let state = state()?;
    crate::server::help::page_by_id(&state.store, id)
        .await
        .map_err(unavailable)
}

/// The company's name, as the messenger shows it.
fn team_name() -> String {
    crate::client::look::initial().team_name
}

/// Answers 404 for a page that is not there (an unpublished article too).
fn not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
}

/// The band at the top: the help center's name and its search box (a
/// plain GET form: it works before and without the page's script).
#[component]
fn HelpHeader(query: String) -> impl IntoView {
    view! {
        <header class="help-header">
            <div class="help-header-inner">
                <a class="help-brand" href="/help" rel="external">{team_name()} " Help Center"</a>
                <form class="help-search" action="/help" method="get" role="search">
                    <label class="sr-only" for="help-q">"Search for help"</label>
                    <input id="help-q" name="q" type="search" value=query
                        placeholder="Search for help…" maxlength=crate::help::MAX_QUERY_CHARS />
                    <button type="submit" class="help-search-button" aria-label="Search">
                        <Icon glyph=Glyph::Search />
                    </button>
                </form>
            </div>
        </header>
    }
}

/// "Still need help?" under every page: the messenger, as a page.
#[component]
fn StillNeedHelp() -> impl IntoView {
    view! {
        <aside class="help-contact">
            <p>"Still need help?"</p>
            <a class="button-primary" href="/messenger" rel="external">
                <Icon glyph=Glyph::Chat /> " Chat with us"
            </a>
        </aside>
    }
}

/// A list of articles with the start of each.
#[component]
pub fn ArticleList(hits: Vec<ArticleHit>) -> impl IntoView {
    view! {
        <ul class="help-list">
            {hits.into_iter().map(|hit| view! {
                <li>
                    <a href=hit.url rel="external">
                        <span class="help-list-title">{hit.title}</span>
                        <span class="help-list-snippet">{hit.snippet}</span>
                    </a>
                </li>
            }).collect_view()}
        </ul>
    }
}

/// `/help` and `/help/<collection>`.
#[component]
pub fn HelpPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let asked = move || {
        (
            params.with(|p| p.get("collection")),
            query.with(|q| q.get("q").filter(|q| !q.trim().is_empty())),
        )
    };
    let page = Resource::new(asked, |(collection, q)| help_home(collection, q));
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let (collection, q) = asked();
                let title = match (&q, &collection) {
                    (Some(q), _) => format!("Search: {q} — {} Help Center", team_name()),
                    _ => format!("{} Help Center", team_name()),
                };
                let body = match page.await {
                    Ok((_, Some(results))) => {
                        let said = q.clone().unwrap_or_default();
                        EitherOf3::A(view! {
                            <h1>"Results for “" {said} "”"</h1>
                            {if results.is_empty() {
                                Either::Left(view! {
                                    <p class="help-empty">"No articles match. Try other words, or ask us in the chat."</p>
                                })
                            } else {
                                Either::Right(view! { <ArticleList hits=results /> })
                            }}
                        })
                    }
                    Ok((collections, None)) => {
                        if collection.is_some() && collections.is_empty() {
                            not_found();
                        }
                        EitherOf3::B(view! { <Collections collections single=collection.is_some() /> })
                    }
                    Err(e) => EitherOf3::C(view! {
                        <p class="form-problem" role="alert">{e.to_string()}</p>
                    }),
                };
                view! {
                    <Title text=crate::app::live_title(move || title.clone()) />
                    <Meta name="description" content=format!("Answers from the {} team: guides and common questions.", team_name()) />
                    <HelpHeader query=q.unwrap_or_default() />
                    <main class="help">
                        {body}
                        <StillNeedHelp />
                    </main>
                }
            })}
        </Suspense>
    }
}

#[component]
fn Collections(collections: Vec<Collection>, single: bool) -> impl IntoView {
    if collections.is_empty() {
        return Either::Left(view! {
            <h1>"Help Center"</h1>
            <p class="help-empty">"There are no articles here yet. Ask us in the chat: we're happy to help."</p>
        });
    }
    let heading = if single {
        collections[0].name.clone()
    } else {
        "How can we help?".to_owned()
    };
    Either::Right(view! {
        {single.then(|| view! {
            <nav class="help-crumbs" aria-label="Breadcrumb">
                <a href="/help" rel="external">"All collections"</a>
            </nav>
        })}
        <h1>{heading}</h1>
        {collections.into_iter().map(|c| view! {
            <section class="help-collection" aria-label=c.name.clone()>
                {(!single).then(|| view! {
                    <h2><a href=c.url.clone() rel="external">{c.name.clone()}</a></h2>
                })}
                <ArticleList hits=c.articles />
            </section>
        }).collect_view()}
    })
}

/// `/help/<collection>/<slug>`.
#[component]
pub fn HelpArticlePage() -> impl IntoView {
    let params = use_params_map();
    // The slug alone finds it: the collection's part of the address may be
    // an older one (the article moved).
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let article = Resource::new(slug, help_article);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match article.await {
                    Ok(Some(article)) => Either::Left(view! {
                        <Title text=crate::app::live_title({
                            let title = format!("{} — {} Help Center", article.title, team_name());
                            move || title.clone()
                        }) />
                        <Meta name="description" content=article.description.clone() />
                        <HelpHeader query=String::new() />
                        <main class="help">
                            <nav class="help-crumbs" aria-label="Breadcrumb">
                                <a href="/help" rel="external">"All collections"</a>
                                " › "
                                <a href=article.collection_url.clone() rel="external">{article.collection.clone()}</a>
                            </nav>
                            <ArticleBody article />
                            <StillNeedHelp />
                        </main>
                    }),
                    Ok(None) => {
                        not_found();
                        Either::Right(view! {
                            <Title text="Article not found" />
                            <HelpHeader query=String::new() />
                            <main class="help">
                                <h1>"This article is not here"</h1>
                                <p>"It may have moved or been unpublished. "
                                    <a href="/help" rel="external">"See every article"</a> "."</p>
                                <StillNeedHelp />
                            </main>
                        })
                    }
                    Err(e) => Either::Right(view! {
                        <Title text="Help Center" />
                        <HelpHeader query=String::new() />
                        <main class="help">
                            <p class="form-problem" role="alert">{e.to_string()}</p>
                        </main>
                    }),
                }
            })}
        </Suspense>
    }
}

/// An article's title and body. The body is the server's rendering of the
/// article's Markdown, which shows any HTML written in it as text and
/// keeps only safe links (`server::help::markdown`): the one place a
/// page sets HTML it did not build itself.
#[component]
pub fn ArticleBody(article: ArticlePage) -> impl IntoView {
    view! {
        <article class="help-article">
            <h1>{article.title}</h1>
            <div class="help-body" inner_html=article.html></div>
        </article>
    }
}
