//! Replica-relative paths, validated once so nothing downstream has to trust a string.
//!
//! A [`RelPath`] is how syncore names a file inside a replica: relative, `/`-separated,
//! Unicode NFC, with no empty, `.` or `..` components, no NUL and no backslash. Paths from
//! disk and paths from peers pass through the same constructor, so a hostile peer cannot name
//! anything outside the root. Joining a `RelPath` onto a root is the only way to turn it into
//! a filesystem path. This module never touches the filesystem.

use std::fmt;
use std::path::{Path, PathBuf};

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::error::{Error, Result};

/// Longest accepted path, in bytes (of its NFC form).
pub const MAX_PATH_LEN: usize = 4096;
/// Longest accepted single component, in bytes (the common filesystem limit).
pub const MAX_COMPONENT_LEN: usize = 255;

/// A validated, normalized path relative to a replica's root.
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

impl Clone for RelPath {
    fn clone(&self) -> Self {
        RelPath(self.0.clone())
    }

    /// Reuses `self`'s buffer (lookups that fill one entry per row rely on it).
    fn clone_from(&mut self, source: &Self) {
        self.0.clone_from(&source.0);
    }
}

impl RelPath {
    /// Validates `path` and normalizes it to NFC.
    ///
    /// Rejects, with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the
    /// problem: the empty path, absolute paths, empty / `.` / `..` components, NUL, backslash,
    /// components longer than 255 bytes and paths longer than 4096 bytes.
    pub fn new(path: &str) -> Result<Self> {
        // ASCII text is always NFC; checking that is much cheaper than the NFC quick check.
        let normalized: String = if path.is_ascii() {
            path.to_owned()
        } else {
            match is_nfc_quick(path.chars()) {
                IsNormalized::Yes => path.to_owned(),
                _ => path.nfc().collect(),
            }
        };
        validate(&normalized).map_err(|why| Error::invalid(format!("path {path:?}: {why}")))?;
        Ok(RelPath(normalized))
    }

    /// Builds the relative path of `full` under `root` from filesystem components; fails for
    /// names that are not valid UTF-8 (reported, never mangled) or otherwise invalid.
    pub fn from_fs(root: &Path, full: &Path) -> Result<Self> {
        let rel = full.strip_prefix(root).map_err(|_| {
            Error::invalid(format!(
                "{} is not inside {}",
                full.display(),
                root.display()
            ))
        })?;
        let mut joined = String::new();
        for component in rel.components() {
            let std::path::Component::Normal(name) = component else {
                return Err(Error::invalid(format!(
                    "path {} is not a plain relative path",
                    rel.display()
                )));
            };
            let name = name
                .to_str()
                .ok_or_else(|| Error::invalid(format!("name {:?} is not valid UTF-8", name)))?;
            if !joined.is_empty() {
                joined.push('/');
            }
            joined.push_str(name);
        }
        RelPath::new(&joined)
    }

    /// The path as a `/`-separated string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's components.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last component.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The parent directory, or `None` for a top-level name.
    pub fn parent(&self) -> Option<RelPath> {
        self.0.rfind('/').map(|i| RelPath(self.0[..i].to_owned()))
    }

    /// Every ancestor directory, outermost first (`a`, `a/b` for `a/b/c`).
    pub fn ancestors(&self) -> impl Iterator<Item = RelPath> + '_ {
        self.0
            .match_indices('/')
            .map(|(i, _)| RelPath(self.0[..i].to_owned()))
    }

    /// `self/name`, validated.
    pub fn join(&self, name: &str) -> Result<RelPath> {
        // `self` is valid NFC already, and NFC strings joined by '/' (which never composes)
        // stay NFC: only `name` needs normalizing and checking.
        let name = RelPath::new(name)
            .map_err(|e| Error::invalid(format!("path {:?}/{name:?}: {e}", self.0)))?;
        let len = self.0.len() + 1 + name.0.len();
        if len > MAX_PATH_LEN {
            return Err(Error::invalid(format!(
                "path {:?}/{:?}: longer than {MAX_PATH_LEN} bytes",
                self.0, name.0
            )));
        }
        let mut joined = String::with_capacity(len);
        joined.push_str(&self.0);
        joined.push('/');
        joined.push_str(&name.0);
        Ok(RelPath(joined))
    }

    /// True if `self` is `other` or inside it.
    pub fn starts_with(&self, other: &RelPath) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.starts_with(&other.0)
                && self.0.as_bytes()[other.0.len()] == b'/')
    }

    /// The path under `root` on this platform.
    pub fn to_fs_path(&self, root: &Path) -> PathBuf {
        let mut out = root.to_path_buf();
        out.extend(self.components());
        out
    }

    /// A case-folded key for detecting names that collide on case-insensitive filesystems.
    pub fn case_fold_key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// The hash of `path`'s case-fold key (what [`RelPath::case_fold_key`] returns), which is
/// left in `scratch`: ASCII paths, the usual case, are folded without allocating beyond it.
/// Equal keys hash equal; different keys may too, rarely, so a match is only a candidate.
pub(crate) fn case_fold_hash(path: &str, scratch: &mut String) -> u64 {
    use std::hash::BuildHasher;
    scratch.clear();
    if path.is_ascii() {
        scratch.extend(path.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        scratch.push_str(&path.to_lowercase());
    }
    foldhash::fast::FixedState::default().hash_one(scratch.as_str())
}

fn validate(path: &str) -> std::result::Result<(), String> {
    if path.is_empty() {
        return Err("empty path".into());
    }
    if path.len() > MAX_PATH_LEN {
        return Err(format!("longer than {MAX_PATH_LEN} bytes"));
    }
    if path.starts_with('/') {
        return Err("absolute path".into());
    }
    if path.contains('\0') {
        return Err("contains NUL".into());
    }
    if path.contains('\\') {
        return Err("contains a backslash".into());
    }
    for component in path.split('/') {
        match component {
            "" => return Err("empty component".into()),
            "." | ".." => return Err(format!("{component:?} component")),
            c if c.len() > MAX_COMPONENT_LEN => {
                return Err(format!("component longer than {MAX_COMPONENT_LEN} bytes"))
            }
            _ => {}
        }
    }
    Ok(())
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelPath({:?})", self.0)
    }
}

impl AsRef<str> for RelPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for RelPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        RelPath::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn join_checks_and_normalizes_only_the_new_name() {
        let dir = RelPath::new("a/b").unwrap();
        assert_eq!(dir.join("c.txt").unwrap().as_str(), "a/b/c.txt");
        assert_eq!(dir.join("cafe\u{301}").unwrap().as_str(), "a/b/caf\u{e9}");
        for bad in ["", "..", ".", "x/../y", "nul\0", "/abs", "back\\slash"] {
            assert!(dir.join(bad).is_err(), "{bad:?}");
        }
        let long = "n".repeat(MAX_COMPONENT_LEN);
        let mut deep = RelPath::new(&long).unwrap();
        while deep.as_str().len() + 1 + long.len() <= MAX_PATH_LEN {
            deep = deep.join(&long).unwrap();
        }
        assert!(deep.join(&long).is_err());
    }

    #[test]
    fn accepts_and_normalizes() {
        let p = RelPath::new("docs/re\u{301}sume\u{301}.txt").unwrap();
        assert_eq!(p.as_str(), "docs/r\u{e9}sum\u{e9}.txt");
        assert_eq!(p.file_name(), "r\u{e9}sum\u{e9}.txt");
        assert_eq!(p.parent().unwrap().as_str(), "docs");
        assert_eq!(RelPath::new("a").unwrap().parent(), None);
        let deep = RelPath::new("a/b/c").unwrap();
        let ancestors: Vec<_> = deep.ancestors().map(|a| a.to_string()).collect();
        assert_eq!(ancestors, ["a", "a/b"]);
        assert!(deep.starts_with(&RelPath::new("a/b").unwrap()));
        assert!(!RelPath::new("a/bc")
            .unwrap()
            .starts_with(&RelPath::new("a/b").unwrap()));
        assert_eq!(deep.to_fs_path(Path::new("/r")), PathBuf::from("/r/a/b/c"));
    }

    #[test]
    fn rejects_hostile_paths() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "./a",
            "a//b",
            "a/",
            "a\0b",
            "a\\b",
            &"x".repeat(256),
        ] {
            let err = RelPath::new(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn fs_names_must_be_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let root = Path::new("/root");
        let bad = root.join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
        let err = RelPath::from_fs(root, &bad).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
        assert_eq!(
            RelPath::from_fs(root, &root.join("a/b")).unwrap().as_str(),
            "a/b"
        );
        assert!(RelPath::from_fs(root, Path::new("/elsewhere/a")).is_err());
    }
}
