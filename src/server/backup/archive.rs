//! The backup file itself: a gzipped tar of `backup.json`, `minicom.db` and
//! `files/<shard>/<id>[.thumb]`, written and read with blocking I/O (callers
//! run these on a blocking thread).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Component, Path, PathBuf};

use crate::server::files::storage::{Part, Storage};

pub const MANIFEST: &str = "backup.json";
pub const DATABASE: &str = "minicom.db";
pub const FILES: &str = "files";

/// What [`write`] wrote.
pub struct Written {
    pub bytes: u64,
    /// Files of the copy whose bytes were not in the folder (removed since
    /// the copy was taken, or lost before).
    pub missing: Vec<String>,
}

/// Writes the archive to `to`: the manifest, the database copy and, with a
/// files' folder, every part of the files `ids` names that is there; flushed
/// to disk before it returns.
pub fn write(
    to: &Path,
    manifest: &[u8],
    database: &Path,
    files: Option<(PathBuf, Vec<String>)>,
) -> std::io::Result<Written> {
    let out = BufWriter::new(File::create(to)?);
    // Fast compression: a database compresses well at any level, and a
    // backup of a big one should not take minutes of a core.
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST, manifest)?;
    tar.append_path_with_name(database, DATABASE)?;
    let mut missing = Vec::new();
    if let Some((folder, ids)) = files {
        for id in ids {
            for part in [Part::File, Part::Thumb] {
                let path = Storage::path(&folder, &id, part);
                let Ok(relative) = path.strip_prefix(&folder) else {
                    continue;
                };
                match File::open(&path) {
                    Ok(mut file) => tar.append_file(Path::new(FILES).join(relative), &mut file)?,
                    // Not every file has a thumbnail.
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        if part == Part::File {
                            missing.push(id.clone());
                        }
                    }
                    Err(err) => return Err(err),
                }
            }
        }
    }
    let gz = tar.into_inner()?;
    let out = gz.finish()?;
    let file = out.into_inner().map_err(|err| err.into_error())?;
    file.sync_all()?;
    Ok(Written {
        bytes: file.metadata()?.len(),
        missing,
    })
}

/// Unpacks the archive at `from` into the folder `into` and returns the
/// manifest's bytes. Only the three expected kinds of entry are accepted,
/// as plain files and folders under relative paths; anything else, a
/// damaged stream or a missing part is an error.
pub fn read(from: &Path, into: &Path) -> std::io::Result<Vec<u8>> {
    let bad = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
    let gz = flate2::read::GzDecoder::new(BufReader::new(File::open(from)?));
    let mut tar = tar::Archive::new(gz);
    let mut manifest = None;
    let mut database = false;
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
        let first = path
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str());
        let kind = entry.header().entry_type();
        if !plain || !(kind.is_file() || kind.is_dir()) {
            return Err(bad(format!(
                "it holds an unexpected entry {}",
                path.display()
            )));
        }
        match first {
            Some(MANIFEST) if kind.is_file() && path.components().count() == 1 => {
                let mut bytes = Vec::new();
                entry.by_ref().take(1 << 20).read_to_end(&mut bytes)?;
                manifest = Some(bytes);
            }
            Some(DATABASE) if kind.is_file() && path.components().count() == 1 => {
                entry.unpack_in(into)?;
                database = true;
            }
            Some(FILES) if kind.is_dir() || path.components().count() > 1 => {
                entry.unpack_in(into)?;
            }
            _ => {
                return Err(bad(format!(
                    "it holds an unexpected entry {}",
                    path.display()
                )));
            }
        }
    }
    // Reading to the end checks the gzip trailer (length and checksum).
    let mut rest = tar.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink())?;
    if !database {
        return Err(bad(format!("it holds no {DATABASE}")));
    }
    manifest.ok_or_else(|| bad(format!("it holds no {MANIFEST}")))
}

/// Flushes every file under `path` (and the folders' entries) to disk.
pub fn sync_tree(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            sync_tree(&entry?.path())?;
        }
    }
    File::open(path)?.sync_all()
}

/// Moves a folder: a rename on one file system, a copy and removal across.
pub fn move_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    copy_folder(from, to)?;
    std::fs::remove_dir_all(from)
}

fn copy_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_folder(&entry.path(), &target)?;
        } else {
            let mut source = File::open(entry.path())?;
            let mut out = File::create(&target)?;
            std::io::copy(&mut source, &mut out)?;
            out.sync_all()?;
        }
    }
    Ok(())
}

/// Flushes a folder's entries (a rename into it survives a power cut).
pub fn sync_folder_of(path: &Path) {
    let folder = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn an_entry_outside_the_three_kinds_is_refused() {
        let dir = std::env::temp_dir().join(format!("minicom-archive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("evil.tar.gz");
        let gz = flate2::write::GzEncoder::new(File::create(&path).unwrap(), Default::default());
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "etc/passwd", &b"{}"[..])
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
        let err = read(&path, &dir.join("out")).unwrap_err();
        assert!(
            err.to_string().contains("unexpected entry etc/passwd"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
