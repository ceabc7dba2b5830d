//! Backups on a schedule (`MINICOM_BACKUP_DIR`, `MINICOM_BACKUP_EVERY`,
//! `MINICOM_BACKUP_KEEP`): one every interval into the folder, the oldest
//! removed beyond the count to keep. `/metrics` shows when the last good
//! one was taken; a failure is logged and retried, and never makes the
//! server unready (it still serves; the backups are what is missing).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use super::Place;
use crate::server::metrics::Metrics;

/// A failed backup is tried again after this long (or the interval, if
/// shorter).
const RETRY: Duration = Duration::from_secs(10 * 60);

/// Backups are named `minicom-<UTC time>.tar.gz`
/// (`minicom-20261205T101500.123Z.tar.gz`); only files named exactly so are
/// counted and removed, never a backup someone put there by hand.
const PREFIX: &str = "minicom-";
const SUFFIX: &str = ".tar.gz";

/// Whether `name` is a scheduled backup's name.
fn scheduled_name(name: &str) -> bool {
    let Some(time) = name
        .strip_prefix(PREFIX)
        .and_then(|n| n.strip_suffix(SUFFIX))
    else {
        return false;
    };
    let shape = "ddddddddTdddddd.dddZ";
    time.len() == shape.len()
        && time.bytes().zip(shape.bytes()).all(|(c, s)| match s {
            b'd' => c.is_ascii_digit(),
            _ => c == s,
        })
}

/// When and where scheduled backups go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub dir: PathBuf,
    pub every: Duration,
    /// How many to keep (the newest).
    pub keep: usize,
}

impl Schedule {
    /// From the environment; `None` when `MINICOM_BACKUP_DIR` is unset.
    pub fn from_env() -> Result<Option<Self>, String> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let every = env("MINICOM_BACKUP_EVERY");
        let Some(dir) = env("MINICOM_BACKUP_DIR") else {
            return match every {
                Some(_) => Err(
                    "MINICOM_BACKUP_EVERY is set but MINICOM_BACKUP_DIR is not: say which folder backups go to".into(),
                ),
                None => Ok(None),
            };
        };
        let every = match every {
            None => Duration::from_secs(24 * 3600),
            Some(text) => parse_interval(&text).ok_or_else(|| {
                format!("MINICOM_BACKUP_EVERY must be a duration like 30m, 6h or 1d, got {text:?}")
            })?,
        };
        let keep = match env("MINICOM_BACKUP_KEEP") {
            None => 7,
            Some(text) => text.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                format!("MINICOM_BACKUP_KEEP must be a positive whole number, got {text:?}")
            })?,
        };
        Ok(Some(Self {
            dir: PathBuf::from(dir.trim()),
            every,
            keep,
        }))
    }
}

/// `90s`, `30m`, `6h`, `1d`.
fn parse_interval(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit.trim() {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

/// The scheduled backups in `dir`, oldest first (their names sort by time).
fn existing(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(scheduled_name)
        })
        .collect();
    found.sort();
    found
}

fn millis(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Takes a backup every `schedule.every` until the server stops. The first
/// one is due an interval after the newest already in the folder (at once
/// if there is none), so restarts do not multiply them.
pub async fn run(
    place: Place,
    schedule: Schedule,
    metrics: Arc<Metrics>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let newest = existing(&schedule.dir)
        .last()
        .and_then(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok());
    if let Some(at) = newest {
        metrics
            .backup_last_good_ms
            .store(millis(at), Ordering::Relaxed);
    }
    let mut wait = newest
        .and_then(|at| at.elapsed().ok())
        .map_or(Duration::ZERO, |age| schedule.every.saturating_sub(age));
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        }
        let now = crate::server::store::now().0;
        let name = format!(
            "{PREFIX}{}{:03}Z{SUFFIX}",
            jiff::Timestamp::from_millisecond(now)
                .unwrap_or_default()
                .strftime("%Y%m%dT%H%M%S."),
            now.rem_euclid(1000)
        );
        let to = schedule.dir.join(name);
        let taken = match tokio::fs::create_dir_all(&schedule.dir).await {
            Ok(()) => super::take(&place, &to).await,
            Err(source) => Err(super::BackupError::Io {
                what: "create the backup folder",
                path: schedule.dir.clone(),
                cause: source,
            }),
        };
        match taken {
            Ok(done) => {
                metrics
                    .backup_last_good_ms
                    .store(done.manifest.taken_at, Ordering::Relaxed);
                if done.missing_files.is_empty() {
                    tracing::info!(file = %to.display(), bytes = done.bytes, "backup taken");
                } else {
                    tracing::warn!(
                        file = %to.display(),
                        missing = done.missing_files.len(),
                        "backup taken, but some files of its messages were no longer in the files' folder"
                    );
                }
                // Off the async workers: a folder on a slow share may take a while.
                let pruning = schedule.clone();
                let _ = tokio::task::spawn_blocking(move || prune(&pruning)).await;
                wait = schedule.every;
            }
            Err(err) => {
                metrics.backup_failures.inc();
                wait = schedule.every.min(RETRY);
                tracing::warn!(
                    %err,
                    retry_in_s = wait.as_secs(),
                    "the scheduled backup failed; the server keeps serving, and the last good backup grows older"
                );
            }
        }
    }
}

/// Removes the oldest backups beyond the number to keep.
fn prune(schedule: &Schedule) {
    let found = existing(&schedule.dir);
    let extra = found.len().saturating_sub(schedule.keep);
    for old in &found[..extra] {
        if let Err(err) = std::fs::remove_file(old) {
            tracing::warn!(file = %old.display(), %err, "could not remove an old backup");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scheduled_names_are_counted_and_pruned() {
        assert!(scheduled_name("minicom-20261205T101500.123Z.tar.gz"));
        for other in [
            "minicom-2026-12-05.tar.gz",
            "minicom-20261205T101500.123Z.tar.gz.part",
            "minicom-20261205T101500Z.tar.gz",
            "other-20261205T101500.123Z.tar.gz",
            "minicom-2026120XT101500.123Z.tar.gz",
        ] {
            assert!(!scheduled_name(other), "{other}");
        }
    }

    #[test]
    fn intervals_read_as_people_write_them() {
        assert_eq!(parse_interval("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_interval("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_interval(" 6h "), Some(Duration::from_secs(21_600)));
        assert_eq!(parse_interval("1d"), Some(Duration::from_secs(86_400)));
        for bad in ["", "6", "h", "0h", "6 hours", "-1h", "1.5h"] {
            assert_eq!(parse_interval(bad), None, "{bad:?}");
        }
    }
}
