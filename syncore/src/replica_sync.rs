//! The sans-IO exchange on real replicas: [`Replica`] change sets, plans and applies, and the
//! store-backed [`Hub`].
//!
//! This module wires [`crate::sync`] and [`crate::apply`] to the SQLite [`Index`]: a change
//! set is read from the index journal (sorted by path, with the manifests of its live files),
//! a plan is computed against the index ([`PlanningView`]), and a plan is applied to the
//! working tree with every applied change recorded in one index transaction. The peer's
//! cursor is stored only when a plan was applied completely, so a partial apply is simply
//! retried by the next exchange. A [`Hub`] is the same exchange for a replica whose content
//! lives in a [`ChunkStore`] instead of a working tree. This module moves no bytes between
//! replicas: the application does, with the values it produces.
//!
//! ```
//! use syncore::apply::ApplyOptions;
//! use syncore::sync::SyncOptions;
//! use syncore::{Replica, ReplicaOptions};
//!
//! let (a_dir, b_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
//! std::fs::write(a_dir.path().join("notes.txt"), b"from A")?;
//! let mut a = Replica::open(a_dir.path(), ReplicaOptions::default())?;
//! let mut b = Replica::open(b_dir.path(), ReplicaOptions::default())?;
//! a.scan()?;
//! // The application ships these bytes from A to B however it likes.
//! let bytes = a.changes_since_encoded(b.synced_cursor(a.replica_id())?)?;
//! let plan = b.plan_encoded(&bytes, &SyncOptions::default())?;
//! // ... and fetches the chunks B lacks from A (here: straight from A's files).
//! let report = b.apply(&plan, &a.chunk_source(), &ApplyOptions::default())?;
//! assert!(report.is_complete());
//! assert_eq!(std::fs::read(b_dir.path().join("notes.txt"))?, b"from A");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use crate::apply::{
    apply_plan_meanwhile, apply_plan_to_store, remove_stale_temp_files_except, ApplyOptions,
    ApplyReport, ChunkSource, LocalChunks,
};
use crate::entry::Entry;
use crate::error::Result;
use crate::hash::Digest;
use crate::index::{Index, IndexOptions, PlanningView};
use crate::manifest::FileManifest;
use crate::path::RelPath;
use crate::replica::Replica;
use crate::store::ChunkStore;
use crate::sync::encode_parts;
use crate::sync::{
    reconcile, reconcile_encoded, ChangeSet, LocalView, Plan, ReplicaId, SyncOptions,
};

/// The change set of everything `index` recorded after `cursor`: entries sorted by path,
/// tombstones included, with one manifest per distinct live file content.
pub fn index_change_set(index: &Index, cursor: u64) -> Result<ChangeSet> {
    let journal = index.journal_with_manifests(cursor)?;
    let manifests = journal
        .manifests
        .into_iter()
        .map(|(id, stored)| stored.into_manifest(&id))
        .collect::<Result<Vec<_>>>()?;
    Ok(ChangeSet {
        source: index.replica_id(),
        since: cursor,
        cursor: journal.cursor,
        entries: journal.entries,
        manifests,
    })
}

/// [`index_change_set`], encoded, with each manifest copied as the index stores it (in the
/// change-set encoding) instead of decoded and encoded again. The receiver's decode checks
/// every manifest against the entries that name it, as it does for any peer's bytes.
pub fn index_change_set_encoded(index: &Index, cursor: u64) -> Result<Vec<u8>> {
    let journal = index.journal_with_manifests(cursor)?;
    let manifests: Vec<Vec<u8>> = journal
        .manifests
        .into_iter()
        .map(|(_, stored)| stored.into_encoded())
        .collect();
    Ok(encode_parts(
        index.replica_id(),
        cursor,
        journal.cursor,
        &journal.entries,
        manifests.iter().map(Vec::as_slice),
    ))
}

fn peer_key(peer: ReplicaId) -> String {
    format!("sync:{peer}")
}

/// Where a change set for `peer` starts in `index`'s journal when `peer` has read it up to
/// `cursor`: past the versions this replica took from `peer` as `peer` sent them.
fn start_for(index: &Index, peer: ReplicaId, cursor: u64) -> Result<u64> {
    index.skip_echoes(&peer_key(peer), cursor)
}

/// After a complete apply of `plan` whose records came after `last_seq_before` in `index`'s
/// journal: the source's cursor advances, and a verbatim plan's records are noted as echoes
/// of the source (a change set for it then leaves them out).
fn note_complete_apply(index: &mut Index, plan: &Plan, last_seq_before: u64) -> Result<()> {
    let key = peer_key(plan.source);
    index.set_peer_cursor(&key, plan.cursor)?;
    if plan.verbatim {
        index.note_echoes(&key, last_seq_before, index.last_seq()?)?;
    }
    Ok(())
}

impl Replica {
    /// Everything this replica recorded after `cursor` (a peer's [`synced_cursor`] of this
    /// replica), as a [`ChangeSet`]; [`ChangeSet::cursor`] is the peer's next cursor.
    ///
    /// [`synced_cursor`]: Replica::synced_cursor
    pub fn change_set(&self, cursor: u64) -> Result<ChangeSet> {
        index_change_set(self.index(), cursor)
    }

    /// [`change_set`](Replica::change_set), encoded: the bytes the application ships.
    pub fn changes_since_encoded(&self, cursor: u64) -> Result<Vec<u8>> {
        index_change_set_encoded(self.index(), cursor)
    }

    /// What `peer`, which has read this replica's journal up to `cursor`, needs: the
    /// [`change_set`](Replica::change_set) since `cursor`, less the versions this replica took
    /// from `peer` exactly as `peer` sent them (echoes, noted by [`apply`](Replica::apply)
    /// for a [`Plan::verbatim`] plan). When it leaves echoes out, the change set's
    /// [`since`](ChangeSet::since) is where it starts, after them (so it is never
    /// [complete](ChangeSet::is_complete)); its [`cursor`](ChangeSet::cursor) is the peer's
    /// next cursor as always.
    pub fn changes_for(&self, peer: ReplicaId, cursor: u64) -> Result<ChangeSet> {
        self.change_set(start_for(self.index(), peer, cursor)?)
    }

    /// [`changes_for`](Replica::changes_for), encoded.
    pub fn changes_for_encoded(&self, peer: ReplicaId, cursor: u64) -> Result<Vec<u8>> {
        self.changes_since_encoded(start_for(self.index(), peer, cursor)?)
    }

    /// Plans what this replica must do to take in a peer's `changes` (pure: reads the index,
    /// touches nothing).
    pub fn plan(&self, changes: &ChangeSet, options: &SyncOptions) -> Result<Plan> {
        reconcile(&PlanningView::new(self.index()), changes, options)
    }

    /// Decodes a peer's change set (hostile input is rejected, never trusted) and plans it.
    pub fn plan_encoded(&self, bytes: &[u8], options: &SyncOptions) -> Result<Plan> {
        reconcile_encoded(&PlanningView::new(self.index()), bytes, options)
    }

    /// How far this replica has taken in `peer`'s journal: the cursor to ask `peer` for
    /// changes since (0 if never synced).
    pub fn synced_cursor(&self, peer: ReplicaId) -> Result<u64> {
        self.index().peer_cursor(&peer_key(peer))
    }

    /// Performs `plan` on the working tree, reading chunks from this replica's own files first
    /// and from `source` otherwise, and records every applied change in the index in one
    /// transaction (committed even when an injected crash stops the run, as far as it got:
    /// those files are on disk). When the report is complete, the peer's cursor advances to
    /// the plan's.
    pub fn apply(
        &mut self,
        plan: &Plan,
        source: &dyn ChunkSource,
        options: &ApplyOptions,
    ) -> Result<ApplyReport> {
        self.apply_meanwhile(plan, source, options, |_| true)
    }

    /// [`apply`](Self::apply), calling `meanwhile` with this replica once every action has
    /// been taken on or handed to a placing thread, and again as each placed file comes back,
    /// until it returns true; its index holds part of this plan's records meanwhile,
    /// uncommitted.
    pub(crate) fn apply_meanwhile(
        &mut self,
        plan: &Plan,
        source: &dyn ChunkSource,
        options: &ApplyOptions,
        mut meanwhile: impl FnMut(&Replica) -> bool,
    ) -> Result<ApplyReport> {
        let root = self.root().to_path_buf();
        let last_seq = self.index().last_seq()?;
        let result = {
            let this = &*self;
            let mut batch = this.index().shared_applied_batch()?;
            let mut with_replica = || meanwhile(this);
            let result =
                apply_plan_meanwhile(&root, plan, source, &mut batch, options, &mut with_replica);
            batch.commit()?;
            result
        };
        let report = result?;
        if report.is_complete() {
            note_complete_apply(self.index_mut(), plan, last_seq)?;
        }
        Ok(report)
    }

    /// A chunk source reading this replica's own files (every read verified against the
    /// chunk id): what the application serves a peer's [`Plan::missing_chunks`] from. It
    /// first tries the path and offset the peer's applier names for each chunk (in a sync
    /// from this replica, the file is at the same path here), then its index.
    pub fn chunk_source(&self) -> LocalChunks<'_, Index> {
        LocalChunks::new(self.root(), self.index().algo(), self.index()).following_hints()
    }

    /// Removes temp files a crashed apply left behind (their names start with
    /// [`TEMP_PREFIX`](crate::apply::TEMP_PREFIX)) anywhere under the root but in the state
    /// directory. [`Replica::open`] does this unless
    /// [`ReplicaOptions::remove_stale_temp_files`](crate::ReplicaOptions) is off. Returns how
    /// many were removed.
    pub fn remove_stale_temp_files(&self) -> Result<u64> {
        remove_stale_temp_files_except(self.root(), self.scanner().state_dir())
    }
}

/// A replica with an index and a [`ChunkStore`] but no working tree: the "server" of a
/// Dropbox-like service. It serves change sets to any number of clients, takes in their plans
/// by storing the chunks it lacks, and serves chunks from its store.
#[derive(Debug)]
pub struct Hub<S: ChunkStore> {
    index: Index,
    store: S,
}

/// The hub's index for planning, with chunk availability answered by the store.
struct HubView<'a, S: ChunkStore> {
    view: PlanningView<'a>,
    store: &'a S,
}

impl<S: ChunkStore> LocalView for HubView<'_, S> {
    fn replica_id(&self) -> ReplicaId {
        self.view.replica_id()
    }
    fn entry(&self, path: &RelPath) -> Result<Option<Entry>> {
        self.view.entry(path)
    }
    fn visit_entries_at(
        &self,
        paths: &[&RelPath],
        f: &mut dyn FnMut(usize, Option<&Entry>) -> Result<()>,
    ) -> Result<()> {
        self.view.visit_entries_at(paths, f)
    }
    fn has_chunk(&self, id: &Digest) -> Result<bool> {
        self.store.has(id)
    }
    fn live_entry_count(&self) -> Result<u64> {
        self.view.live_entry_count()
    }
    fn live_under(&self, dir: &RelPath) -> Result<Vec<RelPath>> {
        self.view.live_under(dir)
    }
    fn case_fold_matches(&self, path: &RelPath) -> Result<Vec<RelPath>> {
        self.view.case_fold_matches(path)
    }
    fn for_each_entry(&self, f: &mut dyn FnMut(&Entry) -> Result<()>) -> Result<()> {
        self.view.for_each_entry(f)
    }
}

impl<S: ChunkStore> Hub<S> {
    /// Opens (or creates) the hub whose index lives in `state_dir` and whose content lives in
    /// `store` (which must use the index's hash algorithm).
    pub fn open(state_dir: impl AsRef<Path>, store: S, options: IndexOptions) -> Result<Self> {
        if store.algo() != options.algo {
            return Err(crate::Error::invalid(format!(
                "hub store hashes with {:?} but the index with {:?}",
                store.algo(),
                options.algo
            )));
        }
        Ok(Hub {
            index: Index::open(state_dir, options)?,
            store,
        })
    }

    /// The hub's replica id.
    pub fn replica_id(&self) -> ReplicaId {
        self.index.replica_id()
    }

    /// The hub's index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The hub's chunk store: the chunk source clients fetch missing chunks from.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Everything the hub recorded after `cursor` (a client's cursor of the hub).
    pub fn change_set(&self, cursor: u64) -> Result<ChangeSet> {
        index_change_set(&self.index, cursor)
    }

    /// [`change_set`](Hub::change_set), encoded.
    pub fn changes_since_encoded(&self, cursor: u64) -> Result<Vec<u8>> {
        index_change_set_encoded(self.index(), cursor)
    }

    /// What `client` needs: [`Replica::changes_for`] on the hub, leaving out the versions
    /// the hub took from that client as the client sent them.
    pub fn changes_for(&self, client: ReplicaId, cursor: u64) -> Result<ChangeSet> {
        self.change_set(start_for(&self.index, client, cursor)?)
    }

    /// [`changes_for`](Hub::changes_for), encoded.
    pub fn changes_for_encoded(&self, client: ReplicaId, cursor: u64) -> Result<Vec<u8>> {
        self.changes_since_encoded(start_for(&self.index, client, cursor)?)
    }

    /// How far the hub has taken in `client`'s journal.
    pub fn synced_cursor(&self, client: ReplicaId) -> Result<u64> {
        self.index.peer_cursor(&peer_key(client))
    }

    /// Plans taking in a client's `changes`; chunks already in the store are not missing.
    pub fn plan(&self, changes: &ChangeSet, options: &SyncOptions) -> Result<Plan> {
        let view = HubView {
            view: PlanningView::new(&self.index),
            store: &self.store,
        };
        reconcile(&view, changes, options)
    }

    /// Decodes a client's change set and plans it.
    pub fn plan_encoded(&self, bytes: &[u8], options: &SyncOptions) -> Result<Plan> {
        self.plan(&ChangeSet::decode(bytes)?, options)
    }

    /// Takes in `plan`: missing chunks are read from `source` (the client), verified and
    /// stored, entries recorded in one transaction; the client's cursor advances when the
    /// report is complete.
    pub fn apply(&mut self, plan: &Plan, source: &dyn ChunkSource) -> Result<ApplyReport> {
        let last_seq = self.index.last_seq()?;
        let mut batch = self.index.applied_batch()?;
        let report = apply_plan_to_store(plan, source, &self.store, &mut batch)?;
        batch.commit()?;
        if report.is_complete() {
            note_complete_apply(&mut self.index, plan, last_seq)?;
        }
        Ok(report)
    }

    /// The manifest of content `id`, if the hub knows it.
    pub fn manifest(&self, id: &Digest) -> Result<Option<FileManifest>> {
        self.index.manifest(id)
    }
}
