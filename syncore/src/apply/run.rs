//! Performing a [`Plan`] on a working tree: [`apply_plan`].
//!
//! This module owns the order of operations and the safety checks of applying: every path is
//! re-validated and walked on disk ([`checked_path`](crate::apply::checked_path)); before
//! anything is overwritten, renamed or deleted, what is on disk must still match what the
//! index recorded (the [`ApplyTarget`]'s stat, or the expected entry's size and mtime); each
//! applied change is reported to [`ApplyTarget::record_applied`] so the index stores it
//! without echoing it back as a local change. A failing action is reported and the others
//! continue; nothing is ever half-written. It never decides what should change (the plan did)
//! and never deletes a directory's contents recursively.
//!
//! **User changed a file between plan and apply.** The action is skipped, the user's file is
//! left exactly as it is, nothing is recorded, and the path is reported in
//! [`ApplyReport::conflicts`]. The next scan records the user's edit as a local change; it is
//! then concurrent with the remote version and the next plan resolves the conflict under the
//! policy (by default keeping both). Skipping, rather than making a conflict copy here, keeps
//! apply free of policy decisions and never moves a file the user may have open.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;

use crate::apply::materialize::{gather, time_of, with_exec_bits, write_file, Finish, Written};
use crate::apply::pipeline::{Content, PlaceJob, Placed, Placer, Unfetched, MAX_PLACED_FILE};
use crate::apply::safety::{checked_path_cached, open_nofollow, DiskStat, VerifiedDirs};
use crate::apply::source::{ChunkLocation, ChunkLocator, ChunkSource, FetchFirst, LocalChunks};
use crate::apply::{is_temp_name, sync_dir, Durability};
use crate::entry::{Entry, EntryKind};
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use crate::hash::Digest;
use crate::manifest::FileManifest;
use crate::path::RelPath;
use crate::sync::{Action, Plan};

/// What applying needs from the index.
pub trait ApplyTarget {
    /// The stat the index recorded for `path` when it last scanned or applied it (`None` if it
    /// has none; the expected entry's size and mtime are compared instead).
    fn recorded_stat(&self, path: &RelPath) -> Result<Option<DiskStat>>;

    /// Records an applied change: `entry` (with the version the plan chose; the index assigns
    /// the sequence number), the file's `manifest` when its content is new to this path (a
    /// rename passes `None`: the index knows the content by id), and the path's `stat` after
    /// the change (`None` for tombstones and index-only records), so the next scan sees the
    /// file as unchanged and does not echo it back.
    fn record_applied(
        &mut self,
        entry: &Entry,
        manifest: Option<&FileManifest>,
        stat: Option<&DiskStat>,
    ) -> Result<()>;

    /// Where chunk `id` sits in files of this replica, so [`apply_plan`] can reuse it instead
    /// of asking the caller's source (every read is verified; stale locations are harmless).
    /// The default knows none.
    fn locate_chunk(&self, id: &Digest) -> Result<Vec<ChunkLocation>> {
        let _ = id;
        Ok(Vec::new())
    }
}

/// Adapts an [`ApplyTarget`]'s chunk locations to a [`ChunkLocator`].
struct TargetLocator<'a, T: ?Sized>(&'a T);

impl<T: ApplyTarget + ?Sized> ChunkLocator for TargetLocator<'_, T> {
    fn locate(&self, id: &Digest) -> Result<Vec<ChunkLocation>> {
        self.0.locate_chunk(id)
    }
}

/// A fault to inject, for crash-safety tests and the simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Stop as a crash would after writing the temp file of `path`, before it is put in
    /// place: a named temp file stays behind (an unnamed one, on Linux, vanishes), nothing
    /// after it is done or recorded, and `apply_plan` returns an I/O error.
    CrashBeforeRename(RelPath),
    /// Stop as a crash would right after `path` is renamed into place, before anything is
    /// recorded: the file is new on disk, the index still describes the old one.
    CrashAfterRename(RelPath),
}

/// How to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// fsync discipline. [`Durability::PerFile`] (default) fsyncs each file and directory;
    /// [`Durability::Batched`] syncs the filesystem once after all writes, then records them;
    /// [`Durability::None`] never syncs.
    pub durability: Durability,
    /// Refuse names Windows cannot hold, whatever the platform (default: on Windows only).
    pub strict_names: bool,
    /// A fault to inject (tests and simulation only).
    pub fault: Option<Fault>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            durability: Durability::PerFile,
            strict_names: cfg!(windows),
            fault: None,
        }
    }
}

/// A path whose action was not performed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyIssue {
    /// The path of the action.
    pub path: RelPath,
    /// The error kind ([`ErrorKind::Conflict`] for a user change that blocked the action).
    pub kind: ErrorKind,
    /// What happened, for humans.
    pub message: String,
}

/// What applying a plan did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyReport {
    /// Files written (created or replaced).
    pub files_written: u64,
    /// Bytes of files written.
    pub bytes_written: u64,
    /// Of those, bytes served by local sources (reused, not transferred).
    pub bytes_reused_locally: u64,
    /// Directories created.
    pub dirs_created: u64,
    /// Symlinks created.
    pub symlinks_created: u64,
    /// Files, symlinks and directories deleted.
    pub deleted: u64,
    /// Files renamed (moves and conflict copies).
    pub renamed: u64,
    /// Entries recorded in the index (every completed action records one or two).
    pub recorded: u64,
    /// Actions skipped because the user changed the path after planning (kept as is).
    pub conflicts: Vec<ApplyIssue>,
    /// Actions that failed (missing or corrupt chunk, I/O error, unsafe path, ...).
    pub failed: Vec<ApplyIssue>,
}

impl ApplyReport {
    /// True if every action was performed.
    pub fn is_complete(&self) -> bool {
        self.conflicts.is_empty() && self.failed.is_empty()
    }

    /// Adds what `other` (a later apply of the same exchange) did to this report.
    pub fn absorb(&mut self, other: ApplyReport) {
        // Destructured, so that a new field cannot be forgotten here.
        let ApplyReport {
            files_written,
            bytes_written,
            bytes_reused_locally,
            dirs_created,
            symlinks_created,
            deleted,
            renamed,
            recorded,
            conflicts,
            failed,
        } = other;
        self.files_written += files_written;
        self.bytes_written += bytes_written;
        self.bytes_reused_locally += bytes_reused_locally;
        self.dirs_created += dirs_created;
        self.symlinks_created += symlinks_created;
        self.deleted += deleted;
        self.renamed += renamed;
        self.recorded += recorded;
        self.conflicts.extend(conflicts);
        self.failed.extend(failed);
    }
}

/// Performs `plan` under `root`, reading chunks from local files first (located through
/// [`ApplyTarget::locate_chunk`]) and from `source` otherwise (a chunk the plan lists as
/// missing, and fetches for that one file only, is asked of `source` first and of local
/// files after), and recording each applied change in `target`. Per-action failures and conflicts are reported in the [`ApplyReport`]; only
/// failures of the target itself (the index), of the final filesystem sync, or an injected
/// crash, are returned as errors.
pub fn apply_plan(
    root: &Path,
    plan: &Plan,
    source: &dyn ChunkSource,
    target: &mut impl ApplyTarget,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    apply_plan_meanwhile(root, plan, source, target, options, &mut || true)
}

/// [`apply_plan`], calling `meanwhile` on this thread once every action has been taken on or
/// handed to the placing threads, and again as each placed file comes back, until it returns
/// true: time the caller can use for other work with the index (whose records of this plan
/// are partial meanwhile) while the placing threads write files.
pub(crate) fn apply_plan_meanwhile(
    root: &Path,
    plan: &Plan,
    source: &dyn ChunkSource,
    target: &mut impl ApplyTarget,
    options: &ApplyOptions,
    meanwhile: &mut dyn FnMut() -> bool,
) -> Result<ApplyReport> {
    let shared = source.shareable();
    std::thread::scope(|scope| {
        let mut run = Run {
            root,
            source,
            shared,
            options,
            report: ApplyReport::default(),
            pending: Vec::new(),
            wrote: false,
            done: HashSet::default(),
            required: paths_required(plan),
            verified_dirs: VerifiedDirs::default(),
            fetched_twice: chunks_fetched_twice(plan),
            // Injected faults stop at an exact point: keep every write inline then.
            placer: options
                .fault
                .is_none()
                .then(|| Placer::spawn(scope, shared)),
        };
        for action in &plan.actions {
            match run.action(action, target) {
                Ok(Progress::Done) => run.completed(action.path()),
                Ok(Progress::Placing) => {}
                Err(Outcome::Skipped(issue)) => run.report.conflicts.push(issue),
                Err(Outcome::Failed(issue)) => run.report.failed.push(issue),
                Err(Outcome::Fatal(e)) => return Err(e),
            }
            if options.durability != Durability::Batched {
                run.flush(target)?;
            }
        }
        run.settle_meanwhile(target, meanwhile)?;
        if options.durability == Durability::Batched && run.wrote {
            sync_filesystem(root)?;
        }
        run.flush(target)?;
        Ok(run.report)
    })
}

/// A file write of the plan, as the applier takes it.
struct FileWrite<'p> {
    entry: &'p Entry,
    manifest: &'p FileManifest,
    missing_chunks: &'p [Digest],
}

/// How far an action got.
enum Progress {
    /// Completed.
    Done,
    /// Handed to the placing thread; its outcome arrives later.
    Placing,
}

/// Why an action did not complete.
enum Outcome {
    /// The user changed the path: reported as a conflict.
    Skipped(ApplyIssue),
    /// The action failed; the others continue.
    Failed(ApplyIssue),
    /// Stop everything (index failure, injected crash).
    Fatal(Error),
}

struct Run<'a> {
    root: &'a Path,
    source: &'a dyn ChunkSource,
    /// `source`, if the placing thread may read it too.
    shared: Option<&'a (dyn ChunkSource + Sync)>,
    options: &'a ApplyOptions,
    report: ApplyReport,
    /// Records not yet given to the target (all of them, under batched durability).
    pending: Vec<(Entry, Option<FileManifest>, Option<DiskStat>)>,
    wrote: bool,
    /// Paths whose actions completed, of those in `required`.
    done: HashSet<RelPath, foldhash::fast::RandomState>,
    /// Paths an index-only record of the plan depends on (usually none).
    required: HashSet<RelPath, foldhash::fast::RandomState>,
    /// Directories verified (real, not symlinks) during this run. Cleared whenever an action
    /// removes or replaces something that could be a directory.
    verified_dirs: VerifiedDirs,
    /// The thread placing small files, if this run uses one.
    placer: Option<Placer>,
    /// Chunks the plan fetches for more than one file: once the first is written, the others
    /// may find them locally.
    fetched_twice: HashSet<Digest, foldhash::fast::RandomState>,
}

/// The paths whose actions some [`Action::Record`] of `plan` requires to have completed.
fn paths_required(plan: &Plan) -> HashSet<RelPath, foldhash::fast::RandomState> {
    plan.actions
        .iter()
        .filter_map(|action| match action {
            Action::Record {
                requires: Some(required),
                ..
            } => Some(required.clone()),
            _ => None,
        })
        .collect()
}

/// The chunks listed as missing by more than one file write of `plan`.
fn chunks_fetched_twice(plan: &Plan) -> HashSet<Digest, foldhash::fast::RandomState> {
    let mut listed: HashSet<&Digest, foldhash::fast::RandomState> = HashSet::default();
    let mut twice = HashSet::default();
    for action in &plan.actions {
        if let Action::WriteFile { missing_chunks, .. } = action {
            for id in missing_chunks {
                if !listed.insert(id) {
                    twice.insert(*id);
                }
            }
        }
    }
    twice
}

impl Run<'_> {
    /// Notes that the action on `path` completed, if a record depends on it.
    fn completed(&mut self, path: &RelPath) {
        if self.required.contains(path) {
            self.done.insert(path.clone());
        }
    }

    fn flush(&mut self, target: &mut impl ApplyTarget) -> Result<()> {
        for (entry, manifest, stat) in self.pending.drain(..) {
            target.record_applied(&entry, manifest.as_ref(), stat.as_ref())?;
            self.report.recorded += 1;
        }
        Ok(())
    }

    /// Waits for every file in flight on the placing threads and takes in its outcome; every
    /// action that is not a small file write waits for this first, so actions still take
    /// effect in plan order.
    fn settle(&mut self, target: &impl ApplyTarget) -> Result<()> {
        if let Some(placer) = &mut self.placer {
            for placed in placer.settle()? {
                self.placed(placed, target);
            }
        }
        Ok(())
    }

    /// [`settle`](Self::settle), calling `meanwhile` first and after each file that comes
    /// back until it returns true.
    fn settle_meanwhile(
        &mut self,
        target: &impl ApplyTarget,
        meanwhile: &mut dyn FnMut() -> bool,
    ) -> Result<()> {
        let mut done = meanwhile();
        while !done {
            let Some(placer) = self.placer.as_mut() else {
                break;
            };
            let Some(placed) = placer.next_placed()? else {
                break;
            };
            self.placed(placed, target);
            done = meanwhile();
        }
        self.settle(target)
    }

    /// Takes in the outcome of one file from the placing thread.
    fn placed(&mut self, placed: Placed, target: &impl ApplyTarget) {
        let Placed {
            entry,
            manifest,
            local_bytes,
            result,
            unfetched,
            ..
        } = placed;
        if let Some(Unfetched { path, before }) = unfetched {
            // The shared source could not serve it whole: written here, from every source.
            let write = FileWrite {
                entry: &entry,
                manifest: &manifest,
                missing_chunks: &[],
            };
            let finish = Finish::Commit(self.durability());
            match self.write_here(write, &path, before, finish, target) {
                Ok(written) => {
                    self.completed(&entry.path);
                    self.wrote_file(entry, manifest, written.local_bytes, written.stat);
                }
                Err(Outcome::Skipped(issue)) => self.report.conflicts.push(issue),
                Err(Outcome::Failed(issue)) => self.report.failed.push(issue),
                Err(Outcome::Fatal(e)) => {
                    let kind = e.kind();
                    self.report
                        .failed
                        .push(issue(&entry.path, kind, e.to_string()));
                }
            }
            return;
        }
        match result {
            Ok(stat) => {
                self.completed(&entry.path);
                self.wrote_file(entry, manifest, local_bytes, stat);
            }
            Err(e) if e.kind() == ErrorKind::Conflict => {
                self.report
                    .conflicts
                    .push(issue(&entry.path, ErrorKind::Conflict, e.to_string()));
            }
            Err(e) => self
                .report
                .failed
                .push(issue(&entry.path, e.kind(), e.to_string())),
        }
    }

    fn record(&mut self, entry: &Entry, manifest: Option<&FileManifest>, stat: Option<DiskStat>) {
        self.pending.push((entry.clone(), manifest.cloned(), stat));
    }

    fn durability(&self) -> Durability {
        self.options.durability
    }

    fn path(&mut self, rel: &RelPath, create_parents: bool) -> Result<std::path::PathBuf, Outcome> {
        checked_path_cached(
            self.root,
            rel,
            create_parents,
            self.options.strict_names,
            &mut self.verified_dirs,
        )
        .map_err(|e| failed(rel, e))
    }

    fn action(
        &mut self,
        action: &Action,
        target: &mut impl ApplyTarget,
    ) -> Result<Progress, Outcome> {
        if let Action::WriteFile {
            entry,
            manifest,
            expected,
            missing_chunks,
        } = action
        {
            if manifest.size() <= MAX_PLACED_FILE && self.placer.is_some() {
                let write = FileWrite {
                    entry,
                    manifest,
                    missing_chunks,
                };
                return self.place_small_file(write, expected.as_ref(), target);
            }
        }
        self.settle(target).map_err(Outcome::Fatal)?;
        if matches!(
            action,
            Action::MakeSymlink { .. } | Action::RemoveDir { .. } | Action::Rename { .. }
        ) {
            self.verified_dirs.clear();
        }
        match action {
            Action::WriteFile {
                entry,
                manifest,
                expected,
                missing_chunks,
            } => {
                let (path, disk) = self.make_room(entry, expected.as_ref(), target)?;
                let finish = match &self.options.fault {
                    Some(Fault::CrashBeforeRename(p)) if p == &entry.path => {
                        Finish::CrashBeforeRename
                    }
                    _ => Finish::Commit(self.durability()),
                };
                let rel = &entry.path;
                let write = FileWrite {
                    entry,
                    manifest,
                    missing_chunks,
                };
                let written = self.write_here(write, &path, disk, finish, target)?;
                if matches!(&self.options.fault, Some(Fault::CrashAfterRename(p)) if p == rel) {
                    return Err(Outcome::Fatal(Error::Io {
                        path: Some(path.clone()),
                        source: io::Error::other("simulated crash after rename"),
                    }));
                }
                self.wrote_file(
                    entry.clone(),
                    manifest.clone(),
                    written.local_bytes,
                    written.stat,
                );
            }
            Action::MakeDir { entry, expected } => {
                let path = self.path(&entry.path, true)?;
                let disk = stat(&path, &entry.path)?;
                if disk.is_none_or(|d| d.kind != Some(EntryKind::Dir)) {
                    check_unchanged(target, &entry.path, &path, disk, expected.as_ref())?;
                    if disk.is_some() {
                        remove_file(&path, &entry.path)?;
                    }
                    fs::create_dir(&path).map_err(|e| failed(&entry.path, Error::io(&path, e)))?;
                    self.sync_parent(&path, &entry.path)?;
                    self.report.dirs_created += 1;
                }
                let now = stat(&path, &entry.path)?;
                self.record(entry, None, now);
            }
            Action::MakeSymlink { entry, expected } => {
                let path = self.path(&entry.path, true)?;
                let disk = stat(&path, &entry.path)?;
                check_unchanged(target, &entry.path, &path, disk, expected.as_ref())?;
                let link_target = entry.symlink_target.as_deref().ok_or_else(|| {
                    failed(&entry.path, Error::corrupt("symlink entry without target"))
                })?;
                if disk.is_some_and(|d| d.kind == Some(EntryKind::Dir)) {
                    fs::remove_dir(&path).map_err(|e| failed(&entry.path, Error::io(&path, e)))?;
                } else if disk.is_some() {
                    remove_file(&path, &entry.path)?;
                }
                make_symlink(link_target, &path).map_err(|e| failed(&entry.path, e))?;
                self.sync_parent(&path, &entry.path)?;
                self.wrote = true;
                self.report.symlinks_created += 1;
                let now = stat(&path, &entry.path)?;
                self.record(entry, None, now);
            }
            Action::Delete {
                tombstone,
                expected,
            } => {
                let path = self.path(&tombstone.path, false)?;
                let disk = stat(&path, &tombstone.path)?;
                if disk.is_some() {
                    check_unchanged(target, &tombstone.path, &path, disk, Some(expected))?;
                    remove_file(&path, &tombstone.path)?;
                    self.sync_parent(&path, &tombstone.path)?;
                    self.report.deleted += 1;
                }
                self.record(tombstone, None, None);
            }
            Action::RemoveDir {
                tombstone,
                expected,
            } => {
                let path = self.path(&tombstone.path, false)?;
                let disk = stat(&path, &tombstone.path)?;
                if disk.is_some() {
                    check_unchanged(target, &tombstone.path, &path, disk, Some(expected))?;
                    // Temp files left by a crash are ours to remove; anything else stays.
                    if disk.is_some_and(|d| d.kind == Some(EntryKind::Dir)) {
                        remove_temp_files_in(&path).map_err(|e| failed(&tombstone.path, e))?;
                    }
                    fs::remove_dir(&path).map_err(|e| {
                        if path.read_dir().is_ok_and(|mut d| d.next().is_some()) {
                            skipped(
                                &tombstone.path,
                                "directory still holds entries the plan does not delete".into(),
                            )
                        } else {
                            failed(&tombstone.path, Error::io(&path, e))
                        }
                    })?;
                    self.sync_parent(&path, &tombstone.path)?;
                    self.report.deleted += 1;
                }
                self.record(tombstone, None, None);
            }
            Action::Rename {
                from,
                to,
                tombstone,
            } => {
                let from_path = self.path(&from.path, false)?;
                let to_path = self.path(&to.path, true)?;
                let disk = stat(&from_path, &from.path)?;
                if disk.is_none() {
                    return Err(skipped(&from.path, "the file to rename is gone".into()));
                }
                check_unchanged(target, &from.path, &from_path, disk, Some(from))?;
                if stat(&to_path, &to.path)?.is_some() {
                    return Err(skipped(&to.path, "the rename destination exists".into()));
                }
                fs::rename(&from_path, &to_path)
                    .map_err(|e| failed(&to.path, Error::io(&to_path, e)))?;
                self.sync_parent(&to_path, &to.path)?;
                self.sync_parent(&from_path, &from.path)?;
                self.report.renamed += 1;
                let now = stat(&to_path, &to.path)?;
                self.record(to, None, now);
                if let Some(tombstone) = tombstone {
                    self.record(tombstone, None, None);
                }
            }
            Action::UpdateMetadata { entry, expected } => {
                let path = self.path(&entry.path, false)?;
                let disk = stat(&path, &entry.path)?;
                if disk.is_none() {
                    return Err(skipped(&entry.path, "the file is gone".into()));
                }
                check_unchanged(target, &entry.path, &path, disk, Some(expected))?;
                set_metadata(&path, entry).map_err(|e| failed(&entry.path, e))?;
                let now = stat(&path, &entry.path)?;
                self.record(entry, None, now);
            }
            Action::Record { entry, requires } => {
                if let Some(required) = requires {
                    if !self.done.contains(required) {
                        return Err(failed(
                            &entry.path,
                            Error::NotFound(format!(
                                "not recorded: it depends on {required}, which was not written"
                            )),
                        ));
                    }
                }
                self.record(entry, None, None);
            }
        }
        Ok(Progress::Done)
    }

    /// A small file write: checked here, read here or (from a shareable source) on a placing
    /// thread, and placed there.
    fn place_small_file(
        &mut self,
        write: FileWrite<'_>,
        expected: Option<&Entry>,
        target: &mut impl ApplyTarget,
    ) -> Result<Progress, Outcome> {
        let FileWrite {
            entry,
            manifest,
            missing_chunks,
        } = write;
        let (path, disk) = if expected.is_none_or(|e| e.deleted) {
            // Nothing of the user's is expected there: the placing thread's rename refuses to
            // replace whatever may have appeared, which also covers the time until then.
            (self.path(&entry.path, true)?, None)
        } else {
            self.make_room(entry, expected, target)?
        };
        let content = if self.fetched_on_placer(manifest, missing_chunks) {
            Content::Fetch
        } else {
            let gathered = self
                .with_sources(target, manifest, missing_chunks, |source| {
                    gather(entry, manifest, source)
                })
                .map_err(|e| failed(&entry.path, e))?;
            Content::Gathered(gathered)
        };
        let job = PlaceJob {
            path,
            entry: entry.clone(),
            manifest: manifest.clone(),
            content,
            before: disk,
            durability: self.durability(),
        };
        let Some(placer) = &mut self.placer else {
            return Err(Outcome::Fatal(Error::invalid("no placing thread")));
        };
        let finished = placer.submit(job).map_err(Outcome::Fatal)?;
        for placed in finished {
            self.placed(placed, target);
        }
        Ok(Progress::Placing)
    }

    /// Writes a file on this thread, streaming its chunks from every source; `before` is
    /// what was at `path` when the write was decided.
    fn write_here(
        &self,
        write: FileWrite<'_>,
        path: &Path,
        before: Option<DiskStat>,
        finish: Finish,
        target: &impl ApplyTarget,
    ) -> Result<Written, Outcome> {
        let FileWrite {
            entry,
            manifest,
            missing_chunks,
        } = write;
        let crash = matches!(finish, Finish::CrashBeforeRename);
        self.with_sources(target, manifest, missing_chunks, |source| {
            write_file(path, entry, manifest, source, finish, before)
        })
        .map_err(|e| match e.kind() {
            _ if crash => Outcome::Fatal(e),
            ErrorKind::Conflict => skipped(&entry.path, e.to_string()),
            _ => failed(&entry.path, e),
        })
    }

    /// The checked path of a file about to be written and what is there now: the target must
    /// still be what the index recorded, and an empty directory in the way is removed.
    fn make_room(
        &mut self,
        entry: &Entry,
        expected: Option<&Entry>,
        target: &impl ApplyTarget,
    ) -> Result<(std::path::PathBuf, Option<DiskStat>), Outcome> {
        let path = self.path(&entry.path, true)?;
        let disk = stat(&path, &entry.path)?;
        check_unchanged(target, &entry.path, &path, disk, expected)?;
        if disk.is_some_and(|d| d.kind == Some(EntryKind::Dir)) {
            self.settle(target).map_err(Outcome::Fatal)?;
            self.verified_dirs.clear();
            fs::remove_dir(&path).map_err(|e| failed(&entry.path, Error::io(&path, e)))?;
            return Ok((path, None));
        }
        Ok((path, disk))
    }

    /// Whether the placing thread reads this file: the caller's source is shareable and is
    /// where every chunk is looked for first (see [`Run::with_sources`]).
    fn fetched_on_placer(&self, manifest: &FileManifest, missing_chunks: &[Digest]) -> bool {
        self.shared.is_some()
            && manifest
                .chunks()
                .iter()
                .all(|c| missing_chunks.contains(&c.id) && !self.fetched_twice.contains(&c.id))
    }

    /// Runs `read` with the chunk source of a file write: chunks already in local files
    /// first, the caller's source for the rest, except that the chunks the plan found in no
    /// local file (`missing_chunks`) are asked of the caller's source first, unless another
    /// write of this plan brings them too.
    fn with_sources<R>(
        &self,
        target: &impl ApplyTarget,
        manifest: &FileManifest,
        missing_chunks: &[Digest],
        read: impl FnOnce(&dyn ChunkSource) -> R,
    ) -> R {
        let locator = TargetLocator(target);
        let local = LocalChunks::new(self.root, manifest.algo(), &locator);
        let sources = FetchFirst::new(&local, self.source, |id: &Digest| {
            missing_chunks.contains(id) && !self.fetched_twice.contains(id)
        });
        read(&sources)
    }

    /// Accounts for and records a file written.
    fn wrote_file(
        &mut self,
        entry: Entry,
        manifest: FileManifest,
        local_bytes: u64,
        stat: DiskStat,
    ) {
        self.wrote = true;
        self.report.files_written += 1;
        self.report.bytes_written += manifest.size();
        self.report.bytes_reused_locally += local_bytes;
        self.pending.push((entry, Some(manifest), Some(stat)));
    }

    fn sync_parent(&self, path: &Path, rel: &RelPath) -> Result<(), Outcome> {
        if self.durability() == Durability::PerFile {
            if let Some(dir) = path.parent() {
                sync_dir(dir).map_err(|e| failed(rel, e))?;
            }
        }
        Ok(())
    }
}

fn issue(path: &RelPath, kind: ErrorKind, message: String) -> ApplyIssue {
    ApplyIssue {
        path: path.clone(),
        kind,
        message,
    }
}

fn failed(path: &RelPath, e: Error) -> Outcome {
    Outcome::Failed(issue(path, e.kind(), e.to_string()))
}

fn skipped(path: &RelPath, message: String) -> Outcome {
    Outcome::Skipped(issue(path, ErrorKind::Conflict, message))
}

fn stat(path: &Path, rel: &RelPath) -> Result<Option<DiskStat>, Outcome> {
    DiskStat::of_path(path).map_err(|e| failed(rel, e))
}

fn remove_file(path: &Path, rel: &RelPath) -> Result<(), Outcome> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(failed(rel, Error::io(path, e))),
    }
}

/// Checks that what is on disk at `path` is what the index recorded for `expected`.
fn check_unchanged(
    target: &impl ApplyTarget,
    rel: &RelPath,
    path: &Path,
    disk: Option<DiskStat>,
    expected: Option<&Entry>,
) -> Result<(), Outcome> {
    let Some(disk) = disk else {
        // Nothing there: nothing of the user's can be lost.
        return Ok(());
    };
    let Some(expected) = expected.filter(|e| !e.deleted) else {
        return Err(skipped(
            rel,
            "a file the index does not know is in the way; left untouched".into(),
        ));
    };
    if disk.kind != Some(expected.kind) {
        return Err(skipped(
            rel,
            "the path changed kind since it was indexed".into(),
        ));
    }
    let unchanged = match expected.kind {
        EntryKind::Dir => true,
        EntryKind::Symlink => {
            fs::read_link(path)
                .ok()
                .and_then(|t| t.to_str().map(str::to_owned))
                == expected.symlink_target
        }
        EntryKind::File => match target.recorded_stat(rel).map_err(Outcome::Fatal)? {
            Some(recorded) => recorded.matches(&disk),
            None => disk.size == expected.size && disk.mtime_ns == expected.mtime_ns,
        },
    };
    if unchanged {
        Ok(())
    } else {
        Err(skipped(
            rel,
            "changed on disk since it was indexed; left untouched".into(),
        ))
    }
}

/// Sets `entry`'s executable bits and mtime on the file at `path`, through one descriptor
/// opened without following a symlink.
fn set_metadata(path: &Path, entry: &Entry) -> Result<()> {
    let file = open_nofollow(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().at_path(path)?.permissions().mode() & 0o777;
        let mode = with_exec_bits(mode, entry.executable);
        file.set_permissions(fs::Permissions::from_mode(mode))
            .at_path(path)?;
    }
    file.set_modified(time_of(entry.mtime_ns)).at_path(path)
}

fn make_symlink(link_target: &str, path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(link_target, path).at_path(path)
    }
    #[cfg(not(unix))]
    {
        let _ = (link_target, path);
        Err(Error::Unsupported("symlinks on this platform".into()))
    }
}

/// Removes syncore temp files (see [`is_temp_name`]) directly inside `dir`.
fn remove_temp_files_in(dir: &Path) -> Result<u64> {
    let mut removed = 0;
    for item in fs::read_dir(dir).at_path(dir)? {
        let item = item.at_path(dir)?;
        removed += u64::from(remove_if_temp(dir, &item)?);
    }
    Ok(removed)
}

/// Removes `item`, an entry of `dir`, if it is a syncore temp file; true if it was one.
fn remove_if_temp(dir: &Path, item: &fs::DirEntry) -> Result<bool> {
    let is_temp = item.file_name().to_str().is_some_and(is_temp_name);
    if is_temp && item.file_type().at_path(dir)?.is_file() {
        remove_file_ok(&item.path())?;
        return Ok(true);
    }
    Ok(false)
}

fn remove_file_ok(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// Removes the temp files a crash left anywhere under `root` (never following symlinks) and
/// returns how many there were. Run it when a replica is opened, before scanning; it must not
/// run while another apply is writing under the same root.
pub fn remove_stale_temp_files(root: &Path) -> Result<u64> {
    remove_stale_temp_files_except(root, None)
}

/// [`remove_stale_temp_files`], leaving the directory `skip` (a replica's state directory)
/// and everything below it alone.
pub fn remove_stale_temp_files_except(root: &Path, skip: Option<&Path>) -> Result<u64> {
    // One read of each directory: its temp files go, its subdirectories are visited after.
    let mut removed = 0;
    let mut subdirs = Vec::new();
    for item in fs::read_dir(root).at_path(root)? {
        let item = item.at_path(root)?;
        if item.file_type().at_path(root)?.is_dir() {
            let path = item.path();
            if skip != Some(path.as_path()) {
                subdirs.push(path);
            }
        } else {
            removed += u64::from(remove_if_temp(root, &item)?);
        }
    }
    for dir in subdirs {
        removed += remove_stale_temp_files_except(&dir, skip)?;
    }
    Ok(removed)
}

/// Flushes everything written under `root` to stable storage: `syncfs` of the root's
/// filesystem on Linux, `sync` on other Unix systems, nothing elsewhere.
pub fn sync_filesystem(root: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let dir = fs::File::open(root).at_path(root)?;
        // SAFETY: `dir` is an open descriptor for the duration of the call.
        let rc = unsafe { libc::syncfs(dir.as_raw_fd()) };
        if rc != 0 {
            return Err(Error::io(root, io::Error::last_os_error()));
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        let _ = root;
        // SAFETY: `sync` takes no arguments and cannot fail.
        unsafe { libc::sync() };
    }
    #[cfg(not(unix))]
    let _ = root;
    Ok(())
}
