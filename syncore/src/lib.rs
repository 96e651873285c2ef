//! syncore: the core of a file-sync engine, as a library.
//!
//! syncore splits files into content-defined chunks, names them by their hash, describes files
//! as manifests of chunks and keeps chunk bytes in stores. It does no network I/O: the
//! application moves bytes between replicas however it likes; syncore decides what they are.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod apply;
pub mod chunk;
pub mod entry;
pub mod error;
pub mod hash;
pub mod index;
pub mod manifest;
pub mod path;
pub mod replica;
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
pub use store::{ChunkStore, FsStore, MemStore, ReplicatedStore, ScrubReport, StoreStats};
