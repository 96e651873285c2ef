"""A client of the small Dropbox-like service: watches a folder and syncs it through the hub.

    python client.py --folder ~/Sync --hub http://127.0.0.1:8765

Run two clients on two folders against one hub and the folders stay in sync. The folder is a
persistent ``syncore.Replica`` (its index lives in ``<folder>/.syncore``). The loop:

1. ``watchdog`` reports raw events; they go into a ``syncore.EventCoalescer``, which turns
   bursts, temp-file saves and renames into settled changes.
2. The settled paths are rescanned (``Replica.rescan``; ``Replica.scan`` when the coalescer
   asks for a full rescan): the replica itself records edits, deletions and moves.
3. Push: the replica's changes since the hub's cursor of this client (``Replica.change_set``).
   The chunks of their files the hub lacks are uploaded first (read back from the folder with
   ``Replica.read_chunk``), then the encoded change set is posted; the hub plans and records it.
4. Pull: the hub's changes since this client's cursor of the hub (``Replica.synced_cursor``)
   are planned (``Replica.plan``) and applied (``Replica.apply``), which writes files
   atomically, reuses chunks already in the folder, and reads the rest from the hub through
   ``HubStore``, an HTTP-backed object implementing syncore's store protocol. Once a plan is
   applied completely the replica remembers the hub's new cursor. Paths about to be written
   are announced to the coalescer (``expect_own_write``) so they do not echo.

Conflicting edits are kept side by side (``ConflictPolicy.KEEP_BOTH``). A restarted client
rescans its folder and catches up from where it left off. ``Client.sync_once`` runs one
scan-push-pull round without a watcher.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time
import urllib.error
import urllib.request
from typing import Any, Iterator, List, Optional, Union

import syncore


class HubStore:
    """The hub seen through syncore's store protocol (HTTP under the hood), plus its
    change-set endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _request(self, method: str, path: str, data: Optional[bytes] = None) -> bytes:
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:
            body: bytes = resp.read()
            return body

    # The store protocol (what `Replica.apply` reads missing chunks through).

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

    # The hub's other endpoints.

    def missing_of(self, ids: List[syncore.Digest]) -> List[syncore.Digest]:
        raw = self._request("POST", "/missing", b"".join(d.digest for d in ids))
        return [syncore.Digest(raw[i : i + 32]) for i in range(0, len(raw), 32)]

    def replica_id(self) -> syncore.ReplicaId:
        return syncore.ReplicaId(self._request("GET", "/id").decode())

    def cursor(self, client: syncore.ReplicaId) -> int:
        return int(self._request("GET", f"/cursor/{client}"))

    def post_changes(self, wire: bytes) -> bytes:
        return self._request("POST", "/changes", wire)

    def changes(self, since: int) -> bytes:
        return self._request("GET", f"/changes?since={since}")


def say(message: str) -> None:
    print(message, flush=True)


class Client:
    """One synced folder: a persistent replica, a coalescer for watcher events, a hub."""

    def __init__(self, root: pathlib.Path, hub: HubStore, *, quiet_period: float = 0.5) -> None:
        self.root = root
        self.hub = hub
        self.hub_id = hub.replica_id()
        self.replica = syncore.Replica(root)
        self.replica.remove_stale_temp_files()  # left by an apply that crashed
        self.coalescer = syncore.EventCoalescer(quiet_period=quiet_period, own_write_window=2.0)
        self.options = syncore.SyncOptions(syncore.ConflictPolicy.KEEP_BOTH)

    def close(self) -> None:
        self.replica.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_args: object) -> None:
        self.close()

    def recorded(self, report: syncore.ScanReport) -> None:
        for path in report.added + report.modified:
            say(f"  up   {path}")
        for path in report.deleted:
            say(f"  del  {path}")
        for src, dst in report.moved:
            say(f"  mv   {src} -> {dst}")

    def settle(self, now: Optional[float] = None) -> None:
        """Rescans the paths whose watcher events have settled by `now`."""
        changes = self.coalescer.poll(time.monotonic() if now is None else now)
        if any(c.kind == syncore.SettledChangeKind.FULL_RESCAN or c.path is None for c in changes):
            self.recorded(self.replica.scan())
        elif changes:
            self.recorded(self.replica.rescan([c.path for c in changes if c.path is not None]))

    def push(self) -> None:
        """Sends the hub what it has not taken in yet, chunks first."""
        changes = self.replica.change_set(self.hub.cursor(self.replica.replica_id))
        if len(changes) == 0:
            return
        ids = list({chunk.id for manifest in changes.manifests for chunk in manifest.chunks})
        try:
            for id in self.hub.missing_of(ids):
                self.hub.put(id, self.replica.read_chunk(id))
        except syncore.NotFoundError:
            return  # a file changed since it was scanned: the next rescan records it
        summary = json.loads(self.hub.post_changes(changes.encode()))
        for path in summary["conflicts"]:
            say(f"  conflict on {path} at the hub; both versions kept")
        for failure in summary["failed"]:
            say(f"  hub failed: {failure}")

    def pull(self) -> None:
        """Takes in the hub's changes since this replica last did."""
        wire = self.hub.changes(self.replica.synced_cursor(self.hub_id))
        plan = self.replica.plan(wire, self.options)
        now = time.monotonic()
        for action in plan.actions:
            self.coalescer.expect_own_write(action.path, now)
            if action.from_entry is not None:
                self.coalescer.expect_own_write(action.from_entry.path, now)
        report = self.replica.apply(plan, self.hub)
        for action in plan.actions:
            if not action.is_index_only():
                say(f"  down {action.path} ({str(action.kind).split('.')[-1].lower()})")
        for conflict in plan.conflicts:
            say(f"  conflict on {conflict.path}; the other version is in {conflict.copy}")
        for issue in report.conflicts + report.failed:
            say(f"  not applied: {issue.path}: {issue.message} (retried next round)")

    def sync_once(self) -> None:
        """One round without a watcher: scan the whole folder, push, pull."""
        self.recorded(self.replica.scan())
        self.push()
        self.pull()

    def run(self, interval: float) -> None:
        observer = watch(self.root, self.coalescer)
        say(f"syncing {self.root} through {self.hub.url}")
        try:
            self.sync_once()
            while True:
                time.sleep(interval)
                self.settle()
                self.push()
                self.pull()
        except KeyboardInterrupt:
            pass
        finally:
            observer.stop()
            observer.join()


KINDS = {
    "created": syncore.WatchEventKind.CREATE,
    "modified": syncore.WatchEventKind.MODIFY,
    "deleted": syncore.WatchEventKind.REMOVE,
    "moved": syncore.WatchEventKind.RENAME,
    "closed": syncore.WatchEventKind.MODIFY,
}


def watch(root: pathlib.Path, coalescer: syncore.EventCoalescer) -> Any:
    """Starts a watchdog observer feeding `root`'s events into `coalescer`."""
    try:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:  # only watching needs watchdog
        raise SystemExit("this example needs watchdog: pip install watchdog")

    def rel(path: Union[str, bytes]) -> Optional[str]:
        relative = os.path.relpath(os.fsdecode(path), root).replace(os.sep, "/")
        return None if relative == "." else relative

    class Feed(FileSystemEventHandler):
        """Maps watchdog events onto the coalescer (called on watchdog's thread)."""

        def on_any_event(self, event: FileSystemEvent) -> None:
            kind = KINDS.get(event.event_type)
            if kind is None:
                return
            now = time.monotonic()
            try:
                if kind == syncore.WatchEventKind.RENAME:
                    coalescer.push(kind, rel(event.dest_path), now,
                                   src_path=rel(event.src_path), is_dir=event.is_directory)
                else:
                    coalescer.push(kind, rel(event.src_path), now, is_dir=event.is_directory)
            except syncore.InvalidInputError:
                pass  # a name syncore cannot sync (e.g. a backslash); leave it alone

    observer = Observer()
    observer.schedule(Feed(), str(root), recursive=True)
    observer.start()
    return observer


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--folder", required=True, type=pathlib.Path)
    parser.add_argument("--hub", default="http://127.0.0.1:8765")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between sync rounds")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    with Client(args.folder.resolve(), HubStore(args.hub)) as client:
        client.run(args.interval)


if __name__ == "__main__":
    main()
