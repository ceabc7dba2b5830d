//! `minicom-load eval`: how well the assistant answers from a help center,
//! measured on the evaluation set (`tests/fixtures/help`: a fictional
//! shop's articles, visitors' questions with the article that answers each
//! and the facts a faithful answer states, and questions it does not
//! answer). In process, on the production path: the articles are saved
//! as admins save them, each question is grounded as the assistant
//! grounds it (`assistant::grounding::plan`), and the model writes.
//!
//! The rules, checkable by anyone reading the output:
//! - retrieval hit: the answering article is among the answer's sources;
//! - faithful: the answer states one of the question's facts (case and
//!   dash style aside) and is not a refusal;
//! - refused: "I don't know" (no passage found, or the model said so);
//! - correct "don't know": an unanswerable question was refused.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Deserialize;

use minicom::server::assistant::embedded::{Embedded, Pool};
use minicom::server::assistant::grounding::{self, Plan};
use minicom::server::assistant::{DEFAULT_PROMPT, Engine, Request, Role, Turn};
use minicom::server::config::AssistantConfig;
use minicom::server::help::{self, fixture};
use minicom::server::store::Store;

/// Phrases that make an answer a refusal.
const REFUSALS: &[&str] = &[
    "don't know",
    "do not know",
    "not sure",
    "teammate",
    "couldn't find",
    "could not find",
];

#[derive(Deserialize)]
struct Question {
    question: String,
    article: Option<String>,
    facts: Vec<String>,
}

/// One question's outcome.
struct Outcome {
    answerable: bool,
    hit: bool,
    faithful: bool,
    refused: bool,
    first_token: Option<Duration>,
    took: Option<Duration>,
}

fn normalise(text: &str) -> String {
    text.to_lowercase().replace(['–', '—'], "-")
}

pub async fn run(fixture_dir: &Path, model: &Path, verbose: bool) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("minicom-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = evaluate(&dir, fixture_dir, model, verbose).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn evaluate(
    dir: &Path,
    fixture_dir: &Path,
    model: &Path,
    verbose: bool,
) -> anyhow::Result<()> {
    let store = Store::open(&format!("sqlite://{}/eval.db", dir.display())).await?;
    let articles =
        fixture::read_articles(&fixture_dir.join("articles")).map_err(anyhow::Error::msg)?;
    let mut url_of = HashMap::new();
    for article in &articles {
        let row = help::save(&store, &article.draft, None).await?;
        url_of.insert(article.slug.clone(), row.url);
    }
    let questions: Vec<Question> = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir.join("questions.json"))
            .context("reading questions.json")?,
    )?;
    let defaults = AssistantConfig::off();
    let pool = Pool {
        workers: 1,
        threads: defaults.threads,
        queue: 4,
        context: defaults.context,
        max_reply: defaults.max_reply,
    };
    let loading = Instant::now();
    let engine = Embedded::start(model, pool).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "Model {} loaded in {:.1} s; {} articles, {} questions.\n",
        model.display(),
        loading.elapsed().as_secs_f64(),
        articles.len(),
        questions.len()
    );
    let system = DEFAULT_PROMPT.replace("{company}", "Northwind Coffee");
    let mut outcomes = Vec::new();
    for q in &questions {
        let request = Request {
            system: system.clone(),
            turns: vec![Turn {
                role: Role::Visitor,
                text: q.question.clone(),
            }],
            deadline: Instant::now() + Duration::from_secs(300),
            temperature: minicom::server::assistant::TEMPERATURE,
            opening: String::new(),
        };
        let expected = q.article.as_ref().and_then(|slug| url_of.get(slug));
        let mut outcome = Outcome {
            answerable: q.article.is_some(),
            hit: false,
            faithful: false,
            refused: true,
            first_token: None,
            took: None,
        };
        let answer = match grounding::plan(&store, request).await? {
            Plan::DoNotKnow => grounding::do_not_know(minicom::i18n::Locale::En),
            Plan::Answer { request, sources } => {
                outcome.hit = expected.is_some_and(|url| sources.iter().any(|s| &s.url == url));
                let (progress, _) = tokio::sync::watch::channel(String::new());
                let generated = engine
                    .generate(request, progress)
                    .await
                    .map_err(|e| anyhow::anyhow!("the model failed: {e}"))?;
                outcome.first_token = Some(generated.first_token);
                outcome.took = Some(generated.took);
                let said = normalise(&generated.text);
                outcome.refused = REFUSALS.iter().any(|r| said.contains(r));
                outcome.faithful =
                    !outcome.refused && q.facts.iter().any(|f| said.contains(&normalise(f)));
                generated.text
            }
        };
        if verbose {
            let verdict = match (outcome.answerable, outcome.faithful, outcome.refused) {
                (true, true, _) => "faithful",
                (true, false, true) => "refused",
                (true, false, false) => "UNFAITHFUL",
                (false, _, true) => "don't know (right)",
                (false, _, false) => "ANSWERED (wrong)",
            };
            println!(
                "[{verdict}] {}\n    retrieval: {}\n    answer: {}\n",
                q.question,
                if outcome.hit { "hit" } else { "miss" },
                answer.replace('\n', " ")
            );
        }
        outcomes.push(outcome);
    }
    report(&outcomes);
    Ok(())
}

fn report(outcomes: &[Outcome]) {
    let answerable: Vec<_> = outcomes.iter().filter(|o| o.answerable).collect();
    let unanswerable: Vec<_> = outcomes.iter().filter(|o| !o.answerable).collect();
    let share = |n: usize, of: usize| {
        format!(
            "{n}/{of} ({:.0}%)",
            if of == 0 {
                0.0
            } else {
                100.0 * n as f64 / of as f64
            }
        )
    };
    let count = |set: &[&Outcome], f: fn(&Outcome) -> bool| set.iter().filter(|o| f(o)).count();
    let mut firsts: Vec<Duration> = outcomes.iter().filter_map(|o| o.first_token).collect();
    let mut totals: Vec<Duration> = outcomes.iter().filter_map(|o| o.took).collect();
    firsts.sort();
    totals.sort();
    let pct = |v: &[Duration], p: f64| {
        if v.is_empty() {
            return "—".to_owned();
        }
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        format!("{:.2} s", v[i].as_secs_f64())
    };
    println!("| measure | result |");
    println!("|---|---|");
    println!(
        "| retrieval hit (answering article among the sources) | {} |",
        share(count(&answerable, |o| o.hit), answerable.len())
    );
    println!(
        "| faithful answer (states a key fact, no refusal) | {} |",
        share(count(&answerable, |o| o.faithful), answerable.len())
    );
    println!(
        "| refused although the answer exists | {} |",
        share(count(&answerable, |o| o.refused), answerable.len())
    );
    println!(
        "| correct \"don't know\" on unanswerable questions | {} |",
        share(count(&unanswerable, |o| o.refused), unanswerable.len())
    );
    println!(
        "| time to first token, p50 / p95 ({} generations) | {} / {} |",
        firsts.len(),
        pct(&firsts, 0.5),
        pct(&firsts, 0.95)
    );
    println!(
        "| time to the whole answer, p50 / p95 | {} / {} |",
        pct(&totals, 0.5),
        pct(&totals, 0.95)
    );
}
