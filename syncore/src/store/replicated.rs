//! [`ReplicatedStore`]: copies of every chunk spread over several back-end stores.
//!
//! This module owns placement (which back ends should hold a chunk), the write rule (how many
//! copies make a `put` succeed), failover on reads and [`ReplicatedStore::scrub`], which
//! re-verifies copies and repairs them from healthy ones. It never returns bytes that do not
//! hash to the requested id — it re-verifies whatever a back end hands it — and never answers
//! "absent" while a back end that might hold the chunk failed to answer.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::hash::{Digest, HashAlgo};

use super::{check_put, not_found, ChunkIds, ChunkStore, StoreStats};

/// A [`ChunkStore`] keeping `replication_factor` copies of each chunk on distinct back ends.
///
/// **Placement.** The back ends form a ring. A chunk's ring walk starts at back end
/// `u64::from_be_bytes(id[0..8]) % n` and goes on through the following indices (wrapping);
/// its first `replication_factor` stops are its *placement set* ([`ReplicatedStore::placement`]).
/// Placement depends only on the id and the back-end list, so every reader knows where to look
/// first. Keep the back-end order stable across restarts.
///
/// **Writes.** `put` walks the ring and stores the chunk on back ends until
/// `replication_factor` of them hold it, skipping back ends that fail (a skipped replica's copy
/// lands on the next back end of the ring). It fails, with the first back-end error, only if
/// fewer than `replication_factor` back ends accepted the chunk; copies already written stay.
/// It reports `true` if any back end newly stored the chunk.
///
/// **Reads.** `get` walks the same ring and returns the first copy that hashes to the id,
/// failing over past replicas that lack the chunk, fail, or hold damaged bytes. With no good
/// copy it reports a back-end failure if there was one (the chunk may be on that back end),
/// else [`Error::Corrupt`] if only damaged copies were found, else [`Error::NotFound`]. `has`,
/// `missing` and `size` follow the same rule: a back end that fails to answer makes "absent"
/// an error rather than a guess.
///
/// **Deletes** remove the chunk from every back end and fail if any back end failed.
///
/// **Stats** are logical: each distinct chunk counts once, with the size of its first
/// available copy in ring order. Computing them visits every chunk id.
pub struct ReplicatedStore {
    backends: Vec<Arc<dyn ChunkStore>>,
    factor: usize,
    algo: HashAlgo,
}

/// What [`ReplicatedStore::scrub`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScrubReport {
    /// Distinct chunk ids checked.
    pub checked: u64,
    /// Copies (re)written to placement replicas that were missing the chunk or held it damaged.
    pub repaired: u64,
    /// Chunks with no copy that hashes to their id on any back end; their damaged copies are
    /// left in place.
    pub lost: Vec<Digest>,
}

/// The state of one back end's copy of a chunk.
enum Copy {
    Healthy(Vec<u8>),
    Missing,
    Corrupt,
}

impl ReplicatedStore {
    /// The replication factor [`ReplicatedStore::new`] uses.
    pub const DEFAULT_REPLICATION_FACTOR: usize = 2;

    /// A store over `backends` keeping [`Self::DEFAULT_REPLICATION_FACTOR`] copies of each chunk.
    ///
    /// Fails with [`Error::InvalidInput`] under the same conditions as
    /// [`ReplicatedStore::with_replication_factor`].
    pub fn new(backends: Vec<Arc<dyn ChunkStore>>) -> Result<Self> {
        Self::with_replication_factor(backends, Self::DEFAULT_REPLICATION_FACTOR)
    }

    /// A store over `backends` keeping `replication_factor` copies of each chunk.
    ///
    /// Fails with [`Error::InvalidInput`] if there are no back ends, if they do not all use
    /// the same hash algorithm, or if `replication_factor` is not in `1..=backends.len()`.
    pub fn with_replication_factor(
        backends: Vec<Arc<dyn ChunkStore>>,
        replication_factor: usize,
    ) -> Result<Self> {
        let Some(first) = backends.first() else {
            return Err(Error::invalid(
                "backends: a replicated store needs at least one",
            ));
        };
        let algo = first.algo();
        if let Some((i, other)) = backends.iter().enumerate().find(|(_, b)| b.algo() != algo) {
            return Err(Error::invalid(format!(
                "backends: back end {i} uses {}, back end 0 uses {algo}",
                other.algo()
            )));
        }
        if !(1..=backends.len()).contains(&replication_factor) {
            return Err(Error::invalid(format!(
                "replication_factor must be in 1..={}, got {replication_factor}",
                backends.len()
            )));
        }
        Ok(ReplicatedStore {
            backends,
            factor: replication_factor,
            algo,
        })
    }

    /// The back ends, in ring order.
    pub fn backends(&self) -> &[Arc<dyn ChunkStore>] {
        &self.backends
    }

    /// How many copies of each chunk the store keeps.
    pub fn replication_factor(&self) -> usize {
        self.factor
    }

    /// Indices (into [`ReplicatedStore::backends`]) of the back ends that should hold `id`,
    /// preferred first.
    pub fn placement(&self, id: &Digest) -> Vec<usize> {
        self.ring(id).take(self.factor).map(|(i, _)| i).collect()
    }

    /// Verifies every copy in every chunk's placement set and repairs what it can.
    ///
    /// For each chunk id found on any back end, reads the copy on each back end of its
    /// placement set. Missing or damaged copies are rewritten from a healthy copy (taken from
    /// the placement set, else from any other back end); damaged ones are deleted first. A
    /// chunk with no healthy copy anywhere is reported in [`ScrubReport::lost`] and left as
    /// is. Copies outside the placement set are left alone.
    ///
    /// Stops at the first back-end failure and returns it; scrubbing is idempotent, so it can
    /// simply be run again once the back end is back.
    pub fn scrub(&self) -> Result<ScrubReport> {
        let ids: Vec<Digest> = self.ids()?.collect::<Result<_>>()?;
        let mut report = ScrubReport::default();
        for id in &ids {
            self.scrub_chunk(id, &mut report)?;
        }
        Ok(report)
    }

    fn scrub_chunk(&self, id: &Digest, report: &mut ScrubReport) -> Result<()> {
        report.checked += 1;
        let mut healthy = None;
        let mut seen_corrupt = false;
        let mut to_repair = Vec::new();
        for (_, backend) in self.ring(id).take(self.factor) {
            match self.read_copy(backend.as_ref(), id)? {
                Copy::Healthy(data) => healthy = healthy.or(Some(data)),
                Copy::Missing => to_repair.push((backend, false)),
                Copy::Corrupt => {
                    seen_corrupt = true;
                    to_repair.push((backend, true));
                }
            }
        }
        if to_repair.is_empty() {
            return Ok(());
        }
        if healthy.is_none() {
            for (_, backend) in self.ring(id).skip(self.factor) {
                match self.read_copy(backend.as_ref(), id)? {
                    Copy::Healthy(data) => {
                        healthy = Some(data);
                        break;
                    }
                    Copy::Missing => {}
                    Copy::Corrupt => seen_corrupt = true,
                }
            }
        }
        let Some(data) = healthy else {
            // No copy at all means the chunk was deleted since it was listed.
            if seen_corrupt {
                report.lost.push(*id);
            }
            return Ok(());
        };
        for (backend, corrupt) in to_repair {
            if corrupt {
                backend.delete(id)?;
            }
            backend.put(id, &data)?;
            report.repaired += 1;
        }
        Ok(())
    }

    /// Reads and classifies one back end's copy; other failures are returned.
    fn read_copy(&self, backend: &dyn ChunkStore, id: &Digest) -> Result<Copy> {
        match backend.get(id) {
            Ok(data) if self.algo.digest(&data) == *id => Ok(Copy::Healthy(data)),
            Ok(_) => Ok(Copy::Corrupt),
            Err(e) => match e.kind() {
                ErrorKind::NotFound => Ok(Copy::Missing),
                ErrorKind::Corrupt => Ok(Copy::Corrupt),
                _ => Err(e),
            },
        }
    }

    /// Every back end with its index, in ring order for `id`: placement set first.
    fn ring(&self, id: &Digest) -> impl Iterator<Item = (usize, &Arc<dyn ChunkStore>)> + '_ {
        let n = self.backends.len();
        let [a, b, c, d, e, f, g, h, ..] = *id.as_bytes();
        let key = u64::from_be_bytes([a, b, c, d, e, f, g, h]);
        let start = u64::try_from(n)
            .ok()
            .filter(|&n| n > 0)
            .and_then(|n| usize::try_from(key % n).ok())
            .unwrap_or(0);
        self.backends.iter().enumerate().cycle().skip(start).take(n)
    }
}

impl fmt::Debug for ReplicatedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplicatedStore")
            .field("backends", &self.backends.len())
            .field("replication_factor", &self.factor)
            .field("algo", &self.algo)
            .finish()
    }
}

impl ChunkStore for ReplicatedStore {
    fn algo(&self) -> HashAlgo {
        self.algo
    }

    fn has(&self, id: &Digest) -> Result<bool> {
        let mut failure = None;
        for (_, backend) in self.ring(id) {
            match backend.has(id) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        failure.map_or(Ok(false), Err)
    }

    fn get(&self, id: &Digest) -> Result<Vec<u8>> {
        let mut failure = None;
        let mut corrupt = None;
        for (i, backend) in self.ring(id) {
            match backend.get(id) {
                Ok(data) => {
                    let actual = self.algo.digest(&data);
                    if actual == *id {
                        return Ok(data);
                    }
                    corrupt.get_or_insert_with(|| {
                        Error::corrupt(format!(
                            "chunk {id}: back end {i} returned bytes hashing to {actual}"
                        ))
                    });
                }
                Err(e) => match e.kind() {
                    ErrorKind::NotFound => {}
                    ErrorKind::Corrupt => {
                        corrupt.get_or_insert(e);
                    }
                    _ => {
                        failure.get_or_insert(e);
                    }
                },
            }
        }
        Err(failure.or(corrupt).unwrap_or_else(|| not_found(id)))
    }

    fn put(&self, id: &Digest, data: &[u8]) -> Result<bool> {
        check_put(self.algo, id, data)?;
        let mut copies = 0;
        let mut newly = false;
        let mut failure = None;
        for (_, backend) in self.ring(id) {
            if copies == self.factor {
                break;
            }
            match backend.put(id, data) {
                Ok(stored) => {
                    copies += 1;
                    newly |= stored;
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(e) if copies < self.factor => Err(e),
            _ => Ok(newly),
        }
    }

    fn delete(&self, id: &Digest) -> Result<bool> {
        let mut existed = false;
        let mut failure = None;
        for backend in &self.backends {
            match backend.delete(id) {
                Ok(was_there) => existed |= was_there,
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        failure.map_or(Ok(existed), Err)
    }

    /// The union of the back ends' ids, each once; a back end's listing errors are yielded
    /// as items and the walk goes on with the next back end.
    fn ids(&self) -> Result<ChunkIds<'_>> {
        Ok(Box::new(UnionIds {
            rest: self.backends.iter(),
            current: None,
            seen: HashSet::new(),
        }))
    }

    fn stats(&self) -> Result<StoreStats> {
        let mut stats = StoreStats::default();
        for id in self.ids()? {
            match self.size(&id?) {
                Ok(size) => {
                    stats.chunks += 1;
                    stats.bytes += size;
                }
                // Deleted since it was listed.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(stats)
    }

    fn size(&self, id: &Digest) -> Result<u64> {
        let mut failure = None;
        for (_, backend) in self.ring(id) {
            match backend.size(id) {
                Ok(size) => return Ok(size),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        Err(failure.unwrap_or_else(|| not_found(id)))
    }

    /// Asks each back end in turn about the ids no earlier back end had.
    fn missing(&self, ids: &[Digest]) -> Result<Vec<Digest>> {
        let mut seen = HashSet::with_capacity(ids.len());
        let mut remaining: Vec<Digest> =
            ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        let mut failure = None;
        for backend in &self.backends {
            if remaining.is_empty() {
                break;
            }
            match backend.missing(&remaining) {
                Ok(absent) => {
                    let absent: HashSet<Digest> = absent.into_iter().collect();
                    remaining.retain(|id| absent.contains(id));
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(e) if !remaining.is_empty() => Err(e),
            _ => Ok(remaining),
        }
    }
}

/// The ids of several stores, each yielded once.
struct UnionIds<'a> {
    rest: std::slice::Iter<'a, Arc<dyn ChunkStore>>,
    current: Option<ChunkIds<'a>>,
    seen: HashSet<Digest>,
}

impl Iterator for UnionIds<'_> {
    type Item = Result<Digest>;

    fn next(&mut self) -> Option<Result<Digest>> {
        loop {
            if let Some(ids) = &mut self.current {
                match ids.next() {
                    Some(Ok(id)) if self.seen.insert(id) => return Some(Ok(id)),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Some(Err(e)),
                    None => self.current = None,
                }
            }
            match self.rest.next()?.ids() {
                Ok(ids) => self.current = Some(ids),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemStore;

    fn mems(n: usize, algo: HashAlgo) -> Vec<Arc<dyn ChunkStore>> {
        (0..n)
            .map(|_| Arc::new(MemStore::new(algo)) as Arc<dyn ChunkStore>)
            .collect()
    }

    #[test]
    fn keeps_the_contract() {
        for algo in [HashAlgo::Blake3, HashAlgo::Sha256] {
            let store = ReplicatedStore::new(mems(3, algo)).unwrap();
            super::super::tests::check_contract(&store);
        }
    }

    #[test]
    fn constructor_validates_its_input() {
        let err = ReplicatedStore::new(Vec::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        for factor in [0, 4] {
            let err = ReplicatedStore::with_replication_factor(mems(3, HashAlgo::Blake3), factor)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains("replication_factor"), "{err}");
        }
        let err = ReplicatedStore::new(mems(1, HashAlgo::Blake3)).unwrap_err();
        assert!(err.to_string().contains("replication_factor"), "{err}");
        let mut mixed = mems(2, HashAlgo::Blake3);
        mixed.push(Arc::new(MemStore::new(HashAlgo::Sha256)));
        let err = ReplicatedStore::new(mixed).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("back end 2"), "{err}");
    }

    #[test]
    fn placement_is_deterministic_and_spread() {
        let store = ReplicatedStore::with_replication_factor(mems(4, HashAlgo::Blake3), 3).unwrap();
        let mut first_choice = [0u32; 4];
        for i in 0u32..200 {
            let id = HashAlgo::Blake3.digest(&i.to_le_bytes());
            let placement = store.placement(&id);
            assert_eq!(placement, store.placement(&id));
            assert_eq!(placement.len(), 3);
            let distinct: HashSet<_> = placement.iter().collect();
            assert_eq!(distinct.len(), 3);
            for w in placement.windows(2) {
                assert_eq!(w[1], (w[0] + 1) % 4);
            }
            first_choice[placement[0]] += 1;
        }
        assert!(first_choice.iter().all(|&c| c > 20), "{first_choice:?}");
    }

    #[test]
    fn put_writes_exactly_the_placement_set() {
        let backends = mems(4, HashAlgo::Blake3);
        let store = ReplicatedStore::new(backends.clone()).unwrap();
        let id = store.put_data(b"two copies").unwrap();
        let holders: Vec<usize> = (0..4).filter(|&i| backends[i].has(&id).unwrap()).collect();
        let mut placement = store.placement(&id);
        placement.sort_unstable();
        assert_eq!(holders, placement);
        assert_eq!(
            store.stats().unwrap(),
            StoreStats {
                chunks: 1,
                bytes: 10
            }
        );
    }
}
