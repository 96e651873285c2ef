//! Reconciliation between replicas.
//!
//! This module decides what two replicas must do to agree: it compares version vectors and,
//! in later layers, plans the actions that bring a replica up to date. It never touches the
//! working tree; applying a plan is the `apply` module's job.

mod version;

pub use version::{Causality, ReplicaId, VersionVector, MAX_VECTOR_REPLICAS};
