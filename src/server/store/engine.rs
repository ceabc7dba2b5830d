//! The two database engines behind [`Store`](super::Store): what differs
//! between them is here (connecting, migrations, error codes); the SQL the
//! rest of the store runs is the same on both.

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyTypeInfo, AnyTypeInfoKind, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Any, AnyPool, Decode, Executor, Type};

use super::{Durability, StoreError, database_file};

/// Which database a URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// One file beside the server (`sqlite://path/to/file.db`): nothing to
    /// install, one instance (or several on one machine).
    Sqlite,
    /// A PostgreSQL server (`postgres://…`): several instances on several
    /// machines.
    Postgres,
}

/// Numbers the parameters of a statement built at run time, in the order
/// they appear in its text: `$1, $2, …` on PostgreSQL; on SQLite bare `?`s,
/// which its driver binds in order, while it looks each `$n` up by name
/// with a linear search. A batch statement with a thousand `$n`s spent a
/// quarter of the server's time there (`perf`, docs/performance.md).
pub(super) struct Params {
    engine: Engine,
    next: usize,
}

impl Params {
    pub(super) fn new(engine: Engine) -> Self {
        Self { engine, next: 1 }
    }

    /// The next parameter.
    pub(super) fn one(&mut self) -> String {
        let n = self.next;
        self.next += 1;
        match self.engine {
            Engine::Sqlite => "?".to_owned(),
            Engine::Postgres => format!("${n}"),
        }
    }

    /// The next `count` parameters, comma-separated.
    pub(super) fn list(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| self.one())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `rows` parenthesised tuples of the next `width` parameters each.
    pub(super) fn tuples(&mut self, rows: usize, width: usize) -> String {
        (0..rows)
            .map(|_| format!("({})", self.list(width)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Writer tasks on PostgreSQL: enough to overlap each other's round trips
/// on a small machine, few enough to leave the pool's connections to reads.
const POSTGRES_WRITERS: usize = 4;

/// How long a request waits for a database connection before it fails
/// (PostgreSQL down or every connection busy): long enough for a brief
/// hiccup, short enough that a visitor hears of the failure and retries.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Engine {
    /// The engine `url` selects; an error says which URLs are understood.
    pub fn of(url: &str) -> Result<Self, StoreError> {
        if database_file(url).is_some() {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// The engine's name, for logs and `/readyz`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The engine a connection (or a transaction on one) talks to.
    pub(super) fn of_connection(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    /// How many writer tasks commit message batches side by side (see
    /// `writer`): SQLite has one writer at a time; PostgreSQL locks rows.
    pub(super) fn writers(self) -> usize {
        match self {
            Self::Sqlite => 1,
            Self::Postgres => POSTGRES_WRITERS,
        }
    }

    /// A pool of connections to `url`, set up for this engine.
    pub(super) async fn connect(
        self,
        url: &str,
        durability: Durability,
    ) -> Result<AnyPool, StoreError> {
        sqlx::any::install_default_drivers();
        let options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        match self {
            Self::Sqlite => {
                let file = database_file(url).unwrap_or_default();
                if let Some(dir) = std::path::Path::new(file).parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                // Create the file on first start unless the URL says otherwise.
                let url = if url.contains("mode=") {
                    url.to_owned()
                } else if url.contains('?') {
                    format!("{url}&mode=rwc")
                } else {
                    format!("{url}?mode=rwc")
                };
                // WAL lets reads run beside the writer; `synchronous = FULL`
                // flushes every commit, so an ack survives a power cut.
                // `secure_delete = FAST` zeroes what a delete frees inside a
                // page (an erased person's words do not linger in the file)
                // without writing more pages.
                let pragmas = format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = {};
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;
                     PRAGMA secure_delete = FAST; PRAGMA wal_autocheckpoint = {};",
                    match durability {
                        Durability::Full => "FULL",
                        Durability::Normal => "NORMAL",
                    },
                    super::checkpoint::AUTOCHECKPOINT_BACKSTOP,
                );
                Ok(options
                    .max_connections(8)
                    .after_connect(move |conn, _| {
                        let pragmas = pragmas.clone();
                        Box::pin(async move {
                            conn.execute(pragmas.as_str()).await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?)
            }
            // Every commit on PostgreSQL is durable by default
            // (`synchronous_commit = on`); the server's settings decide.
            // A session left in a transaction by an instance that vanished
            // would hold its conversations' row locks until the server
            // noticed (hours): PostgreSQL ends it after 15 s. (The message
            // writer's batches also wait for a lock only so long, see
            // `writer`; other writes wait as long as it takes.)
            Self::Postgres => Ok(options
                .max_connections(16)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("SET idle_in_transaction_session_timeout = '15s'")
                            .await?;
                        Ok(())
                    })
                })
                .connect(url)
                .await?),
        }
    }

    /// Applies the engine's migrations (on PostgreSQL under an advisory
    /// lock, so instances starting together migrate once).
    pub(super) async fn migrate(self, pool: &AnyPool) -> Result<(), StoreError> {
        match self {
            Self::Sqlite => {
                sqlx::migrate!("./migrations/sqlite").run(pool).await?;
                ids_never_reused(pool).await?;
            }
            Self::Postgres => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }
}

/// The tables whose ids must never be given out twice: from the erasures
/// on (a person asked to be forgotten, or the retention period), SQLite
/// would give the newest erased row's id to the next new one, and sockets
/// and pages hold ids (an open thread, a cached owner), so a reused id
/// could show one person's conversation to another.
const NEVER_REUSED: [&str; 2] = ["contacts", "conversations"];

/// Gives [`NEVER_REUSED`] AUTOINCREMENT, once. SQLite cannot add it to a
/// table: each is made again from its own current definition (so columns
/// later migrations add come along), its rows copied, its indexes and
/// triggers made again. Not a migration: sqlx runs those inside a
/// transaction, where foreign keys cannot be switched off, and dropping a
/// referenced table with them on would delete every row that refers to it.
/// One `BEGIN IMMEDIATE` holds the check and the work, so two instances
/// starting together do it once. PostgreSQL's identity columns never reuse
/// ids.
async fn ids_never_reused(pool: &AnyPool) -> Result<(), StoreError> {
    use sqlx::Executor;
    let mut conn = pool.acquire().await?;
    // Off only here, and back on before the connection returns to the pool.
    // `secure_delete = ON` zeroes the old tables' pages as they are freed.
    conn.execute("PRAGMA foreign_keys = OFF; PRAGMA secure_delete = ON")
        .await?;
    let rebuilt = rebuild_with_autoincrement(&mut conn).await;
    if rebuilt.is_err() {
        let _ = conn.execute("ROLLBACK").await;
    }
    let checked = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *conn)
        .await;
    conn.execute("PRAGMA foreign_keys = ON; PRAGMA secure_delete = FAST")
        .await?;
    rebuilt?;
    // Not expected (the rows keep their ids), but said.
    let dangling = checked?.len();
    if dangling > 0 {
        tracing::warn!(
            rows = dangling,
            "some rows refer to rows that do not exist; run `PRAGMA foreign_key_check` on the database to see which"
        );
    }
    Ok(())
}

async fn rebuild_with_autoincrement(conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    use sqlx::Executor;
    conn.execute("BEGIN IMMEDIATE").await?;
    for table in NEVER_REUSED {
        let definition: String =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
                .bind(table)
                .fetch_one(&mut *conn)
                .await?;
        if definition.contains("AUTOINCREMENT") {
            continue;
        }
        let with_it = autoincrement(&definition, table).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the definition of {table} is not the expected `CREATE TABLE {table} (id INTEGER PRIMARY KEY, …)`"
            ))
        })?;
        let extras: Vec<String> = sqlx::query_scalar(
            "SELECT sql FROM sqlite_master
             WHERE tbl_name = $1 AND type IN ('index', 'trigger') AND sql IS NOT NULL",
        )
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
        let steps = [
            with_it,
            format!("INSERT INTO {table}_new SELECT * FROM {table}"),
            format!("DROP TABLE {table}"),
            format!("ALTER TABLE {table}_new RENAME TO {table}"),
        ];
        for step in steps.iter().chain(&extras) {
            conn.execute(step.as_str()).await?;
        }
    }
    conn.execute("COMMIT").await?;
    Ok(())
}

/// `CREATE TABLE <table> (id INTEGER PRIMARY KEY …` as `CREATE TABLE
/// <table>_new (id INTEGER PRIMARY KEY AUTOINCREMENT …`; `None` when the
/// definition does not start so.
fn autoincrement(definition: &str, table: &str) -> Option<String> {
    let rest = definition.strip_prefix("CREATE TABLE ")?.trim_start();
    let rest = rest
        .strip_prefix(&format!("\"{table}\""))
        .or_else(|| rest.strip_prefix(table))?;
    let key = "INTEGER PRIMARY KEY";
    let at = rest.find(key)? + key.len();
    Some(format!(
        "CREATE TABLE {table}_new{} AUTOINCREMENT{}",
        &rest[..at],
        &rest[at..]
    ))
}

/// The SQLSTATE of a database error, if that is what it is.
pub(super) fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|e| e.code())
        .map(|code| code.into_owned())
}

/// A transaction PostgreSQL aborted because it crossed another (a deadlock,
/// a serialization failure, a lock it waited for too long): running it
/// again succeeds.
pub(super) fn is_transient(err: &sqlx::Error) -> bool {
    matches!(sqlstate(err).as_deref(), Some("40001" | "40P01" | "55P03"))
}

/// A unique index refused the write (PostgreSQL's `23505`, SQLite's
/// "UNIQUE constraint failed").
pub(super) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// A yes/no read from either engine: PostgreSQL returns booleans, SQLite
/// stores 0 and 1 and computes comparisons as integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Flag(pub bool);

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <bool as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        matches!(
            ty.kind(),
            AnyTypeInfoKind::Bool
                | AnyTypeInfoKind::SmallInt
                | AnyTypeInfoKind::Integer
                | AnyTypeInfoKind::BigInt
        )
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        match <bool as Decode<Any>>::decode(value.clone()) {
            Ok(flag) => Ok(Self(flag)),
            Err(_) => Ok(Self(<i64 as Decode<Any>>::decode(value)? != 0)),
        }
    }
}

/// A yes/no column of a row, from either engine.
pub(super) fn flag(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    Ok(row.try_get::<Flag, _>(column)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_gets_autoincrement_whichever_way_its_name_is_written() {
        assert_eq!(
            autoincrement(
                "CREATE TABLE contacts (\n    id INTEGER PRIMARY KEY,\n    name TEXT)",
                "contacts"
            )
            .as_deref(),
            Some(
                "CREATE TABLE contacts_new (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    name TEXT)"
            )
        );
        assert_eq!(
            autoincrement(
                "CREATE TABLE \"conversations\" (id INTEGER PRIMARY KEY, x)",
                "conversations"
            )
            .as_deref(),
            Some("CREATE TABLE conversations_new (id INTEGER PRIMARY KEY AUTOINCREMENT, x)")
        );
        assert_eq!(
            autoincrement("CREATE TABLE other (id INTEGER PRIMARY KEY)", "contacts"),
            None
        );
        assert_eq!(
            autoincrement("CREATE TABLE contacts (id TEXT)", "contacts"),
            None
        );
    }

    #[test]
    fn parameters_are_numbered_in_order_or_bare_on_sqlite() {
        let mut pg = Params::new(Engine::Postgres);
        assert_eq!(pg.one(), "$1");
        assert_eq!(pg.tuples(2, 2), "($2, $3), ($4, $5)");
        let mut sqlite = Params::new(Engine::Sqlite);
        assert_eq!(sqlite.list(3), "?, ?, ?");
    }
}
