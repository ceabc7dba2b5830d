//! Reading a help center from a folder of Markdown files: the evaluation
//! set under `tests/fixtures/help` (`make eval`, the retrieval tests).
//!
//! Each article is `<slug>.md`, starting with a front matter block:
//!
//! ```text
//! ---
//! title: Shipping to Canada
//! collection: Shipping
//! ---
//! The body, in Markdown.
//! ```

use std::path::Path;

use crate::help::ArticleDraft;

/// One article read from a file: its file's slug and the draft to save
/// (published).
pub struct FixtureArticle {
    pub slug: String,
    pub draft: ArticleDraft,
}

/// Every `*.md` file of `dir`, by name.
pub fn read_articles(dir: &Path) -> Result<Vec<FixtureArticle>, String> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("could not read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("could not read {}: {e}", path.display()))?;
            let slug = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let draft = parse(&text).ok_or_else(|| {
                format!("{} has no title/collection front matter", path.display())
            })?;
            Ok(FixtureArticle { slug, draft })
        })
        .collect()
}

/// An article file's front matter and body.
fn parse(text: &str) -> Option<ArticleDraft> {
    let rest = text.strip_prefix("---\n")?;
    let (head, body) = rest.split_once("\n---\n")?;
    let field = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
    };
    Some(ArticleDraft {
        id: None,
        title: field("title")?,
        collection: field("collection")?,
        body: body.trim().to_owned(),
        published: true,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn front_matter_gives_the_title_and_collection() {
        let draft = super::parse("---\ntitle: A b\ncollection: C\n---\nBody\n").unwrap();
        assert_eq!(
            (draft.title.as_str(), draft.collection.as_str()),
            ("A b", "C")
        );
        assert_eq!(draft.body, "Body");
        assert!(super::parse("no front matter").is_none());
    }
}
