//! The embedded database as a file, for backups (`server::backup`): who is
//! using it, a consistent copy of it while the server keeps writing, and the
//! checks a copy passes before it may replace the database.

use std::fs::File;
use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use super::StoreError;

/// A lock on the file beside an SQLite database (`<database>.lock`), held
/// as long as this value lives. Every process that opens the database holds
/// it shared (servers, `minicom agent`, a backup); a restore holds it
/// exclusively, so it never replaces a database something has open, and
/// nothing opens one while it is being replaced.
///
/// Where the file system cannot lock (some network mounts), it warns and
/// goes on unlocked: a server must still start there.
pub struct InUse {
    _file: Option<File>,
}

impl InUse {
    /// Shared: refused only while a restore runs.
    pub fn shared(database: &Path) -> Result<Self, StoreError> {
        Self::take(database, libc::LOCK_SH)
    }

    /// Exclusive: refused while anything has the database open, and where
    /// the lock cannot be taken at all (a restore must know).
    pub fn exclusive(database: &Path) -> Result<Self, StoreError> {
        let lock = Self::take(database, libc::LOCK_EX)?;
        if lock._file.is_none() {
            return Err(StoreError::Unlockable(
                lock_path(database).display().to_string(),
            ));
        }
        Ok(lock)
    }

    fn take(database: &Path, how: libc::c_int) -> Result<Self, StoreError> {
        use std::os::fd::AsRawFd;
        let path = lock_path(database);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        // Read-only is enough to lock: a lock file another user created
        // (a restore run as root) still works.
        let opened = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .or_else(|_| File::open(&path));
        let file = match opened {
            Ok(file) => file,
            Err(err) => {
                tracing::warn!(lock = %path.display(), %err, "could not open the database's lock file; going on without it (a restore cannot tell that this process uses the database)");
                return Ok(Self { _file: None });
            }
        };
        // SAFETY: flock on a descriptor this function owns; no memory is shared.
        if unsafe { libc::flock(file.as_raw_fd(), how | libc::LOCK_NB) } != 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::WouldBlock {
                return Err(StoreError::InUse(database.display().to_string()));
            }
            tracing::warn!(lock = %path.display(), %err, "this file system cannot lock the database's lock file; going on without it (a restore cannot tell that this process uses the database)");
            return Ok(Self { _file: None });
        }
        Ok(Self { _file: Some(file) })
    }
}

/// The lock file beside `database` (or any path).
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// What a database holds, as a backup and a restore report it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub agents: i64,
    pub contacts: i64,
    pub conversations: i64,
    pub messages: i64,
    pub files: i64,
}

impl std::fmt::Display for Counts {
    /// "1 conversation, 2 messages, 1 contact, 1 teammate, 0 files".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counted = |n: i64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        write!(
            f,
            "{}, {}, {}, {}, {}",
            counted(self.conversations, "conversation"),
            counted(self.messages, "message"),
            counted(self.contacts, "contact"),
            counted(self.agents, "teammate"),
            counted(self.files, "file")
        )
    }
}

fn options(database: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(database)
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(5))
}

async fn connect(database: &Path) -> Result<SqliteConnection, StoreError> {
    Ok(options(database).connect().await?)
}

/// Writes a consistent copy of the database at `database` into `into` (a
/// file that must not exist yet) while the server keeps serving:
/// `VACUUM INTO` reads one snapshot, which in WAL mode blocks no writer.
/// The copy is compact and needs no `-wal` file beside it.
pub async fn copy(database: &Path, into: &Path) -> Result<(), StoreError> {
    if !database.exists() {
        return Err(StoreError::Corrupt(format!(
            "there is no database at {}",
            database.display()
        )));
    }
    let mut conn = connect(database).await?;
    let target = into
        .to_str()
        .ok_or_else(|| StoreError::Corrupt(format!("{} is not a UTF-8 path", into.display())))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// Checks a copy before it may replace a database: SQLite's integrity
/// check, then this Minicom's migrations (a copy made by an older version is
/// brought up to date; one with a migration this version does not know, or
/// whose migration differs, is refused). Returns what it holds.
pub async fn verify(database: &Path) -> Result<Counts, StoreError> {
    // A pool of one rather than a bare connection: the migrator borrows its
    // connection for a lifetime a spawned task cannot name otherwise.
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options(database))
        .await?;
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check(5)")
        .fetch_all(&pool)
        .await?;
    if problems != ["ok"] {
        pool.close().await;
        return Err(StoreError::Corrupt(problems.join("; ")));
    }
    sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
    let counts = sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(
        "SELECT (SELECT COUNT(*) FROM agents), (SELECT COUNT(*) FROM contacts),
                (SELECT COUNT(*) FROM conversations), (SELECT COUNT(*) FROM messages),
                (SELECT COUNT(*) FROM uploads WHERE message_id IS NOT NULL)",
    )
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    Ok(Counts {
        agents: counts.0,
        contacts: counts.1,
        conversations: counts.2,
        messages: counts.3,
        files: counts.4,
    })
}

/// The ids of the files the messages in `database` carry (the parts to
/// copy from a files' folder into a backup of it).
pub async fn file_ids(database: &Path) -> Result<Vec<String>, StoreError> {
    let mut conn = connect(database).await?;
    let ids = sqlx::query_scalar("SELECT id FROM uploads WHERE message_id IS NOT NULL ORDER BY id")
        .fetch_all(&mut conn)
        .await?;
    conn.close().await?;
    Ok(ids)
}
