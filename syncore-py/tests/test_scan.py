from __future__ import annotations

import pytest

import syncore

K = syncore.WatchEventKind
S = syncore.SettledChangeKind


def test_bursts_settle_into_one_change() -> None:
    c = syncore.EventCoalescer(quiet_period=2.0)
    for t in (0.0, 0.01, 0.02):
        c.push(K.MODIFY, "doc.txt", t)
    assert c.poll(1.0) == [] and c.pending_len() == 1
    assert c.next_deadline() == pytest.approx(2.02)
    (change,) = c.poll(2.02)
    assert (change.kind, change.path) == (S.RESCAN, "doc.txt")
    assert c.is_idle() and c.next_deadline() is None


def test_renames_temp_files_and_overflow() -> None:
    c = syncore.EventCoalescer(quiet_period=1.0)
    c.push(K.CREATE, "a/.doc.txt.swp", 0.0)
    c.push(K.RENAME, "b", 0.0, src_path="a", is_dir=True)
    c.push(K.RENAME_FROM, "x.txt", 0.1, cookie=7)
    c.push(K.RENAME_TO, "y.txt", 0.1, cookie=7)
    kinds = {(ch.kind, ch.path) for ch in c.poll(5.0)}
    assert (S.REMOVED, "a") in kinds and (S.RESCAN_TREE, "b") in kinds
    assert (S.REMOVED, "x.txt") in kinds
    c.push(K.RESCAN_NEEDED, None, 6.0)
    (full,) = c.poll(10.0)
    assert full.kind == S.FULL_RESCAN and full.path is None


def test_own_writes_and_ignores() -> None:
    c = syncore.EventCoalescer(quiet_period=0.5)
    c.expect_own_write("synced.txt", 0.0)
    c.push(K.MODIFY, "synced.txt", 0.1)
    c.push(K.MODIFY, ".syncore/index.db", 0.1)
    assert c.poll(10.0) == []
    assert c.is_ignored("x/.DS_Store") and not c.is_ignored("x/y.txt")
    assert ".syncore" == syncore.DEFAULT_STATE_DIR and syncore.DEFAULT_IGNORED_NAMES


@pytest.mark.parametrize("hostile", ["../etc/passwd", "/etc/passwd", "a/../../b", "a\\b", "a\0b", ""])
def test_hostile_paths_are_rejected(hostile: str) -> None:
    c = syncore.EventCoalescer()
    with pytest.raises(syncore.InvalidInputError):
        c.push(K.MODIFY, hostile, 0.0)
    with pytest.raises(syncore.InvalidInputError):
        syncore.normalize_path(hostile)


def test_bad_times_and_kinds() -> None:
    c = syncore.EventCoalescer()
    with pytest.raises(ValueError):
        c.push(K.MODIFY, "a", -1.0)
    with pytest.raises(ValueError, match="src_path"):
        c.push(K.RENAME, "a", 0.0)
    with pytest.raises(TypeError):
        c.push("modify", "a", 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        syncore.EventCoalescer(quiet_period=float("nan"))
