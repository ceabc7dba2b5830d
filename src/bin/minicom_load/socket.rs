//! WebSockets as a browser opens them: from a loopback source address, with
//! the cookie the page load or sign-in gave, reading `hello` first.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::StreamExt;
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::http::connect_from;

pub type Ws = WebSocketStream<TcpStream>;

/// Where the server listens and which local addresses connections come from.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub sources: Vec<IpAddr>,
    /// An HTTP client per source address, in the same order.
    http: Vec<reqwest::Client>,
}

impl Target {
    pub fn new(addr: SocketAddr, sources: Vec<IpAddr>) -> anyhow::Result<Self> {
        let http = crate::http::clients(&sources)?;
        Ok(Self {
            addr,
            sources,
            http,
        })
    }

    /// The HTTP client for the `i`th connection (from [`Target::source`]).
    pub fn client(&self, i: usize) -> &reqwest::Client {
        &self.http[i % self.http.len()]
    }

    /// The source address for the `i`th connection (round robin).
    pub fn source(&self, i: usize) -> IpAddr {
        self.sources[i % self.sources.len()]
    }
}

/// Which identity a socket speaks for.
#[derive(Clone, Copy)]
pub enum Role {
    Visitor,
    Agent,
}

/// The parts of a server frame the load generator looks at; the rest is
/// skipped while parsing.
#[derive(Deserialize)]
pub struct Frame {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "message_or_text")]
    pub message: Option<MessageView>,
    #[serde(default)]
    pub conversation: Option<RowView>,
    #[serde(default)]
    pub code: Option<String>,
}

/// A frame's `message`: the stored message, or (in an `error` frame) the
/// error's text, which is skipped. Without this an error frame failed to
/// parse, and a refusal was counted as "unparsable frame" instead of by its
/// code.
fn message_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MessageView>, D::Error> {
    struct MessageOrText;
    impl<'de> Visitor<'de> for MessageOrText {
        type Value = Option<MessageView>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a message or an error's text")
        }

        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            MessageView::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_any(MessageOrText)
}

#[derive(Deserialize)]
pub struct MessageView {
    pub id: i64,
    pub conversation_id: i64,
    pub sender: String,
    pub body: String,
}

#[derive(Deserialize)]
pub struct RowView {
    pub last_message_preview: String,
}

/// How long opening a socket (connect, upgrade, hello) may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(20);

/// Opens a socket and waits for its `hello`. Errors are short kinds for the
/// report ("refused: HTTP 429", "closed 1013 before hello", …).
pub async fn open(target: &Target, i: usize, role: Role, cookie: &str) -> Result<Ws, String> {
    tokio::time::timeout(OPEN_TIMEOUT, open_inner(target, i, role, cookie))
        .await
        .unwrap_or_else(|_| Err("open timed out".into()))
}

async fn open_inner(target: &Target, i: usize, role: Role, cookie: &str) -> Result<Ws, String> {
    let stream = connect_from(target.source(i), target.addr)
        .await
        .map_err(|e| format!("connect: {}", e.kind()))?;
    let role = match role {
        Role::Visitor => "visitor",
        Role::Agent => "agent",
    };
    let mut request = format!("ws://{}/ws?role={role}", target.addr)
        .into_client_request()
        .map_err(|e| format!("request: {e}"))?;
    request.headers_mut().insert(
        "Cookie",
        HeaderValue::from_str(cookie).map_err(|_| "bad cookie".to_owned())?,
    );
    // Small buffers, as the server's: tens of thousands of these fit.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .map_err(|e| match e {
            tungstenite::Error::Http(response) => {
                format!("refused: HTTP {}", response.status().as_u16())
            }
            other => format!("upgrade: {other}"),
        })?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: Frame =
                    serde_json::from_str(&text).map_err(|_| "unparsable first frame".to_owned())?;
                return if frame.kind == "hello" {
                    Ok(ws)
                } else {
                    Err(format!("first frame was {} instead of hello", frame.kind))
                };
            }
            Some(Ok(Message::Close(close))) => {
                let code = close.map_or(1005, |c| u16::from(c.code));
                return Err(format!("closed {code} before hello"));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("ended before hello".into()),
        }
    }
}

/// A `send` frame, written by hand: this is the hot path of the generator.
pub fn send_frame(conversation: Option<i64>, body: &str) -> Message {
    let client_id = uuid::Uuid::new_v4();
    let text = match conversation {
        Some(c) => format!(
            r#"{{"type":"send","conversation_id":{c},"client_id":"{client_id}","body":"{body}"}}"#
        ),
        None => format!(r#"{{"type":"send","client_id":"{client_id}","body":"{body}"}}"#),
    };
    Message::text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_frame_is_read_by_its_code_and_an_ack_by_its_message() {
        let refused: Frame = serde_json::from_str(
            r#"{"type":"error","code":"rate_limited","message":"Slow down.","retry_after_ms":250}"#,
        )
        .unwrap();
        assert_eq!(refused.kind, "error");
        assert_eq!(refused.code.as_deref(), Some("rate_limited"));
        assert!(refused.message.is_none());
        let ack: Frame = serde_json::from_str(
            r#"{"type":"ack","message":{"id":7,"conversation_id":3,"sender":"contact","body":"hi","seq":7}}"#,
        )
        .unwrap();
        assert_eq!(ack.message.map(|m| (m.id, m.conversation_id)), Some((7, 3)));
    }
}
