//! Answers drawn from the help center: which passages a question gets, the
//! prompt that holds them, and the "I don't know" when there are none.
//!
//! Until the team publishes an article, the assistant answers from its
//! instructions alone, as before there was a help center. Once there is
//! one, a question it says nothing about is not put to the model at all:
//! a small model asked anyway invents (it offered SmolLM2's "international
//! shipping" to a visitor asking about Canada).

use super::{Request, Role, Turn};
use crate::i18n::Locale;
use crate::protocol::Source;
use crate::server::help::{self, retrieve};
use crate::server::store::{PassageHit, Store, StoreError};

/// What the visitor reads when the help center has nothing on their
/// question, in their messenger's language.
pub fn do_not_know(words: Locale) -> String {
    words.t("assistant-do-not-know")
}

/// What the assistant does with a question.
pub enum Plan {
    /// Put it to the model; the answer names `sources`.
    Answer {
        request: Request,
        sources: Vec<Source>,
    },
    /// Say the help center does not know.
    DoNotKnow,
}

/// Grounds `request` (the instructions and the conversation) in the help
/// center, or decides it cannot be answered.
pub async fn plan(store: &Store, mut request: Request) -> Result<Plan, StoreError> {
    if !store.has_passages().await? {
        return Ok(Plan::Answer {
            request,
            sources: Vec::new(),
        });
    }
    let question = question(&request.turns);
    if retrieve::terms(&question).is_empty() {
        // "Hi", "thanks!": nothing to look up, and nothing to state.
        request.system.push_str(SMALL_TALK);
        return Ok(Plan::Answer {
            request,
            sources: Vec::new(),
        });
    }
    let passages = help::ground(store, &question).await?;
    if passages.is_empty() {
        return Ok(Plan::DoNotKnow);
    }
    // A small model reads the question's own turn far more closely than
    // its instructions: the passages go there, and it samples nearly
    // greedily, to repeat rather than invent.
    if let Some(last) = request
        .turns
        .iter_mut()
        .rev()
        .find(|t| t.role == Role::Visitor)
    {
        last.text = prompt(&last.text, &passages);
    }
    request.system.push_str(GROUNDED);
    request.temperature = GROUNDED_TEMPERATURE;
    // The answer opens with the passage's sentence that best matches the
    // question, quoted: a small model then adds at most one sentence, and
    // the fact the visitor asked for is there in the help center's words.
    request.opening = opening(&retrieve::terms(&question), &passages[0]);
    Ok(Plan::Answer {
        sources: help::sources(&passages),
        request,
    })
}

/// What is looked up: the visitor's newest message, with the one before
/// when the newest says little on its own ("and to Canada?").
pub fn question(turns: &[Turn]) -> String {
    let mut theirs = turns.iter().rev().filter(|t| t.role == Role::Visitor);
    let Some(last) = theirs.next() else {
        return String::new();
    };
    if retrieve::terms(&last.text).len() >= 2 {
        return last.text.clone();
    }
    match theirs.next() {
        Some(before) => format!("{}\n{}", before.text, last.text),
        None => last.text.clone(),
    }
}

const SMALL_TALK: &str = "\n\nThe visitor's last message asks nothing specific: reply in one \
short friendly sentence and ask what they need. State no facts about the company.";

/// What the instructions add when the answer must come from passages.
const GROUNDED: &str = "\n\nAnswer only from the help center passages given with the \
visitor's question. Copy numbers, prices and times exactly as written. If they do not answer \
it, say you don't know and offer to bring in a teammate. Answer in one or two sentences.";

/// The sampling temperature of an answer drawn from passages.
const GROUNDED_TEMPERATURE: f32 = 0.2;

/// The sentence of `passage` that holds most of the question's words (one
/// with a number wins a tie: prices, days and limits are what visitors
/// ask); empty when none holds any.
pub fn opening(terms: &[String], passage: &PassageHit) -> String {
    let holds = |sentence: &str, term: &str| {
        sentence
            .split(|c: char| !c.is_alphanumeric())
            .map(str::to_lowercase)
            .any(|word| {
                word == term || {
                    // "shipping" holds "ship"; "refunds" holds "refund".
                    let stem: String = term
                        .chars()
                        .take(term.chars().count().clamp(4, 6))
                        .collect();
                    term.chars().count() >= 4 && word.starts_with(&stem)
                }
            })
    };
    let score = |sentence: &str| {
        let found = terms.iter().filter(|t| holds(sentence, t)).count() as f32;
        let number = if sentence.chars().any(|c| c.is_ascii_digit()) {
            0.5
        } else {
            0.0
        };
        if found > 0.0 { found + number } else { 0.0 }
    };
    let mut best = ("", 0.0);
    for line in passage.text.lines() {
        for sentence in sentences(line) {
            let s = score(sentence);
            if s > best.1 {
                best = (sentence, s);
            }
        }
    }
    if best.1 > 0.0 {
        best.0.trim().to_owned()
    } else {
        String::new()
    }
}

/// The sentences of a line: cut after `.`, `!` or `?` followed by a space
/// and a capital or a digit ("8 a.m. to noon" stays one).
fn sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b'!' | b'?')
            && bytes.get(i + 1) == Some(&b' ')
            && bytes
                .get(i + 2)
                .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            out.push(&line[start..=i]);
            start = i + 2;
        }
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out.into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The visitor's question with the passages to answer it from.
pub fn prompt(question: &str, passages: &[PassageHit]) -> String {
    let mut prompt = String::from("From our help center:");
    for (n, passage) in passages.iter().enumerate() {
        let heading = if passage.heading == passage.title {
            String::new()
        } else {
            format!(", {}", passage.heading)
        };
        prompt.push_str(&format!(
            "\n\nPassage {} (\"{}\"{heading}):\n{}",
            n + 1,
            passage.title,
            passage.text
        ));
    }
    prompt.push_str(&format!(
        "\n\nMy question: {question}\nAnswer from the help center above, in one or two sentences."
    ));
    prompt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(role: Role, text: &str) -> Turn {
        Turn {
            role,
            text: text.into(),
        }
    }

    fn passage(heading: &str, text: &str) -> PassageHit {
        PassageHit {
            id: 1,
            article_id: 1,
            title: "Shipping to Canada".into(),
            collection: "Shipping".into(),
            url: "/help/shipping/shipping-to-canada".into(),
            heading: heading.into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_short_follow_up_is_read_with_the_question_before() {
        let turns = [
            turn(Role::Visitor, "How long does shipping take?"),
            turn(Role::Assistant, "3 to 5 business days."),
            turn(Role::Visitor, "and Canada?"),
        ];
        assert_eq!(
            question(&turns),
            "How long does shipping take?\nand Canada?"
        );
        let turns = [
            turn(Role::Visitor, "Hello"),
            turn(Role::Visitor, "can I return opened coffee bags"),
        ];
        assert_eq!(question(&turns), "can I return opened coffee bags");
        assert_eq!(question(&[]), "");
    }

    #[test]
    fn the_answer_opens_with_the_sentence_that_answers() {
        let passage = passage(
            "Price",
            "We love Canada. Shipping to Canada costs $18 per order.\nIt takes 7-12 days.",
        );
        let terms = crate::server::help::retrieve::terms("how much is shipping to canada");
        assert_eq!(
            opening(&terms, &passage),
            "Shipping to Canada costs $18 per order."
        );
        assert_eq!(opening(&["zebra".into()], &passage), "");
        assert_eq!(sentences("A b. C d! E"), ["A b.", "C d!", "E"]);
        assert_eq!(
            sentences("Open 8 a.m. to 12 p.m. on Saturday. Closed Sunday."),
            ["Open 8 a.m. to 12 p.m. on Saturday.", "Closed Sunday."]
        );
    }

    #[test]
    fn the_prompt_holds_each_passage_with_its_article() {
        let passage = passage("Prices", "It costs $12.");
        let prompt = prompt("Do you ship to Canada?", &[passage]);
        assert!(prompt.contains("Passage 1 (\"Shipping to Canada\", Prices):\nIt costs $12."));
        assert!(prompt.contains("My question: Do you ship to Canada?"));
    }
}
