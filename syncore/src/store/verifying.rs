//! [`VerifyingStore`]: the store contract enforced around a store written elsewhere.
//!
//! Stores implemented outside this crate — by a C application through callbacks, by Python
//! code, by an S3 adapter — may not check what they store and return. This module owns a
//! wrapper that checks for them: it refuses to `put` bytes that do not hash to their id and
//! turns a `get` that returns other bytes into [`Error::Corrupt`] naming the chunk. It never
//! changes what the wrapped store holds beyond forwarding the caller's requests.
//!
//! [`Error::Corrupt`]: crate::Error::Corrupt

use std::fmt;

use crate::error::{Error, Result};
use crate::hash::{Digest, HashAlgo};

use super::{check_put, ChunkIds, ChunkStore, StoreStats};

/// Wraps any [`ChunkStore`] so that the trait's contract holds whatever the inner store does:
/// `put` verifies the bytes before forwarding them and `get` verifies the bytes it returns.
///
/// ```
/// use syncore::store::{ChunkStore, MemStore, VerifyingStore};
///
/// let store = VerifyingStore::new(MemStore::default());
/// let id = store.put_data(b"hello")?;
/// assert_eq!(store.get(&id)?, b"hello");
/// assert!(store.put(&id, b"other bytes").is_err());
/// # Ok::<(), syncore::Error>(())
/// ```
pub struct VerifyingStore<S> {
    inner: S,
}

impl<S: ChunkStore> VerifyingStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        VerifyingStore { inner }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S> fmt::Debug for VerifyingStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingStore").finish_non_exhaustive()
    }
}

impl<S: ChunkStore> ChunkStore for VerifyingStore<S> {
    fn algo(&self) -> HashAlgo {
        self.inner.algo()
    }

    fn has(&self, id: &Digest) -> Result<bool> {
        self.inner.has(id)
    }

    fn get(&self, id: &Digest) -> Result<Vec<u8>> {
        let data = self.inner.get(id)?;
        let actual = self.algo().digest(&data);
        if actual == *id {
            Ok(data)
        } else {
            Err(Error::corrupt(format!(
                "chunk {id}: the store returned {} bytes that hash to {actual}",
                data.len()
            )))
        }
    }

    fn put(&self, id: &Digest, data: &[u8]) -> Result<bool> {
        check_put(self.algo(), id, data)?;
        self.inner.put(id, data)
    }

    fn delete(&self, id: &Digest) -> Result<bool> {
        self.inner.delete(id)
    }

    fn ids(&self) -> Result<ChunkIds<'_>> {
        self.inner.ids()
    }

    fn stats(&self) -> Result<StoreStats> {
        self.inner.stats()
    }

    fn size(&self, id: &Digest) -> Result<u64> {
        self.inner.size(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::store::MemStore;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store that keeps nothing, accepts anything and returns the same wrong bytes.
    #[derive(Default)]
    struct Careless {
        puts: AtomicUsize,
    }

    impl ChunkStore for Careless {
        fn algo(&self) -> HashAlgo {
            HashAlgo::Blake3
        }
        fn has(&self, _: &Digest) -> Result<bool> {
            Ok(true)
        }
        fn get(&self, _: &Digest) -> Result<Vec<u8>> {
            Ok(b"not what you asked for".to_vec())
        }
        fn put(&self, _: &Digest, _: &[u8]) -> Result<bool> {
            self.puts.fetch_add(1, Ordering::Relaxed);
            Ok(true)
        }
        fn delete(&self, _: &Digest) -> Result<bool> {
            Ok(false)
        }
        fn ids(&self) -> Result<ChunkIds<'_>> {
            Ok(Box::new(std::iter::empty()))
        }
        fn stats(&self) -> Result<StoreStats> {
            Ok(StoreStats::default())
        }
    }

    #[test]
    fn keeps_the_contract_over_a_good_store() {
        crate::store::tests::check_contract(&VerifyingStore::new(MemStore::default()));
    }

    #[test]
    fn enforces_the_contract_over_a_careless_store() {
        let store = VerifyingStore::new(Careless::default());
        let id = HashAlgo::Blake3.digest(b"wanted");
        let err = store.get(&id).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(err.to_string().contains(&id.to_hex()), "{err}");
        let err = store.put(&id, b"other").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(store.inner().puts.load(Ordering::Relaxed), 0);
        assert!(store.put(&id, b"wanted").unwrap());
        assert_eq!(store.inner().puts.load(Ordering::Relaxed), 1);
    }
}
