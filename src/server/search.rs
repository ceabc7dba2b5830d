//! The team's search: what an agent typed becomes terms for the engine's
//! full-text index (`store::search`), and the hits become one result per
//! conversation with a snippet that shows why, highlighted in pieces of
//! plain text (never markup built from stored text).
//!
//! Only agents search (the socket refuses visitors), and every agent may see
//! every conversation, so nothing is filtered by who asks.

use std::collections::{HashMap, HashSet};

use crate::protocol::{
    ConversationId, Highlighted, LabelId, MAX_SEARCH_CHARS, Matched, ProtocolError, SEARCH_RESULTS,
    SearchHit, SearchOrder, SearchQuery, Timestamp,
};
use crate::server::store::{MessageHit, Store, StoreError, Terms};

/// Most words of one search.
const MAX_TERMS: usize = 8;
/// Matching messages read at a time; grouped into at most `SEARCH_RESULTS`
/// conversations.
const MESSAGE_HITS: i64 = 200;
/// Pages of matching messages read (newest first) while fewer than
/// `SEARCH_RESULTS` conversations have turned up: a chatty conversation
/// full of the word does not crowd out the others, and a common word costs
/// at most this many pages.
const MESSAGE_PAGES: usize = 5;
/// Characters of context shown before the first match.
const BEFORE: usize = 60;
/// Longest snippet, in characters.
const SNIPPET: usize = 200;

/// Why a search was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Invalid(#[from] ProtocolError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The words of `text` to look for: letters and digits (how both engines
/// split words), each at least two characters as typed (a one-letter prefix
/// matches nearly everything), without repeats whatever their case. They
/// keep their case: each engine lowercases them as it lowercased what it
/// indexed (Rust's rules differ for a few letters, such as `İ` and `Σ`).
pub fn terms(text: &str) -> Terms {
    let mut terms: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let seen = terms
            .iter()
            .any(|t| t.to_lowercase() == word.to_lowercase());
        if word.chars().count() >= 2 && !seen && terms.len() < MAX_TERMS {
            terms.push(word.to_owned());
        }
    }
    Terms(terms)
}

/// One candidate before grouping: a conversation, why it matched, when.
struct Candidate {
    conversation: ConversationId,
    matched: Matched,
    at: Timestamp,
    text: String,
}

/// Runs a search: messages (and notes), visitors' names and emails, labels;
/// one result per conversation, newest or best match first.
pub async fn search(store: &Store, query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
    let text = query.text.trim();
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(ProtocolError::InvalidFrame(format!(
            "a search is at most {MAX_SEARCH_CHARS} characters"
        ))
        .into());
    }
    let terms = terms(text);
    let label_text = (text.chars().count() >= 2).then_some(text);
    let mut names = Vec::new();
    let mut messages = Vec::new();
    let mut labels = Vec::new();
    if !terms.0.is_empty() {
        messages = matching_messages(store, &terms, query).await?;
        if query.from.is_none() {
            names = store
                .search_contacts(&terms, query, SEARCH_RESULTS as i64)
                .await?;
        }
    }
    if let Some(label_text) = label_text
        && query.from.is_none()
    {
        // Labels are few: their names are compared here, with the same
        // folding as the highlight (SQLite's `lower()` knows only ASCII).
        let ids: Vec<LabelId> = store
            .labels()
            .await?
            .into_iter()
            .filter(|label| find_folded(&label.name, label_text).is_some())
            .map(|label| label.id)
            .collect();
        labels = store
            .search_labels(&ids, query, SEARCH_RESULTS as i64)
            .await?;
    }
    let named = names.into_iter().map(|hit| Candidate {
        conversation: hit.conversation,
        matched: Matched::Contact,
        at: hit.last_activity,
        text: hit.text,
    });
    let written = messages.into_iter().map(|hit| Candidate {
        conversation: hit.conversation,
        matched: Matched::Message {
            message_id: hit.message,
            sender: hit.sender,
            note: hit.internal,
        },
        at: hit.created_at,
        text: hit.body,
    });
    let labelled = labels.into_iter().map(|hit| Candidate {
        conversation: hit.conversation,
        matched: Matched::Label,
        at: hit.last_activity,
        text: hit.text,
    });
    let mut candidates: Vec<Candidate> = named.chain(written).chain(labelled).collect();
    if query.order == SearchOrder::Newest {
        // Stable: among equal times, names before messages before labels.
        candidates.sort_by_key(|c| std::cmp::Reverse(c.at));
    }
    let grouped = group(candidates);
    let ids: Vec<ConversationId> = grouped.iter().map(|(c, _)| c.conversation).collect();
    let rows: HashMap<ConversationId, _> = store
        .search_rows(&ids)
        .await?
        .into_iter()
        .map(|row| (row.conversation, row))
        .collect();
    Ok(grouped
        .into_iter()
        .filter_map(|(candidate, more)| {
            let row = rows.get(&candidate.conversation)?;
            let snippet = match candidate.matched {
                Matched::Label => highlight_within(&candidate.text, text),
                _ => snippet(&candidate.text, &terms.0),
            };
            Some(SearchHit {
                conversation_id: candidate.conversation,
                contact_name: row.contact_name.clone(),
                status: row.status,
                assignee_id: row.assignee,
                matched: candidate.matched,
                at: candidate.at,
                snippet,
                more,
            })
        })
        .collect())
}

/// The matching messages, newest (or best) first: pages of them until
/// `SEARCH_RESULTS` conversations have turned up (newest order only; best
/// order reads one page, ranked by the engine).
async fn matching_messages(
    store: &Store,
    terms: &Terms,
    query: &SearchQuery,
) -> Result<Vec<MessageHit>, StoreError> {
    let mut messages: Vec<MessageHit> = Vec::new();
    let mut conversations = HashSet::new();
    let mut before = None;
    for _ in 0..MESSAGE_PAGES {
        let page = store
            .search_messages(terms, query, before, MESSAGE_HITS)
            .await?;
        let full = page.len() as i64 == MESSAGE_HITS;
        before = page.last().map(|hit| hit.message);
        conversations.extend(page.iter().map(|hit| hit.conversation));
        messages.extend(page);
        if !full || query.order == SearchOrder::Best || conversations.len() >= SEARCH_RESULTS {
            break;
        }
    }
    Ok(messages)
}

/// The first candidate of each conversation, in order, with how many more
/// messages of it matched; at most `SEARCH_RESULTS` conversations.
fn group(candidates: Vec<Candidate>) -> Vec<(Candidate, u32)> {
    let mut seen: HashMap<ConversationId, usize> = HashMap::new();
    let mut out: Vec<(Candidate, u32)> = Vec::new();
    for candidate in candidates {
        match seen.get(&candidate.conversation) {
            Some(&at) => {
                if matches!(candidate.matched, Matched::Message { .. }) {
                    out[at].1 += 1;
                }
            }
            None if out.len() < SEARCH_RESULTS => {
                seen.insert(candidate.conversation, out.len());
                out.push((candidate, 0));
            }
            None => {}
        }
    }
    out
}

/// The words of `text` (byte ranges) that start with one of `terms`.
fn matching_words(text: &str, terms: &[String]) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    for (at, ch) in text.char_indices().chain([(text.len(), ' ')]) {
        match (ch.is_alphanumeric(), start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                let word = &text[from..at];
                if terms.iter().any(|t| starts_with_folded(word, t)) {
                    words.push((from, at));
                }
                start = None;
            }
            _ => {}
        }
    }
    words
}

/// Whether `word`, lowercased, starts with `prefix` (already lowercase).
fn starts_with_folded(word: &str, prefix: &str) -> bool {
    let mut folded = word.chars().flat_map(char::to_lowercase);
    prefix.chars().all(|p| folded.next() == Some(p))
}

/// Up to `SNIPPET` characters of `text` around its first matching word,
/// the matching words marked.
pub fn snippet(text: &str, terms: &[String]) -> Vec<Highlighted> {
    let folded: Vec<String> = terms.iter().map(|t| t.to_lowercase()).collect();
    let hits = matching_words(text, &folded);
    let first = hits.first().map_or(0, |&(start, _)| start);
    // Start `BEFORE` characters earlier, at a word's start.
    let mut from = text[..first]
        .char_indices()
        .rev()
        .nth(BEFORE.saturating_sub(1))
        .map_or(0, |(at, _)| at);
    if from > 0
        && let Some((space, blank)) = text[from..first]
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
    {
        // Past the space, however many bytes it takes (U+00A0 two, U+3000 three).
        from += space + blank.len_utf8();
    }
    let to = text[from..]
        .char_indices()
        .nth(SNIPPET)
        .map_or(text.len(), |(at, _)| from + at);
    let mut pieces = Vec::new();
    if from > 0 {
        pieces.push(plain("…"));
    }
    let mut at = from;
    for (start, end) in hits {
        if start < from || end > to {
            continue;
        }
        if start > at {
            pieces.push(plain(&text[at..start]));
        }
        pieces.push(Highlighted {
            text: text[start..end].to_owned(),
            hit: true,
        });
        at = end;
    }
    if at < to {
        pieces.push(plain(&text[at..to]));
    }
    if to < text.len() {
        pieces.push(plain("…"));
    }
    pieces
}

/// `text` with the first place it contains `needle` (ignoring case) marked.
fn highlight_within(text: &str, needle: &str) -> Vec<Highlighted> {
    match find_folded(text, needle) {
        Some((start, end)) => [
            plain(&text[..start]),
            Highlighted {
                text: text[start..end].to_owned(),
                hit: true,
            },
            plain(&text[end..]),
        ]
        .into_iter()
        .filter(|piece| !piece.text.is_empty())
        .collect(),
        None => vec![plain(text)],
    }
}

/// Where `text` first contains `needle`, ignoring case (byte range).
fn find_folded(text: &str, needle: &str) -> Option<(usize, usize)> {
    let needle: String = needle.chars().flat_map(char::to_lowercase).collect();
    text.char_indices().find_map(|(start, _)| {
        let mut rest = text[start..].char_indices();
        let mut folded = needle.chars();
        loop {
            let Some(want) = folded.next() else {
                let end = rest.next().map_or(text.len(), |(at, _)| start + at);
                return Some((start, end));
            };
            let (_, ch) = rest.next()?;
            let mut lower = ch.to_lowercase();
            if lower.next() != Some(want) {
                return None;
            }
            // A character that lowercases to several: the rest must follow.
            for extra in lower {
                if folded.next() != Some(extra) {
                    return None;
                }
            }
        }
    })
}

fn plain(text: &str) -> Highlighted {
    Highlighted {
        text: text.to_owned(),
        hit: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(pieces: &[Highlighted]) -> String {
        pieces
            .iter()
            .map(|p| {
                if p.hit {
                    format!("[{}]", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn terms_are_words_of_two_characters_or_more() {
        let Terms(terms) = terms("Order #A-1234, ORDER refund?! é x İ");
        assert_eq!(terms, ["Order", "1234", "refund"], "as typed, once each");
        assert_eq!(super::terms("\" OR * NEAR( ^").0, ["OR", "NEAR"]);
    }

    #[test]
    fn matching_words_are_marked_whole_and_only_them() {
        let pieces = snippet(
            "We refunded order A-1234 today",
            &["refund".into(), "1234".into()],
        );
        assert_eq!(shown(&pieces), "We [refunded] order A-[1234] today");
    }

    #[test]
    fn hostile_text_stays_text() {
        let pieces = snippet("<img src=x onerror=alert(1)> refund", &["refund".into()]);
        assert_eq!(shown(&pieces), "<img src=x onerror=alert(1)> [refund]");
        assert!(!pieces[0].hit);
    }

    #[test]
    fn wide_spaces_before_the_match_do_not_split_a_character() {
        for blank in ['\u{a0}', '\u{3000}', '\u{2009}'] {
            let text = format!("{}{blank}{} refund", "a".repeat(30), "b".repeat(40));
            let shown = shown(&snippet(&text, &["Refund".into()]));
            assert!(
                shown.starts_with('…') && shown.ends_with("[refund]"),
                "{shown}"
            );
        }
    }

    #[test]
    fn a_long_message_is_cut_around_the_first_match() {
        let text = format!("{} needle {}", "word ".repeat(100), "tail ".repeat(100));
        let pieces = snippet(&text, &["needle".into()]);
        let shown = shown(&pieces);
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert!(shown.contains("[needle]"));
        // The text, two ellipses and the test's own brackets.
        assert!(shown.chars().count() <= SNIPPET + 4, "{shown}");
    }

    #[test]
    fn labels_match_inside_their_name_ignoring_case() {
        assert_eq!(
            shown(&highlight_within("VIP billing", "BILL")),
            "VIP [bill]ing"
        );
        assert_eq!(shown(&highlight_within("Straße", "sse")), "Straße");
    }
}
