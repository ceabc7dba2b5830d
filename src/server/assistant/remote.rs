//! The remote engine: any OpenAI-compatible `/v1/chat/completions` endpoint
//! (a hosted provider over https, llama.cpp's server, vLLM, Ollama), its
//! answer streamed: the visitor sees it as it is written.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use serde::Deserialize;

use super::drafts::{Progress, text_so_far};
use super::{Engine, EngineError, Generated, Request, Role};
use crate::server::outbound;

/// Longest response accepted from the endpoint.
const MAX_RESPONSE: usize = 1024 * 1024;

/// How long connecting (and the TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where to send requests.
pub struct Remote {
    client: reqwest::Client,
    /// The completions endpoint.
    url: reqwest::Url,
    model: String,
    api_key: Option<String>,
    max_reply: u32,
    in_flight: AtomicUsize,
}

impl Remote {
    /// `url` is the endpoint's base, e.g. `https://api.example.com/v1` or
    /// `http://10.0.0.5:8080` (the path `/v1/chat/completions` is added
    /// unless the URL already ends with it). `ca`: a PEM file of
    /// certificates to trust besides the usual public ones (an endpoint
    /// inside the company).
    pub fn new(
        url: &str,
        model: String,
        api_key: Option<String>,
        max_reply: u32,
        ca: Option<&std::path::Path>,
    ) -> Result<Self, EngineError> {
        let url = completions_url(url)?;
        let tls = outbound::tls(ca)
            .map_err(|e| EngineError::NotConfigured(format!("MINICOM_ASSISTANT_CA {e}")))?;
        let client = outbound::client(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| EngineError::NotConfigured(format!("the HTTP client: {e}")))?;
        Ok(Self {
            client,
            url,
            model,
            api_key,
            max_reply,
            in_flight: AtomicUsize::new(0),
        })
    }

    async fn call(&self, request: Request, progress: &Progress) -> Result<Generated, EngineError> {
        let started = Instant::now();
        let mut messages = vec![serde_json::json!({"role": "system", "content": request.system})];
        for turn in &request.turns {
            let role = match turn.role {
                Role::Visitor => "user",
                Role::Assistant => "assistant",
            };
            messages.push(serde_json::json!({"role": role, "content": turn.text}));
        }
        let body = serde_json::json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "temperature": request.temperature,
            "max_tokens": self.max_reply,
        })
        .to_string();
        let host = self.url.host_str().unwrap_or_default().to_owned();
        // What failed, and where, down to the cause (an untrusted
        // certificate is deep in the chain); never the URL's query, the key
        // or the conversation.
        let failed =
            |e: reqwest::Error| EngineError::Failed(format!("{host}: {}", outbound::failure(e)));
        let mut post = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .body(body);
        if let Some(key) = &self.api_key {
            post = post.bearer_auth(key);
        }
        let response = post.send().await.map_err(failed)?;
        let status = response.status();
        if !status.is_success() {
            // Its first words say why; the rest is not read.
            let mut said = Vec::new();
            let mut body = response.bytes_stream();
            while said.len() < 1024
                && let Some(Ok(chunk)) = body.next().await
            {
                said.extend_from_slice(&chunk);
            }
            let snippet: String = String::from_utf8_lossy(&said).chars().take(200).collect();
            return Err(EngineError::Failed(format!(
                "the endpoint answered HTTP {}: {snippet}",
                status.as_u16()
            )));
        }
        let kind = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let streamed = kind.starts_with("text/event-stream");
        if !streamed && !kind.contains("json") {
            return Err(EngineError::Failed(format!(
                "the endpoint answered {kind:?}, not server-sent events or JSON: is MINICOM_ASSISTANT_URL its API?"
            )));
        }
        // The events as they come: each `data:` line's text joins the
        // answer, which the visitor sees growing. (A JSON answer is read
        // whole at the end.)
        let mut raw = Vec::new();
        let mut received = 0;
        let mut answer = Answer::default();
        let mut first_token = None;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(failed)?;
            received += chunk.len();
            if received > MAX_RESPONSE {
                return Err(EngineError::Failed(
                    "the endpoint's answer is too long".into(),
                ));
            }
            raw.extend_from_slice(&chunk);
            if !streamed {
                continue; // A JSON answer is read whole at the end.
            }
            // Whole lines only; a line cut by the chunk waits for the rest.
            let Some(end) = raw.iter().rposition(|b| *b == b'\n') else {
                continue;
            };
            let lines: Vec<u8> = raw.drain(..=end).collect();
            let before = answer.tokens;
            answer.read(&String::from_utf8_lossy(&lines))?;
            if answer.tokens > before {
                first_token.get_or_insert_with(|| started.elapsed());
                progress.send_replace(text_so_far(answer.text.as_bytes()));
            }
            // Done, even if the endpoint keeps the connection open.
            if answer.done {
                break;
            }
        }
        // An answer sent whole (not streamed), or a last line without its
        // newline.
        answer.finish(streamed, &String::from_utf8_lossy(&raw))?;
        Ok(Generated {
            text: answer.text.trim().to_owned(),
            tokens: answer.tokens,
            first_token: first_token.unwrap_or_else(|| started.elapsed()),
            took: started.elapsed(),
        })
    }
}

/// The endpoint's URL with the completions path.
fn completions_url(url: &str) -> Result<reqwest::Url, EngineError> {
    let bad = |why: &str| {
        EngineError::NotConfigured(format!(
            "MINICOM_ASSISTANT_URL {why} (e.g. https://api.example.com/v1), got {url:?}"
        ))
    };
    let mut parsed = reqwest::Url::parse(url).map_err(|_| bad("is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("must start with https:// or http://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    let base = parsed.path().trim_end_matches('/').to_owned();
    let path = if base.ends_with("chat/completions") {
        base
    } else if base.is_empty() {
        "/v1/chat/completions".to_owned()
    } else {
        format!("{base}/chat/completions")
    };
    parsed.set_path(&path);
    Ok(parsed)
}

impl Engine for Remote {
    fn generate(
        &self,
        request: Request,
        progress: Progress,
    ) -> BoxFuture<'_, Result<Generated, EngineError>> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::from_std(request.deadline);
            self.in_flight.fetch_add(1, Ordering::Relaxed);
            let result = tokio::time::timeout_at(deadline, self.call(request, &progress)).await;
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            result.unwrap_or(Err(EngineError::Timeout))
        })
    }

    fn queue_depth(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// The answer so far, read from the endpoint's events.
#[derive(Default)]
struct Answer {
    text: String,
    /// Streaming servers send one event per token.
    tokens: usize,
    /// The endpoint said `[DONE]`.
    done: bool,
}

impl Answer {
    /// Reads whole lines of server-sent events.
    fn read(&mut self, lines: &str) -> Result<(), EngineError> {
        for data in lines.lines().filter_map(|l| l.strip_prefix("data:")) {
            let data = data.trim();
            if data == "[DONE]" {
                self.done = true;
                return Ok(());
            }
            if data.is_empty() {
                continue;
            }
            let chunk: StreamChunk = serde_json::from_str(data).map_err(unreadable)?;
            self.take(chunk)?;
        }
        Ok(())
    }

    /// What is left at the end: the last event, or the whole JSON answer.
    fn finish(&mut self, streamed: bool, rest: &str) -> Result<(), EngineError> {
        if streamed {
            return self.read(rest);
        }
        let chunk: StreamChunk = serde_json::from_str(rest.trim()).map_err(unreadable)?;
        self.take(chunk)
    }

    /// Adds a chunk's text (the empty deltas servers open with are no
    /// token); an error the endpoint reports instead fails the answer.
    fn take(&mut self, chunk: StreamChunk) -> Result<(), EngineError> {
        if let Some(error) = chunk.error {
            let said = error
                .get("message")
                .and_then(|m| m.as_str())
                .map_or_else(|| error.to_string(), str::to_owned);
            let said: String = said.chars().take(200).collect();
            return Err(EngineError::Failed(format!(
                "the endpoint reported: {said}"
            )));
        }
        for choice in chunk.choices {
            if let Some(content) = choice.delta.or(choice.message).and_then(|d| d.content)
                && !content.is_empty()
            {
                self.text.push_str(&content);
                self.tokens += 1;
            }
        }
        Ok(())
    }
}

fn unreadable(e: serde_json::Error) -> EngineError {
    EngineError::Failed(format!("unreadable answer: {e}"))
}

#[derive(Deserialize)]
struct StreamChunk {
    #[serde(default)]
    choices: Vec<Choice>,
    /// What an endpoint sends instead when it fails mid-answer.
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    /// Non-streaming answers carry the whole message instead.
    #[serde(default)]
    message: Option<Delta>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Server-sent events fed in two pieces, cut in the middle of a line,
    /// as a network may.
    fn read(body: &str) -> (String, usize) {
        let mut answer = Answer::default();
        let cut = body.len() / 2;
        let (first, rest) = body.split_at(body.floor_char_boundary(cut));
        let end = first.rfind('\n').map_or(0, |e| e + 1);
        answer.read(&first[..end]).unwrap();
        answer
            .finish(true, &format!("{}{rest}", &first[end..]))
            .unwrap();
        (answer.text, answer.tokens)
    }

    #[test]
    fn streamed_deltas_are_joined() {
        let body = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r\n\r\n\
                    data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n\
                    data:{\"choices\":[{\"delta\":{\"content\":\"lo!\"}}]}\n\n\
                    data: [DONE]";
        // The opening empty delta is no token.
        assert_eq!(read(body), ("Hello!".to_owned(), 2));
    }

    #[test]
    fn a_whole_answer_is_read_too() {
        let body = "{\n  \"choices\": [{\"message\": {\"role\": \"assistant\", \"content\": \"Hi\"}}]\n}\n";
        let mut answer = Answer::default();
        answer.finish(false, body).unwrap();
        assert_eq!(answer.text, "Hi");
        assert!(
            Answer::default()
                .finish(false, "<html>Sign in</html>")
                .is_err()
        );
    }

    #[test]
    fn done_ends_the_answer_and_an_error_event_fails_it() {
        let mut answer = Answer::default();
        answer
            .read("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n")
            .unwrap();
        assert!(answer.done);
        assert_eq!(answer.text, "Hi");
        let failed = Answer::default()
            .read("data: {\"error\":{\"message\":\"model overloaded\"}}\n\n")
            .unwrap_err();
        assert!(failed.to_string().contains("model overloaded"), "{failed}");
    }

    #[test]
    fn urls_name_the_completions_path() {
        let path = |url| completions_url(url).map(|u| u.to_string());
        assert_eq!(
            path("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(
            path("https://api.example.com/v1").unwrap(),
            "https://api.example.com/v1/chat/completions"
        );
        assert_eq!(
            path("http://h:1/v1/chat/completions/").unwrap(),
            "http://h:1/v1/chat/completions"
        );
        assert!(path("ftp://api.example.com").is_err());
        assert!(path("api.example.com").is_err());
    }
}
