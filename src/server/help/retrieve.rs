//! Finding what the help center says about a visitor's question: the words
//! that matter in it, the engine's full-text ranking over published
//! passages, and a check that what was found is about the question at all
//! (so the assistant says it does not know rather than answer from a
//! passage that only shares the word "order").

use std::collections::HashSet;

/// Words that say nothing about what a visitor asks (English function
/// words, contractions written without their apostrophe, and chat
/// filler; PostgreSQL's English stopwords among them, which its index
/// never holds: a word it drops would otherwise weigh as one no article
/// holds). Dropped from queries; a question of nothing
/// else finds nothing.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "actually",
    "after",
    "again",
    "against",
    "ago",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anyone",
    "anything",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "didnt",
    "do",
    "does",
    "doesnt",
    "doing",
    "dont",
    "down",
    "during",
    "each",
    "exactly",
    "few",
    "for",
    "from",
    "further",
    "get",
    "going",
    "gonna",
    "got",
    "guys",
    "had",
    "has",
    "hasnt",
    "have",
    "havent",
    "he",
    "hello",
    "help",
    "her",
    "here",
    "hers",
    "hey",
    "hi",
    "him",
    "his",
    "honestly",
    "how",
    "i",
    "if",
    "im",
    "in",
    "into",
    "is",
    "isnt",
    "it",
    "its",
    "itself",
    "ive",
    "just",
    "kind",
    "know",
    "like",
    "me",
    "mine",
    "more",
    "much",
    "my",
    "myself",
    "need",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "ok",
    "okay",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "ought",
    "our",
    "out",
    "over",
    "own",
    "please",
    "pls",
    "plz",
    "put",
    "question",
    "real",
    "really",
    "same",
    "says",
    "she",
    "should",
    "since",
    "so",
    "some",
    "something",
    "still",
    "such",
    "tell",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "through",
    "til",
    "till",
    "to",
    "too",
    "u",
    "under",
    "until",
    "up",
    "ur",
    "us",
    "very",
    "wanna",
    "want",
    "was",
    "we",
    "were",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "wont",
    "would",
    "yes",
    "you",
    "your",
    "yours",
];

/// Most words of a question sent to the index.
const MAX_TERMS: usize = 16;

/// The words of `text` worth searching for: lowercase letters and digits,
/// stopwords left out, each once, in order.
pub fn terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    // Phones type curly apostrophes: "don’t" is one word too.
    text.split(|c: char| !c.is_alphanumeric() && !matches!(c, '\'' | '’' | '‘' | 'ʼ'))
        .map(|w| w.replace(['\'', '’', '‘', 'ʼ'], "").to_lowercase())
        .filter(|w| w.chars().count() >= 2 && w.chars().count() <= 40)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .filter(|w| seen.insert(w.clone()))
        .take(MAX_TERMS)
        .collect()
}

/// The share of a question a passage must speak to, by weight (see
/// [`coverage`]), to be put in front of the model.
pub const ENOUGH: f32 = 0.4;

/// How much each word of a question weighs, from how many of the `total`
/// passages hold it (`holding`): a word few passages hold says more about
/// what the visitor asks than one most hold ("coffee" in a coffee shop's
/// help center). A word no passage holds weighs most: it is likely what
/// the question is about, and the articles do not say it.
pub fn weights(total: i64, holding: &[usize]) -> Vec<f32> {
    let n = total.max(1) as f32;
    holding
        .iter()
        .map(|&df| match df {
            0 => (1.0 + 2.0 * n).ln(),
            df => (1.0 + n / df as f32).ln(),
        })
        .collect()
}

/// How much of the question a passage speaks to, 0.0 to 1.0: the weight of
/// the question's words it holds (`held[i]`: it holds word `i`) over the
/// weight of them all.
pub fn coverage(weights: &[f32], held: impl Fn(usize) -> bool) -> f32 {
    let all: f32 = weights.iter().sum();
    if all <= 0.0 {
        return 0.0;
    }
    let found: f32 = weights
        .iter()
        .enumerate()
        .filter(|(i, _)| held(*i))
        .map(|(_, w)| w)
        .sum();
    found / all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_keep_only_the_words_that_matter() {
        assert_eq!(
            terms("Hi! Do you ship to Canada?? How much does it cost"),
            ["ship", "canada", "cost"]
        );
        assert_eq!(terms("hello, is anyone there?"), Vec::<String>::new());
        assert_eq!(terms("don't CANADA canada"), ["canada"]);
        assert_eq!(terms("Don’t you ship to Canada?"), ["ship", "canada"]);
        assert!(terms(&"word ".repeat(100)).len() == 1);
    }

    #[test]
    fn rare_words_weigh_more_and_unknown_words_most() {
        let w = weights(100, &[90, 3, 0]);
        assert!(w[0] < w[1] && w[1] < w[2], "{w:?}");
        // Holding the common word alone is not enough; the rare one nearly is.
        assert!(coverage(&w, |i| i == 0) < 0.2);
        assert!(coverage(&w, |i| i == 1) > 0.35);
        // A common word beside one no article holds is not enough.
        let w = weights(100, &[90, 0]);
        assert!(coverage(&w, |i| i == 0) < ENOUGH);
        assert!(coverage(&w, |i| i == 1) > ENOUGH);
        assert!((coverage(&w, |_| true) - 1.0).abs() < 1e-6);
        assert_eq!(coverage(&[], |_| true), 0.0);
    }
}
