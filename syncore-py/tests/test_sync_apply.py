from __future__ import annotations

import pathlib

import pytest

import syncore


def test_normalize_path_nfc() -> None:
    assert syncore.normalize_path("cafe\u0301/x") == "caf\u00e9/x"


def test_replica_ids_and_version_vectors() -> None:
    a, b = syncore.ReplicaId.random(), syncore.ReplicaId.random()
    assert a != b and syncore.ReplicaId(str(a)) == a and len(a.bytes) == 16
    assert len(a.short()) == 8 and {a: 1}[syncore.ReplicaId(str(a))] == 1
    with pytest.raises(syncore.InvalidInputError):
        syncore.ReplicaId("xyz")
    va, vb = syncore.VersionVector(), syncore.VersionVector()
    assert not va and va == vb and va.compare(vb) == syncore.Causality.EQUAL
    va.bump(a)
    assert va.compare(vb) == syncore.Causality.DOMINATES
    vb.bump(b)
    assert va.compare(vb) == syncore.Causality.CONCURRENT
    merged = va.copy()
    merged.merge(vb)
    assert merged.get(a) == 1 and merged.get(b) == 1 and len(merged) == 2
    assert vb.compare(merged) == syncore.Causality.DOMINATED_BY
    assert syncore.VersionVector.decode(merged.encode()) == merged
    assert dict(merged.items()) == {a: 1, b: 1}
    with pytest.raises(syncore.CorruptError):
        syncore.VersionVector.decode(b"\xff\xff\xff")


def test_atomic_file_commits_or_discards(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "out.txt"
    with syncore.AtomicFile(target) as f:
        assert f.write(b"hello ") == 6
        f.write(memoryview(b"world"))
        assert not target.exists()
        # On Linux the temp file has no name until committed; elsewhere it is beside target.
        assert f.temp_path is None or pathlib.Path(f.temp_path).parent == tmp_path
    assert target.read_bytes() == b"hello world"
    with pytest.raises(RuntimeError):
        with syncore.AtomicFile(target, syncore.Durability.NONE) as f:
            f.write(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"hello world"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    f = syncore.AtomicFile(str(target), syncore.Durability.BATCHED)
    f.write(b"new")
    f.commit()
    with pytest.raises(ValueError):
        f.write(b"late")
    assert target.read_bytes() == b"new"
    with pytest.raises(FileNotFoundError):
        syncore.AtomicFile(tmp_path / "no" / "dir" / "x")
