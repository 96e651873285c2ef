//! Writing files so that readers see the old content or the new, never a mix.
//!
//! An [`AtomicFile`] is a uniquely named temp file in the target's own directory; the caller
//! writes it, then [`AtomicFile::commit`] flushes it as the chosen [`Durability`] asks,
//! renames it over the target and flushes the directory ([`AtomicFile::commit_new`] refuses
//! to replace anything, atomically where the platform allows). If anything fails, or the value is
//! dropped uncommitted, the temp file is removed and the target is untouched. Temp names start
//! with [`TEMP_PREFIX`] so scanners and stores can recognise (and skip) leftovers of a crash.
//! This module never decides *what* to write.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::apply::dir::{Dir, Replace};
use crate::error::{Error, IoResultExt, Result};

/// Every temp file syncore creates starts with this.
pub const TEMP_PREFIX: &str = ".syncore-tmp-";

/// How many names to try before giving up on finding a free temp name.
const TEMP_ATTEMPTS: u32 = 16;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// True if `name` is one of syncore's temp files.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// How hard a commit works to survive a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Durability {
    /// fsync each file before its rename and its directory after (the safe default).
    #[default]
    PerFile,
    /// No fsync per file: the caller syncs the filesystem once after a batch, before it
    /// records the batch as done.
    Batched,
    /// Never fsync: fastest; a crash may lose recent writes (never mixes old and new bytes
    /// within a file that was renamed, on journaling filesystems).
    None,
}

/// A temp file that becomes `target` on [`AtomicFile::commit`].
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<File>,
    /// The target's directory, held open: the temp file is created, renamed and (if
    /// abandoned) removed by name inside it.
    dir: Arc<Dir>,
}

impl AtomicFile {
    /// Creates a new, uniquely named temp file next to `target` (whose directory must exist).
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref();
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = Dir::open_following(dir).at_path(dir)?;
        AtomicFile::create_in(Arc::new(dir), target)
    }

    /// [`AtomicFile::create`] inside `dir`, which the caller holds open and which must be
    /// `target`'s directory (a writer of many files in one directory opens it once).
    pub(crate) fn create_in(dir: Arc<Dir>, target: &Path) -> Result<Self> {
        let tag = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("file");
        // Keep names well under common limits even for long targets.
        let tag: String = tag.chars().take(64).collect();
        let mut attempt = 0;
        loop {
            let name = temp_name(&tag);
            let temp = dir.path().join(&name);
            match dir.create_new(name.as_ref()) {
                Ok(file) => {
                    return Ok(AtomicFile {
                        target: target.to_path_buf(),
                        temp,
                        file: Some(file),
                        dir,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < TEMP_ATTEMPTS => {
                    attempt += 1;
                }
                Err(e) => return Err(Error::io(&temp, e)),
            }
        }
    }

    /// The temp file's path (for error messages and tests).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The path the file will have once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Writes all of `data`, naming the temp file on error.
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| Error::invalid("atomic file already closed"))?;
        file.write_all(data).at_path(&self.temp)
    }

    /// Sets the permissions the file will have.
    pub fn set_permissions(&self, perm: fs::Permissions) -> Result<()> {
        self.open_file()?.set_permissions(perm).at_path(&self.temp)
    }

    /// Sets the modification time the file will have (call after the last write).
    pub fn set_modified(&self, time: std::time::SystemTime) -> Result<()> {
        self.open_file()?.set_modified(time).at_path(&self.temp)
    }

    /// Flushes as `durability` asks, renames over the target and flushes the directory.
    /// Returns the committed file's metadata.
    pub fn commit(self, durability: Durability) -> Result<fs::Metadata> {
        self.finish(durability, Replace::Anything)
    }

    /// Like [`commit`](AtomicFile::commit), but fails with [`Error::Conflict`] (and leaves
    /// everything as it was) if anything exists at the target. On Linux the check and the
    /// rename are one atomic step (`RENAME_NOREPLACE`); elsewhere, and on filesystems without
    /// it, the target is checked just before the rename.
    pub fn commit_new(self, durability: Durability) -> Result<fs::Metadata> {
        self.finish(durability, Replace::Nothing)
    }

    fn open_file(&self) -> Result<&File> {
        self.file
            .as_ref()
            .ok_or_else(|| Error::invalid("atomic file already closed"))
    }

    fn finish(mut self, durability: Durability, replace: Replace) -> Result<fs::Metadata> {
        let file = self
            .file
            .take()
            .ok_or_else(|| Error::invalid("atomic file already closed"))?;
        if durability == Durability::PerFile {
            file.sync_all().at_path(&self.temp)?;
        }
        let (Some(temp_name), Some(target_name)) = (self.temp.file_name(), self.target.file_name())
        else {
            return Err(Error::invalid(format!(
                "{}: not a file name",
                self.target.display()
            )));
        };
        self.dir
            .rename(temp_name, target_name, replace)
            .map_err(|e| match (e.kind(), replace) {
                (io::ErrorKind::AlreadyExists, Replace::Nothing) => Error::Conflict(format!(
                    "{} appeared while it was written; left untouched",
                    self.target.display()
                )),
                _ => Error::io(&self.target, e),
            })?;
        // The temp name is gone now; nothing to clean up on drop.
        self.temp = PathBuf::new();
        // Read through the descriptor: the rename changed the inode's ctime, and no path
        // lookup can race with another writer here.
        let meta = file.metadata().at_path(&self.target)?;
        drop(file);
        if durability == Durability::PerFile {
            self.dir.sync().at_path(self.dir.path())?;
        }
        Ok(meta)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.file.as_mut() {
            Some(file) => file.write(buf),
            None => Err(io::Error::other("atomic file already closed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(name) = self.temp.file_name() {
            self.file = None;
            // Best effort: a leftover is recognisable by its prefix and harmless.
            let _ = self.dir.remove_file(name);
        }
    }
}

/// A temp file name unique across threads (counter), processes (pid) and pid reuse (clock).
pub(crate) fn temp_name(tag: &str) -> String {
    let count = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{TEMP_PREFIX}{tag}.{}.{count}.{nanos}", std::process::id())
}

/// Flushes a directory's entries to disk (a no-op where directories cannot be opened).
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).at_path(dir)?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        fs::write(&target, b"old").unwrap();

        let mut file = AtomicFile::create(&target).unwrap();
        file.write_all(b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"old");
        let temp = file.temp_path().to_path_buf();
        assert!(is_temp_name(temp.file_name().unwrap().to_str().unwrap()));
        file.commit(Durability::PerFile).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(!temp.exists());

        let mut abandoned = AtomicFile::create(&target).unwrap();
        abandoned.write_all(b"half").unwrap();
        let temp = abandoned.temp_path().to_path_buf();
        drop(abandoned);
        assert!(!temp.exists());
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn commit_new_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        let mut file = AtomicFile::create(&target).unwrap();
        file.write_all(b"first").unwrap();
        let meta = file.commit_new(Durability::None).unwrap();
        assert_eq!(meta.len(), 5);
        assert_eq!(fs::read(&target).unwrap(), b"first");

        let mut second = AtomicFile::create(&target).unwrap();
        second.write_all(b"second").unwrap();
        let err = second.commit_new(Durability::None).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Conflict);
        assert_eq!(fs::read(&target).unwrap(), b"first");
        // The refused temp file is gone too.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        // A directory in the way is refused the same way.
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let third = AtomicFile::create(&sub).unwrap();
        let err = third.commit_new(Durability::PerFile).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Conflict);
        assert!(sub.is_dir());
    }

    #[cfg(unix)]
    #[test]
    fn commit_returns_the_placed_files_metadata() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        let mut file = AtomicFile::create(&target).unwrap();
        file.write_all(b"abc").unwrap();
        let meta = file.commit(Durability::PerFile).unwrap();
        let on_disk = fs::symlink_metadata(&target).unwrap();
        assert_eq!(meta.ino(), on_disk.ino());
        assert_eq!(
            (meta.ctime(), meta.ctime_nsec()),
            (on_disk.ctime(), on_disk.ctime_nsec())
        );
    }

    #[test]
    fn missing_directory_is_an_io_error_with_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = AtomicFile::create(dir.path().join("nope/a.txt")).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Io);
        assert!(err.path().unwrap().starts_with(dir.path().join("nope")));
    }
}
