//! Reconciliation between replicas.
//!
//! This module decides what two replicas must do to agree: it compares version vectors
//! ([`VersionVector`]), carries changes between replicas as values ([`ChangeSet`]) and turns a
//! peer's changes into a [`Plan`] of [`Action`]s under [`SyncOptions`] ([`reconcile`]). It
//! reads local state only through the [`LocalView`] trait, which the index implements and
//! [`MemoryView`] implements in memory. Everything here is pure: it never touches the working
//! tree, the network or the clock; applying a plan is the `apply` module's job.

mod changeset;
mod memory;
mod plan;
mod policy;
mod reconcile;
mod version;

pub use changeset::{ChangeSet, MAX_SYMLINK_TARGET_LEN};
pub use memory::MemoryView;
pub use plan::{Action, Collision, Conflict, Plan, PlanSummary};
pub use policy::{
    conflict_author, conflict_copy_name, format_utc, ConflictPolicy, Direction, Side, SyncOptions,
};
pub use reconcile::{reconcile, LocalView, LOOKUP_BATCH};
pub use version::{Causality, ReplicaId, VersionVector, MAX_VECTOR_REPLICAS};
