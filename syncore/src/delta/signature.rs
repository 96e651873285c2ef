//! Signatures: generating, encoding and decoding them, and the weak-sum lookup index.
//!
//! This file owns [`Signature`] (the parsed block sums of a basis file plus an index from weak
//! sum to candidate blocks), [`SignatureOptions`] and the streaming signature generator. The
//! generator reads the basis in bounded batches of whole blocks and hashes each batch on up to
//! two threads with multi-buffer strong hashing. Decoding derives the block count from the
//! bytes actually present, never from a length field. The index caps the candidates per weak
//! sum so that crafted signatures cannot make delta generation quadratic. This file never
//! reads new files or writes deltas.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::format::{SignatureHeader, SignatureMagic, WeakKind, SIGNATURE_HEADER_LEN};
use super::rollsum::{RabinKarp, RollingSum, Rollsum};
use super::strong::{strong_sum, strong_sums_strided, StrongSum};
use super::{read_full, worker_threads};
use crate::error::{Error, Result};

/// librsync's block length when the basis size is unknown.
pub const DEFAULT_BLOCK_LEN: u32 = 2048;

/// Most distinct blocks the index keeps for one weak sum; further blocks with the same weak
/// sum are never proposed as matches (duplicate blocks are dropped first).
pub const MAX_CANDIDATES_PER_WEAK_SUM: usize = 64;

/// Bytes of basis hashed per batch by the signature generator when it is in memory: large
/// enough that starting a helper thread per batch costs little.
const BATCH_BYTES: usize = 32 << 20;
/// Bytes read per batch from a stream. Each batch ends by waiting for the helper thread's
/// last group; on a loaded machine that thread may be preempted mid-group for a scheduler
/// slice, so batches must take much longer than that to hash (under load, 4 MiB batches
/// streamed at half the speed of 16 MiB ones).
const STREAM_BATCH_BYTES: usize = 16 << 20;
/// Batches at least this large are hashed on two threads.
const PARALLEL_BYTES: usize = 1 << 20;
/// Blocks per unit of work claimed by a hashing thread.
const GROUP: usize = 32;
/// Most blocks per batch, which bounds the per-block sum buffers for tiny block lengths.
const MAX_BATCH_BLOCKS: usize = 1 << 16;

/// How to build a signature: format, block length and strong-sum length.
///
/// The default matches `rdiff signature`: RabinKarp + BLAKE2b, the recommended block length
/// for the basis size, and full-length strong sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignatureOptions {
    /// The signature format (rolling checksum and strong hash).
    pub magic: SignatureMagic,
    /// Block length in bytes; `None` picks librsync's recommendation for the basis size
    /// (`sqrt(size)` rounded down to a multiple of 128, at least 256; 2048 if the size is
    /// unknown).
    pub block_len: Option<u32>,
    /// Strong-sum length in bytes (1..=16 for MD4, 1..=32 for BLAKE2); `None` keeps the
    /// whole hash.
    pub strong_len: Option<u32>,
}

impl SignatureOptions {
    /// librsync's recommended block length for a basis of `size` bytes (`None`: unknown).
    pub fn recommended_block_len(size: Option<u64>) -> u32 {
        match size {
            None => DEFAULT_BLOCK_LEN,
            Some(s) if s <= 256 * 256 => 256,
            // isqrt(u64::MAX) < 2^32, so the cast is lossless.
            Some(s) => (s.isqrt() as u32) & !127,
        }
    }

    /// librsync's smallest recommended strong-sum length for a basis of `size` bytes split
    /// in `block_len` blocks (what `rdiff -S -1` uses): enough bits that a collision is
    /// unlikely even when every offset of a 16 MiB larger new file is compared.
    pub fn min_strong_len(size: u64, block_len: u32) -> u32 {
        let ln2 = |v: u64| 63 - v.max(1).leading_zeros();
        let blocks = size / u64::from(block_len.max(1)) + 1;
        2 + (ln2(size.saturating_add(1 << 24)) + ln2(blocks)).div_ceil(8)
    }

    /// The block and strong-sum lengths these options give for a basis of `size` bytes.
    pub fn resolve(&self, size: Option<u64>) -> Result<(u32, u32)> {
        let block_len = self
            .block_len
            .unwrap_or_else(|| Self::recommended_block_len(size));
        let strong_len = self
            .strong_len
            .unwrap_or_else(|| self.magic.strong().max_len());
        let h = SignatureHeader {
            magic: self.magic,
            block_len,
            strong_len,
        }
        .validate(false)?;
        Ok((h.block_len, h.strong_len))
    }
}

/// The signature of a basis file: per-block weak and strong sums, with a lookup index.
///
/// Made by [`Signature::generate`] or [`Signature::decode`]; consumed by
/// [`write_delta`](super::write_delta). The whole signature is held in memory (about
/// `(4 + strong_len) / block_len` of the basis size).
#[derive(Clone)]
pub struct Signature {
    header: SignatureHeader,
    weak: Vec<u32>,
    strong: Vec<u8>,
    index: Index,
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signature")
            .field("magic", &self.header.magic)
            .field("block_len", &self.header.block_len)
            .field("strong_len", &self.header.strong_len)
            .field("blocks", &self.weak.len())
            .finish()
    }
}

impl PartialEq for Signature {
    fn eq(&self, other: &Self) -> bool {
        self.header == other.header && self.weak == other.weak && self.strong == other.strong
    }
}

impl Eq for Signature {}

impl Signature {
    /// The signature format.
    pub fn magic(&self) -> SignatureMagic {
        self.header.magic
    }

    /// Block length in bytes (the last block of the basis may be shorter).
    pub fn block_len(&self) -> u32 {
        self.header.block_len
    }

    /// Strong-sum length in bytes.
    pub fn strong_len(&self) -> u32 {
        self.header.strong_len
    }

    /// Number of blocks (`ceil(basis size / block_len)`).
    pub fn block_count(&self) -> usize {
        self.weak.len()
    }

    /// Length of the encoded signature in bytes.
    pub fn encoded_len(&self) -> usize {
        SIGNATURE_HEADER_LEN + self.weak.len() * (4 + self.header.strong_len as usize)
    }

    /// Parses an encoded signature (librsync format) and builds its lookup index.
    ///
    /// Errors: `Corrupt` for a bad magic, a bad header or a truncated block record;
    /// `Unsupported` for a block length above [`MAX_BLOCK_LEN`](super::MAX_BLOCK_LEN).
    pub fn decode(bytes: &[u8]) -> Result<Signature> {
        let header = SignatureHeader::decode(bytes)?;
        let body = &bytes[SIGNATURE_HEADER_LEN..];
        let rec = 4 + header.strong_len as usize;
        if !body.len().is_multiple_of(rec) {
            return Err(Error::corrupt(format!(
                "truncated signature: {} bytes of block records is not a multiple of the \
                 {rec}-byte record length",
                body.len()
            )));
        }
        let blocks = body.len() / rec;
        if u32::try_from(blocks).is_err() {
            return Err(Error::corrupt("signature has more than 2^32 blocks"));
        }
        let sl = header.strong_len as usize;
        let mut weak = Vec::with_capacity(blocks);
        let mut strong = Vec::with_capacity(blocks * sl);
        for r in body.chunks_exact(rec) {
            weak.push(u32::from_be_bytes([r[0], r[1], r[2], r[3]]));
            strong.extend_from_slice(&r[4..]);
        }
        Ok(Signature::from_parts(header, weak, strong))
    }

    /// Reads and parses an encoded signature from a stream.
    pub fn read_from(mut reader: impl Read) -> Result<Signature> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(Error::io_stream)?;
        Signature::decode(&bytes)
    }

    /// The encoded signature (librsync format).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&self.header.encode());
        let sl = self.header.strong_len as usize;
        for (w, s) in self.weak.iter().zip(self.strong.chunks_exact(sl.max(1))) {
            out.extend_from_slice(&w.to_be_bytes());
            out.extend_from_slice(s);
        }
        out
    }

    /// Writes the encoded signature to a stream.
    pub fn write_to(&self, mut writer: impl Write) -> Result<()> {
        writer.write_all(&self.encode()).map_err(Error::io_stream)
    }

    /// Computes the signature of everything `basis` yields, keeping it in memory.
    ///
    /// `size_hint` is the basis size if known; it only matters when `opts.block_len` is
    /// `None` (see [`SignatureOptions::block_len`]).
    pub fn generate(
        basis: impl Read,
        size_hint: Option<u64>,
        opts: &SignatureOptions,
    ) -> Result<Signature> {
        Signature::generate_from(Basis::Stream(basis), size_hint, opts)
    }

    pub(crate) fn generate_from<R: Read>(
        basis: Basis<'_, R>,
        size_hint: Option<u64>,
        opts: &SignatureOptions,
    ) -> Result<Signature> {
        let header = header_for(size_hint, opts)?;
        let sl = header.strong_len as usize;
        let (mut weak, mut strong) = (Vec::new(), Vec::new());
        hash_blocks(basis, header, |w, s| {
            weak.extend_from_slice(w);
            for sum in s {
                strong.extend_from_slice(&sum[..sl]);
            }
            Ok(())
        })?;
        Ok(Signature::from_parts(header, weak, strong))
    }

    fn from_parts(header: SignatureHeader, weak: Vec<u32>, strong: Vec<u8>) -> Signature {
        let index = Index::build(&weak, &strong, header.strong_len as usize);
        Signature {
            header,
            weak,
            strong,
            index,
        }
    }

    pub(crate) fn weak_kind(&self) -> WeakKind {
        self.header.magic.weak()
    }

    pub(crate) fn weak(&self, block: usize) -> u32 {
        self.weak[block]
    }

    pub(crate) fn strong(&self, block: usize) -> &[u8] {
        let sl = self.header.strong_len as usize;
        &self.strong[block * sl..(block + 1) * sl]
    }

    pub(crate) fn index(&self) -> &Index {
        &self.index
    }
}

fn header_for(size_hint: Option<u64>, opts: &SignatureOptions) -> Result<SignatureHeader> {
    let (block_len, strong_len) = opts.resolve(size_hint)?;
    Ok(SignatureHeader {
        magic: opts.magic,
        block_len,
        strong_len,
    })
}

/// Streams the signature of `basis` into `out` without holding the basis in memory.
///
/// Reads the basis in batches of whole blocks (up to 16 MiB), hashes each batch on up to two
/// threads and writes its records before reading the next. Returns the number of signature
/// bytes written. `size_hint` is the basis size if known (see
/// [`SignatureOptions::block_len`]).
pub fn generate_signature(
    basis: impl Read,
    size_hint: Option<u64>,
    opts: &SignatureOptions,
    mut out: impl Write,
) -> Result<u64> {
    let header = header_for(size_hint, opts)?;
    let sl = header.strong_len as usize;
    out.write_all(&header.encode()).map_err(Error::io_stream)?;
    let mut written = SIGNATURE_HEADER_LEN as u64;
    let mut rec = Vec::new();
    hash_blocks(Basis::Stream(basis), header, |w, s| {
        rec.clear();
        for (w, s) in w.iter().zip(s) {
            rec.extend_from_slice(&w.to_be_bytes());
            rec.extend_from_slice(&s[..sl]);
        }
        written += rec.len() as u64;
        out.write_all(&rec).map_err(Error::io_stream)
    })?;
    out.flush().map_err(Error::io_stream)?;
    Ok(written)
}

/// Where basis bytes come from: a stream (copied into a bounded buffer) or memory (hashed in
/// place).
pub(crate) enum Basis<'a, R> {
    Stream(R),
    Memory(&'a [u8]),
}

/// Reads the basis in batches of whole blocks and hands each batch's weak and strong sums to
/// `sink`, in block order. Batches start small and double up to [`BATCH_BYTES`] (in memory)
/// or [`STREAM_BATCH_BYTES`] (streams), so small inputs stay cheap.
fn hash_blocks<R: Read>(
    mut basis: Basis<'_, R>,
    header: SignatureHeader,
    mut sink: impl FnMut(&[u32], &[StrongSum]) -> Result<()>,
) -> Result<()> {
    let block_len = header.block_len as usize;
    let batch_bytes = match basis {
        Basis::Stream(_) => STREAM_BATCH_BYTES,
        Basis::Memory(_) => BATCH_BYTES,
    };
    let max_blocks = (batch_bytes / block_len).clamp(1, MAX_BATCH_BLOCKS);
    let mut blocks = (64 * 1024 / block_len).clamp(1, max_blocks);
    let mut buf = Vec::new();
    let mut weak = Vec::new();
    let mut strong = Vec::new();
    let threads = worker_threads();
    loop {
        let want = blocks * block_len;
        let batch: &[u8] = match &mut basis {
            Basis::Stream(r) => {
                buf.resize(want, 0);
                let n = read_full(r, &mut buf).map_err(Error::io_stream)?;
                &buf[..n]
            }
            Basis::Memory(rest) => {
                let (batch, tail) = rest.split_at(want.min(rest.len()));
                *rest = tail;
                batch
            }
        };
        if batch.is_empty() {
            return Ok(());
        }
        let count = batch.len().div_ceil(block_len);
        weak.resize(count, 0);
        strong.resize(count, [0u8; 32]);
        let (weak, strong) = (&mut weak[..count], &mut strong[..count]);
        // Both threads claim groups of blocks from a shared counter, so a helper that the
        // scheduler starts late (other processes on the cores) only takes what is left.
        let groups: Vec<_> = batch
            .chunks(GROUP * block_len)
            .zip(weak.chunks_mut(GROUP))
            .zip(strong.chunks_mut(GROUP))
            .map(|((b, w), s)| Mutex::new((b, w, s)))
            .collect();
        let next = AtomicUsize::new(0);
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(group) = groups.get(i) else {
                break;
            };
            // Each group is claimed once, so the lock is never contended.
            let mut g = group.lock().unwrap_or_else(|e| e.into_inner());
            let (b, w, s) = &mut *g;
            hash_group(header, b, w, s);
        };
        if threads > 1 && batch.len() >= PARALLEL_BYTES {
            std::thread::scope(|scope| {
                scope.spawn(work);
                work();
            });
        } else {
            work();
        }
        sink(weak, strong)?;
        if batch.len() < want {
            return Ok(());
        }
        blocks = (blocks * 2).min(max_blocks);
    }
}

/// Weak and strong sums of the blocks of one group (whole blocks, the last one may be short),
/// small enough to stay in cache between the weak and the strong pass.
fn hash_group(header: SignatureHeader, group: &[u8], weak: &mut [u32], strong: &mut [StrongSum]) {
    let block_len = header.block_len as usize;
    let kind = header.magic.strong();
    // Strong sums first: hashing several blocks in lock step reads several streams at once,
    // which hides memory latency better than the weak pass, which then finds them in cache.
    let full = group.len() / block_len;
    strong_sums_strided(kind, group, block_len, block_len, &mut strong[..full]);
    if full < strong.len() {
        strong[full] = strong_sum(kind, &group[full * block_len..]);
    }
    for (block, out) in group.chunks(block_len).zip(weak.iter_mut()) {
        *out = match header.magic.weak() {
            WeakKind::Rollsum => Rollsum::of(block),
            WeakKind::RabinKarp => RabinKarp::of(block),
        };
    }
}

/// Spreads the bits of a weak sum before using some of them as a table index: the low bits
/// of both weak sums are poorly mixed.
#[inline(always)]
fn mix(weak: u32) -> u32 {
    weak.wrapping_mul(0x9e37_79b1)
}

/// Maps weak sums to candidate blocks: a one-bit-per-slot prefilter, then an open-addressed
/// table of (weak sum, candidate range).
#[derive(Clone, Debug)]
pub(crate) struct Index {
    filter: Vec<u64>,
    filter_shift: u32,
    slots: Vec<Slot>,
    slot_shift: u32,
    candidates: Vec<u32>,
}

/// One bit per weak-sum hash: a clear bit proves no block has a weak sum with that hash.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Filter<'a> {
    bits: &'a [u64],
    shift: u32,
}

impl Filter<'_> {
    /// `false` means no block has this weak sum.
    #[inline(always)]
    pub fn may_contain(self, weak: u32) -> bool {
        let bit = (mix(weak) >> self.shift) as usize;
        // The shift leaves as many bits as the filter has, so the index is in range.
        self.bits[bit / 64] & (1 << (bit % 64)) != 0
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    weak: u32,
    start: u32,
    /// Number of candidates; 0 marks an empty slot.
    len: u32,
}

impl Index {
    fn build(weak: &[u32], strong: &[u8], sl: usize) -> Index {
        let mut order: Vec<u32> = (0..weak.len() as u32).collect();
        order.sort_unstable_by_key(|&i| (weak[i as usize], i));
        let strong_of = |i: u32| &strong[i as usize * sl..(i as usize + 1) * sl];
        let mut candidates = Vec::with_capacity(order.len());
        let mut groups: Vec<(u32, u32, u32)> = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let w = weak[order[i] as usize];
            let start = candidates.len();
            while i < order.len() && weak[order[i] as usize] == w {
                let b = order[i];
                i += 1;
                let kept = &candidates[start..];
                if kept.len() >= MAX_CANDIDATES_PER_WEAK_SUM {
                    continue;
                }
                // librsync also keeps only the first of identical blocks.
                if !kept.iter().any(|&k| strong_of(k) == strong_of(b)) {
                    candidates.push(b);
                }
            }
            groups.push((w, start as u32, (candidates.len() - start) as u32));
        }
        let slot_bits = (groups.len() * 2)
            .max(16)
            .next_power_of_two()
            .trailing_zeros();
        let mut slots = vec![Slot::default(); 1 << slot_bits];
        let slot_shift = 32 - slot_bits;
        let mask = slots.len() - 1;
        let filter_bits = (weak.len() * 16)
            .clamp(1 << 12, 1 << 30)
            .next_power_of_two();
        let mut filter = vec![0u64; filter_bits / 64];
        let filter_shift = 32 - filter_bits.trailing_zeros();
        for (w, start, len) in groups {
            let m = mix(w);
            let bit = (m >> filter_shift) as usize;
            filter[bit / 64] |= 1 << (bit % 64);
            let mut s = (m >> slot_shift) as usize;
            while slots[s].len != 0 {
                s = (s + 1) & mask;
            }
            slots[s] = Slot {
                weak: w,
                start,
                len,
            };
        }
        Index {
            filter,
            filter_shift,
            slots,
            slot_shift,
            candidates,
        }
    }

    /// Fast negative test: `false` means no block has this weak sum.
    #[inline(always)]
    pub fn may_contain(&self, weak: u32) -> bool {
        self.filter().may_contain(weak)
    }

    /// The prefilter alone, cheap to copy into a hot loop.
    #[inline(always)]
    pub fn filter(&self) -> Filter<'_> {
        Filter {
            bits: &self.filter,
            shift: self.filter_shift,
        }
    }

    /// The slot number and candidate blocks (ascending) for a weak sum.
    #[inline]
    pub fn lookup(&self, weak: u32) -> Option<(usize, &[u32])> {
        let mask = self.slots.len() - 1;
        let mut s = (mix(weak) >> self.slot_shift) as usize;
        loop {
            let slot = self.slots[s];
            if slot.len == 0 {
                return None;
            }
            if slot.weak == weak {
                let start = slot.start as usize;
                return Some((s, &self.candidates[start..start + slot.len as usize]));
            }
            s = (s + 1) & mask;
        }
    }

    /// Number of slots, for per-slot bookkeeping by the delta generator.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn recommended_lengths_follow_librsync() {
        assert_eq!(SignatureOptions::recommended_block_len(None), 2048);
        assert_eq!(SignatureOptions::recommended_block_len(Some(0)), 256);
        assert_eq!(SignatureOptions::recommended_block_len(Some(65536)), 256);
        assert_eq!(SignatureOptions::recommended_block_len(Some(1 << 20)), 1024);
        assert_eq!(
            SignatureOptions::recommended_block_len(Some(512 << 20)),
            23168
        );
        assert_eq!(SignatureOptions::min_strong_len(0, 256), 5);
        assert_eq!(SignatureOptions::min_strong_len(1 << 30, 2048), 9);
        let o = SignatureOptions::default();
        assert_eq!(o.resolve(Some(1 << 20)).unwrap(), (1024, 32));
        let bad = SignatureOptions {
            magic: SignatureMagic::Md4Rollsum,
            strong_len: Some(17),
            ..o
        };
        assert_eq!(
            bad.resolve(None).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn decode_rejects_truncation_and_roundtrips() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8).collect();
        let opts = SignatureOptions {
            block_len: Some(100),
            strong_len: Some(8),
            ..Default::default()
        };
        let sig = Signature::generate(&data[..], None, &opts).unwrap();
        assert_eq!(sig.block_count(), 50);
        let bytes = sig.encode();
        assert_eq!(bytes.len(), sig.encoded_len());
        assert_eq!(Signature::decode(&bytes).unwrap(), sig);
        let mut streamed = Vec::new();
        let n = generate_signature(&data[..], None, &opts, &mut streamed).unwrap();
        assert_eq!((n as usize, &streamed), (bytes.len(), &bytes));
        for cut in [0, 3, 11, 13, bytes.len() - 1] {
            let err = Signature::decode(&bytes[..cut]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Corrupt, "{cut}: {err}");
        }
    }

    #[test]
    fn index_dedupes_and_caps_candidates() {
        // 1000 blocks with one weak sum: 10 identical, the rest distinct strong sums.
        let n = 1000u32;
        let weak = vec![7u32; n as usize];
        let strong: Vec<u8> = (0..n).flat_map(|i| i.max(9).to_be_bytes()).collect();
        let idx = Index::build(&weak, &strong, 4);
        let (_, c) = idx.lookup(7).unwrap();
        assert_eq!(c.len(), MAX_CANDIDATES_PER_WEAK_SUM);
        assert_eq!(c[0], 0);
        assert_eq!(c[1], 10);
        assert!(idx.may_contain(7));
        assert!(idx.lookup(8).is_none());
    }
}
