//! syncore: the core of a file-sync engine, as a library.
//!
//! syncore splits files into content-defined chunks, names them by their hash, describes files
//! as manifests of chunks and keeps chunk bytes in stores. It does no network I/O: the
//! application moves bytes between replicas however it likes; syncore decides what they are.

pub mod delta;
pub mod error;
pub mod hash;

pub use error::{Error, ErrorKind, Result};
pub use hash::{Digest, HashAlgo, Hasher};
