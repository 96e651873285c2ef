//! `Replica`: a root directory and its SQLite index (scan, changes, history, restore, usage,
//! gc) and its side of the sans-IO exchange (change sets, plans, applies, peer cursors).
//! Close it (or use it as a context manager) to close the index.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use syncore::apply::{ApplyReport, ChunkSource, Layered};
use syncore::index::{Changes, GcReport, Retention, Usage, Version};
use syncore::scan::{RestoreSource, ScanReport, SkipReason};
use syncore::{ChunkStore, RelPath, Replica, ReplicaOptions};

use crate::apply::PyDurability;
use crate::chunk::PyChunker;
use crate::entry::{PyEntry, PyEntryKind};
use crate::errors::IntoPyResult;
use crate::hash::{lock, DigestArg, PyDigest};
use crate::hub::PyHub;
use crate::plan::{
    ChangesArg, PlanRequest, PyApplyReport, PyChangeSet, PyConflictPolicy, PyDirection, PyPlan,
    PySyncOptions,
};
use crate::store::{duration, StoreArg};
use crate::sync::{PyReplicaId, PyVersionVector};

/// What one scan found and recorded.
#[pyclass(module = "syncore", name = "ScanReport", frozen, get_all)]
pub struct PyScanReport {
    /// New paths.
    added: Vec<String>,
    /// Paths whose content, kind, target or exec bit changed.
    modified: Vec<String>,
    /// Paths now recorded as deleted.
    deleted: Vec<String>,
    /// `(from, to)` pairs of detected moves.
    moved: Vec<(String, String)>,
    /// Paths found unchanged.
    unchanged: u64,
    /// Paths skipped by ignore rules.
    ignored: u64,
    /// `(path, reason)` of paths not recorded.
    skipped: Vec<(String, String)>,
    /// `(path, reason)` of files that changed while hashed (retried next scan).
    retries: Vec<(String, String)>,
    /// Bytes read and hashed.
    bytes_hashed: u64,
}

fn reason(r: &SkipReason) -> String {
    format!("{r:?}")
}

impl From<ScanReport> for PyScanReport {
    fn from(r: ScanReport) -> Self {
        let s = |v: Vec<RelPath>| v.into_iter().map(|p| p.as_str().to_owned()).collect();
        PyScanReport {
            added: s(r.added),
            modified: s(r.modified),
            deleted: s(r.deleted),
            moved: r
                .moved
                .into_iter()
                .map(|m| (m.from.as_str().to_owned(), m.to.as_str().to_owned()))
                .collect(),
            unchanged: r.unchanged,
            ignored: r.ignored,
            skipped: r
                .skipped
                .iter()
                .map(|k| (k.path.clone(), reason(&k.reason)))
                .collect(),
            retries: r
                .retries
                .into_iter()
                .map(|k| (k.path.as_str().to_owned(), k.reason))
                .collect(),
            bytes_hashed: r.bytes_hashed,
        }
    }
}

#[pymethods]
impl PyScanReport {
    /// True if the scan recorded no change.
    fn is_clean(&self) -> bool {
        self.added.is_empty()
            && self.modified.is_empty()
            && self.deleted.is_empty()
            && self.moved.is_empty()
    }

    fn __repr__(&self) -> String {
        format!(
            "ScanReport(added={}, modified={}, deleted={}, moved={}, unchanged={})",
            self.added.len(),
            self.modified.len(),
            self.deleted.len(),
            self.moved.len(),
            self.unchanged
        )
    }
}

/// Entries changed after a cursor, and the next cursor.
#[pyclass(module = "syncore", name = "Changes", frozen)]
pub struct PyChanges(pub(crate) Changes);

#[pymethods]
impl PyChanges {
    /// The changed entries, tombstones included.
    #[getter]
    fn entries(&self) -> Vec<PyEntry> {
        self.0.entries.iter().cloned().map(PyEntry).collect()
    }

    /// The cursor to ask from next time.
    #[getter]
    fn cursor(&self) -> u64 {
        self.0.cursor
    }

    /// True if more changes remain after `cursor`.
    #[getter]
    fn more(&self) -> bool {
        self.0.more
    }

    fn __len__(&self) -> usize {
        self.0.entries.len()
    }
}

/// One retained version of a path.
#[pyclass(module = "syncore", name = "Version", frozen)]
pub struct PyVersion(Version);

#[pymethods]
impl PyVersion {
    /// The local sequence number that produced it (pass it to `Replica.restore`).
    #[getter]
    fn seq(&self) -> u64 {
        self.0.seq
    }

    /// When it was recorded, nanoseconds since the Unix epoch.
    #[getter]
    fn time_ns(&self) -> i64 {
        self.0.time_ns
    }

    /// File, directory or symlink.
    #[getter]
    fn kind(&self) -> PyEntryKind {
        self.0.kind.into()
    }

    /// Size in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.0.size
    }

    /// The owner-executable bit.
    #[getter]
    fn executable(&self) -> bool {
        self.0.executable
    }

    /// A symlink's target.
    #[getter]
    fn symlink_target(&self) -> Option<&str> {
        self.0.symlink_target.as_deref()
    }

    /// The content id (files).
    #[getter]
    fn content_id(&self) -> Option<PyDigest> {
        self.0.content_id.map(PyDigest)
    }

    /// Its version vector.
    #[getter]
    fn version(&self) -> PyVersionVector {
        PyVersionVector::of(self.0.version.clone())
    }

    /// True if this version is a deletion.
    #[getter]
    fn deleted(&self) -> bool {
        self.0.deleted
    }
}

/// Logical and deduplicated sizes of a replica.
#[pyclass(module = "syncore", name = "Usage", frozen, get_all)]
pub struct PyUsage {
    live_files: u64,
    live_bytes: u64,
    logical_bytes: u64,
    unique_chunks: u64,
    unique_chunk_bytes: u64,
    dedup_ratio: f64,
}

impl From<Usage> for PyUsage {
    fn from(u: Usage) -> Self {
        PyUsage {
            live_files: u.live_files,
            live_bytes: u.live_bytes,
            logical_bytes: u.logical_bytes,
            unique_chunks: u.unique_chunks,
            unique_chunk_bytes: u.unique_chunk_bytes,
            dedup_ratio: u.dedup_ratio,
        }
    }
}

/// What `Replica.gc()` found and deleted.
#[pyclass(module = "syncore", name = "GcReport", frozen, get_all)]
pub struct PyGcReport {
    unreferenced: Vec<PyDigest>,
    unreferenced_bytes: u64,
    deleted_from_store: u64,
}

impl From<GcReport> for PyGcReport {
    fn from(g: GcReport) -> Self {
        PyGcReport {
            unreferenced: g.unreferenced.into_iter().map(PyDigest).collect(),
            unreferenced_bytes: g.unreferenced_bytes,
            deleted_from_store: g.deleted_from_store,
        }
    }
}

/// One replica: a root directory and its index (in `<root>/.syncore` by default).
///
/// Every method releases the GIL; calls are serialized, so a replica may be shared between
/// threads. `close()` (or leaving a `with` block) closes the index; later calls raise
/// `ValueError`.
#[pyclass(module = "syncore", name = "Replica", frozen)]
pub struct PyReplica(pub(crate) Mutex<Option<Replica>>);

fn rel(path: &str) -> PyResult<RelPath> {
    RelPath::new(path).py_err()
}

/// The error a closed replica's methods raise.
pub(crate) fn closed() -> PyErr {
    PyValueError::new_err("the replica is closed")
}

/// Where `apply` reads the chunks a plan needs that are not in local files.
pub(crate) enum SourceArg<'py> {
    /// Another replica's files.
    Replica(Bound<'py, PyReplica>),
    /// A hub's store.
    Hub(Bound<'py, PyHub>),
    /// A store or store-protocol object.
    Store(StoreArg),
}

impl<'a, 'py> FromPyObject<'a, 'py> for SourceArg<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(replica) = obj.cast::<PyReplica>() {
            return Ok(SourceArg::Replica(replica.to_owned()));
        }
        if let Ok(hub) = obj.cast::<PyHub>() {
            return Ok(SourceArg::Hub(hub.to_owned()));
        }
        obj.extract::<StoreArg>().map(SourceArg::Store)
    }
}

/// Locks two mutexes in address order, so that two threads locking the same pair in opposite
/// roles cannot deadlock. They must be distinct.
pub(crate) fn lock_both<'a, A, B>(
    a: &'a Mutex<A>,
    b: &'a Mutex<B>,
) -> (MutexGuard<'a, A>, MutexGuard<'a, B>) {
    if std::ptr::from_ref(a).cast::<u8>() < std::ptr::from_ref(b).cast::<u8>() {
        let a = lock(a);
        (a, lock(b))
    } else {
        let b = lock(b);
        (lock(a), b)
    }
}

/// Runs `apply` on what `target` holds (raising `target_closed()` if it is closed) with the
/// GIL released, reading chunks from `source`: another replica's files (both are locked, in
/// address order), a hub's store or a store. No source, or the target itself, stands for
/// `default` (None: an empty source).
pub(crate) fn apply_from<T: Send>(
    py: Python<'_>,
    target: &Mutex<Option<T>>,
    target_closed: fn() -> PyErr,
    source: Option<SourceArg<'_>>,
    default: Option<Arc<dyn ChunkStore>>,
    apply: impl FnOnce(&mut T, &dyn ChunkSource) -> syncore::Result<ApplyReport> + Send,
) -> PyResult<PyApplyReport> {
    let store = match source {
        Some(SourceArg::Replica(other))
            if !std::ptr::addr_eq(std::ptr::from_ref(&other.get().0), target) =>
        {
            let other = other.get();
            let report = py.detach(|| {
                let (mut mine, theirs) = lock_both(target, &other.0);
                let target = mine.as_mut().ok_or_else(target_closed)?;
                let peer = theirs.as_ref().ok_or_else(closed)?;
                apply(target, &peer.chunk_source()).py_err()
            })?;
            return Ok(PyApplyReport(report));
        }
        Some(SourceArg::Replica(_)) | None => default,
        Some(SourceArg::Hub(hub)) => Some(hub.get().store.clone()),
        Some(SourceArg::Store(store)) => Some(store.0),
    };
    py.detach(|| {
        let mut guard = lock(target);
        let target = guard.as_mut().ok_or_else(target_closed)?;
        match &store {
            Some(store) => apply(target, store),
            None => apply(target, &Layered::new()),
        }
        .py_err()
    })
    .map(PyApplyReport)
}

impl PyReplica {
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Replica) -> syncore::Result<T> + Send,
    ) -> PyResult<T> {
        py.detach(|| {
            let mut guard = lock(&self.0);
            let replica = guard.as_mut().ok_or_else(closed)?;
            f(replica).py_err()
        })
    }
}

#[pymethods]
impl PyReplica {
    /// Opens the replica rooted at `root`, creating its index on first use.
    #[new]
    #[pyo3(signature = (root, *, chunker = None, state_dir = None, keep_versions = None, keep_seconds = None, quota_bytes = None, ignore_defaults = true, check_integrity = true))]
    #[allow(clippy::too_many_arguments)]
    fn open(
        py: Python<'_>,
        root: PathBuf,
        chunker: Option<PyRef<'_, PyChunker>>,
        state_dir: Option<PathBuf>,
        keep_versions: Option<u32>,
        keep_seconds: Option<f64>,
        quota_bytes: Option<u64>,
        ignore_defaults: bool,
        check_integrity: bool,
    ) -> PyResult<Self> {
        let mut options = ReplicaOptions {
            state_dir,
            retention: Retention {
                max_versions: keep_versions,
                max_age: keep_seconds.map(duration).transpose()?,
            },
            quota_bytes,
            ignore_defaults,
            check_integrity,
            ..ReplicaOptions::default()
        };
        if let Some(c) = chunker {
            options.chunker = *c.0.config();
            options.hash = c.0.algo();
            options.threads = Some(c.0.threads());
        }
        let replica = py.detach(|| Replica::open(&root, options)).py_err()?;
        Ok(PyReplica(Mutex::new(Some(replica))))
    }

    /// This replica's id.
    #[getter]
    fn replica_id(&self, py: Python<'_>) -> PyResult<PyReplicaId> {
        self.with(py, |r| Ok(PyReplicaId(r.replica_id())))
    }

    /// The canonical root directory.
    #[getter]
    fn root(&self, py: Python<'_>) -> PyResult<PathBuf> {
        self.with(py, |r| Ok(r.root().to_path_buf()))
    }

    /// Scans the whole tree and records what changed.
    fn scan(&self, py: Python<'_>) -> PyResult<PyScanReport> {
        self.with(py, |r| r.scan()).map(PyScanReport::from)
    }

    /// Scans only `paths` (directories recursively), e.g. those a watcher reported.
    fn rescan(&self, py: Python<'_>, paths: Vec<String>) -> PyResult<PyScanReport> {
        let paths = paths.iter().map(|p| rel(p)).collect::<PyResult<Vec<_>>>()?;
        self.with(py, |r| r.rescan(&paths)).map(PyScanReport::from)
    }

    /// Every entry changed after `cursor` (tombstones included) and the next cursor.
    #[pyo3(signature = (cursor = 0))]
    fn changes_since(&self, py: Python<'_>, cursor: u64) -> PyResult<PyChanges> {
        self.with(py, |r| r.changes_since(cursor)).map(PyChanges)
    }

    /// Every retained version of `path`, newest first.
    fn history(&self, py: Python<'_>, path: &str) -> PyResult<Vec<PyVersion>> {
        let path = rel(path)?;
        let versions = self.with(py, |r| r.history(&path))?;
        Ok(versions.into_iter().map(PyVersion).collect())
    }

    /// Brings version `seq` of `path` back, reading chunks from `store` (default: this
    /// replica's own live files), and records it.
    #[pyo3(signature = (path, seq, store = None))]
    fn restore(
        &self,
        py: Python<'_>,
        path: &str,
        seq: u64,
        store: Option<StoreArg>,
    ) -> PyResult<PyEntry> {
        let path = rel(path)?;
        let store = store.map(|s| s.0);
        self.with(py, |r| {
            let source = match &store {
                Some(s) => RestoreSource::Store(&**s),
                None => RestoreSource::Local,
            };
            r.restore(&path, seq, source)
        })
        .map(PyEntry)
    }

    /// Logical and deduplicated sizes.
    fn usage(&self, py: Python<'_>) -> PyResult<PyUsage> {
        self.with(py, |r| r.usage()).map(PyUsage::from)
    }

    /// Lists chunks no version references, deleting them from `store` if given.
    #[pyo3(signature = (store = None))]
    fn gc(&self, py: Python<'_>, store: Option<StoreArg>) -> PyResult<PyGcReport> {
        let store = store.map(|s| s.0);
        self.with(py, |r| r.gc(store.as_deref()))
            .map(PyGcReport::from)
    }

    /// Everything recorded after `cursor` (a peer's `synced_cursor` of this replica), as the
    /// `ChangeSet` to send it; `encode()` it to ship, its `cursor` is the peer's next one.
    /// With `for_peer` (the receiver's id), the versions taken from it as it sent them are
    /// left out (they would only echo back); `since` is then where the set starts.
    #[pyo3(signature = (cursor = 0, *, for_peer = None))]
    fn change_set(
        &self,
        py: Python<'_>,
        cursor: u64,
        for_peer: Option<PyReplicaId>,
    ) -> PyResult<PyChangeSet> {
        self.with(py, |r| match for_peer {
            Some(peer) => r.changes_for(peer.0, cursor),
            None => r.change_set(cursor),
        })
        .map(PyChangeSet)
    }

    /// `change_set(cursor, for_peer=...)`, encoded: the bytes to ship to a peer.
    #[pyo3(signature = (cursor = 0, *, for_peer = None))]
    fn changes_since_encoded<'py>(
        &self,
        py: Python<'py>,
        cursor: u64,
        for_peer: Option<PyReplicaId>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.with(py, |r| match for_peer {
            Some(peer) => r.changes_for_encoded(peer.0, cursor),
            None => r.changes_since_encoded(cursor),
        })?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Plans taking in a peer's changes (a `ChangeSet` or its encoded bytes, which are
    /// validated: damage raises `CorruptError`); `policy` and `direction` override those of
    /// `options`. Pure: reads the index, touches nothing.
    #[pyo3(signature = (changes, options = None, *, policy = None, direction = None))]
    fn plan(
        &self,
        py: Python<'_>,
        changes: ChangesArg<'_>,
        options: Option<PyRef<'_, PySyncOptions>>,
        policy: Option<PyConflictPolicy>,
        direction: Option<PyDirection>,
    ) -> PyResult<PyPlan> {
        let request = PlanRequest::new(&changes, options, policy, direction);
        self.with(py, |r| request.plan(r)).map(PyPlan)
    }

    /// Performs `plan` on the working tree and records it. Chunks come from this replica's
    /// own files first, then from `source`: another `Replica` (its files), a `Hub` (its
    /// store), a store or a store-protocol object; None: local files only. Per-path problems
    /// are in the report; when it is complete, `synced_cursor(plan.source)` advances.
    #[pyo3(signature = (plan, source = None, *, durability = PyDurability::PER_FILE))]
    fn apply(
        &self,
        py: Python<'_>,
        plan: PyRef<'_, PyPlan>,
        source: Option<SourceArg<'_>>,
        durability: PyDurability,
    ) -> PyResult<PyApplyReport> {
        let options = durability.apply_options();
        let plan = &plan.0;
        apply_from(py, &self.0, closed, source, None, |r, s| {
            r.apply(plan, s, &options)
        })
    }

    /// How far this replica has taken in `peer`'s changes: the cursor to ask `peer` for
    /// changes since (0 if never synced).
    fn synced_cursor(&self, py: Python<'_>, peer: PyReplicaId) -> PyResult<u64> {
        self.with(py, |r| r.synced_cursor(peer.0))
    }

    /// The bytes of chunk `id`, read from this replica's files and verified (what a peer's
    /// `Plan.missing_chunks()` are served from); raises `NotFoundError` if no file has it.
    fn read_chunk<'py>(&self, py: Python<'py>, id: DigestArg) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.with(py, |r| r.chunk_source().read_chunk(&id.0))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Removes temp files a crashed apply left in the tree; returns how many. Run it after
    /// opening a replica that may have crashed.
    fn remove_stale_temp_files(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |r| r.remove_stale_temp_files())
    }

    /// Closes the index. Idempotent.
    fn close(&self, py: Python<'_>) {
        let replica = lock(&self.0).take();
        py.detach(|| drop(replica));
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) {
        self.close(py);
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyScanReport>()?;
    m.add_class::<PyChanges>()?;
    m.add_class::<PyVersion>()?;
    m.add_class::<PyUsage>()?;
    m.add_class::<PyGcReport>()?;
    m.add_class::<PyReplica>()?;
    Ok(())
}
