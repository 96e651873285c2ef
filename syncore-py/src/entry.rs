//! `Entry` and `EntryKind`: one path in a replica, as the index and change sets carry it.

use pyo3::prelude::*;

use syncore::{Entry, EntryKind};

use crate::hash::PyDigest;
use crate::sync::PyVersionVector;

/// File, directory or symlink.
#[pyclass(
    module = "syncore",
    name = "EntryKind",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)] // Python enum-member style
pub enum PyEntryKind {
    /// A regular file.
    FILE,
    /// A directory.
    DIR,
    /// A symbolic link (never followed).
    SYMLINK,
}

impl From<EntryKind> for PyEntryKind {
    fn from(k: EntryKind) -> Self {
        match k {
            EntryKind::File => PyEntryKind::FILE,
            EntryKind::Dir => PyEntryKind::DIR,
            EntryKind::Symlink => PyEntryKind::SYMLINK,
        }
    }
}

/// One path in a replica at one version (a tombstone if `deleted`). Immutable.
#[pyclass(module = "syncore", name = "Entry", frozen)]
pub struct PyEntry(pub(crate) Entry);

#[pymethods]
impl PyEntry {
    /// The path, relative to the replica root (`/`-separated, NFC).
    #[getter]
    fn path(&self) -> &str {
        self.0.path.as_str()
    }

    /// File, directory or symlink.
    #[getter]
    fn kind(&self) -> PyEntryKind {
        self.0.kind.into()
    }

    /// Size in bytes (files), 0 otherwise.
    #[getter]
    fn size(&self) -> u64 {
        self.0.size
    }

    /// Modification time, nanoseconds since the Unix epoch.
    #[getter]
    fn mtime_ns(&self) -> i64 {
        self.0.mtime_ns
    }

    /// The owner-executable bit (files).
    #[getter]
    fn executable(&self) -> bool {
        self.0.executable
    }

    /// Where a symlink points (symlinks only).
    #[getter]
    fn symlink_target(&self) -> Option<&str> {
        self.0.symlink_target.as_deref()
    }

    /// The content id of a file's manifest (live files only).
    #[getter]
    fn content_id(&self) -> Option<PyDigest> {
        self.0.content_id.map(PyDigest)
    }

    /// Which changes this version includes (a copy).
    #[getter]
    fn version(&self) -> PyVersionVector {
        PyVersionVector::of(self.0.version.clone())
    }

    /// True for a tombstone.
    #[getter]
    fn deleted(&self) -> bool {
        self.0.deleted
    }

    /// The local sequence number of the change that produced this entry.
    #[getter]
    fn seq(&self) -> u64 {
        self.0.seq
    }

    /// True if both entries describe the same content, ignoring versions and sequence numbers.
    fn same_content(&self, other: PyRef<'_, PyEntry>) -> bool {
        self.0.same_content(&other.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "Entry({:?}, kind={}, size={}, seq={}{})",
            self.0.path.as_str(),
            match self.0.kind {
                EntryKind::File => "FILE",
                EntryKind::Dir => "DIR",
                EntryKind::Symlink => "SYMLINK",
            },
            self.0.size,
            self.0.seq,
            if self.0.deleted { ", deleted" } else { "" }
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEntryKind>()?;
    m.add_class::<PyEntry>()?;
    Ok(())
}
