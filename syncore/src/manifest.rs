//! What a file is made of: its ordered chunks, its size and its content id.
//!
//! A [`FileManifest`] lists a file's chunks in order (offsets follow from the lengths) and
//! carries the file's `content_id`, which names the whole content. The content id is defined
//! once, here:
//!
//! ```text
//! exactly one chunk:
//! content_id = H( "syncore one-chunk content-id v2" || 0x00 || algo code (1 byte)
//!                 || chunk id (32 bytes) )
//! any other number of chunks:
//! content_id = H( "syncore content-id v1" || 0x00 || algo code (1 byte)
//!                 || size (u64 LE) || chunk count (u64 LE)
//!                 || for each chunk: length (u32 LE) || chunk id (32 bytes) )
//! ```
//!
//! where `H` is the manifest's [`HashAlgo`]. It is domain-separated from chunk ids, commits
//! to every chunk and length (a chunk's id fixes its bytes, so its length too), and is
//! recomputed whenever a manifest is built or decoded, so a manifest can never carry a content
//! id that does not match its chunks. (Two replicas that chunk the same bytes with different
//! parameters get different content ids: chunking parameters are a property of a replica set.)
//!
//! Most files are one chunk, and naming them by their chunk alone means a chunk id gives the
//! content id of the file that is exactly that chunk ([`one_chunk_content_id`]): the index
//! finds such files through the content id it already keys by, with no row per chunk.
//! Format 1 of the encoding named one-chunk content by the general form; it is still read,
//! its content id converted.
//!
//! The binary encoding is compact and versioned; decoding bounds every length before
//! allocating and rejects anything malformed with [`ErrorKind::Corrupt`](crate::ErrorKind).
//! This module never reads files or touches stores; it only describes content.

use std::collections::HashSet;
use std::path::Path;

use crate::chunk::{Chunk, Chunker, MAX_CHUNK_LEN};
use crate::error::{Error, Result};
use crate::hash::{Digest, HashAlgo};

const MAGIC: &[u8; 4] = b"SYNM";
const FORMAT_VERSION: u8 = 2;
/// The format before one-chunk content had its own content id; still read.
const FIRST_FORMAT_VERSION: u8 = 1;
const HEADER_LEN: usize = 20;
const ENTRY_LEN: usize = 4 + Digest::LEN;
const CHECKSUM_LEN: usize = 8;
const TRAILER_LEN: usize = Digest::LEN + CHECKSUM_LEN;
const CONTENT_ID_DOMAIN: &[u8] = b"syncore content-id v1\0";
const ONE_CHUNK_DOMAIN: &[u8] = b"syncore one-chunk content-id v2\0";

/// The ordered chunks of one file, with its size and content id.
///
/// Invariants, kept by every constructor: chunks are non-empty, tile `0..size` in order, and
/// `content_id` is the content id of exactly these chunks under `algo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileManifest {
    algo: HashAlgo,
    size: u64,
    content_id: Digest,
    chunks: Vec<Chunk>,
}

impl FileManifest {
    /// Builds a manifest from chunks that tile a file from offset 0 in order.
    pub fn from_chunks(algo: HashAlgo, chunks: Vec<Chunk>) -> Result<Self> {
        let mut size = 0u64;
        for (i, chunk) in chunks.iter().enumerate() {
            if chunk.len == 0 || chunk.len > MAX_CHUNK_LEN {
                return Err(Error::invalid(format!(
                    "chunk {i} has length {}, expected 1..={MAX_CHUNK_LEN}",
                    chunk.len
                )));
            }
            if chunk.offset != size {
                return Err(Error::invalid(format!(
                    "chunk {i} starts at offset {}, expected {size}",
                    chunk.offset
                )));
            }
            size += u64::from(chunk.len);
        }
        let content_id = content_id(algo, size, &chunks);
        Ok(FileManifest {
            algo,
            size,
            content_id,
            chunks,
        })
    }

    /// Chunks and hashes `data` into a manifest.
    pub fn of_slice(chunker: &Chunker, data: &[u8]) -> Self {
        let chunks = chunker.chunk_slice(data);
        let size = data.len() as u64;
        let content_id = content_id(chunker.algo(), size, &chunks);
        FileManifest {
            algo: chunker.algo(),
            size,
            content_id,
            chunks,
        }
    }

    /// Chunks and hashes the file at `path` into a manifest, in bounded memory.
    pub fn of_file(chunker: &Chunker, path: impl AsRef<Path>) -> Result<Self> {
        let chunks = chunker.chunk_file(path)?;
        Self::from_chunks(chunker.algo(), chunks)
    }

    /// The manifest of an empty file.
    pub fn empty(algo: HashAlgo) -> Self {
        FileManifest {
            algo,
            size: 0,
            content_id: content_id(algo, 0, &[]),
            chunks: Vec::new(),
        }
    }

    /// The hash algorithm of the chunk ids and the content id.
    pub fn algo(&self) -> HashAlgo {
        self.algo
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The id of the whole content (see the module documentation for its definition).
    pub fn content_id(&self) -> Digest {
        self.content_id
    }

    /// The chunks, in file order.
    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// The chunk ids that `newer` needs and `self` lacks, in `newer`'s order, each once.
    ///
    /// This is what a replica holding `self` must fetch to assemble `newer`.
    pub fn diff(&self, newer: &FileManifest) -> Vec<Digest> {
        let mut have: HashSet<Digest> = if self.algo == newer.algo {
            self.chunks.iter().map(|c| c.id).collect()
        } else {
            HashSet::new()
        };
        newer
            .chunks
            .iter()
            .filter(|c| have.insert(c.id))
            .map(|c| c.id)
            .collect()
    }

    /// The manifest in syncore's versioned binary format.
    ///
    /// Layout (integers little-endian): magic `SYNM`, format version (1 byte), hash algorithm
    /// code (1 byte), reserved (2 zero bytes), size (u64), chunk count (u32), then per chunk its
    /// length (u32) and id (32 bytes), then the content id (32 bytes), then a checksum: the
    /// first 8 bytes of the BLAKE3 hash of everything before it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.chunks.len() * ENTRY_LEN + TRAILER_LEN);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        out.push(self.algo.code());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.size.to_le_bytes());
        // A manifest's chunks tile at most u64::MAX bytes in chunks of at least one byte; a
        // manifest with more than u32::MAX chunks cannot be built from real data here, but
        // saturating keeps encoding total and decoding rejects the mismatch.
        let count = u32::try_from(self.chunks.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_le_bytes());
        for chunk in &self.chunks {
            out.extend_from_slice(&chunk.len.to_le_bytes());
            out.extend_from_slice(chunk.id.as_bytes());
        }
        out.extend_from_slice(self.content_id.as_bytes());
        let checksum = blake3::hash(&out);
        out.extend_from_slice(&checksum.as_bytes()[..CHECKSUM_LEN]);
        out
    }

    /// The content id format 1 gave this content (the general form, one chunk or not).
    #[cfg(test)]
    pub(crate) fn format_1_content_id(&self) -> Digest {
        general_content_id(self.algo, self.size, &self.chunks)
    }

    /// This manifest as format 1 encoded it (what older indexes and peers hold).
    #[cfg(test)]
    pub(crate) fn encode_format_1(&self) -> Vec<u8> {
        self.encode_labeled(FIRST_FORMAT_VERSION, &self.format_1_content_id())
    }

    /// This manifest's encoding with its format version and stored content id replaced (and
    /// the checksum sealed over them).
    #[cfg(test)]
    fn encode_labeled(&self, version: u8, content_id: &Digest) -> Vec<u8> {
        let mut bytes = self.encode();
        bytes[4] = version;
        let body_len = bytes.len() - CHECKSUM_LEN;
        bytes[body_len - Digest::LEN..body_len].copy_from_slice(content_id.as_bytes());
        let checksum = blake3::hash(&bytes[..body_len]);
        bytes[body_len..].copy_from_slice(&checksum.as_bytes()[..CHECKSUM_LEN]);
        bytes
    }

    /// Parses bytes made by [`FileManifest::encode`], rejecting anything malformed with
    /// [`ErrorKind::Corrupt`](crate::ErrorKind::Corrupt).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let corrupt = |what: String| Error::corrupt(format!("manifest: {what}"));
        if bytes.len() < HEADER_LEN + TRAILER_LEN {
            return Err(corrupt(format!(
                "truncated: {} bytes, at least {} needed",
                bytes.len(),
                HEADER_LEN + TRAILER_LEN
            )));
        }
        if &bytes[..4] != MAGIC {
            return Err(corrupt("bad magic, not a syncore manifest".into()));
        }
        let version = bytes[4];
        if version != FORMAT_VERSION && version != FIRST_FORMAT_VERSION {
            return Err(corrupt(format!("unknown format version {version}")));
        }
        let (body, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if blake3::hash(body).as_bytes()[..CHECKSUM_LEN] != *checksum {
            return Err(corrupt("checksum mismatch".into()));
        }
        let algo = HashAlgo::from_code(bytes[5])
            .map_err(|_| corrupt(format!("unknown hash algorithm code {}", bytes[5])))?;
        if bytes[6..8] != [0, 0] {
            return Err(corrupt("reserved header bytes are not zero".into()));
        }
        let size = u64::from_le_bytes(array(&bytes[8..16]));
        let count = u32::from_le_bytes(array(&bytes[16..20])) as u64;
        let expected_len = (HEADER_LEN as u64)
            .checked_add(count.saturating_mul(ENTRY_LEN as u64))
            .and_then(|n| n.checked_add(TRAILER_LEN as u64));
        if expected_len != Some(bytes.len() as u64) {
            return Err(corrupt(format!(
                "{count} chunks do not fit in {} bytes",
                bytes.len()
            )));
        }
        // `count` is now bounded by the input length, so this allocation is too.
        let mut chunks = Vec::with_capacity(count as usize);
        let mut offset = 0u64;
        let entries = &bytes[HEADER_LEN..bytes.len() - TRAILER_LEN];
        for (i, entry) in entries.chunks_exact(ENTRY_LEN).enumerate() {
            let len = u32::from_le_bytes(array(&entry[..4]));
            if len == 0 || len > MAX_CHUNK_LEN {
                return Err(corrupt(format!("chunk {i} has length {len}")));
            }
            let id = Digest::from_bytes(array(&entry[4..]));
            chunks.push(Chunk { id, offset, len });
            offset = offset
                .checked_add(u64::from(len))
                .ok_or_else(|| corrupt("chunk lengths overflow".into()))?;
        }
        if offset != size {
            return Err(corrupt(format!(
                "chunk lengths add up to {offset}, size says {size}"
            )));
        }
        let stored_id = Digest::from_bytes(array(&bytes[bytes.len() - TRAILER_LEN..body.len()]));
        let content_id = content_id(algo, size, &chunks);
        let encoded_id = match version {
            FIRST_FORMAT_VERSION => general_content_id(algo, size, &chunks),
            _ => content_id,
        };
        if encoded_id != stored_id {
            return Err(corrupt("content id does not match the chunks".into()));
        }
        Ok(FileManifest {
            algo,
            size,
            content_id,
            chunks,
        })
    }
}

/// The content id of a file made of `chunks` (see the module documentation).
fn content_id(algo: HashAlgo, size: u64, chunks: &[Chunk]) -> Digest {
    match chunks {
        [only] => one_chunk_content_id(algo, &only.id),
        _ => general_content_id(algo, size, chunks),
    }
}

/// The content id of a file that is exactly the chunk `id` under `algo`.
pub fn one_chunk_content_id(algo: HashAlgo, id: &Digest) -> Digest {
    const INPUT_LEN: usize = ONE_CHUNK_DOMAIN.len() + 1 + Digest::LEN;
    let mut input = [0u8; INPUT_LEN];
    let (domain, rest) = input.split_at_mut(ONE_CHUNK_DOMAIN.len());
    domain.copy_from_slice(ONE_CHUNK_DOMAIN);
    rest[0] = algo.code();
    rest[1..].copy_from_slice(id.as_bytes());
    algo.digest(&input)
}

/// The content id of a file of any number of chunks but one (and of one-chunk files in
/// format 1).
///
/// Most files have a chunk or two: their hash input is assembled on the stack and hashed in
/// one call, which costs a fraction of a streaming hasher's set-up; longer manifests stream.
fn general_content_id(algo: HashAlgo, size: u64, chunks: &[Chunk]) -> Digest {
    const PREFIX_LEN: usize = CONTENT_ID_DOMAIN.len() + 1 + 8 + 8;
    const INLINE_CHUNKS: usize = 8;
    let prefix = {
        let mut prefix = [0u8; PREFIX_LEN];
        let (domain, rest) = prefix.split_at_mut(CONTENT_ID_DOMAIN.len());
        domain.copy_from_slice(CONTENT_ID_DOMAIN);
        rest[0] = algo.code();
        rest[1..9].copy_from_slice(&size.to_le_bytes());
        rest[9..17].copy_from_slice(&(chunks.len() as u64).to_le_bytes());
        prefix
    };
    let entry = |chunk: &Chunk| {
        let mut entry = [0u8; ENTRY_LEN];
        entry[..4].copy_from_slice(&chunk.len.to_le_bytes());
        entry[4..].copy_from_slice(chunk.id.as_bytes());
        entry
    };
    if chunks.len() <= INLINE_CHUNKS {
        let mut input = [0u8; PREFIX_LEN + INLINE_CHUNKS * ENTRY_LEN];
        input[..PREFIX_LEN].copy_from_slice(&prefix);
        for (slot, chunk) in input[PREFIX_LEN..].chunks_exact_mut(ENTRY_LEN).zip(chunks) {
            slot.copy_from_slice(&entry(chunk));
        }
        return algo.digest(&input[..PREFIX_LEN + chunks.len() * ENTRY_LEN]);
    }
    let mut hasher = algo.hasher();
    hasher.update(&prefix);
    for chunk in chunks {
        hasher.update(&entry(chunk));
    }
    hasher.finalize()
}

/// Copies a slice whose length the caller has already checked into an array.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::ChunkerConfig;
    use crate::ErrorKind;
    use proptest::prelude::*;

    fn sample(data: &[u8]) -> FileManifest {
        let chunker =
            Chunker::new(ChunkerConfig::fastcdc(64, 256, 1024), HashAlgo::Blake3).unwrap();
        FileManifest::of_slice(&chunker, data)
    }

    fn noise(len: usize, seed: u32) -> Vec<u8> {
        (0..len as u32)
            .map(|i| (i.wrapping_add(seed).wrapping_mul(2654435761) >> 15) as u8)
            .collect()
    }

    /// The content id exactly as the module documentation defines it, fed piece by piece.
    fn documented_content_id(algo: HashAlgo, size: u64, chunks: &[Chunk]) -> Digest {
        let mut hasher = algo.hasher();
        if let [only] = chunks {
            hasher.update(b"syncore one-chunk content-id v2\0");
            hasher.update(&[algo.code()]);
            hasher.update(only.id.as_bytes());
            return hasher.finalize();
        }
        documented_general_id(algo, size, chunks)
    }

    /// The general form alone (what format 1 used for every manifest).
    fn documented_general_id(algo: HashAlgo, size: u64, chunks: &[Chunk]) -> Digest {
        let mut hasher = algo.hasher();
        hasher.update(b"syncore content-id v1\0");
        hasher.update(&[algo.code()]);
        hasher.update(&size.to_le_bytes());
        hasher.update(&(chunks.len() as u64).to_le_bytes());
        for chunk in chunks {
            hasher.update(&chunk.len.to_le_bytes());
            hasher.update(chunk.id.as_bytes());
        }
        hasher.finalize()
    }

    #[test]
    fn content_id_follows_its_definition_for_short_and_long_manifests() {
        for algo in [HashAlgo::Blake3, HashAlgo::Sha256] {
            // 1 to 30 chunks: the one-shot path (up to 8) and the streaming one.
            for count in [1u32, 2, 7, 8, 9, 30] {
                let chunks: Vec<Chunk> = (0..count)
                    .map(|i| Chunk {
                        id: algo.digest(&i.to_le_bytes()),
                        offset: u64::from(i) * 100,
                        len: 100,
                    })
                    .collect();
                let manifest = FileManifest::from_chunks(algo, chunks.clone()).unwrap();
                let size = u64::from(count) * 100;
                assert_eq!(
                    manifest.content_id(),
                    documented_content_id(algo, size, &chunks),
                    "{algo}, {count} chunks"
                );
            }
        }
        // Pinned: a content id must never change meaning without a new format version (and a
        // migration of the ids the index stores).
        let pinned = |data: &[&[u8]]| {
            let mut offset = 0;
            let chunks = data.iter().map(|bytes| {
                let chunk = Chunk {
                    id: HashAlgo::Blake3.digest(bytes),
                    offset,
                    len: bytes.len() as u32,
                };
                offset += u64::from(chunk.len);
                chunk
            });
            FileManifest::from_chunks(HashAlgo::Blake3, chunks.collect()).unwrap()
        };
        let one = pinned(&[b"pinned"]);
        assert_eq!(one.content_id().to_string(), PINNED_ONE_CHUNK);
        assert_eq!(
            one.format_1_content_id().to_string(),
            "46914333400add5be88d7a4806699726b410e0a5764cf37cd47c91e70810a0ef",
            "the general form is format 1's, unchanged"
        );
        let two = pinned(&[b"pinned", b"twice"]);
        assert_eq!(two.content_id().to_string(), PINNED_TWO_CHUNKS);
    }

    const PINNED_ONE_CHUNK: &str =
        "c8adbb52e3adab904e3fc9ecbc396d07d3c4cc6a7b5ac81dde03b4b5db174fd5";
    const PINNED_TWO_CHUNKS: &str =
        "6e1f40d3ae1e4b2effa2b7dc9aacb34759702142615c50cc52bccc8839fc2414";

    #[test]
    fn format_1_encodings_are_read_with_their_content_id_converted() {
        for data in [&b"one chunk"[..], &noise(10_000, 3)] {
            let manifest = sample(data);
            let old = manifest.encode_format_1();
            assert_eq!(FileManifest::decode(&old).unwrap(), manifest);
            assert_eq!(
                manifest.format_1_content_id() == manifest.content_id(),
                manifest.chunks().len() > 1,
                "only one-chunk content was renamed"
            );
            // A format 1 encoding carrying the current one-chunk id is not format 1.
            let mislabeled = manifest.encode_labeled(FIRST_FORMAT_VERSION, &manifest.content_id());
            let one_chunk = manifest.chunks().len() == 1;
            assert_eq!(FileManifest::decode(&mislabeled).is_err(), one_chunk);
        }
    }

    #[test]
    fn roundtrip_and_content_id() {
        let m = sample(&noise(10_000, 1));
        let decoded = FileManifest::decode(&m.encode()).unwrap();
        assert_eq!(decoded, m);
        assert_eq!(m.size(), 10_000);
        // The same bytes give the same id; other bytes another.
        assert_eq!(sample(&noise(10_000, 1)).content_id(), m.content_id());
        assert_ne!(sample(&noise(10_000, 2)).content_id(), m.content_id());
        // The content id is not the id of any chunk (domain separation).
        assert!(m.chunks().iter().all(|c| c.id != m.content_id()));
        let empty = FileManifest::empty(HashAlgo::Sha256);
        assert_eq!(FileManifest::decode(&empty.encode()).unwrap(), empty);
        assert_eq!(
            empty,
            FileManifest::from_chunks(HashAlgo::Sha256, vec![]).unwrap()
        );
    }

    #[test]
    fn from_chunks_checks_tiling() {
        let m = sample(&noise(5_000, 3));
        let mut chunks = m.chunks().to_vec();
        assert_eq!(
            FileManifest::from_chunks(m.algo(), chunks.clone()).unwrap(),
            m
        );
        chunks[1].offset += 1;
        let err = FileManifest::from_chunks(m.algo(), chunks).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("chunk 1"), "{err}");
    }

    #[test]
    fn diff_lists_needed_chunks_in_order_once() {
        let a = noise(20_000, 4);
        let mut b = a.clone();
        b.splice(7_000..7_000, noise(3_000, 5));
        b.extend_from_slice(&a[..4_000]); // repeats chunks `a` already has
        let (old, new) = (sample(&a), sample(&b));
        let needed = old.diff(&new);
        let have: HashSet<_> = old.chunks().iter().map(|c| c.id).collect();
        let expected: Vec<Digest> = {
            let mut seen = HashSet::new();
            new.chunks()
                .iter()
                .map(|c| c.id)
                .filter(|id| !have.contains(id) && seen.insert(*id))
                .collect()
        };
        assert_eq!(needed, expected);
        assert!(!needed.is_empty() && needed.len() < new.chunks().len());
        assert!(new.diff(&new).is_empty());
        assert_eq!(FileManifest::empty(HashAlgo::Blake3).diff(&new).len(), {
            new.chunks()
                .iter()
                .map(|c| c.id)
                .collect::<HashSet<_>>()
                .len()
        });
    }

    fn corrupt_kind(bytes: &[u8]) -> String {
        let err = FileManifest::decode(bytes).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
        err.to_string()
    }

    /// Re-seals a tampered encoding with a valid checksum so the deeper checks are reached.
    fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
        let body = bytes.len() - CHECKSUM_LEN;
        let sum = blake3::hash(&bytes[..body]);
        bytes[body..].copy_from_slice(&sum.as_bytes()[..CHECKSUM_LEN]);
        bytes
    }

    #[test]
    fn malformed_input_is_corrupt() {
        let good = sample(&noise(3_000, 6)).encode();
        assert!(corrupt_kind(&good[..10]).contains("truncated"));
        assert!(corrupt_kind(&good[..good.len() - 1]).contains("checksum"));
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(corrupt_kind(&bad).contains("magic"));
        let mut bad = good.clone();
        bad[4] = 9;
        assert!(corrupt_kind(&bad).contains("version"));
        let mut bad = good.clone();
        bad[5] = 7;
        assert!(corrupt_kind(&reseal(bad)).contains("algorithm"));
        let mut bad = good.clone();
        bad[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(corrupt_kind(&reseal(bad)).contains("do not fit"));
        let mut bad = good.clone();
        bad[8] ^= 1;
        assert!(corrupt_kind(&reseal(bad)).contains("add up"));
        let mut bad = good.clone();
        bad[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&0u32.to_le_bytes());
        assert!(corrupt_kind(&reseal(bad)).contains("length 0"));
        let mut bad = good.clone();
        bad[HEADER_LEN + 4] ^= 0xff;
        assert!(corrupt_kind(&reseal(bad)).contains("content id"));
        let mut bad = good;
        bad[6] = 1;
        assert!(corrupt_kind(&reseal(bad)).contains("reserved"));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = FileManifest::decode(&bytes);
            let _ = FileManifest::decode(&reseal([b"SYNM\x01\x01\0\0".as_slice(), &bytes].concat()));
        }

        #[test]
        fn encode_decode_roundtrip(data in proptest::collection::vec(any::<u8>(), 0..5_000)) {
            let m = sample(&data);
            prop_assert_eq!(FileManifest::decode(&m.encode()).unwrap(), m);
        }
    }
}
