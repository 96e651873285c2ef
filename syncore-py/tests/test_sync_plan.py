"""A full two-replica exchange from Python, through a hub store, with the core's planner."""

from __future__ import annotations

import os
import pathlib
from typing import Dict

import pytest

import syncore
from conftest import seeded


class Client:
    """One side: a folder, its in-memory index and the hub's chunk store."""

    def __init__(self, root: pathlib.Path, hub: syncore.ChunkStore) -> None:
        self.root = root
        self.hub = hub
        self.replica = syncore.MemoryReplica()
        self.chunker = syncore.Chunker(4096, 16384, 65536)
        self.cursors: Dict[syncore.ReplicaId, int] = {}

    def write(self, path: str, data: bytes) -> None:
        """A user edit: write the file, upload its chunks, record it."""
        full = self.root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_bytes(data)
        manifest = self.chunker.manifest_file(full)
        need = self.hub.missing([c.id for c in manifest.chunks])
        with self.chunker.iter_file(full, with_data=True) as chunks:
            for chunk, piece in chunks:
                if chunk.id in need:
                    self.hub.put(chunk.id, piece)
        self.replica.local_write(path, manifest, full.stat().st_mtime_ns)
        self.replica.observe(self.root, path)

    def pull(self, peer: Client, options: syncore.SyncOptions | None = None) -> syncore.Plan:
        since = self.cursors.get(peer.replica.replica_id, 0)
        wire = peer.replica.changes_since(since).encode()  # what the app ships
        plan = self.replica.plan(wire, options)
        assert set(plan.missing_chunks()) <= set(self.hub.ids())
        report = self.replica.apply(plan, self.root, self.hub, durability=syncore.Durability.NONE)
        assert report.is_complete(), (report.failed, report.conflicts)
        self.cursors[peer.replica.replica_id] = plan.cursor
        return plan


def test_two_replicas_converge_through_a_hub(tmp_path: pathlib.Path) -> None:
    hub = syncore.FsStore(tmp_path / "hub")
    a = Client(tmp_path / "a", hub)
    b = Client(tmp_path / "b", hub)
    a.root.mkdir()
    b.root.mkdir()
    big = seeded(5, 300_000)
    a.write("docs/big.bin", big)
    a.write("notes.txt", b"hello from a")

    plan = b.pull(a)
    kinds = {(x.kind, x.path) for x in plan.actions}
    assert (syncore.ActionKind.WRITE_FILE, "docs/big.bin") in kinds
    assert plan.summary().files_written == 2 and plan.source == a.replica.replica_id
    assert (b.root / "docs/big.bin").read_bytes() == big
    assert (b.root / "notes.txt").read_bytes() == b"hello from a"
    write = next(x for x in plan.actions if x.path == "notes.txt")
    assert write.manifest is not None and write.entry.size == 12

    # Nothing new: an empty plan.
    assert b.pull(a).is_empty()

    # b edits, a pulls: only the change travels.
    edited = big[:100_000] + b"EDIT" + big[100_000:]
    b.write("docs/big.bin", edited)
    plan = a.pull(b)
    assert [x.path for x in plan.actions if not x.is_index_only()] == ["docs/big.bin"]
    assert (a.root / "docs/big.bin").read_bytes() == edited
    cs = syncore.ChangeSet.decode(b.replica.changes_since(0).encode())
    assert cs.is_complete() and cs.source == b.replica.replica_id
    assert {e.path for e in cs.entries} == {"docs/big.bin", "notes.txt"}


def test_concurrent_edits_keep_both(tmp_path: pathlib.Path) -> None:
    hub = syncore.MemStore()
    a = Client(tmp_path / "a", hub)
    b = Client(tmp_path / "b", hub)
    a.root.mkdir()
    b.root.mkdir()
    a.write("same.txt", b"base")
    b.pull(a)
    a.write("same.txt", b"a's edit")
    b.write("same.txt", b"b's edit, later")
    plan = b.pull(a, syncore.SyncOptions(syncore.ConflictPolicy.KEEP_BOTH))
    (conflict,) = plan.conflicts
    assert conflict.path == "same.txt" and conflict.copy is not None
    assert conflict.winner in (syncore.Side.LOCAL, syncore.Side.REMOTE)
    names = sorted(os.listdir(b.root))
    assert len(names) == 2 and "same.txt" in names
    contents = {(b.root / n).read_bytes() for n in names}
    assert contents == {b"a's edit", b"b's edit, later"}


def test_plan_inputs_are_checked(tmp_path: pathlib.Path) -> None:
    r = syncore.MemoryReplica()
    with pytest.raises(syncore.CorruptError):
        r.plan(b"not a change set")
    with pytest.raises(TypeError):
        r.plan("text")  # type: ignore[arg-type]
    with pytest.raises(syncore.InvalidInputError):
        r.local_mkdir("../escape", 0)
    with pytest.raises(syncore.NotFoundError):
        r.local_delete("absent", 0)
    opts = syncore.SyncOptions(syncore.ConflictPolicy.PREFER_REMOTE,
                               syncore.Direction.MIRROR_FROM_REMOTE, max_delete_ratio=0.9)
    assert opts.policy == syncore.ConflictPolicy.PREFER_REMOTE
    assert opts.direction == syncore.Direction.MIRROR_FROM_REMOTE and opts.max_delete_ratio == 0.9


def test_hub_takes_plans_into_a_store(tmp_path: pathlib.Path) -> None:
    upload = syncore.MemStore()  # what a client sent along with its change set
    hub_store = syncore.FsStore(tmp_path / "hub")
    client = syncore.MemoryReplica()
    data = seeded(6, 100_000)
    manifest = syncore.FileManifest.of_bytes(data)
    for c in manifest.chunks:
        upload.put(c.id, data[c.offset : c.end])
    client.local_write("f.bin", manifest, 1)
    hub = syncore.MemoryReplica()
    plan = hub.plan(client.changes_since())
    report = hub.apply_to_store(plan, upload, hub_store)
    assert report.is_complete()
    assert hub_store.missing([c.id for c in manifest.chunks]) == []
    assert [e.path for e in hub.entries()] == ["f.bin"]
