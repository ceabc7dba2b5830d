//! Helpers for the workflow's tests: waiting for a row, a line, counts or
//! a refusal over a real socket.

use minicom::protocol::{
    AgentId, ClientId, ConversationId, ConversationSummary, ErrorCode, InboxCounts, Me, Message,
    ServerFrame,
};

use super::Client;

/// A visitor writes; returns their conversation.
pub async fn visitor_writes(visitor: &mut Client, body: &str) -> ConversationId {
    let id = visitor.say(None, body).await;
    visitor
        .expect(|f| match f {
            ServerFrame::Ack { client_id, message } if client_id == id => {
                Some(message.conversation_id)
            }
            _ => None,
        })
        .await
}

/// The next row of `conversation` that `pick` accepts.
pub async fn row_where(
    client: &mut Client,
    conversation: ConversationId,
    mut pick: impl FnMut(&ConversationSummary) -> bool,
) -> ConversationSummary {
    client
        .expect(|f| match f {
            ServerFrame::Conversation { conversation: row }
                if row.id == conversation && pick(&row) =>
            {
                Some(row)
            }
            _ => None,
        })
        .await
}

/// The next team-only line in `conversation`.
pub async fn line(client: &mut Client, conversation: ConversationId) -> Message {
    client
        .expect(|f| match f {
            ServerFrame::Message { message }
                if message.conversation_id == conversation && message.internal =>
            {
                Some(message)
            }
            _ => None,
        })
        .await
}

/// The next `counts` frame `pick` accepts.
pub async fn counts_where(client: &mut Client, mut pick: impl FnMut(&InboxCounts) -> bool) {
    client
        .expect(|f| match f {
            ServerFrame::Counts { counts } if pick(&counts) => Some(()),
            _ => None,
        })
        .await
}

/// The next refusal, skipping live frames: its code and `client_id`.
pub async fn refusal(client: &mut Client) -> (ErrorCode, Option<ClientId>) {
    client
        .expect(|f| match f {
            ServerFrame::Error {
                code, client_id, ..
            } => Some((code, client_id)),
            _ => None,
        })
        .await
}

/// The agent a `hello` greets.
pub fn me_of(hello: &ServerFrame) -> AgentId {
    match hello {
        ServerFrame::Hello {
            me: Me::Agent { id, .. },
            ..
        } => *id,
        other => panic!("expected an agent's hello, got {other:?}"),
    }
}

/// Whether a frame `pick` accepts reaches `client` before the answer to a
/// ping sent now (everything already on its way arrives first).
pub async fn arrives_before_pong(
    client: &mut Client,
    mut pick: impl FnMut(&ServerFrame) -> bool,
) -> bool {
    client.send(&minicom::protocol::ClientFrame::Ping).await;
    client
        .expect(|f| match f {
            ServerFrame::Pong => Some(false),
            f if pick(&f) => Some(true),
            _ => None,
        })
        .await
}
