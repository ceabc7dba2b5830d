//! One connection to Redis for commands, made again after it fails.
//!
//! `redis`'s multiplexed connection does not reconnect by itself: after
//! Redis restarts every command on it fails. A [`Link`] drops a connection
//! that failed and retries once on a new one, so the first command after an
//! outage is not lost; while Redis stays down it fails within
//! [`COMMAND_TIMEOUT`].

use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::BusError;

/// How long connecting, or one command, may take before Redis counts as
/// down.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Commands to Redis over one shared connection.
pub struct Link {
    client: redis::Client,
    slot: std::sync::Mutex<Option<MultiplexedConnection>>,
}

impl Link {
    /// Connects to Redis at `url`; fails when the URL is malformed or Redis
    /// does not answer.
    pub async fn connect(url: &str) -> Result<Self, BusError> {
        let client = redis::Client::open(url)
            .map_err(|err| BusError::Unreachable(format!("the Redis URL is not valid: {err}")))?;
        let link = Self {
            client,
            slot: std::sync::Mutex::new(None),
        };
        link.connection().await?;
        Ok(link)
    }

    /// The client, for connections of another kind (pub/sub).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    async fn connection(&self) -> Result<MultiplexedConnection, BusError> {
        if let Some(conn) = self.slot.lock().ok().and_then(|slot| slot.clone()) {
            return Ok(conn);
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(unreachable)?;
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(conn.clone());
        }
        Ok(conn)
    }

    fn forget(&self) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = None;
        }
    }

    /// Runs one command (retried once on a new connection).
    pub async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, BusError> {
        let mut conn = self.connection().await?;
        if let Ok(value) = command.query_async(&mut conn).await {
            return Ok(value);
        }
        self.forget();
        let mut conn = self.connection().await?;
        let answer = command.query_async(&mut conn).await.map_err(unreachable);
        if answer.is_err() {
            self.forget();
        }
        answer
    }

    /// Runs a pipeline of commands in one round trip (retried once on a new
    /// connection).
    pub async fn run_all<T: redis::FromRedisValue>(
        &self,
        pipeline: &redis::Pipeline,
    ) -> Result<T, BusError> {
        let mut conn = self.connection().await?;
        if let Ok(value) = pipeline.query_async(&mut conn).await {
            return Ok(value);
        }
        self.forget();
        let mut conn = self.connection().await?;
        let answer = pipeline.query_async(&mut conn).await.map_err(unreachable);
        if answer.is_err() {
            self.forget();
        }
        answer
    }
}

pub fn unreachable(err: redis::RedisError) -> BusError {
    BusError::Unreachable(err.to_string())
}
