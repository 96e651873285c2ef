//! Encoding delta commands: LITERAL and COPY commands in librsync's format, adjacent copies
//! merged, output batched.
//!
//! This file owns [`Emitter`], the only writer of delta bytes, and the counts it keeps in
//! [`DeltaStats`]. It never decides what matches; it encodes what it is told, in order.

use std::io::Write;

use super::format::{push_copy, push_literal_header, DELTA_MAGIC, OP_END};
use super::DeltaStats;
use crate::error::{Error, Result};

/// Output is written to the caller in pieces of about this size.
const OUT_CHUNK: usize = 256 << 10;

/// Writes commands, merging adjacent copies and batching output.
pub(crate) struct Emitter<W: Write> {
    out: W,
    buf: Vec<u8>,
    copy: Option<(u64, u64)>,
    pub stats: DeltaStats,
}

impl<W: Write> Emitter<W> {
    /// An emitter whose output starts with the delta magic.
    pub fn new(out: W) -> Self {
        Emitter {
            out,
            buf: DELTA_MAGIC.to_be_bytes().to_vec(),
            copy: None,
            stats: DeltaStats::default(),
        }
    }

    /// Sends `bytes` as one LITERAL command (nothing if empty).
    pub fn literal(&mut self, bytes: &[u8]) -> Result<()> {
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

    /// Sends a COPY of `len` basis bytes at `pos`, merged with the pending copy if adjacent.
    pub fn copy(&mut self, pos: u64, len: u64) -> Result<()> {
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

    /// Ends the delta (END command), flushes the output and returns the counts.
    pub fn finish(mut self) -> Result<DeltaStats> {
        self.flush_copy();
        self.buf.push(OP_END);
        self.drain()?;
        self.out.flush().map_err(Error::io_stream)?;
        Ok(self.stats)
    }
}
