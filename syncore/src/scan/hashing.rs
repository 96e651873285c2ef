//! Chunking and hashing changed files in parallel, refusing files that change meanwhile.
//!
//! This file owns the hashing stage of a scan: a [`HashPool`] of worker threads that live for
//! the whole scan takes [`HashJob`]s as the walk finds them and hands back their outcomes in
//! submission order, so hashing overlaps listing, comparing and index writes instead of
//! alternating with them (small files dominate real trees, so parallelism is per file). Each
//! file is opened by name under its listed parent directory (without following a symlink),
//! chunked with the configured [`Chunker`], then stat'ed again through the same descriptor. A
//! file whose stat differs after hashing, or whose length differs from what was read, is
//! reported as [`HashOutcome::Retry`] and never recorded. It never writes the index.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::Scope;

use super::stat::file_stat;
use super::HashHook;
use crate::apply::dir::Dir;
use crate::apply::safety::open_nofollow_io;
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
    /// Its parent directory, if the walk holds it open (else it is opened by full path).
    pub parent: Option<Arc<Dir>>,
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

/// A hashed job with the caller's tag, in submission order.
pub type Hashed<T> = (HashJob, T, HashOutcome);

/// Files handed to a worker at once: one wake-up per batch instead of one per file, which
/// matters when most files are a few kilobytes.
const BATCH_FILES: usize = 32;

/// Bytes of files handed to a worker at once, so one batch of large files does not leave the
/// other workers idle.
const BATCH_BYTES: u64 = 1 << 20;

/// Jobs as the workers receive them, numbered in submission order.
type JobBatch<T> = Vec<(u64, HashJob, T)>;

/// Outcomes as the workers return them.
type OutcomeBatch<T> = Vec<(u64, HashJob, T, HashOutcome)>;

/// Hashing threads for the length of a scan. Jobs carry a caller's tag `T` that comes back
/// with their outcome; at most `max_in_flight` jobs are queued or running at once, so memory
/// stays bounded however large the tree. Jobs travel to the workers in small batches.
pub struct HashPool<T> {
    jobs: Option<Sender<JobBatch<T>>>,
    done: Receiver<OutcomeBatch<T>>,
    /// Jobs submitted but not yet handed to the workers.
    outbox: JobBatch<T>,
    outbox_bytes: u64,
    /// Outcomes that arrived ahead of an earlier job's.
    early: BTreeMap<u64, (HashJob, T, HashOutcome)>,
    submitted: u64,
    returned: u64,
    max_in_flight: u64,
}

impl<T: Send + 'static> HashPool<T> {
    /// Starts `threads` workers inside `scope`; they end when the pool is dropped.
    pub fn spawn<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        chunker: &'env Chunker,
        hook: Option<&'env HashHook>,
        threads: usize,
        max_in_flight: usize,
    ) -> Self {
        let (jobs, queue) = channel::<JobBatch<T>>();
        let (finished, done) = channel();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            let finished = finished.clone();
            scope.spawn(move || {
                let mut buffer = Vec::new();
                loop {
                    let next = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(batch) = next else { return };
                    let outcomes: OutcomeBatch<T> = batch
                        .into_iter()
                        .map(|(id, job, tag)| {
                            let outcome = hash_guarded(&job, chunker, hook, &mut buffer);
                            (id, job, tag, outcome)
                        })
                        .collect();
                    if finished.send(outcomes).is_err() {
                        return;
                    }
                }
            });
        }
        HashPool {
            jobs: Some(jobs),
            done,
            outbox: Vec::new(),
            outbox_bytes: 0,
            early: BTreeMap::new(),
            submitted: 0,
            returned: 0,
            max_in_flight: max_in_flight.max(1) as u64,
        }
    }

    /// Queues `job`, first waiting for earlier jobs if too many are in flight; returns the
    /// outcomes that are ready, in submission order.
    pub fn submit(&mut self, job: HashJob, tag: T) -> Result<Vec<Hashed<T>>> {
        let mut ready = Vec::new();
        while self.submitted - self.returned >= self.max_in_flight {
            ready.push(self.next_blocking()?);
        }
        self.outbox_bytes += job.stat.size;
        self.outbox.push((self.submitted, job, tag));
        self.submitted += 1;
        if self.outbox.len() >= BATCH_FILES || self.outbox_bytes >= BATCH_BYTES {
            self.hand_over()?;
        }
        ready.extend(self.ready());
        Ok(ready)
    }

    /// Hands the jobs in the outbox to the workers.
    fn hand_over(&mut self) -> Result<()> {
        if self.outbox.is_empty() {
            return Ok(());
        }
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| Error::invalid("the hashing pool was closed"))?;
        self.outbox_bytes = 0;
        jobs.send(std::mem::take(&mut self.outbox))
            .map_err(|_| hashing_stopped())
    }

    /// The outcomes that are ready now, in submission order, without waiting.
    pub fn ready(&mut self) -> Vec<Hashed<T>> {
        while let Ok(batch) = self.done.try_recv() {
            self.take_early(batch);
        }
        let mut ready = Vec::new();
        while let Some(next) = self.early.remove(&self.returned) {
            self.returned += 1;
            ready.push(next);
        }
        ready
    }

    /// Waits for the next `max` jobs in flight (fewer if fewer are left); returns their
    /// outcomes in submission order, empty once every job has returned.
    pub fn settle_some(&mut self, max: usize) -> Result<Vec<Hashed<T>>> {
        let mut some = Vec::new();
        while self.returned < self.submitted && some.len() < max {
            some.push(self.next_blocking()?);
        }
        Ok(some)
    }

    fn next_blocking(&mut self) -> Result<Hashed<T>> {
        // What is waited for may still be in the outbox.
        self.hand_over()?;
        loop {
            if let Some(next) = self.early.remove(&self.returned) {
                self.returned += 1;
                return Ok(next);
            }
            let batch = self.done.recv().map_err(|_| hashing_stopped())?;
            self.take_early(batch);
        }
    }

    fn take_early(&mut self, batch: OutcomeBatch<T>) {
        for (id, job, tag, outcome) in batch {
            self.early.insert(id, (job, tag, outcome));
        }
    }
}

fn hashing_stopped() -> Error {
    Error::invalid("the hashing threads stopped unexpectedly")
}

/// [`hash_one`], with a panic (a bug) reported as that file's failure instead of taking the
/// scan down.
fn hash_guarded(
    job: &HashJob,
    chunker: &Chunker,
    hook: Option<&HashHook>,
    buffer: &mut Vec<u8>,
) -> HashOutcome {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        hash_one(job, chunker, hook, buffer)
    }))
    .unwrap_or_else(|_| {
        buffer.clear();
        HashOutcome::Failed(Error::invalid(format!(
            "{}: hashing panicked",
            job.full.display()
        )))
    })
}

fn hash_one(
    job: &HashJob,
    chunker: &Chunker,
    hook: Option<&HashHook>,
    buffer: &mut Vec<u8>,
) -> HashOutcome {
    let file = match open_job(job) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return HashOutcome::Retry("vanished before it could be read".into())
        }
        Err(e) if is_symlink_refusal(&e) => {
            return HashOutcome::Retry("replaced by a symlink before it could be read".into())
        }
        Err(e) => return HashOutcome::Failed(Error::io(&job.full, e)),
    };
    let (chunks, read) = match chunk_file(&file, job.stat.size, chunker, buffer) {
        Ok(done) => done,
        Err(Error::Io { path: None, source }) => {
            return HashOutcome::Failed(Error::io(&job.full, source))
        }
        Err(e) => return HashOutcome::Failed(e),
    };
    if let Some(hook) = hook {
        hook(&job.full);
    }
    if let Some(why) = changed_since(&file, &job.stat, read) {
        return HashOutcome::Retry(why);
    }
    match FileManifest::from_chunks(chunker.algo(), chunks) {
        Ok(manifest) => HashOutcome::Hashed(manifest),
        Err(e) => HashOutcome::Failed(e),
    }
}

/// Opens the job's file for reading: by name under its parent's descriptor where the walk
/// holds one, never following a final symlink.
fn open_job(job: &HashJob) -> std::io::Result<File> {
    match (&job.parent, job.full.file_name()) {
        (Some(parent), Some(name)) => parent.open_read(name),
        _ => open_nofollow_io(&job.full),
    }
}

/// True for the error of opening a symlink with `O_NOFOLLOW`.
fn is_symlink_refusal(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Chunks an open file: small files (most of them) are read whole into the worker's
/// reusable buffer, large ones are streamed. Returns the chunks and the bytes read.
fn chunk_file(
    mut file: &File,
    expected: u64,
    chunker: &Chunker,
    buffer: &mut Vec<u8>,
) -> Result<(Vec<Chunk>, u64)> {
    if expected <= SMALL_FILE {
        // Exactly the expected length: a file that grew or shrank meanwhile has a different
        // stat afterwards (checked through the descriptor), and an empty file costs no read.
        buffer.resize(expected as usize, 0);
        let mut filled = 0;
        while filled < buffer.len() {
            match file.read(&mut buffer[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io_stream(e)),
            }
        }
        buffer.truncate(filled);
        return Ok((chunker.chunk_slice(buffer), filled as u64));
    }
    let mut chunks = Vec::new();
    let read = chunker.chunk_reader(file, |chunk, _| {
        chunks.push(*chunk);
        Ok(())
    })?;
    Ok((chunks, read))
}

/// Why the open `file` no longer matches `before` (or the `read` byte count), if it does not.
/// The stat comes through the descriptor: it describes exactly the bytes that were read.
fn changed_since(file: &File, before: &FileStat, read: u64) -> Option<String> {
    match file.metadata() {
        Ok(meta) if meta.is_file() && file_stat(&meta).same_as(before) && read == before.size => {
            None
        }
        Ok(_) => Some("changed while being hashed".into()),
        Err(_) => Some("vanished while being hashed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(dir: &std::path::Path, name: &str, parent: Option<Arc<Dir>>) -> HashJob {
        let full = dir.join(name);
        let meta = std::fs::symlink_metadata(&full).unwrap();
        HashJob {
            path: RelPath::new(name).unwrap(),
            full,
            stat: file_stat(&meta),
            parent,
        }
    }

    #[test]
    fn the_pool_returns_outcomes_in_submission_order_with_their_tags() {
        let dir = tempfile::tempdir().unwrap();
        let parent = Arc::new(Dir::open(dir.path()).unwrap());
        let chunker = Chunker::default();
        let names: Vec<String> = (0..200).map(|i| format!("f{i:03}")).collect();
        for (i, name) in names.iter().enumerate() {
            std::fs::write(dir.path().join(name), vec![i as u8; i * 37]).unwrap();
        }
        let mut outcomes = Vec::new();
        std::thread::scope(|scope| {
            let mut pool = HashPool::spawn(scope, &chunker, None, 3, 8);
            for (i, name) in names.iter().enumerate() {
                // Half by name under the parent's descriptor, half by full path.
                let parent = (i % 2 == 0).then(|| Arc::clone(&parent));
                outcomes.extend(pool.submit(job(dir.path(), name, parent), i).unwrap());
            }
            // Settled a few at a time, as a paged scan does.
            loop {
                let some = pool.settle_some(3).unwrap();
                assert!(some.len() <= 3);
                if some.is_empty() {
                    break;
                }
                outcomes.extend(some);
            }
        });
        assert_eq!(outcomes.len(), names.len());
        for (i, (job, tag, outcome)) in outcomes.into_iter().enumerate() {
            assert_eq!(tag, i);
            assert_eq!(job.path.as_str(), names[i]);
            let HashOutcome::Hashed(manifest) = outcome else {
                panic!("{}: {outcome:?}", names[i]);
            };
            assert_eq!(
                manifest.content_id(),
                FileManifest::of_slice(&chunker, &vec![i as u8; i * 37]).content_id()
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_file_swapped_for_a_symlink_or_rewritten_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let parent = Some(Arc::new(Dir::open(dir.path()).unwrap()));
        let chunker = Chunker::default();
        std::fs::write(dir.path().join("secret"), b"outside").unwrap();
        std::fs::write(dir.path().join("a"), b"listed content").unwrap();
        let listed = job(dir.path(), "a", parent.clone());
        // Swapped for a symlink after the listing: never read through the link.
        std::fs::remove_file(dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink("secret", dir.path().join("a")).unwrap();
        let mut buffer = Vec::new();
        for job in [
            listed.clone(),
            HashJob {
                parent: None,
                ..listed
            },
        ] {
            let outcome = hash_one(&job, &chunker, None, &mut buffer);
            assert!(matches!(outcome, HashOutcome::Retry(_)), "{outcome:?}");
        }
        // Grown after the listing: the descriptor's stat no longer matches.
        std::fs::write(dir.path().join("b"), b"short").unwrap();
        let listed = job(dir.path(), "b", parent);
        std::fs::write(dir.path().join("b"), b"much longer now").unwrap();
        let outcome = hash_one(&listed, &chunker, None, &mut buffer);
        assert!(matches!(outcome, HashOutcome::Retry(_)), "{outcome:?}");
        // Gone: retried, not failed.
        std::fs::remove_file(dir.path().join("b")).unwrap();
        let outcome = hash_one(&listed, &chunker, None, &mut buffer);
        assert!(matches!(outcome, HashOutcome::Retry(_)), "{outcome:?}");
    }
}
