from __future__ import annotations

import pathlib

import pytest

import syncore


def test_replica_scan_changes_history_restore_usage_gc(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_bytes(b"first version")
    (root / "dir").mkdir()
    (root / "dir" / "b.bin").write_bytes(bytes(range(256)) * 1000)
    store = syncore.MemStore()
    with syncore.Replica(root, keep_versions=5) as replica:
        assert len(replica.replica_id.short()) == 8
        report = replica.scan()
        assert set(report.added) >= {"a.txt", "dir/b.bin"} and report.bytes_hashed > 0
        changes = replica.changes_since(0)
        assert {e.path for e in changes.entries} >= {"a.txt", "dir/b.bin"}
        assert len(replica.changes_since(changes.cursor)) == 0
        first = syncore.FileManifest.of_file(root / "a.txt")
        for c in first.chunks:
            store.put(c.id, (root / "a.txt").read_bytes()[c.offset : c.end])
        (root / "a.txt").write_bytes(b"second version")
        assert replica.rescan(["a.txt"]).modified == ["a.txt"]
        assert replica.scan().is_clean()
        versions = replica.history("a.txt")
        assert len(versions) == 2 and versions[0].seq > versions[1].seq
        assert versions[1].content_id == first.content_id
        entry = replica.restore("a.txt", versions[1].seq, store)
        assert entry.path == "a.txt" and (root / "a.txt").read_bytes() == b"first version"
        usage = replica.usage()
        assert usage.live_files == 2 and usage.dedup_ratio >= 1.0
        assert isinstance(replica.gc().unreferenced, list)
        with pytest.raises(syncore.InvalidInputError):
            replica.history("../outside")
    with pytest.raises(ValueError, match="closed"):
        replica.scan()
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        syncore.Replica(tmp_path / "file")
