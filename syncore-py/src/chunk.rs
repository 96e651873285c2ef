//! `Chunk`, `Chunker`, `ChunkStream` and the lazy chunk iterators.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use syncore::chunk::{ChunkStream, ChunkerConfig};

use crate::bytes::BytesLike;
use crate::errors::{io_from_py, IntoPyResult};
use crate::hash::{lock, AlgoArg, PyDigest, PyHashAlgo};
use crate::manifest::PyFileManifest;

/// Bytes read from a file or file object per step of a lazy iterator.
const PIECE: usize = 4 << 20;

/// One chunk of an input: its digest `id`, its `offset` in the input and its `length`.
#[pyclass(module = "syncore", name = "Chunk", frozen, eq, hash, from_py_object)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyChunk(pub(crate) syncore::Chunk);

#[pymethods]
impl PyChunk {
    /// A chunk description (as found in a manifest).
    #[new]
    fn new(id: PyDigest, offset: u64, length: u32) -> Self {
        PyChunk(syncore::Chunk {
            id: id.0,
            offset,
            len: length,
        })
    }

    /// Digest of the chunk's bytes.
    #[getter]
    fn id(&self) -> PyDigest {
        PyDigest(self.0.id)
    }

    /// Offset of the chunk's first byte in the input.
    #[getter]
    fn offset(&self) -> u64 {
        self.0.offset
    }

    /// Length in bytes.
    #[getter]
    fn length(&self) -> u32 {
        self.0.len
    }

    /// Offset one past the chunk's last byte.
    #[getter]
    fn end(&self) -> u64 {
        self.0.end()
    }

    fn __len__(&self) -> usize {
        self.0.len as usize
    }

    fn __repr__(&self) -> String {
        format!(
            "Chunk(id=Digest('{}'), offset={}, length={})",
            self.0.id, self.0.offset, self.0.len
        )
    }
}

/// Cuts bytes into chunks (FastCDC or fixed-size) and hashes each one.
///
/// Immutable and safe to share between threads; every call releases the GIL while it reads,
/// cuts and hashes.
#[pyclass(module = "syncore", name = "Chunker", frozen)]
pub struct PyChunker(pub(crate) syncore::Chunker);

#[pymethods]
impl PyChunker {
    /// A FastCDC chunker (defaults: 16 KiB / 64 KiB / 256 KiB, level 1, BLAKE3, all cores).
    #[new]
    #[pyo3(signature = (min_size = 16384, avg_size = 65536, max_size = 262144, *, level = 1, algo = AlgoArg::default(), threads = None))]
    fn new(
        min_size: u32,
        avg_size: u32,
        max_size: u32,
        level: u8,
        algo: AlgoArg,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let config = ChunkerConfig::FastCdc {
            min_size,
            avg_size,
            max_size,
            level,
        };
        build(config, algo, threads)
    }

    /// A fixed-size chunker: blocks of `size` bytes, the last one possibly shorter.
    #[staticmethod]
    #[pyo3(signature = (size, *, algo = AlgoArg::default(), threads = None))]
    fn fixed(size: u32, algo: AlgoArg, threads: Option<usize>) -> PyResult<Self> {
        build(ChunkerConfig::fixed(size), algo, threads)
    }

    /// The hash algorithm chunk ids are made with.
    #[getter]
    fn algo(&self) -> PyHashAlgo {
        self.0.algo().into()
    }

    /// Threads one call may use.
    #[getter]
    fn threads(&self) -> usize {
        self.0.threads()
    }

    /// The longest chunk this chunker produces.
    #[getter]
    fn max_chunk_len(&self) -> u32 {
        self.0.config().max_chunk_len()
    }

    fn __repr__(&self) -> String {
        let algo = self.0.algo();
        match *self.0.config() {
            ChunkerConfig::FastCdc {
                min_size,
                avg_size,
                max_size,
                level,
            } => format!(
                "Chunker(min_size={min_size}, avg_size={avg_size}, max_size={max_size}, level={level}, algo='{algo}')"
            ),
            ChunkerConfig::Fixed { size } => format!("Chunker.fixed({size}, algo='{algo}')"),
        }
    }

    /// The chunks of an in-memory input (any bytes-like object).
    fn chunk(&self, py: Python<'_>, data: BytesLike<'_>) -> Vec<PyChunk> {
        let bytes = data.as_slice();
        let chunks = py.detach(|| self.0.chunk_slice(bytes));
        chunks.into_iter().map(PyChunk).collect()
    }

    /// The chunks of the file at `path` (`str` or `os.PathLike`), read in bounded memory.
    fn chunk_file(&self, py: Python<'_>, path: PathBuf) -> PyResult<Vec<PyChunk>> {
        let chunks = py.detach(|| self.0.chunk_file(&path)).py_err()?;
        Ok(chunks.into_iter().map(PyChunk).collect())
    }

    /// The chunks of a binary file object (anything with `read(n) -> bytes`), read in pieces.
    fn chunk_reader(&self, py: Python<'_>, reader: Bound<'_, PyAny>) -> PyResult<Vec<PyChunk>> {
        let reader = PyReader::new(reader)?;
        let mut chunks = Vec::new();
        py.detach(|| {
            self.0.chunk_reader(reader, |chunk, _| {
                chunks.push(PyChunk(*chunk));
                Ok(())
            })
        })
        .py_err()?;
        Ok(chunks)
    }

    /// A lazy iterator over the chunks of the file at `path`; with `with_data=True` it yields
    /// `(chunk, bytes)` pairs. Close it (or use it as a context manager) to close the file early.
    #[pyo3(signature = (path, *, with_data = false))]
    fn iter_file(&self, py: Python<'_>, path: PathBuf, with_data: bool) -> PyResult<ChunkIterator> {
        let file = py
            .detach(|| File::open(&path))
            .map_err(|e| syncore::Error::io(&path, e))
            .py_err()?;
        Ok(ChunkIterator::new(
            &self.0,
            Source::File(file, path),
            with_data,
        ))
    }

    /// A lazy iterator over the chunks of a binary file object, read `4 MiB` at a time; with
    /// `with_data=True` it yields `(chunk, bytes)` pairs.
    #[pyo3(signature = (reader, *, with_data = false))]
    fn iter_reader(&self, reader: Bound<'_, PyAny>, with_data: bool) -> PyResult<ChunkIterator> {
        let reader = PyReader::new(reader)?;
        Ok(ChunkIterator::new(
            &self.0,
            Source::Reader(reader),
            with_data,
        ))
    }

    /// An incremental chunker: `push()` bytes as they arrive, then `finish()`.
    fn stream(&self) -> PyChunkStream {
        PyChunkStream(Mutex::new(Some(self.0.clone().into_stream())))
    }

    /// The manifest of an in-memory input (any bytes-like object).
    fn manifest(&self, py: Python<'_>, data: BytesLike<'_>) -> PyFileManifest {
        let bytes = data.as_slice();
        PyFileManifest(py.detach(|| syncore::FileManifest::of_slice(&self.0, bytes)))
    }

    /// The manifest of the file at `path`.
    fn manifest_file(&self, py: Python<'_>, path: PathBuf) -> PyResult<PyFileManifest> {
        py.detach(|| syncore::FileManifest::of_file(&self.0, &path))
            .py_err()
            .map(PyFileManifest)
    }
}

fn build(config: ChunkerConfig, algo: AlgoArg, threads: Option<usize>) -> PyResult<PyChunker> {
    let mut chunker = syncore::Chunker::new(config, algo.0).py_err()?;
    if let Some(threads) = threads {
        chunker = chunker.with_threads(threads).py_err()?;
    }
    Ok(PyChunker(chunker))
}

/// A Python binary file object seen as a `Read`; each read takes the GIL briefly.
pub(crate) struct PyReader(Py<PyAny>);

impl PyReader {
    pub(crate) fn new(obj: Bound<'_, PyAny>) -> PyResult<Self> {
        if !obj.hasattr("read")? {
            return Err(PyTypeError::new_err(format!(
                "expected a binary file object with a read() method, not '{}'",
                obj.get_type().name()?
            )));
        }
        Ok(PyReader(obj.unbind()))
    }

    fn read_py(&self, py: Python<'_>, buf: &mut [u8]) -> PyResult<usize> {
        let got = self.0.bind(py).call_method1("read", (buf.len(),))?;
        if got.is_none() {
            // A non-blocking stream with nothing available: treat as a short read of nothing
            // would end the stream, so refuse instead.
            return Err(PyValueError::new_err(
                "read() returned None (non-blocking streams are not supported)",
            ));
        }
        let data: BytesLike<'_> = got.extract().map_err(|_| {
            PyTypeError::new_err("read() must return bytes (open the file in binary mode)")
        })?;
        let data = data.as_slice();
        if data.len() > buf.len() {
            return Err(PyValueError::new_err(format!(
                "read({}) returned {} bytes",
                buf.len(),
                data.len()
            )));
        }
        buf[..data.len()].copy_from_slice(data);
        Ok(data.len())
    }
}

impl Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| self.read_py(py, buf)).map_err(io_from_py)
    }
}

/// Where a lazy iterator reads from.
enum Source {
    File(File, PathBuf),
    Reader(PyReader),
    Done,
}

struct IterState {
    stream: Option<ChunkStream<'static>>,
    source: Source,
    ready: VecDeque<(syncore::Chunk, Option<Vec<u8>>)>,
    with_data: bool,
    buf: Vec<u8>,
}

impl IterState {
    /// Reads one piece and pushes it; at end of input, finishes the stream.
    fn step(&mut self) -> syncore::Result<()> {
        let IterState {
            stream,
            source,
            ready,
            with_data,
            buf,
        } = self;
        let Some(active) = stream.as_mut() else {
            *source = Source::Done;
            return Ok(());
        };
        buf.resize(PIECE, 0);
        let n = match source {
            Source::File(file, path) => {
                read_full(file, buf).map_err(|e| syncore::Error::io(&*path, e))?
            }
            Source::Reader(reader) => read_full(reader, buf).map_err(syncore::Error::io_stream)?,
            Source::Done => 0,
        };
        let mut collect = |chunk: &syncore::Chunk, bytes: &[u8]| {
            ready.push_back((*chunk, with_data.then(|| bytes.to_vec())));
            Ok(())
        };
        if n == 0 {
            if let Some(done) = stream.take() {
                done.finish(&mut collect)?;
            }
            *source = Source::Done;
        } else {
            active.push(&buf[..n], &mut collect)?;
        }
        Ok(())
    }
}

/// Fills `buf` as far as the reader allows; returns 0 only at end of input.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A lazy iterator over chunks (or `(chunk, bytes)` pairs) of a file or file object.
///
/// Reads, cuts and hashes with the GIL released. Not meant to be advanced from two threads at
/// once (the second gets a `RuntimeError`).
#[pyclass(module = "syncore", name = "ChunkIterator")]
pub struct ChunkIterator(Mutex<IterState>);

impl ChunkIterator {
    fn new(chunker: &syncore::Chunker, source: Source, with_data: bool) -> Self {
        ChunkIterator(Mutex::new(IterState {
            stream: Some(chunker.clone().into_stream()),
            source,
            ready: VecDeque::new(),
            with_data,
            buf: Vec::new(),
        }))
    }
}

#[pymethods]
impl ChunkIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let mut state = self
            .0
            .try_lock()
            .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("iterator already in use"))?;
        loop {
            if let Some((chunk, data)) = state.ready.pop_front() {
                let chunk = Bound::new(py, PyChunk(chunk))?.into_any();
                return Ok(Some(match data {
                    Some(data) => PyTuple::new(py, [chunk, PyBytes::new(py, &data).into_any()])?
                        .into_any()
                        .unbind(),
                    None => chunk.unbind(),
                }));
            }
            if matches!(state.source, Source::Done) {
                return Ok(None);
            }
            let state = &mut *state;
            py.detach(|| state.step()).py_err()?;
        }
    }

    /// Stops the iteration and closes the file it reads (a file object is left open).
    fn close(&self) {
        let mut state = lock(&self.0);
        state.source = Source::Done;
        state.stream = None;
        state.ready.clear();
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) {
        self.close();
    }
}

/// An incremental chunker: push bytes in, receive the chunks whose boundaries are certain.
///
/// Holds at most a few MiB whatever the input length. Safe to share between threads (pushes
/// are serialized).
#[pyclass(module = "syncore", name = "ChunkStream", frozen)]
pub struct PyChunkStream(Mutex<Option<ChunkStream<'static>>>);

fn chunk_list<'py>(
    py: Python<'py>,
    out: Vec<(syncore::Chunk, Option<Vec<u8>>)>,
) -> PyResult<Bound<'py, PyList>> {
    let items = out
        .into_iter()
        .map(|(chunk, data)| -> PyResult<Bound<'py, PyAny>> {
            let chunk = Bound::new(py, PyChunk(chunk))?.into_any();
            Ok(match data {
                Some(data) => {
                    PyTuple::new(py, [chunk, PyBytes::new(py, &data).into_any()])?.into_any()
                }
                None => chunk,
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

#[pymethods]
impl PyChunkStream {
    /// Feeds bytes; returns the chunks now certain (as `(chunk, bytes)` pairs with
    /// `with_data=True`).
    #[pyo3(signature = (data, *, with_data = false))]
    fn push<'py>(
        &self,
        py: Python<'py>,
        data: BytesLike<'_>,
        with_data: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let bytes = data.as_slice();
        let out = py.detach(|| {
            let mut guard = lock(&self.0);
            let stream = guard
                .as_mut()
                .ok_or_else(|| syncore::Error::InvalidInput("stream already finished".into()))?;
            let mut out = Vec::new();
            stream.push(bytes, |chunk, b| {
                out.push((*chunk, with_data.then(|| b.to_vec())));
                Ok(())
            })?;
            Ok::<_, syncore::Error>(out)
        });
        chunk_list(py, out.py_err()?)
    }

    /// Ends the stream; returns the remaining chunks.
    #[pyo3(signature = (*, with_data = false))]
    fn finish<'py>(&self, py: Python<'py>, with_data: bool) -> PyResult<Bound<'py, PyList>> {
        let out = py.detach(|| {
            let stream = lock(&self.0)
                .take()
                .ok_or_else(|| syncore::Error::InvalidInput("stream already finished".into()))?;
            let mut out = Vec::new();
            stream.finish(|chunk, b| {
                out.push((*chunk, with_data.then(|| b.to_vec())));
                Ok(())
            })?;
            Ok::<_, syncore::Error>(out)
        });
        chunk_list(py, out.py_err()?)
    }

    /// Bytes pushed so far.
    #[getter]
    fn position(&self) -> u64 {
        lock(&self.0).as_ref().map_or(0, |s| s.position())
    }
}
