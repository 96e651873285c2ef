//! [`MemStore`]: chunks held in process memory.
//!
//! This module owns an in-memory map from chunk id to bytes, for tests, caches and
//! applications that keep chunks elsewhere and only need a staging area. It must never hand
//! out bytes that do not hash to the requested id, and never persists anything: dropping the
//! store drops its chunks.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::{Error, Result};
use crate::hash::{Digest, HashAlgo};

use super::{check_put, len_u64, not_found, ChunkIds, ChunkStore, StoreStats};

/// A [`ChunkStore`] that keeps chunks in memory, shared safely between threads.
///
/// `get` re-hashes the bytes it returns. The map is private and `put` verifies every chunk,
/// so a mismatch can only come from memory corruption; the check costs one hash per read and
/// keeps the same guarantee as the other stores.
pub struct MemStore {
    algo: HashAlgo,
    chunks: RwLock<HashMap<Digest, Arc<[u8]>>>,
}

impl MemStore {
    /// An empty store addressing chunks by `algo`.
    pub fn new(algo: HashAlgo) -> Self {
        MemStore {
            algo,
            chunks: RwLock::new(HashMap::new()),
        }
    }

    // Every mutation is a single map insert or remove, so the map is consistent even if a
    // thread panicked while holding the lock: poisoning is safe to ignore.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<Digest, Arc<[u8]>>> {
        self.chunks.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Digest, Arc<[u8]>>> {
        self.chunks.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemStore {
    /// An empty BLAKE3 store.
    fn default() -> Self {
        MemStore::new(HashAlgo::default())
    }
}

impl fmt::Debug for MemStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemStore")
            .field("algo", &self.algo)
            .field("chunks", &self.read().len())
            .finish()
    }
}

impl ChunkStore for MemStore {
    fn algo(&self) -> HashAlgo {
        self.algo
    }

    fn has(&self, id: &Digest) -> Result<bool> {
        Ok(self.read().contains_key(id))
    }

    fn get(&self, id: &Digest) -> Result<Vec<u8>> {
        let data = self.read().get(id).cloned().ok_or_else(|| not_found(id))?;
        let actual = self.algo.digest(&data);
        if actual != *id {
            return Err(Error::corrupt(format!(
                "chunk {id} in memory hashes to {actual}"
            )));
        }
        Ok(data.to_vec())
    }

    fn put(&self, id: &Digest, data: &[u8]) -> Result<bool> {
        check_put(self.algo, id, data)?;
        if self.read().contains_key(id) {
            return Ok(false);
        }
        let bytes: Arc<[u8]> = Arc::from(data);
        Ok(self.write().insert(*id, bytes).is_none())
    }

    fn delete(&self, id: &Digest) -> Result<bool> {
        Ok(self.write().remove(id).is_some())
    }

    /// A snapshot of the ids present when called.
    fn ids(&self) -> Result<ChunkIds<'_>> {
        let ids: Vec<Digest> = self.read().keys().copied().collect();
        Ok(Box::new(ids.into_iter().map(Ok)))
    }

    fn stats(&self) -> Result<StoreStats> {
        let map = self.read();
        Ok(StoreStats {
            chunks: u64::try_from(map.len()).unwrap_or(u64::MAX),
            bytes: map.values().map(|d| len_u64(d)).sum(),
        })
    }

    fn size(&self, id: &Digest) -> Result<u64> {
        self.read()
            .get(id)
            .map(|d| len_u64(d))
            .ok_or_else(|| not_found(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn keeps_the_contract_for_both_algorithms() {
        super::super::tests::check_contract(&MemStore::new(HashAlgo::Blake3));
        super::super::tests::check_contract(&MemStore::new(HashAlgo::Sha256));
    }

    #[test]
    fn refuses_ids_from_the_other_algorithm() {
        let store = MemStore::new(HashAlgo::Sha256);
        let blake = HashAlgo::Blake3.digest(b"x");
        let err = store.put(&blake, b"x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(&blake.to_hex()), "{err}");
        assert_eq!(store.put_data(b"x").unwrap(), HashAlgo::Sha256.digest(b"x"));
    }

    #[test]
    fn shared_between_threads() {
        let store = Arc::new(MemStore::default());
        std::thread::scope(|s| {
            for t in 0u8..4 {
                let store = &store;
                s.spawn(move || {
                    for i in 0u8..50 {
                        store.put_data(&[i % 10, t % 2]).unwrap();
                    }
                });
            }
        });
        assert_eq!(store.stats().unwrap().chunks, 20);
    }
}
