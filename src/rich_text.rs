//! What a message's text shows beyond letters: web links, `*bold*`,
//! `_italic_` and `` `code` ``. The text is parsed into [`Span`]s that the UI
//! draws as elements holding text; nothing in a message is ever read as
//! HTML, so `<b>` in a message stays the four characters it is.

/// A piece of a message's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    Text(String),
    /// A link to `href` (http, https or mailto only), showing `href`.
    Link(String),
    Bold(String),
    Italic(String),
    Code(String),
}

/// Schemes a link may have.
const SCHEMES: [&str; 3] = ["https://", "http://", "mailto:"];

/// Splits `text` into spans. Markers only count at word edges (so
/// `snake_case_name` and `2*3*4` stay as they are) and within one line.
pub fn parse(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut plain = String::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let at_edge = text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let found = if rest.starts_with('`') {
            code(rest)
        } else if at_edge && (rest.starts_with('*') || rest.starts_with('_')) {
            emphasis(rest)
        } else if at_edge {
            link(rest)
        } else {
            None
        };
        match found {
            Some((span, len)) => {
                if !plain.is_empty() {
                    spans.push(Span::Text(std::mem::take(&mut plain)));
                }
                spans.push(span);
                i += len;
            }
            None => {
                let c = rest.chars().next().unwrap_or(' ');
                plain.push(c);
                i += c.len_utf8();
            }
        }
    }
    if !plain.is_empty() {
        spans.push(Span::Text(plain));
    }
    spans
}

/// `` `code` `` on one line.
fn code(rest: &str) -> Option<(Span, usize)> {
    let inner = &rest[1..];
    let end = inner.find(['`', '\n'])?;
    if end == 0 || !inner[end..].starts_with('`') {
        return None;
    }
    Some((Span::Code(inner[..end].to_owned()), end + 2))
}

/// `*bold*` or `_italic_`: the marker, text that neither starts nor ends
/// with a space, the same marker at a word's end, all on one line.
fn emphasis(rest: &str) -> Option<(Span, usize)> {
    let mark = rest.chars().next()?;
    let inner = &rest[1..];
    let first = inner.chars().next()?;
    if first.is_whitespace() || first == mark {
        return None;
    }
    let line = &inner[..inner.find('\n').unwrap_or(inner.len())];
    for (at, c) in line.char_indices() {
        if c != mark || at == 0 {
            continue;
        }
        let before = line[..at].chars().next_back()?;
        let after = line[at + 1..].chars().next();
        if before.is_whitespace() || after.is_some_and(char::is_alphanumeric) {
            continue;
        }
        let content = line[..at].to_owned();
        let span = if mark == '*' {
            Span::Bold(content)
        } else {
            Span::Italic(content)
        };
        return Some((span, at + 2));
    }
    None
}

/// A link: a known scheme, then everything up to a space, less the
/// punctuation that usually ends a sentence around it.
fn link(rest: &str) -> Option<(Span, usize)> {
    let scheme = SCHEMES.iter().find(|s| {
        rest.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    })?;
    let end = rest
        .find(|c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'))
        .unwrap_or(rest.len());
    let mut href = &rest[..end];
    loop {
        let trimmed = href.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '*', '_']);
        // A closing bracket belongs to the link only if it opened one.
        let trimmed = match trimmed.chars().next_back() {
            Some(')') if trimmed.matches('(').count() < trimmed.matches(')').count() => {
                &trimmed[..trimmed.len() - 1]
            }
            Some(']') if !trimmed.contains('[') => &trimmed[..trimmed.len() - 1],
            _ => trimmed,
        };
        if trimmed.len() == href.len() {
            break;
        }
        href = trimmed;
    }
    // Trimming may have eaten into the scheme itself (`mailto:` alone).
    let after_scheme = href.get(scheme.len()..)?;
    // A host (or a mailbox) must follow: `https://` alone, `https:///x`,
    // `mailto:nobody` are no links.
    let starts_well = after_scheme
        .chars()
        .next()
        .is_some_and(char::is_alphanumeric);
    if !starts_well || (*scheme == "mailto:" && !after_scheme.contains('@')) {
        return None;
    }
    Some((Span::Link(href.to_owned()), href.len()))
}

#[cfg(test)]
mod tests {
    use super::Span::*;
    use super::*;

    fn text(s: &str) -> Span {
        Text(s.into())
    }

    #[test]
    fn links_are_found_without_the_sentence_around_them() {
        assert_eq!(
            parse("See https://example.com/a?b=1. Thanks"),
            [
                text("See "),
                Link("https://example.com/a?b=1".into()),
                text(". Thanks")
            ]
        );
        assert_eq!(
            parse("(docs: http://x.org/wiki/A_(b))"),
            [
                text("(docs: "),
                Link("http://x.org/wiki/A_(b)".into()),
                text(")")
            ]
        );
        assert_eq!(
            parse("mail mailto:ana@example.com!"),
            [
                text("mail "),
                Link("mailto:ana@example.com".into()),
                text("!")
            ]
        );
    }

    #[test]
    fn only_web_and_mail_links_are_links() {
        for hostile in [
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "file:///etc/passwd",
            "https://",
            "mailto:nobody",
            "mailto:",
            "mailto:.",
            "(mailto:)",
            "see http:// now",
        ] {
            assert!(
                !parse(hostile).iter().any(|s| matches!(s, Link(_))),
                "{hostile}"
            );
        }
        // Inside a word it is no link either.
        assert_eq!(parse("xhttps://a.b"), [text("xhttps://a.b")]);
    }

    #[test]
    fn emphasis_and_code_at_word_edges() {
        assert_eq!(
            parse("this is *very* _quite_ `x < y` ok"),
            [
                text("this is "),
                Bold("very".into()),
                text(" "),
                Italic("quite".into()),
                text(" "),
                Code("x < y".into()),
                text(" ok")
            ]
        );
        assert_eq!(parse("snake_case_name"), [text("snake_case_name")]);
        assert_eq!(parse("2*3*4"), [text("2*3*4")]);
        assert_eq!(parse("* not bold *"), [text("* not bold *")]);
        assert_eq!(parse("*across\nlines*"), [text("*across\nlines*")]);
        assert_eq!(parse("``"), [text("``")]);
    }

    #[test]
    fn markup_in_a_message_stays_text() {
        let hostile = "<img src=x onerror=alert(1)> <b>bold</b> &amp;";
        assert_eq!(parse(hostile), [text(hostile)]);
    }

    #[test]
    fn parsing_loses_no_character() {
        let samples = [
            "a *b* _c_ `d` https://e.f/g. h",
            "**double** __under__ *open",
            "émoji 🎉 *ünï* `ç`",
            "http://x.y/(a)) trailing",
        ];
        for sample in samples {
            let rebuilt: String = parse(sample)
                .into_iter()
                .map(|s| match s {
                    Text(t) | Link(t) => t,
                    Bold(t) => format!("*{t}*"),
                    Italic(t) => format!("_{t}_"),
                    Code(t) => format!("`{t}`"),
                })
                .collect();
            assert_eq!(rebuilt, sample);
        }
    }
}
