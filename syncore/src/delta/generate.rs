//! Delta generation: the rsync scan of a new file against a basis signature.
//!
//! This file owns [`write_delta`]: it streams the new file through a bounded buffer, rolls the
//! weak sum one byte at a time, tests each weak sum against the signature's prefilter and
//! index, confirms candidates with the strong sum, and emits librsync delta commands (LITERAL
//! for unmatched bytes, COPY for matched blocks, adjacent COPYs merged). Once a block matches,
//! the blocks that follow it in the basis are checked ahead in multi-buffer batches. It never
//! holds the whole new file, never reads the basis, and bounds the work any one weak sum can
//! cause (candidate cap, false-alarm budget).

use std::io::{Read, Write};

use super::format::{push_copy, push_literal_header, DELTA_MAGIC};
use super::rollsum::{RabinKarp, RollingSum, Rollsum};
use super::signature::{Index, Signature};
use super::strong::{strong_sum, strong_sums_strided, StrongSum};
use super::{read_full, WeakKind};
use crate::error::{Error, Result};

/// New-file bytes read per refill of the scan buffer: the first read is small so that small
/// inputs stay cheap, later ones double up to the maximum.
const FIRST_READ_CHUNK: usize = 64 << 10;
const MAX_READ_CHUNK: usize = 4 << 20;
/// A pending literal this long is emitted before the buffer is compacted.
const LITERAL_FLUSH: usize = 2 << 20;
/// Output is written to the caller in pieces of about this size.
const OUT_CHUNK: usize = 256 << 10;
/// After this many weak-sum hits without a strong match, a weak sum is ignored for the rest
/// of the delta: honest data almost never gets near it, crafted input cannot exceed it.
const MAX_FALSE_ALARMS: u16 = 4096;
/// Most strong-sum failures tolerated while matching the shrinking tail of the file.
const MAX_TAIL_FALSE_ALARMS: u32 = 64;
/// Most bytes checked ahead at once after a match (at least one block). Each success doubles
/// the look-ahead up to this, so a run that ends wastes at most this much hashing.
const MAX_AHEAD_BYTES: usize = 128 << 10;

/// What a delta generation did: sizes of the output and the work it took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// Bytes read from the new file.
    pub new_len: u64,
    /// Bytes of delta written, header and END included.
    pub delta_len: u64,
    /// Number of LITERAL commands.
    pub literal_cmds: u64,
    /// New-file bytes sent as literals.
    pub literal_bytes: u64,
    /// Number of COPY commands (after merging adjacent copies).
    pub copy_cmds: u64,
    /// New-file bytes expressed as copies from the basis.
    pub copy_bytes: u64,
    /// Strong sums computed (each over at most one block).
    pub strong_sums: u64,
    /// Strong sums compared with signature entries.
    pub strong_compares: u64,
}

/// Writes a delta that turns the basis described by `sig` into everything `new` yields.
///
/// Streams `new` through a buffer of a few MiB plus one block; the output is librsync's
/// delta format, readable by `rdiff patch` and [`apply_patch`](super::apply_patch).
pub fn write_delta(sig: &Signature, new: impl Read, out: impl Write) -> Result<DeltaStats> {
    match sig.weak_kind() {
        WeakKind::Rollsum => Scan::<Rollsum, _, _>::new(sig, new, out).run(),
        WeakKind::RabinKarp => Scan::<RabinKarp, _, _>::new(sig, new, out).run(),
    }
}

/// Writes commands, merging adjacent copies and batching output.
struct Emitter<W: Write> {
    out: W,
    buf: Vec<u8>,
    copy: Option<(u64, u64)>,
    stats: DeltaStats,
}

impl<W: Write> Emitter<W> {
    fn literal(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.flush_copy();
        push_literal_header(&mut self.buf, bytes.len() as u64);
        self.stats.literal_cmds += 1;
        self.stats.literal_bytes += bytes.len() as u64;
        if bytes.len() >= OUT_CHUNK {
            self.drain()?;
            self.stats.delta_len += bytes.len() as u64;
            self.out.write_all(bytes).map_err(Error::io_stream)
        } else {
            self.buf.extend_from_slice(bytes);
            self.maybe_drain()
        }
    }

    fn copy(&mut self, pos: u64, len: u64) -> Result<()> {
        match &mut self.copy {
            Some((p, l)) if *p + *l == pos => *l += len,
            _ => {
                self.flush_copy();
                self.copy = Some((pos, len));
            }
        }
        self.stats.copy_bytes += len;
        self.maybe_drain()
    }

    /// The basis offset right after the pending copy, if there is one.
    fn copy_end(&self) -> Option<u64> {
        self.copy.map(|(p, l)| p + l)
    }

    fn flush_copy(&mut self) {
        if let Some((p, l)) = self.copy.take() {
            push_copy(&mut self.buf, p, l);
            self.stats.copy_cmds += 1;
        }
    }

    fn maybe_drain(&mut self) -> Result<()> {
        if self.buf.len() >= OUT_CHUNK {
            self.drain()?;
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<()> {
        self.stats.delta_len += self.buf.len() as u64;
        self.out.write_all(&self.buf).map_err(Error::io_stream)?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<DeltaStats> {
        self.flush_copy();
        self.buf.push(super::format::OP_END);
        self.drain()?;
        self.out.flush().map_err(Error::io_stream)?;
        Ok(self.stats)
    }
}

/// Rolls `sum` over the window starting at each byte of `outs` (`ins` holds the bytes that
/// enter) until its weak sum is in the index; returns the bytes rolled, the new sum and
/// whether it stopped on a weak-sum hit. This is the hot loop of delta generation.
#[inline(always)]
fn roll<S: RollingSum>(mut sum: S, outs: &[u8], ins: &[u8], index: &Index) -> (usize, S, bool) {
    let filter = index.filter();
    for (i, (&out, &inb)) in outs.iter().zip(ins).enumerate() {
        sum.rotate(out, inb);
        let weak = sum.digest();
        if filter.may_contain(weak) && index.lookup(weak).is_some() {
            return (i + 1, sum, true);
        }
    }
    (outs.len().min(ins.len()), sum, false)
}

struct Scan<'s, S, R, W: Write> {
    sig: &'s Signature,
    reader: R,
    emit: Emitter<W>,
    block_len: usize,
    strong_len: usize,
    /// Scan buffer: `buf[..filled]` holds new-file bytes starting at offset `buf_start`.
    buf: Vec<u8>,
    filled: usize,
    eof: bool,
    /// Start of the pending literal in `buf`.
    lit_start: usize,
    /// Scan position in `buf`: the start of the current window.
    pos: usize,
    /// Rolling sum of the current window, if computed.
    sum: Option<S>,
    /// Per index slot: weak-sum hits that did not match.
    false_alarms: Vec<u16>,
    tail_false_alarms: u32,
    /// Blocks to check ahead after the next match (grows while matches continue).
    ahead: usize,
    /// Bytes to read at the next refill.
    read_chunk: usize,
}

impl<'s, S: RollingSum, R: Read, W: Write> Scan<'s, S, R, W> {
    fn new(sig: &'s Signature, reader: R, out: W) -> Self {
        let block_len = sig.block_len() as usize;
        let mut buf = Vec::new();
        buf.extend_from_slice(&DELTA_MAGIC.to_be_bytes());
        Scan {
            sig,
            reader,
            emit: Emitter {
                out,
                buf,
                copy: None,
                stats: DeltaStats::default(),
            },
            block_len,
            strong_len: sig.strong_len() as usize,
            buf: Vec::new(),
            filled: 0,
            eof: false,
            lit_start: 0,
            pos: 0,
            sum: None,
            false_alarms: vec![0; sig.index().slot_count()],
            tail_false_alarms: 0,
            ahead: 1,
            read_chunk: FIRST_READ_CHUNK,
        }
    }

    /// Moves the unprocessed bytes to the front of the buffer and reads more.
    fn refill(&mut self) -> Result<()> {
        if self.pos - self.lit_start >= LITERAL_FLUSH {
            self.emit.literal(&self.buf[self.lit_start..self.pos])?;
            self.lit_start = self.pos;
        }
        let keep = self.lit_start;
        self.buf.copy_within(keep..self.filled, 0);
        self.filled -= keep;
        self.pos -= keep;
        self.lit_start = 0;
        // Grows with the data actually read, never by a length taken from the signature:
        // windows longer than one read are assembled over several refills.
        let want = self.filled + self.read_chunk;
        self.read_chunk = (self.read_chunk * 2).min(MAX_READ_CHUNK);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let n =
            read_full(&mut self.reader, &mut self.buf[self.filled..]).map_err(Error::io_stream)?;
        self.emit.stats.new_len += n as u64;
        self.filled += n;
        if self.filled < self.buf.len() {
            self.eof = true;
        }
        Ok(())
    }

    fn run(mut self) -> Result<DeltaStats> {
        let b = self.block_len;
        if self.sig.block_count() == 0 {
            return self.literal_only();
        }
        // Whether the window at `pos` has been tried against the signature.
        let mut tried = false;
        loop {
            // Rolling needs the byte after the window, so refill while the buffer holds no
            // more than one window.
            if self.filled - self.pos <= b && !self.eof {
                self.refill()?;
                continue;
            }
            let avail = self.filled - self.pos;
            if avail == 0 {
                break;
            }
            if avail < b {
                self.tail_step()?;
                continue;
            }
            let sum = match self.sum {
                Some(s) => s,
                None => {
                    let mut s = S::default();
                    s.update(&self.buf[self.pos..self.pos + b]);
                    self.sum = Some(s);
                    tried = false;
                    s
                }
            };
            if !tried {
                if let Some(block) = self.find_full(sum.digest(), None) {
                    self.matched(block, b)?;
                    self.match_ahead(block)?;
                    continue;
                }
            }
            // Roll forward until the prefilter fires or the buffer runs out of full windows.
            let last = self.filled - b;
            let (steps, sum, hit) = roll(
                sum,
                &self.buf[self.pos..last],
                &self.buf[self.pos + b..self.filled],
                self.sig.index(),
            );
            self.pos += steps;
            self.sum = Some(sum);
            tried = !hit;
            if !hit && self.eof && self.pos == last {
                // The last full window did not match: start shrinking it.
                if let Some(s) = &mut self.sum {
                    s.rollout(self.buf[self.pos]);
                }
                self.pos += 1;
            }
        }
        self.emit.literal(&self.buf[self.lit_start..self.pos])?;
        self.emit.finish()
    }

    /// No blocks to match against: the whole file is literal.
    fn literal_only(mut self) -> Result<DeltaStats> {
        loop {
            self.refill()?;
            self.pos = self.filled;
            if self.eof {
                self.emit.literal(&self.buf[self.lit_start..self.pos])?;
                return self.emit.finish();
            }
        }
    }

    /// Records a match of `len` bytes at `pos` with `block`.
    fn matched(&mut self, block: usize, len: usize) -> Result<()> {
        self.emit.literal(&self.buf[self.lit_start..self.pos])?;
        self.emit
            .copy(block as u64 * self.block_len as u64, len as u64)?;
        self.pos += len;
        self.lit_start = self.pos;
        self.sum = None;
        Ok(())
    }

    /// The block matching the full window at `pos` with weak sum `weak`, if any. Prefers the
    /// block that continues the pending copy. `strong` is the window's strong sum if known.
    fn find_full(&mut self, weak: u32, strong: Option<StrongSum>) -> Option<usize> {
        let sig = self.sig;
        let sl = self.strong_len;
        let b = self.block_len as u64;
        let copy_end = self.emit.copy_end();
        let window = &self.buf[self.pos..self.pos + self.block_len];
        let mut strong = strong;
        let stats = &mut self.emit.stats;
        let mut strong_of = |strong: &mut Option<StrongSum>| -> StrongSum {
            *strong.get_or_insert_with(|| {
                stats.strong_sums += 1;
                strong_sum(sig.magic().strong(), window)
            })
        };
        if let Some(end) = copy_end {
            let next = (end / b) as usize;
            if end % b == 0 && next < sig.block_count() && sig.weak(next) == weak {
                let s = strong_of(&mut strong);
                if &s[..sl] == sig.strong(next) {
                    return Some(next);
                }
            }
        }
        let index = sig.index();
        if !index.may_contain(weak) {
            return None;
        }
        let (slot, candidates) = index.lookup(weak)?;
        if self.false_alarms[slot] >= MAX_FALSE_ALARMS {
            return None;
        }
        let s = strong_of(&mut strong);
        let stats = &mut self.emit.stats;
        stats.strong_compares += candidates.len() as u64;
        if let Some(&c) = candidates
            .iter()
            .find(|&&c| &s[..sl] == sig.strong(c as usize))
        {
            return Some(c as usize);
        }
        self.false_alarms[slot] += 1;
        None
    }

    /// After a match with `block`, checks the following windows against the following
    /// blocks in multi-buffer batches, and records every match in a row.
    fn match_ahead(&mut self, mut block: usize) -> Result<()> {
        let b = self.block_len;
        let sig = self.sig;
        let kind = sig.magic().strong();
        let sl = self.strong_len;
        let max_ahead = (MAX_AHEAD_BYTES / b).max(1);
        let mut sums = vec![[0u8; 32]; max_ahead.min(sig.block_count())];
        loop {
            if self.filled - self.pos < b * self.ahead && !self.eof {
                self.refill()?;
            }
            let windows = ((self.filled - self.pos) / b)
                .min(self.ahead)
                .min(sums.len())
                .min(sig.block_count().saturating_sub(block + 1));
            if windows == 0 {
                return Ok(());
            }
            let data = &self.buf[self.pos..];
            strong_sums_strided(kind, data, b, b, &mut sums[..windows]);
            self.emit.stats.strong_sums += windows as u64;
            self.emit.stats.strong_compares += windows as u64;
            // A match needs both sums, as in the index: truncated strong sums alone collide.
            let pos = self.pos;
            let buf = &self.buf;
            let run = (0..windows)
                .take_while(|&j| {
                    &sums[j][..sl] == sig.strong(block + 1 + j)
                        && S::of(&buf[pos + j * b..pos + (j + 1) * b]) == sig.weak(block + 1 + j)
                })
                .count();
            if run > 0 {
                self.emit.literal(&self.buf[self.lit_start..self.pos])?;
                self.emit
                    .copy((block + 1) as u64 * b as u64, (run * b) as u64)?;
                self.pos += run * b;
                self.lit_start = self.pos;
                block += run;
            }
            if run < windows {
                // Try the window that broke the run against the whole index, reusing its
                // strong sum.
                self.ahead = 1;
                let mut s = S::default();
                s.update(&self.buf[self.pos..self.pos + b]);
                self.sum = Some(s);
                match self.find_full(s.digest(), Some(sums[run])) {
                    Some(found) => {
                        self.matched(found, b)?;
                        block = found;
                    }
                    None => {
                        // Resume rolling from here; this window has been tried, so step
                        // past it the way the main loop would.
                        return self.step_after_miss();
                    }
                }
            } else {
                self.ahead = (self.ahead * 2).min(max_ahead);
            }
        }
    }

    /// Advances one byte from a full window that did not match.
    fn step_after_miss(&mut self) -> Result<()> {
        let b = self.block_len;
        if self.pos + b < self.filled {
            if let Some(s) = &mut self.sum {
                s.rotate(self.buf[self.pos], self.buf[self.pos + b]);
            }
            self.pos += 1;
            // The main loop re-tests this new window.
            return Ok(());
        }
        if !self.eof {
            self.refill()?;
            return self.step_after_miss();
        }
        if let Some(s) = &mut self.sum {
            s.rollout(self.buf[self.pos]);
        }
        self.pos += 1;
        Ok(())
    }

    /// One step in the tail, where fewer than a block of bytes remain: only the signature's
    /// last block can be that short.
    fn tail_step(&mut self) -> Result<()> {
        let len = self.filled - self.pos;
        let sum = *self.sum.get_or_insert_with(|| {
            let mut s = S::default();
            s.update(&self.buf[self.pos..self.filled]);
            s
        });
        let last = self.sig.block_count() - 1;
        if self.tail_false_alarms < MAX_TAIL_FALSE_ALARMS && sum.digest() == self.sig.weak(last) {
            let s = strong_sum(self.sig.magic().strong(), &self.buf[self.pos..self.filled]);
            self.emit.stats.strong_sums += 1;
            self.emit.stats.strong_compares += 1;
            if &s[..self.strong_len] == self.sig.strong(last) {
                return self.matched(last, len);
            }
            self.tail_false_alarms += 1;
        }
        if let Some(s) = &mut self.sum {
            s.rollout(self.buf[self.pos]);
        }
        self.pos += 1;
        Ok(())
    }
}
