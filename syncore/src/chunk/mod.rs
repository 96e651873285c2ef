//! Splitting bytes into chunks and naming each chunk by its digest.
//!
//! A [`Chunker`] cuts input into chunks — content-defined with FastCDC, so an insertion only
//! changes the chunks around it, or fixed-size blocks — and hashes each one with the
//! configured [`HashAlgo`]. It accepts a byte slice ([`Chunker::chunk_slice`]), any
//! [`Read`] ([`Chunker::chunk_reader`]), a file path ([`Chunker::chunk_file`])
//! or bytes pushed piece by piece ([`Chunker::stream`]); all four give the same chunks for the
//! same bytes, use every core, and the streaming ones hold only a few MiB however long the
//! input. This module describes chunks; it never stores them.
//!
//! ```
//! use syncore::chunk::{Chunker, ChunkerConfig};
//! use syncore::HashAlgo;
//!
//! let chunker = Chunker::new(ChunkerConfig::fastcdc(4096, 16384, 65536), HashAlgo::Blake3)?;
//! let data: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
//! let chunks = chunker.chunk_slice(&data);
//! assert_eq!(chunks.iter().map(|c| c.len as usize).sum::<usize>(), data.len());
//! assert_eq!(chunks[0].id, HashAlgo::Blake3.digest(&data[..chunks[0].len as usize]));
//! # Ok::<(), syncore::Error>(())
//! ```

mod config;
mod cut;
mod parallel;
mod stream;

use std::fs::File;
use std::io::Read;
use std::path::Path;

pub use config::{ChunkerConfig, MAX_CHUNK_LEN};
pub use stream::ChunkStream;

use crate::error::{Error, Result};
use crate::hash::{Digest, HashAlgo};
use cut::Cutter;
use parallel::chunk_region;

/// One chunk of an input: its digest, where it starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Chunk {
    /// Digest of the chunk's bytes.
    pub id: Digest,
    /// Offset of the chunk's first byte in the input.
    pub offset: u64,
    /// Length in bytes; never zero, at most [`MAX_CHUNK_LEN`].
    pub len: u32,
}

impl Chunk {
    /// Offset one past the chunk's last byte.
    pub fn end(&self) -> u64 {
        self.offset + u64::from(self.len)
    }
}

/// Cuts and hashes bytes with one validated configuration. Cheap to clone and share.
#[derive(Debug, Clone)]
pub struct Chunker {
    config: ChunkerConfig,
    algo: HashAlgo,
    cutter: Cutter,
    threads: usize,
}

impl Default for Chunker {
    /// FastCDC 16/64/256 KiB with BLAKE3.
    fn default() -> Self {
        let config = ChunkerConfig::default();
        Chunker {
            config,
            algo: HashAlgo::Blake3,
            cutter: Cutter::new(&config),
            threads: cores(),
        }
    }
}

impl Chunker {
    /// A chunker for `config` hashing with `algo`; rejects invalid parameters with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the parameter.
    pub fn new(config: ChunkerConfig, algo: HashAlgo) -> Result<Self> {
        config.validate()?;
        Ok(Chunker {
            config,
            algo,
            cutter: Cutter::new(&config),
            threads: cores(),
        })
    }

    /// Uses at most `threads` threads per call (default: the number of cores).
    pub fn with_threads(mut self, threads: usize) -> Result<Self> {
        if threads == 0 {
            return Err(Error::invalid("threads must be at least 1"));
        }
        self.threads = threads;
        Ok(self)
    }

    /// The chunking parameters.
    pub fn config(&self) -> &ChunkerConfig {
        &self.config
    }

    /// The hash algorithm chunk ids are made with.
    pub fn algo(&self) -> HashAlgo {
        self.algo
    }

    /// The threads a call may use.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Chunks and hashes an in-memory input.
    pub fn chunk_slice(&self, data: &[u8]) -> Vec<Chunk> {
        chunk_region(&self.cutter, self.algo, self.threads, data, 0, true)
    }

    /// An incremental chunker to push bytes into.
    pub fn stream(&self) -> ChunkStream<'_> {
        ChunkStream::new(self)
    }

    /// Reads `reader` to its end in bounded memory, calling `on_chunk` with each chunk and its
    /// bytes in order. Returns the number of bytes read.
    pub fn chunk_reader<R, F>(&self, reader: R, mut on_chunk: F) -> Result<u64>
    where
        R: Read,
        F: FnMut(&Chunk, &[u8]) -> Result<()>,
    {
        let mut stream = self.stream();
        stream.read_from(reader, &mut on_chunk)?;
        stream.finish(on_chunk)
    }

    /// Chunks the file at `path`, calling `on_chunk` with each chunk and its bytes. I/O errors
    /// name the path. Returns the file's length as read.
    pub fn chunk_file_with<F>(&self, path: impl AsRef<Path>, on_chunk: F) -> Result<u64>
    where
        F: FnMut(&Chunk, &[u8]) -> Result<()>,
    {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        self.chunk_reader(file, on_chunk).map_err(|err| match err {
            Error::Io { path: None, source } => Error::io(path, source),
            other => other,
        })
    }

    /// The chunks of the file at `path`.
    pub fn chunk_file(&self, path: impl AsRef<Path>) -> Result<Vec<Chunk>> {
        let mut chunks = Vec::new();
        self.chunk_file_with(path, |chunk, _| {
            chunks.push(*chunk);
            Ok(())
        })?;
        Ok(chunks)
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
