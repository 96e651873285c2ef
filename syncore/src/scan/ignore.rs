//! Which names a scan skips: built-in temporary/system names and `.syncoreignore` rules.
//!
//! This file owns the default name filters (editor swap and backup files, Office lock files,
//! `.DS_Store`, syncore's own temp files) and a chain of `.syncoreignore` matchers, one per
//! directory that has such a file, evaluated with gitignore semantics: the deepest file that
//! has an opinion wins, `!pattern` re-includes, `dir/` matches directories only. It only
//! answers questions about names; it never reads the index.

use std::path::Path;
use std::sync::Arc;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

use crate::apply::is_temp_name;

/// The name of per-directory ignore files.
pub const IGNORE_FILE_NAME: &str = ".syncoreignore";

/// True for names skipped by default: `*.swp`, `*~`, `~$*`, `.DS_Store`, `.~lock.*#` and
/// syncore's temp files.
pub fn is_default_ignored(name: &str) -> bool {
    name.ends_with(".swp")
        || name.ends_with('~')
        || name.starts_with("~$")
        || name == ".DS_Store"
        || (name.starts_with(".~lock.") && name.ends_with('#'))
        || is_temp_name(name)
}

/// The `.syncoreignore` matchers that apply inside one directory, innermost first.
#[derive(Debug, Clone, Default)]
pub struct IgnoreChain {
    link: Option<Arc<IgnoreLink>>,
}

#[derive(Debug)]
struct IgnoreLink {
    matcher: Gitignore,
    /// The directory holding the ignore file, relative to the root ("" for the root).
    base: String,
    outer: Option<Arc<IgnoreLink>>,
}

impl IgnoreChain {
    /// This chain extended with the ignore file of directory `rel_dir` (at `fs_dir`), if it
    /// has one. Malformed lines are ignored the way git ignores them.
    pub fn enter(&self, fs_dir: &Path, rel_dir: &str, has_ignore_file: bool) -> IgnoreChain {
        if !has_ignore_file {
            return self.clone();
        }
        let mut builder = GitignoreBuilder::new(fs_dir);
        // A partly malformed file still contributes its valid lines.
        let _ = builder.add(fs_dir.join(IGNORE_FILE_NAME));
        match builder.build() {
            Ok(matcher) if !matcher.is_empty() => IgnoreChain {
                link: Some(Arc::new(IgnoreLink {
                    matcher,
                    base: rel_dir.to_owned(),
                    outer: self.link.clone(),
                })),
            },
            _ => self.clone(),
        }
    }

    /// True if the relative path `rel` (a directory if `is_dir`) is ignored.
    pub fn is_ignored(&self, rel: &str, is_dir: bool) -> bool {
        let mut link = self.link.as_deref();
        while let Some(current) = link {
            let local = if current.base.is_empty() {
                Some(rel)
            } else {
                rel.strip_prefix(current.base.as_str())
                    .and_then(|r| r.strip_prefix('/'))
            };
            if let Some(local) = local {
                match current.matcher.matched(local, is_dir) {
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                    Match::None => {}
                }
            }
            link = current.outer.as_deref();
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names() {
        for name in [
            "a.swp",
            "notes.txt~",
            "~$report.docx",
            ".DS_Store",
            ".~lock.book.ods#",
            ".syncore-tmp-1-2",
        ] {
            assert!(is_default_ignored(name), "{name}");
        }
        for name in ["a.txt", "swp", "~lock", ".~lock.x", "DS_Store"] {
            assert!(!is_default_ignored(name), "{name}");
        }
    }

    #[test]
    fn nested_rules_deepest_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(IGNORE_FILE_NAME), "*.log\nbuild/\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub").join(IGNORE_FILE_NAME), "!keep.log\n").unwrap();
        let root = IgnoreChain::default().enter(dir.path(), "", true);
        assert!(root.is_ignored("a.log", false));
        assert!(root.is_ignored("build", true));
        assert!(!root.is_ignored("build", false));
        assert!(!root.is_ignored("a.txt", false));
        let sub = root.enter(&dir.path().join("sub"), "sub", true);
        assert!(sub.is_ignored("sub/x.log", false));
        assert!(!sub.is_ignored("sub/keep.log", false));
    }
}
