from __future__ import annotations

import os
import pathlib
from typing import Callable, Dict, Iterator, List, Optional

import pytest

import syncore


class DictStore:
    """A store implemented in Python over a dict (the protocol, nothing more)."""

    def __init__(self) -> None:
        self.chunks: Dict[syncore.Digest, bytes] = {}
        self.calls: List[str] = []

    def has(self, id: syncore.Digest) -> bool:
        self.calls.append("has")
        return id in self.chunks

    def get(self, id: syncore.Digest) -> Optional[bytes]:
        self.calls.append("get")
        return self.chunks.get(id)

    def put(self, id: syncore.Digest, data: bytes) -> bool:
        self.calls.append("put")
        new = id not in self.chunks
        self.chunks[id] = data
        return new

    def delete(self, id: syncore.Digest) -> bool:
        return self.chunks.pop(id, None) is not None

    def ids(self) -> Iterator[str]:
        return iter([i.hex() for i in self.chunks])


class BucketStore(DictStore):
    """Like an S3 bucket client: raises KeyError for absent keys, keys are hex strings."""

    algo = "sha256"

    def get(self, id: syncore.Digest) -> Optional[bytes]:
        return self.chunks[id]

    def size(self, id: syncore.Digest) -> int:
        return len(self.chunks[id])


def contract(store: syncore.ChunkStore) -> None:
    a = store.put_data(b"alpha")
    assert a == store.algo.digest(b"alpha")
    assert store.put(a, b"alpha") is False
    b = store.algo.digest(b"beta")
    assert store.put(b, memoryview(b"beta")) is True
    assert store.get(a) == b"alpha" and a in store and store.has(b.hex())
    assert store.size(a) == 5
    assert sorted(store.ids()) == sorted([a, b]) and sorted(store) == sorted([a, b])
    assert len(store) == 2 and store.stats().bytes == 9
    c = store.algo.digest(b"gamma")
    assert store.missing([a, c, c, b.digest]) == [c]
    with pytest.raises(syncore.InvalidInputError, match="hash"):
        store.put(c, b"not gamma")
    with pytest.raises(syncore.NotFoundError):
        store.get(c)
    with pytest.raises(LookupError):
        store.get(c)
    assert store.delete(a) is True and store.delete(a) is False
    assert a not in store
    with pytest.raises(TypeError):
        store.get(12)  # type: ignore[arg-type]
    with pytest.raises(syncore.InvalidInputError):
        store.get(b"short")


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: syncore.MemStore(),
        lambda tmp: syncore.MemStore("sha256"),
        lambda tmp: syncore.FsStore(tmp / "fs"),
        lambda tmp: syncore.FsStore(str(tmp / "fs"), syncore.HashAlgo.SHA256),
        lambda tmp: syncore.ReplicatedStore([syncore.MemStore(), syncore.MemStore(), DictStore()]),
        lambda tmp: syncore.PythonStore(DictStore()),
        lambda tmp: syncore.PythonStore(BucketStore()),
    ],
)
def test_every_store_keeps_the_contract(
    make: Callable[[pathlib.Path], syncore.ChunkStore], tmp_path: pathlib.Path
) -> None:
    contract(make(tmp_path))


def test_python_store_sees_digests_and_only_verified_bytes() -> None:
    backend = DictStore()
    assert isinstance(backend, syncore.StoreProtocol)
    store = syncore.PythonStore(backend)
    assert store.backend is backend
    id = store.put_data(b"payload")
    assert backend.chunks == {id: b"payload"}
    backend.chunks[id] = b"tampered"
    with pytest.raises(syncore.CorruptError, match="hash to"):
        store.get(id)


def test_python_exceptions_come_through_unchanged() -> None:
    class Broken(DictStore):
        def has(self, id: syncore.Digest) -> bool:
            raise ConnectionError("bucket unreachable")

    with pytest.raises(ConnectionError, match="bucket unreachable"):
        syncore.PythonStore(Broken()).has(syncore.digest(b"x"))


def test_not_a_store_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="has no"):
        syncore.PythonStore(object())
    with pytest.raises(TypeError):
        syncore.ReplicatedStore(["not a store"])


def test_replicated_store_fails_over_and_scrubs() -> None:
    class Flaky(DictStore):
        down = False

        def get(self, id: syncore.Digest) -> Optional[bytes]:
            if self.down:
                raise OSError("backend down")
            return super().get(id)

    backends = [Flaky(), Flaky()]
    store = syncore.ReplicatedStore(backends, replication_factor=2)
    assert store.replication_factor == 2
    id = store.put_data(b"twice")
    assert all(id in b.chunks for b in backends)
    assert sorted(store.placement(id)) == [0, 1]
    backends[0].down = True
    assert store.get(id) == b"twice"
    backends[0].down = False
    del backends[1].chunks[id]
    report = store.scrub()
    assert (report.checked, report.repaired, report.lost) == (1, 1, [])
    assert id in backends[1].chunks
    with pytest.raises(syncore.InvalidInputError, match="replication_factor"):
        syncore.ReplicatedStore([syncore.MemStore()], replication_factor=2)


def test_fs_store_layout_and_damage(tmp_path: pathlib.Path) -> None:
    store = syncore.FsStore(tmp_path / "s")
    assert pathlib.Path(store.root) == tmp_path / "s"
    id = store.put_data(b"on disk")
    path = pathlib.Path(store.chunk_path(id))
    assert path.read_bytes() == b"on disk"
    path.write_bytes(b"bit rot")
    with pytest.raises(syncore.CorruptError, match=id.hex()):
        store.get(id)
    assert store.remove_stale_temp_files(0.0) == 0
    with pytest.raises(ValueError):
        store.remove_stale_temp_files(-1.0)
    with pytest.raises(syncore.InvalidInputError, match="sha256"):
        syncore.FsStore(tmp_path / "s", "sha256")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(syncore.SyncoreOSError) as info:
        syncore.FsStore(tmp_path / "file" / "sub")
    assert info.value.errno is not None and isinstance(info.value, OSError)
    assert os.fspath(tmp_path / "file") in str(info.value)
