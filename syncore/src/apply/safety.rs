//! Where a replica path may be touched on disk, and whether what is there is what we expect.
//!
//! This module owns the last line of defence between a peer's path and the filesystem:
//! [`checked_path`] walks a [`RelPath`] component by component under the root with
//! `symlink_metadata`, refusing symlinked or non-directory parents (so nothing is ever
//! written through a link to outside the root) and names the platform cannot hold
//! ([`portable_name_problem`]). It also owns [`DiskStat`], the cheap fingerprint used to tell
//! whether a user changed a file since the index recorded it. It never writes file content
//! and never follows a symlink.

use std::collections::HashSet;
use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use crate::entry::EntryKind;
use crate::error::{Error, IoResultExt, Result};
use crate::path::RelPath;

/// What the filesystem says about a path, as recorded by the index when it last saw it.
///
/// Two stats [match](DiskStat::matches) if kind, size and mtime agree and, when both sides
/// know them, inode and ctime agree too: a user's edit changes at least one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DiskStat {
    /// File, directory or symlink (`None` for anything else, e.g. a socket).
    pub kind: Option<EntryKind>,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Status-change time in nanoseconds (0 where unknown).
    pub ctime_ns: i64,
    /// Inode number (0 where unknown).
    pub inode: u64,
    /// The owner-executable bit.
    pub executable: bool,
}

impl DiskStat {
    /// The stat of `meta` (from `symlink_metadata`, so a symlink is described, not its target).
    pub fn from_metadata(meta: &Metadata) -> Self {
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            Some(EntryKind::Symlink)
        } else if ft.is_dir() {
            Some(EntryKind::Dir)
        } else if ft.is_file() {
            Some(EntryKind::File)
        } else {
            None
        };
        let mtime_ns = meta.modified().map_or(0, system_time_ns);
        #[cfg(unix)]
        let (ctime_ns, inode, executable) = {
            use std::os::unix::fs::MetadataExt;
            (
                meta.ctime()
                    .saturating_mul(1_000_000_000)
                    .saturating_add(meta.ctime_nsec()),
                meta.ino(),
                meta.mode() & 0o100 != 0,
            )
        };
        #[cfg(not(unix))]
        let (ctime_ns, inode, executable) = (0, 0, false);
        DiskStat {
            kind,
            size: if kind == Some(EntryKind::File) {
                meta.len()
            } else {
                0
            },
            mtime_ns,
            ctime_ns,
            inode,
            executable,
        }
    }

    /// The stat of `path`, not following a final symlink; `None` if nothing is there (or a
    /// parent is not a directory).
    pub fn of_path(path: &Path) -> Result<Option<Self>> {
        match fs::symlink_metadata(path) {
            Ok(meta) => Ok(Some(DiskStat::from_metadata(&meta))),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// True if `self` and `other` describe the same, unchanged file (see the type docs).
    pub fn matches(&self, other: &DiskStat) -> bool {
        let known = |a: u64, b: u64| a == 0 || b == 0 || a == b;
        self.kind == other.kind
            && self.size == other.size
            && self.mtime_ns == other.mtime_ns
            && known(self.inode, other.inode)
            && known(self.ctime_ns as u64, other.ctime_ns as u64)
    }
}

/// Opens `path` for reading without following a final symlink (`O_NOFOLLOW` on Unix), so a
/// file swapped for a link after it was checked is not read through the link.
pub(crate) fn open_nofollow(path: &Path) -> Result<fs::File> {
    open_nofollow_io(path).at_path(path)
}

/// [`open_nofollow`], with the bare I/O error (for callers that sort errors by kind).
pub(crate) fn open_nofollow_io(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Nanoseconds since the Unix epoch (negative before it), saturating.
pub(crate) fn system_time_ns(t: std::time::SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

/// Why `name` cannot be a file name on Windows, if it cannot: reserved device names (with
/// any extension), the characters `<>:"|?*`, control characters, and a trailing dot or space.
pub fn portable_name_problem(name: &str) -> Option<&'static str> {
    if name.chars().any(|c| (c as u32) < 0x20) {
        return Some("contains a control character");
    }
    if name
        .chars()
        .any(|c| matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
    {
        return Some("contains a character Windows forbids (<>:\"|?*)");
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Some("ends with a dot or a space");
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    let reserved = matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.len() == 4
            && upper.as_bytes()[3].is_ascii_digit()
            && upper.as_bytes()[3] != b'0');
    reserved.then_some("is a reserved device name on Windows")
}

/// The on-disk path of `rel` under `root`, after checking every parent component.
///
/// Each parent must be a real directory (not a symlink, not a file); with `create_parents`,
/// missing ones are created (never through a symlink). With `strict_names`, every component
/// must pass [`portable_name_problem`]. The final component is not inspected: callers
/// `symlink_metadata` it themselves and never follow it. Fails with
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the offending component.
pub fn checked_path(
    root: &Path,
    rel: &RelPath,
    create_parents: bool,
    strict_names: bool,
) -> Result<PathBuf> {
    checked_path_cached(
        root,
        rel,
        create_parents,
        strict_names,
        &mut VerifiedDirs::default(),
    )
}

/// Directories already walked without meeting a symlink (absolute paths), so that a writer of
/// many files checks each parent once. Looked up for every path an apply touches: hashed
/// with a fast hasher.
pub(crate) type VerifiedDirs = HashSet<PathBuf, foldhash::fast::RandomState>;

/// [`checked_path`], skipping parents already verified in `verified` during the same apply
/// run (and adding the ones it verifies). The root counts as verified once checked.
pub(crate) fn checked_path_cached(
    root: &Path,
    rel: &RelPath,
    create_parents: bool,
    strict_names: bool,
    verified: &mut VerifiedDirs,
) -> Result<PathBuf> {
    if !verified.contains(root) {
        check_root(root)?;
        verified.insert(root.to_path_buf());
    }
    // One allocation for the whole path: this runs for every file an apply writes or reads.
    let mut current = PathBuf::with_capacity(root.as_os_str().len() + 1 + rel.as_str().len());
    current.push(root);
    let mut names = rel.components().peekable();
    while let Some(name) = names.next() {
        if strict_names {
            if let Some(problem) = portable_name_problem(name) {
                return Err(Error::invalid(format!(
                    "{rel}: component {name:?} {problem}"
                )));
            }
        }
        current.push(name);
        if names.peek().is_none() || verified.contains(&current) {
            continue;
        }
        check_parent(rel, &current, create_parents)?;
        verified.insert(current.clone());
    }
    Ok(current)
}

/// The root itself may be a symlink (the user chose where it points); only what lies under it
/// is walked without following links.
fn check_root(root: &Path) -> Result<()> {
    let meta = fs::metadata(root).at_path(root)?;
    if !meta.is_dir() {
        return Err(Error::invalid(format!(
            "replica root {} is not a directory",
            root.display()
        )));
    }
    Ok(())
}

/// Checks (and with `create`, creates) one parent directory of `rel`.
fn check_parent(rel: &RelPath, current: &Path, create: bool) -> Result<()> {
    let create_parents = create;
    match fs::symlink_metadata(current) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(Error::invalid(format!(
                "{rel}: parent {} is a symlink; refusing to go through it",
                current.display()
            )))
        }
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::invalid(format!(
                "{rel}: parent {} is not a directory",
                current.display()
            )))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && create_parents => {
            match fs::create_dir(current) {
                Ok(()) => {}
                // Someone made it meanwhile: re-check it is a real directory.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let meta = fs::symlink_metadata(current).at_path(current)?;
                    if !meta.is_dir() || meta.file_type().is_symlink() {
                        return Err(Error::invalid(format!(
                            "{rel}: parent {} is not a directory",
                            current.display()
                        )));
                    }
                }
                Err(e) => return Err(Error::io(current, e)),
            }
        }
        Err(e) => return Err(Error::io(current, e)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names() {
        for bad in [
            "CON", "con.txt", "Lpt1", "COM9.log", "a:b", "x?", "dot.", "space ", "\u{1}",
        ] {
            assert!(portable_name_problem(bad).is_some(), "{bad:?}");
        }
        for good in ["CONSOLE", "com0", "lpt10", "a.b", "normal name.txt", "nul_"] {
            assert!(portable_name_problem(good).is_none(), "{good:?}");
        }
    }

    #[test]
    fn parents_are_created_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let rel = RelPath::new("a/b/c.txt").unwrap();
        assert!(checked_path(dir.path(), &rel, false, false).is_err());
        let path = checked_path(dir.path(), &rel, true, false).unwrap();
        assert_eq!(path, dir.path().join("a/b/c.txt"));
        assert!(dir.path().join("a/b").is_dir());
        fs::write(dir.path().join("file"), b"x").unwrap();
        let under_file = RelPath::new("file/x").unwrap();
        assert!(checked_path(dir.path(), &under_file, true, false).is_err());
        let strict = RelPath::new("a/CON").unwrap();
        assert!(checked_path(dir.path(), &strict, true, true).is_err());
        assert!(checked_path(dir.path(), &strict, true, false).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_parents_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let rel = RelPath::new("link/evil.txt").unwrap();
        let err = checked_path(dir.path(), &rel, true, false).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        // A root that is itself a link is fine: the user chose it.
        let linked_root = dir.path().join("root-link");
        std::os::unix::fs::symlink(outside.path(), &linked_root).unwrap();
        let inside = RelPath::new("a/b").unwrap();
        assert!(checked_path(&linked_root, &inside, true, false).is_ok());
        assert!(outside.path().join("a").is_dir());
    }

    #[test]
    fn stats_match_only_unchanged_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"one").unwrap();
        let a = DiskStat::of_path(&path).unwrap().unwrap();
        assert!(a.matches(&DiskStat::of_path(&path).unwrap().unwrap()));
        fs::write(&path, b"three").unwrap();
        assert!(!a.matches(&DiskStat::of_path(&path).unwrap().unwrap()));
        assert_eq!(DiskStat::of_path(&dir.path().join("none")).unwrap(), None);
    }
}
