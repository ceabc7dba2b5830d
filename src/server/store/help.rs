//! The help center's articles: saving them with their history and
//! passages, reading them, and ranking passages on each engine's own
//! full-text index (FTS5 with English stemming; PostgreSQL's `english`
//! configuration). What a passage is and whether one answers a question is
//! `server::help`'s concern.

use sqlx::Row;

use super::engine::flag;
use super::{Engine, Store, StoreError, now};
use crate::help::{ArticleDraft, ArticleRow, Revision, article_url, slugify};
use crate::protocol::{AgentId, Timestamp};

/// Most revisions kept per article (the oldest go).
const REVISIONS_KEPT: i64 = 100;

/// A stored article with its address.
#[derive(Clone, Debug)]
pub struct StoredArticle {
    pub id: i64,
    pub collection: String,
    pub collection_slug: String,
    pub slug: String,
    pub title: String,
    pub body: String,
    pub published: bool,
    pub updated_at: Timestamp,
}

impl StoredArticle {
    pub fn url(&self) -> String {
        article_url(&self.collection_slug, &self.slug)
    }

    pub fn row(&self) -> ArticleRow {
        ArticleRow {
            id: self.id,
            title: self.title.clone(),
            collection: self.collection.clone(),
            published: self.published,
            updated_at: self.updated_at,
            url: self.url(),
        }
    }
}

/// A passage to store: a heading and its text.
pub struct NewPassage<'a> {
    pub heading: &'a str,
    pub text: &'a str,
}

/// A passage the index found, best first, with its article.
#[derive(Clone, Debug)]
pub struct PassageHit {
    /// The passage's own id.
    pub id: i64,
    pub article_id: i64,
    pub title: String,
    pub collection: String,
    pub url: String,
    pub heading: String,
    pub text: String,
}

const ARTICLE_COLUMNS: &str =
    "a.id, a.collection, a.collection_slug, a.slug, a.title, a.body, a.published, a.updated_at";

fn article_from(row: &sqlx::any::AnyRow) -> Result<StoredArticle, StoreError> {
    Ok(StoredArticle {
        id: row.try_get("id")?,
        collection: row.try_get("collection")?,
        collection_slug: row.try_get("collection_slug")?,
        slug: row.try_get("slug")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        published: flag(row, "published")?,
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

impl Store {
    /// Saves an article (new when `draft.id` is `None`) and keeps the
    /// revision; a published article's passages are replaced by
    /// `passages`, a draft's removed, in the same transaction: the search
    /// and the assistant never read a draft. `None`: no such article.
    pub async fn save_article(
        &self,
        draft: &ArticleDraft,
        passages: &[NewPassage<'_>],
        by: Option<AgentId>,
    ) -> Result<Option<StoredArticle>, StoreError> {
        let t = now().0;
        let title = draft.title.trim();
        let collection = draft.collection.trim();
        let collection_slug = slugify(collection);
        let mut tx = self.pool.begin().await?;
        let id = match draft.id {
            Some(id) => {
                // The slug stays as first chosen: links to the article keep
                // working (it is found by its slug alone).
                let updated: Option<i64> = sqlx::query_scalar(
                    "UPDATE articles SET title = $1, collection = $2, collection_slug = $3,
                         body = $4, published = $5, updated_at = $6
                     WHERE id = $7 RETURNING id",
                )
                .bind(title)
                .bind(collection)
                .bind(&collection_slug)
                .bind(&draft.body)
                .bind(draft.published)
                .bind(t)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                match updated {
                    Some(id) => id,
                    None => return Ok(None),
                }
            }
            None => {
                // The insert comes first: it takes the write lock before
                // anything is read. Slugs are unique across collections
                // ("shipping-to-canada", then "shipping-to-canada-2").
                let base = slugify(title);
                let mut n = 1;
                loop {
                    let slug = if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    };
                    let id: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO articles (collection, collection_slug, slug, title, body, published, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                         ON CONFLICT (slug) DO NOTHING
                         RETURNING id",
                    )
                    .bind(collection)
                    .bind(&collection_slug)
                    .bind(&slug)
                    .bind(title)
                    .bind(&draft.body)
                    .bind(draft.published)
                    .bind(t)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match id {
                        Some(id) => break id,
                        None => n += 1,
                    }
                }
            }
        };
        sqlx::query(
            "INSERT INTO article_revisions (article_id, collection, title, body, published, saved_at, saved_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(collection)
        .bind(title)
        .bind(&draft.body)
        .bind(draft.published)
        .bind(t)
        .bind(by.map(|a| a.0))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM article_revisions WHERE article_id = $1 AND id NOT IN
                (SELECT id FROM article_revisions WHERE article_id = $1 ORDER BY id DESC LIMIT $2)",
        )
        .bind(id)
        .bind(REVISIONS_KEPT)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM article_passages WHERE article_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if draft.published {
            for (position, passage) in passages.iter().enumerate() {
                match self.engine() {
                    Engine::Sqlite => {
                        let rowid: i64 = sqlx::query_scalar(
                            "INSERT INTO article_passages (article_id, position, heading, text)
                             VALUES ($1, $2, $3, $4) RETURNING id",
                        )
                        .bind(id)
                        .bind(position as i64)
                        .bind(passage.heading)
                        .bind(passage.text)
                        .fetch_one(&mut *tx)
                        .await?;
                        sqlx::query(
                            "INSERT INTO article_passages_search (rowid, title, heading, text)
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(rowid)
                        .bind(title)
                        .bind(passage.heading)
                        .bind(passage.text)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Engine::Postgres => {
                        sqlx::query(
                            "INSERT INTO article_passages (article_id, position, title, heading, text)
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(id)
                        .bind(position as i32)
                        .bind(title)
                        .bind(passage.heading)
                        .bind(passage.text)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
        }
        let row = sqlx::query(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id = $1"
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let article = article_from(&row)?;
        tx.commit().await?;
        Ok(Some(article))
    }

    /// Removes an article, its history and passages; whether it existed.
    pub async fn delete_article(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM articles WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// An article, draft or published.
    pub async fn article(&self, id: i64) -> Result<Option<StoredArticle>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(article_from).transpose()
    }

    /// A published article by its slug (unique across collections: an
    /// address keeps working after the article moves to another
    /// collection, as do the sources of answers that named it).
    pub async fn published_article(&self, slug: &str) -> Result<Option<StoredArticle>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.slug = $1 AND a.published = TRUE"
        ))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(article_from).transpose()
    }

    /// Every article (the admins' list: drafts too), or only the published
    /// ones, by collection then title.
    pub async fn articles(&self, published_only: bool) -> Result<Vec<StoredArticle>, StoreError> {
        let filter = if published_only {
            " WHERE a.published = TRUE"
        } else {
            ""
        };
        let rows = sqlx::query(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles a{filter}
             ORDER BY a.collection, a.title, a.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(article_from).collect()
    }

    /// An article's saved versions, newest first.
    pub async fn revisions(&self, article: i64) -> Result<Vec<Revision>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.title, r.collection, r.body, r.published, r.saved_at, a.name
             FROM article_revisions r LEFT JOIN agents a ON a.id = r.saved_by
             WHERE r.article_id = $1 ORDER BY r.id DESC",
        )
        .bind(article)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Revision {
                    id: row.try_get("id")?,
                    title: row.try_get("title")?,
                    collection: row.try_get("collection")?,
                    body: row.try_get("body")?,
                    published: flag(row, "published")?,
                    saved_at: Timestamp(row.try_get("saved_at")?),
                    saved_by: row.try_get("name")?,
                })
            })
            .collect()
    }

    /// Published passages holding any of `terms` (letters and digits
    /// only), best first by the engine's ranking: a match in the title
    /// counts most, then the heading, then the text.
    pub async fn search_passages(
        &self,
        terms: &[String],
        limit: i64,
    ) -> Result<Vec<PassageHit>, StoreError> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let (sql, query) = match self.engine() {
            Engine::Sqlite => (
                "SELECT p.id, p.article_id, a.title, a.collection, a.collection_slug, a.slug, p.heading, p.text
                 FROM (SELECT rowid, bm25(article_passages_search, 4.0, 2.0, 1.0) AS rank
                       FROM article_passages_search WHERE article_passages_search MATCH $1
                       ORDER BY rank LIMIT $2) s
                 JOIN article_passages p ON p.id = s.rowid
                 JOIN articles a ON a.id = p.article_id
                 ORDER BY s.rank, p.id",
                terms
                    .iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(" OR "),
            ),
            Engine::Postgres => (
                "SELECT p.id, p.article_id, a.title, a.collection, a.collection_slug, a.slug, p.heading, p.text
                 FROM article_passages p JOIN articles a ON a.id = p.article_id
                 WHERE p.search @@ to_tsquery('english', $1)
                 ORDER BY ts_rank(p.search, to_tsquery('english', $1)) DESC, p.id LIMIT $2",
                terms
                    .iter()
                    .map(|t| format!("'{t}'"))
                    .collect::<Vec<_>>()
                    .join(" | "),
            ),
        };
        let rows = sqlx::query(sql)
            .bind(query)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let collection_slug: String = row.try_get("collection_slug")?;
                let slug: String = row.try_get("slug")?;
                Ok(PassageHit {
                    id: row.try_get("id")?,
                    article_id: row.try_get("article_id")?,
                    title: row.try_get("title")?,
                    collection: row.try_get("collection")?,
                    url: article_url(&collection_slug, &slug),
                    heading: row.try_get("heading")?,
                    text: row.try_get("text")?,
                })
            })
            .collect()
    }

    /// For each of `terms`, the published passages that hold it (as the
    /// index matches words: stemmed), and how many passages there are: what
    /// tells a rare word from a common one.
    pub async fn term_matches(&self, terms: &[String]) -> Result<(i64, Vec<Vec<i64>>), StoreError> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM article_passages")
            .fetch_one(&self.pool)
            .await?;
        let sql = match self.engine() {
            Engine::Sqlite => {
                "SELECT rowid FROM article_passages_search WHERE article_passages_search MATCH $1 LIMIT 10000"
            }
            Engine::Postgres => {
                "SELECT id FROM article_passages WHERE search @@ to_tsquery('english', $1) LIMIT 10000"
            }
        };
        let mut matches = Vec::with_capacity(terms.len());
        for term in terms {
            let query = match self.engine() {
                Engine::Sqlite => format!("\"{term}\""),
                Engine::Postgres => format!("'{term}'"),
            };
            let ids: Vec<i64> = sqlx::query_scalar(sql)
                .bind(query)
                .fetch_all(&self.pool)
                .await?;
            matches.push(ids);
        }
        Ok((total, matches))
    }

    /// Whether any article is published (the assistant answers from the
    /// help center once one is).
    pub async fn has_passages(&self) -> Result<bool, StoreError> {
        let any: Option<i64> = sqlx::query_scalar("SELECT id FROM article_passages LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(any.is_some())
    }

    /// The first passage of each published article, by article (the help
    /// center's lists show its start).
    pub async fn article_openings(&self) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT p.article_id, p.text FROM article_passages p
             WHERE p.position = 0",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
