//! Backups of the embedded database: `minicom backup --to FILE`,
//! `minicom restore --from FILE`, and backups on a schedule (`schedule`).
//!
//! A backup is one gzipped tar:
//! - `backup.json`: what it is (format, Minicom's version, when, counts);
//! - `minicom.db`: a consistent copy taken while the server keeps serving
//!   (SQLite's `VACUUM INTO`, see `store::snapshot`), never a copy of the
//!   live file and its write-ahead log;
//! - `files/…`: the files of the messages in that copy, when files are kept
//!   in a folder (kept in the database, they are inside `minicom.db`).
//!
//! A backup is checked before it is written out (SQLite's integrity check on
//! the copy) and again before it is restored, which also applies this
//! version's migrations to a copy an older version made.
//!
//! PostgreSQL deployments back up with PostgreSQL's own tools
//! (docs/deploy.md, "Backups").

mod archive;
mod schedule;

pub use schedule::{Schedule, run as run_schedule};

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;

use serde::{Deserialize, Serialize};

use crate::server::config::{Config, FilesAt};
use crate::server::store::snapshot::{self, Counts, InUse};
use crate::server::store::{self, Engine, StoreError};

/// The archive layout this version writes and reads.
const FORMAT: u32 = 1;

/// The usage text for `minicom backup` and `minicom restore`.
pub const USAGE: &str = "\
Usage:
  minicom backup --to FILE      a consistent copy of the database (and the
                                files' folder) while the server keeps serving
  minicom restore --from FILE   replaces the database with a backup; refused
                                while Minicom (a server, `minicom agent`, a
                                backup) has it open

The database is the one in DATABASE_URL (default sqlite://data/minicom.db)
or --database-url URL, the files those in MINICOM_FILES, as for the server. A restore keeps the
database it replaces beside it (`….before-restore-<time>`).
PostgreSQL: back up with PostgreSQL's tools (docs/deploy.md, \"Backups\").
";

/// Why a backup or a restore did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "`minicom backup` and `restore` are for the embedded SQLite database; with PostgreSQL, use pg_dump or pg_basebackup (docs/deploy.md, \"Backups\")"
    )]
    Postgres,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// (`cause`, not `source`: the sentence already says it, once.)
    #[error("could not {what} {path}: {cause}")]
    Io {
        what: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is not a usable Minicom backup: {why}. Nothing was changed")]
    Damaged { path: PathBuf, why: String },
    #[error("{0} exists already: choose a new file name")]
    Exists(PathBuf),
    #[error("there is no database at {0}: check DATABASE_URL (or --database-url)")]
    NoDatabase(PathBuf),
}

impl BackupError {
    fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |cause| Self::Io { what, path, cause }
    }
}

/// Where the data to back up lives.
#[derive(Clone, Debug)]
pub struct Place {
    pub database: PathBuf,
    /// The files' folder, when files are kept in one.
    pub files: Option<PathBuf>,
}

impl Place {
    /// The database and files `config` points at; only SQLite backs up here.
    pub fn of(config: &Config) -> Result<Self, BackupError> {
        let file = match Engine::of(&config.database_url)? {
            Engine::Sqlite => store::database_file(&config.database_url).unwrap_or_default(),
            Engine::Postgres => return Err(BackupError::Postgres),
        };
        if file.is_empty() || file == ":memory:" {
            return Err(BackupError::Store(StoreError::UnsupportedUrl(
                config.database_url.clone(),
            )));
        }
        Ok(Self {
            database: PathBuf::from(file),
            files: match &config.files.storage {
                FilesAt::Default => {
                    Some(crate::server::files::default_folder(&config.database_url))
                }
                FilesAt::Folder(folder) => Some(folder.clone()),
                FilesAt::Database => None,
            },
        })
    }
}

/// What a backup says about itself (`backup.json`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The Minicom version that wrote it.
    pub minicom: String,
    /// Milliseconds since the Unix epoch, when the copy was taken.
    pub taken_at: i64,
    pub counts: Counts,
    /// The files were kept in the database (`MINICOM_FILES=database`), so
    /// they are inside its copy, not beside it.
    #[serde(default)]
    pub files_in_database: bool,
}

/// What a backup or restore did.
#[derive(Debug)]
pub struct Done {
    pub manifest: Manifest,
    /// The archive's size.
    pub bytes: u64,
    /// A backup: files of the copy whose bytes were gone from the folder.
    pub missing_files: Vec<String>,
    /// A restore: where what it replaced was put.
    pub kept_aside: KeptAside,
}

/// A scratch folder beside the destination (so the last step is a rename
/// on one file system), removed however the work ends. While it is in use
/// its lock (`<folder>.lock`) is held, so a later run can tell one a crashed
/// run left (a whole database copy) from one another process is using.
struct Scratch {
    path: PathBuf,
    lock: Option<InUse>,
}

const SCRATCH_PREFIX: &str = ".minicom-scratch-";

impl Scratch {
    fn beside(path: &Path) -> Result<Self, BackupError> {
        let dir = folder_of(path);
        remove_abandoned(dir);
        let path = dir.join(format!(
            "{SCRATCH_PREFIX}{}-{}",
            std::process::id(),
            store::now().0
        ));
        // Where the file system cannot lock (some network shares), the
        // folder goes unlocked, and a later run never removes it.
        let lock = match InUse::exclusive(&path) {
            Ok(lock) => Some(lock),
            Err(StoreError::Unlockable(_)) => None,
            Err(err) => return Err(err.into()),
        };
        std::fs::create_dir(&path).map_err(BackupError::io("create", &path))?;
        Ok(Self { path, lock })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        self.lock.take();
        let _ = std::fs::remove_file(snapshot::lock_path(&self.path));
    }
}

fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Removes scratch folders nobody holds the lock of (a backup or restore
/// that crashed leaves a whole database copy behind).
fn remove_abandoned(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let scratch = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(SCRATCH_PREFIX) && !n.ends_with(".lock"));
        if scratch && let Ok(_abandoned) = InUse::exclusive(&path) {
            let _ = std::fs::remove_dir_all(&path);
            let _ = std::fs::remove_file(snapshot::lock_path(&path));
        }
    }
}

/// Writes a backup of `place` to `to` (a new file) while the server keeps
/// serving.
pub async fn take(place: &Place, to: &Path) -> Result<Done, BackupError> {
    if to.exists() {
        return Err(BackupError::Exists(to.to_owned()));
    }
    if !place.database.exists() {
        return Err(BackupError::NoDatabase(place.database.clone()));
    }
    let scratch = Scratch::beside(to)?;
    let copy = scratch.path.join(archive::DATABASE);
    // Not while a restore replaces the database or moves its files.
    let in_use = InUse::shared(&place.database)?;
    let taken_at = store::now().0;
    snapshot::copy(&place.database, &copy).await?;
    let counts = snapshot::verify(&copy).await?;
    let files = match &place.files {
        Some(folder) => Some((folder.clone(), snapshot::file_ids(&copy).await?)),
        None => None,
    };
    let manifest = Manifest {
        format: FORMAT,
        minicom: env!("CARGO_PKG_VERSION").to_owned(),
        taken_at,
        counts,
        files_in_database: place.files.is_none(),
    };
    let part = scratch.path.join("backup.part");
    let written = {
        let part = part.clone();
        let json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        tokio::task::spawn_blocking(move || archive::write(&part, &json, &copy, files))
            .await
            .map_err(|err| BackupError::Io {
                what: "write",
                path: to.to_owned(),
                cause: std::io::Error::other(err),
            })?
    };
    drop(in_use);
    let written = written.map_err(BackupError::io("write", to))?;
    std::fs::rename(&part, to).map_err(BackupError::io("write", to))?;
    archive::sync_folder_of(to);
    Ok(Done {
        manifest,
        bytes: written.bytes,
        missing_files: written.missing,
        kept_aside: KeptAside::default(),
    })
}

/// Replaces the database (and files' folder) of `place` with the backup at
/// `from`, keeping what was there beside it. Refused while anything has the
/// database open, and for a backup that is damaged or from a newer Minicom;
/// then nothing changes.
pub async fn restore(place: &Place, from: &Path) -> Result<Done, BackupError> {
    let bytes = std::fs::metadata(from)
        .map_err(BackupError::io("read", from))?
        .len();
    let _in_use = InUse::exclusive(&place.database)?;
    let scratch = Scratch::beside(&place.database)?;
    let damaged = |why: String| BackupError::Damaged {
        path: from.to_owned(),
        why,
    };
    let unpacked = {
        let (from, into) = (from.to_owned(), scratch.path.clone());
        tokio::task::spawn_blocking(move || {
            let manifest = archive::read(&from, &into)?;
            // On disk before anything is replaced by it.
            archive::sync_tree(&into)?;
            Ok::<_, std::io::Error>(manifest)
        })
        .await
        .map_err(|err| damaged(err.to_string()))?
    };
    let json = match unpacked {
        Ok(json) => json,
        // This machine's trouble (its disk), not the backup's.
        Err(err) if local_trouble(&err) => {
            return Err(BackupError::Io {
                what: "unpack the backup into",
                path: scratch.path.clone(),
                cause: err,
            });
        }
        Err(err) => return Err(damaged(err.to_string())),
    };
    let manifest: Manifest = serde_json::from_slice(&json)
        .map_err(|err| damaged(format!("its backup.json is unreadable ({err})")))?;
    if manifest.format != FORMAT {
        return Err(damaged(format!(
            "it was written by Minicom {} in a format this version ({}) does not read",
            manifest.minicom,
            env!("CARGO_PKG_VERSION")
        )));
    }
    let counts = match snapshot::verify(&scratch.path.join(archive::DATABASE)).await {
        Ok(counts) => counts,
        Err(StoreError::Migrate(err)) => {
            return Err(damaged(format!(
                "its database does not match this Minicom's migrations ({err}); restore it with the version that made it ({})",
                manifest.minicom
            )));
        }
        Err(err) => {
            return Err(damaged(format!(
                "its database fails SQLite's checks ({err})"
            )));
        }
    };
    if place.files.is_none() && scratch.path.join(archive::FILES).exists() {
        tracing::warn!(
            "the backup holds files, but MINICOM_FILES=database keeps files in the database: they are not restored"
        );
    }
    if place.files.is_some() && manifest.files_in_database && counts.files > 0 {
        tracing::warn!(
            "the backup kept its files in the database (MINICOM_FILES=database), but this server keeps them in a folder: set MINICOM_FILES=database, or its files will not be found"
        );
    }
    let kept_aside = replace(place, &scratch.path)?;
    Ok(Done {
        manifest: Manifest { counts, ..manifest },
        bytes,
        missing_files: Vec::new(),
        kept_aside,
    })
}

fn local_trouble(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        err.kind(),
        StorageFull | PermissionDenied | ReadOnlyFilesystem | QuotaExceeded | FileTooLarge
    )
}

/// Where a restore put what it replaced.
#[derive(Debug, Default)]
pub struct KeptAside {
    pub database: Option<PathBuf>,
    pub files: Option<PathBuf>,
}

/// Puts the restored files' folder, then the restored database, in place,
/// moving what was there aside under a name no earlier restore used. The
/// database (with any `-wal`, `-shm` or `-journal` beside it, which belong
/// to it) moves last; whatever fails undoes what came before, so at every
/// moment there is either the old database with its files or the restored
/// one with its own.
fn replace(place: &Place, scratch: &Path) -> Result<KeptAside, BackupError> {
    let stamp = format!(
        "before-restore-{}",
        jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S%.fZ")
    );
    let with_suffix = |path: &Path, suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let aside = |path: &Path| with_suffix(path, &format!(".{stamp}"));
    let database_aside = aside(&place.database);
    let files_aside = place.files.as_deref().map(aside);
    for name in std::iter::once(&database_aside).chain(files_aside.as_ref()) {
        if name.exists() {
            return Err(BackupError::Exists(name.clone()));
        }
    }
    // Restored files and database belong to whoever owns the folder (a
    // restore run as root must not leave a server unable to write).
    let owner = owner_of(folder_of(&place.database));
    // Files first.
    let mut kept = KeptAside::default();
    let mut files_placed = None;
    if let (Some(files), Some(files_aside)) = (&place.files, &files_aside) {
        if files.exists() {
            std::fs::rename(files, files_aside).map_err(BackupError::io("move aside", files))?;
            kept.files = Some(files_aside.clone());
        }
        let restored = scratch.join(archive::FILES);
        if restored.exists() {
            let placed = files
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| archive::move_folder(&restored, files));
            if let Err(err) = placed {
                undo_files(files, kept.files.as_deref());
                return Err(BackupError::Io {
                    what: "restore the files into",
                    path: files.clone(),
                    cause: err,
                });
            }
            files_placed = Some(files.clone());
        }
    }
    // Then the database, as one step that is undone whole.
    let mut moved = Vec::new();
    let mut result = Ok(());
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let from = with_suffix(&place.database, suffix);
        if from.exists() {
            let to = with_suffix(&database_aside, suffix);
            if let Err(err) = std::fs::rename(&from, &to) {
                result = Err(BackupError::io("move aside", &from)(err));
                break;
            }
            moved.push((from, to));
        }
    }
    if result.is_ok() {
        let restored = scratch.join(archive::DATABASE);
        if let Some((uid, gid)) = owner {
            let _ = std::os::unix::fs::chown(&restored, Some(uid), Some(gid));
        }
        result = std::fs::rename(restored, &place.database)
            .map_err(BackupError::io("restore", &place.database));
    }
    if let Err(err) = result {
        for (from, to) in moved.iter().rev() {
            let _ = std::fs::rename(to, from);
        }
        if let Some(files) = &place.files {
            undo_files(files, kept.files.as_deref());
        }
        return Err(err);
    }
    if let (Some(files), Some((uid, gid))) = (&files_placed, owner) {
        chown_tree(files, uid, gid);
    }
    archive::sync_folder_of(&place.database);
    kept.database = moved
        .first()
        .filter(|(from, _)| from == &place.database)
        .map(|(_, to)| to.clone());
    Ok(kept)
}

/// Puts the old files' folder back where the restored one was.
fn undo_files(files: &Path, kept: Option<&Path>) {
    let _ = std::fs::remove_dir_all(files);
    if let Some(kept) = kept {
        let _ = std::fs::rename(kept, files);
    }
}

fn owner_of(path: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.uid(), meta.gid()))
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    let _ = std::os::unix::fs::chown(path, Some(uid), Some(gid));
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.filter_map(Result::ok) {
            chown_tree(&entry.path(), uid, gid);
        }
    }
}

/// `minicom backup …` and `minicom restore …`.
pub async fn command(config: &Config, args: &[String]) -> anyhow::Result<()> {
    let (command, rest) = args.split_first().context(USAGE)?;
    let mut config = config.clone();
    let mut path = None;
    let mut rest = rest.iter();
    let wanted = match command.as_str() {
        "backup" => "--to",
        "restore" => "--from",
        _ => anyhow::bail!("{USAGE}"),
    };
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .with_context(|| format!("{flag} needs a value\n\n{USAGE}"));
        match flag.as_str() {
            f if f == wanted => path = Some(PathBuf::from(value?)),
            "--database-url" => config.database_url = value?.clone(),
            other => anyhow::bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    let path = path.with_context(|| format!("{wanted} FILE is required\n\n{USAGE}"))?;
    let place = Place::of(&config)?;
    let database = std::path::absolute(&place.database).unwrap_or(place.database.clone());
    let started = Instant::now();
    if command == "backup" {
        let done = take(&place, &path).await?;
        println!(
            "Backed up {} from {} into {} ({}) in {:.1} s.",
            done.manifest.counts,
            database.display(),
            path.display(),
            human_bytes(done.bytes),
            started.elapsed().as_secs_f64()
        );
        if !done.missing_files.is_empty() {
            println!(
                "{} of those files were no longer in the files' folder (removed since, or lost before) and are not in the backup.",
                done.missing_files.len()
            );
        }
    } else {
        let done = restore(&place, &path).await?;
        let taken = jiff::Timestamp::from_millisecond(done.manifest.taken_at).map_or_else(
            |_| "at an unknown time".into(),
            |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        );
        println!(
            "Restored {} from {} (taken {taken} by Minicom {}) into {}.",
            done.manifest.counts,
            path.display(),
            done.manifest.minicom,
            database.display()
        );
        if let Some(kept) = &done.kept_aside.database {
            println!("The database that was there is kept as {}.", kept.display());
        }
        if let Some(kept) = &done.kept_aside.files {
            println!("The files that were there are kept in {}.", kept.display());
        }
    }
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1_000_000 => format!("{:.0} kB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}
