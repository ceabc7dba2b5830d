//! The help center as both sides see it: articles, search results, an
//! answer's sources, the limits on what admins write, and where an article
//! lives (`/help/<collection>/<slug>`).
//!
//! The server keeps the articles and renders their Markdown
//! (`server::help`); the public pages, the messenger's "Search for help" and
//! the admins' editor read these types through server functions.

use serde::{Deserialize, Serialize};

use crate::protocol::Timestamp;

/// Longest article title, in characters.
pub const MAX_TITLE_CHARS: usize = 160;

/// Longest collection name, in characters.
pub const MAX_COLLECTION_CHARS: usize = 60;

/// Largest article body, in bytes of Markdown.
pub const MAX_BODY_BYTES: usize = 100_000;

/// Longest search query read, in characters (the rest is ignored).
pub const MAX_QUERY_CHARS: usize = 200;

/// Most results a help search returns.
pub const SEARCH_RESULTS: usize = 8;

/// A published article in a list or a search result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleHit {
    pub id: i64,
    pub title: String,
    pub collection: String,
    /// `/help/<collection>/<slug>`.
    pub url: String,
    /// The start of the passage that matched (or of the article), as text.
    pub snippet: String,
}

/// A published article, ready to read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticlePage {
    pub id: i64,
    pub title: String,
    pub collection: String,
    pub collection_url: String,
    pub url: String,
    /// The first sentences as text (for search engines' snippets).
    pub description: String,
    /// The body rendered by the server's Markdown renderer, which never
    /// passes HTML through (see `server::help::markdown`).
    pub html: String,
    pub updated_at: Timestamp,
}

/// A collection and its published articles (the help center's front page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    pub name: String,
    pub url: String,
    pub articles: Vec<ArticleHit>,
}

/// An article as the admins' editor holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleDraft {
    /// `None` until first saved.
    pub id: Option<i64>,
    pub title: String,
    pub collection: String,
    /// Markdown.
    pub body: String,
    pub published: bool,
}

/// A row of the admins' article list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleRow {
    pub id: i64,
    pub title: String,
    pub collection: String,
    pub published: bool,
    pub updated_at: Timestamp,
    pub url: String,
}

/// One saved version of an article.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub id: i64,
    pub title: String,
    pub collection: String,
    pub body: String,
    pub published: bool,
    pub saved_at: Timestamp,
    /// The teammate who saved it (gone if they were removed).
    pub saved_by: Option<String>,
}

/// The URL-safe form of a title or collection name: lowercase ASCII
/// letters and digits joined by single hyphens ("Orders & returns" →
/// "orders-returns"); accented Latin letters lose their accents. Never
/// empty.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = fold_accent(c);
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 80 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "article".to_owned()
    } else {
        slug.to_owned()
    }
}

/// The plain letter of a common accented Latin one.
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// Where a published article is read.
pub fn article_url(collection_slug: &str, slug: &str) -> String {
    format!("/help/{collection_slug}/{slug}")
}

/// Where a collection is listed.
pub fn collection_url(collection_slug: &str) -> String {
    format!("/help/{collection_slug}")
}

/// Why an article cannot be saved as it is.
pub fn check_draft(draft: &ArticleDraft) -> Result<(), String> {
    let title = draft.title.trim();
    if title.is_empty() {
        return Err("Give the article a title.".into());
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!(
            "The title is too long: at most {MAX_TITLE_CHARS} characters."
        ));
    }
    // Page titles are written into the page's head as they are: no markup.
    if title.contains(['<', '>']) || draft.collection.contains(['<', '>']) {
        return Err("Titles and collection names are plain text: leave out < and >.".into());
    }
    let collection = draft.collection.trim();
    if collection.is_empty() {
        return Err("Choose a collection (for example \"Shipping\").".into());
    }
    if collection.chars().count() > MAX_COLLECTION_CHARS {
        return Err(format!(
            "The collection's name is too long: at most {MAX_COLLECTION_CHARS} characters."
        ));
    }
    if draft.body.len() > MAX_BODY_BYTES {
        return Err(format!(
            "The article is too long: at most {} KB of text.",
            MAX_BODY_BYTES / 1000
        ));
    }
    if draft.published && draft.body.trim().is_empty() {
        return Err("Write something before publishing.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_lowercase_and_never_empty() {
        assert_eq!(slugify("Orders & returns"), "orders-returns");
        assert_eq!(slugify("  Café crème — how? "), "cafe-creme-how");
        assert_eq!(slugify("<script>"), "script");
        assert_eq!(slugify("!!!"), "article");
        assert_eq!(slugify("日本"), "article");
        assert!(slugify(&"word ".repeat(100)).len() <= 80);
    }

    #[test]
    fn drafts_are_checked_before_saving() {
        let ok = ArticleDraft {
            id: None,
            title: "Returns".into(),
            collection: "Orders".into(),
            body: "Within 30 days.".into(),
            published: true,
        };
        assert!(check_draft(&ok).is_ok());
        for bad in [
            ArticleDraft {
                title: " ".into(),
                ..ok.clone()
            },
            ArticleDraft {
                collection: String::new(),
                ..ok.clone()
            },
            ArticleDraft {
                body: "x".repeat(MAX_BODY_BYTES + 1),
                ..ok.clone()
            },
            ArticleDraft {
                body: String::new(),
                ..ok.clone()
            },
            ArticleDraft {
                title: "</title><script>x</script>".into(),
                ..ok.clone()
            },
        ] {
            assert!(check_draft(&bad).is_err(), "{bad:?}");
        }
    }
}
