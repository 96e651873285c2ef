//! File operations relative to an open directory.
//!
//! A [`Dir`] holds a directory open so that its children are opened, created, renamed and
//! removed by name alone: on Unix each call looks up one path component instead of walking
//! the whole path again (which dominates the cost of small-file work on a busy directory
//! cache), and a parent swapped for a symlink after the directory was opened cannot redirect
//! the call. The directory itself is opened without following a final symlink. Elsewhere the
//! same calls go through full paths. This module only performs the calls; deciding which
//! paths are safe to touch is [`safety`](super::safety)'s job.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use std::ffi::CString;
#[cfg(unix)]
use std::os::fd::{AsRawFd, FromRawFd};
#[cfg(unix)]
use std::os::unix::ffi::OsStrExt;

/// An open directory and the path it was opened at.
#[derive(Debug)]
pub(crate) struct Dir {
    path: PathBuf,
    #[cfg(unix)]
    handle: File,
}

/// Whether a rename may replace what is at its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replace {
    /// Replace anything there.
    Anything,
    /// Fail with `AlreadyExists` if anything is there (atomically where the filesystem can).
    Nothing,
}

#[cfg(unix)]
impl Dir {
    /// Opens the directory at `path` (not through a final symlink).
    pub fn open(path: &Path) -> io::Result<Dir> {
        Dir::open_with(path, libc::O_NOFOLLOW)
    }

    /// Opens the directory at `path`, following a final symlink (for a path the caller chose,
    /// such as a replica root that is a link).
    pub fn open_following(path: &Path) -> io::Result<Dir> {
        Dir::open_with(path, 0)
    }

    fn open_with(path: &Path, flags: libc::c_int) -> io::Result<Dir> {
        use std::os::unix::fs::OpenOptionsExt;
        let handle = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | flags)
            .open(path)?;
        Ok(Dir {
            path: path.to_path_buf(),
            handle,
        })
    }

    /// The path the directory was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens child `name` for reading, not following a symlink.
    pub fn open_read(&self, name: &OsStr) -> io::Result<File> {
        self.open_at(name, libc::O_RDONLY | libc::O_NOFOLLOW, 0)
    }

    /// Creates child `name` for writing; fails with `AlreadyExists` if anything is there.
    pub fn create_new(&self, name: &OsStr) -> io::Result<File> {
        self.open_at(
            name,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
            0o666,
        )
    }

    /// Renames child `from` to child `to`.
    pub fn rename(&self, from: &OsStr, to: &OsStr, replace: Replace) -> io::Result<()> {
        let (from_c, to_c) = (c_name(from)?, c_name(to)?);
        let fd = self.handle.as_raw_fd();
        #[cfg(target_os = "linux")]
        if replace == Replace::Nothing {
            // SAFETY: `fd` is open and both names are NUL-terminated for the whole call.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_renameat2,
                    fd,
                    from_c.as_ptr(),
                    fd,
                    to_c.as_ptr(),
                    libc::RENAME_NOREPLACE,
                )
            };
            if rc == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            // Filesystems (or kernels) without the flag: check, then rename, below.
            if !matches!(err.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
                return Err(err);
            }
        }
        if replace == Replace::Nothing && self.exists(&to_c)? {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        // SAFETY: as above.
        let rc = unsafe { libc::renameat(fd, from_c.as_ptr(), fd, to_c.as_ptr()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Flushes the directory's entries to stable storage.
    pub fn sync(&self) -> io::Result<()> {
        self.handle.sync_all()
    }

    /// Removes child `name` (not a directory).
    pub fn remove_file(&self, name: &OsStr) -> io::Result<()> {
        let name = c_name(name)?;
        // SAFETY: the descriptor is open and `name` is NUL-terminated for the whole call.
        let rc = unsafe { libc::unlinkat(self.handle.as_raw_fd(), name.as_ptr(), 0) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn exists(&self, name: &CString) -> io::Result<bool> {
        let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: the descriptor is open, `name` is NUL-terminated and `stat` is writable
        // memory of the right type for the whole call.
        let rc = unsafe {
            libc::fstatat(
                self.handle.as_raw_fd(),
                name.as_ptr(),
                stat.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if rc == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::NotFound {
            Ok(false)
        } else {
            Err(err)
        }
    }

    fn open_at(&self, name: &OsStr, flags: libc::c_int, mode: libc::c_uint) -> io::Result<File> {
        let name = c_name(name)?;
        // SAFETY: the descriptor is open and `name` is NUL-terminated for the whole call; a
        // non-negative result is a new descriptor that nothing else owns.
        let fd = unsafe {
            libc::openat(
                self.handle.as_raw_fd(),
                name.as_ptr(),
                flags | libc::O_CLOEXEC,
                mode,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by the returned `File` alone.
        Ok(unsafe { File::from_raw_fd(fd) })
    }
}

#[cfg(not(unix))]
impl Dir {
    /// Opens the directory at `path` (not through a final symlink).
    pub fn open(path: &Path) -> io::Result<Dir> {
        if !std::fs::symlink_metadata(path)?.is_dir() {
            return Err(io::Error::other("not a directory"));
        }
        Dir::open_following(path)
    }

    /// Opens the directory at `path`, following a final symlink.
    pub fn open_following(path: &Path) -> io::Result<Dir> {
        if !std::fs::metadata(path)?.is_dir() {
            return Err(io::Error::other("not a directory"));
        }
        Ok(Dir {
            path: path.to_path_buf(),
        })
    }

    /// The path the directory was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens child `name` for reading.
    pub fn open_read(&self, name: &OsStr) -> io::Result<File> {
        File::open(self.path.join(name))
    }

    /// Creates child `name` for writing; fails with `AlreadyExists` if anything is there.
    pub fn create_new(&self, name: &OsStr) -> io::Result<File> {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.path.join(name))
    }

    /// Renames child `from` to child `to`.
    pub fn rename(&self, from: &OsStr, to: &OsStr, replace: Replace) -> io::Result<()> {
        let to = self.path.join(to);
        if replace == Replace::Nothing && std::fs::symlink_metadata(&to).is_ok() {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        std::fs::rename(self.path.join(from), to)
    }

    /// Flushes the directory's entries (a no-op where directories cannot be opened).
    pub fn sync(&self) -> io::Result<()> {
        Ok(())
    }

    /// Removes child `name` (not a directory).
    pub fn remove_file(&self, name: &OsStr) -> io::Result<()> {
        std::fs::remove_file(self.path.join(name))
    }
}

#[cfg(unix)]
fn c_name(name: &OsStr) -> io::Result<CString> {
    if name.as_bytes().contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a name inside a directory cannot contain '/'",
        ));
    }
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains NUL"))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn children_are_created_renamed_read_and_removed_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        assert_eq!(dir.path(), tmp.path());
        dir.create_new(OsStr::new("a"))
            .unwrap()
            .write_all(b"one")
            .unwrap();
        assert_eq!(
            dir.create_new(OsStr::new("a")).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        dir.create_new(OsStr::new("b")).unwrap();
        // No replacing unless asked; nothing changes on refusal.
        assert_eq!(
            dir.rename(OsStr::new("a"), OsStr::new("b"), Replace::Nothing)
                .unwrap_err()
                .kind(),
            io::ErrorKind::AlreadyExists
        );
        dir.rename(OsStr::new("a"), OsStr::new("c"), Replace::Nothing)
            .unwrap();
        dir.rename(OsStr::new("c"), OsStr::new("b"), Replace::Anything)
            .unwrap();
        let mut text = String::new();
        dir.open_read(OsStr::new("b"))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "one");
        dir.remove_file(OsStr::new("b")).unwrap();
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        // Names are single components.
        assert_eq!(
            dir.open_read(OsStr::new("../etc")).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn symlinks_are_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("real"), b"x").unwrap();
        std::os::unix::fs::symlink("real", tmp.path().join("link")).unwrap();
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("sub", tmp.path().join("sublink")).unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        assert!(dir.open_read(OsStr::new("link")).is_err());
        assert!(dir.open_read(OsStr::new("real")).is_ok());
        assert!(Dir::open(&tmp.path().join("sublink")).is_err());
        assert!(Dir::open(&tmp.path().join("sub")).is_ok());
    }
}
