"""The Dropbox-like example (examples/dropbox/): a hub in a thread, two client folders synced
through it over HTTP, with `Client.sync_once` and `Client.settle` instead of watchdog."""

from __future__ import annotations

import importlib.util
import pathlib
import threading
import time
from types import ModuleType
from typing import Any, Iterator

import pytest

import syncore

from conftest import seeded, tree

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "dropbox"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"dropbox_{name}", EXAMPLE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hub_example = load("hub")
client_example = load("client")


@pytest.fixture
def hub_url(tmp_path: pathlib.Path) -> Iterator[str]:
    server: Any = hub_example.HubServer(tmp_path / "hub", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def client(root: pathlib.Path, url: str) -> Any:
    root.mkdir(exist_ok=True)
    return client_example.Client(root, client_example.HubStore(url))


def test_two_folders_sync_through_the_hub(tmp_path: pathlib.Path, hub_url: str) -> None:
    alice_root, bob_root = tmp_path / "alice", tmp_path / "bob"
    (tmp_path / "alice" / "docs").mkdir(parents=True)
    (alice_root / "hello.txt").write_bytes(b"hi\n")
    (alice_root / "docs" / "report.bin").write_bytes(seeded(11, 400_000))
    with client(alice_root, hub_url) as alice, client(bob_root, hub_url) as bob:
        alice.sync_once()
        bob.sync_once()
        assert tree(bob_root) == tree(alice_root)

        # Bob edits, deletes and renames; Alice takes it in.
        (bob_root / "hello.txt").write_bytes(b"hi from bob\n")
        (bob_root / "docs" / "report.bin").rename(bob_root / "docs" / "final.bin")
        bob.sync_once()
        alice.sync_once()
        assert tree(alice_root) == tree(bob_root)
        assert set(tree(alice_root)) == {"hello.txt", "docs/final.bin"}
        (alice_root / "hello.txt").unlink()
        alice.sync_once()
        bob.sync_once()
        assert not (bob_root / "hello.txt").exists()

        # The watcher path: events go through the coalescer, settled paths are rescanned.
        (bob_root / "new.txt").write_bytes(b"seen by the watcher\n")
        now = time.monotonic()
        bob.coalescer.push(syncore.WatchEventKind.CREATE, "new.txt", now)
        bob.settle(now + 60)
        bob.push()
        alice.pull()
        assert (alice_root / "new.txt").read_bytes() == b"seen by the watcher\n"

        # Both edit the same file between rounds: both versions end up in both folders.
        (alice_root / "new.txt").write_bytes(b"alice's version\n")
        (bob_root / "new.txt").write_bytes(b"bob's version\n")
        alice.sync_once()
        bob.sync_once()
        alice.sync_once()
        assert tree(alice_root) == tree(bob_root)
        copies = [p for p in tree(alice_root) if ".sync-conflict-" in p]
        assert len(copies) == 1
        contents = {tree(alice_root)["new.txt"], tree(alice_root)[copies[0]]}
        assert contents == {b"alice's version\n", b"bob's version\n"}

    # A restarted client keeps its identity and has nothing to catch up on.
    with client(alice_root, hub_url) as again:
        again.sync_once()
        assert tree(alice_root) == tree(bob_root)
        assert again.replica.synced_cursor(again.hub_id) > 0
