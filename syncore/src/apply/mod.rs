//! Touching the working tree safely.
//!
//! Everything that writes into a replica's root goes through here: paths are re-validated and
//! walked on disk without following symlinks ([`checked_path`]); files are assembled chunk by
//! chunk from a [`ChunkSource`], verified, in a temp file beside their target and renamed into
//! place ([`AtomicFile`]) with the fsync discipline a [`Durability`] setting asks for; a
//! [`Plan`](crate::sync::Plan) is performed by [`apply_plan`], which checks that nothing the
//! user changed is overwritten and reports each change to an [`ApplyTarget`] (the index); a
//! store-backed hub takes a plan in with [`apply_plan_to_store`].
//! This module never decides what should change; it only makes changes safely.
//!
//! ```
//! use syncore::apply::{apply_plan, ApplyOptions, MemoryTarget};
//! use syncore::sync::{reconcile, MemoryView, ReplicaId, SyncOptions};
//! use syncore::{ChunkStore, Chunker, ChunkerConfig, FileManifest, HashAlgo, MemStore, RelPath};
//!
//! let chunker = Chunker::new(ChunkerConfig::default(), HashAlgo::Blake3)?;
//! // The sender: its index, and its chunks in a store (a hub, or the app's transfer cache).
//! let mut sender = MemoryView::new(ReplicaId::random());
//! let store = MemStore::new(HashAlgo::Blake3);
//! let data = b"synced bytes";
//! let manifest = FileManifest::of_slice(&chunker, data);
//! for chunk in manifest.chunks() {
//!     store.put(&chunk.id, &data[chunk.offset as usize..chunk.end() as usize])?;
//! }
//! sender.local_write(&RelPath::new("a/b.txt")?, manifest, 0, false);
//!
//! // The receiver plans, then applies into its root, recording what it wrote.
//! let root = tempfile::tempdir().map_err(syncore::Error::io_stream)?;
//! let mut receiver = MemoryTarget::new(MemoryView::new(ReplicaId::random()));
//! let plan = reconcile(&receiver.view, &sender.changes_since(0), &SyncOptions::default())?;
//! let report = apply_plan(root.path(), &plan, &store, &mut receiver, &ApplyOptions::default())?;
//! assert!(report.is_complete());
//! assert_eq!(std::fs::read(root.path().join("a/b.txt")).unwrap(), data);
//! # Ok::<(), syncore::Error>(())
//! ```

mod atomic;
pub(crate) mod dir;
mod hub;
mod materialize;
mod pipeline;
mod run;
pub(crate) mod safety;
mod source;
mod target;

pub(crate) use atomic::temp_name;
pub use atomic::{is_temp_name, sync_dir, AtomicFile, Durability, TEMP_PREFIX};
pub use hub::apply_plan_to_store;
pub(crate) use run::apply_plan_meanwhile;
pub use run::{
    apply_plan, remove_stale_temp_files, remove_stale_temp_files_except, sync_filesystem,
    ApplyIssue, ApplyOptions, ApplyReport, ApplyTarget, Fault,
};
pub use safety::{checked_path, portable_name_problem, DiskStat};
pub use source::{
    ChunkLocation, ChunkLocator, ChunkOrigin, ChunkSource, Layered, LocalChunks, NoLocations,
    SharedSource,
};
pub use target::MemoryTarget;
