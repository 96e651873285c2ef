from __future__ import annotations

import pathlib

import pytest

import syncore


def test_manifest_round_trip(data: bytes, tmp_path: pathlib.Path) -> None:
    chunker = syncore.Chunker()
    m = chunker.manifest(data)
    assert m.size == len(data) and len(m) == len(m.chunks) == len(chunker.chunk(data))
    assert m == syncore.FileManifest.of_bytes(data)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert chunker.manifest_file(path) == m == syncore.FileManifest.of_file(path, chunker)
    assert syncore.FileManifest.decode(m.encode()) == m
    assert syncore.FileManifest.decode(bytearray(bytes(m))) == m
    assert syncore.FileManifest.from_chunks(m.chunks) == m
    assert hash(m) == hash(syncore.FileManifest.decode(m.encode()))
    assert m.algo == syncore.HashAlgo.BLAKE3
    assert syncore.FileManifest.empty().size == 0
    assert "FileManifest(size=" in repr(m)


def test_diff_lists_new_chunks(data: bytes) -> None:
    chunker = syncore.Chunker(4096, 16384, 65536)
    old = chunker.manifest(data)
    edited = data[:1_000_000] + b"inserted" + data[1_000_000:]
    new = chunker.manifest(edited)
    need = old.diff(new)
    assert 0 < len(need) < 5
    assert set(need) <= {c.id for c in new.chunks}
    assert old.diff(old) == []


def test_corrupt_manifests_raise_corrupt_error(data: bytes) -> None:
    encoded = bytearray(syncore.FileManifest.of_bytes(data).encode())
    for damage in (bytes(encoded[:-1]), b"", b"SYNM" + bytes(100)):
        with pytest.raises(syncore.CorruptError):
            syncore.FileManifest.decode(damage)
    encoded[30] ^= 1
    with pytest.raises(syncore.CorruptError, match="checksum"):
        syncore.FileManifest.decode(encoded)


def test_from_chunks_validates() -> None:
    c = syncore.Chunk(syncore.digest(b"x"), 5, 1)
    with pytest.raises(syncore.InvalidInputError, match="offset"):
        syncore.FileManifest.from_chunks([c])
    with pytest.raises(TypeError):
        syncore.FileManifest.from_chunks([b"nope"])  # type: ignore[list-item]
