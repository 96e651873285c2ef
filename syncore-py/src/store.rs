//! Chunk stores: `ChunkStore` (the shared base), `MemStore`, `FsStore`, `ReplicatedStore`,
//! and `PythonStore`, which turns any Python object implementing the store protocol into a
//! store the core can use.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use syncore::store::{ChunkIds, VerifyingStore};
use syncore::{ChunkStore, Digest, Error, HashAlgo, StoreStats};

use crate::bytes::BytesLike;
use crate::errors::{from_py, IntoPyResult};
use crate::hash::{AlgoArg, DigestArg, PyDigest, PyHashAlgo};

/// How many chunks a store holds and how many bytes they take.
#[pyclass(module = "syncore", name = "StoreStats", frozen, get_all, eq)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PyStoreStats {
    /// Number of distinct chunks.
    chunks: u64,
    /// Total size of their bytes.
    bytes: u64,
}

#[pymethods]
impl PyStoreStats {
    fn __repr__(&self) -> String {
        format!("StoreStats(chunks={}, bytes={})", self.chunks, self.bytes)
    }
}

/// What `ReplicatedStore.scrub()` found and did.
#[pyclass(module = "syncore", name = "ScrubReport", frozen, get_all)]
pub struct PyScrubReport {
    /// Distinct chunk ids checked.
    checked: u64,
    /// Copies rewritten to replicas that lacked them or held them damaged.
    repaired: u64,
    /// Chunks with no healthy copy anywhere.
    lost: Vec<PyDigest>,
}

#[pymethods]
impl PyScrubReport {
    fn __repr__(&self) -> String {
        format!(
            "ScrubReport(checked={}, repaired={}, lost={})",
            self.checked,
            self.repaired,
            self.lost.len()
        )
    }
}

/// A content-addressed home for chunk bytes; the base class of every store.
///
/// Every method releases the GIL while it hashes or does I/O. Stores are safe to share between
/// threads. `put` refuses bytes that do not hash to the id (`InvalidInputError`); `get` returns
/// exactly the bytes that hash to the id, or raises `NotFoundError` / `CorruptError`.
#[pyclass(module = "syncore", name = "ChunkStore", subclass, frozen)]
pub struct PyChunkStore(pub(crate) Arc<dyn ChunkStore>);

#[pymethods]
impl PyChunkStore {
    /// The hash algorithm chunks are addressed by.
    #[getter]
    fn algo(&self) -> PyHashAlgo {
        self.0.algo().into()
    }

    /// Whether the store holds chunk `id`.
    fn has(&self, py: Python<'_>, id: DigestArg) -> PyResult<bool> {
        let store = &self.0;
        py.detach(|| store.has(&id.0)).py_err()
    }

    fn __contains__(&self, py: Python<'_>, id: DigestArg) -> PyResult<bool> {
        self.has(py, id)
    }

    /// The bytes of chunk `id`, verified against the id.
    fn get<'py>(&self, py: Python<'py>, id: DigestArg) -> PyResult<Bound<'py, PyBytes>> {
        let store = &self.0;
        let data = py.detach(|| store.get(&id.0)).py_err()?;
        Ok(PyBytes::new(py, &data))
    }

    /// Stores `data` under `id`; returns True if it was new.
    fn put(&self, py: Python<'_>, id: DigestArg, data: BytesLike<'_>) -> PyResult<bool> {
        let store = &self.0;
        let bytes = data.as_slice();
        py.detach(|| store.put(&id.0, bytes)).py_err()
    }

    /// Hashes `data`, stores it and returns its id.
    fn put_data(&self, py: Python<'_>, data: BytesLike<'_>) -> PyResult<PyDigest> {
        let store = &self.0;
        let bytes = data.as_slice();
        py.detach(|| store.put_data(bytes)).py_err().map(PyDigest)
    }

    /// Removes chunk `id`; returns True if it was there.
    fn delete(&self, py: Python<'_>, id: DigestArg) -> PyResult<bool> {
        let store = &self.0;
        py.detach(|| store.delete(&id.0)).py_err()
    }

    /// Every chunk id in the store, in no particular order.
    fn ids(&self, py: Python<'_>) -> PyResult<Vec<PyDigest>> {
        let store = &self.0;
        let ids = py
            .detach(|| store.ids()?.collect::<syncore::Result<Vec<Digest>>>())
            .py_err()?;
        Ok(ids.into_iter().map(PyDigest).collect())
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let ids = self.ids(py)?;
        Ok(ids.into_pyobject(py)?.try_iter()?.into_any().unbind())
    }

    /// How many chunks the store holds and how many bytes they take.
    fn stats(&self, py: Python<'_>) -> PyResult<PyStoreStats> {
        let store = &self.0;
        let s = py.detach(|| store.stats()).py_err()?;
        Ok(PyStoreStats {
            chunks: s.chunks,
            bytes: s.bytes,
        })
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.stats(py)?.chunks as usize)
    }

    /// The size in bytes of chunk `id` as stored.
    fn size(&self, py: Python<'_>, id: DigestArg) -> PyResult<u64> {
        let store = &self.0;
        py.detach(|| store.size(&id.0)).py_err()
    }

    /// The ids among `ids` the store lacks, in input order, without duplicates.
    fn missing(&self, py: Python<'_>, ids: Vec<DigestArg>) -> PyResult<Vec<PyDigest>> {
        let store = &self.0;
        let ids: Vec<Digest> = ids.into_iter().map(|d| d.0).collect();
        let missing = py.detach(|| store.missing(&ids)).py_err()?;
        Ok(missing.into_iter().map(PyDigest).collect())
    }
}

/// A store that keeps chunks in memory.
#[pyclass(module = "syncore", name = "MemStore", extends = PyChunkStore, frozen)]
pub struct PyMemStore;

#[pymethods]
impl PyMemStore {
    /// An empty store addressing chunks by `algo` (default BLAKE3).
    #[new]
    #[pyo3(signature = (algo = AlgoArg::default()))]
    fn new(algo: AlgoArg) -> PyClassInitializer<Self> {
        PyClassInitializer::from(PyChunkStore(Arc::new(syncore::MemStore::new(algo.0))))
            .add_subclass(PyMemStore)
    }

    fn __repr__(&self) -> String {
        "MemStore()".to_owned()
    }
}

/// A store keeping each chunk in its own file under a root directory (sharded by id).
#[pyclass(module = "syncore", name = "FsStore", extends = PyChunkStore, frozen)]
pub struct PyFsStore(Arc<syncore::FsStore>);

#[pymethods]
impl PyFsStore {
    /// Opens (creating if needed) the store at `root`.
    #[new]
    #[pyo3(signature = (root, algo = AlgoArg::default()))]
    fn new(py: Python<'_>, root: PathBuf, algo: AlgoArg) -> PyResult<PyClassInitializer<Self>> {
        let store = Arc::new(
            py.detach(|| syncore::FsStore::open(&root, algo.0))
                .py_err()?,
        );
        Ok(PyClassInitializer::from(PyChunkStore(store.clone())).add_subclass(PyFsStore(store)))
    }

    /// The store's root directory.
    #[getter]
    fn root(&self) -> PathBuf {
        self.0.root().to_path_buf()
    }

    /// Where chunk `id` is (or would be) stored.
    fn chunk_path(&self, id: DigestArg) -> PathBuf {
        self.0.chunk_path(&id.0)
    }

    /// Deletes temp files left by crashed writers older than `older_than` seconds; returns how
    /// many were removed.
    fn remove_stale_temp_files(&self, py: Python<'_>, older_than: f64) -> PyResult<u64> {
        let age = duration(older_than)?;
        let store = &self.0;
        py.detach(|| store.remove_stale_temp_files(age)).py_err()
    }

    fn __repr__(&self) -> String {
        format!("FsStore({:?})", self.0.root())
    }
}

/// Seconds as a `Duration`; negative or non-finite values are a `ValueError`.
pub(crate) fn duration(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "a duration must be a finite number of seconds >= 0, got {seconds}"
        ))
    })
}

/// A store spreading `replication_factor` copies of each chunk over other stores, with
/// failover on read and `scrub()` to repair.
#[pyclass(module = "syncore", name = "ReplicatedStore", extends = PyChunkStore, frozen)]
pub struct PyReplicatedStore(Arc<syncore::ReplicatedStore>);

#[pymethods]
impl PyReplicatedStore {
    /// A store over `backends` (native stores or objects implementing the store protocol).
    #[new]
    #[pyo3(signature = (backends, replication_factor = 2))]
    fn new(
        backends: Vec<StoreArg>,
        replication_factor: usize,
    ) -> PyResult<PyClassInitializer<Self>> {
        let backends = backends.into_iter().map(|b| b.0).collect();
        let store = Arc::new(
            syncore::ReplicatedStore::with_replication_factor(backends, replication_factor)
                .py_err()?,
        );
        Ok(PyClassInitializer::from(PyChunkStore(store.clone()))
            .add_subclass(PyReplicatedStore(store)))
    }

    /// How many copies of each chunk are kept.
    #[getter]
    fn replication_factor(&self) -> usize {
        self.0.replication_factor()
    }

    /// Indices of the back ends that should hold `id`, preferred first.
    fn placement(&self, id: DigestArg) -> Vec<usize> {
        self.0.placement(&id.0)
    }

    /// Verifies every copy and repairs what it can.
    fn scrub(&self, py: Python<'_>) -> PyResult<PyScrubReport> {
        let store = &self.0;
        let r = py.detach(|| store.scrub()).py_err()?;
        Ok(PyScrubReport {
            checked: r.checked,
            repaired: r.repaired,
            lost: r.lost.into_iter().map(PyDigest).collect(),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "ReplicatedStore({} back ends, replication_factor={})",
            self.0.backends().len(),
            self.0.replication_factor()
        )
    }
}

/// The core store wrapped around a Python object implementing the store protocol.
///
/// The object's methods receive and return: `has(id) -> bool`, `get(id) -> bytes | None`
/// (None or `KeyError` means absent), `put(id, data) -> bool | None`, `delete(id) -> bool`,
/// `ids() -> Iterable[Digest | bytes | str]`; optionally `size(id) -> int`,
/// `stats() -> (chunks, bytes)` and an `algo` attribute. Ids are passed as `Digest`s. It is
/// always used inside the core's `VerifyingStore` (see [`verified`]), so the object never sees
/// a mismatched `put` and cannot return wrong bytes from `get`.
pub(crate) struct ObjectStore {
    obj: Py<PyAny>,
    algo: HashAlgo,
    name: String,
    has_size: bool,
    has_stats: bool,
}

impl ObjectStore {
    fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        for method in ["has", "get", "put", "delete", "ids"] {
            if !obj.hasattr(method)? {
                return Err(PyTypeError::new_err(format!(
                    "'{}' is not a chunk store: it has no {method}() method",
                    obj.get_type().name()?
                )));
            }
        }
        let algo = match obj.getattr_opt("algo")? {
            Some(a) => a.extract::<AlgoArg>()?.0,
            None => HashAlgo::default(),
        };
        Ok(ObjectStore {
            obj: obj.clone().unbind(),
            algo,
            name: format!("Python store {}", obj.get_type().name()?),
            has_size: obj.hasattr("size")?,
            has_stats: obj.hasattr("stats")?,
        })
    }

    fn call<T>(
        &self,
        f: impl FnOnce(Python<'_>, &Bound<'_, PyAny>) -> PyResult<T>,
    ) -> syncore::Result<T> {
        Python::attach(|py| f(py, self.obj.bind(py))).map_err(from_py)
    }
}

fn digest_from_py(item: &Bound<'_, PyAny>) -> PyResult<Digest> {
    item.extract::<DigestArg>().map(|d| d.0)
}

impl ChunkStore for ObjectStore {
    fn algo(&self) -> HashAlgo {
        self.algo
    }

    fn has(&self, id: &Digest) -> syncore::Result<bool> {
        self.call(|_, o| o.call_method1("has", (PyDigest(*id),))?.is_truthy())
    }

    fn get(&self, id: &Digest) -> syncore::Result<Vec<u8>> {
        let got = self.call(|py, o| match o.call_method1("get", (PyDigest(*id),)) {
            Ok(v) if v.is_none() => Ok(None),
            Ok(v) => Ok(Some(v.extract::<BytesLike<'_>>()?.as_slice().to_vec())),
            Err(e) if e.is_instance_of::<PyKeyError>(py) => Ok(None),
            Err(e) => Err(e),
        })?;
        got.ok_or_else(|| Error::NotFound(format!("chunk {id} in {}", self.name)))
    }

    fn put(&self, id: &Digest, data: &[u8]) -> syncore::Result<bool> {
        self.call(|py, o| {
            let r = o.call_method1("put", (PyDigest(*id), PyBytes::new(py, data)))?;
            if r.is_none() {
                Ok(true)
            } else {
                r.is_truthy()
            }
        })
    }

    fn delete(&self, id: &Digest) -> syncore::Result<bool> {
        self.call(|_, o| {
            let r = o.call_method1("delete", (PyDigest(*id),))?;
            if r.is_none() {
                Ok(true)
            } else {
                r.is_truthy()
            }
        })
    }

    fn ids(&self) -> syncore::Result<ChunkIds<'_>> {
        let ids = self.call(|_, o| {
            o.call_method0("ids")?
                .try_iter()?
                .map(|item| digest_from_py(&item?))
                .collect::<PyResult<Vec<Digest>>>()
        })?;
        Ok(Box::new(ids.into_iter().map(Ok)))
    }

    fn stats(&self) -> syncore::Result<StoreStats> {
        if self.has_stats {
            return self.call(|_, o| {
                let s = o.call_method0("stats")?;
                let (chunks, bytes) = match s.extract::<(u64, u64)>() {
                    Ok(pair) => pair,
                    Err(_) => (
                        s.getattr("chunks")?.extract()?,
                        s.getattr("bytes")?.extract()?,
                    ),
                };
                Ok(StoreStats { chunks, bytes })
            });
        }
        let mut stats = StoreStats::default();
        for id in self.ids()? {
            stats.chunks += 1;
            stats.bytes += self.size(&id?)?;
        }
        Ok(stats)
    }

    fn size(&self, id: &Digest) -> syncore::Result<u64> {
        if self.has_size {
            self.call(|_, o| o.call_method1("size", (PyDigest(*id),))?.extract())
        } else {
            self.get(id).map(|d| d.len() as u64)
        }
    }
}

/// A Python-implemented store behind the core's contract checks.
fn verified(store: ObjectStore) -> Arc<dyn ChunkStore> {
    Arc::new(VerifyingStore::new(store))
}

/// A store argument: a native store, or any object implementing the store protocol.
pub(crate) struct StoreArg(pub(crate) Arc<dyn ChunkStore>);

impl<'a, 'py> FromPyObject<'a, 'py> for StoreArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(native) = obj.cast::<PyChunkStore>() {
            return Ok(StoreArg(native.get().0.clone()));
        }
        if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
            return Err(PyTypeError::new_err(
                "expected a chunk store, not a str or bytes",
            ));
        }
        Ok(StoreArg(verified(ObjectStore::new(&obj)?)))
    }
}

/// A Python object implementing the store protocol, seen as a native store.
///
/// Gives any protocol object (a dict wrapper, an S3 bucket client, ...) the full `ChunkStore`
/// API with the core's checks: ids verified on `put`, bytes re-hashed on `get`.
#[pyclass(module = "syncore", name = "PythonStore", extends = PyChunkStore, frozen)]
pub struct PyPythonStore(Py<PyAny>);

#[pymethods]
impl PyPythonStore {
    /// Wraps `backend`, an object with `has`, `get`, `put`, `delete` and `ids` methods.
    #[new]
    fn new(backend: Bound<'_, PyAny>) -> PyResult<PyClassInitializer<Self>> {
        let store = verified(ObjectStore::new(&backend)?);
        Ok(PyClassInitializer::from(PyChunkStore(store))
            .add_subclass(PyPythonStore(backend.unbind())))
    }

    /// The wrapped object.
    #[getter]
    fn backend(&self, py: Python<'_>) -> Py<PyAny> {
        self.0.clone_ref(py)
    }
}
