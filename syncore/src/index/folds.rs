//! Which live paths of the index fold to the same case-insensitive key as a given path.
//!
//! A planner asks this for every path it is about to create, so that names colliding on a
//! case-insensitive filesystem are reported. [`CaseFolds`] reads the live paths once and
//! keeps them back to back in one string, found through a sorted table of key hashes: building
//! it allocates nothing per path (for ASCII paths), and a question costs a binary search plus
//! an exact comparison with the few paths sharing the hash. The key is always
//! [`RelPath::case_fold_key`]; the hash only narrows the search.

use rusqlite::Connection;

use super::sql::map_sql;
use crate::error::{Error, Result};
use crate::path::{case_fold_hash, RelPath};

/// The live paths of an index, by the hash of their case-fold key.
#[derive(Debug, Default)]
pub(super) struct CaseFolds {
    /// Every live path, back to back.
    paths: String,
    /// `(hash of the fold key, start, end)` of each path in `paths`, sorted by hash.
    spans: Vec<(u64, usize, usize)>,
}

impl CaseFolds {
    /// Reads the live paths of the index on `conn`.
    pub fn of_live_paths(conn: &Connection) -> Result<Self> {
        let mut folds = CaseFolds::default();
        let mut key = String::new();
        let mut stmt = conn
            .prepare_cached("SELECT path FROM entries WHERE deleted = 0")
            .map_err(map_sql)?;
        let mut rows = stmt.query([]).map_err(map_sql)?;
        while let Some(row) = rows.next().map_err(map_sql)? {
            let path = row
                .get_ref(0)
                .map_err(map_sql)?
                .as_str()
                .map_err(|_| Error::corrupt("index holds a non-text path"))?;
            let start = folds.paths.len();
            folds.paths.push_str(path);
            folds
                .spans
                .push((case_fold_hash(path, &mut key), start, folds.paths.len()));
        }
        folds.spans.sort_unstable_by_key(|&(hash, _, _)| hash);
        Ok(folds)
    }

    /// The live paths other than `path` whose case-fold key is `path`'s.
    pub fn matches(&self, path: &RelPath) -> Result<Vec<RelPath>> {
        // `wanted` is left holding `path`'s fold key.
        let mut wanted = String::new();
        let hash = case_fold_hash(path.as_str(), &mut wanted);
        let first = self.spans.partition_point(|&(h, _, _)| h < hash);
        let mut out = Vec::new();
        for &(_, start, end) in self.spans[first..]
            .iter()
            .take_while(|&&(h, _, _)| h == hash)
        {
            let other = &self.paths[start..end];
            if other != path.as_str() && other.to_lowercase() == wanted {
                out.push(
                    RelPath::new(other)
                        .map_err(|e| Error::corrupt(format!("index holds an invalid path: {e}")))?,
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    fn folds_of(live: &[&str], deleted: &[&str]) -> CaseFolds {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE entries (path TEXT PRIMARY KEY, deleted INTEGER)")
            .unwrap();
        for (paths, deleted) in [(live, 0), (deleted, 1)] {
            for path in paths {
                conn.execute("INSERT INTO entries VALUES (?1, ?2)", (path, deleted))
                    .unwrap();
            }
        }
        CaseFolds::of_live_paths(&conn).unwrap()
    }

    #[test]
    fn finds_live_paths_that_fold_alike_and_never_the_path_itself() {
        let folds = folds_of(
            &["Docs/Read.md", "docs/read.MD", "other"],
            &["DOCS/READ.md"],
        );
        let mut found = folds.matches(&p("docs/read.md")).unwrap();
        found.sort();
        assert_eq!(found, vec![p("Docs/Read.md"), p("docs/read.MD")]);
        assert_eq!(
            folds.matches(&p("Docs/Read.md")).unwrap(),
            vec![p("docs/read.MD")]
        );
        assert!(folds.matches(&p("other")).unwrap().is_empty());
        assert!(folds.matches(&p("missing")).unwrap().is_empty());
    }

    #[test]
    fn non_ascii_names_fold_as_case_fold_key_does() {
        // The Kelvin sign folds to an ASCII `k`; Greek capital sigma folds by position.
        let folds = folds_of(&["\u{212A}elvin", "ΟΔΟΣ", "straße"], &[]);
        assert_eq!(
            folds.matches(&p("kelvin")).unwrap(),
            vec![p("\u{212A}elvin")]
        );
        let lower = "ΟΔΟΣ".to_lowercase();
        assert_eq!(folds.matches(&p(&lower)).unwrap(), vec![p("ΟΔΟΣ")]);
        assert_eq!(folds.matches(&p("STRASSE")).unwrap(), Vec::<RelPath>::new());
        assert_eq!(folds.matches(&p("STRAßE")).unwrap(), vec![p("straße")]);
    }
}
