//! The help center: articles admins write (drafts, publishing, history),
//! their public pages and search, and the passages the assistant answers
//! from.
//!
//! - `markdown` — rendering an article safely, and reading it as text
//!   (sections, passages, a description).
//! - `retrieve` — the words of a question, and whether a passage is about it.
//! - `fixture` — a help center read from Markdown files (the evaluation set).
//!
//! The UI reaches these through thin server functions (`app::help`); the
//! assistant calls [`ground`] before it writes.

pub mod fixture;
pub mod markdown;
pub mod retrieve;

use std::collections::HashMap;

use crate::help::{
    ArticleDraft, ArticleHit, ArticlePage, ArticleRow, Collection, MAX_QUERY_CHARS, Revision,
    SEARCH_RESULTS, check_draft, collection_url,
};
use crate::protocol::{AgentId, Source};
use crate::server::store::{NewPassage, PassageHit, Store, StoreError, StoredArticle};

/// How many passages the index is asked for per question (the best of
/// them that hold enough of it, by [`retrieve::coverage`], are kept).
const CANDIDATES: i64 = 12;

/// Most passages put in front of the model: the best two (a small model
/// answers from what it reads first; more only distracts it), well within
/// SmolLM2's 2,048-token window beside the conversation and the answer.
pub const PASSAGES_IN_PROMPT: usize = 2;

/// How long a search result's snippet is, in characters.
const SNIPPET_CHARS: usize = 180;

/// Why an article could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum HelpError {
    #[error("{0}")]
    Invalid(String),
    #[error("That article no longer exists: it may have been deleted.")]
    Gone,
    #[error("The article could not be saved: {0}")]
    Store(#[from] StoreError),
}

/// Saves an article (checked first); a published one becomes searchable
/// in the same commit.
pub async fn save(
    store: &Store,
    draft: &ArticleDraft,
    by: Option<AgentId>,
) -> Result<ArticleRow, HelpError> {
    check_draft(draft).map_err(HelpError::Invalid)?;
    let sections = markdown::passages(draft.title.trim(), &draft.body);
    let passages: Vec<NewPassage> = sections
        .iter()
        .map(|s| NewPassage {
            heading: &s.heading,
            text: &s.text,
        })
        .collect();
    let saved = store
        .save_article(draft, &passages, by)
        .await?
        .ok_or(HelpError::Gone)?;
    Ok(saved.row())
}

/// Every article for the admins' list, drafts included.
pub async fn list(store: &Store) -> Result<Vec<ArticleRow>, StoreError> {
    Ok(store
        .articles(false)
        .await?
        .iter()
        .map(StoredArticle::row)
        .collect())
}

/// An article as the editor loads it, with its history.
pub async fn edit(
    store: &Store,
    id: i64,
) -> Result<Option<(ArticleDraft, ArticleRow, Vec<Revision>)>, StoreError> {
    let Some(article) = store.article(id).await? else {
        return Ok(None);
    };
    let draft = ArticleDraft {
        id: Some(article.id),
        title: article.title.clone(),
        collection: article.collection.clone(),
        body: article.body.clone(),
        published: article.published,
    };
    let revisions = store.revisions(id).await?;
    Ok(Some((draft, article.row(), revisions)))
}

/// A published article, rendered, by its slug (its collection's part of
/// the address may be an older one).
pub async fn page(store: &Store, slug: &str) -> Result<Option<ArticlePage>, StoreError> {
    Ok(store.published_article(slug).await?.map(|a| rendered(&a)))
}

/// A published article by id, rendered (the messenger opens results so).
pub async fn page_by_id(store: &Store, id: i64) -> Result<Option<ArticlePage>, StoreError> {
    Ok(store
        .article(id)
        .await?
        .filter(|a| a.published)
        .map(|a| rendered(&a)))
}

fn rendered(article: &StoredArticle) -> ArticlePage {
    ArticlePage {
        id: article.id,
        title: article.title.clone(),
        collection: article.collection.clone(),
        collection_url: collection_url(&article.collection_slug),
        url: article.url(),
        description: markdown::description(&article.title, &article.body),
        html: markdown::render(&article.body),
        updated_at: article.updated_at,
    }
}

/// The published articles by collection (the help center's front page),
/// or only those of one collection.
pub async fn collections(store: &Store, only: Option<&str>) -> Result<Vec<Collection>, StoreError> {
    let openings: HashMap<i64, String> = store.article_openings().await?.into_iter().collect();
    let mut collections: Vec<Collection> = Vec::new();
    for article in store.articles(true).await? {
        if only.is_some_and(|c| c != article.collection_slug) {
            continue;
        }
        let hit = ArticleHit {
            id: article.id,
            title: article.title.clone(),
            collection: article.collection.clone(),
            url: article.url(),
            snippet: openings
                .get(&article.id)
                .map(|t| markdown::cut(&t.replace('\n', " "), SNIPPET_CHARS))
                .unwrap_or_default(),
        };
        match collections.last_mut() {
            Some(c) if c.name == article.collection => c.articles.push(hit),
            _ => collections.push(Collection {
                name: article.collection.clone(),
                url: collection_url(&article.collection_slug),
                articles: vec![hit],
            }),
        }
    }
    Ok(collections)
}

/// Published articles matching what a visitor typed, best first, each
/// once, with the passage that matched as its snippet.
pub async fn search(store: &Store, query: &str) -> Result<Vec<ArticleHit>, StoreError> {
    let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
    let terms = retrieve::terms(&query);
    let mut hits: Vec<ArticleHit> = Vec::new();
    for passage in store.search_passages(&terms, CANDIDATES * 2).await? {
        if hits.iter().any(|h| h.id == passage.article_id) {
            continue;
        }
        hits.push(ArticleHit {
            id: passage.article_id,
            title: passage.title,
            collection: passage.collection,
            url: passage.url,
            snippet: markdown::cut(&passage.text.replace('\n', " "), SNIPPET_CHARS),
        });
        if hits.len() == SEARCH_RESULTS {
            break;
        }
    }
    Ok(hits)
}

/// What the help center says about a question: the best passages that are
/// about it (at most [`PASSAGES_IN_PROMPT`]), best first. Empty when
/// nothing is: then the assistant says it does not know.
pub async fn ground(store: &Store, question: &str) -> Result<Vec<PassageHit>, StoreError> {
    let terms = retrieve::terms(question);
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let found = store.search_passages(&terms, CANDIDATES).await?;
    if found.is_empty() {
        return Ok(found);
    }
    let (total, holding) = store.term_matches(&terms).await?;
    let weights = retrieve::weights(total, &holding.iter().map(Vec::len).collect::<Vec<_>>());
    Ok(found
        .into_iter()
        .filter(|p| {
            retrieve::coverage(&weights, |i| holding[i].contains(&p.id)) >= retrieve::ENOUGH
        })
        .take(PASSAGES_IN_PROMPT)
        .collect())
}

/// The articles passages came from, each once, in order: an answer's
/// sources.
pub fn sources(passages: &[PassageHit]) -> Vec<Source> {
    let mut sources: Vec<Source> = Vec::new();
    for passage in passages {
        if !sources.iter().any(|s| s.url == passage.url) {
            sources.push(Source {
                title: passage.title.clone(),
                url: passage.url.clone(),
            });
        }
    }
    sources
}
