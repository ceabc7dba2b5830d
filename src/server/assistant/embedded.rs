//! The embedded engine: a GGUF model run by llama.cpp on a small pool of
//! worker threads, off the async runtime, fed by a bounded queue.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use futures::future::BoxFuture;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;
use tokio::sync::oneshot;

use super::drafts::{Progress, text_so_far};
use super::{Engine, EngineError, Generated, Request, Role};

/// llama.cpp's process-wide state, initialised once.
static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();

fn backend() -> Result<&'static LlamaBackend, EngineError> {
    BACKEND
        .get_or_init(|| {
            // llama.cpp's own lines (~140 at start-up) bypass the log filter's
            // levels, so they are all on or all off: on only when asked for
            // (`MINICOM_LOG=info,llama-cpp-2=debug`).
            let wanted = tracing::enabled!(target: "llama-cpp-2", tracing::Level::DEBUG);
            llama_cpp_2::send_logs_to_tracing(
                llama_cpp_2::LogOptions::default().with_logs_enabled(wanted),
            );
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| EngineError::Failed(format!("llama.cpp did not start: {e}")))
}

/// Tokens decoded per llama.cpp batch while reading the prompt.
const BATCH: usize = 512;

/// How the pool is sized.
#[derive(Clone, Copy, Debug)]
pub struct Pool {
    /// Worker threads, each generating one reply at a time.
    pub workers: usize,
    /// llama.cpp threads per worker.
    pub threads: usize,
    /// Requests waiting for a worker before new ones are refused.
    pub queue: usize,
    /// The context window, in tokens (prompt and reply).
    pub context: u32,
    /// Longest reply, in tokens.
    pub max_reply: u32,
}

struct Job {
    request: Request,
    progress: Progress,
    done: oneshot::Sender<Result<Generated, EngineError>>,
}

/// A loaded model and its workers.
pub struct Embedded {
    jobs: SyncSender<Job>,
    /// Requests waiting or being answered. Admission counts them, not the
    /// channel's room: a worker that has sent its answer is free at once,
    /// even before it is back at the channel.
    in_flight: Arc<AtomicUsize>,
    /// Workers plus the waiting room.
    capacity: usize,
}

impl Embedded {
    /// Loads the model and starts the workers.
    pub fn start(path: &Path, pool: Pool) -> Result<Self, EngineError> {
        if !path.is_file() {
            return Err(EngineError::NotConfigured(format!(
                "no model file at {} (run `make setup` to fetch the default, or set MINICOM_ASSISTANT_MODEL)",
                path.display()
            )));
        }
        let backend = backend()?;
        let started = Instant::now();
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| EngineError::Failed(format!("could not load {}: {e}", path.display())))?;
        // The model lives as long as the process; workers borrow it.
        let model: &'static LlamaModel = Box::leak(Box::new(model));
        let template = model.chat_template(None).map_err(|e| {
            EngineError::Failed(format!(
                "{} has no usable chat template: {e}",
                path.display()
            ))
        })?;
        tracing::info!(
            model = %path.display(),
            took_ms = started.elapsed().as_millis() as u64,
            workers = pool.workers,
            threads = pool.threads,
            "assistant model loaded"
        );
        // Every end-of-generation token, ruled out until the answer says
        // something: a small model sometimes ends at once, and an empty
        // answer would be the fallback line instead of one. So is every
        // other control token (`<|im_start|>`): it prints as nothing, and
        // the model would go on to write a turn of the chat as the answer.
        let vocab = model.vocab();
        let silent_end: Arc<[LlamaLogitBias]> = vocab
            .tokens()
            .filter(|t| vocab.is_eog(*t) || vocab.is_control(*t))
            .map(|t| LlamaLogitBias::new(t, f32::NEG_INFINITY))
            .collect();
        let capacity = pool.workers.max(1) + pool.queue;
        let (jobs, queue) = sync_channel::<Job>(capacity);
        let queue = Arc::new(Mutex::new(queue));
        let in_flight = Arc::new(AtomicUsize::new(0));
        for n in 0..pool.workers.max(1) {
            let params = LlamaContextParams::default()
                .with_n_ctx(NonZeroU32::new(pool.context))
                .with_n_batch(BATCH as u32)
                .with_n_threads(pool.threads as i32)
                .with_n_threads_batch(pool.threads as i32);
            let context = model.new_context(backend, params).map_err(|e| {
                EngineError::Failed(format!("could not create a llama.cpp context: {e}"))
            })?;
            let mut worker = Worker {
                model,
                context,
                template: template.clone(),
                pool,
                silent_end: silent_end.clone(),
            };
            let (queue, in_flight) = (queue.clone(), in_flight.clone());
            std::thread::Builder::new()
                .name(format!("assistant-{n}"))
                .spawn(move || worker.run(&queue, &in_flight))
                .map_err(|e| EngineError::Failed(format!("could not start a worker: {e}")))?;
        }
        Ok(Self {
            jobs,
            in_flight,
            capacity,
        })
    }
}

impl Engine for Embedded {
    fn generate(
        &self,
        request: Request,
        progress: Progress,
    ) -> BoxFuture<'_, Result<Generated, EngineError>> {
        let (done, result) = oneshot::channel();
        let admitted = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .is_ok();
        // Admission bounds the channel: it always has room for one admitted.
        let sent = admitted.then(|| {
            self.jobs.try_send(Job {
                request,
                progress,
                done,
            })
        });
        Box::pin(async move {
            match sent {
                None => Err(EngineError::Busy),
                Some(Ok(())) => result.await.unwrap_or_else(|_| {
                    Err(EngineError::Failed("the assistant worker stopped".into()))
                }),
                Some(Err(err)) => {
                    self.in_flight.fetch_sub(1, Ordering::AcqRel);
                    Err(match err {
                        TrySendError::Full(_) => EngineError::Busy,
                        TrySendError::Disconnected(_) => {
                            EngineError::Failed("the assistant workers stopped".into())
                        }
                    })
                }
            }
        })
    }

    fn queue_depth(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// Whether `piece` starts a new sentence after one the model wrote
/// (`written`): a space and a capital or a digit after `.`, `!` or `?`
/// ("8 a.m. to noon" goes on). Then the answer is complete.
fn next_sentence(written: &[u8], piece: &[u8]) -> bool {
    matches!(piece, [space, next, ..] if space.is_ascii_whitespace()
        && (next.is_ascii_uppercase() || next.is_ascii_digit()))
        && written.len() > 1
        && matches!(written.last(), Some(b'.' | b'!' | b'?'))
}

struct Worker {
    model: &'static LlamaModel,
    context: LlamaContext<'static>,
    template: LlamaChatTemplate,
    pool: Pool,
    /// Biases that keep the answer from ending before its first word.
    silent_end: Arc<[LlamaLogitBias]>,
}

impl Worker {
    fn run(&mut self, queue: &Mutex<Receiver<Job>>, in_flight: &AtomicUsize) {
        loop {
            let job = {
                let queue = queue.lock().unwrap_or_else(|p| p.into_inner());
                match queue.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                }
            };
            if !job.done.is_closed() {
                let result = self.generate(&job.request, &job.progress, &job.done);
                // Free before the answer is told: whoever hears it may ask again.
                in_flight.fetch_sub(1, Ordering::AcqRel);
                let _ = job.done.send(result);
            } else {
                in_flight.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// The prompt: the system prompt and the newest turns that fit, as the
    /// model's chat template formats them.
    fn prompt(&self, request: &Request) -> Result<Vec<LlamaToken>, EngineError> {
        let budget = self.pool.context.saturating_sub(self.pool.max_reply) as usize;
        let failed = |e: &dyn std::fmt::Display| EngineError::Failed(format!("prompt: {e}"));
        let mut first = 0;
        loop {
            let mut chat = Vec::with_capacity(request.turns.len() + 1);
            chat.push(
                LlamaChatMessage::new("system".into(), request.system.clone())
                    .map_err(|e| failed(&e))?,
            );
            for turn in &request.turns[first..] {
                let role = match turn.role {
                    Role::Visitor => "user",
                    Role::Assistant => "assistant",
                };
                chat.push(
                    LlamaChatMessage::new(role.into(), turn.text.clone())
                        .map_err(|e| failed(&e))?,
                );
            }
            let mut text = self
                .model
                .apply_chat_template(&self.template, &chat, true)
                .map_err(|e| failed(&e))?;
            text.push_str(&request.opening);
            let tokens = self.model.vocab().tokenize(text.as_bytes(), true, true);
            // Oldest turns go first; the newest one always stays.
            if tokens.len() <= budget || first + 1 >= request.turns.len() {
                let keep = tokens.len().saturating_sub(budget);
                return Ok(tokens[keep..].to_vec());
            }
            first += 1;
        }
    }

    fn generate(
        &mut self,
        request: &Request,
        progress: &Progress,
        done: &oneshot::Sender<Result<Generated, EngineError>>,
    ) -> Result<Generated, EngineError> {
        let started = Instant::now();
        let failed =
            |what: &str, e: &dyn std::fmt::Display| EngineError::Failed(format!("{what}: {e}"));
        let prompt = self.prompt(request)?;
        if prompt.is_empty() {
            return Err(EngineError::Failed("empty prompt".into()));
        }
        // A given opening shows before the model has read a word.
        if !request.opening.is_empty() {
            progress.send_replace(text_so_far(request.opening.as_bytes()));
        }
        self.context.clear_kv_cache();
        let mut batch = LlamaBatch::new(BATCH, 1);
        for (chunk_start, chunk) in prompt
            .chunks(BATCH)
            .enumerate()
            .map(|(i, c)| (i * BATCH, c))
        {
            batch.clear();
            for (offset, token) in chunk.iter().enumerate() {
                let position = chunk_start + offset;
                let last = position + 1 == prompt.len();
                batch
                    .add(*token, position as i32, &[0], last)
                    .map_err(|e| failed("batch", &e))?;
            }
            self.context
                .decode(&mut batch)
                .map_err(|e| failed("reading the prompt", &e))?;
        }
        let seed = started.elapsed().subsec_nanos();
        let vocab = self.model.vocab();
        let sampler = |may_end: bool| {
            let mut steps = Vec::with_capacity(6);
            if !may_end {
                steps.push(LlamaSampler::logit_bias(vocab.n_tokens(), &self.silent_end));
            }
            steps.extend([
                LlamaSampler::penalties(vocab.n_tokens(), 64, 1.15, 0.0, 0.0),
                LlamaSampler::top_k(40),
                LlamaSampler::top_p(0.9, 1),
                LlamaSampler::temp(request.temperature),
                LlamaSampler::dist(seed),
            ]);
            LlamaSampler::chain_simple(steps)
        };
        // Until the answer has a word, its end cannot be drawn. Drawing a
        // token records it in the chain that drew it (llama.cpp's
        // `llama_sampler_sample`); the other chain is told, so the
        // repetition penalty of both reads the same text.
        let (mut opening, mut rest) = (sampler(false), sampler(true));
        // The given opening is the answer's start: shown at once, then continued.
        let mut out = request.opening.clone().into_bytes();
        let opened = out.len();
        // A given opening is something said.
        let mut said = !request.opening.trim().is_empty();
        let mut first_token = None;
        let mut tokens = 0;
        let mut position = prompt.len();
        while tokens < self.pool.max_reply as usize {
            if Instant::now() >= request.deadline {
                return Err(EngineError::Timeout);
            }
            if done.is_closed() {
                return Err(EngineError::Failed("cancelled".into()));
            }
            let (chain, other) = if said {
                (&mut rest, &mut opening)
            } else {
                (&mut opening, &mut rest)
            };
            let token = chain.sample(&self.context, batch.n_tokens() - 1);
            other.accept(token);
            if vocab.is_eog(token) {
                break;
            }
            first_token.get_or_insert_with(|| started.elapsed());
            let piece = vocab.token_to_piece(token, false, None);
            // After a given opening: one more sentence at most.
            if opened > 0 && next_sentence(&out[opened..], &piece) {
                break;
            }
            tokens += 1;
            // What `trim` would remove is not something said; half a
            // character (its bytes split across tokens) is.
            said = said || std::str::from_utf8(&piece).map_or(true, |p| !p.trim().is_empty());
            out.extend(piece);
            // Cheap: the newest text replaces the last; the assistant reads
            // it ten times a second.
            progress.send_replace(text_so_far(&out));
            batch.clear();
            batch
                .add(token, position as i32, &[0], true)
                .map_err(|e| failed("batch", &e))?;
            position += 1;
            if position >= self.pool.context as usize {
                break;
            }
            self.context
                .decode(&mut batch)
                .map_err(|e| failed("generating", &e))?;
        }
        Ok(Generated {
            text: String::from_utf8_lossy(&out).trim().to_owned(),
            tokens,
            first_token: first_token.unwrap_or_else(|| started.elapsed()),
            took: started.elapsed(),
        })
    }
}
