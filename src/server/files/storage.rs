//! Where the bytes of files live: a folder (beside the SQLite database by
//! default), or the PostgreSQL database itself, so that every instance of
//! a cluster reaches every file with nothing more to run.

use std::path::PathBuf;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::server::store::{Store, StoreError};

/// A file's parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    File,
    Thumb,
}

impl Part {
    fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Thumb => "thumb",
        }
    }
}

#[derive(Clone)]
pub enum Storage {
    /// `<folder>/<first two characters of the id>/<id>[.thumb]`.
    Folder(PathBuf),
    Database(Store),
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("file storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("file storage: {0}")]
    Store(#[from] StoreError),
}

impl Storage {
    /// Where a part of a file lives in a folder (backups copy them from there).
    pub(crate) fn path(folder: &std::path::Path, id: &str, part: Part) -> PathBuf {
        let shard = id.get(..2).unwrap_or("00");
        let name = match part {
            Part::File => id.to_owned(),
            Part::Thumb => format!("{id}.thumb"),
        };
        folder.join(shard).join(name)
    }

    /// Stores a part durably (on disk before this returns, like a message
    /// before its ack).
    pub async fn put(&self, id: &str, part: Part, bytes: &[u8]) -> Result<(), StorageError> {
        match self {
            Self::Folder(folder) => {
                let path = Self::path(folder, id, part);
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir).await?;
                }
                // Written aside and renamed: a crash never leaves half a file
                // under the real name.
                let partial = path.with_extension("partial");
                let mut file = tokio::fs::File::create(&partial).await?;
                file.write_all(bytes).await?;
                file.sync_all().await?;
                drop(file);
                tokio::fs::rename(&partial, &path).await?;
                Ok(())
            }
            Self::Database(store) => Ok(store.put_blob(id, part.as_str(), bytes).await?),
        }
    }

    /// The size of a stored part; `None` if it is not there.
    pub async fn size(&self, id: &str, part: Part) -> Result<Option<u64>, StorageError> {
        match self {
            Self::Folder(folder) => match tokio::fs::metadata(Self::path(folder, id, part)).await {
                Ok(meta) => Ok(Some(meta.len())),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(err.into()),
            },
            Self::Database(store) => Ok(store.blob_size(id, part.as_str()).await?),
        }
    }

    /// Up to `len` bytes of a part from byte `start`.
    pub async fn read(
        &self,
        id: &str,
        part: Part,
        start: u64,
        len: u64,
    ) -> Result<Vec<u8>, StorageError> {
        match self {
            Self::Folder(folder) => {
                let mut file = tokio::fs::File::open(Self::path(folder, id, part)).await?;
                file.seek(std::io::SeekFrom::Start(start)).await?;
                let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                file.take(len).read_to_end(&mut out).await?;
                Ok(out)
            }
            Self::Database(store) => Ok(store
                .blob_range(id, part.as_str(), start, len)
                .await?
                .unwrap_or_default()),
        }
    }

    /// Removes every part of a file (what is already gone is no error).
    pub async fn remove(&self, id: &str) -> Result<(), StorageError> {
        match self {
            Self::Folder(folder) => {
                for part in [Part::File, Part::Thumb] {
                    match tokio::fs::remove_file(Self::path(folder, id, part)).await {
                        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                            return Err(err.into());
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
            Self::Database(store) => Ok(store.delete_blobs(id).await?),
        }
    }
}
