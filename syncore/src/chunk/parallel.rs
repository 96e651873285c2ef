//! Chunking and hashing a region of memory on several cores, boundary-identical to one pass.
//!
//! The region is split into equal segments, and worker threads take segments in turn, cutting
//! and hashing a chain of chunks from each segment's first byte as if a boundary were there. Only the
//! first chain starts at a real boundary. The others are then stitched in: the true chain is
//! continued from where it stands until it lands on a boundary of the next speculative chain;
//! since a cut depends only on where its chunk starts, from that point on both chains are the
//! same and the speculative chunks are taken as they are. Content-defined chains meet within a
//! chunk or two, so nearly all work is done in parallel, and the result is exactly the single
//! pass's. This module never reads files and never keeps bytes: it returns chunk descriptions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use super::cut::Cutter;
use super::Chunk;
use crate::hash::HashAlgo;

/// Segments smaller than this are not worth the stitching.
const MIN_SEGMENT: usize = 1 << 20;
/// More segments than threads, handed out from a shared counter, keep every thread busy
/// when some cores are slower or shared with other work.
const SEGMENTS_PER_THREAD: usize = 4;

/// Cuts and hashes `data`, whose first byte is a chunk boundary at stream offset `base`.
///
/// When `is_final` is false, `data` is a window of a longer stream: a chunk is only emitted if
/// at least `cutter.lookahead()` bytes follow its start, so that every cut is the one a single
/// pass over the whole stream would make. The chunks returned tile a prefix of `data`; the
/// rest must be kept for the next pass.
pub(crate) fn chunk_region(
    cutter: &Cutter,
    algo: HashAlgo,
    threads: usize,
    data: &[u8],
    base: u64,
    is_final: bool,
) -> Vec<Chunk> {
    let pass = Pass {
        cutter,
        algo,
        data,
        base,
        is_final,
    };
    let segments = (threads * SEGMENTS_PER_THREAD)
        .min(data.len() / MIN_SEGMENT)
        .max(1);
    if threads == 1 || segments == 1 {
        return pass.chain(0, data.len());
    }
    let starts: Vec<usize> = (0..=segments).map(|k| data.len() / segments * k).collect();
    let mut chains = pass.chains_in_parallel(&starts, threads.min(segments));
    let mut chunks = std::mem::take(&mut chains[0]);
    let mut pos = chunks.last().map_or(0, |c| pass.end_of(c));
    for speculative in &chains[1..] {
        pos = pass.stitch(&mut chunks, pos, speculative);
    }
    // Finish the true chain (a no-op when the last speculative chain was joined).
    while let Some(chunk) = pass.next_chunk(pos) {
        pos += chunk.len as usize;
        chunks.push(chunk);
    }
    chunks
}

/// The inputs of one region pass, shared by all its threads.
struct Pass<'a> {
    cutter: &'a Cutter,
    algo: HashAlgo,
    data: &'a [u8],
    base: u64,
    is_final: bool,
}

impl Pass<'_> {
    /// The chunk starting at `pos`, or `None` at the end of what may be cut.
    #[inline]
    fn next_chunk(&self, pos: usize) -> Option<Chunk> {
        let rest = self.data.get(pos..).filter(|rest| !rest.is_empty())?;
        if !self.is_final && rest.len() < self.cutter.lookahead() {
            return None;
        }
        let len = self.cutter.next_len(rest);
        Some(Chunk {
            id: self.algo.digest(&rest[..len]),
            offset: self.base + pos as u64,
            // `len` is at most the validated maximum chunk length, which fits in u32.
            len: len as u32,
        })
    }

    /// The chains of every segment `starts[k]..starts[k + 1]`, computed by `workers` threads
    /// (the caller's included) that take segments in order from a shared counter.
    fn chains_in_parallel(&self, starts: &[usize], workers: usize) -> Vec<Vec<Chunk>> {
        let segments = starts.len() - 1;
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= segments {
                    return done;
                }
                done.push((k, self.chain(starts[k], starts[k + 1])));
            }
        };
        let mut chains = vec![Vec::new(); segments];
        thread::scope(|scope| {
            let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
            let mine = work();
            // A helper only cuts and hashes in-bounds slices; if one panicked anyway, its
            // segments stay empty and stitching recomputes them on the true chain.
            let theirs = helpers
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default());
            for (k, chain) in mine.into_iter().chain(theirs) {
                chains[k] = chain;
            }
        });
        chains
    }

    /// Chunks of the chain starting at `from`, up to the first chunk starting at or past `to`.
    fn chain(&self, from: usize, to: usize) -> Vec<Chunk> {
        let mut chunks = Vec::new();
        let mut pos = from;
        while pos < to {
            match self.next_chunk(pos) {
                Some(chunk) => {
                    pos += chunk.len as usize;
                    chunks.push(chunk);
                }
                None => break,
            }
        }
        chunks
    }

    /// Extends the true chain at `pos` until it meets `speculative`, then adopts the rest of
    /// it. Returns the new end of the true chain.
    fn stitch(&self, chunks: &mut Vec<Chunk>, mut pos: usize, speculative: &[Chunk]) -> usize {
        let mut next = 0;
        loop {
            while next < speculative.len() && self.start_of(&speculative[next]) < pos {
                next += 1;
            }
            let Some(candidate) = speculative.get(next) else {
                return pos;
            };
            if self.start_of(candidate) == pos {
                chunks.extend_from_slice(&speculative[next..]);
                return speculative.last().map_or(pos, |c| self.end_of(c));
            }
            match self.next_chunk(pos) {
                Some(chunk) => {
                    pos += chunk.len as usize;
                    chunks.push(chunk);
                }
                None => return pos,
            }
        }
    }

    fn start_of(&self, chunk: &Chunk) -> usize {
        (chunk.offset - self.base) as usize
    }

    fn end_of(&self, chunk: &Chunk) -> usize {
        self.start_of(chunk) + chunk.len as usize
    }
}
