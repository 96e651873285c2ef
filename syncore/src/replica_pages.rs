//! Streaming an exchange in pages while the sender is still scanning.
//!
//! A first sync of a large tree is a scan of the sender followed by a plan and an apply on
//! the receiver; done one after the other, half of the machine idles through each. Here the
//! sender scans with [`Replica::scan_in_pages`], which commits every few thousand changes and
//! hands the caller each committed page of its journal, and the receiver takes the pages in
//! with a [`PageIntake`] as they come (on a thread of the application's, or across its
//! network), so the receiver writes files while the sender still hashes. When the scan is
//! done, one ordinary exchange from the receiver's cursor takes in whatever the pages did not.
//!
//! A page is an ordinary change set (from the receiver's cursor to the sender's last commit),
//! so everything the exchange guarantees holds per page. What a page cannot show is the rest
//! of the scan, so a [`PageIntake`] stops taking pages at the first one whose plan deletes
//! anything: the mass-deletion guard must see every deletion of the scan at once (a page
//! deleting 4% at a time would slip a whole unmounted disk past it), and the closing exchange
//! shows them together. It also stops at a page that starts after the receiver's cursor, one
//! that cannot be planned, and one that was applied only in part, since the receiver's cursor
//! only advances over pages applied completely.
//!
//! An application that receives pages as a stream hands the stream to
//! [`PageIntake::take_all`] (any [`PageFeed`]; a channel's receiver is one). It then plans
//! each page that has arrived while the one before is still being placed, so no planning pause
//! separates them: the placing threads go from one page's files to the next. A page planned
//! that way is kept only if it changes no path (in any letter case) of the page before it;
//! otherwise it is planned again once that page is in.
//!
//! The sending end is a [`PageSender`], called from the scan's hook. It keeps the versions
//! each page of the scan recorded ([`ScanPage`]) until it sends them, and encodes a page from
//! those rather than reading back what the scan has just written, whenever they are every
//! change since the receiver's cursor; otherwise (a receiver further behind, changes recorded
//! outside the scan) it reads the journal.
//!
//! ```
//! use syncore::apply::{ApplyOptions, LocalChunks, NoLocations};
//! use syncore::replica_pages::{PageIntake, PageSender};
//! use syncore::sync::SyncOptions;
//! use syncore::{Replica, ReplicaOptions};
//!
//! let (a_dir, b_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
//! for i in 0..10 {
//!     std::fs::write(a_dir.path().join(format!("f{i}.txt")), format!("file {i}"))?;
//! }
//! let mut a = Replica::open(a_dir.path(), ReplicaOptions::default())?;
//! let mut b = Replica::open(b_dir.path(), ReplicaOptions::default())?;
//! // While A scans, its index is busy: B reads chunks from A's files where B's applier
//! // says they are (the same paths), verified against their ids.
//! let a_files = LocalChunks::new(a.root(), a.index().algo(), &NoLocations).following_hints();
//! let (sync, apply) = (SyncOptions::default(), ApplyOptions::default());
//! let mut intake = PageIntake::new();
//! let mut sender = PageSender::new(b.synced_cursor(a.replica_id())?);
//! a.scan_in_pages(4, |page| {
//!     // The application ships each page to B however it likes; here B takes it in place.
//!     let index = page.index();
//!     sender.add(page);
//!     let page = sender.next_page(index)?;
//!     intake.take(&mut b, &page, &a_files, &sync, &apply)?;
//!     Ok(())
//! })?;
//! assert!(intake.stopped().is_none());
//! assert_eq!(intake.report().files_written, 10);
//! // The closing exchange finds nothing left.
//! let rest = a.changes_since_encoded(b.synced_cursor(a.replica_id())?)?;
//! assert!(b.plan_encoded(&rest, &sync)?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use crate::apply::{ApplyOptions, ApplyReport, ChunkSource};
use crate::error::{Error, Result};
use crate::index::Index;
use crate::manifest::FileManifest;
use crate::replica::Replica;
use crate::replica_sync::index_change_set_encoded;
use crate::scan::{RecordedVersion, ScanPage};
use crate::sync::{encode_parts, manifests_in_order};
use crate::sync::{Conflict, Plan, ReplicaId, SyncOptions};

/// The sending end of a streamed exchange: turns each committed page of a scan into the
/// encoded change set since the page before it.
#[derive(Debug, Clone)]
pub struct PageSender {
    cursor: u64,
    /// Versions the scan recorded since the last page went out, in sequence order.
    held: Vec<RecordedVersion>,
    /// Whether `held` is every version recorded after `cursor` (false once a page was missed).
    held_complete: bool,
}

impl PageSender {
    /// A sender whose first page starts after `cursor`: the receiver's
    /// [`synced_cursor`](Replica::synced_cursor) of this replica.
    pub fn new(cursor: u64) -> Self {
        PageSender {
            cursor,
            held: Vec::new(),
            held_complete: true,
        }
    }

    /// Keeps what a committed page of the scan recorded, for the next page sent. Give it
    /// every page of the scan, also those not sent right away, so that the next page can be
    /// encoded from them.
    pub fn add(&mut self, page: ScanPage<'_>) {
        let recorded = page.into_recorded();
        let next_seq = self.held.last().map_or(self.cursor, |v| v.entry.seq) + 1;
        let follows = recorded
            .iter()
            .zip(next_seq..)
            .all(|(version, seq)| version.entry.seq == seq);
        if self.held_complete && follows {
            self.held.extend(recorded);
        } else {
            // A page was missed (or the receiver is behind the scan): read the journal instead.
            self.held_complete = false;
            self.held.clear();
        }
    }

    /// How many recorded versions are held for the next page.
    pub fn held_versions(&self) -> usize {
        self.held.len()
    }

    /// The next page: everything `index` committed after the last page (call it from the hook
    /// of [`Replica::scan_in_pages`], where the index holds only committed changes). Encoded
    /// from the versions [`add`](Self::add)ed since the last page when they are all of them,
    /// read from the index's journal otherwise; either way the same bytes.
    pub fn next_page(&mut self, index: &Index) -> Result<Vec<u8>> {
        let last = index.last_seq()?;
        let held = std::mem::take(&mut self.held);
        let complete = std::mem::replace(&mut self.held_complete, true);
        let covers_journal = complete && held.last().is_some_and(|v| v.entry.seq == last);
        let from_held = covers_journal
            .then(|| held_change_set_encoded(index.replica_id(), self.cursor, last, held))
            .flatten();
        let page = match from_held {
            Some(page) => page,
            None => index_change_set_encoded(index, self.cursor)?,
        };
        self.cursor = last;
        Ok(page)
    }

    /// Where the next page starts.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }
}

/// The change set of `held` (every version recorded after `since`, through `cursor`) as the
/// journal would read it: each path once at its latest version, in path order, then the
/// manifest of each distinct live content in order of first use. `None` if a live file's
/// manifest is missing (the journal is read instead).
fn held_change_set_encoded(
    source: ReplicaId,
    since: u64,
    cursor: u64,
    mut held: Vec<RecordedVersion>,
) -> Option<Vec<u8>> {
    held.sort_unstable_by(|a, b| {
        (a.entry.path.as_str(), a.entry.seq).cmp(&(b.entry.path.as_str(), b.entry.seq))
    });
    // Of a path's versions, the latest (the last of its run) stays.
    held.dedup_by(|later, kept| {
        let same_path = later.entry.path == kept.entry.path;
        if same_path {
            std::mem::swap(later, kept);
        }
        same_path
    });
    let (entries, recorded): (Vec<_>, Vec<_>) = held
        .into_iter()
        .map(|version| (version.entry, version.manifest))
        .unzip();
    let manifests = manifests_in_order(&entries, |_, i| {
        recorded[i].as_ref().map(FileManifest::encode)
    })?;
    Some(encode_parts(
        source,
        since,
        cursor,
        &entries,
        manifests.iter().map(Vec::as_slice),
    ))
}

/// Where a [`PageIntake::take_all`] gets its pages: the application's end of the stream
/// (a channel from the thread that scans, a network connection). A
/// [`Receiver`](std::sync::mpsc::Receiver) of encoded pages is one.
pub trait PageFeed {
    /// The next page, waiting for it if need be; `None` once the stream has ended.
    fn next_page(&mut self) -> Option<Vec<u8>>;

    /// The next page if it has arrived already, without waiting.
    fn ready_page(&mut self) -> Option<Vec<u8>>;

    /// Called once the intake has stopped taking pages (the pages after that are received
    /// and dropped): the sender may stop sending them.
    fn stopped(&mut self, why: &PageStop) {
        let _ = why;
    }
}

impl PageFeed for std::sync::mpsc::Receiver<Vec<u8>> {
    fn next_page(&mut self) -> Option<Vec<u8>> {
        self.recv().ok()
    }

    fn ready_page(&mut self) -> Option<Vec<u8>> {
        self.try_recv().ok()
    }
}

/// Why a [`PageIntake`] stopped taking pages; the closing exchange takes in the rest.
#[derive(Debug)]
pub enum PageStop {
    /// The page's plan deletes this many paths: deletions wait for the closing exchange,
    /// where the mass-deletion guard sees all of them at once.
    Deletes(usize),
    /// The page starts after the receiver's cursor of its sender (a page before it is
    /// missing).
    Gap {
        /// Where the page starts.
        since: u64,
        /// The receiver's cursor of the sender.
        cursor: u64,
    },
    /// The page could not be decoded or planned.
    Unplannable(Error),
    /// The page was applied only in part (conflicts met or actions failed), so the receiver's
    /// cursor did not advance over it.
    Incomplete,
}

impl fmt::Display for PageStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageStop::Deletes(n) => write!(f, "a page deletes {n} paths"),
            PageStop::Gap { since, cursor } => {
                write!(f, "a page starts at {since}, after the cursor {cursor}")
            }
            PageStop::Unplannable(e) => write!(f, "a page could not be planned: {e}"),
            PageStop::Incomplete => f.write_str("a page was applied only in part"),
        }
    }
}

/// The receiving end of a streamed exchange: plans and applies each page of the sender's
/// journal that is safe to take on its own, and stops at the first that is not (see
/// [`PageStop`]). It accumulates what the applied pages did.
#[derive(Debug, Default)]
pub struct PageIntake {
    stopped: Option<PageStop>,
    pages: u64,
    report: ApplyReport,
    conflicts: Vec<Conflict>,
}

impl PageIntake {
    /// An intake that has taken nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one encoded page on `receiver`: decodes and plans it, and applies the plan
    /// (chunks from the receiver's own files first, `source` otherwise) unless the intake
    /// has stopped or the page is one to stop at. Returns whether the page was applied.
    /// Errors are those of [`Replica::apply`] (the index, the final filesystem sync); a page
    /// that cannot be planned stops the intake instead, since the closing exchange reads
    /// the sender's journal afresh.
    pub fn take(
        &mut self,
        receiver: &mut Replica,
        page: &[u8],
        source: &dyn ChunkSource,
        sync: &SyncOptions,
        apply: &ApplyOptions,
    ) -> Result<bool> {
        if self.stopped.is_some() {
            return Ok(false);
        }
        let plan = receiver.plan_encoded(page, sync);
        self.take_planned(receiver, plan, source, apply, |_, _| true)
    }

    /// Takes in every page `feed` delivers, in order, until it ends, like [`take`](Self::take)
    /// on each (pages after a stop are received and dropped, so the sender never waits).
    ///
    /// While a page's files are being placed, the next page is planned if it has already
    /// arrived ([`PageFeed::ready_page`]), so its files start going out as soon as this
    /// page is committed rather than after a planning pause. That plan is kept only if it
    /// changes no path the current page's plan changes (otherwise the page is planned again
    /// once the current one is in), so it is one the receiver could have made afterwards.
    pub fn take_all(
        &mut self,
        receiver: &mut Replica,
        feed: &mut dyn PageFeed,
        source: &dyn ChunkSource,
        sync: &SyncOptions,
        apply: &ApplyOptions,
    ) -> Result<()> {
        if let Some(why) = &self.stopped {
            feed.stopped(why);
        }
        // The next page, taken off the feed while the current one was placed, and its plan
        // if it could be kept.
        let mut ahead: Option<(Vec<u8>, Option<Plan>)> = None;
        loop {
            let Some((page, planned)) =
                ahead.take().or_else(|| feed.next_page().map(|p| (p, None)))
            else {
                return Ok(());
            };
            if self.stopped.is_some() {
                continue;
            }
            let plan = planned.map_or_else(|| receiver.plan_encoded(&page, sync), Ok);
            let plan_ahead = |receiver: &Replica, current: &Plan| {
                if ahead.is_some() {
                    return true;
                }
                let Some(next) = feed.ready_page() else {
                    return false;
                };
                let planned = receiver
                    .plan_encoded(&next, sync)
                    .ok()
                    .filter(|next_plan| next_plan.changes_no_path_of(current));
                ahead = Some((next, planned));
                true
            };
            let taken = self.take_planned(receiver, plan, source, apply, plan_ahead)?;
            if let (false, Some(why)) = (taken, &self.stopped) {
                feed.stopped(why);
            }
        }
    }

    /// Takes in a page planned already (`plan`, or why it could not be), calling
    /// `meanwhile` with the receiver and the plan while the plan's files are placed, until it
    /// returns true.
    fn take_planned(
        &mut self,
        receiver: &mut Replica,
        plan: Result<Plan>,
        source: &dyn ChunkSource,
        apply: &ApplyOptions,
        mut meanwhile: impl FnMut(&Replica, &Plan) -> bool,
    ) -> Result<bool> {
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => return Ok(self.stop(PageStop::Unplannable(e))),
        };
        let cursor = receiver.synced_cursor(plan.source)?;
        if plan.since > cursor {
            return Ok(self.stop(PageStop::Gap {
                since: plan.since,
                cursor,
            }));
        }
        let deletions = plan.deletions();
        if deletions > 0 {
            return Ok(self.stop(PageStop::Deletes(deletions)));
        }
        let report = receiver
            .apply_meanwhile(&plan, source, apply, |receiver| meanwhile(receiver, &plan))?;
        if !plan.is_empty() {
            self.pages += 1;
        }
        let complete = report.is_complete();
        self.report.absorb(report);
        if !complete {
            // The closing exchange plans this page again and reports its conflicts then.
            return Ok(self.stop(PageStop::Incomplete));
        }
        self.conflicts.extend(plan.conflicts);
        Ok(true)
    }

    fn stop(&mut self, why: PageStop) -> bool {
        self.stopped = Some(why);
        false
    }

    /// Why the intake stopped, if it did.
    pub fn stopped(&self) -> Option<&PageStop> {
        self.stopped.as_ref()
    }

    /// How many pages with something to do were applied (completely or, for the last, in
    /// part); an empty page only moves the cursor.
    pub fn pages_applied(&self) -> u64 {
        self.pages
    }

    /// What the applied pages did, summed.
    pub fn report(&self) -> &ApplyReport {
        &self.report
    }

    /// The conflicts resolved by completely applied pages.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// The summed report and the resolved conflicts.
    pub fn into_parts(self) -> (ApplyReport, Vec<Conflict>) {
        (self.report, self.conflicts)
    }
}
