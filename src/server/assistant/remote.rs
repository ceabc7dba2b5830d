//! The remote engine: any OpenAI-compatible `/v1/chat/completions` endpoint
//! (llama.cpp's server, vLLM, Ollama) over plain HTTP, with streaming.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use futures::future::BoxFuture;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::drafts::Progress;
use super::{Engine, EngineError, Generated, Request, Role};

/// Longest response accepted from the endpoint.
const MAX_RESPONSE: usize = 1024 * 1024;

/// Where to send requests.
pub struct Remote {
    /// `host:port`.
    authority: String,
    /// The path of the completions endpoint.
    path: String,
    model: String,
    api_key: Option<String>,
    max_reply: u32,
    in_flight: AtomicUsize,
}

impl Remote {
    /// `url` is the endpoint's base, e.g. `http://10.0.0.5:8080` (the path
    /// `/v1/chat/completions` is added unless the URL already ends with it).
    pub fn new(
        url: &str,
        model: String,
        api_key: Option<String>,
        max_reply: u32,
    ) -> Result<Self, EngineError> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            EngineError::NotConfigured(format!(
                "MINICOM_ASSISTANT_URL must start with http:// (put a TLS proxy in front of https endpoints), got {url:?}"
            ))
        })?;
        let (authority, base) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        if authority.is_empty() {
            return Err(EngineError::NotConfigured(format!(
                "MINICOM_ASSISTANT_URL has no host: {url:?}"
            )));
        }
        let base = base.trim_end_matches('/');
        let path = if base.ends_with("chat/completions") {
            format!("/{base}")
        } else if base.is_empty() {
            "/v1/chat/completions".to_owned()
        } else {
            format!("/{base}/chat/completions")
        };
        Ok(Self {
            authority: authority.to_owned(),
            path,
            model,
            api_key,
            max_reply,
            in_flight: AtomicUsize::new(0),
        })
    }

    async fn call(&self, request: Request) -> Result<Generated, EngineError> {
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
        let auth = self
            .api_key
            .as_ref()
            .map(|key| format!("Authorization: Bearer {key}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.path,
            self.authority,
            body.len()
        );
        let unreachable =
            |e: std::io::Error| EngineError::Failed(format!("{}: {e}", self.authority));
        let mut stream = TcpStream::connect(&self.authority)
            .await
            .map_err(unreachable)?;
        stream
            .write_all(format!("{head}{body}").as_bytes())
            .await
            .map_err(unreachable)?;
        // Read the stream as it comes, noting when the first token arrives.
        let mut raw = Vec::new();
        let mut first_token = None;
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).await.map_err(unreachable)?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&chunk[..n]);
            if first_token.is_none() && raw.windows(9).any(|w| w == b"\"content\"") {
                first_token = Some(started.elapsed());
            }
            if raw.len() > MAX_RESPONSE {
                return Err(EngineError::Failed(
                    "the endpoint's answer is too long".into(),
                ));
            }
        }
        let head_end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| EngineError::Failed("the endpoint sent no HTTP response".into()))?;
        let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0);
        let body = &raw[head_end + 4..];
        let body = if head.contains("transfer-encoding: chunked") {
            crate::server::http::decode_chunked(body)
                .map_err(|e| EngineError::Failed(format!("unreadable answer: {e}")))?
        } else {
            body.to_vec()
        };
        let body = String::from_utf8_lossy(&body);
        if status != 200 {
            let snippet: String = body.chars().take(200).collect();
            return Err(EngineError::Failed(format!(
                "the endpoint answered HTTP {status}: {snippet}"
            )));
        }
        let (reply, tokens) = parse_stream(&body)?;
        Ok(Generated {
            text: reply.trim().to_owned(),
            tokens,
            first_token: first_token.unwrap_or_else(|| started.elapsed()),
            took: started.elapsed(),
        })
    }
}

impl Engine for Remote {
    /// The answer arrives whole: this hand-written client reads the
    /// response to the end before parsing it, so `progress` stays empty
    /// (the visitor sees the typing dots, then the answer).
    fn generate(
        &self,
        request: Request,
        _progress: Progress,
    ) -> BoxFuture<'_, Result<Generated, EngineError>> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::from_std(request.deadline);
            self.in_flight.fetch_add(1, Ordering::Relaxed);
            let result = tokio::time::timeout_at(deadline, self.call(request)).await;
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            result.unwrap_or(Err(EngineError::Timeout))
        })
    }

    fn queue_depth(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

#[derive(Deserialize)]
struct StreamChunk {
    #[serde(default)]
    choices: Vec<Choice>,
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

/// Joins the `content` of every `data:` event (or reads a non-streamed
/// answer); returns the text and the number of chunks, which streaming
/// servers send one per token.
fn parse_stream(body: &str) -> Result<(String, usize), EngineError> {
    let bad = |e: serde_json::Error| EngineError::Failed(format!("unreadable answer: {e}"));
    let events: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| !d.is_empty() && *d != "[DONE]")
        .collect();
    let chunks: Vec<StreamChunk> = if events.is_empty() {
        vec![serde_json::from_str(body.trim()).map_err(bad)?]
    } else {
        events
            .iter()
            .map(|e| serde_json::from_str(e))
            .collect::<Result<_, _>>()
            .map_err(bad)?
    };
    let mut text = String::new();
    let mut tokens = 0;
    for chunk in chunks {
        for choice in chunk.choices {
            if let Some(content) = choice.delta.or(choice.message).and_then(|d| d.content) {
                text.push_str(&content);
                tokens += 1;
            }
        }
    }
    Ok((text, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_deltas_are_joined() {
        let body = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n\
                    data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n\
                    data: {\"choices\":[{\"delta\":{\"content\":\"lo!\"}}]}\n\n\
                    data: [DONE]\n\n";
        assert_eq!(parse_stream(body).unwrap(), ("Hello!".to_owned(), 2));
    }

    #[test]
    fn a_whole_answer_is_read_too() {
        let body = r#"{"choices":[{"message":{"role":"assistant","content":"Hi"}}]}"#;
        assert_eq!(parse_stream(body).unwrap().0, "Hi");
    }

    #[test]
    fn urls_name_the_completions_path() {
        let remote = |url| Remote::new(url, "m".into(), None, 10).map(|r| (r.authority, r.path));
        assert_eq!(
            remote("http://127.0.0.1:8080").unwrap(),
            ("127.0.0.1:8080".into(), "/v1/chat/completions".into())
        );
        assert_eq!(remote("http://h:1/v1").unwrap().1, "/v1/chat/completions");
        assert_eq!(
            remote("http://h:1/v1/chat/completions").unwrap().1,
            "/v1/chat/completions"
        );
        assert!(remote("https://api.example.com").is_err());
    }
}
