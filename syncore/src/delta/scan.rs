//! The greedy rsync match search over new-file bytes held in memory.
//!
//! This file owns [`Matcher`], the resumable state of one search: it rolls the weak sum one
//! byte at a time, tests each weak sum against the signature's prefilter and index, confirms
//! candidates with the strong sum, prefers the basis block that continues the previous match,
//! and once a block matches checks the blocks that follow it in multi-buffer batches. It
//! reports [`Match`]es only (the bytes between them are literals) and bounds the work any one
//! weak sum can cause (candidate cap, false-alarm budget). It never does I/O, never encodes
//! commands and never starts threads: callers hand it a buffer and say how far to go.

use super::rollsum::RollingSum;
use super::signature::{Index, Signature};
use super::strong::{strong_sum, strong_sums_strided, StrongSum};

/// After this many weak-sum hits without a strong match, a weak sum is ignored for the rest
/// of the search: honest data almost never gets near it, crafted input cannot exceed it.
const MAX_FALSE_ALARMS: u16 = 4096;
/// Most strong-sum failures tolerated while matching the shrinking tail of the file.
const MAX_TAIL_FALSE_ALARMS: u32 = 64;
/// Most bytes checked ahead at once after a match (at least one block). Each success doubles
/// the look-ahead up to this, so a run that ends wastes at most this much hashing.
const MAX_AHEAD_BYTES: usize = 128 << 10;

/// `len` new-file bytes at buffer offset `at` equal the basis bytes at offset `basis`. Every
/// match but the file's last is a whole number of blocks long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    pub at: usize,
    pub basis: u64,
    pub len: usize,
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

/// One greedy search: a position in the caller's buffer and everything needed to resume there.
pub(crate) struct Matcher<'s, S> {
    sig: &'s Signature,
    block_len: usize,
    strong_len: usize,
    /// Buffer offset of the current window's start.
    pos: usize,
    /// Rolling sum of the current window, if computed.
    sum: Option<S>,
    /// Whether the window at `pos` has been tested against the signature.
    tried: bool,
    /// Basis offset right after the last match, for preferring the block that continues it.
    last_end: Option<u64>,
    /// Per index slot: weak-sum hits that did not match.
    false_alarms: Vec<u16>,
    tail_false_alarms: u32,
    /// Blocks to check ahead after the next match (grows while matches continue).
    ahead: usize,
    /// Strong sums of the look-ahead windows.
    sums: Vec<StrongSum>,
    /// Strong sums computed (each over at most one block).
    pub strong_sums: u64,
    /// Strong sums compared with signature entries.
    pub strong_compares: u64,
}

impl<'s, S: RollingSum> Matcher<'s, S> {
    pub fn new(sig: &'s Signature) -> Self {
        let block_len = sig.block_len() as usize;
        let max_ahead = (MAX_AHEAD_BYTES / block_len).max(1);
        Matcher {
            sig,
            block_len,
            strong_len: sig.strong_len() as usize,
            pos: 0,
            sum: None,
            tried: false,
            last_end: None,
            false_alarms: vec![0; sig.index().slot_count()],
            tail_false_alarms: 0,
            ahead: 1,
            sums: vec![[0u8; 32]; max_ahead.min(sig.block_count())],
            strong_sums: 0,
            strong_compares: 0,
        }
    }

    /// The signature's block length.
    pub fn block_len(&self) -> usize {
        self.block_len
    }

    /// Buffer offset of the next window to decide about.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The basis offset that the window at `pos` would continue, if the search has just
    /// matched and not yet decided about that window; `None` once it rolls.
    pub fn continuation(&self) -> Option<u64> {
        match self.sum {
            None => self.last_end,
            Some(_) => None,
        }
    }

    /// Forgets the search position and starts afresh at buffer offset `pos`, as if the file
    /// began there. The false-alarm counts are kept, so they stay bounded per matcher.
    pub fn restart_at(&mut self, pos: usize) {
        self.pos = pos;
        self.sum = None;
        self.tried = false;
        self.last_end = None;
        self.ahead = 1;
    }

    /// The caller dropped the first `n` bytes of its buffer.
    pub fn shift(&mut self, n: usize) {
        self.pos -= n;
    }

    /// Searches `data` (the caller's whole buffer) from the current position until it reaches
    /// `end` or needs bytes past the end of `data` (unless `eof` says there are none),
    /// appending matches to `out`. A match may carry the position past `end` by less than
    /// one block.
    pub fn scan(&mut self, data: &[u8], end: usize, eof: bool, out: &mut Vec<Match>) {
        let b = self.block_len;
        if self.sig.block_count() == 0 {
            self.pos = self.pos.max(end.min(data.len()));
            return;
        }
        while self.pos < end {
            // Rolling needs the byte after the window, so stop while the buffer holds no
            // more than one window.
            let avail = data.len() - self.pos;
            if avail == 0 || (avail <= b && !eof) {
                return;
            }
            if avail < b {
                self.tail_step(data, out);
                continue;
            }
            let sum = match self.sum {
                Some(s) => s,
                None => {
                    let mut s = S::default();
                    s.update(&data[self.pos..self.pos + b]);
                    self.sum = Some(s);
                    self.tried = false;
                    s
                }
            };
            if !self.tried {
                if let Some(block) = self.find_full(data, sum.digest(), None) {
                    self.push(out, block, b);
                    self.match_ahead(data, end, block, out);
                    continue;
                }
            }
            // Roll forward until the prefilter fires, `end`, or the last full window.
            let last = data.len() - b;
            let (steps, sum, hit) = roll(
                sum,
                &data[self.pos..last.min(end)],
                &data[self.pos + b..],
                self.sig.index(),
            );
            self.pos += steps;
            self.sum = Some(sum);
            self.tried = !hit;
            if !hit && eof && self.pos == last {
                // The last full window did not match: start shrinking it.
                if let Some(s) = &mut self.sum {
                    s.rollout(data[self.pos]);
                }
                self.pos += 1;
            }
        }
    }

    /// Records a match of `len` bytes at `pos` with `block`.
    fn push(&mut self, out: &mut Vec<Match>, block: usize, len: usize) {
        let basis = block as u64 * self.block_len as u64;
        out.push(Match {
            at: self.pos,
            basis,
            len,
        });
        self.pos += len;
        self.sum = None;
        self.last_end = Some(basis + len as u64);
    }

    /// The block matching the full window at `pos` with weak sum `weak`, if any. Prefers the
    /// block that continues the last match. `strong` is the window's strong sum if known.
    fn find_full(&mut self, data: &[u8], weak: u32, strong: Option<StrongSum>) -> Option<usize> {
        let sig = self.sig;
        let sl = self.strong_len;
        let b = self.block_len as u64;
        let window = &data[self.pos..self.pos + self.block_len];
        let mut strong = strong;
        let strong_sums = &mut self.strong_sums;
        let mut strong_of = |strong: &mut Option<StrongSum>| -> StrongSum {
            *strong.get_or_insert_with(|| {
                *strong_sums += 1;
                strong_sum(sig.magic().strong(), window)
            })
        };
        if let Some(end) = self.last_end {
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
        self.strong_compares += candidates.len() as u64;
        if let Some(&c) = candidates
            .iter()
            .find(|&&c| &s[..sl] == sig.strong(c as usize))
        {
            return Some(c as usize);
        }
        self.false_alarms[slot] += 1;
        None
    }

    /// After a match with `block`, checks the following windows (up to `end`) against the
    /// following blocks in multi-buffer batches, and records every match in a row.
    fn match_ahead(&mut self, data: &[u8], end: usize, mut block: usize, out: &mut Vec<Match>) {
        let b = self.block_len;
        let sig = self.sig;
        let kind = sig.magic().strong();
        let sl = self.strong_len;
        loop {
            let windows = ((data.len() - self.pos) / b)
                .min(end.saturating_sub(self.pos).div_ceil(b))
                .min(self.ahead)
                .min(self.sums.len())
                .min(sig.block_count().saturating_sub(block + 1));
            if windows == 0 {
                // The main loop goes on from here and still prefers the next block.
                return;
            }
            let pos = self.pos;
            strong_sums_strided(kind, &data[pos..], b, b, &mut self.sums[..windows]);
            self.strong_sums += windows as u64;
            self.strong_compares += windows as u64;
            // A match needs both sums, as in the index: truncated strong sums alone collide.
            let sums = &self.sums;
            let run = (0..windows)
                .take_while(|&j| {
                    &sums[j][..sl] == sig.strong(block + 1 + j)
                        && S::of(&data[pos + j * b..pos + (j + 1) * b]) == sig.weak(block + 1 + j)
                })
                .count();
            if run > 0 {
                self.push(out, block + 1, run * b);
                block += run;
            }
            if run == windows {
                self.ahead = (self.ahead * 2).min(self.sums.len());
                continue;
            }
            // Try the window that broke the run against the whole index, reusing its strong
            // sum.
            self.ahead = 1;
            let mut s = S::default();
            s.update(&data[self.pos..self.pos + b]);
            self.sum = Some(s);
            match self.find_full(data, s.digest(), Some(self.sums[run])) {
                Some(found) => {
                    self.push(out, found, b);
                    block = found;
                }
                None => {
                    // The main loop rolls on from this tried window.
                    self.tried = true;
                    return;
                }
            }
        }
    }

    /// One step in the tail, where fewer than a block of bytes remain: only the signature's
    /// last block can be that short.
    fn tail_step(&mut self, data: &[u8], out: &mut Vec<Match>) {
        let window = &data[self.pos..];
        let sum = *self.sum.get_or_insert_with(|| {
            let mut s = S::default();
            s.update(window);
            s
        });
        let last = self.sig.block_count() - 1;
        if self.tail_false_alarms < MAX_TAIL_FALSE_ALARMS && sum.digest() == self.sig.weak(last) {
            let s = strong_sum(self.sig.magic().strong(), window);
            self.strong_sums += 1;
            self.strong_compares += 1;
            if &s[..self.strong_len] == self.sig.strong(last) {
                return self.push(out, last, window.len());
            }
            self.tail_false_alarms += 1;
        }
        if let Some(s) = &mut self.sum {
            s.rollout(data[self.pos]);
        }
        self.pos += 1;
    }
}
