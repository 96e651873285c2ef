//! Touching the working tree safely.
//!
//! Everything that writes into a replica's root goes through here: files are assembled in a
//! temp file beside their target and renamed into place ([`AtomicFile`]), with the fsync
//! discipline a [`Durability`] setting asks for. This module never decides what should
//! change; it only makes changes safely.

mod atomic;

pub(crate) use atomic::temp_name;
pub use atomic::{is_temp_name, sync_dir, AtomicFile, Durability, TEMP_PREFIX};
