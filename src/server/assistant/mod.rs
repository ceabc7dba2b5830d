//! The AI assistant: answers visitors while no person has.
//!
//! A visitor's message in a conversation the assistant answers starts one
//! generation (never more than one per conversation at a time). Once the
//! team has published help articles, the assistant first looks up what
//! they say about the question (`grounding`): it answers only from those
//! passages and names them as the answer's sources, and when they say
//! nothing about it, it says it does not know instead of guessing.
//! Generation runs on an engine (`embedded`: llama.cpp worker threads, off
//! the async runtime; `remote`: an OpenAI-compatible endpoint); the text
//! so far reaches the visitor and the inbox as it is written (`drafts`).
//! The answer is stored and sent like any message; when anything goes
//! wrong the visitor gets one polite line and the conversation waits for a
//! person.

mod claims;
pub mod drafts;
pub mod embedded;
pub mod grounding;
mod metrics;
pub mod remote;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

pub use drafts::Progress;
pub use metrics::AssistantMetrics;

use crate::i18n::Locale;
use crate::protocol::{
    AssistantState, ClientId, ContactId, ConversationId, Person, SenderKind, Source,
};
use crate::server::AppState;
use crate::server::bus::Event;
use crate::server::publish::publish_event as publish;
use crate::server::store::{Audience, Author, PostOptions};

/// What the visitor reads when the assistant cannot answer (a message of
/// [`crate::i18n`], in their messenger's language).
pub const FALLBACK: &str = "assistant-fallback";

/// What the visitor reads after asking for a person.
pub const HANDED_OVER: &str = "assistant-handed-over";

/// Messages of the conversation offered to the engine (it keeps the newest
/// that fit its context window).
const CONTEXT_MESSAGES: i64 = 40;

/// How often the typing indicator is refreshed while generating (the server
/// forgets typing 6 s after the last refresh).
const TYPING_REFRESH: Duration = Duration::from_secs(3);

/// How long an answer in flight may still take once the server starts
/// shutting down; after it the visitor gets the fallback line, so no
/// conversation is left "answering" by a server that is gone.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Setting keys the admins change in the inbox.
pub const ENABLED: &str = "assistant_enabled";
pub const PROMPT: &str = "assistant_prompt";
pub const COMPANY: &str = "company_name";

/// The default system prompt; `{company}` becomes the company's name.
pub const DEFAULT_PROMPT: &str = "You are the support assistant of {company}, answering \
website visitors in a chat. Be friendly, brief (two or three sentences) and concrete. \
If you do not know something about {company}, say so and offer to bring in a teammate; \
never make up prices, policies or order details.";

/// Who said a turn, as the engine sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Visitor,
    Assistant,
}

#[derive(Clone, Debug)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

/// One generation: the instructions, the conversation, and when to give up.
#[derive(Clone, Debug)]
pub struct Request {
    pub system: String,
    pub turns: Vec<Turn>,
    pub deadline: Instant,
    /// How freely the model picks words: low when it must repeat what the
    /// help center says (see `grounding`).
    pub temperature: f32,
    /// The answer's opening, given: the model goes on from it, and ends
    /// with the sentence it starts (see `grounding`). Empty: free. An
    /// engine that cannot continue a given opening ignores it.
    pub opening: String,
}

/// The sampling temperature of a free answer.
pub const TEMPERATURE: f32 = 0.6;

/// A finished answer.
#[derive(Clone, Debug)]
pub struct Generated {
    pub text: String,
    pub tokens: usize,
    pub first_token: Duration,
    pub took: Duration,
}

/// Why there is no answer.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the assistant is not set up: {0}")]
    NotConfigured(String),
    #[error("every assistant worker is busy and the queue is full")]
    Busy,
    #[error("no answer within the time limit")]
    Timeout,
    #[error("the engine failed: {0}")]
    Failed(String),
    #[error("the server is shutting down")]
    ShuttingDown,
}

impl EngineError {
    fn cause(&self) -> &'static str {
        match self {
            Self::NotConfigured(_) => "not_configured",
            Self::Busy => "queue_full",
            Self::Timeout => "timeout",
            Self::Failed(_) => "engine_error",
            Self::ShuttingDown => "shutdown",
        }
    }
}

/// Something that turns a conversation into an answer.
pub trait Engine: Send + Sync + 'static {
    /// Writes the answer; its text so far goes into `progress` as it grows
    /// (an engine that cannot stream leaves it empty).
    fn generate(
        &self,
        request: Request,
        progress: Progress,
    ) -> BoxFuture<'_, Result<Generated, EngineError>>;
    /// Requests waiting or running.
    fn queue_depth(&self) -> usize;
}

/// The engine when none could be set up: every request fails with why.
pub struct Unavailable(pub String);

impl Engine for Unavailable {
    fn generate(&self, _: Request, _: Progress) -> BoxFuture<'_, Result<Generated, EngineError>> {
        let why = self.0.clone();
        Box::pin(async move { Err(EngineError::NotConfigured(why)) })
    }

    fn queue_depth(&self) -> usize {
        0
    }
}

/// The assistant service shared by every socket.
pub struct Assistant {
    engine: Box<dyn Engine>,
    timeout: Duration,
    /// The admins' switch: new conversations start with the assistant.
    pub enabled: std::sync::atomic::AtomicBool,
    /// This process's name on answer claims (random, new at every start):
    /// one answer at a time per conversation, across instances.
    holder: String,
    pub metrics: AssistantMetrics,
}

impl Assistant {
    /// Sets up the configured engine (loading a model takes a moment: call
    /// it off the runtime). An engine that cannot start becomes
    /// [`Unavailable`]: visitors then get the fallback line, and the log says why.
    pub fn from_config(
        config: &crate::server::config::AssistantConfig,
        enabled: bool,
    ) -> Option<Self> {
        use crate::server::config::AssistantEngine;
        let engine: Box<dyn Engine> = match &config.engine {
            AssistantEngine::Off => return None,
            AssistantEngine::Embedded { model } => {
                let pool = embedded::Pool {
                    workers: config.workers,
                    threads: config.threads,
                    queue: config.queue,
                    context: config.context,
                    max_reply: config.max_reply,
                };
                match embedded::Embedded::start(model, pool) {
                    Ok(engine) => Box::new(engine),
                    Err(err) => {
                        tracing::error!(%err, "the assistant cannot answer: visitors will get the fallback line and wait for the team");
                        Box::new(Unavailable(err.to_string()))
                    }
                }
            }
            AssistantEngine::Remote {
                url,
                model,
                api_key,
                ca,
            } => match remote::Remote::new(
                url,
                model.clone(),
                api_key.clone(),
                config.max_reply,
                ca.as_deref(),
            ) {
                Ok(engine) => Box::new(engine),
                Err(err) => {
                    tracing::error!(%err, "the assistant cannot answer: visitors will get the fallback line and wait for the team");
                    Box::new(Unavailable(err.to_string()))
                }
            },
        };
        Some(Self::new(engine, config.timeout, enabled))
    }

    pub fn new(engine: Box<dyn Engine>, timeout: Duration, enabled: bool) -> Self {
        Self {
            engine,
            timeout,
            enabled: enabled.into(),
            holder: crate::server::auth::new_token(),
            metrics: AssistantMetrics::default(),
        }
    }

    pub fn queue_depth(&self) -> usize {
        self.engine.queue_depth()
    }

    /// Whether new conversations are answered by the assistant now.
    pub fn answers_new(state: &AppState) -> bool {
        state
            .assistant
            .as_ref()
            .is_some_and(|a| a.enabled.load(Ordering::Relaxed))
    }

    async fn answer(&self, state: &AppState, conversation: ConversationId, contact: ContactId) {
        match state.store.assistant_state(conversation).await {
            Ok(Some(AssistantState::Answering)) => {}
            Ok(_) => return,
            Err(err) => {
                tracing::error!(%err, "the assistant could not read a conversation's state");
                return;
            }
        }
        let words = words_of(state, contact).await;
        let (request, sources) = match self.prepare(state, conversation, words).await {
            Ok(grounding::Plan::Answer { request, sources }) => (request, sources),
            Ok(grounding::Plan::DoNotKnow) => {
                self.metrics.unknown.inc();
                let answer = PostOptions::default();
                post(
                    state,
                    conversation,
                    contact,
                    Author::ai(),
                    &grounding::do_not_know(words),
                    answer,
                )
                .await;
                return;
            }
            Err(err) => {
                tracing::error!(%err, "the assistant could not load the conversation");
                return;
            }
        };
        let person = assistant_person();
        let typing = |on| Event::Typing {
            contact_id: contact,
            conversation_id: conversation,
            person: person.clone(),
            typing: on,
        };
        // Typing goes through the same registry as people's: should this task
        // ever stop without saying so, the sweeper ends it after 6 s.
        let still_typing = || async {
            state.typing.start(conversation, contact, person.clone());
            publish(state, typing(true)).await;
            // Still writing: the claim stands while this instance lives.
            self.renew_claim(state, conversation).await
        };
        still_typing().await;
        let (progress, written) = tokio::sync::watch::channel(String::new());
        let generation = self.engine.generate(request, progress);
        tokio::pin!(generation);
        // The text so far, to the visitor and the inbox, ten times a second.
        let relaying = drafts::relay(written, |text| {
            publish(
                state,
                Event::Draft {
                    contact_id: contact,
                    conversation_id: conversation,
                    text,
                },
            )
        });
        tokio::pin!(relaying);
        let mut relayed = false;
        let mut refresh =
            tokio::time::interval_at(tokio::time::Instant::now() + TYPING_REFRESH, TYPING_REFRESH);
        let mut stopping = state.hub.shutdown_signal();
        let shutdown = async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::pin!(shutdown);
        let result = loop {
            tokio::select! {
                result = &mut generation => break result,
                () = &mut relaying, if !relayed => relayed = true,
                _ = refresh.tick() => {
                    still_typing().await;
                }
                () = &mut shutdown => break Err(EngineError::ShuttingDown),
            }
        };
        if state.typing.stop(conversation, &person).is_some() {
            publish(state, typing(false)).await;
        }
        // Another instance took the claim over (this one could not renew
        // it in time) and answers: this answer is dropped.
        // An answer dropped ends its draft too (an empty one).
        let dropped = || {
            publish(
                state,
                Event::Draft {
                    contact_id: contact,
                    conversation_id: conversation,
                    text: String::new(),
                },
            )
        };
        if !self.renew_claim(state, conversation).await {
            tracing::info!(
                "another instance took over an answer this one was too slow to renew; dropping this one"
            );
            dropped().await;
            return;
        }
        // A person may have taken over meanwhile: then the answer is dropped.
        if !matches!(
            state.store.assistant_state(conversation).await,
            Ok(Some(AssistantState::Answering))
        ) {
            dropped().await;
            return;
        }
        // Storing the answer may wait on a busy database: the claim is
        // renewed meanwhile, so no other instance answers the same question.
        let store_answer = self.store_answer(state, conversation, contact, result, sources);
        tokio::pin!(store_answer);
        loop {
            tokio::select! {
                () = &mut store_answer => return,
                _ = refresh.tick() => {
                    self.renew_claim(state, conversation).await;
                }
            }
        }
    }

    /// Stores a finished generation: the answer, or the fallback line.
    async fn store_answer(
        &self,
        state: &AppState,
        conversation: ConversationId,
        contact: ContactId,
        result: Result<Generated, EngineError>,
        sources: Vec<Source>,
    ) {
        match result {
            Ok(answer) if !answer.text.is_empty() => {
                self.record(&answer);
                let body = crate::protocol::validate_body(&answer.text)
                    .map(str::to_owned)
                    .unwrap_or_else(|_| answer.text.chars().take(3_900).collect());
                let options = PostOptions {
                    sources,
                    ..PostOptions::default()
                };
                post(state, conversation, contact, Author::ai(), &body, options).await;
            }
            Ok(_) => {
                self.fail(
                    state,
                    conversation,
                    contact,
                    EngineError::Failed("empty answer".into()),
                )
                .await
            }
            Err(err) => self.fail(state, conversation, contact, err).await,
        }
    }

    fn record(&self, answer: &Generated) {
        let m = &self.metrics;
        m.generation.observe(answer.took);
        m.first_token.observe(answer.first_token);
        m.tokens.inc_by(answer.tokens as u64);
        m.answers.inc();
        let seconds = answer.took.saturating_sub(answer.first_token).as_secs_f64();
        if seconds > 0.0 {
            let rate = answer.tokens.saturating_sub(1) as f64 / seconds;
            m.last_rate_milli
                .store((rate * 1000.0) as u64, Ordering::Relaxed);
        }
    }

    /// No answer: one polite line, and the conversation waits for a person.
    async fn fail(
        &self,
        state: &AppState,
        conversation: ConversationId,
        contact: ContactId,
        err: EngineError,
    ) {
        tracing::warn!(%err, conversation = conversation.0, "the assistant could not answer; handing over to the team");
        self.metrics.failures.add(err.cause(), 1);
        hand_over(state, conversation, contact, FALLBACK).await;
    }

    /// What to do about the conversation's newest question: answer it
    /// (grounded in the help center's passages, when it has any), or say
    /// the help center does not know.
    async fn prepare(
        &self,
        state: &AppState,
        conversation: ConversationId,
        words: Locale,
    ) -> Result<grounding::Plan, crate::server::store::StoreError> {
        let (messages, _) = state
            .store
            .latest_messages(conversation, CONTEXT_MESSAGES, Audience::Visitor)
            .await?;
        let turns = messages
            .into_iter()
            .filter(|m| !m.deleted)
            .filter_map(|m| {
                let role = match m.sender {
                    SenderKind::Contact => Role::Visitor,
                    SenderKind::Ai | SenderKind::Agent => Role::Assistant,
                    SenderKind::System => return None,
                };
                // The model reads what files were sent, never their bytes.
                let who = if role == Role::Visitor {
                    "the visitor"
                } else {
                    "the team"
                };
                let files = m
                    .attachments
                    .iter()
                    .map(|a| format!("[{who} sent {}]", a.describe()));
                let text = std::iter::once(m.body)
                    .filter(|b| !b.is_empty())
                    .chain(files)
                    .collect::<Vec<_>>()
                    .join("\n");
                Some(Turn { role, text })
            })
            .collect();
        let mut system = system_prompt(state).await;
        if words != Locale::En {
            // Small models may still answer in English: the instruction
            // asks, it cannot make them.
            let language = words.english_name();
            system.push_str(&format!(
                "\n\nThe visitor's messenger is in {language}: answer in {language}."
            ));
        }
        let request = Request {
            system,
            turns,
            deadline: Instant::now() + self.timeout,
            temperature: TEMPERATURE,
            opening: String::new(),
        };
        grounding::plan(&state.store, request).await
    }
}

/// The system prompt: the admins' own, or the default for their company.
pub async fn system_prompt(state: &AppState) -> String {
    let setting = |key| async move { state.store.setting(key).await.ok().flatten() };
    let company = setting(COMPANY)
        .await
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "our company".into());
    setting(PROMPT)
        .await
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PROMPT.into())
        .replace("{company}", &company)
}

/// How the assistant appears in typing indicators.
pub fn assistant_person() -> Person {
    Person {
        kind: SenderKind::Ai,
        id: 0,
        name: "Assistant".into(),
    }
}

/// The language of a visitor's messenger (English when it never said).
async fn words_of(state: &AppState, contact: ContactId) -> Locale {
    match state.store.contact_language(contact).await {
        Ok(tag) => tag
            .as_deref()
            .and_then(Locale::from_tag)
            .unwrap_or_default(),
        Err(err) => {
            tracing::warn!(%err, "could not read a visitor's language; answering in English");
            Locale::En
        }
    }
}

/// The assistant stops; the conversation waits for a person, and the visitor
/// reads `line` (a message of [`crate::i18n`], from Minicom itself, in their
/// language).
pub async fn hand_over(
    state: &AppState,
    conversation: ConversationId,
    contact: ContactId,
    line: &str,
) {
    match state
        .store
        .set_assistant_state(
            conversation,
            &[AssistantState::Answering],
            AssistantState::Waiting,
        )
        .await
    {
        Ok(true) => {
            let line = words_of(state, contact).await.t(line);
            post(
                state,
                conversation,
                contact,
                Author::system(),
                &line,
                PostOptions::default(),
            )
            .await;
            // Now the team answers: it may go to whoever's turn it is.
            crate::server::auto_assign::new_conversation(state, conversation, contact).await;
        }
        Ok(false) => {}
        Err(err) => tracing::error!(%err, "could not hand a conversation over to the team"),
    }
}

/// Stores a message from the assistant or from Minicom and sends it live.
async fn post(
    state: &AppState,
    conversation: ConversationId,
    contact: ContactId,
    author: Author,
    body: &str,
    options: PostOptions,
) {
    let queued = state
        .store
        .queue_message(
            conversation,
            contact,
            ClientId::new(),
            author,
            (body, &[]),
            options,
        )
        .await;
    match async { queued?.committed().await }.await {
        Ok(inserted) => {
            crate::server::publish::publish_post(state, contact, inserted, None).await;
        }
        Err(err) => tracing::error!(%err, "could not store the assistant's message"),
    }
}
