//! `EventCoalescer`: raw filesystem-watcher events in, settled changes out.

use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use syncore::scan::{
    CoalescerConfig, EventCoalescer, SettledChange, WatchEvent, WatchEventKind,
    DEFAULT_IGNORED_NAMES, DEFAULT_STATE_DIR, DEFAULT_TRASH_NAMES,
};
use syncore::RelPath;

use crate::errors::IntoPyResult;
use crate::hash::lock;
use crate::store::duration;

/// What a watcher reported about a path.
#[pyclass(
    module = "syncore",
    name = "WatchEventKind",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)] // Python enum-member style
pub enum PyWatchEventKind {
    /// The path was created.
    CREATE,
    /// The path's content or metadata changed.
    MODIFY,
    /// The path was removed.
    REMOVE,
    /// The entry at `src_path` was renamed to the event's path.
    RENAME,
    /// First half of a rename (the old name), paired by `cookie`.
    RENAME_FROM,
    /// Second half of a rename (the new name), paired by `cookie`.
    RENAME_TO,
    /// Something happened at the path, kind unknown.
    ANY,
    /// The watcher lost events at or under the path (the root: a full rescan).
    RESCAN_NEEDED,
}

/// How the scanner should look at a settled path.
#[pyclass(
    module = "syncore",
    name = "SettledChangeKind",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)] // Python enum-member style
pub enum PySettledChangeKind {
    /// Scan the whole root (comes alone, `path` is None).
    FULL_RESCAN,
    /// Stat the path and rehash it if it changed.
    RESCAN,
    /// Walk the subtree at the path.
    RESCAN_TREE,
    /// The path and everything under it is gone.
    REMOVED,
}

/// A path whose events have settled, and how to look at it.
#[pyclass(module = "syncore", name = "SettledChange", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PySettledChange(SettledChange);

#[pymethods]
impl PySettledChange {
    /// What to do.
    #[getter]
    fn kind(&self) -> PySettledChangeKind {
        match self.0 {
            SettledChange::FullRescan => PySettledChangeKind::FULL_RESCAN,
            SettledChange::Rescan(_) => PySettledChangeKind::RESCAN,
            SettledChange::RescanTree(_) => PySettledChangeKind::RESCAN_TREE,
            SettledChange::Removed(_) => PySettledChangeKind::REMOVED,
        }
    }

    /// The path, relative to the root; None for a full rescan.
    #[getter]
    fn path(&self) -> Option<&str> {
        self.0.path().map(RelPath::as_str)
    }

    fn __repr__(&self) -> String {
        match self.0.path() {
            Some(p) => format!("SettledChange({:?}, {:?})", self.kind_name(), p.as_str()),
            None => format!("SettledChange({:?})", self.kind_name()),
        }
    }
}

impl PySettledChange {
    fn kind_name(&self) -> &'static str {
        match self.0 {
            SettledChange::FullRescan => "FULL_RESCAN",
            SettledChange::Rescan(_) => "RESCAN",
            SettledChange::RescanTree(_) => "RESCAN_TREE",
            SettledChange::Removed(_) => "REMOVED",
        }
    }
}

/// Coalesces raw watcher events into settled changes (a sans-IO state machine).
///
/// Times are seconds on any monotonic clock (e.g. `time.monotonic()`), the same one for
/// `push` and `poll`. Safe to share between threads (calls are serialized).
#[pyclass(module = "syncore", name = "EventCoalescer", frozen)]
pub struct PyEventCoalescer(Mutex<EventCoalescer>);

fn rel(path: &str) -> PyResult<RelPath> {
    RelPath::new(path).py_err()
}

#[pymethods]
impl PyEventCoalescer {
    /// A coalescer; `None` lists take the core's defaults (editor temp files, trash folders,
    /// the `.syncore` state directory).
    #[new]
    #[pyo3(signature = (*, quiet_period = 2.0, max_delay = 60.0, own_write_window = 5.0, max_pending = 100_000, ignored_names = None, trash_names = None, ignored_subtrees = None))]
    fn new(
        quiet_period: f64,
        max_delay: f64,
        own_write_window: f64,
        max_pending: usize,
        ignored_names: Option<Vec<String>>,
        trash_names: Option<Vec<String>>,
        ignored_subtrees: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let defaults = CoalescerConfig::default();
        let config = CoalescerConfig {
            quiet_period: duration(quiet_period)?,
            max_delay: duration(max_delay)?,
            own_write_window: duration(own_write_window)?,
            max_pending,
            ignored_names: ignored_names.unwrap_or(defaults.ignored_names),
            trash_names: trash_names.unwrap_or(defaults.trash_names),
            ignored_subtrees: match ignored_subtrees {
                Some(list) => list.iter().map(|p| rel(p)).collect::<PyResult<_>>()?,
                None => defaults.ignored_subtrees,
            },
        };
        Ok(PyEventCoalescer(Mutex::new(EventCoalescer::new(config))))
    }

    /// Feeds one event. `path` is relative to the watched root (None: the root itself);
    /// `src_path` is the old path of a `RENAME`; `cookie` pairs `RENAME_FROM`/`RENAME_TO`.
    /// Raises `InvalidInputError` for paths that are not valid relative paths.
    #[pyo3(signature = (kind, path, at, *, is_dir = None, src_path = None, cookie = None))]
    #[allow(clippy::too_many_arguments)]
    fn push(
        &self,
        kind: PyWatchEventKind,
        path: Option<&str>,
        at: f64,
        is_dir: Option<bool>,
        src_path: Option<&str>,
        cookie: Option<u64>,
    ) -> PyResult<()> {
        let kind = match kind {
            PyWatchEventKind::CREATE => WatchEventKind::Create,
            PyWatchEventKind::MODIFY => WatchEventKind::Modify,
            PyWatchEventKind::REMOVE => WatchEventKind::Remove,
            PyWatchEventKind::RENAME => WatchEventKind::Rename {
                from: rel(src_path
                    .ok_or_else(|| PyValueError::new_err("a RENAME event needs src_path"))?)?,
            },
            PyWatchEventKind::RENAME_FROM => WatchEventKind::RenameFrom { cookie },
            PyWatchEventKind::RENAME_TO => WatchEventKind::RenameTo { cookie },
            PyWatchEventKind::ANY => WatchEventKind::Any,
            PyWatchEventKind::RESCAN_NEEDED => WatchEventKind::RescanNeeded,
        };
        let at = duration(at)?;
        let mut event = match path {
            Some(p) => WatchEvent::new(at, kind, rel(p)?),
            None => WatchEvent::root(at, kind),
        };
        if let Some(is_dir) = is_dir {
            event = event.with_is_dir(is_dir);
        }
        lock(&self.0).push(event);
        Ok(())
    }

    /// The changes settled by time `now` (sorted by path).
    fn poll(&self, now: f64) -> PyResult<Vec<PySettledChange>> {
        let now = duration(now)?;
        Ok(lock(&self.0)
            .poll(now)
            .into_iter()
            .map(PySettledChange)
            .collect())
    }

    /// When to poll next (None when nothing is pending).
    fn next_deadline(&self) -> Option<f64> {
        lock(&self.0).next_deadline().map(|d| d.as_secs_f64())
    }

    /// Drops the path's events up to time `until` (e.g. while the application writes it).
    fn suppress(&self, path: &str, until: f64) -> PyResult<()> {
        let until = duration(until)?;
        lock(&self.0).suppress(rel(path)?, until);
        Ok(())
    }

    /// Drops the path's events for `own_write_window` seconds from `now`: the application is
    /// about to write it and must not see its own write as a change.
    fn expect_own_write(&self, path: &str, now: f64) -> PyResult<()> {
        let now = duration(now)?;
        lock(&self.0).expect_own_write(rel(path)?, now);
        Ok(())
    }

    /// True if nothing is pending.
    fn is_idle(&self) -> bool {
        lock(&self.0).is_idle()
    }

    /// How many paths have pending events.
    fn pending_len(&self) -> usize {
        lock(&self.0).pending_len()
    }

    /// True if events for `path` are dropped by the configuration.
    fn is_ignored(&self, path: &str) -> PyResult<bool> {
        Ok(lock(&self.0).config().is_ignored(&rel(path)?))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyWatchEventKind>()?;
    m.add_class::<PySettledChangeKind>()?;
    m.add_class::<PySettledChange>()?;
    m.add_class::<PyEventCoalescer>()?;
    m.add("DEFAULT_IGNORED_NAMES", DEFAULT_IGNORED_NAMES.to_vec())?;
    m.add("DEFAULT_TRASH_NAMES", DEFAULT_TRASH_NAMES.to_vec())?;
    m.add("DEFAULT_STATE_DIR", DEFAULT_STATE_DIR)?;
    Ok(())
}
