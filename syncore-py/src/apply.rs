//! `AtomicFile` and `Durability`: writing files safely.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use syncore::apply::{ApplyOptions, AtomicFile, Durability};

use crate::bytes::BytesLike;
use crate::errors::IntoPyResult;
use crate::hash::lock;

/// How hard a commit works to survive a power loss.
#[pyclass(
    module = "syncore",
    name = "Durability",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)] // Python enum-member style
pub enum PyDurability {
    /// fsync the file before its rename and its directory after (the default).
    PER_FILE,
    /// No fsync per file: the caller syncs the filesystem once after a batch.
    BATCHED,
    /// Never fsync.
    NONE,
}

impl From<PyDurability> for Durability {
    fn from(d: PyDurability) -> Self {
        match d {
            PyDurability::PER_FILE => Durability::PerFile,
            PyDurability::BATCHED => Durability::Batched,
            PyDurability::NONE => Durability::None,
        }
    }
}

impl PyDurability {
    /// The options of an apply with this durability (the rest default).
    pub(crate) fn apply_options(self) -> ApplyOptions {
        ApplyOptions {
            durability: self.into(),
            ..ApplyOptions::default()
        }
    }
}

/// A temp file next to `target` that replaces it atomically on `commit()`.
///
/// As a context manager it commits when the block succeeds and discards the temp file when it
/// raises. Writes release the GIL.
#[pyclass(module = "syncore", name = "AtomicFile", frozen)]
pub struct PyAtomicFile {
    file: Mutex<Option<AtomicFile>>,
    target: PathBuf,
    durability: Durability,
}

impl PyAtomicFile {
    fn closed() -> PyErr {
        PyValueError::new_err("the atomic file was already committed or discarded")
    }
}

#[pymethods]
impl PyAtomicFile {
    /// Creates the temp file for `target` (its directory must exist).
    #[new]
    #[pyo3(signature = (target, durability = PyDurability::PER_FILE))]
    fn new(py: Python<'_>, target: PathBuf, durability: PyDurability) -> PyResult<Self> {
        let file = py.detach(|| AtomicFile::create(&target)).py_err()?;
        Ok(PyAtomicFile {
            file: Mutex::new(Some(file)),
            target,
            durability: durability.into(),
        })
    }

    /// The file this will replace.
    #[getter]
    fn target(&self) -> PathBuf {
        self.target.clone()
    }

    /// The temp file's path; None while it has no name (on Linux it gets one only when
    /// committed) and once committed or discarded.
    #[getter]
    fn temp_path(&self) -> Option<PathBuf> {
        lock(&self.file)
            .as_ref()
            .and_then(|f| f.temp_path().map(PathBuf::from))
    }

    /// Appends bytes; returns how many were written.
    fn write(&self, py: Python<'_>, data: BytesLike<'_>) -> PyResult<usize> {
        let bytes = data.as_slice();
        py.detach(|| {
            let mut guard = lock(&self.file);
            let file = guard.as_mut().ok_or_else(Self::closed)?;
            file.write_all(bytes).py_err()?;
            Ok(bytes.len())
        })
    }

    /// Renames the temp file over the target with the chosen durability.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        let file = lock(&self.file).take().ok_or_else(Self::closed)?;
        let durability = self.durability;
        py.detach(|| file.commit(durability)).map(drop).py_err()
    }

    /// Deletes the temp file; the target is untouched. Does nothing if already closed.
    fn discard(&self, py: Python<'_>) {
        let file = lock(&self.file).take();
        py.detach(|| drop(file));
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (exc_type, *_rest))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<Bound<'_, PyAny>>,
        _rest: &Bound<'_, PyTuple>,
    ) -> PyResult<bool> {
        if exc_type.is_some_and(|t| !t.is_none()) {
            self.discard(py);
        } else if lock(&self.file).is_some() {
            self.commit(py)?;
        }
        Ok(false)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDurability>()?;
    m.add_class::<PyAtomicFile>()?;
    Ok(())
}
