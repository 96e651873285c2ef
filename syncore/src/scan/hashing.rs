//! Chunking and hashing changed files in parallel, refusing files that change meanwhile.
//!
//! This file owns the hashing stage of a scan: a batch of [`HashJob`]s is spread over worker
//! threads (small files dominate real trees, so parallelism is per file); each file is
//! chunked with the configured [`Chunker`], then stat'ed again. A file whose stat differs
//! after hashing, or whose length differs from what was read, is reported as
//! [`HashOutcome::Retry`] and never recorded. It never writes the index.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::stat::file_stat;
use super::HashHook;
use crate::chunk::{Chunk, Chunker};
use crate::error::{Error, Result};
use crate::index::FileStat;
use crate::manifest::FileManifest;
use crate::path::RelPath;

/// Files up to this size are read whole into a reused buffer; larger ones are streamed.
const SMALL_FILE: u64 = 1 << 20;

/// A file to chunk and hash.
#[derive(Debug, Clone)]
pub struct HashJob {
    /// Its path in the replica.
    pub path: RelPath,
    /// Its path on disk.
    pub full: PathBuf,
    /// The stat seen by the walk, before reading.
    pub stat: FileStat,
}

/// What hashing one file gave.
#[derive(Debug)]
pub enum HashOutcome {
    /// The file's manifest; it did not change while read.
    Hashed(FileManifest),
    /// The file changed (or vanished) while being read: try again next scan.
    Retry(String),
    /// The file could not be read.
    Failed(Error),
}

/// Hashes `jobs` on up to `threads` threads; outcomes are in job order.
pub fn hash_all(
    jobs: &[HashJob],
    chunker: &Chunker,
    threads: usize,
    hook: Option<&HashHook>,
) -> Vec<HashOutcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, HashOutcome)>> = Mutex::new(Vec::with_capacity(jobs.len()));
    let workers = threads.clamp(1, jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut local = Vec::new();
                let mut buffer = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    local.push((i, hash_one(job, chunker, hook, &mut buffer)));
                }
                if let Ok(mut all) = results.lock() {
                    all.extend(local);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, outcome)| outcome).collect()
}

fn hash_one(
    job: &HashJob,
    chunker: &Chunker,
    hook: Option<&HashHook>,
    buffer: &mut Vec<u8>,
) -> HashOutcome {
    let file = match File::open(&job.full) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return HashOutcome::Retry("vanished before it could be read".into())
        }
        Err(e) => return HashOutcome::Failed(Error::io(&job.full, e)),
    };
    let (chunks, read) = match chunk_file(file, job.stat.size, chunker, buffer) {
        Ok(done) => done,
        Err(Error::Io { path: None, source }) => {
            return HashOutcome::Failed(Error::io(&job.full, source))
        }
        Err(e) => return HashOutcome::Failed(e),
    };
    if let Some(hook) = hook {
        hook(&job.full);
    }
    if let Some(why) = changed_since(&job.full, &job.stat, read) {
        return HashOutcome::Retry(why);
    }
    match FileManifest::from_chunks(chunker.algo(), chunks) {
        Ok(manifest) => HashOutcome::Hashed(manifest),
        Err(e) => HashOutcome::Failed(e),
    }
}

/// Chunks an open file: small files (most of them) are read whole into the worker's
/// reusable buffer, large ones are streamed. Returns the chunks and the bytes read.
fn chunk_file(
    file: File,
    expected: u64,
    chunker: &Chunker,
    buffer: &mut Vec<u8>,
) -> Result<(Vec<Chunk>, u64)> {
    if expected <= SMALL_FILE {
        buffer.clear();
        // One byte more than expected, so growth during the read shows as a length change.
        file.take(expected + 1)
            .read_to_end(buffer)
            .map_err(Error::io_stream)?;
        return Ok((chunker.chunk_slice(buffer), buffer.len() as u64));
    }
    let mut chunks = Vec::new();
    let read = chunker.chunk_reader(file, |chunk, _| {
        chunks.push(*chunk);
        Ok(())
    })?;
    Ok((chunks, read))
}

/// Why the file at `full` no longer matches `before` (or the `read` byte count), if it does not.
fn changed_since(full: &Path, before: &FileStat, read: u64) -> Option<String> {
    match std::fs::symlink_metadata(full) {
        Ok(meta) if meta.is_file() && file_stat(&meta).same_as(before) && read == before.size => {
            None
        }
        Ok(_) => Some("changed while being hashed".into()),
        Err(_) => Some("vanished while being hashed".into()),
    }
}
