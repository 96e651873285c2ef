//! The persistent replica: a working tree and its SQLite index (the core's `Replica`). Scan
//! and rescan the tree, ship change sets, plan and apply a peer's changes, and query history,
//! restore old versions, measure usage and collect garbage. Everything is forwarded to the
//! core; this module only converts arguments and results.

use std::ffi::{c_char, CString};
use std::path::PathBuf;
use std::time::Duration;

use syncore_core::apply::{ApplyOptions, ApplyReport, ChunkSource};
use syncore_core::index::{Retention, Version};
use syncore_core::scan::{RestoreSource, ScanReport, SkipReason};
use syncore_core::sync::{Plan, ReplicaId};
use syncore_core::{EntryKind, Error, RelPath, Replica, ReplicaOptions};

use crate::boundary::{
    arg_mut, arg_ref, arg_slice, arg_str, boundary, boundary_value, free_handle, into_handle,
    out_ptr, write_opt, FfiResult, Out,
};
use crate::buffers::{syncore_bytes, syncore_digest_list};
use crate::chunk::{chunker_from_config, syncore_chunker_config};
use crate::chunk_source::syncore_chunk_source;
use crate::exchange::{self, forward_to_inner, Peer};
use crate::hash::syncore_digest;
use crate::memory_replica::{
    apply_options, rel_path, syncore_apply_report, SYNCORE_REPLICA_ID_LEN,
};
use crate::plan::syncore_plan;
use crate::status::syncore_status;
use crate::store::syncore_store;
use crate::sync::syncore_sync_options;

/// How `syncore_replica_open` opens a replica. Start from `syncore_replica_options_default`
/// and change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct syncore_replica_options {
    /// Directory of the index (NUL-terminated UTF-8), borrowed for the call only; NULL for
    /// the default, `<root>/.syncore`. A state directory inside the root is never scanned.
    pub state_dir: *const c_char,
    /// How files are cut into chunks and hashed. Its `algo` is fixed when the index is
    /// created; its `threads` is the number of hashing threads (0: all cores).
    pub chunker: syncore_chunker_config,
    /// Maximum unique chunk bytes across live and retained versions; 0 for no quota. A scan
    /// or apply that would exceed it fails with `SYNCORE_STATUS_QUOTA_EXCEEDED`.
    pub quota_bytes: u64,
    /// Keep at most this many versions of each path in history, the current one included;
    /// 0 for no limit.
    pub retention_max_versions: u32,
    /// Drop history versions older than this many seconds (never a path's current version);
    /// 0 for no limit.
    pub retention_max_age_secs: u64,
    /// Skip the default temporary and system names (default true).
    pub ignore_defaults: bool,
    /// Files modified within this many milliseconds of a scan's start are hashed again by
    /// the next scan (default 20).
    pub timestamp_granularity_ms: u64,
    /// Run SQLite's integrity check when opening (default true).
    pub check_integrity: bool,
}

impl Default for syncore_replica_options {
    fn default() -> Self {
        let d = ReplicaOptions::default();
        syncore_replica_options {
            state_dir: std::ptr::null(),
            chunker: syncore_chunker_config::default(),
            quota_bytes: 0,
            retention_max_versions: 0,
            retention_max_age_secs: 0,
            ignore_defaults: d.ignore_defaults,
            timestamp_granularity_ms: d.timestamp_granularity.as_millis() as u64,
            check_integrity: d.check_integrity,
        }
    }
}

/// The core retention for the C fields (0: no limit).
pub(crate) fn retention(max_versions: u32, max_age_secs: u64) -> Retention {
    Retention {
        max_versions: (max_versions != 0).then_some(max_versions),
        max_age: (max_age_secs != 0).then(|| Duration::from_secs(max_age_secs)),
    }
}

fn replica_options(o: &syncore_replica_options) -> FfiResult<ReplicaOptions> {
    let state_dir = if o.state_dir.is_null() {
        None
    } else {
        // SAFETY: non-NULL, and the header asks for a NUL-terminated string.
        Some(PathBuf::from(unsafe {
            arg_str(o.state_dir, "options->state_dir")
        }?))
    };
    let chunker = chunker_from_config(&o.chunker)?;
    Ok(ReplicaOptions {
        chunker: *chunker.config(),
        hash: chunker.algo(),
        state_dir,
        retention: retention(o.retention_max_versions, o.retention_max_age_secs),
        quota_bytes: (o.quota_bytes != 0).then_some(o.quota_bytes),
        ignore_defaults: o.ignore_defaults,
        threads: (o.chunker.threads != 0).then_some(o.chunker.threads as usize),
        timestamp_granularity: Duration::from_millis(o.timestamp_granularity_ms),
        check_integrity: o.check_integrity,
        ..ReplicaOptions::default()
    })
}

/// Writes the default replica options (index in `<root>/.syncore`, default chunker, BLAKE3,
/// no quota, unlimited history, default ignores, integrity check on) to `*out` (only on
/// success).
#[no_mangle]
pub extern "C" fn syncore_replica_options_default(
    out: *mut syncore_replica_options,
) -> syncore_status {
    boundary(|| {
        out_ptr(out, "out")?.write(syncore_replica_options::default());
        Ok(())
    })
}

/// One replica: a root directory and its SQLite index, opened with an exclusive lock (a
/// second open of the same index, from this or another process, fails with
/// `SYNCORE_STATUS_BUSY` until this one is freed). Not for concurrent use: calls on one
/// replica must not overlap. Released with `syncore_replica_free`, which closes the index.
pub struct syncore_replica {
    pub(crate) inner: Replica,
}

impl Peer for syncore_replica {
    const NAME: &'static str = "replica";
    type ApplyOptions = ApplyOptions;

    forward_to_inner!();

    fn apply(
        &mut self,
        plan: &Plan,
        source: &dyn ChunkSource,
        options: &ApplyOptions,
    ) -> syncore_core::Result<ApplyReport> {
        self.inner.apply(plan, source, options)
    }
    fn exclude(this: *mut Self) -> *const syncore_replica {
        this.cast_const()
    }
}

/// Opens the replica whose working tree is the existing directory `root` (NUL-terminated
/// UTF-8), creating its index on first use, with `*options` (NULL for the defaults), and
/// writes it to `*out` (owned by the caller, released with `syncore_replica_free`; written
/// only on success). Fails with `SYNCORE_STATUS_BUSY` if the index is open elsewhere,
/// `SYNCORE_STATUS_CORRUPT` for a damaged index, `SYNCORE_STATUS_INVALID_UTF8` for a path
/// that is not UTF-8 and `SYNCORE_STATUS_INVALID_INPUT` for bad options.
#[no_mangle]
pub extern "C" fn syncore_replica_open(
    root: *const c_char,
    options: *const syncore_replica_options,
    out: *mut *mut syncore_replica,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a NUL-terminated string.
        let root = unsafe { arg_str(root, "root") }?;
        // SAFETY: NULL or a valid options struct.
        let options = unsafe { options.as_ref() }.copied().unwrap_or_default();
        let inner = Replica::open(root, replica_options(&options)?)?;
        out.write(into_handle(syncore_replica { inner }));
        Ok(())
    })
}

/// Closes the index and releases `replica`. NULL is a no-op. Chunk sources that borrowed it
/// must not be used afterwards.
#[no_mangle]
pub extern "C" fn syncore_replica_free(replica: *mut syncore_replica) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(replica) })
}

/// Writes the replica's permanent id, `SYNCORE_REPLICA_ID_LEN` bytes, to `out_id` (only on
/// success). Peers pass it to `syncore_replica_synced_cursor`.
#[no_mangle]
pub extern "C" fn syncore_replica_id(
    replica: *const syncore_replica,
    out_id: *mut u8,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out_id, "out_id")?;
        // SAFETY: NULL or a live replica.
        let replica = unsafe { arg_ref(replica, "replica") }?;
        write_id(out, replica.inner.replica_id());
        Ok(())
    })
}

/// Copies a replica id to an out-buffer of `SYNCORE_REPLICA_ID_LEN` bytes.
pub(crate) fn write_id(out: Out<u8>, id: ReplicaId) {
    let id = id.as_bytes();
    // SAFETY: `out` is non-NULL and the header asks for SYNCORE_REPLICA_ID_LEN writable bytes;
    // `id` is our own array.
    unsafe { std::ptr::copy_nonoverlapping(id.as_ptr(), out.into_raw(), id.len()) };
}

/// Reads a replica id from `SYNCORE_REPLICA_ID_LEN` bytes at `ptr`.
pub(crate) fn read_id(ptr: *const u8, name: &'static str) -> FfiResult<ReplicaId> {
    // SAFETY: NULL or SYNCORE_REPLICA_ID_LEN readable bytes, per the header.
    let bytes = unsafe { arg_slice(ptr, SYNCORE_REPLICA_ID_LEN, name) }?;
    let mut id = [0u8; SYNCORE_REPLICA_ID_LEN];
    id.copy_from_slice(bytes);
    Ok(ReplicaId::from_bytes(id))
}

// ---------------------------------------------------------------------------------------
// Scans.

/// Which list of a scan report `syncore_scan_report_get` reads.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum syncore_scan_list {
    /// New paths (not counting move targets).
    Added = 1,
    /// Paths whose content, kind, symlink target or executable bit changed.
    Modified = 2,
    /// Paths now recorded as deleted (not counting move sources).
    Deleted = 3,
    /// Detected moves: `from_path` to `path`.
    Moved = 4,
    /// Paths not recorded; `reason` says why.
    Skipped = 5,
    /// Files that changed while being hashed: not recorded, retried by the next scan;
    /// `detail` says what happened.
    Retries = 6,
}

/// Why a scan skipped a path (the `reason` of a `syncore_scan_item` from the skipped list).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum syncore_skip_reason {
    /// Its name is not valid UTF-8.
    NonUtf8Name = 1,
    /// Its name is not an acceptable replica path; `detail` says why.
    InvalidName = 2,
    /// Another name in the same directory has the same NFC form.
    NormalizationCollision = 3,
    /// A symlink whose target is not valid UTF-8.
    NonUtf8SymlinkTarget = 4,
    /// A socket, device or FIFO.
    UnsupportedType = 5,
    /// It could not be read; `detail` is the error.
    Unreadable = 6,
}

/// How many paths each list of a scan report holds.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct syncore_scan_counts {
    /// New paths (not counting move targets).
    pub added: u64,
    /// Changed paths.
    pub modified: u64,
    /// Deleted paths (not counting move sources).
    pub deleted: u64,
    /// Detected moves.
    pub moved: u64,
    /// Paths found unchanged.
    pub unchanged: u64,
    /// Paths skipped by ignore rules and default names.
    pub ignored: u64,
    /// Paths not recorded (see `SYNCORE_SCAN_LIST_SKIPPED`).
    pub skipped: u64,
    /// Files to retry next scan (see `SYNCORE_SCAN_LIST_RETRIES`).
    pub retries: u64,
    /// Bytes read and hashed.
    pub bytes_hashed: u64,
}

/// One item of a scan report list, as read by `syncore_scan_report_get`. The strings belong
/// to the report and stay valid until `syncore_scan_report_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct syncore_scan_item {
    /// The relative path, NUL-terminated; for skipped paths, the full path on disk (which
    /// may not be a valid replica path), lossily made UTF-8.
    pub path: *const c_char,
    /// For moves, the old path; NULL otherwise.
    pub from_path: *const c_char,
    /// For skipped paths, a `syncore_skip_reason` value; 0 otherwise.
    pub reason: u8,
    /// For skipped paths with an explanation and for retries, the text; NULL otherwise.
    pub detail: *const c_char,
}

/// An item's strings, made once so C can borrow them.
struct Item {
    path: CString,
    from: Option<CString>,
    reason: u8,
    detail: Option<CString>,
}

/// A C string from text that may hold NUL bytes (replaced, as in error messages).
fn c_text(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

/// What a scan found and recorded. Immutable; released with `syncore_scan_report_free`.
pub struct syncore_scan_report {
    counts: syncore_scan_counts,
    lists: [Vec<Item>; 6],
}

impl syncore_scan_report {
    fn new(r: ScanReport) -> Self {
        let plain = |v: &[RelPath]| -> Vec<Item> {
            v.iter()
                .map(|p| Item {
                    path: c_text(p.as_str()),
                    from: None,
                    reason: 0,
                    detail: None,
                })
                .collect()
        };
        let moved = r
            .moved
            .iter()
            .map(|m| Item {
                path: c_text(m.to.as_str()),
                from: Some(c_text(m.from.as_str())),
                reason: 0,
                detail: None,
            })
            .collect();
        let skipped = r
            .skipped
            .iter()
            .map(|s| {
                let (reason, detail) = match &s.reason {
                    SkipReason::NonUtf8Name => (syncore_skip_reason::NonUtf8Name, None),
                    SkipReason::InvalidName(why) => {
                        (syncore_skip_reason::InvalidName, Some(c_text(why)))
                    }
                    SkipReason::NormalizationCollision => {
                        (syncore_skip_reason::NormalizationCollision, None)
                    }
                    SkipReason::NonUtf8SymlinkTarget => {
                        (syncore_skip_reason::NonUtf8SymlinkTarget, None)
                    }
                    SkipReason::UnsupportedType => (syncore_skip_reason::UnsupportedType, None),
                    SkipReason::Unreadable(why) => {
                        (syncore_skip_reason::Unreadable, Some(c_text(why)))
                    }
                };
                Item {
                    path: c_text(&s.path),
                    from: None,
                    reason: reason as u8,
                    detail,
                }
            })
            .collect();
        let retries = r
            .retries
            .iter()
            .map(|t| Item {
                path: c_text(t.path.as_str()),
                from: None,
                reason: 0,
                detail: Some(c_text(&t.reason)),
            })
            .collect();
        let counts = syncore_scan_counts {
            added: r.added.len() as u64,
            modified: r.modified.len() as u64,
            deleted: r.deleted.len() as u64,
            moved: r.moved.len() as u64,
            unchanged: r.unchanged,
            ignored: r.ignored,
            skipped: r.skipped.len() as u64,
            retries: r.retries.len() as u64,
            bytes_hashed: r.bytes_hashed,
        };
        syncore_scan_report {
            counts,
            lists: [
                plain(&r.added),
                plain(&r.modified),
                plain(&r.deleted),
                moved,
                skipped,
                retries,
            ],
        }
    }
}

fn report_out(out: Out<*mut syncore_scan_report>, report: ScanReport) {
    out.write(into_handle(syncore_scan_report::new(report)));
}

/// Scans the whole working tree, records every change in the index (then applies history
/// retention), and writes what it found to `*out` (owned by the caller, released with
/// `syncore_scan_report_free`; written only on success). Paths that cannot be recorded are
/// listed in the report, not failures.
#[no_mangle]
pub extern "C" fn syncore_replica_scan(
    replica: *mut syncore_replica,
    out: *mut *mut syncore_scan_report,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live replica not used concurrently.
        let replica = unsafe { arg_mut(replica, "replica") }?;
        report_out(out, replica.inner.scan()?);
        Ok(())
    })
}

/// Scans only the `count` relative paths at `paths` (NUL-terminated UTF-8, `/`-separated;
/// directories recursively), e.g. those a watcher reported, and writes the report to `*out`
/// (owned by the caller, released with `syncore_scan_report_free`; written only on success).
/// `paths` may be NULL when `count` is 0.
#[no_mangle]
pub extern "C" fn syncore_replica_rescan(
    replica: *mut syncore_replica,
    paths: *const *const c_char,
    count: usize,
    out: *mut *mut syncore_scan_report,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live replica not used concurrently.
        let replica = unsafe { arg_mut(replica, "replica") }?;
        // SAFETY: the caller passes `count` string pointers at `paths`.
        let ptrs = unsafe { arg_slice(paths, count, "paths") }?;
        let paths = ptrs
            .iter()
            .map(|&p| rel_path(p))
            .collect::<FfiResult<Vec<_>>>()?;
        report_out(out, replica.inner.rescan(&paths)?);
        Ok(())
    })
}

/// Writes the number of paths in each list of `report` to `*out` (only on success).
#[no_mangle]
pub extern "C" fn syncore_scan_report_counts(
    report: *const syncore_scan_report,
    out: *mut syncore_scan_counts,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live report.
        let report = unsafe { arg_ref(report, "report") }?;
        out.write(report.counts);
        Ok(())
    })
}

/// Reads item `index` of the list `list` (a `syncore_scan_list` value) of `report` into
/// `*out` (only on success); `SYNCORE_STATUS_INVALID_INPUT` for an unknown list or an index
/// out of range. The strings belong to the report.
#[no_mangle]
pub extern "C" fn syncore_scan_report_get(
    report: *const syncore_scan_report,
    list: u8,
    index: usize,
    out: *mut syncore_scan_item,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live report.
        let report = unsafe { arg_ref(report, "report") }?;
        let items = match list {
            1..=6 => &report.lists[usize::from(list - 1)],
            other => {
                return Err(Error::InvalidInput(format!(
                    "list: {other} is not a syncore_scan_list"
                ))
                .into())
            }
        };
        let item = items.get(index).ok_or_else(|| {
            Error::InvalidInput(format!(
                "index {index} out of range (the list has {} items)",
                items.len()
            ))
        })?;
        let opt = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
        out.write(syncore_scan_item {
            path: item.path.as_ptr(),
            from_path: opt(&item.from),
            reason: item.reason,
            detail: opt(&item.detail),
        });
        Ok(())
    })
}

/// Releases `report` and the strings it lent out. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_scan_report_free(report: *mut syncore_scan_report) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(report) })
}

// ---------------------------------------------------------------------------------------
// The sync exchange.

/// Encodes everything this replica recorded after `cursor` (the peer's
/// `syncore_replica_synced_cursor` of this replica; 0 for everything), tombstones included,
/// as change-set bytes to ship to the peer, written to `*out` (owned by the caller, released
/// with `syncore_bytes_free`). The peer's next cursor (the bytes carry it too) goes to
/// `*out_cursor`, which may be NULL. Both are written only on success.
#[no_mangle]
pub extern "C" fn syncore_replica_changes_since(
    replica: *const syncore_replica,
    cursor: u64,
    out: *mut *mut syncore_bytes,
    out_cursor: *mut u64,
) -> syncore_status {
    exchange::changes_since(replica, cursor, out, out_cursor)
}

/// `syncore_replica_changes_since` for the peer whose id is the `SYNCORE_REPLICA_ID_LEN`
/// bytes at `peer`: the versions this replica took from that peer exactly as the peer sent
/// them are left out (they would only echo back), and the change set then starts after them.
/// Same outputs, written only on success.
#[no_mangle]
pub extern "C" fn syncore_replica_changes_for(
    replica: *const syncore_replica,
    peer: *const u8,
    cursor: u64,
    out: *mut *mut syncore_bytes,
    out_cursor: *mut u64,
) -> syncore_status {
    exchange::changes_for(replica, peer, "peer", cursor, out, out_cursor)
}

/// Decodes a peer's change-set bytes (`len` bytes at `data`, as made by
/// `syncore_replica_changes_since` or `syncore_hub_changes_since`) and plans what this
/// replica must do to take them in under `*options` (NULL for the defaults). Pure: reads the
/// index, touches nothing. The plan is written to `*out` (owned by the caller, released with
/// `syncore_plan_free`; written only on success); walk it with `syncore_plan_action_get` and
/// list what to fetch with `syncore_plan_missing_chunks`. Damaged bytes fail with
/// `SYNCORE_STATUS_CORRUPT` (`UNSUPPORTED` for an unknown format version); an unconfirmed
/// mass deletion with `SYNCORE_STATUS_CONFLICT`.
#[no_mangle]
pub extern "C" fn syncore_replica_plan(
    replica: *const syncore_replica,
    data: *const u8,
    len: usize,
    options: *const syncore_sync_options,
    out: *mut *mut syncore_plan,
) -> syncore_status {
    exchange::plan(replica, data, len, options, out)
}

/// Performs `plan` (made by `syncore_replica_plan` on this replica) in the working tree,
/// reading chunks from this replica's own files first and from `source` otherwise, and
/// records every applied change in the index in one transaction. `durability` is a
/// `syncore_durability` value. Per-action problems (a chunk no layer has, a file the user
/// changed since planning) do not fail the call: they are counted in `*out_report`
/// (`conflicts`, `failed`; may be NULL). When both are 0 the plan was applied completely and
/// this replica remembers the plan's cursor for its source
/// (`syncore_replica_synced_cursor`); otherwise the next exchange simply retries.
#[no_mangle]
pub extern "C" fn syncore_replica_apply(
    replica: *mut syncore_replica,
    plan: *const syncore_plan,
    source: *const syncore_chunk_source,
    durability: u8,
    out_report: *mut syncore_apply_report,
) -> syncore_status {
    exchange::apply(
        replica,
        plan,
        source,
        || apply_options(durability),
        out_report,
    )
}

/// Writes how far this replica has taken in the journal of the replica (or hub) whose id is
/// the `SYNCORE_REPLICA_ID_LEN` bytes at `peer` to `*out` (only on success): the cursor to
/// pass to the peer's `_changes_since` (0 if never synced).
#[no_mangle]
pub extern "C" fn syncore_replica_synced_cursor(
    replica: *const syncore_replica,
    peer: *const u8,
    out: *mut u64,
) -> syncore_status {
    exchange::synced_cursor(replica, peer, "peer", out)
}

/// Removes temp files a crashed apply left in the working tree; run it after opening a
/// replica that may have crashed. On success writes how many were removed to `*out_removed`
/// (may be NULL).
#[no_mangle]
pub extern "C" fn syncore_replica_remove_stale_temp_files(
    replica: *const syncore_replica,
    out_removed: *mut u64,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live replica.
        let replica = unsafe { arg_ref(replica, "replica") }?;
        write_opt(out_removed, replica.inner.remove_stale_temp_files()?);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// History, restore, usage, gc.

/// What an entry is (the `kind` of a `syncore_history_version`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum syncore_entry_kind {
    /// A regular file.
    File = 1,
    /// A directory.
    Dir = 2,
    /// A symbolic link.
    Symlink = 3,
}

impl From<EntryKind> for syncore_entry_kind {
    fn from(k: EntryKind) -> Self {
        match k {
            EntryKind::File => syncore_entry_kind::File,
            EntryKind::Dir => syncore_entry_kind::Dir,
            EntryKind::Symlink => syncore_entry_kind::Symlink,
        }
    }
}

/// One retained version of a path, as read by `syncore_history_get`. The string belongs to
/// the history and stays valid until `syncore_history_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct syncore_history_version {
    /// The local sequence number of the change; pass it to `syncore_replica_restore`.
    pub seq: u64,
    /// When it was recorded, nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// A `syncore_entry_kind` value.
    pub kind: u8,
    /// Size in bytes (files).
    pub size: u64,
    /// The owner-executable bit.
    pub executable: bool,
    /// True if this version is a deletion.
    pub deleted: bool,
    /// True if `content_id` holds the content id of a file's version.
    pub has_content_id: bool,
    /// The file's content id when `has_content_id`; zeros otherwise.
    pub content_id: syncore_digest,
    /// Where a symlink pointed (NUL-terminated); NULL for other kinds.
    pub symlink_target: *const c_char,
}

/// The retained versions of one path, newest first. Immutable; released with
/// `syncore_history_free`.
pub struct syncore_history {
    versions: Vec<Version>,
    targets: Vec<Option<CString>>,
}

/// Writes every retained version of the relative `path` (NUL-terminated UTF-8), newest first,
/// to `*out` (owned by the caller, released with `syncore_history_free`; written only on
/// success). A path with no history gives an empty list.
#[no_mangle]
pub extern "C" fn syncore_replica_history(
    replica: *const syncore_replica,
    path: *const c_char,
    out: *mut *mut syncore_history,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live replica.
        let replica = unsafe { arg_ref(replica, "replica") }?;
        let path = rel_path(path)?;
        let versions = replica.inner.history(&path)?;
        let targets = versions
            .iter()
            .map(|v| v.symlink_target.as_deref().map(c_text))
            .collect();
        out.write(into_handle(syncore_history { versions, targets }));
        Ok(())
    })
}

/// The number of versions in `history` (0 if NULL).
#[no_mangle]
pub extern "C" fn syncore_history_len(history: *const syncore_history) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live history.
        unsafe { history.as_ref() }.map_or(0, |h| h.versions.len())
    })
}

/// Reads version `index` (0 is the newest) of `history` into `*out` (only on success);
/// `SYNCORE_STATUS_INVALID_INPUT` if `index` is out of range.
#[no_mangle]
pub extern "C" fn syncore_history_get(
    history: *const syncore_history,
    index: usize,
    out: *mut syncore_history_version,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live history.
        let history = unsafe { arg_ref(history, "history") }?;
        let v = history.versions.get(index).ok_or_else(|| {
            Error::InvalidInput(format!(
                "index {index} out of range (the history has {} versions)",
                history.versions.len()
            ))
        })?;
        out.write(syncore_history_version {
            seq: v.seq,
            time_ns: v.time_ns,
            kind: syncore_entry_kind::from(v.kind) as u8,
            size: v.size,
            executable: v.executable,
            deleted: v.deleted,
            has_content_id: v.content_id.is_some(),
            content_id: v.content_id.map(Into::into).unwrap_or_default(),
            symlink_target: history.targets[index]
                .as_ref()
                .map_or(std::ptr::null(), |t| t.as_ptr()),
        });
        Ok(())
    })
}

/// Releases `history` and the strings it lent out. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_history_free(history: *mut syncore_history) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(history) })
}

/// Brings version `seq` (from `syncore_replica_history`) of the relative `path` back into
/// the working tree and records it as a new local change. Chunks come from `store` (borrowed
/// for the call), or from this replica's live files when `store` is NULL; every chunk and the
/// assembled file are verified, and on any mismatch the working tree is left untouched. On
/// success writes the new local sequence number to `*out_seq` (may be NULL). Fails with
/// `SYNCORE_STATUS_NOT_FOUND` for an unknown version or a chunk no source has,
/// `SYNCORE_STATUS_INVALID_INPUT` for a version that is not a file's content.
#[no_mangle]
pub extern "C" fn syncore_replica_restore(
    replica: *mut syncore_replica,
    path: *const c_char,
    seq: u64,
    store: *const syncore_store,
    out_seq: *mut u64,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live replica not used concurrently.
        let replica = unsafe { arg_mut(replica, "replica") }?;
        let path = rel_path(path)?;
        // SAFETY: NULL or a live store.
        let store = unsafe { store.as_ref() };
        let source = match store {
            Some(s) => RestoreSource::Store(&**s.as_chunk_store()),
            None => RestoreSource::Local,
        };
        let entry = replica.inner.restore(&path, seq, source)?;
        write_opt(out_seq, entry.seq);
        Ok(())
    })
}

/// Logical and deduplicated sizes of a replica's live and retained versions.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct syncore_usage {
    /// Live (not deleted) files.
    pub live_files: u64,
    /// Sum of live file sizes.
    pub live_bytes: u64,
    /// Sum of sizes over every retained file version (what storing them whole would cost).
    pub logical_bytes: u64,
    /// Distinct chunks referenced by retained versions.
    pub unique_chunks: u64,
    /// Sum of the lengths of those chunks (what content-addressed storage costs).
    pub unique_chunk_bytes: u64,
    /// `logical_bytes / unique_chunk_bytes` (1.0 when nothing is stored).
    pub dedup_ratio: f64,
}

/// Writes the replica's logical and deduplicated sizes to `*out` (only on success).
#[no_mangle]
pub extern "C" fn syncore_replica_usage(
    replica: *const syncore_replica,
    out: *mut syncore_usage,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live replica.
        let replica = unsafe { arg_ref(replica, "replica") }?;
        let u = replica.inner.usage()?;
        out.write(syncore_usage {
            live_files: u.live_files,
            live_bytes: u.live_bytes,
            logical_bytes: u.logical_bytes,
            unique_chunks: u.unique_chunks,
            unique_chunk_bytes: u.unique_chunk_bytes,
            dedup_ratio: u.dedup_ratio,
        });
        Ok(())
    })
}

/// What `syncore_replica_gc` found and did.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct syncore_gc_report {
    /// Chunks no retained version references any more.
    pub unreferenced_chunks: u64,
    /// Their total length.
    pub unreferenced_bytes: u64,
    /// How many of them were deleted from the given store.
    pub deleted_from_store: u64,
}

/// Finds the chunks no live or retained version references any more and forgets them,
/// deleting them from `store` too when it is not NULL (borrowed for the call; e.g. the
/// store the application backs this replica's chunks up to). On success writes the counts
/// to `*out_report` and the unreferenced chunk ids to `*out_unreferenced` (owned by the
/// caller, released with `syncore_digest_list_free`); either may be NULL if not wanted.
#[no_mangle]
pub extern "C" fn syncore_replica_gc(
    replica: *mut syncore_replica,
    store: *const syncore_store,
    out_report: *mut syncore_gc_report,
    out_unreferenced: *mut *mut syncore_digest_list,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live replica not used concurrently.
        let replica = unsafe { arg_mut(replica, "replica") }?;
        // SAFETY: NULL or a live store.
        let store = unsafe { store.as_ref() };
        let g = replica
            .inner
            .gc(store.map(|s| &**s.as_chunk_store() as &dyn syncore_core::ChunkStore))?;
        write_opt(
            out_report,
            syncore_gc_report {
                unreferenced_chunks: g.unreferenced.len() as u64,
                unreferenced_bytes: g.unreferenced_bytes,
                deleted_from_store: g.deleted_from_store,
            },
        );
        if !out_unreferenced.is_null() {
            let items = g.unreferenced.into_iter().map(Into::into).collect();
            write_opt(out_unreferenced, into_handle(syncore_digest_list { items }));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_options_are_the_core_defaults() {
        let c = replica_options(&syncore_replica_options::default()).unwrap();
        let core = ReplicaOptions::default();
        assert_eq!(c.chunker, core.chunker);
        assert_eq!(c.hash, core.hash);
        assert_eq!(c.state_dir, core.state_dir);
        assert_eq!(c.retention, core.retention);
        assert_eq!(c.quota_bytes, core.quota_bytes);
        assert_eq!(c.ignore_defaults, core.ignore_defaults);
        assert_eq!(c.timestamp_granularity, core.timestamp_granularity);
        assert_eq!(c.check_integrity, core.check_integrity);
        let r = retention(3, 60);
        assert_eq!(r.max_versions, Some(3));
        assert_eq!(r.max_age, Some(Duration::from_secs(60)));
    }

    #[test]
    fn null_handles_fail_with_a_status() {
        let mut out = std::ptr::null_mut();
        assert_eq!(
            syncore_replica_scan(std::ptr::null_mut(), &mut out),
            syncore_status::NullArgument
        );
        assert!(out.is_null());
        let mut report = syncore_apply_report::default();
        assert_eq!(
            syncore_replica_apply(
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                1,
                &mut report
            ),
            syncore_status::NullArgument
        );
        assert_eq!(syncore_history_len(std::ptr::null()), 0);
        syncore_replica_free(std::ptr::null_mut());
    }
}
