//! Delta generation: streaming a new file through the rsync search and into delta commands.
//!
//! This file owns [`write_delta`]: it reads the new file into a bounded buffer, runs the
//! search ([`super::scan`]) over it, on two threads once the file has proved large
//! ([`super::split`]), and hands the matches and the bytes between them to the
//! [`Emitter`](super::emit::Emitter). Files smaller than [`Split::after`] get exactly the
//! single-thread greedy delta (never larger than `rdiff`'s). It never holds the whole new
//! file and never reads the basis.

use std::io::{Read, Write};

use super::emit::Emitter;
use super::rollsum::{RabinKarp, RollingSum, Rollsum};
use super::scan::{Match, Matcher};
use super::signature::Signature;
use super::split::search_split;
use super::{read_full, worker_threads, WeakKind};
use crate::error::{Error, Result};

/// New-file bytes read per refill of the buffer: the first read is small so that small
/// inputs stay cheap, later ones double up to the maximum.
const FIRST_READ_CHUNK: usize = 64 << 10;
const MAX_READ_CHUNK: usize = 4 << 20;
/// A pending literal this long is emitted before the buffer is compacted.
const LITERAL_FLUSH: usize = 2 << 20;

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

/// When the search uses two threads, and on how much data at a time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Split {
    /// New-file bytes read before any split: smaller files get the single-thread delta.
    pub after: u64,
    /// Bytes per thread and round (at least one block plus one byte is used).
    pub segment: usize,
    /// Threads to use (1: never split).
    pub threads: usize,
}

impl Split {
    /// Splits files from 8 MiB on, in rounds of two 8 MiB segments, if there are two cores.
    pub fn standard() -> Split {
        Split {
            after: 8 << 20,
            segment: 8 << 20,
            threads: worker_threads(),
        }
    }
}

/// Writes a delta that turns the basis described by `sig` into everything `new` yields.
///
/// Streams `new` through a buffer of a few MiB (about 20 MiB once the file is large enough
/// to be searched on two threads) plus one block; the output is librsync's delta format,
/// readable by `rdiff patch` and [`apply_patch`](super::apply_patch).
pub fn write_delta(sig: &Signature, new: impl Read, out: impl Write) -> Result<DeltaStats> {
    write_delta_split(sig, new, out, Split::standard())
}

/// [`write_delta`] with explicit threading parameters.
pub(crate) fn write_delta_split(
    sig: &Signature,
    new: impl Read,
    out: impl Write,
    split: Split,
) -> Result<DeltaStats> {
    match sig.weak_kind() {
        WeakKind::Rollsum => Delta::<Rollsum, _, _>::new(sig, new, out, split).run(),
        WeakKind::RabinKarp => Delta::<RabinKarp, _, _>::new(sig, new, out, split).run(),
    }
}

struct Delta<'s, S, R, W: Write> {
    sig: &'s Signature,
    reader: R,
    emit: Emitter<W>,
    split: Split,
    search: Matcher<'s, S>,
    /// The second thread's search, created on the first split.
    helper: Option<Matcher<'s, S>>,
    matches: Vec<Match>,
    scratch: Vec<Match>,
    /// `buf[..filled]` holds new-file bytes not yet emitted (from `lit_start`) or searched.
    buf: Vec<u8>,
    filled: usize,
    eof: bool,
    /// Start of the pending literal in `buf`.
    lit_start: usize,
    /// Bytes to read at the next refill.
    read_chunk: usize,
}

impl<'s, S: RollingSum + Send, R: Read, W: Write> Delta<'s, S, R, W> {
    fn new(sig: &'s Signature, reader: R, out: W, split: Split) -> Self {
        Delta {
            sig,
            reader,
            emit: Emitter::new(out),
            split,
            search: Matcher::new(sig),
            helper: None,
            matches: Vec::new(),
            scratch: Vec::new(),
            buf: Vec::new(),
            filled: 0,
            eof: false,
            lit_start: 0,
            read_chunk: FIRST_READ_CHUNK,
        }
    }

    fn run(mut self) -> Result<DeltaStats> {
        let b = self.sig.block_len() as usize;
        let segment = self.split.segment.max(b + 1);
        loop {
            let ahead = self.filled - self.search.pos();
            if self.eof && ahead == 0 {
                break;
            }
            let split = self.split.threads > 1
                && self.sig.block_count() > 0
                && self.emit.stats.new_len >= self.split.after;
            // Rolling needs the byte after the window; a split round wants two segments.
            let want = if split { 2 * segment + b } else { b + 1 };
            if ahead < want && !self.eof {
                self.refill()?;
                continue;
            }
            let data = &self.buf[..self.filled];
            if split && ahead >= segment {
                let helper = self.helper.get_or_insert_with(|| Matcher::new(self.sig));
                let mid = self.search.pos() + ahead / 2;
                search_split(
                    &mut self.search,
                    helper,
                    data,
                    mid,
                    self.eof,
                    &mut self.matches,
                    &mut self.scratch,
                );
            } else {
                self.search
                    .scan(data, self.filled, self.eof, &mut self.matches);
            }
            self.emit_matches()?;
        }
        self.emit.literal(&self.buf[self.lit_start..self.filled])?;
        for m in std::iter::once(&self.search).chain(&self.helper) {
            self.emit.stats.strong_sums += m.strong_sums;
            self.emit.stats.strong_compares += m.strong_compares;
        }
        self.emit.finish()
    }

    /// Emits the matches found so far and the literal bytes before each.
    fn emit_matches(&mut self) -> Result<()> {
        for m in self.matches.drain(..) {
            self.emit.literal(&self.buf[self.lit_start..m.at])?;
            self.emit.copy(m.basis, m.len as u64)?;
            self.lit_start = m.at + m.len;
        }
        Ok(())
    }

    /// Moves the unemitted bytes to the front of the buffer and reads more.
    fn refill(&mut self) -> Result<()> {
        let pos = self.search.pos();
        if pos - self.lit_start >= LITERAL_FLUSH {
            self.emit.literal(&self.buf[self.lit_start..pos])?;
            self.lit_start = pos;
        }
        let keep = self.lit_start;
        self.buf.copy_within(keep..self.filled, 0);
        self.filled -= keep;
        self.search.shift(keep);
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
}
