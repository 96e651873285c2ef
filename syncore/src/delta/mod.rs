//! rsync-style deltas in librsync's formats, byte for byte compatible with `rdiff`.
//!
//! This module owns the rsync algorithm: signatures of a basis file, deltas of a new file
//! against a signature, and patches that rebuild the new file from the basis. It speaks
//! librsync's wire formats so syncore interoperates with `rdiff` and every program built on
//! librsync. It never touches the network, never decides *when* a delta is worth sending, and
//! never verifies the content of a patched file (see "Integrity" below).
//!
//! # The algorithm
//!
//! The receiver, who has an old version of a file (the *basis*), cuts it into blocks of
//! `block_len` bytes and sends a **signature**: for every block a cheap rolling *weak* sum and
//! a *strong* hash. The sender slides a window of `block_len` bytes over the new file one byte
//! at a time; the weak sum of the window is updated in constant time per byte. When the weak
//! sum is in the signature, the strong hash of the window confirms the match, and the sender
//! emits "COPY this block of the basis" instead of the bytes; bytes in no matching window are
//! sent as LITERAL data. The receiver replays the commands against its basis (**patch**).
//!
//! syncore's delta generator is greedy like librsync's (so its deltas are never larger than
//! `rdiff`'s for the same signature), prefers the basis block that continues the previous
//! COPY (merging them into one command), checks the blocks that follow a match several at a
//! time with multi-buffer hashing, and tests every weak sum against a one-bit prefilter before
//! the hash table. Signature generation hashes batches of blocks on two threads. Delta
//! generation for new files of 8 MiB and more searches two segments of each buffer at once
//! and stitches the two match lists where the searches meet, which gives the single-thread
//! delta or one a few bytes larger; smaller files get exactly the single-thread delta.
//!
//! # Formats
//!
//! All integers are big-endian.
//!
//! * **Signature**: `magic: u32`, `block_len: u32`, `strong_len: u32`, then for each block of
//!   the basis (the last one may be short) `weak: u32` and the first `strong_len` bytes of its
//!   strong hash. The magic names the weak sum and the strong hash ([`SignatureMagic`]):
//!   `0x72730136` rollsum + MD4, `0x72730137` rollsum + BLAKE2b, `0x72730146` RabinKarp + MD4,
//!   `0x72730147` RabinKarp + BLAKE2b (the default). The rollsum is librsync's Adler-32-like
//!   sum with a +31 byte offset; RabinKarp is the polynomial hash with multiplier `0x08104225`;
//!   BLAKE2b has a 32-byte output; strong sums may be truncated to `strong_len` bytes.
//! * **Delta**: `0x72730236`, then commands, each a command byte and big-endian arguments:
//!   `0x01..=0x40` LITERAL of that many bytes; `0x41..=0x44` LITERAL with a 1/2/4/8-byte length;
//!   `0x45..=0x54` COPY with a 1/2/4/8-byte basis position and a 1/2/4/8-byte length
//!   (`0x45 + 4*pos_width_index + len_width_index`); `0x00` END. syncore always uses the
//!   smallest widths.
//!
//! # Integrity and MD4
//!
//! MD4 is broken: anyone who can choose file contents can make two different blocks with the
//! same MD4 sum, and so make a delta rebuild the wrong bytes. Use MD4 signatures only to talk
//! to peers that require them; BLAKE2b is the default. Even with BLAKE2b, truncated strong sums
//! and the rsync method itself make a wrong match possible in principle, so a patch is not a
//! proof of content: callers that need integrity compare the patched file's content id
//! ([`crate::hash`]) with the one the sender announced, and fall back to a full transfer on
//! mismatch.
//!
//! # Hostile input
//!
//! Decoders check every field and bound every length: a truncated or garbage signature or
//! delta, a COPY outside the basis, an overflowing length or output past the caller's limit
//! give `Corrupt` or `InvalidInput` errors, never a panic or an allocation sized by the input.
//! The signature index keeps at most [`MAX_CANDIDATES_PER_WEAK_SUM`] distinct blocks per weak
//! sum and the generator stops testing a weak sum after many false alarms, so crafted
//! signatures cannot make delta generation quadratic.
//!
//! # Deltas or chunks?
//!
//! Deltas suit a receiver that has an *older version of the same file* and no chunk index in
//! common with the sender, and edits that shift bytes within one file: they cost one signature
//! round trip and a scan of the new file. Prefer syncore's content-defined chunks when both
//! sides already keep chunk stores, when the same content appears in many files or versions
//! (chunks deduplicate across files and history, deltas do not), or when the sender serves many
//! receivers (a chunk list is computed once; a delta is per basis).
//!
//! # Example
//!
//! ```
//! use syncore::delta::{self, SignatureOptions};
//!
//! let old = b"The quick brown fox jumps over the lazy dog. ".repeat(100);
//! let mut new = old.clone();
//! new.splice(1000..1000, b"A small insertion. ".iter().copied());
//!
//! // The receiver signs its old version and sends the signature...
//! let sig = delta::signature_of(&old, &SignatureOptions::default())?;
//! let sig_bytes = sig.encode();
//! // ...the sender answers with a delta of the new version...
//! let delta_bytes = delta::delta(&delta::Signature::decode(&sig_bytes)?, &new)?;
//! assert!(delta_bytes.len() < new.len() / 4);
//! // ...and the receiver patches its old version.
//! let rebuilt = delta::patch(&old, &delta_bytes, Some(1 << 20))?;
//! assert_eq!(rebuilt, new);
//! # Ok::<(), syncore::Error>(())
//! ```

#[cfg(target_arch = "x86_64")]
mod blake2x86;
mod emit;
mod format;
mod generate;
#[cfg(target_arch = "x86_64")]
mod md4x86;
mod patch;
mod rollsum;
mod scan;
mod signature;
mod split;
mod strong;

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufWriter, Cursor, Read, Write};
use std::path::Path;

pub use format::{SignatureMagic, StrongKind, WeakKind, DELTA_MAGIC, MAX_BLOCK_LEN};
pub use generate::{write_delta, DeltaStats};
pub use patch::apply_patch;
pub use rollsum::{RabinKarp, RollingSum, Rollsum};
pub use signature::{
    generate_signature, Signature, SignatureOptions, DEFAULT_BLOCK_LEN, MAX_CANDIDATES_PER_WEAK_SUM,
};

use crate::error::{Error, IoResultExt, Result};

/// The signature of a basis held in memory (hashed in place, without copying).
pub fn signature_of(basis: &[u8], opts: &SignatureOptions) -> Result<Signature> {
    Signature::generate_from(
        signature::Basis::<io::Empty>::Memory(basis),
        Some(basis.len() as u64),
        opts,
    )
}

/// The delta turning the basis of `sig` into `new`.
pub fn delta(sig: &Signature, new: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_delta(sig, new, &mut out)?;
    Ok(out)
}

/// The new file rebuilt from `basis` and `delta`, at most `limit` bytes long if given.
pub fn patch(basis: &[u8], delta: &[u8], limit: Option<u64>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    apply_patch(Cursor::new(basis), delta, &mut out, limit)?;
    Ok(out)
}

/// Writes the signature of the file at `basis` to the file at `signature` (like
/// `rdiff signature`); the basis size picks the default block length.
pub fn signature_file(basis: &Path, opts: &SignatureOptions, signature: &Path) -> Result<u64> {
    let failed = Cell::new(None);
    let input = open(basis)?;
    let size = input.metadata().at_path(basis)?.len();
    let output = create(signature)?;
    let r = generate_signature(
        Traced::new(input, basis, &failed),
        Some(size),
        opts,
        BufWriter::new(Traced::new(output, signature, &failed)),
    );
    with_path(r, &failed)
}

/// Writes the delta of the file at `new` against the signature file at `signature` to the
/// file at `delta` (like `rdiff delta`).
pub fn delta_file(signature: &Path, new: &Path, delta: &Path) -> Result<DeltaStats> {
    let sig = Signature::read_from(open(signature)?).map_err(|e| match e {
        Error::Io { path: None, source } => Error::io(signature, source),
        other => other,
    })?;
    let failed = Cell::new(None);
    let input = open(new)?;
    let output = create(delta)?;
    let r = write_delta(
        &sig,
        Traced::new(input, new, &failed),
        Traced::new(output, delta, &failed),
    );
    with_path(r, &failed)
}

/// Rebuilds the file at `out` from the file at `basis` and the delta file at `delta` (like
/// `rdiff patch`), at most `limit` bytes long if given.
pub fn patch_file(basis: &Path, delta: &Path, out: &Path, limit: Option<u64>) -> Result<u64> {
    let failed = Cell::new(None);
    let b = open(basis)?;
    let d = open(delta)?;
    let o = create(out)?;
    let r = apply_patch(
        Traced::new(b, basis, &failed),
        Traced::new(d, delta, &failed),
        BufWriter::new(Traced::new(o, out, &failed)),
        limit,
    );
    with_path(r, &failed)
}

fn open(path: &Path) -> Result<File> {
    File::open(path).at_path(path)
}

fn create(path: &Path) -> Result<File> {
    File::create(path).at_path(path)
}

/// Gives a path-less I/O error the path of the stream that failed.
fn with_path<T>(r: Result<T>, failed: &Cell<Option<&Path>>) -> Result<T> {
    r.map_err(|e| match (e, failed.get()) {
        (Error::Io { path: None, source }, Some(p)) => Error::io(p, source),
        (e, _) => e,
    })
}

/// A stream that remembers its path when one of its operations fails.
struct Traced<'a, T> {
    inner: T,
    path: &'a Path,
    failed: &'a Cell<Option<&'a Path>>,
}

impl<'a, T> Traced<'a, T> {
    fn new(inner: T, path: &'a Path, failed: &'a Cell<Option<&'a Path>>) -> Self {
        Traced {
            inner,
            path,
            failed,
        }
    }

    fn note<R>(&self, r: io::Result<R>) -> io::Result<R> {
        if r.is_err() {
            self.failed.set(Some(self.path));
        }
        r
    }
}

impl<T: Read> Read for Traced<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.inner.read(buf);
        self.note(r)
    }
}

impl<T: Write> Write for Traced<'_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.note(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.note(r)
    }
}

impl<T: io::Seek> io::Seek for Traced<'_, T> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let r = self.inner.seek(pos);
        self.note(r)
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Threads used for parallel hashing: the available cores, at most two.
pub(crate) fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

#[cfg(test)]
mod tests;
