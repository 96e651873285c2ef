//! `Digest`, `HashAlgo`, `Hasher` and `digest()`: content addressing.

use pyo3::basic::CompareOp;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyString};

use crate::bytes::BytesLike;
use crate::errors::IntoPyResult;

/// A hash algorithm chunk ids are made with.
#[pyclass(
    module = "syncore",
    name = "HashAlgo",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)] // Python enum-member style
pub enum PyHashAlgo {
    /// BLAKE3 (the default).
    BLAKE3,
    /// SHA-256.
    SHA256,
}

impl From<PyHashAlgo> for syncore::HashAlgo {
    fn from(a: PyHashAlgo) -> Self {
        match a {
            PyHashAlgo::BLAKE3 => syncore::HashAlgo::Blake3,
            PyHashAlgo::SHA256 => syncore::HashAlgo::Sha256,
        }
    }
}

impl From<syncore::HashAlgo> for PyHashAlgo {
    fn from(a: syncore::HashAlgo) -> Self {
        match a {
            syncore::HashAlgo::Blake3 => PyHashAlgo::BLAKE3,
            syncore::HashAlgo::Sha256 => PyHashAlgo::SHA256,
        }
    }
}

/// A hash algorithm given as a `HashAlgo` or its name (`"blake3"`, `"sha256"`).
#[derive(Default)]
pub(crate) struct AlgoArg(pub(crate) syncore::HashAlgo);

impl<'a, 'py> FromPyObject<'a, 'py> for AlgoArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(algo) = obj.extract::<PyHashAlgo>() {
            return Ok(AlgoArg(algo.into()));
        }
        if let Ok(name) = obj.cast::<PyString>() {
            return name.to_str()?.parse().py_err().map(AlgoArg);
        }
        Err(PyTypeError::new_err("algo must be a HashAlgo or a str"))
    }
}

#[pymethods]
impl PyHashAlgo {
    /// The algorithm's lowercase name.
    #[getter]
    fn name(&self) -> &'static str {
        syncore::HashAlgo::from(*self).name()
    }

    /// Hashes `data` (any bytes-like object) in one call, with the GIL released.
    fn digest(&self, py: Python<'_>, data: BytesLike<'_>) -> PyDigest {
        let algo = syncore::HashAlgo::from(*self);
        let bytes = data.as_slice();
        PyDigest(py.detach(|| algo.digest(bytes)))
    }

    /// A streaming hasher for this algorithm.
    fn hasher(&self) -> PyHasher {
        PyHasher(std::sync::Mutex::new(
            syncore::HashAlgo::from(*self).hasher(),
        ))
    }

    fn __str__(&self) -> &'static str {
        self.name()
    }
}

/// A 32-byte content digest. Hashable, ordered, shown as 64 hex characters.
#[pyclass(module = "syncore", name = "Digest", frozen, from_py_object)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PyDigest(pub(crate) syncore::Digest);

#[pymethods]
impl PyDigest {
    /// Wraps 32 raw digest bytes (any bytes-like object).
    #[new]
    fn new(data: BytesLike<'_>) -> PyResult<Self> {
        syncore::Digest::from_slice(data.as_slice())
            .py_err()
            .map(PyDigest)
    }

    /// Parses 64 hex characters (either case).
    #[staticmethod]
    fn from_hex(hex: &str) -> PyResult<Self> {
        syncore::Digest::from_hex(hex).py_err().map(PyDigest)
    }

    /// The digest as 64 lowercase hex characters.
    fn hex(&self) -> String {
        self.0.to_hex()
    }

    /// The 32 raw bytes.
    #[getter]
    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.as_bytes())
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.digest(py)
    }

    fn __str__(&self) -> String {
        self.0.to_hex()
    }

    fn __repr__(&self) -> String {
        format!("Digest('{}')", self.0)
    }

    fn __hash__(&self) -> u64 {
        let b = self.0.as_bytes();
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        match other.cast::<PyDigest>() {
            Ok(other) => PyBool::new(py, op.matches(self.cmp(other.get())))
                .to_owned()
                .into_any()
                .unbind(),
            Err(_) => py.NotImplemented(),
        }
    }

    fn __len__(&self) -> usize {
        syncore::Digest::LEN
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        Ok((py.get_type::<PyDigest>().into_any(), (self.digest(py),)))
    }
}

/// A digest argument: a `Digest`, 32 raw bytes, or 64 hex characters.
pub(crate) struct DigestArg(pub(crate) syncore::Digest);

impl<'a, 'py> FromPyObject<'a, 'py> for DigestArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(d) = obj.cast::<PyDigest>() {
            return Ok(DigestArg(d.get().0));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return syncore::Digest::from_hex(s.to_str()?)
                .py_err()
                .map(DigestArg);
        }
        if let Ok(b) = obj.extract::<BytesLike<'py>>() {
            return syncore::Digest::from_slice(b.as_slice())
                .py_err()
                .map(DigestArg);
        }
        Err(PyTypeError::new_err(format!(
            "expected a Digest, 32 bytes or a hex str, not '{}'",
            obj.get_type().name()?
        )))
    }
}

/// An incremental hasher: `update()` it with bytes, then `finalize()`.
#[pyclass(module = "syncore", name = "Hasher", frozen)]
pub struct PyHasher(std::sync::Mutex<syncore::Hasher>);

#[pymethods]
impl PyHasher {
    /// Creates a hasher for `algo` (default BLAKE3).
    #[new]
    #[pyo3(signature = (algo = AlgoArg::default()))]
    fn new(algo: AlgoArg) -> Self {
        PyHasher(std::sync::Mutex::new(algo.0.hasher()))
    }

    /// Feeds bytes (any bytes-like object), with the GIL released.
    fn update(&self, py: Python<'_>, data: BytesLike<'_>) {
        let bytes = data.as_slice();
        py.detach(|| {
            lock(&self.0).update(bytes);
        });
    }

    /// The digest of everything fed so far (the hasher can keep going).
    fn finalize(&self) -> PyDigest {
        PyDigest(lock(&self.0).finalize())
    }

    /// An independent copy of the hasher's state.
    fn copy(&self) -> Self {
        PyHasher(std::sync::Mutex::new(lock(&self.0).clone()))
    }
}

pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Hashes `data` with `algo` (default BLAKE3), with the GIL released.
#[pyfunction]
#[pyo3(signature = (data, algo = AlgoArg::default()))]
pub fn digest(py: Python<'_>, data: BytesLike<'_>, algo: AlgoArg) -> PyDigest {
    let bytes = data.as_slice();
    PyDigest(py.detach(|| algo.0.digest(bytes)))
}
