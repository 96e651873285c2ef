//! Chunking streams in bounded memory.
//!
//! A [`ChunkStream`] receives a stream's bytes in pieces, either pushed by the caller or read
//! from a [`Read`], and reports each chunk with its bytes as soon as its boundary is certain.
//! It holds at most one window plus one maximum-size chunk, so a stream of any length chunks
//! in a few MiB of memory. Each full window is cut and hashed on all cores; the cuts are the
//! same as for the whole input held in memory. This module never opens files: the path entry
//! point lives on [`Chunker`].

use std::borrow::Cow;
use std::io::{ErrorKind as IoErrorKind, Read};

use super::parallel::chunk_region;
use super::{Chunk, Chunker};
use crate::error::{Error, Result};

/// Bytes gathered before a window is cut: large enough to keep every core busy, small enough
/// to stay in a few MiB. A window always holds at least two maximum-size chunks, so every
/// full window yields at least one certain chunk.
const WINDOW: usize = 8 << 20;

/// First buffer size when the input's size is unknown or small; doubled as needed.
const INITIAL_BUFFER: usize = 64 << 10;

/// Incremental chunker: push bytes in, receive chunks out. Made by [`Chunker::stream`], or by
/// [`Chunker::into_stream`] for a stream that owns its chunker (`ChunkStream<'static>`).
///
/// ```
/// use syncore::chunk::Chunker;
/// let chunker = Chunker::default();
/// let mut stream = chunker.stream();
/// let mut count = 0;
/// stream.push(&vec![7u8; 300_000], |_chunk, _bytes| { count += 1; Ok(()) })?;
/// let total = stream.finish(|_chunk, _bytes| { count += 1; Ok(()) })?;
/// assert_eq!(total, 300_000);
/// assert_eq!(count, 2); // a 256 KiB chunk of the repeated byte, then the rest
/// # Ok::<(), syncore::Error>(())
/// ```
#[derive(Debug)]
pub struct ChunkStream<'c> {
    chunker: Cow<'c, Chunker>,
    /// Window storage, grown on demand up to `window`; `buf[..len]` are bytes not yet
    /// reported as chunks and `buf[0]` is a chunk boundary.
    buf: Vec<u8>,
    /// Bytes gathered before cutting.
    window: usize,
    /// Number of valid bytes in `buf`.
    len: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
}

impl<'c> ChunkStream<'c> {
    /// A stream expecting about `size_hint` bytes (it only sizes the first buffer).
    pub(crate) fn new(chunker: Cow<'c, Chunker>, size_hint: u64) -> Self {
        let window = WINDOW.max(2 * chunker.cutter.lookahead());
        let initial = usize::try_from(size_hint)
            .unwrap_or(window)
            .clamp(INITIAL_BUFFER, window);
        ChunkStream {
            chunker,
            buf: vec![0; initial],
            window,
            len: 0,
            base: 0,
        }
    }

    /// The most bytes this stream will ever buffer.
    pub fn buffer_limit(&self) -> usize {
        self.window
    }

    /// Makes room for more input: grows the buffer while it is below a window, otherwise
    /// cuts the full window.
    fn make_room<F>(&mut self, on_chunk: &mut F) -> Result<()>
    where
        F: FnMut(&Chunk, &[u8]) -> Result<()>,
    {
        if self.len < self.buf.len() {
            Ok(())
        } else if self.buf.len() < self.window {
            let grown = (self.buf.len() * 2).min(self.window);
            self.buf.resize(grown, 0);
            Ok(())
        } else {
            self.drain(false, on_chunk)
        }
    }

    /// Bytes pushed so far.
    pub fn position(&self) -> u64 {
        self.base + self.len as u64
    }

    /// Feeds bytes; `on_chunk` receives every chunk whose boundary is now certain, with its
    /// bytes, in stream order. An error from `on_chunk` stops the push and is returned.
    pub fn push<F>(&mut self, mut data: &[u8], mut on_chunk: F) -> Result<()>
    where
        F: FnMut(&Chunk, &[u8]) -> Result<()>,
    {
        while !data.is_empty() {
            self.make_room(&mut on_chunk)?;
            let take = (self.buf.len() - self.len).min(data.len());
            self.buf[self.len..self.len + take].copy_from_slice(&data[..take]);
            self.len += take;
            data = &data[take..];
        }
        Ok(())
    }

    /// Reads `reader` to its end, reporting chunks as [`ChunkStream::push`] does.
    pub fn read_from<R, F>(&mut self, mut reader: R, mut on_chunk: F) -> Result<()>
    where
        R: Read,
        F: FnMut(&Chunk, &[u8]) -> Result<()>,
    {
        loop {
            self.make_room(&mut on_chunk)?;
            let read = match reader.read(&mut self.buf[self.len..]) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == IoErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io_stream(e)),
            };
            self.len += read.min(self.buf.len() - self.len);
        }
    }

    /// Ends the stream: reports the remaining chunks and returns the stream's total length.
    pub fn finish<F>(mut self, mut on_chunk: F) -> Result<u64>
    where
        F: FnMut(&Chunk, &[u8]) -> Result<()>,
    {
        self.drain(true, &mut on_chunk)?;
        Ok(self.base)
    }

    /// Cuts the buffered bytes and reports the chunks that are certain.
    fn drain<F>(&mut self, is_final: bool, on_chunk: &mut F) -> Result<()>
    where
        F: FnMut(&Chunk, &[u8]) -> Result<()>,
    {
        let chunker: &Chunker = &self.chunker;
        let chunks = chunk_region(
            &chunker.cutter,
            chunker.algo,
            chunker.threads,
            &self.buf[..self.len],
            self.base,
            is_final,
        );
        let mut reported = 0;
        let mut outcome = Ok(());
        for chunk in &chunks {
            let start = (chunk.offset - self.base) as usize;
            outcome = on_chunk(chunk, &self.buf[start..start + chunk.len as usize]);
            if outcome.is_err() {
                break;
            }
            reported = start + chunk.len as usize;
        }
        // Keep exactly the bytes not yet reported, so a caller that retries after an error
        // resumes at the chunk that failed.
        self.buf.copy_within(reported..self.len, 0);
        self.len -= reported;
        self.base += reported as u64;
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::super::ChunkerConfig;
    use super::*;
    use crate::hash::HashAlgo;

    #[test]
    fn an_owning_stream_chunks_like_a_borrowing_one() {
        let chunker = Chunker::new(ChunkerConfig::fastcdc(1024, 4096, 16384), HashAlgo::Blake3)
            .unwrap()
            .with_threads(2)
            .unwrap();
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut owned: ChunkStream<'static> = chunker.clone().into_stream();
        let mut got = Vec::new();
        for piece in data.chunks(7_777) {
            owned
                .push(piece, |c, bytes| {
                    assert_eq!(bytes.len(), c.len as usize);
                    got.push(*c);
                    Ok(())
                })
                .unwrap();
        }
        let total = owned
            .finish(|c, _| {
                got.push(*c);
                Ok(())
            })
            .unwrap();
        assert_eq!(total, data.len() as u64);
        assert_eq!(got, chunker.chunk_slice(&data));
    }
}
