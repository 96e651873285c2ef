//! The transport half of the sync example: one direction of the sans-IO exchange between two
//! local replicas, with the byte accounting the summary prints. Shared with the benches so
//! they measure exactly the example's path.
//!
//! [`scan_and_push`] streams: the sender's scan hands over a page of its journal every
//! [`PAGE`] changes, and a second thread plays the receiver, planning and applying each page
//! while the scan goes on (planning the next page, when it has arrived, while the last one's
//! files are placed: [`PageIntake::take_all`]); [`push`] is the plain exchange that closes it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, PoisonError};

use syncore::apply::{
    ApplyOptions, ApplyReport, ChunkLocation, ChunkOrigin, ChunkSource, LocalChunks, NoLocations,
    SharedSource,
};
use syncore::replica_pages::{PageFeed, PageIntake, PageSender, PageStop};
use syncore::scan::ScanReport;
use syncore::sync::{Conflict, Plan, SyncOptions};
use syncore::{Digest, HashAlgo, Replica, Result};

/// Changes per full page of a streamed scan (the first pages are smaller, so the receiver
/// starts at once: see [`Replica::scan_in_pages`]): large enough that the sender's extra
/// commits stay cheap.
pub const PAGE: usize = 25_000;

/// Pages encoded but not yet taken in. The sender sends a page only when the receiver has
/// taken the last one, so while the receiver is busy the changes gather into one larger page:
/// fewer pages, and fewer pauses between them, where the receiver plans on its own.
const PAGES_IN_FLIGHT: usize = 1;

/// A chunk source that counts the distinct chunks (and their bytes) it served: what a network
/// transport would have moved.
/// It is as thread-safe as the source it wraps; the chunks seen are kept in shards (by their
/// first byte) so threads reading at once rarely wait for each other.
pub struct Counting<'a, S: ?Sized> {
    inner: &'a S,
    seen: [Mutex<HashSet<Digest, foldhash::fast::RandomState>>; SEEN_SHARDS],
    bytes: AtomicU64,
}

/// Shards of [`Counting`]'s set of chunks seen.
const SEEN_SHARDS: usize = 16;

impl<'a, S: ChunkSource + ?Sized> Counting<'a, S> {
    /// Wraps `inner`.
    pub fn new(inner: &'a S) -> Self {
        Counting {
            inner,
            seen: Default::default(),
            bytes: AtomicU64::new(0),
        }
    }

    fn count(&self, id: &Digest, bytes: Vec<u8>) -> Vec<u8> {
        let shard = &self.seen[usize::from(id.as_bytes()[0]) % SEEN_SHARDS];
        let mut seen = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.insert(*id) {
            self.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        bytes
    }

    /// Distinct bytes served so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl<S: ChunkSource + ?Sized> ChunkSource for Counting<'_, S> {
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
        self.read_chunk_from(id).map(|(bytes, _)| bytes)
    }

    fn read_chunk_from(&self, id: &Digest) -> Result<(Vec<u8>, ChunkOrigin)> {
        let bytes = self.inner.read_chunk(id)?;
        Ok((self.count(id, bytes), ChunkOrigin::Remote))
    }

    fn read_verified(
        &self,
        id: &Digest,
        algo: HashAlgo,
        hint: Option<&ChunkLocation>,
    ) -> Result<(Vec<u8>, ChunkOrigin)> {
        // The inner source checks (once) what it serves.
        let (bytes, _) = self.inner.read_verified(id, algo, hint)?;
        Ok((self.count(id, bytes), ChunkOrigin::Remote))
    }
}

/// What one direction of a sync did.
#[derive(Debug, Default)]
pub struct OneWay {
    /// The (last) plan the receiver made.
    pub plan: Plan,
    /// Every conflict resolved, streamed pages included.
    pub conflicts: Vec<Conflict>,
    /// What applying it did (`None` for a dry run).
    pub report: Option<ApplyReport>,
    /// Distinct chunk bytes read from the sender (the transfer).
    pub bytes_moved: u64,
    /// Pages applied while the sender was scanning (streamed exchanges only).
    pub pages_streamed: u64,
    /// Why streaming stopped before the scan ended, if it did.
    pub stream_stopped: Option<String>,
}

/// The receiving thread's end of the page stream: counts pages taken off the channel, and
/// tells the scanning thread to stop sending once the intake stops.
struct Feed<'a> {
    pages: mpsc::Receiver<Vec<u8>>,
    waiting: &'a AtomicUsize,
    stopped: &'a AtomicBool,
}

impl Feed<'_> {
    fn taken(&self, page: Option<Vec<u8>>) -> Option<Vec<u8>> {
        if page.is_some() {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        page
    }
}

impl PageFeed for Feed<'_> {
    fn next_page(&mut self) -> Option<Vec<u8>> {
        let page = self.pages.next_page();
        self.taken(page)
    }

    fn ready_page(&mut self) -> Option<Vec<u8>> {
        let page = self.pages.ready_page();
        self.taken(page)
    }

    fn stopped(&mut self, _why: &PageStop) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

/// Hands `page` to the receiving thread (a receiver that failed has hung up; its error is
/// reported when it is joined).
fn send(pages: &mpsc::SyncSender<Vec<u8>>, waiting: &AtomicUsize, page: Vec<u8>) {
    waiting.fetch_add(1, Ordering::Relaxed);
    let _ = pages.send(page);
}

/// Sends `from`'s changes to `to`: encode since `to`'s cursor of `from`, decode and plan on
/// `to`, then apply, fetching the chunks `to` lacks from `from`'s files.
pub fn push(
    from: &Replica,
    to: &mut Replica,
    sync: &SyncOptions,
    apply: &ApplyOptions,
    dry_run: bool,
) -> Result<OneWay> {
    // What the application ships from `from` to `to` (without `to`'s own versions).
    let cursor = to.synced_cursor(from.replica_id())?;
    let bytes = from.changes_for_encoded(to.replica_id(), cursor)?;
    let plan = to.plan_encoded(&bytes, sync)?;
    if dry_run || plan.is_empty() {
        return Ok(OneWay {
            conflicts: plan.conflicts.clone(),
            plan,
            ..OneWay::default()
        });
    }
    // The sender serves missing chunks out of its own files, verified on read.
    let files = from.chunk_source();
    let source = Counting::new(&files);
    let report = to.apply(&plan, &source, apply)?;
    Ok(OneWay {
        bytes_moved: source.bytes(),
        conflicts: plan.conflicts.clone(),
        plan,
        report: Some(report),
        ..OneWay::default()
    })
}

/// Scans `from` and streams its changes to `to` as the scan commits them, `page` changes at
/// a time ([`PAGE`] in the example): a second thread
/// takes each page in (a [`PageIntake`]: plan, fetch the chunks `to` lacks from `from`'s
/// files, apply) while `from` goes on scanning. A closing [`push`] then takes in whatever
/// the pages did not (deletions always wait for it, so the mass-deletion guard sees them
/// together).
pub fn scan_and_push(
    from: &mut Replica,
    to: &mut Replica,
    page: usize,
    sync: &SyncOptions,
    apply: &ApplyOptions,
) -> Result<(ScanReport, OneWay)> {
    let mut sender = PageSender::new(to.synced_cursor(from.replica_id())?);
    let (from_root, algo) = (from.root().to_path_buf(), from.index().algo());
    let stopped = AtomicBool::new(false);
    let waiting = AtomicUsize::new(0);
    let (pages, received) = mpsc::sync_channel::<Vec<u8>>(PAGES_IN_FLIGHT);
    let receiver = &mut *to;
    let (scanned, streamed) = std::thread::scope(|scope| {
        let intake = scope.spawn(|| -> Result<(PageIntake, u64)> {
            // `from`'s index is busy scanning, so chunks are read where `to`'s applier says
            // they are (the same paths in `from`), verified against their ids. Reading them
            // needs no index, so `to`'s placing thread may do it (`SharedSource`).
            let files = LocalChunks::new(&from_root, algo, &NoLocations).following_hints();
            let source = Counting::new(&files);
            let mut intake = PageIntake::new();
            let mut feed = Feed {
                pages: received,
                waiting: &waiting,
                stopped: &stopped,
            };
            let taken = intake.take_all(receiver, &mut feed, &SharedSource(&source), sync, apply);
            if taken.is_err() {
                stopped.store(true, Ordering::Relaxed);
            }
            taken?;
            Ok((intake, source.bytes()))
        });
        let scanned = from.scan_in_pages(page, |page| {
            if stopped.load(Ordering::Relaxed) {
                return Ok(());
            }
            let index = page.index();
            // Held until sent: the page is then encoded from what the scan recorded.
            sender.add(page);
            if waiting.load(Ordering::Relaxed) > 0 {
                // The last page is not taken yet: the next page brings these too.
                return Ok(());
            }
            send(&pages, &waiting, sender.next_page(index)?);
            Ok(())
        });
        // What the scan committed after the last page sent.
        if let (Ok(_), false) = (&scanned, stopped.load(Ordering::Relaxed)) {
            if from
                .index()
                .last_seq()
                .is_ok_and(|last| last > sender.cursor())
            {
                match sender.next_page(from.index()) {
                    Ok(page) => send(&pages, &waiting, page),
                    // The closing exchange reads the journal afresh.
                    Err(_) => stopped.store(true, Ordering::Relaxed),
                }
            }
        }
        drop(pages);
        let streamed = intake
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (scanned, streamed)
    });
    let (scanned, (intake, streamed_bytes)) = (scanned?, streamed?);
    let rest = push(from, to, sync, apply, false)?;
    let streamed_pages = intake.pages_applied();
    let stream_stopped = intake.stopped().map(ToString::to_string);
    let (mut report, mut conflicts) = intake.into_parts();
    conflicts.extend(rest.conflicts);
    let report = match rest.report {
        Some(closing) => {
            report.absorb(closing);
            Some(report)
        }
        None => (streamed_pages > 0).then_some(report),
    };
    Ok((
        scanned,
        OneWay {
            plan: rest.plan,
            conflicts,
            report,
            bytes_moved: streamed_bytes + rest.bytes_moved,
            pages_streamed: streamed_pages,
            stream_stopped,
        },
    ))
}
