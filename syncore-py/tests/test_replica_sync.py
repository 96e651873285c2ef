"""The sans-IO exchange between persistent replicas and a hub, driven from Python."""

from __future__ import annotations

import os
import pathlib
import threading
from typing import Dict, Iterable, Iterator, Optional, Union

import pytest

import syncore

from conftest import seeded, tree

KEEP_BOTH = syncore.ConflictPolicy.KEEP_BOTH


def sync(src: syncore.Replica, dst: syncore.Replica) -> syncore.Plan:
    """Ships `src`'s new changes to `dst` as bytes, plans and applies them there."""
    wire = src.changes_since_encoded(dst.synced_cursor(src.replica_id))
    assert isinstance(wire, bytes)
    plan = dst.plan(wire, policy=KEEP_BOTH)
    report = dst.apply(plan, src)
    assert report.is_complete(), (report.conflicts, report.failed)
    assert dst.synced_cursor(src.replica_id) == plan.cursor
    return plan


def kinds(plan: syncore.Plan) -> Dict[str, syncore.ActionKind]:
    return {a.path: a.kind for a in plan.actions if not a.is_index_only()}


@pytest.fixture
def dirs(tmp_path: pathlib.Path) -> Iterator[tuple[pathlib.Path, pathlib.Path]]:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    yield a, b


def test_two_replicas_edit_delete_rename_conflict(
    dirs: tuple[pathlib.Path, pathlib.Path],
) -> None:
    a_root, b_root = dirs
    big = seeded(7, 600_000)
    (a_root / "notes.txt").write_bytes(b"first notes\n")
    (a_root / "docs").mkdir()
    (a_root / "docs" / "big.bin").write_bytes(big)
    (a_root / "gone.txt").write_bytes(b"to be deleted\n")
    (a_root / "old-name.txt").write_bytes(b"to be renamed\n" * 100)
    with syncore.Replica(a_root) as a, syncore.Replica(b_root) as b:
        assert a.synced_cursor(b.replica_id) == 0 and b.synced_cursor(a.replica_id) == 0
        a.scan()
        first = sync(a, b)
        assert first.source == a.replica_id and first.missing_bytes() > len(big)
        assert tree(b_root) == tree(a_root)
        assert not sync(a, b).summary().files_written  # nothing new to send
        # Whatever B recorded by applying does not come back to A as work.
        b.scan()
        assert not kinds(sync(b, a))

        # Edit: only the changed file is written, and a small edit moves few chunks.
        (a_root / "notes.txt").write_bytes(b"second notes\n")
        edited = bytearray(big)
        edited[300_000:300_010] = b"0123456789"
        (a_root / "docs" / "big.bin").write_bytes(bytes(edited))
        a.scan()
        plan = sync(a, b)
        assert kinds(plan) == {
            "notes.txt": syncore.ActionKind.WRITE_FILE,
            "docs/big.bin": syncore.ActionKind.WRITE_FILE,
        }
        assert plan.missing_bytes() < len(big) // 2
        assert (b_root / "notes.txt").read_bytes() == b"second notes\n"
        assert (b_root / "docs" / "big.bin").read_bytes() == bytes(edited)

        # Delete.
        (a_root / "gone.txt").unlink()
        a.scan()
        assert kinds(sync(a, b)) == {"gone.txt": syncore.ActionKind.DELETE}
        assert not (b_root / "gone.txt").exists()

        # Rename: no bytes move.
        (a_root / "old-name.txt").rename(a_root / "new-name.txt")
        assert a.scan().moved == [("old-name.txt", "new-name.txt")]
        plan = sync(a, b)
        assert plan.missing_chunks() == [] and plan.summary().renamed == 1
        assert not (b_root / "old-name.txt").exists()
        assert (b_root / "new-name.txt").read_bytes() == b"to be renamed\n" * 100
        assert tree(b_root) == tree(a_root)

        # Conflict: both edit notes.txt; keep-both keeps the loser as a conflict copy.
        b.scan()
        sync(b, a)
        (a_root / "notes.txt").write_bytes(b"A's notes\n")
        (b_root / "notes.txt").write_bytes(b"B's notes, written later\n")
        os.utime(a_root / "notes.txt", ns=(1_000_000_000, 1_000_000_000))
        a.scan()
        b.scan()
        plan = sync(a, b)
        assert len(plan.conflicts) == 1
        conflict = plan.conflicts[0]
        assert conflict.path == "notes.txt" and conflict.winner == syncore.Side.LOCAL
        assert conflict.copy is not None and ".sync-conflict-" in conflict.copy
        assert (b_root / conflict.copy).read_bytes() == b"A's notes\n"
        assert (b_root / "notes.txt").read_bytes() == b"B's notes, written later\n"
        # B's side (its edit and the conflict copy) flows back: both replicas agree.
        b.scan()
        sync(b, a)
        assert tree(a_root) == tree(b_root)
        assert (a_root / conflict.copy).read_bytes() == b"A's notes\n"
        assert a.remove_stale_temp_files() == 0 and b.remove_stale_temp_files() == 0


def test_change_set_value_and_local_source(dirs: tuple[pathlib.Path, pathlib.Path]) -> None:
    a_root, b_root = dirs
    (a_root / "x.txt").write_bytes(b"x" * 1000)
    (b_root / "copy-of-x.txt").write_bytes(b"x" * 1000)
    with syncore.Replica(a_root) as a, syncore.Replica(b_root) as b:
        a.scan()
        b.scan()
        changes = a.change_set()
        assert isinstance(changes, syncore.ChangeSet)
        assert changes.source == a.replica_id and changes.since == 0 and changes.is_complete()
        assert [e.path for e in changes.entries] == ["x.txt"]
        assert syncore.ChangeSet.decode(a.changes_since_encoded()).cursor == changes.cursor
        assert len(a.change_set(changes.cursor)) == 0
        # B already has the content in another file: nothing is missing, no source needed.
        plan = b.plan(changes, syncore.SyncOptions(direction=syncore.Direction.TWO_WAY))
        assert plan.missing_chunks() == []
        report = b.apply(plan, durability=syncore.Durability.BATCHED)
        assert report.is_complete() and report.bytes_reused_locally == 1000
        assert (b_root / "x.txt").read_bytes() == b"x" * 1000
        assert b.synced_cursor(a.replica_id) == changes.cursor
        # Serving a chunk from A's files.
        manifest = syncore.FileManifest.of_file(a_root / "x.txt")
        assert a.read_chunk(manifest.chunks[0].id) == b"x" * 1000
        with pytest.raises(syncore.NotFoundError):
            a.read_chunk(syncore.digest(b"nowhere"))
        # A mirror-to-remote replica takes nothing from its peer.
        (b_root / "only-b.txt").write_bytes(b"b")
        b.scan()
        wire = b.changes_since_encoded(a.synced_cursor(b.replica_id))
        assert not kinds(a.plan(wire, direction=syncore.Direction.MIRROR_TO_REMOTE))
        assert kinds(a.plan(wire)) == {
            "copy-of-x.txt": syncore.ActionKind.WRITE_FILE,
            "only-b.txt": syncore.ActionKind.WRITE_FILE,
        }


def push(client: syncore.Replica, hub: syncore.Hub, source: object = None) -> syncore.ApplyReport:
    changes = client.change_set(hub.synced_cursor(client.replica_id))
    plan = hub.plan(changes, policy=KEEP_BOTH)
    report = hub.apply(plan, client if source is None else source)
    assert report.is_complete(), report.failed
    return report


def pull(client: syncore.Replica, hub: syncore.Hub) -> syncore.Plan:
    wire = hub.changes_since_encoded(client.synced_cursor(hub.replica_id))
    plan = client.plan(wire, policy=KEEP_BOTH)
    report = client.apply(plan, hub)
    assert report.is_complete(), report.failed
    return plan


def test_a_change_set_for_a_peer_leaves_out_its_own_versions(tmp_path: pathlib.Path) -> None:
    alice_root, bob_root = tmp_path / "alice", tmp_path / "bob"
    alice_root.mkdir()
    bob_root.mkdir()
    for i in range(5):
        (alice_root / f"f{i}.txt").write_bytes(b"alice %d\n" % i)
    store = syncore.MemStore()
    with syncore.Replica(alice_root) as alice, syncore.Replica(bob_root) as bob, syncore.Hub(
        tmp_path / "hub", store
    ) as hub:
        alice.scan()
        push(alice, hub)
        cursor = alice.synced_cursor(hub.replica_id)
        assert len(hub.change_set(cursor)) == 5
        for_alice = hub.change_set(cursor, for_peer=alice.replica_id)
        assert len(for_alice) == 0 and not for_alice.is_complete()
        assert for_alice.cursor == hub.change_set(cursor).cursor
        assert hub.changes_since_encoded(cursor, for_peer=alice.replica_id) == for_alice.encode()
        # Bob has never sent anything: he gets it all.
        assert len(hub.change_set(0, for_peer=bob.replica_id)) == 5
        # Replica to replica, the same.
        sync(alice, bob)
        wire = bob.changes_since_encoded(
            alice.synced_cursor(bob.replica_id), for_peer=alice.replica_id
        )
        assert len(syncore.ChangeSet.decode(wire)) == 0
        assert len(bob.change_set(0, for_peer=hub.replica_id)) == 5


def test_client_hub_client_round_trip(tmp_path: pathlib.Path) -> None:
    alice_root, bob_root = tmp_path / "alice", tmp_path / "bob"
    alice_root.mkdir()
    bob_root.mkdir()
    data = seeded(3, 300_000)
    (alice_root / "photo.raw").write_bytes(data)
    (alice_root / "todo.txt").write_bytes(b"milk\n")
    store = syncore.FsStore(tmp_path / "hub-chunks")
    state = tmp_path / "hub-index"
    hub = syncore.Hub(state, store)
    alice, bob = syncore.Replica(alice_root), syncore.Replica(bob_root)
    with hub, alice, bob:
        assert hub.store is store and "Hub(" in repr(hub)
        alice.scan()
        report = push(alice, hub)
        assert report.files_written == 2
        entry = hub.entry("photo.raw")
        assert entry is not None and entry.size == len(data) and entry.content_id is not None
        manifest = hub.manifest(entry.content_id)
        assert manifest is not None and manifest.size == len(data)
        assert store.missing([c.id for c in manifest.chunks]) == []
        assert hub.manifest(syncore.digest(b"unknown")) is None and hub.entry("nope") is None
        assert hub.usage().live_files == 2
        assert [e.path for e in hub.changes_since().entries] == ["photo.raw", "todo.txt"]
        assert hub.change_set().source == hub.replica_id

        pull(bob, hub)
        assert tree(bob_root) == tree(alice_root)
        bob.scan()
        hub_cursor = hub.changes_since().cursor
        push(bob, hub)  # what Bob recorded by taking in the hub's state is no news to it
        assert hub.changes_since().cursor == hub_cursor

        (bob_root / "todo.txt").write_bytes(b"milk\neggs\n")
        (bob_root / "photo.raw").unlink()
        bob.scan()
        push(bob, hub)
        entry = hub.entry("photo.raw")
        assert entry is not None and entry.deleted
        plan = pull(alice, hub)
        assert kinds(plan) == {
            "todo.txt": syncore.ActionKind.WRITE_FILE,
            "photo.raw": syncore.ActionKind.DELETE,
        }
        assert tree(alice_root) == {"todo.txt": b"milk\neggs\n"}
        alice_id, cursor = alice.replica_id, hub.synced_cursor(alice.replica_id)
        hub_id = hub.replica_id
    with pytest.raises(ValueError, match="closed"):
        hub.plan(b"")
    # The hub's identity and cursors persist.
    with syncore.Hub(state, store) as again:
        assert again.replica_id == hub_id and again.synced_cursor(alice_id) == cursor


class DictStore:
    """A chunk store implemented in Python: a dict keyed by hex id."""

    def __init__(self) -> None:
        self.chunks: Dict[str, bytes] = {}
        self.gets = 0

    def has(self, id: syncore.Digest) -> bool:
        return id.hex() in self.chunks

    def get(self, id: syncore.Digest) -> Optional[bytes]:
        self.gets += 1
        return self.chunks.get(id.hex())

    def put(self, id: syncore.Digest, data: bytes) -> bool:
        new = id.hex() not in self.chunks
        self.chunks[id.hex()] = bytes(data)
        return new

    def delete(self, id: syncore.Digest) -> bool:
        return self.chunks.pop(id.hex(), None) is not None

    def ids(self) -> Iterable[Union[syncore.Digest, bytes, str]]:
        return list(self.chunks)


def test_python_store_as_chunk_source_and_hub_store(tmp_path: pathlib.Path) -> None:
    a_root, b_root = tmp_path / "a", tmp_path / "b"
    a_root.mkdir()
    b_root.mkdir()
    (a_root / "f.bin").write_bytes(seeded(5, 200_000))
    transfer = DictStore()
    assert isinstance(transfer, syncore.StoreProtocol)
    with syncore.Replica(a_root) as a, syncore.Replica(b_root) as b:
        a.scan()
        plan = b.plan(a.changes_since_encoded())
        # The application moves the missing chunks itself, here into a Python store.
        for id in plan.missing_chunks():
            transfer.put(id, a.read_chunk(id))
        report = b.apply(plan, transfer)
        assert report.is_complete() and transfer.gets == len(plan.missing_chunks())
        assert (b_root / "f.bin").read_bytes() == (a_root / "f.bin").read_bytes()

        # A hub whose store is a Python object, filled from the same Python store.
        backing = DictStore()
        with syncore.Hub(tmp_path / "hub", backing) as hub:
            assert hub.store is backing
            push(a, hub, source=transfer)
            assert set(backing.chunks) == set(transfer.chunks)
        # A source missing a chunk: the action fails, the cursor stays.
        (a_root / "g.bin").write_bytes(seeded(6, 1000))
        a.scan()
        cursor = b.synced_cursor(a.replica_id)
        report = b.apply(b.plan(a.change_set(cursor)), syncore.MemStore())
        assert not report.is_complete() and [i.path for i in report.failed] == ["g.bin"]
        assert b.synced_cursor(a.replica_id) == cursor and not (b_root / "g.bin").exists()


def test_bad_input(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    (root / "f.txt").write_bytes(b"content")
    with syncore.Replica(root) as replica, syncore.Hub(tmp_path / "hub", syncore.MemStore()) as hub:
        replica.scan()
        replica_id = replica.replica_id
        wire = replica.changes_since_encoded()
        damaged = bytearray(wire)
        damaged[len(damaged) // 2] ^= 0xFF
        for bad in (bytes(damaged), wire[:-3], b"", b"\x00" * 100):
            with pytest.raises(syncore.CorruptError):
                hub.plan(bad)
            with pytest.raises(syncore.CorruptError):
                replica.plan(memoryview(bad))
        plan = hub.plan(bytearray(wire))
        for wrong in (123, "a str", None, [wire]):
            with pytest.raises(TypeError):
                replica.plan(wrong)  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                hub.plan(wrong)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            replica.apply(wire)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            replica.apply(plan, 42)
        with pytest.raises(TypeError):
            hub.apply(plan, "not a store")
        with pytest.raises(TypeError):
            replica.synced_cursor(str(replica.replica_id))  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            syncore.Hub(tmp_path / "hub2", "not a store")
        with pytest.raises(TypeError):
            replica.plan(wire, options=syncore.ConflictPolicy.KEEP_BOTH)  # type: ignore[arg-type]

        # A replica's index (and a hub's) is open in one place at a time.
        with pytest.raises(syncore.BusyError):
            syncore.Replica(root)
        with pytest.raises(syncore.BusyError):
            syncore.Hub(tmp_path / "hub", syncore.MemStore())
        # A hub's index is fixed to its store's hash algorithm.
        with pytest.raises(syncore.InvalidInputError):
            syncore.Hub(tmp_path / "hub3", syncore.MemStore("blake3")).close()
            syncore.Hub(tmp_path / "hub3", syncore.MemStore("sha256"))
    with pytest.raises(ValueError, match="closed"):
        replica.apply(plan)
    with syncore.Replica(root) as reopened:  # closing released it
        assert reopened.replica_id == replica_id


def test_applies_in_opposite_directions_do_not_deadlock(
    dirs: tuple[pathlib.Path, pathlib.Path],
) -> None:
    a_root, b_root = dirs
    for i in range(20):
        (a_root / f"a{i}.bin").write_bytes(seeded(100 + i, 20_000))
        (b_root / f"b{i}.bin").write_bytes(seeded(200 + i, 20_000))
    with syncore.Replica(a_root) as a, syncore.Replica(b_root) as b:
        a.scan()
        b.scan()
        to_b = b.plan(a.changes_since_encoded())
        to_a = a.plan(b.changes_since_encoded())
        reports: Dict[str, syncore.ApplyReport] = {}

        def run(name: str, dst: syncore.Replica, plan: syncore.Plan, src: syncore.Replica) -> None:
            reports[name] = dst.apply(plan, src, durability=syncore.Durability.NONE)

        threads = [
            threading.Thread(target=run, args=("b", b, to_b, a)),
            threading.Thread(target=run, args=("a", a, to_a, b)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        assert reports["a"].files_written == 20 and reports["b"].files_written == 20
    assert tree(a_root) == tree(b_root)
