//! What changed on disk.
//!
//! This module turns the state of the working tree into changes the index can record. The
//! [`EventCoalescer`] is its sans-IO front door for filesystem watchers: it takes raw watcher
//! events and a clock value and says which paths have settled and how to rescan them. Nothing
//! here decides how replicas reconcile, and the coalescer itself never touches the filesystem.

mod coalescer;

pub use coalescer::{
    CoalescerConfig, EventCoalescer, SettledChange, WatchEvent, WatchEventKind,
    DEFAULT_IGNORED_NAMES, DEFAULT_STATE_DIR, DEFAULT_TRASH_NAMES,
};
