"""The exception hierarchy: one class per ``syncore::ErrorKind``.

``SyncoreError`` is the base of everything syncore raises for a core error. I/O failures are
also ``OSError`` subclasses carrying ``errno`` and ``filename``: a missing file raises
``SyncoreFileNotFoundError``, which is both a ``FileNotFoundError`` and a ``SyncoreError``.
``str(error)`` is always the core's message.
"""

from __future__ import annotations

import errno as _errno
import os
from typing import ClassVar, Dict, Optional, Type, Union

__all__ = [
    "SyncoreError",
    "SyncoreOSError",
    "SyncoreFileNotFoundError",
    "SyncoreFileExistsError",
    "SyncorePermissionError",
    "SyncoreIsADirectoryError",
    "SyncoreNotADirectoryError",
    "NotFoundError",
    "InvalidInputError",
    "CorruptError",
    "ConflictError",
    "QuotaExceededError",
    "BusyError",
    "UnsupportedError",
]


class SyncoreError(Exception):
    """Base class of every error syncore raises; ``kind`` names the core's error kind."""

    kind: ClassVar[str] = "unknown"


class SyncoreOSError(SyncoreError, OSError):
    """An operating-system I/O operation failed (``errno`` and ``filename`` are set when known)."""

    kind: ClassVar[str] = "io"
    message: Optional[str] = None

    def __str__(self) -> str:
        if self.message is not None:
            return self.message
        return OSError.__str__(self)


class SyncoreFileNotFoundError(SyncoreOSError, FileNotFoundError):
    """A file or directory does not exist (``ENOENT``)."""


class SyncoreFileExistsError(SyncoreOSError, FileExistsError):
    """A file or directory already exists (``EEXIST``)."""


class SyncorePermissionError(SyncoreOSError, PermissionError):
    """Permission denied (``EACCES``, ``EPERM``)."""


class SyncoreIsADirectoryError(SyncoreOSError, IsADirectoryError):
    """A file operation was attempted on a directory (``EISDIR``)."""


class SyncoreNotADirectoryError(SyncoreOSError, NotADirectoryError):
    """A directory operation was attempted on something else (``ENOTDIR``)."""


class NotFoundError(SyncoreError, LookupError):
    """A named object (chunk, path, version, ...) does not exist."""

    kind: ClassVar[str] = "not_found"


class InvalidInputError(SyncoreError, ValueError):
    """A parameter or value was rejected (bad size, hostile path, mismatched chunk id, ...)."""

    kind: ClassVar[str] = "invalid_input"


class CorruptError(SyncoreError):
    """Stored or received bytes failed validation (bad checksum, truncated, malformed)."""

    kind: ClassVar[str] = "corrupt"


class ConflictError(SyncoreError):
    """Two replicas changed the same thing concurrently and the policy refused to pick."""

    kind: ClassVar[str] = "conflict"


class QuotaExceededError(SyncoreError):
    """The change would exceed the configured quota."""

    kind: ClassVar[str] = "quota_exceeded"


class BusyError(SyncoreError):
    """A resource (database, lock) is held by someone else."""

    kind: ClassVar[str] = "busy"


class UnsupportedError(SyncoreError):
    """The data or request needs a feature or format version this build does not have."""

    kind: ClassVar[str] = "unsupported"


_BY_KIND: Dict[str, Type[SyncoreError]] = {
    cls.kind: cls
    for cls in (
        NotFoundError,
        InvalidInputError,
        CorruptError,
        ConflictError,
        QuotaExceededError,
        BusyError,
        UnsupportedError,
    )
}

_BY_ERRNO: Dict[int, Type[SyncoreOSError]] = {
    _errno.ENOENT: SyncoreFileNotFoundError,
    _errno.EEXIST: SyncoreFileExistsError,
    _errno.EACCES: SyncorePermissionError,
    _errno.EPERM: SyncorePermissionError,
    _errno.EISDIR: SyncoreIsADirectoryError,
    _errno.ENOTDIR: SyncoreNotADirectoryError,
}


def _from_core(
    kind: str,
    message: str,
    errno: Optional[int],
    filename: Optional[Union[str, "os.PathLike[str]"]],
) -> SyncoreError:
    """Builds the exception for a core error (called by the extension module)."""
    if kind == "io":
        if errno is None:
            err: SyncoreOSError = SyncoreOSError(message)
        else:
            cls = _BY_ERRNO.get(errno, SyncoreOSError)
            if filename is None:
                err = cls(errno, os.strerror(errno))
            else:
                err = cls(errno, os.strerror(errno), os.fspath(filename))
        err.message = message
        return err
    return _BY_KIND.get(kind, SyncoreError)(message)


for _name in __all__:
    globals()[_name].__module__ = "syncore"
