from __future__ import annotations

import errno
import pathlib

import pytest

import syncore


def test_hierarchy() -> None:
    kinds = {
        syncore.NotFoundError: "not_found",
        syncore.InvalidInputError: "invalid_input",
        syncore.CorruptError: "corrupt",
        syncore.ConflictError: "conflict",
        syncore.QuotaExceededError: "quota_exceeded",
        syncore.BusyError: "busy",
        syncore.UnsupportedError: "unsupported",
        syncore.SyncoreOSError: "io",
    }
    for cls, kind in kinds.items():
        assert issubclass(cls, syncore.SyncoreError) and cls.kind == kind
        assert cls.__module__ == "syncore"
    assert issubclass(syncore.SyncoreOSError, OSError)
    assert issubclass(syncore.InvalidInputError, ValueError)
    assert issubclass(syncore.NotFoundError, LookupError)
    assert issubclass(syncore.SyncoreFileNotFoundError, FileNotFoundError)
    assert issubclass(syncore.SyncorePermissionError, PermissionError)


def test_missing_file_is_file_not_found_and_syncore_error(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nope.bin"
    with pytest.raises(FileNotFoundError) as info:
        syncore.Chunker().chunk_file(missing)
    err = info.value
    assert isinstance(err, syncore.SyncoreError)
    assert isinstance(err, syncore.SyncoreFileNotFoundError)
    assert err.errno == errno.ENOENT and err.filename == str(missing)
    assert str(err).startswith(f"{missing}: ")  # the core's message
    with pytest.raises(syncore.SyncoreError):
        syncore.FileManifest.of_file(missing)


def test_directory_read_is_a_directory_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(IsADirectoryError) as info:
        syncore.Chunker().chunk_file(tmp_path)
    assert isinstance(info.value, syncore.SyncoreError)
    assert info.value.filename == str(tmp_path)


def test_messages_are_the_cores() -> None:
    with pytest.raises(syncore.InvalidInputError) as info:
        syncore.Chunker(8192, 4096, 65536)
    assert str(info.value) == "invalid input: min_size (8192) must not exceed avg_size (4096)"
