//! What reconciliation decided: a [`Plan`] of [`Action`]s, with its conflicts and collisions.
//!
//! A plan is a plain value: the actions that bring the local replica up to date with a peer's
//! change set, in the order they must run, plus a report of the conflicts that were resolved
//! on the way ([`Conflict`]) and of the paths that collide on case-insensitive filesystems
//! ([`Collision`]). Every action that changes a path names the local entry it expects to find
//! there (`expected`), so the applier can refuse to overwrite something the user changed
//! after planning, and the entry to record once it is done (with the version the index must
//! store). This module only describes plans; building one is `reconcile`'s job and
//! performing one is `apply`'s.

use std::collections::HashSet;

use crate::entry::{Entry, EntryKind};
use crate::hash::Digest;
use crate::manifest::FileManifest;
use crate::path::{case_fold_hash, RelPath};
use crate::sync::policy::Side;
use crate::sync::ReplicaId;

/// One step of a plan. Entries to record carry the version the index must store; their `seq`
/// is meaningless (the index assigns its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create or replace a regular file with `manifest`'s content, then record `entry`.
    WriteFile {
        /// The entry to record (its path is where the file goes).
        entry: Entry,
        /// The content to assemble.
        manifest: FileManifest,
        /// The chunk ids of `manifest` not available locally, in file order, each once.
        missing_chunks: Vec<Digest>,
        /// The local entry expected at the path now (`None`: nothing should be there).
        expected: Option<Entry>,
    },
    /// Create a directory (replacing `expected` if it is not one), then record `entry`.
    MakeDir {
        /// The entry to record.
        entry: Entry,
        /// The local entry expected at the path now.
        expected: Option<Entry>,
    },
    /// Create a symbolic link (never followed), then record `entry`.
    MakeSymlink {
        /// The entry to record; its `symlink_target` is the link's target.
        entry: Entry,
        /// The local entry expected at the path now.
        expected: Option<Entry>,
    },
    /// Delete a file or symlink, then record the tombstone.
    Delete {
        /// The tombstone to record.
        tombstone: Entry,
        /// The local entry expected at the path now.
        expected: Entry,
    },
    /// Remove an (empty) directory, then record the tombstone.
    RemoveDir {
        /// The tombstone to record.
        tombstone: Entry,
        /// The local directory entry expected at the path now.
        expected: Entry,
    },
    /// Rename a local file: a detected move (a remote delete plus a create of the same
    /// content), or a local conflict loser kept as a conflict copy.
    Rename {
        /// The local entry expected at the source path.
        from: Entry,
        /// The entry to record at the destination (its path is the destination).
        to: Entry,
        /// The tombstone to record at the source (`None` when the source path is rewritten
        /// by a later action of the same plan).
        tombstone: Option<Entry>,
    },
    /// Same content, different metadata (mtime, executable bit): update it, then record.
    UpdateMetadata {
        /// The entry to record; its mtime and executable bit are applied to the file.
        entry: Entry,
        /// The local entry expected at the path now.
        expected: Entry,
    },
    /// Index-only: record `entry` (merged version vectors of identical content, a tombstone
    /// for a path that does not exist locally, a conflict won by the local version).
    Record {
        /// The entry to record.
        entry: Entry,
        /// Record only if the action for this path completed earlier in the same apply: a
        /// conflict won locally is recorded (which supersedes the remote version) only once
        /// the remote loser's conflict copy exists.
        requires: Option<RelPath>,
    },
}

impl Action {
    /// The path the action changes (the destination, for a rename).
    pub fn path(&self) -> &RelPath {
        match self {
            Action::WriteFile { entry, .. }
            | Action::MakeDir { entry, .. }
            | Action::MakeSymlink { entry, .. }
            | Action::UpdateMetadata { entry, .. }
            | Action::Record { entry, .. } => &entry.path,
            Action::Delete { tombstone, .. } | Action::RemoveDir { tombstone, .. } => {
                &tombstone.path
            }
            Action::Rename { to, .. } => &to.path,
        }
    }

    /// True for actions that only touch the index, never the working tree.
    pub fn is_index_only(&self) -> bool {
        matches!(self, Action::Record { .. })
    }

    /// The versions the action records in the index once done (two for a rename that leaves
    /// a tombstone behind).
    pub fn recorded(&self) -> impl Iterator<Item = &Entry> {
        let (first, second) = match self {
            Action::WriteFile { entry, .. }
            | Action::MakeDir { entry, .. }
            | Action::MakeSymlink { entry, .. }
            | Action::UpdateMetadata { entry, .. }
            | Action::Record { entry, .. } => (entry, None),
            Action::Delete { tombstone, .. } | Action::RemoveDir { tombstone, .. } => {
                (tombstone, None)
            }
            Action::Rename { to, tombstone, .. } => (to, tombstone.as_ref()),
        };
        std::iter::once(first).chain(second)
    }

    /// Every path the action changes on disk or in the index: the paths it records, and a
    /// rename's source.
    pub fn paths_changed(&self) -> impl Iterator<Item = &RelPath> {
        let source = match self {
            Action::Rename { from, .. } => Some(&from.path),
            _ => None,
        };
        self.recorded().map(|entry| &entry.path).chain(source)
    }

    /// The position of this action's kind in a plan's execution order (see [`Plan`]).
    pub(crate) fn phase(&self) -> u8 {
        match self {
            Action::Rename { .. } => 0,
            Action::MakeDir { .. } => 1,
            // A file or symlink replacing a directory waits until its contents are gone.
            Action::WriteFile {
                expected: Some(e), ..
            }
            | Action::MakeSymlink {
                expected: Some(e), ..
            } if e.kind == EntryKind::Dir && !e.deleted => 6,
            Action::WriteFile { .. } | Action::MakeSymlink { .. } => 2,
            Action::UpdateMetadata { .. } => 3,
            Action::Delete { .. } => 4,
            Action::RemoveDir { .. } => 5,
            Action::Record { .. } => 7,
        }
    }
}

/// A conflict found while planning, and how it was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The contested path.
    pub path: RelPath,
    /// The local version.
    pub local: Entry,
    /// The remote version.
    pub remote: Entry,
    /// Which version now lives at `path`.
    pub winner: Side,
    /// Where the losing version was kept, if the policy keeps losers.
    pub copy: Option<RelPath>,
}

/// Two paths that name the same file on a case-insensitive filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// The remote path that would be created.
    pub path: RelPath,
    /// The path it collides with.
    pub other: RelPath,
    /// True if `other` is a local path, false if it is another path of the same change set.
    pub other_is_local: bool,
    /// True if the remote entry was left out of the plan because of the collision.
    pub skipped: bool,
}

/// What a plan would do, in numbers (see [`Plan::summary`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanSummary {
    /// Files to create or replace.
    pub files_written: usize,
    /// Total size of those files.
    pub bytes_written: u64,
    /// Chunks to fetch (not available locally).
    pub missing_chunks: usize,
    /// Bytes to fetch; `bytes_written - missing_bytes` is what local reuse and dedup save.
    pub missing_bytes: u64,
    /// Directories to create.
    pub dirs_created: usize,
    /// Symlinks to create.
    pub symlinks_created: usize,
    /// Paths to delete.
    pub deleted: usize,
    /// Renames (moves and conflict copies).
    pub renamed: usize,
    /// Metadata-only updates.
    pub metadata_updated: usize,
    /// Index-only records.
    pub index_only: usize,
    /// Conflicts resolved.
    pub conflicts: usize,
    /// Case collisions met.
    pub collisions: usize,
}

/// The result of reconciling a change set: actions in execution order, plus reports.
///
/// Execution order: renames (moves and conflict copies, before their paths are rewritten),
/// directory creations (shallowest first), file and symlink writes, metadata updates, file
/// deletions, directory removals (deepest first), files or symlinks that replace a directory,
/// then index-only records. Writes come before
/// deletions so that chunks of files about to be deleted can still be reused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The replica whose change set was planned.
    pub source: ReplicaId,
    /// The cursor that change set started after (its [`ChangeSet::since`]): the plan takes
    /// the receiver from there to [`cursor`](Plan::cursor).
    ///
    /// [`ChangeSet::since`]: crate::sync::ChangeSet::since
    pub since: u64,
    /// The cursor to remember for `source`, once the plan has been applied completely
    /// ([`ApplyReport::is_complete`](crate::apply::ApplyReport::is_complete)); otherwise
    /// re-plan from the old cursor (actions already done are then no-ops).
    pub cursor: u64,
    /// What to do, in order.
    pub actions: Vec<Action>,
    /// Conflicts met and how they were resolved (their actions are in `actions`).
    pub conflicts: Vec<Conflict>,
    /// Case-insensitive collisions met.
    pub collisions: Vec<Collision>,
    /// True when every version the plan records is one the source sent, exactly as sent (no
    /// merged or bumped version vector, no conflict copy). Once such a plan is applied
    /// completely, the journal entries it wrote are the source's own versions, which the
    /// source need not be sent back ([`Replica::changes_for`](crate::Replica::changes_for)).
    pub verbatim: bool,
}

impl Plan {
    /// True if there is nothing to do at all, not even index bookkeeping.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// True if no action touches the working tree.
    pub fn is_index_only(&self) -> bool {
        self.actions.iter().all(Action::is_index_only)
    }

    /// True if no path this plan changes is one `other` changes, also when compared
    /// case-insensitively. Such a plan does not depend on whether `other` was applied before
    /// it was made: it reads no local entry that `other` writes, and no name it creates can
    /// collide with one of `other`'s. (Which chunks it finds locally may differ; both ways
    /// are correct.) Paths are compared by the hash of their case-fold key, so a rare hash
    /// collision reads as a shared path: false, never wrongly true.
    pub fn changes_no_path_of(&self, other: &Plan) -> bool {
        let mut scratch = String::new();
        let theirs: HashSet<u64, foldhash::fast::RandomState> = other
            .paths_changed()
            .map(|path| case_fold_hash(path.as_str(), &mut scratch))
            .collect();
        !self
            .paths_changed()
            .any(|path| theirs.contains(&case_fold_hash(path.as_str(), &mut scratch)))
    }

    /// Every path some action changes ([`Action::paths_changed`]).
    fn paths_changed(&self) -> impl Iterator<Item = &RelPath> {
        self.actions.iter().flat_map(Action::paths_changed)
    }

    /// Every chunk id some action still needs, in plan order, each once. This is the list an
    /// application fetches from the peer (or a hub store) before applying the plan.
    pub fn missing_chunks(&self) -> Vec<Digest> {
        let mut seen = HashSet::new();
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::WriteFile { missing_chunks, .. } => Some(missing_chunks),
                _ => None,
            })
            .flatten()
            .filter(|id| seen.insert(**id))
            .copied()
            .collect()
    }

    /// Total bytes of the chunks in [`missing_chunks`](Plan::missing_chunks) (what the
    /// transfer will move), taken from the manifests.
    pub fn missing_bytes(&self) -> u64 {
        let mut seen = HashSet::new();
        let mut total = 0u64;
        for action in &self.actions {
            if let Action::WriteFile {
                manifest,
                missing_chunks,
                ..
            } = action
            {
                let wanted: HashSet<&Digest> = missing_chunks.iter().collect();
                for chunk in manifest.chunks() {
                    if wanted.contains(&chunk.id) && seen.insert(chunk.id) {
                        total = total.saturating_add(u64::from(chunk.len));
                    }
                }
            }
        }
        total
    }

    /// Counts of what the plan would do, for dry runs and progress reports.
    pub fn summary(&self) -> PlanSummary {
        let mut summary = PlanSummary {
            conflicts: self.conflicts.len(),
            collisions: self.collisions.len(),
            missing_chunks: self.missing_chunks().len(),
            missing_bytes: self.missing_bytes(),
            ..PlanSummary::default()
        };
        for action in &self.actions {
            match action {
                Action::WriteFile { manifest, .. } => {
                    summary.files_written += 1;
                    summary.bytes_written = summary.bytes_written.saturating_add(manifest.size());
                }
                Action::MakeDir { .. } => summary.dirs_created += 1,
                Action::MakeSymlink { .. } => summary.symlinks_created += 1,
                Action::Delete { .. } | Action::RemoveDir { .. } => summary.deleted += 1,
                Action::Rename { .. } => summary.renamed += 1,
                Action::UpdateMetadata { .. } => summary.metadata_updated += 1,
                Action::Record { .. } => summary.index_only += 1,
            }
        }
        summary
    }

    /// How many actions would delete a live local path (files, symlinks and directories).
    pub fn deletions(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| matches!(a, Action::Delete { .. } | Action::RemoveDir { .. }))
            .count()
    }

    /// Sorts the actions into execution order (stable within a phase, directories by depth).
    pub(crate) fn sort(&mut self) {
        self.actions.sort_by(|a, b| {
            let depth = |x: &Action| x.path().components().count();
            a.phase().cmp(&b.phase()).then_with(|| match a.phase() {
                1 => depth(a).cmp(&depth(b)),
                5 => depth(b).cmp(&depth(a)),
                _ => a.path().cmp(b.path()),
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::VersionVector;

    fn entry(path: &str, kind: EntryKind, deleted: bool) -> Entry {
        Entry {
            path: RelPath::new(path).unwrap(),
            kind,
            size: 0,
            mtime_ns: 0,
            executable: false,
            symlink_target: None,
            content_id: None,
            version: VersionVector::new(),
            deleted,
            seq: 0,
        }
    }

    #[test]
    fn sort_orders_phases_and_depths() {
        let dir = |p: &str| Action::MakeDir {
            entry: entry(p, EntryKind::Dir, false),
            expected: None,
        };
        let rmdir = |p: &str| Action::RemoveDir {
            tombstone: entry(p, EntryKind::Dir, true),
            expected: entry(p, EntryKind::Dir, false),
        };
        let record = Action::Record {
            entry: entry("r", EntryKind::File, true),
            requires: None,
        };
        let mut plan = Plan {
            actions: vec![record, rmdir("x"), rmdir("x/y"), dir("a/b"), dir("a")],
            ..Plan::default()
        };
        plan.sort();
        let order: Vec<_> = plan.actions.iter().map(|a| a.path().to_string()).collect();
        assert_eq!(order, ["a", "a/b", "x/y", "x", "r"]);
        assert_eq!(plan.deletions(), 2);
        assert!(!plan.is_index_only());
        assert!(plan.missing_chunks().is_empty());
        assert_eq!(plan.missing_bytes(), 0);
    }

    #[test]
    fn plans_sharing_a_path_in_any_case_or_as_a_rename_source_depend_on_each_other() {
        let plan = |actions: Vec<Action>| Plan {
            actions,
            ..Plan::default()
        };
        let file = |p: &str| Action::MakeSymlink {
            entry: entry(p, EntryKind::Symlink, false),
            expected: None,
        };
        let rename = |from: &str, to: &str| Action::Rename {
            from: entry(from, EntryKind::File, false),
            to: entry(to, EntryKind::File, false),
            tombstone: None,
        };
        let first = plan(vec![file("d/a"), rename("d/old", "d/new")]);
        let independent = plan(vec![file("d/b"), file("e/a")]);
        assert!(independent.changes_no_path_of(&first));
        assert!(first.changes_no_path_of(&independent));
        assert!(first.changes_no_path_of(&Plan::default()));
        for dependent in [
            plan(vec![file("d/b"), file("d/a")]),
            plan(vec![file("D/A")]),
            plan(vec![file("d/old")]),
            plan(vec![rename("d/New", "d/c")]),
        ] {
            assert!(!dependent.changes_no_path_of(&first), "{dependent:?}");
            assert!(!first.changes_no_path_of(&dependent), "{dependent:?}");
        }
    }
}
