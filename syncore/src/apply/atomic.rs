//! Writing files so that readers see the old content or the new, never a mix.
//!
//! An [`AtomicFile`] is a temp file in the target's own directory; the caller writes it, then
//! [`AtomicFile::commit`] flushes it as the chosen [`Durability`] asks, puts it in place of the
//! target and flushes the directory ([`AtomicFile::commit_new`] refuses to replace anything,
//! atomically where the platform allows). If anything fails, or the value is dropped
//! uncommitted, the temp file goes away and the target is untouched.
//!
//! On Linux the temp file has no name at all until it is committed (`O_TMPFILE`): a new file
//! is then one directory insertion instead of a create and a rename, and a crash leaves
//! nothing behind. Elsewhere, and on filesystems without it, the temp file is named with
//! [`TEMP_PREFIX`] so scanners and stores can recognise (and skip) leftovers of a crash.
//! This module never decides *what* to write.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::apply::dir::{Dir, Replace};
use crate::error::{Error, IoResultExt, Result};

/// Every temp file syncore names starts with this.
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
    /// fsync each file before it is put in place and its directory after (the safe default).
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
    /// The temp file's path while it has a name; `None` for an unnamed temp file, and once
    /// there is nothing left to clean up.
    temp: Option<PathBuf>,
    file: Option<File>,
    /// The target's directory, held open: the temp file is created, placed and (if
    /// abandoned) removed by name inside it.
    dir: Arc<Dir>,
    /// The permission bits the temp file was created with (less the umask).
    created_mode: u32,
    /// Permission bits asked for that equal `created_mode`: no call was made, and the commit
    /// checks that the umask left them whole.
    deferred_mode: std::cell::Cell<Option<u32>>,
}

/// The permission bits of a temp file created without a wish: what a plain create gives.
pub(crate) const DEFAULT_MODE: u32 = 0o666;

impl AtomicFile {
    /// Creates a new temp file for `target` (whose directory must exist) in its directory.
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref();
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = Dir::open_following(dir).at_path(dir)?;
        AtomicFile::create_in(Arc::new(dir), target, DEFAULT_MODE)
    }

    /// [`AtomicFile::create`] inside `dir`, which the caller holds open and which must be
    /// `target`'s directory (a writer of many files in one directory opens it once). The
    /// temp file is created with permission bits `mode` (less the umask): a writer that knows
    /// the bits it will set passes them, and [`set_permissions`](Self::set_permissions) to
    /// the same bits then costs no call.
    pub(crate) fn create_in(dir: Arc<Dir>, target: &Path, mode: u32) -> Result<Self> {
        match dir.create_unnamed(mode).at_path(dir.path())? {
            Some(file) => Ok(AtomicFile {
                target: target.to_path_buf(),
                temp: None,
                file: Some(file),
                dir,
                created_mode: mode,
                deferred_mode: std::cell::Cell::new(None),
            }),
            None => AtomicFile::create_named_in(dir, target, mode),
        }
    }

    /// [`AtomicFile::create_in`] with a named temp file: where unnamed ones are unavailable
    /// (and in tests of that path).
    fn create_named_in(dir: Arc<Dir>, target: &Path, mode: u32) -> Result<Self> {
        let (temp, file) = with_temp_name(&dir, target, |name| dir.create_new(name, mode))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp: Some(temp),
            file: Some(file),
            dir,
            created_mode: mode,
            deferred_mode: std::cell::Cell::new(None),
        })
    }

    /// The temp file's path, or `None` while it has no name (Linux) and once committed.
    pub fn temp_path(&self) -> Option<&Path> {
        self.temp.as_deref()
    }

    /// The path the file will have once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The path errors name: the temp file's if it has one, else the target's.
    fn shown(&self) -> &Path {
        self.temp.as_deref().unwrap_or(&self.target)
    }

    /// Writes all of `data`, naming the file on error.
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        let written = self
            .file
            .as_mut()
            .ok_or_else(|| Error::invalid("atomic file already closed"))?
            .write_all(data);
        written.at_path(self.shown())
    }

    /// Sets the permissions the file will have.
    pub fn set_permissions(&self, perm: fs::Permissions) -> Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if perm.mode() & 0o7777 == self.created_mode {
                // Created with them already, unless the umask took some away: the commit
                // looks, as it reads the placed file's metadata anyway.
                self.deferred_mode.set(Some(self.created_mode));
                return Ok(());
            }
            self.deferred_mode.set(None);
        }
        self.open_file()?
            .set_permissions(perm)
            .at_path(self.shown())
    }

    /// Sets the modification time the file will have (call after the last write).
    pub fn set_modified(&self, time: std::time::SystemTime) -> Result<()> {
        self.open_file()?.set_modified(time).at_path(self.shown())
    }

    /// Flushes as `durability` asks, puts the file in place of the target and flushes the
    /// directory. Returns the committed file's metadata.
    pub fn commit(self, durability: Durability) -> Result<fs::Metadata> {
        self.finish(durability, Replace::Anything)
    }

    /// Like [`commit`](AtomicFile::commit), but fails with [`Error::Conflict`] (and leaves
    /// everything as it was) if anything exists at the target. On Linux the check and the
    /// placing are one atomic step (`linkat`, or `RENAME_NOREPLACE`); elsewhere, and on
    /// filesystems without either, the target is checked just before the rename.
    pub fn commit_new(self, durability: Durability) -> Result<fs::Metadata> {
        self.finish(durability, Replace::Nothing)
    }

    /// Ends the way a crash before the commit would: a named temp file stays behind (as
    /// leftovers of real crashes do), an unnamed one vanishes. For fault injection.
    pub(crate) fn abandon_as_crash(mut self) {
        self.temp = None;
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
            file.sync_all().at_path(self.shown())?;
        }
        let target_name = self
            .target
            .file_name()
            .map(OsStr::to_os_string)
            .ok_or_else(|| Error::invalid(format!("{}: not a file name", self.target.display())))?;
        let placed = match (self.temp.clone(), replace) {
            // An unnamed file takes the target's name only if it is free, in one step.
            (None, Replace::Nothing) => self.dir.link_unnamed(&file, &target_name),
            (None, Replace::Anything) => {
                // A link cannot replace: name it, then rename that name over the target.
                let (temp, ()) = with_temp_name(&self.dir, &self.target, |name| {
                    self.dir.link_unnamed(&file, name)
                })?;
                self.temp = Some(temp.clone());
                self.rename_over(&temp, &target_name, replace)
            }
            (Some(temp), _) => self.rename_over(&temp, &target_name, replace),
        };
        placed.map_err(|e| match (e.kind(), replace) {
            (io::ErrorKind::AlreadyExists, Replace::Nothing) => Error::Conflict(format!(
                "{} appeared while it was written; left untouched",
                self.target.display()
            )),
            _ => Error::io(&self.target, e),
        })?;
        // The temp name is gone now; nothing to clean up on drop.
        self.temp = None;
        // Read through the descriptor: placing the file changed the inode's ctime, and no
        // path lookup can race with another writer here.
        let mut meta = file.metadata().at_path(&self.target)?;
        #[cfg(unix)]
        if let Some(mode) = self.deferred_mode.get() {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o7777 != mode {
                // The umask took bits away: set them now (the file was never more open than
                // asked for), and read the metadata this changed.
                let perm = fs::Permissions::from_mode(mode);
                file.set_permissions(perm).at_path(&self.target)?;
                meta = file.metadata().at_path(&self.target)?;
            }
        }
        drop(file);
        if durability == Durability::PerFile {
            self.dir.sync().at_path(self.dir.path())?;
        }
        Ok(meta)
    }

    fn rename_over(&self, temp: &Path, target_name: &OsStr, replace: Replace) -> io::Result<()> {
        let temp_name = temp.file_name().unwrap_or_default();
        self.dir.rename(temp_name, target_name, replace)
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
        // Closing an unnamed temp file is all it takes to discard it.
        self.file = None;
        if let Some(name) = self.temp.as_deref().and_then(Path::file_name) {
            // Best effort: a leftover is recognisable by its prefix and harmless.
            let _ = self.dir.remove_file(name);
        }
    }
}

/// Runs `make` with fresh temp names for `target` inside `dir` until one is free; returns the
/// temp file's path and what `make` returned.
fn with_temp_name<T>(
    dir: &Dir,
    target: &Path,
    mut make: impl FnMut(&OsStr) -> io::Result<T>,
) -> Result<(PathBuf, T)> {
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
        match make(name.as_ref()) {
            Ok(made) => return Ok((temp, made)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < TEMP_ATTEMPTS => {
                attempt += 1;
            }
            Err(e) => return Err(Error::io(&temp, e)),
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

    /// Both kinds of temp file: unnamed where the platform has them, and named.
    fn both_kinds(target: &Path) -> [AtomicFile; 2] {
        let dir = Arc::new(Dir::open(target.parent().unwrap()).unwrap());
        [
            AtomicFile::create(target).unwrap(),
            AtomicFile::create_named_in(dir, target, DEFAULT_MODE).unwrap(),
        ]
    }

    #[test]
    fn commit_replaces_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        fs::write(&target, b"old").unwrap();
        for (round, mut file) in both_kinds(&target).into_iter().enumerate() {
            let new = format!("new {round}");
            file.write_all(new.as_bytes()).unwrap();
            assert_ne!(fs::read(&target).unwrap(), new.as_bytes());
            let temp = file.temp_path().map(Path::to_path_buf);
            if let Some(temp) = &temp {
                assert!(is_temp_name(temp.file_name().unwrap().to_str().unwrap()));
                assert!(temp.exists());
            }
            file.commit(Durability::PerFile).unwrap();
            assert_eq!(fs::read(&target).unwrap(), new.as_bytes());
            assert!(temp.is_none_or(|t| !t.exists()));
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        for mut abandoned in both_kinds(&target) {
            abandoned.write_all(b"half").unwrap();
            let temp = abandoned.temp_path().map(Path::to_path_buf);
            drop(abandoned);
            assert!(temp.is_none_or(|t| !t.exists()));
            assert_eq!(fs::read(&target).unwrap(), b"new 1");
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn on_linux_the_temp_file_has_no_name_until_committed() {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            // Without CAP_DAC_READ_SEARCH the kernel may refuse to name unnamed files, and
            // syncore falls back to named ones (covered by the other tests).
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        let mut file = AtomicFile::create(&target).unwrap();
        assert_eq!(file.temp_path(), None);
        file.write_all(b"abc").unwrap();
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing to see"
        );
        file.commit_new(Durability::PerFile).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"abc");

        // A crash before the commit leaves nothing; a named temp file stays.
        let [unnamed, named] = both_kinds(&target);
        let leftover = named.temp_path().unwrap().to_path_buf();
        unnamed.abandon_as_crash();
        named.abandon_as_crash();
        assert!(leftover.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn commit_new_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let [mut unnamed, mut named] = both_kinds(&target);
        unnamed.write_all(b"first").unwrap();
        let meta = unnamed.commit_new(Durability::None).unwrap();
        assert_eq!(meta.len(), 5);
        assert_eq!(fs::read(&target).unwrap(), b"first");

        named.write_all(b"second").unwrap();
        let err = named.commit_new(Durability::None).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Conflict);
        assert_eq!(fs::read(&target).unwrap(), b"first");
        for mut late in both_kinds(&target) {
            late.write_all(b"late").unwrap();
            let err = late.commit_new(Durability::None).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Conflict);
        }
        assert_eq!(fs::read(&target).unwrap(), b"first");
        // The refused temp files are gone too.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);

        // A directory in the way is refused the same way.
        for blocked in both_kinds(&sub) {
            let err = blocked.commit_new(Durability::PerFile).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Conflict);
            assert!(sub.is_dir());
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn commit_returns_the_placed_files_metadata() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        for (round, mut file) in both_kinds(&target).into_iter().enumerate() {
            file.write_all(b"abc").unwrap();
            let meta = if round == 0 {
                file.commit_new(Durability::PerFile).unwrap()
            } else {
                file.commit(Durability::PerFile).unwrap()
            };
            let on_disk = fs::symlink_metadata(&target).unwrap();
            assert_eq!(meta.ino(), on_disk.ino());
            assert_eq!(meta.nlink(), 1);
            assert_eq!(
                (meta.ctime(), meta.ctime_nsec()),
                (on_disk.ctime(), on_disk.ctime_nsec())
            );
        }
    }

    /// Permission bits asked for at creation and again before the commit take no extra call,
    /// and the placed file has them exactly even when the umask takes some away at creation
    /// (with the usual umask 022, 0o666 and 0o777 both lose bits and are set back).
    #[cfg(unix)]
    #[test]
    fn permissions_asked_for_at_creation_survive_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let held = Arc::new(Dir::open(dir.path()).unwrap());
        for (i, mode) in [0o644, 0o755, 0o666, 0o777, 0o600].into_iter().enumerate() {
            let target = dir.path().join(format!("f{i}"));
            for named in [false, true] {
                let _ = fs::remove_file(&target);
                let file = if named {
                    AtomicFile::create_named_in(held.clone(), &target, mode).unwrap()
                } else {
                    AtomicFile::create_in(held.clone(), &target, mode).unwrap()
                };
                file.set_permissions(fs::Permissions::from_mode(mode))
                    .unwrap();
                let meta = file.commit_new(Durability::None).unwrap();
                let on_disk = fs::metadata(&target).unwrap().permissions().mode() & 0o7777;
                assert_eq!(on_disk, mode, "{mode:o}, named {named}");
                assert_eq!(meta.permissions().mode() & 0o7777, mode);
            }
        }
        // Bits other than the creation's are set before the commit, as always.
        let target = dir.path().join("other");
        let file = AtomicFile::create_in(held, &target, 0o644).unwrap();
        file.set_permissions(fs::Permissions::from_mode(0o700))
            .unwrap();
        file.commit_new(Durability::None).unwrap();
        let on_disk = fs::metadata(&target).unwrap().permissions().mode() & 0o7777;
        assert_eq!(on_disk, 0o700);
    }

    #[test]
    fn missing_directory_is_an_io_error_with_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = AtomicFile::create(dir.path().join("nope/a.txt")).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Io);
        assert!(err.path().unwrap().starts_with(dir.path().join("nope")));
    }
}
