//! `search`: the team's search over every conversation (agents only).

use super::*;
use crate::protocol::SearchQuery;
use crate::server::search::{self, SearchError};

pub(super) async fn on_search(
    conn: &Conn,
    search_id: u32,
    query: SearchQuery,
) -> Result<(), ProtocolError> {
    if !matches!(conn.peer, Peer::Agent(_)) {
        return Err(ProtocolError::AgentsOnly("search"));
    }
    let started = std::time::Instant::now();
    let hits = match search::search(&conn.state.store, &query).await {
        Ok(hits) => hits,
        Err(SearchError::Invalid(err)) => return Err(err),
        Err(SearchError::Store(err)) => return Err(internal(err)),
    };
    tracing::debug!(hits = hits.len(), took = ?started.elapsed(), "searched");
    conn.reply(&ServerFrame::SearchResults { search_id, hits })
        .await;
    Ok(())
}
