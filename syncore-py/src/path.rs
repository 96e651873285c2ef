//! Relative-path validation.

use pyo3::prelude::*;

use crate::errors::IntoPyResult;

/// Validates a replica-relative path and returns its NFC form.
///
/// Raises `InvalidInputError` for the empty path, absolute paths, empty / `.` / `..`
/// components, NUL, backslash, and over-long components or paths.
#[pyfunction]
pub fn normalize_path(path: &str) -> PyResult<String> {
    syncore::RelPath::new(path)
        .py_err()
        .map(|p| p.as_str().to_owned())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(normalize_path, m)?)
}
