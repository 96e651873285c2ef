//! `FileManifest`: what a file is made of.

use std::path::PathBuf;

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::bytes::BytesLike;
use crate::chunk::{PyChunk, PyChunker};
use crate::errors::IntoPyResult;
use crate::hash::{AlgoArg, PyDigest, PyHashAlgo};

/// The ordered chunk list of a file, its size and its content id. Immutable.
#[pyclass(module = "syncore", name = "FileManifest", frozen)]
#[derive(Clone)]
pub struct PyFileManifest(pub(crate) syncore::FileManifest);

fn default_chunker() -> syncore::Chunker {
    syncore::Chunker::default()
}

#[pymethods]
impl PyFileManifest {
    /// The manifest of an in-memory input, chunked with `chunker` (default: `Chunker()`).
    #[staticmethod]
    #[pyo3(signature = (data, chunker = None))]
    fn of_bytes(
        py: Python<'_>,
        data: BytesLike<'_>,
        chunker: Option<PyRef<'_, PyChunker>>,
    ) -> Self {
        let chunker = chunker.map_or_else(default_chunker, |c| c.0.clone());
        let bytes = data.as_slice();
        PyFileManifest(py.detach(|| syncore::FileManifest::of_slice(&chunker, bytes)))
    }

    /// The manifest of the file at `path`, chunked with `chunker` (default: `Chunker()`).
    #[staticmethod]
    #[pyo3(signature = (path, chunker = None))]
    fn of_file(
        py: Python<'_>,
        path: PathBuf,
        chunker: Option<PyRef<'_, PyChunker>>,
    ) -> PyResult<Self> {
        let chunker = chunker.map_or_else(default_chunker, |c| c.0.clone());
        py.detach(|| syncore::FileManifest::of_file(&chunker, &path))
            .py_err()
            .map(PyFileManifest)
    }

    /// A manifest from chunks that tile the file from offset 0 (validated).
    #[staticmethod]
    #[pyo3(signature = (chunks, algo = AlgoArg::default()))]
    fn from_chunks(chunks: Vec<PyChunk>, algo: AlgoArg) -> PyResult<Self> {
        let chunks = chunks.into_iter().map(|c| c.0).collect();
        syncore::FileManifest::from_chunks(algo.0, chunks)
            .py_err()
            .map(PyFileManifest)
    }

    /// The manifest of an empty file.
    #[staticmethod]
    #[pyo3(signature = (algo = AlgoArg::default()))]
    fn empty(algo: AlgoArg) -> Self {
        PyFileManifest(syncore::FileManifest::empty(algo.0))
    }

    /// Decodes bytes made by `encode()`; raises `CorruptError` on any damage.
    #[staticmethod]
    fn decode(py: Python<'_>, data: BytesLike<'_>) -> PyResult<Self> {
        let bytes = data.as_slice();
        py.detach(|| syncore::FileManifest::decode(bytes))
            .py_err()
            .map(PyFileManifest)
    }

    /// The versioned, checksummed binary encoding.
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.encode())
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.encode(py)
    }

    /// The hash algorithm of the chunk ids.
    #[getter]
    fn algo(&self) -> PyHashAlgo {
        self.0.algo().into()
    }

    /// The file's size in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.0.size()
    }

    /// The id of the whole content (a hash over the chunk list).
    #[getter]
    fn content_id(&self) -> PyDigest {
        PyDigest(self.0.content_id())
    }

    /// The chunks, in file order.
    #[getter]
    fn chunks(&self) -> Vec<PyChunk> {
        self.0.chunks().iter().copied().map(PyChunk).collect()
    }

    /// Ids of the chunks of `newer` that this version lacks, in order, without duplicates.
    fn diff(&self, newer: PyRef<'_, PyFileManifest>) -> Vec<PyDigest> {
        self.0.diff(&newer.0).into_iter().map(PyDigest).collect()
    }

    fn __len__(&self) -> usize {
        self.0.chunks().len()
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        match (other.cast::<PyFileManifest>(), op) {
            (Ok(other), CompareOp::Eq) => (self.0 == other.get().0)
                .into_pyobject(py)
                .map(|b| b.to_owned().into_any().unbind())
                .unwrap_or_else(|_| py.NotImplemented()),
            (Ok(other), CompareOp::Ne) => (self.0 != other.get().0)
                .into_pyobject(py)
                .map(|b| b.to_owned().into_any().unbind())
                .unwrap_or_else(|_| py.NotImplemented()),
            _ => py.NotImplemented(),
        }
    }

    fn __hash__(&self) -> u64 {
        let b = self.0.content_id();
        let b = b.as_bytes();
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    fn __repr__(&self) -> String {
        format!(
            "FileManifest(size={}, chunks={}, content_id=Digest('{}'), algo='{}')",
            self.0.size(),
            self.0.chunks().len(),
            self.0.content_id(),
            self.0.algo()
        )
    }
}
