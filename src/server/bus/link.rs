//! One connection to Redis for commands, made again after it fails.
//!
//! `redis`'s multiplexed connection does not reconnect by itself: after
//! Redis restarts every command on it fails. A [`Link`] drops a connection
//! that failed and retries once on a new one, so the first command after an
//! outage is not lost; while Redis stays down it fails within
//! [`COMMAND_TIMEOUT`], and then at once for a second ([`REST`]), so hot
//! paths (a greeting, a send) do not each wait for their own timeout.

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
    /// Until when calls fail at once (Redis just failed one).
    rest_until: std::sync::Mutex<Option<std::time::Instant>>,
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
            rest_until: std::sync::Mutex::new(None),
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
        self.attempt(Work::One(command)).await
    }

    /// Runs a pipeline of commands in one round trip (retried once on a new
    /// connection).
    pub async fn run_all<T: redis::FromRedisValue>(
        &self,
        pipeline: &redis::Pipeline,
    ) -> Result<T, BusError> {
        self.attempt(Work::All(pipeline)).await
    }

    /// Sends `work`. Only a connection that was already broken when it was
    /// sent (Redis restarted since: the command never reached it) is
    /// retried, on a new one; an answer that did not come in time is not,
    /// as the command may have run (a count counted twice). While Redis is
    /// down every call fails at once for a moment, rather than each waiting
    /// for its own timeout.
    async fn attempt<T: redis::FromRedisValue>(&self, work: Work<'_>) -> Result<T, BusError> {
        if self.resting() {
            return Err(BusError::Unreachable(
                "Redis failed a moment ago; trying again shortly".into(),
            ));
        }
        let mut conn = self.connection().await.inspect_err(|_| self.rest())?;
        match work.send(&mut conn).await {
            Ok(value) => Ok(value),
            Err(err) if err.is_connection_dropped() || err.is_connection_refusal() => {
                self.forget();
                let mut conn = self.connection().await.inspect_err(|_| self.rest())?;
                work.send(&mut conn).await.map_err(|err| {
                    self.forget();
                    self.rest();
                    unreachable(err)
                })
            }
            Err(err) => {
                if err.is_timeout() || err.is_io_error() {
                    self.forget();
                    self.rest();
                }
                Err(unreachable(err))
            }
        }
    }

    /// Whether calls fail at once (Redis failed less than [`REST`] ago).
    fn resting(&self) -> bool {
        self.rest_until
            .lock()
            .ok()
            .and_then(|until| *until)
            .is_some_and(|until| std::time::Instant::now() < until)
    }

    fn rest(&self) {
        if let Ok(mut until) = self.rest_until.lock() {
            *until = Some(std::time::Instant::now() + REST);
        }
    }
}

/// A command or a pipeline of them.
#[derive(Clone, Copy)]
enum Work<'a> {
    One(&'a redis::Cmd),
    All(&'a redis::Pipeline),
}

impl Work<'_> {
    async fn send<T: redis::FromRedisValue>(
        self,
        conn: &mut MultiplexedConnection,
    ) -> redis::RedisResult<T> {
        match self {
            Self::One(command) => command.query_async(conn).await,
            Self::All(pipeline) => pipeline.query_async(conn).await,
        }
    }
}

/// How long calls fail at once after Redis failed one.
const REST: Duration = Duration::from_secs(1);

pub fn unreachable(err: redis::RedisError) -> BusError {
    BusError::Unreachable(err.to_string())
}
