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

    /// Creates child `name` for writing with permission bits `mode` (less the umask); fails
    /// with `AlreadyExists` if anything is there.
    pub fn create_new(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        self.open_at(
            name,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
            mode,
        )
    }

    /// Creates a file with no name in the directory (`O_TMPFILE`): it gets one from
    /// [`Dir::link_unnamed`], and vanishes with its last descriptor before that, so a crash
    /// leaves nothing behind. `Ok(None)` where the platform, the kernel or the filesystem cannot
    /// create one, or cannot name it more cheaply than a temp file is renamed. The file has
    /// permission bits `mode` (less the umask).
    pub fn create_unnamed(&self, mode: u32) -> io::Result<Option<File>> {
        #[cfg(target_os = "linux")]
        {
            if !unnamed::worthwhile() {
                return Ok(None);
            }
            match self.open_at(OsStr::new("."), libc::O_TMPFILE | libc::O_RDWR, mode) {
                Ok(file) => Ok(Some(file)),
                // Filesystems without it say EOPNOTSUPP; kernels before 3.11 EISDIR or EINVAL.
                Err(e) if unnamed::unsupported(&e) => Ok(None),
                Err(e) => Err(e),
            }
        }
        #[cfg(not(target_os = "linux"))]
        Ok(None)
    }

    /// Gives `file`, made by [`Dir::create_unnamed`] on this directory, the name `name`;
    /// fails with `AlreadyExists` if anything is there (the check and the link are one step).
    pub fn link_unnamed(&self, file: &File, name: &OsStr) -> io::Result<()> {
        let name = c_name(name)?;
        #[cfg(target_os = "linux")]
        {
            unnamed::link(file.as_raw_fd(), self.handle.as_raw_fd(), &name)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (file, name);
            Err(io::Error::from(io::ErrorKind::Unsupported))
        }
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
    /// (`mode` is for Unix permission bits, which this platform does not have.)
    pub fn create_new(&self, name: &OsStr, _mode: u32) -> io::Result<File> {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.path.join(name))
    }

    /// Files without a name are a Linux feature; elsewhere temp files are named.
    pub fn create_unnamed(&self, _mode: u32) -> io::Result<Option<File>> {
        Ok(None)
    }

    /// See [`Dir::create_unnamed`]: never called here.
    pub fn link_unnamed(&self, _file: &File, _name: &OsStr) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
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

/// Naming `O_TMPFILE` files. `linkat` with `AT_EMPTY_PATH` names the descriptor itself in
/// one directory insertion, cheaper than creating a named temp file and renaming it. Kernels
/// may reserve it for processes with `CAP_DAC_READ_SEARCH`; the first refusal is remembered,
/// the file at hand is named through its `/proc` entry (slower than a rename, so only that
/// once), and later temp files are named ones.
#[cfg(target_os = "linux")]
mod unnamed {
    use std::ffi::{CStr, CString};
    use std::io;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;

    /// Set once the kernel refused `AT_EMPTY_PATH` to this process.
    static EMPTY_PATH_REFUSED: AtomicBool = AtomicBool::new(false);

    /// Whether unnamed files are worth creating: they can be named cheaply, and there is a
    /// fallback (`/proc`) for the one that finds out they cannot.
    pub fn worthwhile() -> bool {
        static PROC_FD: OnceLock<bool> = OnceLock::new();
        !EMPTY_PATH_REFUSED.load(Ordering::Relaxed)
            && *PROC_FD.get_or_init(|| std::path::Path::new("/proc/self/fd").is_dir())
    }

    /// True for the errors that mean "no `O_TMPFILE` here", not "this directory is broken".
    pub fn unsupported(err: &io::Error) -> bool {
        matches!(
            err.raw_os_error(),
            Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
        )
    }

    /// Links open file `fd` as `name` in directory `dir`.
    pub fn link(fd: libc::c_int, dir: libc::c_int, name: &CStr) -> io::Result<()> {
        if !EMPTY_PATH_REFUSED.load(Ordering::Relaxed) {
            match link_descriptor(fd, dir, name) {
                Ok(()) => return Ok(()),
                // Without the capability the kernel answers ENOENT (EPERM on some versions).
                Err(e) if !matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EPERM)) => {
                    return Err(e)
                }
                Err(_) => {}
            }
        }
        link_through_proc(fd, dir, name)?;
        // The refusal was about the flag, not the directory: stop making unnamed files.
        EMPTY_PATH_REFUSED.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// `linkat(fd, "", dir, name, AT_EMPTY_PATH)`.
    fn link_descriptor(fd: libc::c_int, dir: libc::c_int, name: &CStr) -> io::Result<()> {
        // SAFETY: both descriptors are open and both strings NUL-terminated for the call.
        let rc = unsafe { libc::linkat(fd, c"".as_ptr(), dir, name.as_ptr(), libc::AT_EMPTY_PATH) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Links `/proc/self/fd/<fd>`, following it to the open file.
    pub(super) fn link_through_proc(
        fd: libc::c_int,
        dir: libc::c_int,
        name: &CStr,
    ) -> io::Result<()> {
        let proc_path = CString::new(format!("/proc/self/fd/{fd}"))
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: as above; AT_FDCWD is not dereferenced because the path is absolute.
        let rc = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                proc_path.as_ptr(),
                dir,
                name.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
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
        dir.create_new(OsStr::new("a"), 0o666)
            .unwrap()
            .write_all(b"one")
            .unwrap();
        assert_eq!(
            dir.create_new(OsStr::new("a"), 0o666).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        dir.create_new(OsStr::new("b"), 0o666).unwrap();
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

    #[cfg(target_os = "linux")]
    #[test]
    fn unnamed_files_are_named_once_and_never_over_anything() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        // ext4, tmpfs, xfs and btrfs all have O_TMPFILE.
        let mut file = dir.create_unnamed(0o666).unwrap().expect("O_TMPFILE here");
        file.write_all(b"unnamed").unwrap();
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        dir.link_unnamed(&file, OsStr::new("a")).unwrap();
        assert_eq!(std::fs::read(tmp.path().join("a")).unwrap(), b"unnamed");
        // The fallback for processes the kernel refuses AT_EMPTY_PATH.
        let mut other = dir.create_unnamed(0o666).unwrap().expect("O_TMPFILE here");
        other.write_all(b"other").unwrap();
        let b = CString::new("b").unwrap();
        unnamed::link_through_proc(other.as_raw_fd(), dir.handle.as_raw_fd(), &b).unwrap();
        assert_eq!(std::fs::read(tmp.path().join("b")).unwrap(), b"other");
        // Neither way replaces anything.
        let third = dir.create_unnamed(0o666).unwrap().expect("O_TMPFILE here");
        for name in ["a", "b"] {
            let err = dir.link_unnamed(&third, OsStr::new(name)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
            let c = CString::new(name).unwrap();
            let err = unnamed::link_through_proc(third.as_raw_fd(), dir.handle.as_raw_fd(), &c)
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        }
        drop(third);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 2);
    }
}
