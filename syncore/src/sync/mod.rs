//! Reconciliation between replicas.
//!
//! This module decides what two replicas must do to agree: it compares version vectors
//! ([`VersionVector`]) and carries changes between replicas as values ([`ChangeSet`]). Everything here is pure: it never touches the working tree; applying a plan is the `apply`
//! module's job.

mod changeset;
mod version;

pub use changeset::{ChangeSet, MAX_SYMLINK_TARGET_LEN};
pub use version::{Causality, ReplicaId, VersionVector, MAX_VECTOR_REPLICAS};
