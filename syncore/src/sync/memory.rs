//! [`MemoryView`]: a replica's recorded state held in memory.
//!
//! This module owns an in-memory stand-in for the index: entries in a `BTreeMap`, manifests
//! by content id, the set of locally available chunks and a sequence counter. It implements
//! [`LocalView`] for planning, produces change sets ([`MemoryView::changes_since`]), records
//! local edits the way a scan would (bumping the replica's own counter) and records applied
//! plans without touching any disk ([`MemoryView::apply_plan`]), so reconciliation can be
//! tested and simulated without SQLite. It never reads or writes files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;

use crate::entry::{Entry, EntryKind};
use crate::error::{Error, Result};
use crate::hash::Digest;
use crate::manifest::FileManifest;
use crate::path::RelPath;
use crate::sync::plan::{Action, Plan};
use crate::sync::reconcile::{tombstone_of, LocalView};
use crate::sync::{ChangeSet, ReplicaId, VersionVector};

/// A replica's recorded state in memory; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct MemoryView {
    id: ReplicaId,
    entries: BTreeMap<RelPath, Entry>,
    manifests: HashMap<Digest, FileManifest>,
    chunks: HashSet<Digest>,
    seq: u64,
}

impl MemoryView {
    /// An empty replica with identity `id`.
    pub fn new(id: ReplicaId) -> Self {
        MemoryView {
            id,
            ..MemoryView::default()
        }
    }

    /// The last sequence number handed out (the cursor a peer reaches by taking everything).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Every recorded entry, tombstones included, by path.
    pub fn entries(&self) -> &BTreeMap<RelPath, Entry> {
        &self.entries
    }

    /// The manifest with content id `id`, if known.
    pub fn manifest(&self, id: &Digest) -> Option<&FileManifest> {
        self.manifests.get(id)
    }

    /// The live entries (no tombstones), by path.
    pub fn live(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values().filter(|e| !e.deleted)
    }

    /// Marks chunks as available locally (e.g. after fetching them into a local store).
    pub fn add_chunks(&mut self, ids: impl IntoIterator<Item = Digest>) {
        self.chunks.extend(ids);
    }

    /// Records a local change to a file, as a scan would: the version is the previous one
    /// (tombstone included) bumped by this replica.
    pub fn local_write(
        &mut self,
        path: &RelPath,
        manifest: FileManifest,
        mtime_ns: i64,
        executable: bool,
    ) -> &Entry {
        let entry = Entry {
            path: path.clone(),
            kind: EntryKind::File,
            size: manifest.size(),
            mtime_ns,
            executable,
            symlink_target: None,
            content_id: Some(manifest.content_id()),
            version: self.bumped(path),
            deleted: false,
            seq: 0,
        };
        self.record(entry, Some(&manifest))
    }

    /// Records a local directory creation, as a scan would.
    pub fn local_mkdir(&mut self, path: &RelPath, mtime_ns: i64) -> &Entry {
        let entry = Entry {
            path: path.clone(),
            kind: EntryKind::Dir,
            size: 0,
            mtime_ns,
            executable: false,
            symlink_target: None,
            content_id: None,
            version: self.bumped(path),
            deleted: false,
            seq: 0,
        };
        self.record(entry, None)
    }

    /// Records a local deletion, as a scan would; fails if the path is not live.
    pub fn local_delete(&mut self, path: &RelPath, mtime_ns: i64) -> Result<&Entry> {
        let current = self
            .entries
            .get(path)
            .filter(|e| !e.deleted)
            .ok_or_else(|| Error::NotFound(format!("live entry {path}")))?;
        let mut tombstone = tombstone_of(current);
        tombstone.mtime_ns = mtime_ns;
        tombstone.version.bump(self.id);
        Ok(self.record(tombstone, None))
    }

    fn bumped(&self, path: &RelPath) -> VersionVector {
        let mut version = self
            .entries
            .get(path)
            .map(|e| e.version.clone())
            .unwrap_or_default();
        version.bump(self.id);
        version
    }

    /// Stores `entry` with a fresh sequence number (and its manifest, whose chunks become
    /// available), the way the index records both local and applied changes.
    pub fn record(&mut self, mut entry: Entry, manifest: Option<&FileManifest>) -> &Entry {
        if let Some(manifest) = manifest {
            self.chunks.extend(manifest.chunks().iter().map(|c| c.id));
            self.manifests
                .insert(manifest.content_id(), manifest.clone());
        }
        self.seq += 1;
        entry.seq = self.seq;
        let path = entry.path.clone();
        self.entries.insert(path.clone(), entry);
        &self.entries[&path]
    }

    /// The change set a peer whose cursor is `since` needs: entries with a higher sequence
    /// number, tombstones included, with the manifests of the live files.
    pub fn changes_since(&self, since: u64) -> ChangeSet {
        let entries: Vec<Entry> = self
            .entries
            .values()
            .filter(|e| e.seq > since)
            .cloned()
            .collect();
        let mut seen = HashSet::new();
        let manifests = entries
            .iter()
            .filter(|e| !e.deleted)
            .filter_map(|e| e.content_id)
            .filter(|id| seen.insert(*id))
            .filter_map(|id| self.manifests.get(&id).cloned())
            .collect();
        ChangeSet {
            source: self.id,
            since,
            cursor: self.seq,
            entries,
            manifests,
        }
    }

    /// Records every action of `plan` as if it had been applied to a working tree.
    pub fn apply_plan(&mut self, plan: &Plan) {
        for action in &plan.actions {
            match action {
                Action::WriteFile {
                    entry, manifest, ..
                } => {
                    self.record(entry.clone(), Some(manifest));
                }
                Action::MakeDir { entry, .. }
                | Action::MakeSymlink { entry, .. }
                | Action::UpdateMetadata { entry, .. }
                | Action::Record { entry, .. } => {
                    self.record(entry.clone(), None);
                }
                Action::Delete { tombstone, .. } | Action::RemoveDir { tombstone, .. } => {
                    self.record(tombstone.clone(), None);
                }
                Action::Rename { to, tombstone, .. } => {
                    self.record(to.clone(), None);
                    if let Some(tombstone) = tombstone {
                        self.record(tombstone.clone(), None);
                    }
                }
            }
        }
    }
}

impl LocalView for MemoryView {
    fn replica_id(&self) -> ReplicaId {
        self.id
    }

    fn entry(&self, path: &RelPath) -> Result<Option<Entry>> {
        Ok(self.entries.get(path).cloned())
    }

    /// One ordered walk over the map while the paths come sorted and close together; a fresh
    /// search for a path that sorts before the previous one or lies far ahead.
    fn visit_entries_at(
        &self,
        paths: &[&RelPath],
        f: &mut dyn FnMut(usize, Option<&Entry>) -> Result<()>,
    ) -> Result<()> {
        /// Entries stepped over before searching afresh.
        const MAX_STEPS: usize = 8;
        let seek = |path: &RelPath| {
            self.entries
                .range::<RelPath, _>((Bound::Included(path), Bound::Unbounded))
                .peekable()
        };
        let Some(first) = paths.first() else {
            return Ok(());
        };
        let mut cursor = seek(first);
        let mut previous = *first;
        for (i, &path) in paths.iter().enumerate() {
            let mut steps = 0;
            let ordered = previous <= path;
            while ordered && steps < MAX_STEPS && cursor.peek().is_some_and(|(k, _)| *k < path) {
                cursor.next();
                steps += 1;
            }
            if !ordered || cursor.peek().is_some_and(|(k, _)| *k < path) {
                cursor = seek(path);
            }
            let found = cursor.peek().filter(|(k, _)| *k == path).map(|(_, e)| *e);
            f(i, found)?;
            previous = path;
        }
        Ok(())
    }

    fn has_chunk(&self, id: &Digest) -> Result<bool> {
        Ok(self.chunks.contains(id))
    }

    fn live_entry_count(&self) -> Result<u64> {
        Ok(self.live().count() as u64)
    }

    fn live_under(&self, dir: &RelPath) -> Result<Vec<RelPath>> {
        Ok(self
            .entries
            .range(dir.clone()..)
            // Textual prefix first: "d-x" sorts between "d" and "d/a".
            .take_while(|(p, _)| p.as_str().starts_with(dir.as_str()))
            .filter(|(p, e)| !e.deleted && *p != dir && p.starts_with(dir))
            .map(|(p, _)| p.clone())
            .collect())
    }

    fn case_fold_matches(&self, path: &RelPath) -> Result<Vec<RelPath>> {
        let key = path.case_fold_key();
        Ok(self
            .live()
            .filter(|e| &e.path != path && e.path.case_fold_key() == key)
            .map(|e| e.path.clone())
            .collect())
    }

    fn for_each_entry(&self, f: &mut dyn FnMut(&Entry) -> Result<()>) -> Result<()> {
        self.entries.values().try_for_each(f)
    }
}
