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

mod atomic;
mod hub;
mod materialize;
mod run;
mod safety;
mod source;
mod target;

pub(crate) use atomic::temp_name;
pub use atomic::{is_temp_name, sync_dir, AtomicFile, Durability, TEMP_PREFIX};
pub use hub::apply_plan_to_store;
pub use run::{
    apply_plan, remove_stale_temp_files, sync_filesystem, ApplyIssue, ApplyOptions, ApplyReport,
    ApplyTarget, Fault,
};
pub use safety::{checked_path, portable_name_problem, DiskStat};
pub use source::{ChunkLocation, ChunkLocator, ChunkOrigin, ChunkSource, Layered, LocalChunks};
pub use target::MemoryTarget;
