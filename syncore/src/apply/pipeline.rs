//! Placing small files on other threads while the applier checks paths and records changes.
//!
//! Applying a plan of many small files is bound by two kinds of work of similar size: reading
//! and verifying chunks and recording each change in the index (which need the chunk source
//! and the index, and so stay on the applier's thread), and creating, writing, renaming and
//! stating the files themselves (system calls that need nothing but the bytes). A [`Placer`]
//! runs the second kind on a placing thread, with a bounded number of files and bytes in
//! flight. It never decides anything: every safety check that needs the index has passed
//! before a job is submitted, and the one check left for the moment before the rename (the
//! target is still as it was) runs on the placing thread, as it would inline.
//!
//! When the caller's chunk source may be read from several threads
//! ([`ChunkSource::shareable`]), a file whose chunks all come from that source first is
//! read and verified on the placing thread too ([`Content::Fetch`]), which leaves the applier's
//! thread only the checks and the records; the placing side is then the larger one and gets a
//! thread per core. A file the source fails to serve whole comes back unplaced, with what the
//! applier needs to write it itself from all of its sources. Each thread places its batches in
//! order, but files come back in the order they finish: no two jobs of a plan share a path.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::Scope;

use crate::apply::dir::Dir;
use crate::apply::materialize::{gather, place_file, Finish, Gathered};
use crate::apply::safety::DiskStat;
use crate::apply::source::ChunkSource;
use crate::apply::Durability;
use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::manifest::FileManifest;

/// Files larger than this are written inline, streaming, so memory stays bounded.
pub(crate) const MAX_PLACED_FILE: u64 = 4 << 20;

/// Bytes of file content allowed in flight at once (read on the applier's thread and not yet
/// written).
const MAX_BYTES_IN_FLIGHT: u64 = 64 << 20;

/// Files allowed in flight at once. A file the placing thread reads itself holds no content
/// until then, only its entry and manifest (well under a KiB), so thousands may queue: enough
/// work for the placing threads to go on with while the applier's thread is busy elsewhere
/// (planning a streamed exchange's next page, say).
const MAX_FILES_IN_FLIGHT: usize = 16_384;

/// One file to place.
pub(crate) struct PlaceJob {
    /// Where it goes (already validated; its parent exists).
    pub path: PathBuf,
    /// The entry it becomes.
    pub entry: Entry,
    /// Its manifest, handed back for recording.
    pub manifest: FileManifest,
    /// Its content, or where to read it.
    pub content: Content,
    /// The target's stat when the action was checked (`None`: nothing of the user's is
    /// expected there, and the rename must not replace anything).
    pub before: Option<DiskStat>,
    /// How to commit it.
    pub durability: Durability,
}

impl PlaceJob {
    /// The content bytes this job holds while it waits: all of them when read already, none
    /// when the placing thread reads them.
    fn held_bytes(&self) -> u64 {
        match self.content {
            Content::Gathered(_) => self.manifest.size(),
            Content::Fetch => 0,
        }
    }
}

/// Where a placed file's bytes come from.
pub(crate) enum Content {
    /// Read and verified already, on the applier's thread.
    Gathered(Gathered),
    /// To be read and verified on the placing thread, every chunk from the shared source.
    Fetch,
}

/// A file the placing thread could not read whole from the shared source: the applier
/// writes it itself, from all of its sources.
pub(crate) struct Unfetched {
    /// Where it goes.
    pub path: PathBuf,
    /// The target's stat when the action was checked.
    pub before: Option<DiskStat>,
}

/// A job as the placing thread receives it.
struct Queued {
    job: PlaceJob,
    /// Which run of writes between two settles it belongs to: other actions (renames,
    /// removals) happen only between runs, so an open directory is reused within a run only.
    run: u64,
}

/// A placed (or refused) file.
pub(crate) struct Placed {
    /// The entry it became.
    pub entry: Entry,
    /// What its job counted against the bytes in flight.
    held_bytes: u64,
    /// Its manifest.
    pub manifest: FileManifest,
    /// Bytes of it served by local sources.
    pub local_bytes: u64,
    /// Its stat after the rename, or why it was not placed.
    pub result: Result<DiskStat>,
    /// Set when the shared source could not serve it (`result` says why): it is still to be
    /// written.
    pub unfetched: Option<Unfetched>,
}

/// A batch of placed files as a placing thread hands it back, or the panic that stopped it.
type PlacedBatch = std::thread::Result<Vec<Placed>>;

/// The most threads placing files at once.
pub(crate) const MAX_PLACING_THREADS: usize = 4;

/// Files handed to the placing thread at once (and handed back): one wake-up per batch
/// instead of one per file.
const BATCH_FILES: usize = 16;

/// Bytes of files handed over at once, so a batch never holds the placing thread back long.
const BATCH_BYTES: u64 = 1 << 20;

/// The placing threads' ends, as seen from the applier.
pub(crate) struct Placer {
    /// One job queue per placing thread, handed batches in turn.
    jobs: Vec<SyncSender<Vec<Queued>>>,
    /// The queue the next batch goes to.
    next_queue: usize,
    run: u64,
    placed: Receiver<PlacedBatch>,
    /// Jobs submitted but not yet handed to the placing thread.
    outbox: Vec<Queued>,
    outbox_bytes: u64,
    /// Placed files received but not yet returned.
    arrived: VecDeque<Placed>,
    /// Files submitted and not yet returned (the outbox included), and their bytes.
    files_in_flight: usize,
    bytes_in_flight: u64,
}

impl Placer {
    /// Starts the placing threads inside `scope`, reading the jobs to [`Content::Fetch`] from
    /// `shared`; they end when the placer is dropped.
    pub fn spawn<'scope>(
        scope: &'scope Scope<'scope, '_>,
        shared: Option<&'scope (dyn ChunkSource + Sync)>,
    ) -> Placer {
        // Never more batches in flight than files, so no channel can fill up.
        let (done, placed) = sync_channel::<PlacedBatch>(MAX_FILES_IN_FLIGHT);
        let jobs = (0..placing_threads(shared.is_some()))
            .map(|_| {
                let (jobs, job_queue) = sync_channel::<Vec<Queued>>(MAX_FILES_IN_FLIGHT);
                let done = done.clone();
                scope.spawn(move || place_all(job_queue, shared, done));
                jobs
            })
            .collect();
        Placer {
            jobs,
            next_queue: 0,
            run: 0,
            placed,
            outbox: Vec::with_capacity(BATCH_FILES),
            outbox_bytes: 0,
            arrived: VecDeque::new(),
            files_in_flight: 0,
            bytes_in_flight: 0,
        }
    }

    /// Queues `job`, first waiting for earlier files if too much is in flight; returns the
    /// files placed meanwhile.
    pub fn submit(&mut self, job: PlaceJob) -> Result<Vec<Placed>> {
        let size = job.held_bytes();
        let mut finished = self.completed();
        while self.files_in_flight > 0
            && (self.files_in_flight >= MAX_FILES_IN_FLIGHT
                || self.bytes_in_flight + size > MAX_BYTES_IN_FLIGHT)
        {
            finished.push(self.next_blocking()?);
        }
        self.outbox.push(Queued { job, run: self.run });
        self.outbox_bytes += size;
        self.files_in_flight += 1;
        self.bytes_in_flight += size;
        if self.outbox.len() >= BATCH_FILES || self.outbox_bytes >= BATCH_BYTES {
            self.hand_over()?;
        }
        Ok(finished)
    }

    /// Hands the jobs in the outbox to the placing thread.
    fn hand_over(&mut self) -> Result<()> {
        if self.outbox.is_empty() {
            return Ok(());
        }
        let jobs = self
            .jobs
            .get(self.next_queue)
            .ok_or_else(|| Error::invalid("no placing thread"))?;
        self.next_queue = (self.next_queue + 1) % self.jobs.len();
        self.outbox_bytes = 0;
        let batch = std::mem::replace(&mut self.outbox, Vec::with_capacity(BATCH_FILES));
        jobs.send(batch).map_err(|_| placing_thread_gone())
    }

    /// The files placed so far that were not yet returned, without waiting.
    pub fn completed(&mut self) -> Vec<Placed> {
        while let Ok(batch) = self.placed.try_recv() {
            self.take_in(batch);
        }
        let finished: Vec<Placed> = self.arrived.drain(..).collect();
        for placed in &finished {
            self.account(placed);
        }
        finished
    }

    /// Waits for every file in flight and returns them; files submitted afterwards belong to
    /// a new run.
    pub fn settle(&mut self) -> Result<Vec<Placed>> {
        self.run += 1;
        let mut finished = Vec::with_capacity(self.files_in_flight);
        while self.files_in_flight > 0 {
            finished.push(self.next_blocking()?);
        }
        Ok(finished)
    }

    /// The next file to come back, waiting for it; `None` if none is in flight.
    pub fn next_placed(&mut self) -> Result<Option<Placed>> {
        if self.files_in_flight == 0 {
            return Ok(None);
        }
        self.next_blocking().map(Some)
    }

    fn next_blocking(&mut self) -> Result<Placed> {
        // What is waited for may still be in the outbox.
        self.hand_over()?;
        if self.arrived.is_empty() {
            let batch = self.placed.recv().map_err(|_| placing_thread_gone())?;
            self.take_in(batch);
        }
        let placed = self.arrived.pop_front().ok_or_else(placing_thread_gone)?;
        self.account(&placed);
        Ok(placed)
    }

    /// Queues a batch handed back, or goes on with the panic that stopped its placing thread
    /// (the caller's chunk source panicked there): on this thread, the placing threads are
    /// released as the placer is dropped, instead of waiting for files that never come.
    fn take_in(&mut self, batch: PlacedBatch) {
        match batch {
            Ok(placed) => self.arrived.extend(placed),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    fn account(&mut self, placed: &Placed) {
        self.files_in_flight -= 1;
        self.bytes_in_flight -= placed.held_bytes;
    }
}

fn placing_thread_gone() -> Error {
    Error::Io {
        path: None,
        source: std::io::Error::other("the file-placing thread stopped unexpectedly"),
    }
}

/// How many threads place files: one when the applier reads every chunk itself (it is then
/// the slower side), otherwise one per core up to [`MAX_PLACING_THREADS`], since reading,
/// verifying and writing is then all the work there is besides planning and recording.
fn placing_threads(reads_shared_source: bool) -> usize {
    if !reads_shared_source {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_PLACING_THREADS))
}

/// A placing thread: places each batch of `jobs`, in order, and hands the outcomes to `done`,
/// until the applier hangs up.
fn place_all(
    jobs: Receiver<Vec<Queued>>,
    shared: Option<&(dyn ChunkSource + Sync)>,
    done: SyncSender<PlacedBatch>,
) {
    let mut dir: Option<Arc<Dir>> = None;
    let mut current_run = 0;
    for batch in jobs {
        // A panic (of the caller's chunk source) goes to the applier, which raises it.
        let placed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut finished = Vec::with_capacity(batch.len());
            for Queued { job, run } in batch {
                if run != current_run {
                    // Directories may have been renamed or removed since: open afresh.
                    dir = None;
                    current_run = run;
                }
                finished.push(place(job, shared, &mut dir));
            }
            finished
        }));
        let panicked = placed.is_err();
        if done.send(placed).is_err() || panicked {
            return;
        }
    }
}

/// Places one file: the placing thread's whole job. `dir` is the directory of the previous
/// file, kept open: plans come in path order, so most files go where the last one went.
fn place(
    job: PlaceJob,
    shared: Option<&(dyn ChunkSource + Sync)>,
    dir: &mut Option<Arc<Dir>>,
) -> Placed {
    let held_bytes = job.held_bytes();
    let PlaceJob {
        path,
        entry,
        manifest,
        content,
        before,
        durability,
    } = job;
    let content = match content {
        Content::Gathered(gathered) => gathered,
        Content::Fetch => {
            let fetched = match shared {
                Some(source) => gather(&entry, &manifest, source),
                None => Err(Error::invalid("no shared chunk source to fetch from")),
            };
            match fetched {
                Ok(gathered) => gathered,
                Err(e) => {
                    return Placed {
                        entry,
                        held_bytes,
                        manifest,
                        local_bytes: 0,
                        result: Err(e),
                        unfetched: Some(Unfetched { path, before }),
                    }
                }
            }
        }
    };
    let chunks = content.chunks.into_iter().map(Ok);
    let result = place_file(
        &path,
        directory_of(&path, dir),
        &entry,
        chunks,
        Finish::Commit(durability),
        before,
    );
    Placed {
        local_bytes: content.local_bytes,
        held_bytes,
        entry,
        manifest,
        result,
        unfetched: None,
    }
}

/// `path`'s directory, opened unless `cached` already is it (`None` if it cannot be opened:
/// the file is then placed by full path, which reports the error). The applier checked the
/// directories under the root before submitting; the root itself may be a symlink.
fn directory_of(path: &Path, cached: &mut Option<Arc<Dir>>) -> Option<Arc<Dir>> {
    let parent = path.parent()?;
    if cached.as_ref().is_none_or(|dir| dir.path() != parent) {
        *cached = Dir::open_following(parent).ok().map(Arc::new);
    }
    cached.clone()
}
