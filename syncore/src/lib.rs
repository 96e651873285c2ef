//! syncore: the core of a file-sync engine, as a library.
//!
//! syncore splits files into content-defined chunks, names them by their hash, describes files
//! as manifests of chunks and keeps chunk bytes in stores. It does no network I/O: the
//! application moves bytes between replicas however it likes; syncore decides what they are.
//!
//! ```
//! use syncore::{Chunker, FileManifest};
//!
//! let chunker = Chunker::default(); // FastCDC 16/64/256 KiB, BLAKE3
//! let data = vec![42u8; 600_000];
//! let manifest = FileManifest::of_slice(&chunker, &data);
//! assert_eq!(manifest.size(), 600_000);
//! // Repeated content dedups: the first two 256 KiB chunks are identical.
//! assert_eq!(manifest.chunks()[0].id, manifest.chunks()[1].id);
//! let bytes = manifest.encode();
//! assert_eq!(FileManifest::decode(&bytes)?, manifest);
//! # Ok::<(), syncore::Error>(())
//! ```
//!
//! The README's examples are compiled and run as doctests of this crate.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod apply;
pub mod chunk;
pub mod delta;
pub mod entry;
pub mod error;
pub mod hash;
pub mod index;
pub mod manifest;
pub mod path;
pub mod replica;
pub mod replica_pages;
pub mod replica_sync;
pub mod scan;
pub mod store;
pub mod sync;

pub use chunk::{Chunk, Chunker, ChunkerConfig};
pub use entry::{Entry, EntryKind};
pub use error::{Error, ErrorKind, Result};
pub use hash::{Digest, HashAlgo, Hasher};
pub use manifest::FileManifest;
pub use path::RelPath;
pub use replica::{Replica, ReplicaOptions};
pub use replica_sync::Hub;
pub use store::{ChunkStore, FsStore, MemStore, ReplicatedStore, ScrubReport, StoreStats};

#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
