//! `syncore._syncore`: the Python extension module of syncore.
//!
//! A thin PyO3 layer over the `syncore` crate: each submodule here wraps one core module and
//! holds no logic of its own beyond converting arguments and results. Every call that hashes,
//! reads, writes or queries releases the GIL (`Python::detach`). The pure-Python side of the
//! package (`python/syncore/`) re-exports these classes, defines the exception hierarchy and
//! carries the type stubs.

mod apply;
mod bytes;
mod chunk;
mod delta;
mod entry;
mod errors;
mod hash;
mod hub;
mod manifest;
mod path;
mod plan;
mod replica;
mod scan;
mod store;
mod sync;

use pyo3::prelude::*;

/// The native part of the `syncore` package; import `syncore` instead.
#[pymodule]
fn _syncore(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_CHUNK_LEN", syncore::chunk::MAX_CHUNK_LEN)?;
    m.add_class::<hash::PyHashAlgo>()?;
    m.add_class::<hash::PyDigest>()?;
    m.add_class::<hash::PyHasher>()?;
    m.add_function(wrap_pyfunction!(hash::digest, m)?)?;
    m.add_class::<chunk::PyChunk>()?;
    m.add_class::<chunk::PyChunker>()?;
    m.add_class::<chunk::PyChunkStream>()?;
    m.add_class::<chunk::ChunkIterator>()?;
    m.add_class::<manifest::PyFileManifest>()?;
    m.add_class::<store::PyStoreStats>()?;
    m.add_class::<store::PyScrubReport>()?;
    m.add_class::<store::PyChunkStore>()?;
    m.add_class::<store::PyMemStore>()?;
    m.add_class::<store::PyFsStore>()?;
    m.add_class::<store::PyReplicatedStore>()?;
    m.add_class::<store::PyPythonStore>()?;
    path::register(m)?;
    scan::register(m)?;
    sync::register(m)?;
    entry::register(m)?;
    delta::register(m)?;
    plan::register(m)?;
    apply::register(m)?;
    replica::register(m)?;
    hub::register(m)?;
    Ok(())
}
