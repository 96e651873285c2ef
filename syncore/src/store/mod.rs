//! Where chunk bytes live: the [`ChunkStore`] trait and its implementations.
//!
//! A chunk store maps a [`Digest`] to the bytes that hash to it under the store's
//! [`HashAlgo`]. This module owns the contract every store keeps — `put` refuses bytes that do
//! not match their id, `get` re-verifies and returns [`Error::NotFound`] or [`Error::Corrupt`]
//! naming the chunk rather than wrong bytes — and three stores: [`MemStore`] (in memory),
//! [`FsStore`] (a content-addressed directory) and [`ReplicatedStore`] (copies spread over
//! other stores). Applications may implement the trait for their own back ends (S3, a
//! database, ...). A store never decides which chunks are needed or when they may be deleted:
//! that is the index's job; it must never return bytes that do not hash to the requested id.
//!
//! ```
//! use std::sync::Arc;
//! use syncore::{ChunkStore, MemStore, ReplicatedStore};
//!
//! let backends: Vec<Arc<dyn ChunkStore>> =
//!     (0..3).map(|_| Arc::new(MemStore::default()) as _).collect();
//! let store = ReplicatedStore::new(backends)?; // two copies of every chunk
//! let id = store.put_data(b"hello")?;
//! assert_eq!(store.get(&id)?, b"hello");
//! assert!(store.missing(&[id])?.is_empty());
//! # Ok::<(), syncore::Error>(())
//! ```
//!
//! [`Error::NotFound`]: crate::Error::NotFound
//! [`Error::Corrupt`]: crate::Error::Corrupt

use std::collections::HashSet;
use std::sync::Arc;

use crate::chunk::MAX_CHUNK_LEN;
use crate::error::{Error, Result};
use crate::hash::{Digest, HashAlgo};

mod fs;
mod mem;
mod replicated;
mod verifying;

pub use fs::FsStore;
pub use mem::MemStore;
pub use replicated::{ReplicatedStore, ScrubReport};
pub use verifying::VerifyingStore;

/// An iterator over the ids of the chunks in a store, as returned by [`ChunkStore::ids`].
///
/// Errors met while listing are yielded as items, so a caller may stop or carry on.
pub type ChunkIds<'a> = Box<dyn Iterator<Item = Result<Digest>> + Send + 'a>;

/// How much a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StoreStats {
    /// Number of distinct chunks.
    pub chunks: u64,
    /// Total size of those chunks' bytes.
    pub bytes: u64,
}

/// A content-addressed home for chunk bytes.
///
/// Every method takes `&self`: implementations use interior mutability so that one store can
/// be shared between threads (and, through the bindings, with C and Python callers). The trait
/// is object-safe; `Arc<dyn ChunkStore>` is the usual way to hold an arbitrary store.
///
/// Contract, for every implementation:
/// - [`put`](ChunkStore::put) stores only bytes whose digest under [`algo`](ChunkStore::algo)
///   is the given id, and fails with [`Error::InvalidInput`] otherwise;
/// - [`get`](ChunkStore::get) returns exactly the bytes that hash to the id, or
///   [`Error::NotFound`] / [`Error::Corrupt`] naming the chunk — never other bytes.
pub trait ChunkStore: Send + Sync {
    /// The hash algorithm this store addresses chunks by.
    fn algo(&self) -> HashAlgo;

    /// Whether the store holds a chunk with this id (its bytes are not verified).
    fn has(&self, id: &Digest) -> Result<bool>;

    /// The bytes of chunk `id`, verified against the id.
    ///
    /// Fails with [`Error::NotFound`] if the chunk is absent and [`Error::Corrupt`] if the stored
    /// bytes do not hash to `id`; both messages name the chunk.
    fn get(&self, id: &Digest) -> Result<Vec<u8>>;

    /// Stores `data` under `id`.
    ///
    /// Fails with [`Error::InvalidInput`] if `data` does not hash to `id` under
    /// [`algo`](ChunkStore::algo). Returns `true` if the chunk was newly stored and `false` if
    /// the store already had it.
    fn put(&self, id: &Digest, data: &[u8]) -> Result<bool>;

    /// Removes chunk `id`; returns `true` if it was there.
    fn delete(&self, id: &Digest) -> Result<bool>;

    /// Every chunk id in the store, in no particular order, each once.
    fn ids(&self) -> Result<ChunkIds<'_>>;

    /// How many chunks the store holds and how many bytes they take.
    fn stats(&self) -> Result<StoreStats>;

    /// The size in bytes of chunk `id` as stored (not verified); [`Error::NotFound`] if absent.
    ///
    /// The provided implementation reads the chunk; stores override it with something cheaper.
    fn size(&self, id: &Digest) -> Result<u64> {
        self.get(id).map(|data| len_u64(&data))
    }

    /// The ids in `ids` that the store does not hold, in input order and without duplicates.
    fn missing(&self, ids: &[Digest]) -> Result<Vec<Digest>> {
        let mut seen = HashSet::with_capacity(ids.len());
        let mut out = Vec::new();
        for id in ids {
            if seen.insert(*id) && !self.has(id)? {
                out.push(*id);
            }
        }
        Ok(out)
    }

    /// Hashes `data` with the store's algorithm, stores it and returns its id.
    fn put_data(&self, data: &[u8]) -> Result<Digest> {
        let id = self.algo().digest(data);
        self.put(&id, data)?;
        Ok(id)
    }
}

macro_rules! forward_chunk_store {
    ($($ty:ty),*) => {$(
        impl<T: ChunkStore + ?Sized> ChunkStore for $ty {
            fn algo(&self) -> HashAlgo {
                (**self).algo()
            }
            fn has(&self, id: &Digest) -> Result<bool> {
                (**self).has(id)
            }
            fn get(&self, id: &Digest) -> Result<Vec<u8>> {
                (**self).get(id)
            }
            fn put(&self, id: &Digest, data: &[u8]) -> Result<bool> {
                (**self).put(id, data)
            }
            fn delete(&self, id: &Digest) -> Result<bool> {
                (**self).delete(id)
            }
            fn ids(&self) -> Result<ChunkIds<'_>> {
                (**self).ids()
            }
            fn stats(&self) -> Result<StoreStats> {
                (**self).stats()
            }
            fn size(&self, id: &Digest) -> Result<u64> {
                (**self).size(id)
            }
            fn missing(&self, ids: &[Digest]) -> Result<Vec<Digest>> {
                (**self).missing(ids)
            }
            fn put_data(&self, data: &[u8]) -> Result<Digest> {
                (**self).put_data(data)
            }
        }
    )*};
}

forward_chunk_store!(Arc<T>, Box<T>, &T);

/// Checks that `data` hashes to `id` before it is stored.
pub(crate) fn check_put(algo: HashAlgo, id: &Digest, data: &[u8]) -> Result<()> {
    if len_u64(data) > u64::from(MAX_CHUNK_LEN) {
        return Err(Error::invalid(format!(
            "chunk {id}: {} bytes is over the {MAX_CHUNK_LEN}-byte chunk limit",
            data.len()
        )));
    }
    let actual = algo.digest(data);
    if actual == *id {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "chunk {id}: data hashes to {actual} under {algo}, not to the given id"
        )))
    }
}

/// The error for an absent chunk.
pub(crate) fn not_found(id: &Digest) -> Error {
    Error::NotFound(format!("chunk {id}"))
}

/// A slice length as `u64` (lossless on every supported platform).
pub(crate) fn len_u64(data: &[u8]) -> u64 {
    u64::try_from(data.len()).unwrap_or(u64::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// Runs the trait contract against an empty store.
    pub(crate) fn check_contract(store: &dyn ChunkStore) {
        let algo = store.algo();
        let a = algo.digest(b"alpha");
        let b = algo.digest(b"beta");
        assert!(store.put(&a, b"alpha").unwrap());
        assert!(!store.put(&a, b"alpha").unwrap());
        assert_eq!(
            store.put(&b, b"alpha").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(store.get(&a).unwrap(), b"alpha");
        let err = store.get(&b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains(&b.to_hex()), "{err}");
        assert_eq!(store.size(&a).unwrap(), 5);
        assert_eq!(store.missing(&[b, a, b]).unwrap(), vec![b]);
        assert_eq!(store.put_data(b"beta").unwrap(), b);
        let mut ids: Vec<_> = store.ids().unwrap().map(|r| r.unwrap()).collect();
        ids.sort();
        let mut want = vec![a, b];
        want.sort();
        assert_eq!(ids, want);
        assert_eq!(
            store.stats().unwrap(),
            StoreStats {
                chunks: 2,
                bytes: 9
            }
        );
        assert!(store.delete(&a).unwrap());
        assert!(!store.delete(&a).unwrap());
        assert!(!store.has(&a).unwrap());
    }

    #[test]
    fn wrappers_forward_to_the_store() {
        let store = MemStore::new(HashAlgo::Sha256);
        check_contract(&store);
        check_contract(&Arc::new(MemStore::default()));
        check_contract(&Box::new(MemStore::default()));
        let inner = MemStore::default();
        check_contract(&&inner);
        let shared: Arc<dyn ChunkStore> = Arc::new(MemStore::default());
        check_contract(&shared);
    }

    #[test]
    fn missing_keeps_input_order_without_duplicates() {
        let store = MemStore::default();
        let ids: Vec<_> = (0u8..4).map(|i| store.algo().digest(&[i])).collect();
        store.put(&ids[1], &[1]).unwrap();
        let asked = [ids[3], ids[0], ids[1], ids[3], ids[2], ids[0]];
        assert_eq!(store.missing(&asked).unwrap(), vec![ids[3], ids[0], ids[2]]);
        assert!(store.missing(&[]).unwrap().is_empty());
    }
}
