//! Reconciliation between replicas.
//!
//! This module decides what two replicas must do to agree: it compares version vectors
//! ([`VersionVector`]), carries changes between replicas as values ([`ChangeSet`]) and turns a
//! peer's changes into a [`Plan`] of [`Action`]s under [`SyncOptions`] ([`reconcile`]). It
//! reads local state only through the [`LocalView`] trait, which the index implements and
//! [`MemoryView`] implements in memory. Everything here is pure: it never touches the working
//! tree, the network or the clock; applying a plan is the `apply` module's job.
//!
//! One exchange, with in-memory replicas standing in for indexed ones:
//!
//! ```
//! use syncore::sync::{reconcile, ChangeSet, MemoryView, ReplicaId, SyncOptions};
//! use syncore::{Chunker, ChunkerConfig, FileManifest, HashAlgo, RelPath};
//!
//! let chunker = Chunker::new(ChunkerConfig::default(), HashAlgo::Blake3)?;
//! let mut a = MemoryView::new(ReplicaId::random());
//! let mut b = MemoryView::new(ReplicaId::random());
//! let manifest = FileManifest::of_slice(&chunker, b"hello");
//! a.local_write(&RelPath::new("docs/hello.txt")?, manifest, 0, false);
//!
//! // A ships its changes since B's cursor as bytes; B plans against them.
//! let bytes = a.changes_since(0).encode();
//! let plan = reconcile(&b, &ChangeSet::decode(&bytes)?, &SyncOptions::default())?;
//! assert_eq!(plan.summary().files_written, 1);
//! assert_eq!(plan.missing_chunks().len(), 1); // fetch these from A, then apply the plan
//! b.apply_plan(&plan);
//!
//! // Converged: planning again finds nothing to do.
//! let again = reconcile(&b, &a.changes_since(0), &SyncOptions::default())?;
//! assert!(again.is_empty());
//! # Ok::<(), syncore::Error>(())
//! ```

mod changeset;
mod manifests;
mod memory;
mod plan;
mod policy;
mod reconcile;
mod version;

pub(crate) use changeset::{encode_parts, manifests_in_order};
pub use changeset::{ChangeSet, MAX_SYMLINK_TARGET_LEN};
pub use memory::MemoryView;
pub use plan::{Action, Collision, Conflict, Plan, PlanSummary};
pub use policy::{
    conflict_author, conflict_copy_name, format_utc, ConflictPolicy, Direction, Side, SyncOptions,
};
pub use reconcile::{reconcile, reconcile_encoded, LocalView, LOOKUP_BATCH};
pub use version::{Causality, ReplicaId, VersionVector, MAX_VECTOR_REPLICAS};
