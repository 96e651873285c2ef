//! The scan itself: walking directories, comparing with the index, queueing and writing.
//!
//! This file owns one scan's state ([`Walk`]): the directory stack, the files being hashed
//! (on a [`HashPool`] that runs alongside the walk), the changes waiting to be written and the
//! report. Each directory is compared with
//! the index rows whose parent is that directory, read on demand; symlinks are recorded, never
//! followed; a directory that cannot be read is skipped whole, never taken for deleted. It
//! must never record a file that changed while hashed, and never walk outside the root.

use std::collections::HashMap;
use std::fs;

use super::hashing::{HashJob, HashOutcome, HashPool, Hashed};
use super::ignore::{is_default_ignored, IgnoreChain, IGNORE_FILE_NAME};
use super::listing::{list_tree, DirListing, DiskItem, PendingDir};
use super::page::{RecordedVersion, ScanPage};
use super::report::{Retry, ScanReport, SkipReason, Skipped};
use super::stat::{file_stat, kind_of};
use super::Scanner;
use crate::entry::EntryKind;
use crate::error::{Error, Result};
use crate::hash::Digest;
use crate::index::{now_ns, Batch, FileStat, Index, IndexedEntry, LocalChange};
use crate::path::RelPath;

/// Changes per committed transaction of a plain scan: large, because every commit rewrites
/// the pages it dirtied and digests scatter writes over whole B-trees; a crash loses at most
/// this many recorded changes, which the next scan finds again.
const COMMIT_EVERY: usize = 100_000;

/// A paged scan's first page holds this fraction of a full page; each next page doubles,
/// up to a full page. The receiver of a streamed scan then starts within a few hundred files
/// instead of waiting a whole page, and the scan's extra commits come while its index is
/// small and cheap to commit.
const FIRST_PAGE_FRACTION: usize = 16;

/// Called on the scanning thread after each commit, with the index holding everything
/// committed so far and the versions the commit recorded.
pub(super) type OnCommit<'a> = &'a mut dyn FnMut(ScanPage<'_>) -> Result<()>;

/// Directory listings the lister thread may read ahead of the comparison.
const LISTING_QUEUE: usize = 16;

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// The tick assumed for whole-second timestamps (FAT has two-second mtimes).
const COARSE_TICK_NS: i64 = 2 * NANOS_PER_SEC;

/// What the index knew about a file queued for hashing.
#[derive(Debug, Clone, Copy)]
struct Prior {
    /// The content id of the live file it was, if it was one.
    content_id: Option<Digest>,
    /// The exec bit of that file.
    executable: Option<bool>,
    /// What the index held for the path.
    before: Before,
}

/// What the index held for a path before this scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Before {
    /// No row at all.
    Unindexed,
    /// A tombstone.
    Deleted,
    /// A live entry (of any kind).
    Live,
}

impl Before {
    fn of(indexed: Option<&IndexedEntry>) -> Before {
        match indexed {
            None => Before::Unindexed,
            Some(e) if e.entry.deleted => Before::Deleted,
            Some(_) => Before::Live,
        }
    }
}

enum Pending {
    /// A new version; `new_path` says the index has no row for it yet.
    Record {
        change: LocalChange,
        new_path: bool,
    },
    Refresh(RelPath, FileStat, bool),
}

/// The replica path of `name` inside directory `dir` (`None`: the root), as the index
/// recorded it.
fn child_path(dir: Option<&RelPath>, name: &str) -> Result<RelPath> {
    match dir {
        Some(dir) => dir.join(name),
        None => RelPath::new(name),
    }
    .map_err(|e| Error::corrupt(format!("index holds an invalid path: {e}")))
}

/// One scan in progress.
pub(super) struct Walk<'a> {
    scanner: &'a Scanner,
    index: &'a Index,
    /// True while scanning given paths: a directory found there is walked whole. (During a
    /// walk the lister thread descends on its own.)
    descend_into_dirs: bool,
    /// The open transaction; committed every `commit_every` changes and at the end.
    batch: Option<Batch<'a>>,
    /// Recorded changes per transaction (per page, once a paged scan's pages have grown).
    commit_every: usize,
    /// Transactions committed so far.
    commits: u32,
    /// What to call after each commit.
    on_commit: Option<OnCommit<'a>>,
    /// The versions recorded since the last commit, kept for `on_commit` only.
    page: Vec<RecordedVersion>,
    started_ns: i64,
    granularity_ns: i64,
    dirs: Vec<PendingDir>,
    /// The hashing threads, while a scan runs.
    hashing: Option<HashPool<Prior>>,
    pending: Vec<Pending>,
    deleted_files: HashMap<Digest, Vec<RelPath>>,
    /// The last sequence number before this scan recorded anything.
    start_seq: u64,
    report: ScanReport,
}

impl<'a> Walk<'a> {
    pub(super) fn new(scanner: &'a Scanner, index: &'a Index) -> Result<Self> {
        Self::paged(scanner, index, COMMIT_EVERY, None)
    }

    /// A scan that commits every `commit_every` recorded changes and calls `on_commit` after
    /// each commit (the last one included).
    pub(super) fn paged(
        scanner: &'a Scanner,
        index: &'a Index,
        commit_every: usize,
        on_commit: Option<OnCommit<'a>>,
    ) -> Result<Self> {
        let granularity_ns =
            i64::try_from(scanner.options.timestamp_granularity.as_nanos()).unwrap_or(i64::MAX);
        Ok(Walk {
            start_seq: index.last_seq()?,
            scanner,
            index,
            batch: None,
            commit_every,
            commits: 0,
            on_commit,
            page: Vec::new(),
            descend_into_dirs: false,
            started_ns: now_ns(),
            granularity_ns,
            dirs: Vec::new(),
            hashing: None,
            pending: Vec::new(),
            deleted_files: HashMap::new(),
            report: ScanReport::default(),
        })
    }

    /// Scans the whole tree.
    pub(super) fn run_full(self) -> Result<ScanReport> {
        self.with_hashing(|walk| {
            walk.dirs.push(PendingDir {
                rel: None,
                full: walk.scanner.root.clone(),
                chain: IgnoreChain::default(),
            });
            walk.drain_dirs()
        })
    }

    /// Scans the given paths (directories recursively).
    pub(super) fn run_paths(self, paths: &[RelPath]) -> Result<ScanReport> {
        let mut sorted: Vec<&RelPath> = paths.iter().collect();
        sorted.sort();
        sorted.dedup();
        self.with_hashing(|walk| {
            let mut covered: Option<&RelPath> = None;
            for path in sorted {
                if covered.is_some_and(|dir| path.starts_with(dir)) {
                    continue;
                }
                covered = Some(path);
                walk.descend_into_dirs = true;
                walk.scan_path(path)?;
                walk.descend_into_dirs = false;
                walk.drain_dirs()?;
            }
            Ok(())
        })
    }

    /// Runs `body` with the hashing threads started, waits for every file it queued, then
    /// writes, commits and pairs moves.
    fn with_hashing(mut self, body: impl FnOnce(&mut Self) -> Result<()>) -> Result<ScanReport> {
        let options = &self.scanner.options;
        std::thread::scope(|scope| {
            self.hashing = Some(HashPool::spawn(
                scope,
                &options.chunker,
                options.hash_hook.as_ref(),
                options.threads,
                options.batch_size,
            ));
            // A panic (in a caller's page hook, say) is held until the workers are released.
            let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                body(&mut self).and_then(|()| self.settle_hashing())
            }));
            // Closing the queue ends the workers, so the scope can join them.
            self.hashing = None;
            walked.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })?;
        self.finish()
    }

    fn finish(mut self) -> Result<ScanReport> {
        self.write_pending()?;
        self.commit()?;
        let deleted = std::mem::take(&mut self.deleted_files);
        let added = self.added_with_deleted_content(&deleted)?;
        self.report.pair_moves(deleted, added);
        Ok(self.report)
    }

    /// Paths this scan added whose content is that of a path it deleted. Looked up in the
    /// index by content, so memory follows the number of deletions, not of additions.
    fn added_with_deleted_content(
        &self,
        deleted: &HashMap<Digest, Vec<RelPath>>,
    ) -> Result<Vec<(RelPath, Digest)>> {
        let mut candidates = HashMap::new();
        for content_id in deleted.keys() {
            for path in self
                .index
                .live_paths_with_content(content_id, self.start_seq)?
            {
                candidates.insert(path, *content_id);
            }
        }
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .report
            .added
            .iter()
            .filter_map(|path| candidates.get(path).map(|id| (path.clone(), *id)))
            .collect())
    }

    /// Walks every queued directory and its subtree: a lister thread reads directories and
    /// stats their children ahead, while this thread compares them with the index.
    fn drain_dirs(&mut self) -> Result<()> {
        let start = std::mem::take(&mut self.dirs);
        if start.is_empty() {
            return Ok(());
        }
        let scanner = self.scanner;
        let (sender, receiver) = std::sync::mpsc::sync_channel(LISTING_QUEUE);
        std::thread::scope(|scope| {
            scope.spawn(move || list_tree(scanner, start, &sender));
            for listing in receiver {
                self.scan_dir(listing)?;
                let ready = self.pool()?.ready();
                self.take_hashed(ready);
                self.write_pending_if_due()?;
            }
            Ok(())
        })
    }

    fn skip(&mut self, path: String, reason: SkipReason) {
        self.report.skipped.push(Skipped { path, reason });
    }

    /// Compares one listed directory's children with its rows in the index.
    fn scan_dir(&mut self, listing: DirListing) -> Result<()> {
        let DirListing {
            dir,
            chain,
            mut on_disk,
            ignored,
            ignored_count,
            skipped,
            error,
            subdirs: _,
        } = listing;
        self.report.ignored += ignored_count;
        self.report.skipped.extend(skipped);
        if let Some(e) = error {
            if dir.rel.is_none() {
                return Err(Error::io(&dir.full, e));
            }
            self.skip(
                dir.full.display().to_string(),
                SkipReason::Unreadable(e.to_string()),
            );
            return Ok(());
        }
        // Pass over what is plainly unchanged using the recorded stats alone; compare the
        // rest in full.
        let mut to_compare: Vec<String> = Vec::new();
        let report = &mut self.report;
        let shortcut_dirs = !self.descend_into_dirs;
        self.index
            .for_each_stat_in_dir(dir.rel.as_ref(), |name, recorded| {
                if ignored.contains(name) {
                    return Ok(());
                }
                let unchanged = on_disk.get(name).is_some_and(|(_, item)| {
                    !recorded.deleted
                        && recorded.kind == item.kind
                        && match item.kind {
                            EntryKind::File => !recorded.racy && recorded.stat.same_as(&item.stat),
                            EntryKind::Dir => shortcut_dirs,
                            EntryKind::Symlink => false,
                        }
                });
                if unchanged {
                    on_disk.remove(name);
                    report.unchanged += 1;
                } else {
                    to_compare.push(name.to_owned());
                }
                Ok(())
            })?;
        for name in to_compare {
            let (path, disk) = match on_disk.remove(&name) {
                Some((path, item)) => (path, Some(item)),
                None => (child_path(dir.rel.as_ref(), &name)?, None),
            };
            let indexed = self.index.entry(&path)?;
            self.visit(path, indexed, disk, &chain)?;
        }
        let mut new_items: Vec<_> = on_disk.into_values().collect();
        new_items.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, item) in new_items {
            self.visit(path, None, Some(item), &chain)?;
        }
        Ok(())
    }

    /// Scans one given path: checks its ancestors are real, unignored directories, then
    /// compares it (and its subtree) with the index.
    fn scan_path(&mut self, path: &RelPath) -> Result<()> {
        let Some((chain, parent_ok)) = self.ancestor_chain(path)? else {
            return Ok(());
        };
        let full = path.to_fs_path(&self.scanner.root);
        let disk = if parent_ok {
            self.stat_given(path, &full, &chain)?
        } else {
            None
        };
        if disk.as_ref().is_some_and(|d| d.is_none()) {
            return Ok(()); // ignored
        }
        let indexed = self.index.entry(path)?;
        self.visit(path.clone(), indexed, disk.flatten(), &chain)
    }

    /// The ignore chain of `path`'s directory, and whether all its ancestors are real
    /// directories on disk; `None` if an ancestor is ignored.
    fn ancestor_chain(&mut self, path: &RelPath) -> Result<Option<(IgnoreChain, bool)>> {
        let root = self.scanner.root.clone();
        let mut chain =
            IgnoreChain::default().enter(&root, "", root.join(IGNORE_FILE_NAME).is_file());
        for ancestor in path.ancestors() {
            let full = ancestor.to_fs_path(&root);
            if self.is_name_ignored(&full, ancestor.file_name())
                || chain.is_ignored(ancestor.as_str(), true)
            {
                return Ok(None);
            }
            match fs::symlink_metadata(&full) {
                Ok(meta) if meta.is_dir() => {}
                _ => return Ok(Some((chain, false))),
            }
            let has_file = full.join(IGNORE_FILE_NAME).is_file();
            chain = chain.enter(&full, ancestor.as_str(), has_file);
        }
        Ok(Some((chain, true)))
    }

    fn is_name_ignored(&self, full: &std::path::Path, name: &str) -> bool {
        self.scanner.state_dir.as_deref() == Some(full)
            || (self.scanner.options.ignore_defaults && is_default_ignored(name))
    }

    /// `Some(None)`: present but ignored; `None`: absent.
    fn stat_given(
        &mut self,
        path: &RelPath,
        full: &std::path::Path,
        chain: &IgnoreChain,
    ) -> Result<Option<Option<DiskItem>>> {
        let meta = match fs::symlink_metadata(full) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(full, e)),
        };
        let Some(kind) = kind_of(&meta) else {
            self.skip(full.display().to_string(), SkipReason::UnsupportedType);
            return Ok(Some(None));
        };
        if self.is_name_ignored(full, path.file_name())
            || chain.is_ignored(path.as_str(), kind == EntryKind::Dir)
        {
            self.report.ignored += 1;
            return Ok(Some(None));
        }
        Ok(Some(Some(DiskItem {
            full: full.to_path_buf(),
            kind,
            stat: file_stat(&meta),
            parent: None,
        })))
    }

    /// Compares one path's index entry with what is on disk and queues what follows.
    fn visit(
        &mut self,
        path: RelPath,
        indexed: Option<IndexedEntry>,
        disk: Option<DiskItem>,
        chain: &IgnoreChain,
    ) -> Result<()> {
        let before = Before::of(indexed.as_ref());
        let live = indexed.filter(|e| !e.entry.deleted);
        let Some(item) = disk else {
            if let Some(old) = live {
                self.queue_deletion(&old)?;
            }
            return Ok(());
        };
        let same_kind = live.as_ref().filter(|old| old.entry.kind == item.kind);
        if let Some(old) = &live {
            if old.entry.kind == EntryKind::Dir && item.kind != EntryKind::Dir {
                self.queue_deletions_below(&old.entry.path)?;
            }
        }
        match item.kind {
            EntryKind::File => {
                if same_kind.is_some_and(|old| !old.racy && old.stat.same_as(&item.stat)) {
                    self.report.unchanged += 1;
                    return Ok(());
                }
                let prior = Prior {
                    content_id: same_kind.and_then(|old| old.entry.content_id),
                    executable: same_kind.map(|old| old.entry.executable),
                    before,
                };
                let job = HashJob {
                    path,
                    full: item.full,
                    stat: item.stat,
                    parent: item.parent,
                };
                let ready = self.pool()?.submit(job, prior)?;
                self.take_hashed(ready);
            }
            EntryKind::Dir => {
                if same_kind.is_some() {
                    self.report.unchanged += 1;
                } else {
                    self.queue_change(&path, EntryKind::Dir, item.stat, None, None, before);
                }
                if self.descend_into_dirs {
                    self.dirs.push(PendingDir {
                        rel: Some(path),
                        full: item.full,
                        chain: chain.clone(),
                    });
                }
            }
            EntryKind::Symlink => self.visit_symlink(path, same_kind, &item, before),
        }
        Ok(())
    }

    fn visit_symlink(
        &mut self,
        path: RelPath,
        same_kind: Option<&IndexedEntry>,
        item: &DiskItem,
        before: Before,
    ) {
        if same_kind.is_some_and(|old| old.stat.same_as(&item.stat)) {
            self.report.unchanged += 1;
            return;
        }
        let target = match fs::read_link(&item.full) {
            Ok(target) => target,
            Err(e) => {
                self.skip(
                    item.full.display().to_string(),
                    SkipReason::Unreadable(e.to_string()),
                );
                return;
            }
        };
        let Some(target) = target.to_str().map(str::to_owned) else {
            self.skip(
                item.full.display().to_string(),
                SkipReason::NonUtf8SymlinkTarget,
            );
            return;
        };
        if same_kind.is_some_and(|old| old.entry.symlink_target.as_deref() == Some(&target)) {
            self.report.unchanged += 1;
            self.pending.push(Pending::Refresh(path, item.stat, false));
            return;
        }
        self.queue_change(
            &path,
            EntryKind::Symlink,
            item.stat,
            Some(target),
            None,
            before,
        );
    }

    fn queue_change(
        &mut self,
        path: &RelPath,
        kind: EntryKind,
        stat: FileStat,
        symlink_target: Option<String>,
        manifest: Option<crate::manifest::FileManifest>,
        before: Before,
    ) {
        if before == Before::Live {
            self.report.modified.push(path.clone());
        } else {
            self.report.added.push(path.clone());
        }
        let racy = kind == EntryKind::File && self.is_racy(stat.mtime_ns);
        self.pending.push(Pending::Record {
            change: LocalChange {
                path: path.clone(),
                kind,
                stat,
                symlink_target,
                manifest,
                deleted: false,
                racy,
            },
            new_path: before == Before::Unindexed,
        });
    }

    fn queue_deletion(&mut self, old: &IndexedEntry) -> Result<()> {
        if old.entry.kind == EntryKind::Dir {
            self.queue_deletions_below(&old.entry.path)?;
        }
        self.queue_tombstone(old);
        Ok(())
    }

    fn queue_tombstone(&mut self, old: &IndexedEntry) {
        let path = old.entry.path.clone();
        if let (EntryKind::File, Some(content_id)) = (old.entry.kind, old.entry.content_id) {
            self.deleted_files
                .entry(content_id)
                .or_default()
                .push(path.clone());
        }
        self.report.deleted.push(path.clone());
        self.pending.push(Pending::Record {
            change: LocalChange::deletion(path, old.entry.kind),
            new_path: false,
        });
    }

    fn queue_deletions_below(&mut self, dir: &RelPath) -> Result<()> {
        let mut below = Vec::new();
        self.index.for_each_live_below(dir, |entry| {
            below.push(entry);
            Ok(())
        })?;
        for entry in &below {
            self.queue_tombstone(entry);
        }
        Ok(())
    }

    /// True if a later write could leave `mtime_ns` unchanged: the mtime lies within one
    /// timestamp tick of this scan's start. Whole-second mtimes suggest a filesystem (or a
    /// tool) with coarse timestamps, so those get at least a two-second tick.
    fn is_racy(&self, mtime_ns: i64) -> bool {
        let tick = if mtime_ns % NANOS_PER_SEC == 0 {
            self.granularity_ns.max(COARSE_TICK_NS)
        } else {
            self.granularity_ns
        };
        mtime_ns >= self.started_ns.saturating_sub(tick)
    }

    fn pool(&mut self) -> Result<&mut HashPool<Prior>> {
        self.hashing
            .as_mut()
            .ok_or_else(|| Error::invalid("scan: the hashing threads are not running"))
    }

    /// Waits for every file being hashed, queueing the resulting changes and writing them as
    /// they pile up (so a paged scan keeps committing pages while the last files hash).
    fn settle_hashing(&mut self) -> Result<()> {
        loop {
            let every = self.write_every();
            let some = self.pool()?.settle_some(every)?;
            if some.is_empty() {
                return Ok(());
            }
            self.take_hashed(some);
            self.write_pending_if_due()?;
        }
    }

    /// Queued changes worth a write: a batch, or a page if pages are smaller.
    fn write_every(&self) -> usize {
        self.scanner.options.batch_size.min(self.page_limit())
    }

    /// Recorded changes that fill the open transaction: `commit_every`, or for a paged scan
    /// the size of the page it is on ([`FIRST_PAGE_FRACTION`]).
    fn page_limit(&self) -> usize {
        if self.on_commit.is_none() {
            return self.commit_every;
        }
        let first = (self.commit_every / FIRST_PAGE_FRACTION).max(1);
        let growth = 1usize << self.commits.min(usize::BITS - 1);
        first.saturating_mul(growth).min(self.commit_every)
    }

    /// Writes the queued changes once there are [`write_every`](Self::write_every) of them.
    fn write_pending_if_due(&mut self) -> Result<()> {
        if self.pending.len() >= self.write_every() {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Queues the changes that hashed files give.
    fn take_hashed(&mut self, hashed: Vec<Hashed<Prior>>) {
        for (job, prior, outcome) in hashed {
            match outcome {
                HashOutcome::Hashed(manifest) => self.hashed(job, prior, manifest),
                HashOutcome::Retry(reason) => self.report.retries.push(Retry {
                    path: job.path,
                    reason,
                }),
                HashOutcome::Failed(e) => self.skip(
                    job.full.display().to_string(),
                    SkipReason::Unreadable(e.to_string()),
                ),
            }
        }
    }

    fn hashed(&mut self, job: HashJob, prior: Prior, manifest: crate::manifest::FileManifest) {
        self.report.bytes_hashed += manifest.size();
        let content_id = manifest.content_id();
        let racy = self.is_racy(job.stat.mtime_ns);
        if prior.content_id == Some(content_id) && prior.executable == Some(job.stat.executable) {
            self.report.unchanged += 1;
            self.pending
                .push(Pending::Refresh(job.path, job.stat, racy));
            return;
        }
        self.queue_change(
            &job.path,
            EntryKind::File,
            job.stat,
            None,
            Some(manifest),
            prior.before,
        );
    }

    /// Writes queued changes into the open transaction, committing each time it holds
    /// [`page_limit`](Self::page_limit) recorded changes (so no page is larger than
    /// `commit_every`).
    fn write_pending(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let keep_versions = self.on_commit.is_some();
        for item in pending {
            let batch = match &mut self.batch {
                Some(batch) => batch,
                None => self.batch.insert(self.index.shared_batch()?),
            };
            match item {
                Pending::Record { change, new_path } => {
                    let entry = if new_path {
                        batch.record_new(&change)?
                    } else {
                        batch.record(&change)?
                    };
                    if keep_versions {
                        // The manifest the entry names, if it names one.
                        let manifest = change.manifest.filter(|_| entry.content_id.is_some());
                        self.page.push(RecordedVersion { entry, manifest });
                    }
                }
                Pending::Refresh(path, stat, racy) => batch.refresh(&path, &stat, racy)?,
            }
            if batch.recorded() >= self.page_limit() {
                self.commit()?;
            }
        }
        Ok(())
    }

    /// Commits the open transaction, if any, and tells the caller's hook.
    fn commit(&mut self) -> Result<()> {
        let Some(batch) = self.batch.take() else {
            return Ok(());
        };
        batch.commit()?;
        self.commits = self.commits.saturating_add(1);
        match &mut self.on_commit {
            Some(on_commit) => on_commit(ScanPage::new(self.index, std::mem::take(&mut self.page))),
            None => Ok(()),
        }
    }
}
