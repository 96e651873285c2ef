//! `Hub`: a replica whose content lives in a chunk store instead of a working tree (the
//! "server" of a Dropbox-like service): change sets for clients, plans and applies of theirs,
//! client cursors and manifest lookups. Close it (or use it as a context manager) to close
//! its index.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use syncore::index::{IndexOptions, Retention};
use syncore::{ChunkStore, Hub, RelPath};

use crate::entry::PyEntry;
use crate::errors::IntoPyResult;
use crate::hash::{lock, DigestArg};
use crate::manifest::PyFileManifest;
use crate::plan::{
    ChangesArg, PlanRequest, PyApplyReport, PyChangeSet, PyConflictPolicy, PyDirection, PyPlan,
    PySyncOptions,
};
use crate::replica::{apply_from, PyChanges, PyUsage, SourceArg};
use crate::store::{duration, StoreArg};
use crate::sync::PyReplicaId;

type StoreHub = Hub<Arc<dyn ChunkStore>>;

/// A store-backed replica: an index in `state_dir`, file content as chunks in `store`.
///
/// Every method releases the GIL; calls are serialized, so a hub may be shared between
/// threads (an HTTP server's handler threads, say). `close()` (or leaving a `with` block)
/// closes the index; later calls raise `ValueError`. The store stays usable.
#[pyclass(module = "syncore", name = "Hub", frozen)]
pub struct PyHub {
    hub: Mutex<Option<StoreHub>>,
    /// The hub's store, shared with the core hub (readable without the hub's lock).
    pub(crate) store: Arc<dyn ChunkStore>,
    /// The Python object the store was given as.
    store_obj: Py<PyAny>,
}

fn hub_closed() -> PyErr {
    PyValueError::new_err("the hub is closed")
}

impl PyHub {
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut StoreHub) -> syncore::Result<T> + Send,
    ) -> PyResult<T> {
        py.detach(|| {
            let mut guard = lock(&self.hub);
            let hub = guard.as_mut().ok_or_else(hub_closed)?;
            f(hub).py_err()
        })
    }
}

#[pymethods]
impl PyHub {
    /// Opens (creating if needed) the hub whose index lives in `state_dir` and whose content
    /// lives in `store` (a native store or a store-protocol object); the index hashes with the
    /// store's algorithm.
    #[new]
    #[pyo3(signature = (state_dir, store, *, keep_versions = None, keep_seconds = None, quota_bytes = None, check_integrity = true))]
    fn open(
        py: Python<'_>,
        state_dir: PathBuf,
        store: &Bound<'_, PyAny>,
        keep_versions: Option<u32>,
        keep_seconds: Option<f64>,
        quota_bytes: Option<u64>,
        check_integrity: bool,
    ) -> PyResult<Self> {
        let chunks = store.extract::<StoreArg>()?.0;
        let options = IndexOptions {
            algo: chunks.algo(),
            retention: Retention {
                max_versions: keep_versions,
                max_age: keep_seconds.map(duration).transpose()?,
            },
            quota_bytes,
            check_integrity,
            ..IndexOptions::default()
        };
        let shared = chunks.clone();
        let hub = py
            .detach(|| Hub::open(&state_dir, shared, options))
            .py_err()?;
        Ok(PyHub {
            hub: Mutex::new(Some(hub)),
            store: chunks,
            store_obj: store.clone().unbind(),
        })
    }

    /// The hub's replica id.
    #[getter]
    fn replica_id(&self, py: Python<'_>) -> PyResult<PyReplicaId> {
        self.with(py, |h| Ok(PyReplicaId(h.replica_id())))
    }

    /// The store the hub was opened with: where clients fetch missing chunks from.
    #[getter]
    fn store(&self, py: Python<'_>) -> Py<PyAny> {
        self.store_obj.clone_ref(py)
    }

    /// Every entry changed after `cursor` (tombstones included) and the next cursor.
    #[pyo3(signature = (cursor = 0))]
    fn changes_since(&self, py: Python<'_>, cursor: u64) -> PyResult<PyChanges> {
        self.with(py, |h| h.index().changes_since(cursor))
            .map(PyChanges)
    }

    /// Everything recorded after `cursor` (a client's `synced_cursor` of the hub), as the
    /// `ChangeSet` to send it.
    /// With `for_peer` (the receiver's id), the versions taken from it as it sent them are
    /// left out (they would only echo back); `since` is then where the set starts.
    #[pyo3(signature = (cursor = 0, *, for_peer = None))]
    fn change_set(
        &self,
        py: Python<'_>,
        cursor: u64,
        for_peer: Option<PyReplicaId>,
    ) -> PyResult<PyChangeSet> {
        self.with(py, |h| match for_peer {
            Some(peer) => h.changes_for(peer.0, cursor),
            None => h.change_set(cursor),
        })
        .map(PyChangeSet)
    }

    /// `change_set(cursor, for_peer=...)`, encoded: the bytes to ship to a client.
    #[pyo3(signature = (cursor = 0, *, for_peer = None))]
    fn changes_since_encoded<'py>(
        &self,
        py: Python<'py>,
        cursor: u64,
        for_peer: Option<PyReplicaId>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.with(py, |h| match for_peer {
            Some(peer) => h.changes_for_encoded(peer.0, cursor),
            None => h.changes_since_encoded(cursor),
        })?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Plans taking in a client's changes (a `ChangeSet` or its encoded bytes; damage raises
    /// `CorruptError`); chunks already in the store are not missing. `policy` and `direction`
    /// override those of `options`. Pure.
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
        self.with(py, |h| request.plan(h)).map(PyPlan)
    }

    /// Takes in `plan`: chunks the store lacks are read from `source` (the client `Replica`'s
    /// files, another `Hub`, a store or a store-protocol object; None: the hub's own store,
    /// for chunks uploaded beforehand), verified and stored; entries are recorded in one
    /// transaction. When the report is complete, `synced_cursor(plan.source)` advances.
    #[pyo3(signature = (plan, source = None))]
    fn apply(
        &self,
        py: Python<'_>,
        plan: PyRef<'_, PyPlan>,
        source: Option<SourceArg<'_>>,
    ) -> PyResult<PyApplyReport> {
        let plan = &plan.0;
        apply_from(
            py,
            &self.hub,
            hub_closed,
            source,
            Some(self.store.clone()),
            |h, s| h.apply(plan, s),
        )
    }

    /// How far the hub has taken in `client`'s changes (0 if never synced).
    fn synced_cursor(&self, py: Python<'_>, client: PyReplicaId) -> PyResult<u64> {
        self.with(py, |h| h.synced_cursor(client.0))
    }

    /// The manifest of content `content_id`, if the hub knows it.
    fn manifest(&self, py: Python<'_>, content_id: DigestArg) -> PyResult<Option<PyFileManifest>> {
        self.with(py, |h| h.manifest(&content_id.0))
            .map(|m| m.map(PyFileManifest))
    }

    /// The hub's current entry for `path` (a tombstone if deleted), if it has one.
    fn entry(&self, py: Python<'_>, path: &str) -> PyResult<Option<PyEntry>> {
        let path = RelPath::new(path).py_err()?;
        self.with(py, |h| h.index().entry(&path))
            .map(|e| e.map(|e| PyEntry(e.entry)))
    }

    /// Logical and deduplicated sizes of the hub's content.
    fn usage(&self, py: Python<'_>) -> PyResult<PyUsage> {
        self.with(py, |h| h.index().usage()).map(PyUsage::from)
    }

    /// Closes the index. Idempotent.
    fn close(&self, py: Python<'_>) {
        let hub = lock(&self.hub).take();
        py.detach(|| drop(hub));
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) {
        self.close(py);
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        match self.with(py, |h| Ok(h.replica_id())) {
            Ok(id) => format!("Hub('{}')", id.short()),
            Err(_) => "Hub(closed)".to_owned(),
        }
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHub>()
}
