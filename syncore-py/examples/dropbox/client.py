"""A client of the small Dropbox-like service: watches a folder and syncs it through the hub.

    python client.py --folder ~/Sync --hub http://127.0.0.1:8765

Run two clients on two folders against one hub and the folders stay in sync. The loop:

1. ``watchdog`` reports raw events; they go into a ``syncore.EventCoalescer``, which turns
   bursts, temp-file saves and renames into settled changes.
2. Each settled file is chunked; chunks the hub lacks are uploaded; the change is recorded in
   the client's replica (``MemoryReplica.local_write`` / ``local_delete``).
3. New local changes are posted to the hub as one encoded ``ChangeSet``.
4. The hub's changes since the client's cursor are planned (``MemoryReplica.plan``); the
   plan's missing chunks are read from the hub through ``HubStore``, an HTTP-backed object
   implementing syncore's store protocol; ``apply`` writes files atomically. Paths about to
   be written are announced to the coalescer (``expect_own_write``) so they do not echo.

The client's index lives in memory: on start it records the folder as it is and takes the
hub's state; conflicting edits are kept side by side (``ConflictPolicy.KEEP_BOTH``).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time
import urllib.error
import urllib.request
from typing import Dict, Iterator, List, Optional

import syncore

try:
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer
except ImportError:  # pragma: no cover - the example needs watchdog
    raise SystemExit("this example needs watchdog: pip install watchdog")


class HubStore:
    """The hub's chunks seen through syncore's store protocol (HTTP under the hood)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _request(self, method: str, path: str, data: Optional[bytes] = None) -> bytes:
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:
            body: bytes = resp.read()
            return body

    def has(self, id: syncore.Digest) -> bool:
        return not self.missing_of([id])

    def get(self, id: syncore.Digest) -> Optional[bytes]:
        try:
            return self._request("GET", f"/chunks/{id.hex()}")
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise

    def put(self, id: syncore.Digest, data: bytes) -> bool:
        self._request("PUT", f"/chunks/{id.hex()}", data)
        return True

    def delete(self, id: syncore.Digest) -> bool:
        raise NotImplementedError("clients never delete the hub's chunks")

    def ids(self) -> Iterator[syncore.Digest]:
        raise NotImplementedError("clients never list the hub's chunks")

    def missing_of(self, ids: List[syncore.Digest]) -> List[syncore.Digest]:
        raw = self._request("POST", "/missing", b"".join(d.digest for d in ids))
        return [syncore.Digest(raw[i : i + 32]) for i in range(0, len(raw), 32)]

    def post_changes(self, wire: bytes) -> bytes:
        return self._request("POST", "/changes", wire)

    def changes(self, since: int) -> bytes:
        return self._request("GET", f"/changes?since={since}")


KINDS = {
    "created": syncore.WatchEventKind.CREATE,
    "modified": syncore.WatchEventKind.MODIFY,
    "deleted": syncore.WatchEventKind.REMOVE,
    "moved": syncore.WatchEventKind.RENAME,
    "closed": syncore.WatchEventKind.MODIFY,
}


class Feed(FileSystemEventHandler):
    """Maps watchdog events onto the coalescer (called on watchdog's thread)."""

    def __init__(self, root: pathlib.Path, coalescer: syncore.EventCoalescer) -> None:
        self.root = root
        self.coalescer = coalescer

    def rel(self, path: str | bytes) -> Optional[str]:
        rel = os.path.relpath(os.fsdecode(path), self.root).replace(os.sep, "/")
        return None if rel == "." else rel

    def on_any_event(self, event: FileSystemEvent) -> None:
        kind = KINDS.get(event.event_type)
        if kind is None:
            return
        now = time.monotonic()
        try:
            if kind == syncore.WatchEventKind.RENAME:
                self.coalescer.push(kind, self.rel(event.dest_path), now,
                                    src_path=self.rel(event.src_path), is_dir=event.is_directory)
            else:
                self.coalescer.push(kind, self.rel(event.src_path), now, is_dir=event.is_directory)
        except syncore.InvalidInputError:
            pass  # a name syncore cannot sync (e.g. a backslash); leave it alone


class Client:
    def __init__(self, root: pathlib.Path, hub: HubStore) -> None:
        self.root = root
        self.hub = hub
        self.chunker = syncore.Chunker()
        self.replica = syncore.MemoryReplica()
        self.coalescer = syncore.EventCoalescer(quiet_period=0.5, own_write_window=2.0)
        self.options = syncore.SyncOptions(syncore.ConflictPolicy.KEEP_BOTH)
        self.pushed = 0  # our seq the hub has
        self.cursor = 0  # the hub's seq we have

    def live(self) -> Dict[str, syncore.Entry]:
        return {e.path: e for e in self.replica.entries() if not e.deleted}

    def record(self, rel: str) -> None:
        """Uploads and records the file at `rel` if its content changed."""
        full = self.root / rel
        if not full.is_file() or full.is_symlink():
            return
        manifest = self.chunker.manifest_file(full)
        current = self.live().get(rel)
        if current is not None and current.content_id == manifest.content_id:
            return
        need = set(self.hub.missing_of([c.id for c in manifest.chunks]))
        if need:
            with self.chunker.iter_file(full, with_data=True) as chunks:
                for chunk, data in chunks:
                    if chunk.id in need:
                        self.hub.put(chunk.id, data)
                        need.discard(chunk.id)
        self.replica.local_write(rel, manifest, full.stat().st_mtime_ns,
                                 executable=os.access(full, os.X_OK))
        self.replica.observe(self.root, rel)
        print(f"  up   {rel} ({manifest.size} bytes)", flush=True)

    def forget(self, rel: str) -> None:
        """Records the removal of `rel` and everything under it."""
        for path in list(self.live()):
            if (path == rel or path.startswith(rel + "/")) and not (self.root / path).exists():
                self.replica.local_delete(path, time.time_ns())
                print(f"  del  {path}", flush=True)

    def walk(self, rel: str = "") -> None:
        base = self.root / rel
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not self.coalescer.is_ignored(self.relpath(dirpath, d))]
            for name in filenames:
                path = self.relpath(dirpath, name)
                if not self.coalescer.is_ignored(path):
                    self.record(path)
        if rel:
            self.forget(rel)

    def relpath(self, dirpath: str, name: str) -> str:
        return os.path.relpath(os.path.join(dirpath, name), self.root).replace(os.sep, "/")

    def settle(self) -> None:
        for change in self.coalescer.poll(time.monotonic()):
            kind, rel = change.kind, change.path
            if kind == syncore.SettledChangeKind.FULL_RESCAN or rel is None:
                self.walk()
                for path in list(self.live()):
                    if not (self.root / path).exists():
                        self.forget(path)
            elif kind == syncore.SettledChangeKind.REMOVED:
                self.forget(rel)
            elif (self.root / rel).is_dir():
                self.walk(rel)
            elif (self.root / rel).exists():
                self.record(rel)
            else:
                self.forget(rel)

    def push(self) -> None:
        if self.replica.seq > self.pushed:
            changes = self.replica.changes_since(self.pushed)
            self.hub.post_changes(changes.encode())
            self.pushed = changes.cursor

    def pull(self) -> None:
        plan = self.replica.plan(self.hub.changes(self.cursor), self.options)
        if plan.is_empty():
            self.cursor = plan.cursor
            return
        now = time.monotonic()
        for action in plan.actions:
            self.coalescer.expect_own_write(action.path, now)
            if action.from_entry is not None:
                self.coalescer.expect_own_write(action.from_entry.path, now)
        report = self.replica.apply(plan, self.root, self.hub)
        for action in plan.actions:
            if not action.is_index_only():
                print(f"  down {action.path} ({str(action.kind).split('.')[-1].lower()})", flush=True)
        for conflict in plan.conflicts:
            print(f"  conflict on {conflict.path}; the other version is in {conflict.copy}", flush=True)
        if report.is_complete():
            self.cursor = plan.cursor

    def run(self, interval: float) -> None:
        self.walk()
        self.push()
        observer = Observer()
        observer.schedule(Feed(self.root, self.coalescer), str(self.root), recursive=True)
        observer.start()
        print(f"syncing {self.root} through {self.hub.url}", flush=True)
        try:
            while True:
                self.settle()
                self.push()
                self.pull()
                time.sleep(interval)
        except KeyboardInterrupt:
            pass
        finally:
            observer.stop()
            observer.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--folder", required=True, type=pathlib.Path)
    parser.add_argument("--hub", default="http://127.0.0.1:8765")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between sync rounds")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    Client(args.folder.resolve(), HubStore(args.hub)).run(args.interval)


if __name__ == "__main__":
    main()
