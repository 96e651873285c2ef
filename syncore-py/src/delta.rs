//! rsync/librsync-compatible deltas: `Signature`, `delta`, `patch` and their file forms.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use syncore::delta as core_delta;
use syncore::delta::{DeltaStats, Signature, SignatureMagic, SignatureOptions};

use crate::bytes::BytesLike;
use crate::chunk::PyReader;
use crate::errors::IntoPyResult;

/// A signature format: rolling checksum and strong hash (librsync's magic numbers).
#[pyclass(
    module = "syncore",
    name = "SignatureFormat",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)] // Python enum-member style
pub enum PySignatureFormat {
    /// RabinKarp rolling checksum, BLAKE2b strong sums (librsync >= 2.2, the default).
    BLAKE2_RABINKARP,
    /// Adler-style rollsum, BLAKE2b strong sums (librsync >= 1.0).
    BLAKE2_ROLLSUM,
    /// Adler-style rollsum, MD4 strong sums (the original format).
    MD4_ROLLSUM,
    /// RabinKarp rolling checksum, MD4 strong sums.
    MD4_RABINKARP,
}

impl From<PySignatureFormat> for SignatureMagic {
    fn from(f: PySignatureFormat) -> Self {
        match f {
            PySignatureFormat::BLAKE2_RABINKARP => SignatureMagic::Blake2RabinKarp,
            PySignatureFormat::BLAKE2_ROLLSUM => SignatureMagic::Blake2Rollsum,
            PySignatureFormat::MD4_ROLLSUM => SignatureMagic::Md4Rollsum,
            PySignatureFormat::MD4_RABINKARP => SignatureMagic::Md4RabinKarp,
        }
    }
}

impl From<SignatureMagic> for PySignatureFormat {
    fn from(m: SignatureMagic) -> Self {
        match m {
            SignatureMagic::Blake2RabinKarp => PySignatureFormat::BLAKE2_RABINKARP,
            SignatureMagic::Blake2Rollsum => PySignatureFormat::BLAKE2_ROLLSUM,
            SignatureMagic::Md4Rollsum => PySignatureFormat::MD4_ROLLSUM,
            SignatureMagic::Md4RabinKarp => PySignatureFormat::MD4_RABINKARP,
        }
    }
}

fn options(
    format: PySignatureFormat,
    block_len: Option<u32>,
    strong_len: Option<u32>,
) -> SignatureOptions {
    SignatureOptions {
        magic: format.into(),
        block_len,
        strong_len,
    }
}

/// The signature of a basis file: per block, a rolling checksum and a strong hash.
#[pyclass(module = "syncore", name = "Signature", frozen)]
pub struct PySignature(Signature);

#[pymethods]
impl PySignature {
    /// The signature of an in-memory basis (any bytes-like object).
    #[staticmethod]
    #[pyo3(signature = (basis, *, format = PySignatureFormat::BLAKE2_RABINKARP, block_len = None, strong_len = None))]
    fn of_bytes(
        py: Python<'_>,
        basis: BytesLike<'_>,
        format: PySignatureFormat,
        block_len: Option<u32>,
        strong_len: Option<u32>,
    ) -> PyResult<Self> {
        let opts = options(format, block_len, strong_len);
        let bytes = basis.as_slice();
        py.detach(|| core_delta::signature_of(bytes, &opts))
            .py_err()
            .map(PySignature)
    }

    /// The signature of the file at `path`, read in pieces.
    #[staticmethod]
    #[pyo3(signature = (path, *, format = PySignatureFormat::BLAKE2_RABINKARP, block_len = None, strong_len = None))]
    fn of_file(
        py: Python<'_>,
        path: PathBuf,
        format: PySignatureFormat,
        block_len: Option<u32>,
        strong_len: Option<u32>,
    ) -> PyResult<Self> {
        let opts = options(format, block_len, strong_len);
        py.detach(|| {
            let file = std::fs::File::open(&path).map_err(|e| syncore::Error::io(&path, e))?;
            let size = file.metadata().ok().map(|m| m.len());
            Signature::generate(file, size, &opts).map_err(|err| match err {
                syncore::Error::Io { path: None, source } => syncore::Error::io(&path, source),
                other => other,
            })
        })
        .py_err()
        .map(PySignature)
    }

    /// The signature of a binary file object (anything with `read(n) -> bytes`).
    #[staticmethod]
    #[pyo3(signature = (reader, *, format = PySignatureFormat::BLAKE2_RABINKARP, block_len = None, strong_len = None))]
    fn of_reader(
        py: Python<'_>,
        reader: Bound<'_, PyAny>,
        format: PySignatureFormat,
        block_len: Option<u32>,
        strong_len: Option<u32>,
    ) -> PyResult<Self> {
        let opts = options(format, block_len, strong_len);
        let reader = PyReader::new(reader)?;
        py.detach(|| Signature::generate(reader, None, &opts))
            .py_err()
            .map(PySignature)
    }

    /// Decodes a signature in librsync's format (as `rdiff signature` writes it).
    #[staticmethod]
    fn decode(py: Python<'_>, data: BytesLike<'_>) -> PyResult<Self> {
        let bytes = data.as_slice();
        py.detach(|| Signature::decode(bytes))
            .py_err()
            .map(PySignature)
    }

    /// The signature in librsync's format.
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.encode())
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.encode(py)
    }

    /// The delta turning this signature's basis into `new`.
    fn delta<'py>(&self, py: Python<'py>, new: BytesLike<'_>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = new.as_slice();
        let out = py.detach(|| core_delta::delta(&self.0, bytes)).py_err()?;
        Ok(PyBytes::new(py, &out))
    }

    /// The format (rolling checksum and strong hash).
    #[getter]
    fn format(&self) -> PySignatureFormat {
        self.0.magic().into()
    }

    /// Block length in bytes.
    #[getter]
    fn block_len(&self) -> u32 {
        self.0.block_len()
    }

    /// Strong-sum length in bytes.
    #[getter]
    fn strong_len(&self) -> u32 {
        self.0.strong_len()
    }

    /// Number of blocks of the basis.
    #[getter]
    fn block_count(&self) -> usize {
        self.0.block_count()
    }

    fn __len__(&self) -> usize {
        self.0.block_count()
    }

    fn __repr__(&self) -> String {
        format!(
            "Signature(blocks={}, block_len={}, strong_len={})",
            self.0.block_count(),
            self.0.block_len(),
            self.0.strong_len()
        )
    }
}

/// What generating a delta found.
#[pyclass(module = "syncore", name = "DeltaStats", frozen, get_all)]
pub struct PyDeltaStats {
    /// Bytes read from the new file.
    new_len: u64,
    /// Bytes of delta written.
    delta_len: u64,
    /// Number of LITERAL commands.
    literal_cmds: u64,
    /// New-file bytes sent as literals.
    literal_bytes: u64,
    /// Number of COPY commands.
    copy_cmds: u64,
    /// New-file bytes expressed as copies from the basis.
    copy_bytes: u64,
}

impl From<DeltaStats> for PyDeltaStats {
    fn from(s: DeltaStats) -> Self {
        PyDeltaStats {
            new_len: s.new_len,
            delta_len: s.delta_len,
            literal_cmds: s.literal_cmds,
            literal_bytes: s.literal_bytes,
            copy_cmds: s.copy_cmds,
            copy_bytes: s.copy_bytes,
        }
    }
}

#[pymethods]
impl PyDeltaStats {
    fn __repr__(&self) -> String {
        format!(
            "DeltaStats(new_len={}, delta_len={}, copy_bytes={}, literal_bytes={})",
            self.new_len, self.delta_len, self.copy_bytes, self.literal_bytes
        )
    }
}

/// The delta turning the basis of `signature` (a `Signature` or its encoded bytes) into `new`.
#[pyfunction]
fn delta<'py>(
    py: Python<'py>,
    signature: &Bound<'_, PyAny>,
    new: BytesLike<'_>,
) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(sig) = signature.cast::<PySignature>() {
        return sig.get().delta(py, new);
    }
    let encoded: BytesLike<'_> = signature.extract()?;
    let sig = PySignature::decode(py, encoded)?;
    sig.delta(py, new)
}

/// The new file rebuilt from `basis` and `delta` (refused past `limit` bytes if given).
#[pyfunction]
#[pyo3(signature = (basis, delta, *, limit = None))]
fn patch<'py>(
    py: Python<'py>,
    basis: BytesLike<'_>,
    delta: BytesLike<'_>,
    limit: Option<u64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let (b, d) = (basis.as_slice(), delta.as_slice());
    let out = py.detach(|| core_delta::patch(b, d, limit)).py_err()?;
    Ok(PyBytes::new(py, &out))
}

/// Writes the signature of the file `basis` to the file `signature` (like `rdiff signature`);
/// returns the number of signature bytes written.
#[pyfunction]
#[pyo3(signature = (basis, signature, *, format = PySignatureFormat::BLAKE2_RABINKARP, block_len = None, strong_len = None))]
fn signature_file(
    py: Python<'_>,
    basis: PathBuf,
    signature: PathBuf,
    format: PySignatureFormat,
    block_len: Option<u32>,
    strong_len: Option<u32>,
) -> PyResult<u64> {
    let opts = options(format, block_len, strong_len);
    py.detach(|| core_delta::signature_file(&basis, &opts, &signature))
        .py_err()
}

/// Writes the delta of the file `new` against the signature file `signature` to the file
/// `delta` (like `rdiff delta`).
#[pyfunction]
fn delta_file(
    py: Python<'_>,
    signature: PathBuf,
    new: PathBuf,
    delta: PathBuf,
) -> PyResult<PyDeltaStats> {
    py.detach(|| core_delta::delta_file(&signature, &new, &delta))
        .py_err()
        .map(PyDeltaStats::from)
}

/// Rebuilds the file `out` from the file `basis` and the delta file `delta` (like
/// `rdiff patch`); returns the new file's length.
#[pyfunction]
#[pyo3(signature = (basis, delta, out, *, limit = None))]
fn patch_file(
    py: Python<'_>,
    basis: PathBuf,
    delta: PathBuf,
    out: PathBuf,
    limit: Option<u64>,
) -> PyResult<u64> {
    py.detach(|| core_delta::patch_file(&basis, &delta, &out, limit))
        .py_err()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySignatureFormat>()?;
    m.add_class::<PySignature>()?;
    m.add_class::<PyDeltaStats>()?;
    m.add_function(wrap_pyfunction!(delta, m)?)?;
    m.add_function(wrap_pyfunction!(patch, m)?)?;
    m.add_function(wrap_pyfunction!(signature_file, m)?)?;
    m.add_function(wrap_pyfunction!(delta_file, m)?)?;
    m.add_function(wrap_pyfunction!(patch_file, m)?)?;
    Ok(())
}
