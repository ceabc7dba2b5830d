//! Articles' Markdown: rendered to HTML for reading, and read as plain text
//! for search, descriptions and the assistant's passages.
//!
//! The parser is pulldown-cmark (CommonMark, with tables, strikethrough and
//! task lists). Its output is safe to put in a page as it is, which is why
//! the article views may set it as HTML:
//! - raw HTML in an article (`<script>`, `<img onerror=…>`, comments) is
//!   shown as the literal text it is, never passed through;
//! - links keep only `http:`, `https:`, `mailto:` and same-site addresses
//!   (a `javascript:` link becomes its text), and carry `rel="nofollow
//!   noopener noreferrer"`;
//! - pictures show only from this server (`/…`); any other becomes a link;
//! - every text and attribute is escaped by the renderer.

use pulldown_cmark::{
    Alignment, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};

/// Longest passage the assistant and the search read, in characters: a
/// section longer than this is cut at paragraph ends.
pub const PASSAGE_CHARS: usize = 700;

/// How many characters of an article's start describe it to search engines.
const DESCRIPTION_CHARS: usize = 160;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Whether a link may point there: the web, email, or this site.
fn safe_link(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    // Browsers read `/\host` and `\\host` as `//host`: another site.
    if lower.contains('\\') {
        return false;
    }
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
    {
        return true;
    }
    // Same-site paths and anchors, never a protocol-relative `//host`.
    (lower.starts_with('/') && !lower.starts_with("//"))
        || lower.starts_with('#')
        || !lower.contains(':')
}

/// Escapes text for an HTML attribute value in double quotes.
fn attribute(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The article's HTML (see the module's doc for what it lets through).
pub fn render(markdown: &str) -> String {
    // What each open link or picture became, to close it the same way.
    #[derive(Clone, Copy)]
    enum Opened {
        Kept,
        Dropped,
        PictureAsLink,
    }
    let mut links: Vec<Opened> = Vec::new();
    let events = Parser::new_ext(markdown, options()).map(|event| match event {
        // Raw HTML is text: shown, never run.
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::HtmlBlock) | Event::End(TagEnd::HtmlBlock) => {
            Event::Text(CowStr::Borrowed(""))
        }
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            ..
        }) => {
            // An autolinked address (`<help@shop.test>`) comes without its scheme.
            let dest_url = if link_type == LinkType::Email {
                CowStr::from(format!("mailto:{dest_url}"))
            } else {
                dest_url
            };
            if safe_link(&dest_url) {
                links.push(Opened::Kept);
                let title = if title.is_empty() {
                    String::new()
                } else {
                    format!(" title=\"{}\"", attribute(&title))
                };
                // A new tab: inside the embedded messenger, a link must not
                // replace the chat.
                Event::Html(CowStr::from(format!(
                    "<a href=\"{}\"{title} target=\"_blank\" rel=\"nofollow noopener noreferrer\">",
                    attribute(&dest_url)
                )))
            } else {
                links.push(Opened::Dropped);
                Event::Text(CowStr::Borrowed(""))
            }
        }
        Event::End(TagEnd::Link) => match links.pop() {
            Some(Opened::Kept) => Event::Html(CowStr::Borrowed("</a>")),
            _ => Event::Text(CowStr::Borrowed("")),
        },
        Event::Start(Tag::Image {
            dest_url, title, ..
        }) => {
            let url = dest_url.trim_start();
            if url.starts_with('/') && !url.starts_with("//") {
                links.push(Opened::Kept);
                Event::Start(Tag::Image {
                    link_type: pulldown_cmark::LinkType::Inline,
                    dest_url,
                    title,
                    id: CowStr::Borrowed(""),
                })
            } else if safe_link(url) && url.contains(':') {
                links.push(Opened::PictureAsLink);
                Event::Html(CowStr::from(format!(
                    "<a href=\"{}\" target=\"_blank\" rel=\"nofollow noopener noreferrer\">",
                    attribute(url)
                )))
            } else {
                links.push(Opened::Dropped);
                Event::Text(CowStr::Borrowed(""))
            }
        }
        Event::End(TagEnd::Image) => match links.pop() {
            Some(Opened::Kept) => Event::End(TagEnd::Image),
            Some(Opened::PictureAsLink) => Event::Html(CowStr::Borrowed("</a>")),
            _ => Event::Text(CowStr::Borrowed("")),
        },
        // The page's title is the one `h1`: the article's headings start at `h2`.
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: demoted(level),
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(demoted(level))),
        // Column alignment would be an inline `style`, which the pages'
        // Content-Security-Policy refuses.
        Event::Start(Tag::Table(columns)) => {
            Event::Start(Tag::Table(vec![Alignment::None; columns.len()]))
        }
        other => other,
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

fn demoted(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H2,
        other => other,
    }
}

/// One section of an article as text: its heading and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub text: String,
}

/// The article as text, section by section (the text before the first
/// heading is under `title`). Paragraphs and list items end with a newline.
pub fn sections(title: &str, markdown: &str) -> Vec<Section> {
    let mut sections = vec![Section {
        heading: title.to_owned(),
        text: String::new(),
    }];
    let mut in_heading = false;
    let mut heading = String::new();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                in_heading = true;
                heading.clear();
            }
            Event::End(TagEnd::Heading(_)) => {
                in_heading = false;
                sections.push(Section {
                    heading: heading.trim().to_owned(),
                    text: String::new(),
                });
            }
            Event::Text(text) | Event::Code(text) | Event::Html(text) | Event::InlineHtml(text) => {
                if in_heading {
                    heading.push_str(&text);
                } else if let Some(section) = sections.last_mut() {
                    section.text.push_str(&text);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if in_heading {
                    heading.push(' ');
                } else if let Some(section) = sections.last_mut() {
                    section.text.push(' ');
                }
            }
            Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::CodeBlock | TagEnd::TableRow) => {
                if let Some(section) = sections.last_mut()
                    && !section.text.ends_with('\n')
                {
                    section.text.push('\n');
                }
            }
            Event::End(TagEnd::TableCell) => {
                if let Some(section) = sections.last_mut() {
                    section.text.push_str(" | ");
                }
            }
            _ => {}
        }
    }
    sections
        .into_iter()
        .map(|s| Section {
            heading: s.heading,
            text: s.text.trim().to_owned(),
        })
        .filter(|s| !s.text.is_empty())
        .collect()
}

/// The passages the search and the assistant read: each section, cut at
/// paragraph ends where it is longer than [`PASSAGE_CHARS`].
pub fn passages(title: &str, markdown: &str) -> Vec<Section> {
    let mut out = Vec::new();
    for section in sections(title, markdown) {
        let mut current = String::new();
        for paragraph in section.text.split('\n') {
            let paragraph = paragraph.trim();
            if paragraph.is_empty() {
                continue;
            }
            if !current.is_empty()
                && current.chars().count() + paragraph.chars().count() > PASSAGE_CHARS
            {
                out.push(Section {
                    heading: section.heading.clone(),
                    text: std::mem::take(&mut current),
                });
            }
            if !current.is_empty() {
                current.push('\n');
            }
            // A paragraph longer than a passage becomes several, cut at words.
            let mut rest = paragraph;
            while rest.chars().count() > PASSAGE_CHARS {
                let (head, tail) = split_at_word(rest, PASSAGE_CHARS);
                current.push_str(head);
                out.push(Section {
                    heading: section.heading.clone(),
                    text: std::mem::take(&mut current),
                });
                rest = tail;
            }
            current.push_str(rest);
        }
        if !current.is_empty() {
            out.push(Section {
                heading: section.heading,
                text: current,
            });
        }
    }
    out
}

/// `text` split after at most `chars` characters, at the last space
/// there (or mid-word when there is none); the rest trimmed.
fn split_at_word(text: &str, chars: usize) -> (&str, &str) {
    let end = text
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(at, _)| at);
    let at = match text[..end].rfind(char::is_whitespace) {
        Some(space) if space > 0 => space,
        _ => end,
    };
    (text[..at].trim_end(), text[at..].trim_start())
}

/// The start of `text`, at most `chars` characters, cut at a word, with
/// "…" when cut.
pub fn cut(text: &str, chars: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let head: String = text.chars().take(chars).collect();
    let head = match head.rfind(char::is_whitespace) {
        Some(at) if at > chars / 2 => &head[..at],
        _ => head.as_str(),
    };
    format!("{}…", head.trim_end())
}

/// What an article is about, for search engines: its first words.
pub fn description(title: &str, markdown: &str) -> String {
    let text = sections(title, markdown)
        .into_iter()
        .map(|s| s.text)
        .collect::<Vec<_>>()
        .join(" ");
    cut(&text.replace('\n', " "), DESCRIPTION_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_markdown_renders_as_text() {
        let html = render(
            "<script>alert(1)</script>\n\nHi <img src=x onerror=alert(2)> there\n\n\
             [click](javascript:alert(3)) [ok](https://example.com \"t\\\"x\") \
             [mail](mailto:a@b.c) [local](/help/x)\n\n![p](https://evil.test/p.png) ![q](/files/1/q.png)\n\n\
             <!-- a comment --> [data](data:text/html,<b>x</b>) [proto](//evil.test)",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img src=\"x\""), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("href=\"data:"), "{html}");
        assert!(!html.contains("href=\"//evil"), "{html}");
        assert!(!html.contains("<!--"), "{html}");
        assert!(
            html.contains(
                "<a href=\"https://example.com\" title=\"t&quot;x\" target=\"_blank\" rel=\"nofollow noopener noreferrer\">ok</a>"
            ),
            "{html}"
        );
        assert!(html.contains("href=\"mailto:a@b.c\""), "{html}");
        assert!(html.contains("href=\"/help/x\""), "{html}");
        // Autolinked addresses keep their scheme; backslashes lead nowhere.
        let more = render(
            "<help@shop.test> [a](/\\evil.test) [b](\\\\evil.test)\n\n| a | b |\n|:--|--:|\n| 1 | 2 |",
        );
        assert!(more.contains("href=\"mailto:help@shop.test\""), "{more}");
        assert!(!more.contains("evil.test\""), "{more}");
        assert!(!more.contains("style="), "{more}");
        // A picture from elsewhere is a link; one from this server shows.
        assert!(!html.contains("<img src=\"https://evil.test"), "{html}");
        assert!(html.contains("href=\"https://evil.test/p.png\""), "{html}");
        assert!(html.contains("<img src=\"/files/1/q.png\""), "{html}");
        // The link text stays, without the link.
        assert!(html.contains("click"), "{html}");
    }

    #[test]
    fn headings_start_below_the_pages_title() {
        let html = render("# Big\n\n## Smaller\n\ntext");
        assert!(html.contains("<h2>Big</h2>"), "{html}");
        assert!(html.contains("<h2>Smaller</h2>"), "{html}");
        assert!(!html.contains("<h1"), "{html}");
    }

    #[test]
    fn passages_follow_the_headings_and_stay_short() {
        let long = "word ".repeat(400);
        let md = format!(
            "We ship fast.\n\n## Canada\n\nShipping to Canada costs **$12**.\n\n- takes 5 days\n- tracked\n\n## Long\n\n{long}\n\nTail."
        );
        let passages = passages("Shipping", &md);
        assert_eq!(passages[0].heading, "Shipping");
        assert_eq!(passages[0].text, "We ship fast.");
        assert_eq!(passages[1].heading, "Canada");
        assert_eq!(
            passages[1].text,
            "Shipping to Canada costs $12.\ntakes 5 days\ntracked"
        );
        assert!(passages[2..].iter().all(|p| p.heading == "Long"));
        // Nothing of the long paragraph is lost.
        let words: usize = passages[2..]
            .iter()
            .map(|p| p.text.matches("word").count())
            .sum();
        assert_eq!(words, 400);
        assert!(
            passages
                .iter()
                .all(|p| p.text.chars().count() <= PASSAGE_CHARS + 1)
        );
        assert!(passages.last().unwrap().text.ends_with("word\nTail."));
    }

    #[test]
    fn descriptions_are_the_first_words() {
        let d = description(
            "T",
            &format!("Intro *here*.\n\n## H\n\n{}", "more ".repeat(80)),
        );
        assert!(d.starts_with("Intro here. more"), "{d}");
        assert!(d.chars().count() <= DESCRIPTION_CHARS + 1);
        assert!(d.ends_with('…'));
    }
}
