//! Mapping between `syncore::Error` and Python exceptions.
//!
//! The exception classes are defined in `syncore/_errors.py` (plain Python, so that the I/O
//! ones can inherit from both `SyncoreError` and the matching `OSError` subclass); this module
//! only builds instances of them from the core's error, keeping the core's message. An
//! exception raised by Python code the core called back (a Python chunk store, a file object)
//! travels through the core wrapped in an I/O error and comes out unchanged.

use std::io;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

use syncore::Error;

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS_MODULE
        .get_or_try_init(py, || py.import("syncore._errors").map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// Converts a core error into the matching `syncore` exception.
pub(crate) fn to_py(err: Error) -> PyErr {
    Python::attach(|py| {
        if let Some(original) = python_error(&err) {
            return original.clone_ref(py);
        }
        let kind = err.kind().as_str();
        let message = err.to_string();
        let errno = err.raw_os_error();
        let filename = err.path().map(|p| p.to_path_buf());
        let made = errors_module(py).and_then(|m| {
            m.getattr("_from_core")?
                .call1((kind, message.as_str(), errno, filename))
        });
        match made {
            Ok(exc) => PyErr::from_value(exc),
            Err(import_failed) => import_failed,
        }
    })
}

/// The Python exception inside an error that came from a Python callback, if it is one.
fn python_error(err: &Error) -> Option<&PyErr> {
    match err {
        Error::Io { path: None, source } => source.get_ref()?.downcast_ref::<PyErr>(),
        _ => None,
    }
}

/// Wraps a Python exception raised by a callback so it can cross the core as an `Error`.
pub(crate) fn from_py(err: PyErr) -> Error {
    Error::io_stream(io_from_py(err))
}

/// Wraps a Python exception as an `io::Error` (for `Read` adapters).
pub(crate) fn io_from_py(err: PyErr) -> io::Error {
    io::Error::other(err)
}

/// `Result<T, syncore::Error>` → `PyResult<T>`.
pub(crate) trait IntoPyResult<T> {
    /// Converts the error with [`to_py`].
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
