//! Replica identities and version vectors: who changed what, and what each side has seen.
//!
//! Every entry carries a [`VersionVector`]: one counter per [`ReplicaId`] that ever changed
//! it. A local change bumps the local replica's counter; comparing two vectors tells whether
//! one side's version includes the other's ([`Causality`]). This module only compares and
//! encodes vectors; deciding what to do about a comparison is reconciliation's job.

use std::fmt;
use std::str::FromStr;

use smallvec::SmallVec;

use crate::error::{Error, Result};

/// A replica's random, permanent identity (16 bytes, shown as 32 hex characters).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ReplicaId([u8; 16]);

impl ReplicaId {
    /// Wraps raw id bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        ReplicaId(bytes)
    }

    /// The raw id bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// A fresh random id, from the operating system's random source when available.
    pub fn random() -> Self {
        // std has no public CSPRNG; the hasher keys of `RandomState` are seeded from the OS
        // per process, and mixing in time and a counter makes ids distinct within one too.
        use std::collections::hash_map::RandomState;
        use std::hash::{BuildHasher, Hasher};
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::time::{SystemTime, UNIX_EPOCH};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let half = |salt: u64| {
            let mut h = RandomState::new().build_hasher();
            h.write_u128(nanos);
            h.write_u64(count);
            h.write_u64(salt);
            h.write_u32(std::process::id());
            h.finish()
        };
        let (a, b) = (half(1), half(2));
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&a.to_le_bytes());
        bytes[8..].copy_from_slice(&b.to_le_bytes());
        ReplicaId(bytes)
    }

    /// The first 8 hex characters, for human-facing names such as conflict copies.
    pub fn short(&self) -> String {
        self.to_string()[..8].to_owned()
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplicaId({self})")
    }
}

impl FromStr for ReplicaId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid(format!("replica id must be 32 hex characters, got {s:?}"));
        if s.len() != 32 || !s.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(ReplicaId(bytes))
    }
}

/// How two versions relate causally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Causality {
    /// Both have seen exactly the same changes.
    Equal,
    /// The left side has seen everything the right side has, and more.
    Dominates,
    /// The right side has seen everything the left side has, and more.
    DominatedBy,
    /// Each side has seen changes the other has not: a conflict unless contents agree.
    Concurrent,
}

/// One counter per replica that changed an entry. Missing replicas count as zero.
///
/// Stored as (replica, counter) pairs sorted by replica, never with a zero counter; most
/// entries are changed by one or two replicas, whose counters live inline (no allocation to
/// create, clone, decode or drop them).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct VersionVector {
    counters: SmallVec<[(ReplicaId, u64); INLINE_REPLICAS]>,
}

/// Counters held without a heap allocation.
const INLINE_REPLICAS: usize = 2;
/// Most replicas a decoded vector may name; bounds decoding of hostile input.
pub const MAX_VECTOR_REPLICAS: usize = 4096;
const ENTRY_LEN: usize = 16 + 8;

impl VersionVector {
    /// The empty vector (nothing seen).
    pub fn new() -> Self {
        Self::default()
    }

    /// The counter of `replica` (0 if it never changed this entry).
    pub fn get(&self, replica: &ReplicaId) -> u64 {
        match self.position(replica) {
            Ok(i) => self.counters[i].1,
            Err(_) => 0,
        }
    }

    /// Where `replica`'s counter is, or would be inserted.
    fn position(&self, replica: &ReplicaId) -> std::result::Result<usize, usize> {
        self.counters.binary_search_by(|(r, _)| r.cmp(replica))
    }

    /// Records one more change by `replica`.
    pub fn bump(&mut self, replica: ReplicaId) -> &mut Self {
        match self.position(&replica) {
            Ok(i) => self.counters[i].1 = self.counters[i].1.saturating_add(1),
            Err(i) => self.counters.insert(i, (replica, 1)),
        }
        self
    }

    /// Takes the pointwise maximum: afterwards `self` has seen everything `other` has.
    pub fn merge(&mut self, other: &VersionVector) -> &mut Self {
        for &(replica, count) in &other.counters {
            match self.position(&replica) {
                Ok(i) => self.counters[i].1 = self.counters[i].1.max(count),
                Err(i) => self.counters.insert(i, (replica, count)),
            }
        }
        self
    }

    /// True if no replica has changed the entry.
    pub fn is_empty(&self) -> bool {
        self.counters.iter().all(|&(_, c)| c == 0)
    }

    /// The (replica, counter) pairs, ordered by replica.
    pub fn iter(&self) -> impl Iterator<Item = (&ReplicaId, &u64)> {
        self.counters.iter().map(|(r, c)| (r, c))
    }

    /// How `self` relates to `other`.
    pub fn compare(&self, other: &VersionVector) -> Causality {
        if self.counters == other.counters {
            return Causality::Equal;
        }
        // One merge walk over both sorted counter lists (missing replicas count as zero).
        let (mut greater, mut less) = (false, false);
        let (a, b) = (&self.counters[..], &other.counters[..]);
        let (mut i, mut j) = (0, 0);
        while !(greater && less) {
            match (a.get(i), b.get(j)) {
                (None, None) => break,
                (Some(&(_, x)), None) => {
                    greater |= x > 0;
                    i += 1;
                }
                (None, Some(&(_, y))) => {
                    less |= y > 0;
                    j += 1;
                }
                (Some(&(ka, x)), Some(&(kb, y))) => match ka.cmp(&kb) {
                    std::cmp::Ordering::Less => {
                        greater |= x > 0;
                        i += 1;
                    }
                    std::cmp::Ordering::Greater => {
                        less |= y > 0;
                        j += 1;
                    }
                    std::cmp::Ordering::Equal => {
                        greater |= x > y;
                        less |= x < y;
                        i += 1;
                        j += 1;
                    }
                },
            }
        }
        match (greater, less) {
            (false, false) => Causality::Equal,
            (true, false) => Causality::Dominates,
            (false, true) => Causality::DominatedBy,
            (true, true) => Causality::Concurrent,
        }
    }

    /// Compact encoding: count (u16 LE) then, per replica in order, id (16 bytes) and
    /// counter (u64 LE). Zero counters are omitted.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.counters.len() * ENTRY_LEN);
        self.encode_into(&mut out);
        out
    }

    /// Appends [`encode`](Self::encode)'s bytes to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        let live = || self.counters.iter().filter(|&&(_, c)| c > 0);
        out.extend_from_slice(&(live().count().min(MAX_VECTOR_REPLICAS) as u16).to_le_bytes());
        for (replica, count) in live().take(MAX_VECTOR_REPLICAS) {
            out.extend_from_slice(replica.as_bytes());
            out.extend_from_slice(&count.to_le_bytes());
        }
    }

    /// Decodes [`VersionVector::encode`]'s output, which must fill `bytes` exactly.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (vector, used) = Self::decode_prefix(bytes)?;
        if used != bytes.len() {
            return Err(Error::corrupt(format!(
                "version vector: {} trailing bytes",
                bytes.len() - used
            )));
        }
        Ok(vector)
    }

    /// Decodes a vector at the start of `bytes`, returning it and the bytes it used.
    pub fn decode_prefix(bytes: &[u8]) -> Result<(Self, usize)> {
        let corrupt = |what: &str| Error::corrupt(format!("version vector: {what}"));
        let count_bytes: [u8; 2] = bytes
            .get(..2)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| corrupt("truncated"))?;
        let count = usize::from(u16::from_le_bytes(count_bytes));
        if count > MAX_VECTOR_REPLICAS {
            return Err(corrupt("too many replicas"));
        }
        let used = 2 + count * ENTRY_LEN;
        let body = bytes.get(2..used).ok_or_else(|| corrupt("truncated"))?;
        // `count` is now bounded by the input length, so this allocation is too.
        let mut counters = SmallVec::with_capacity(count);
        let mut previous: Option<ReplicaId> = None;
        for entry in body.chunks_exact(ENTRY_LEN) {
            let mut id = [0u8; 16];
            id.copy_from_slice(&entry[..16]);
            let mut count = [0u8; 8];
            count.copy_from_slice(&entry[16..]);
            let (replica, count) = (ReplicaId(id), u64::from_le_bytes(count));
            if previous.is_some_and(|p| p >= replica) {
                return Err(corrupt("replicas out of order or repeated"));
            }
            if count == 0 {
                return Err(corrupt("zero counter"));
            }
            previous = Some(replica);
            counters.push((replica, count));
        }
        Ok((VersionVector { counters }, used))
    }
}

impl fmt::Debug for VersionVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(r, c)| (r.short(), c)))
            .finish()
    }
}

impl FromIterator<(ReplicaId, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (ReplicaId, u64)>>(iter: I) -> Self {
        let mut vector = VersionVector::new();
        for (replica, count) in iter.into_iter().filter(|&(_, c)| c > 0) {
            // Later pairs for the same replica replace earlier ones.
            match vector.position(&replica) {
                Ok(i) => vector.counters[i].1 = count,
                Err(i) => vector.counters.insert(i, (replica, count)),
            }
        }
        vector
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use proptest::prelude::*;

    fn r(n: u8) -> ReplicaId {
        ReplicaId([n; 16])
    }

    #[test]
    fn compare_covers_all_cases() {
        let mut a = VersionVector::new();
        let b = VersionVector::new();
        assert_eq!(a.compare(&b), Causality::Equal);
        a.bump(r(1));
        assert_eq!(a.compare(&b), Causality::Dominates);
        assert_eq!(b.compare(&a), Causality::DominatedBy);
        let mut c = b.clone();
        c.bump(r(2));
        assert_eq!(a.compare(&c), Causality::Concurrent);
        let mut merged = a.clone();
        merged.merge(&c);
        assert_eq!(merged.compare(&a), Causality::Dominates);
        assert_eq!(merged.compare(&c), Causality::Dominates);
        assert_eq!(merged.get(&r(1)), 1);
        assert_eq!(merged.get(&r(3)), 0);
    }

    #[test]
    fn ids_parse_and_are_random() {
        let id = ReplicaId::random();
        assert_ne!(id, ReplicaId::random());
        assert_eq!(id.to_string().parse::<ReplicaId>().unwrap(), id);
        assert_eq!(id.short().len(), 8);
        assert_eq!(
            "xyz".parse::<ReplicaId>().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn hostile_encodings_are_corrupt() {
        for bytes in [&[][..], &[1][..], &[1, 0][..], &[0xff, 0xff][..]] {
            assert_eq!(
                VersionVector::decode(bytes).unwrap_err().kind(),
                ErrorKind::Corrupt
            );
        }
        let vv: VersionVector = [(r(2), 1), (r(1), 5)].into_iter().collect();
        let mut bytes = vv.encode();
        bytes.push(0);
        assert!(VersionVector::decode(&bytes).is_err());
        let mut swapped = vv.encode();
        swapped[2..2 + ENTRY_LEN].copy_from_slice(&[2; ENTRY_LEN]);
        assert!(VersionVector::decode(&swapped).is_err());
    }

    proptest! {
        #[test]
        fn encoding_roundtrips(pairs in proptest::collection::vec((any::<u8>(), 1..u64::MAX), 0..20)) {
            let vv: VersionVector = pairs.into_iter().map(|(id, c)| (r(id), c)).collect();
            prop_assert_eq!(VersionVector::decode(&vv.encode()).unwrap(), vv);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = VersionVector::decode(&bytes);
        }

        #[test]
        fn merge_dominates_or_equals_both(
            a in proptest::collection::vec((0u8..4, 1..10u64), 0..6),
            b in proptest::collection::vec((0u8..4, 1..10u64), 0..6),
        ) {
            let a: VersionVector = a.into_iter().map(|(id, c)| (r(id), c)).collect();
            let b: VersionVector = b.into_iter().map(|(id, c)| (r(id), c)).collect();
            let mut m = a.clone();
            m.merge(&b);
            prop_assert!(matches!(m.compare(&a), Causality::Equal | Causality::Dominates));
            prop_assert!(matches!(m.compare(&b), Causality::Equal | Causality::Dominates));
        }
    }
}
