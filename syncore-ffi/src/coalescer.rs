//! The watcher-event coalescer: push raw filesystem events, poll settled paths to rescan.

use std::ffi::{c_char, CString};
use std::time::Duration;

use syncore_core::scan::{
    CoalescerConfig, EventCoalescer, SettledChange, WatchEvent, WatchEventKind,
};
use syncore_core::{Error, RelPath};

use crate::boundary::{
    arg_mut, arg_ref, arg_str, boundary, boundary_value, free_handle, into_handle, out_ptr,
    FfiResult,
};
use crate::status::syncore_status;

/// What a watcher reported: the `kind` of a `syncore_watch_event`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum syncore_watch_kind {
    /// The path was created.
    Create = 1,
    /// The path's content or metadata changed.
    Modify = 2,
    /// The path was removed.
    Remove = 3,
    /// The entry at `from_path` was renamed to `path` (both halves known).
    Rename = 4,
    /// First half of a rename: `path` is the old name; pairs with a `RENAME_TO` carrying the
    /// same cookie (or, without cookies, the very next event).
    RenameFrom = 5,
    /// Second half of a rename: `path` is the new name.
    RenameTo = 6,
    /// Something happened at the path, kind unknown.
    Any = 7,
    /// The watcher lost events at or under the path (queue overflow); at the root (`path`
    /// NULL) this asks for a full rescan.
    RescanNeeded = 8,
}

/// What to do about a settled path: the kind of an entry of a `syncore_change_list`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum syncore_change_kind {
    /// The watcher lost track: scan the whole root (the entry has no path, and comes alone).
    FullRescan = 1,
    /// Look at this one path.
    Rescan = 2,
    /// Walk the subtree at this path.
    RescanTree = 3,
    /// The path and everything under it is gone as far as the watcher knows.
    Removed = 4,
}

/// One raw event from a filesystem watcher. Times are milliseconds on any clock the
/// application picks, the same one it passes to `syncore_coalescer_poll`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct syncore_watch_event {
    /// When the event was seen.
    pub at_ms: u64,
    /// A `syncore_watch_kind` value.
    pub kind: u8,
    /// Whether the path is a directory: 1 yes, 0 no, -1 unknown.
    pub is_dir: i8,
    /// Whether `cookie` is meaningful (for `RENAME_FROM` / `RENAME_TO`).
    pub has_cookie: bool,
    /// The backend's rename cookie, if `has_cookie`.
    pub cookie: u64,
    /// NUL-terminated UTF-8 path relative to the replica root, `/`-separated; NULL for the
    /// root itself. Borrowed for the duration of the call only.
    pub path: *const c_char,
    /// For `SYNCORE_WATCH_KIND_RENAME`: the old path (borrowed); ignored otherwise.
    pub from_path: *const c_char,
}

/// Tuning for `syncore_coalescer_new`; start from `syncore_coalescer_config_default`. The
/// ignore lists are the core's defaults (editor temp files, OS metadata, trash folders,
/// syncore's own state directory).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct syncore_coalescer_config {
    /// How long a path must see no events before it is reported (default 2000).
    pub quiet_period_ms: u64,
    /// A path that keeps changing is reported this long after its first event (default 60000).
    pub max_delay_ms: u64,
    /// How long `syncore_coalescer_expect_own_write` suppresses a path (default 5000).
    pub own_write_window_ms: u64,
    /// More pending paths than this collapse into one full rescan (default 100000).
    pub max_pending: u64,
}

impl Default for syncore_coalescer_config {
    fn default() -> Self {
        let d = CoalescerConfig::default();
        syncore_coalescer_config {
            quiet_period_ms: millis(d.quiet_period),
            max_delay_ms: millis(d.max_delay),
            own_write_window_ms: millis(d.own_write_window),
            max_pending: d.max_pending as u64,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A sans-IO state machine that turns noisy watcher events into a short list of settled
/// paths. Owns no thread or timer: the application passes the time. Not for concurrent use.
/// Released with `syncore_coalescer_free`.
pub struct syncore_coalescer {
    inner: EventCoalescer,
}

/// Settled changes returned by `syncore_coalescer_poll`, sorted by path. Read with
/// `syncore_change_list_len` and `syncore_change_list_get`; released with
/// `syncore_change_list_free`.
pub struct syncore_change_list {
    items: Vec<(syncore_change_kind, Option<CString>)>,
}

/// Writes the default coalescer configuration to `*out` (only on success).
#[no_mangle]
pub extern "C" fn syncore_coalescer_config_default(
    out: *mut syncore_coalescer_config,
) -> syncore_status {
    boundary(|| {
        out_ptr(out, "out")?.write(syncore_coalescer_config::default());
        Ok(())
    })
}

/// Makes a coalescer from `*config` (NULL for the defaults) and writes it to `*out` (owned by
/// the caller, released with `syncore_coalescer_free`; written only on success).
#[no_mangle]
pub extern "C" fn syncore_coalescer_new(
    config: *const syncore_coalescer_config,
    out: *mut *mut syncore_coalescer,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a valid config.
        let c = unsafe { config.as_ref() }.copied().unwrap_or_default();
        let config = CoalescerConfig {
            quiet_period: Duration::from_millis(c.quiet_period_ms),
            max_delay: Duration::from_millis(c.max_delay_ms),
            own_write_window: Duration::from_millis(c.own_write_window_ms),
            max_pending: usize::try_from(c.max_pending).unwrap_or(usize::MAX),
            ..CoalescerConfig::default()
        };
        out.write(into_handle(syncore_coalescer {
            inner: EventCoalescer::new(config),
        }));
        Ok(())
    })
}

fn rel_path(ptr: *const c_char, name: &'static str) -> FfiResult<RelPath> {
    // SAFETY: NULL or a NUL-terminated string, per the header.
    let s = unsafe { arg_str(ptr, name) }?;
    Ok(RelPath::new(s)?)
}

fn watch_event(e: &syncore_watch_event) -> FfiResult<WatchEvent> {
    let cookie = e.has_cookie.then_some(e.cookie);
    let kind = match e.kind {
        1 => WatchEventKind::Create,
        2 => WatchEventKind::Modify,
        3 => WatchEventKind::Remove,
        4 => WatchEventKind::Rename {
            from: rel_path(e.from_path, "event->from_path")?,
        },
        5 => WatchEventKind::RenameFrom { cookie },
        6 => WatchEventKind::RenameTo { cookie },
        7 => WatchEventKind::Any,
        8 => WatchEventKind::RescanNeeded,
        other => {
            return Err(Error::InvalidInput(format!(
                "event->kind: {other} is not a syncore_watch_kind"
            ))
            .into())
        }
    };
    let at = Duration::from_millis(e.at_ms);
    let mut event = if e.path.is_null() {
        WatchEvent::root(at, kind)
    } else {
        WatchEvent::new(at, kind, rel_path(e.path, "event->path")?)
    };
    event.is_dir = match e.is_dir {
        0 => Some(false),
        1 => Some(true),
        _ if e.path.is_null() => event.is_dir,
        _ => None,
    };
    Ok(event)
}

/// Records one watcher event. Paths must be valid relative paths (else
/// `SYNCORE_STATUS_INVALID_INPUT`, or `SYNCORE_STATUS_INVALID_UTF8`); nothing is recorded
/// when the call fails.
#[no_mangle]
pub extern "C" fn syncore_coalescer_push(
    coalescer: *mut syncore_coalescer,
    event: *const syncore_watch_event,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live coalescer not used concurrently.
        let coalescer = unsafe { arg_mut(coalescer, "coalescer") }?;
        // SAFETY: NULL or a valid event.
        let event = watch_event(unsafe { arg_ref(event, "event") }?)?;
        coalescer.inner.push(event);
        Ok(())
    })
}

/// Tells the coalescer that the application itself is about to write `path` at `now_ms`, so
/// the events that write causes are not reported back.
#[no_mangle]
pub extern "C" fn syncore_coalescer_expect_own_write(
    coalescer: *mut syncore_coalescer,
    path: *const c_char,
    now_ms: u64,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live coalescer not used concurrently.
        let coalescer = unsafe { arg_mut(coalescer, "coalescer") }?;
        let path = rel_path(path, "path")?;
        coalescer
            .inner
            .expect_own_write(path, Duration::from_millis(now_ms));
        Ok(())
    })
}

/// Takes the paths that have settled by `now_ms` and writes them to `*out` (owned by the
/// caller, released with `syncore_change_list_free`; written only on success; possibly
/// empty).
#[no_mangle]
pub extern "C" fn syncore_coalescer_poll(
    coalescer: *mut syncore_coalescer,
    now_ms: u64,
    out: *mut *mut syncore_change_list,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live coalescer not used concurrently.
        let coalescer = unsafe { arg_mut(coalescer, "coalescer") }?;
        let mut items = Vec::new();
        for change in coalescer.inner.poll(Duration::from_millis(now_ms)) {
            let kind = match &change {
                SettledChange::FullRescan => syncore_change_kind::FullRescan,
                SettledChange::Rescan(_) => syncore_change_kind::Rescan,
                SettledChange::RescanTree(_) => syncore_change_kind::RescanTree,
                SettledChange::Removed(_) => syncore_change_kind::Removed,
            };
            // A RelPath never contains NUL, so the conversion cannot fail.
            let path = change
                .path()
                .map(|p| CString::new(p.as_str()))
                .transpose()
                .map_err(|_| Error::Corrupt("path with a NUL byte".into()))?;
            items.push((kind, path));
        }
        out.write(into_handle(syncore_change_list { items }));
        Ok(())
    })
}

/// When polling can next produce something: on success writes whether there is a deadline to
/// `*out_has_deadline` and, if there is, the time to `*out_deadline_ms` (both required).
#[no_mangle]
pub extern "C" fn syncore_coalescer_next_deadline(
    coalescer: *const syncore_coalescer,
    out_has_deadline: *mut bool,
    out_deadline_ms: *mut u64,
) -> syncore_status {
    boundary(|| {
        let has = out_ptr(out_has_deadline, "out_has_deadline")?;
        let at = out_ptr(out_deadline_ms, "out_deadline_ms")?;
        // SAFETY: NULL or a live coalescer.
        let coalescer = unsafe { arg_ref(coalescer, "coalescer") }?;
        match coalescer.inner.next_deadline() {
            Some(d) => {
                has.write(true);
                at.write(millis(d));
            }
            None => has.write(false),
        }
        Ok(())
    })
}

/// The number of paths waiting to settle (0 if `coalescer` is NULL).
#[no_mangle]
pub extern "C" fn syncore_coalescer_pending_len(coalescer: *const syncore_coalescer) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live coalescer.
        unsafe { coalescer.as_ref() }.map_or(0, |c| c.inner.pending_len())
    })
}

/// Releases `coalescer`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_coalescer_free(coalescer: *mut syncore_coalescer) {
    // SAFETY: NULL or a handle made by syncore_coalescer_new and not yet freed.
    boundary_value((), || unsafe { free_handle(coalescer) })
}

/// The number of changes in `list` (0 if `list` is NULL).
#[no_mangle]
pub extern "C" fn syncore_change_list_len(list: *const syncore_change_list) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live list.
        unsafe { list.as_ref() }.map_or(0, |l| l.items.len())
    })
}

/// Reads change `index` of `list`: writes its `syncore_change_kind` to `*out_kind` and its
/// NUL-terminated path to `*out_path` (NULL for a full rescan). The path belongs to `list`
/// and is valid until `syncore_change_list_free(list)`. `SYNCORE_STATUS_INVALID_INPUT` if
/// `index` is out of range. Both out-parameters are required and written only on success.
#[no_mangle]
pub extern "C" fn syncore_change_list_get(
    list: *const syncore_change_list,
    index: usize,
    out_kind: *mut syncore_change_kind,
    out_path: *mut *const c_char,
) -> syncore_status {
    boundary(|| {
        let kind = out_ptr(out_kind, "out_kind")?;
        let path = out_ptr(out_path, "out_path")?;
        // SAFETY: NULL or a live list.
        let list = unsafe { arg_ref(list, "list") }?;
        let (k, p) = list.items.get(index).ok_or_else(|| {
            Error::InvalidInput(format!(
                "index {index} out of range (len {})",
                list.items.len()
            ))
        })?;
        kind.write(*k);
        path.write(p.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()));
        Ok(())
    })
}

/// Releases `list` and the paths it owns. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_change_list_free(list: *mut syncore_change_list) {
    // SAFETY: NULL or a handle made by syncore_coalescer_poll and not yet freed.
    boundary_value((), || unsafe { free_handle(list) })
}
