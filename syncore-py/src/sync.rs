//! Replica identities and version vectors (the `sync` module of the core).

use std::sync::Mutex;

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes};

use syncore::sync::{Causality, ReplicaId, VersionVector};

use crate::bytes::BytesLike;
use crate::errors::IntoPyResult;
use crate::hash::lock;

/// A replica's random, permanent identity (16 bytes, shown as 32 hex characters).
#[pyclass(module = "syncore", name = "ReplicaId", frozen, from_py_object)]
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PyReplicaId(pub(crate) ReplicaId);

#[pymethods]
impl PyReplicaId {
    /// Parses 32 hex characters.
    #[new]
    fn new(hex: &str) -> PyResult<Self> {
        hex.parse::<ReplicaId>().py_err().map(PyReplicaId)
    }

    /// A fresh random id.
    #[staticmethod]
    fn random() -> Self {
        PyReplicaId(ReplicaId::random())
    }

    /// The raw 16 bytes.
    #[getter]
    fn bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.as_bytes())
    }

    /// The first 8 hex characters (for conflict-copy names).
    fn short(&self) -> String {
        self.0.short()
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("ReplicaId('{}')", self.0)
    }

    fn __hash__(&self) -> u64 {
        let b = self.0.as_bytes();
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        match other.cast::<PyReplicaId>() {
            Ok(other) => PyBool::new(py, op.matches(self.cmp(other.get())))
                .to_owned()
                .into_any()
                .unbind(),
            Err(_) => py.NotImplemented(),
        }
    }
}

/// How two versions relate causally.
#[pyclass(
    module = "syncore",
    name = "Causality",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)] // Python enum-member style
pub enum PyCausality {
    /// Both have seen exactly the same changes.
    EQUAL,
    /// The left side has seen everything the right side has, and more.
    DOMINATES,
    /// The right side has seen everything the left side has, and more.
    DOMINATED_BY,
    /// Each side has seen changes the other has not.
    CONCURRENT,
}

impl From<Causality> for PyCausality {
    fn from(c: Causality) -> Self {
        match c {
            Causality::Equal => PyCausality::EQUAL,
            Causality::Dominates => PyCausality::DOMINATES,
            Causality::DominatedBy => PyCausality::DOMINATED_BY,
            Causality::Concurrent => PyCausality::CONCURRENT,
        }
    }
}

/// One counter per replica that changed an entry; missing replicas count as zero.
///
/// Mutable (`bump`, `merge`); calls are serialized, so it may be shared between threads.
#[pyclass(module = "syncore", name = "VersionVector", frozen)]
pub struct PyVersionVector(pub(crate) Mutex<VersionVector>);

impl PyVersionVector {
    pub(crate) fn of(v: VersionVector) -> Self {
        PyVersionVector(Mutex::new(v))
    }

    fn snapshot(&self) -> VersionVector {
        lock(&self.0).clone()
    }
}

#[pymethods]
impl PyVersionVector {
    /// An empty vector.
    #[new]
    fn new() -> Self {
        PyVersionVector::of(VersionVector::new())
    }

    /// The counter of `replica` (0 if absent).
    fn get(&self, replica: PyReplicaId) -> u64 {
        lock(&self.0).get(&replica.0)
    }

    /// Increments the counter of `replica`.
    fn bump(&self, replica: PyReplicaId) {
        lock(&self.0).bump(replica.0);
    }

    /// Takes the maximum of each counter with `other`'s.
    fn merge(&self, other: PyRef<'_, PyVersionVector>) {
        let other = other.snapshot();
        lock(&self.0).merge(&other);
    }

    /// How this version relates to `other`.
    fn compare(&self, other: PyRef<'_, PyVersionVector>) -> PyCausality {
        let other = other.snapshot();
        lock(&self.0).compare(&other).into()
    }

    /// The `(replica, counter)` pairs, ordered by replica.
    fn items(&self) -> Vec<(PyReplicaId, u64)> {
        lock(&self.0)
            .iter()
            .map(|(r, c)| (PyReplicaId(*r), *c))
            .collect()
    }

    /// A copy.
    fn copy(&self) -> Self {
        PyVersionVector::of(self.snapshot())
    }

    /// The binary encoding.
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &lock(&self.0).encode())
    }

    /// Decodes bytes made by `encode()`; raises `CorruptError` on damage.
    #[staticmethod]
    fn decode(data: BytesLike<'_>) -> PyResult<Self> {
        VersionVector::decode(data.as_slice())
            .py_err()
            .map(PyVersionVector::of)
    }

    fn __len__(&self) -> usize {
        lock(&self.0).iter().count()
    }

    fn __bool__(&self) -> bool {
        !lock(&self.0).is_empty()
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        let Ok(other) = other.cast::<PyVersionVector>() else {
            return py.NotImplemented();
        };
        let equal = self.snapshot() == other.get().snapshot();
        match op {
            CompareOp::Eq => PyBool::new(py, equal).to_owned().into_any().unbind(),
            CompareOp::Ne => PyBool::new(py, !equal).to_owned().into_any().unbind(),
            _ => py.NotImplemented(),
        }
    }

    fn __repr__(&self) -> String {
        let items: Vec<String> = lock(&self.0)
            .iter()
            .map(|(r, c)| format!("'{}': {c}", r.short()))
            .collect();
        format!("VersionVector({{{}}})", items.join(", "))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyReplicaId>()?;
    m.add_class::<PyCausality>()?;
    m.add_class::<PyVersionVector>()?;
    Ok(())
}
