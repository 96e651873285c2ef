"""The hub of a small Dropbox-like service: a syncore ``Hub`` over local HTTP.

The hub is a replica whose files live only as chunks in an ``FsStore`` (``<data>/chunks``),
with a persistent index (``<data>/index``) of every path's versions. Clients upload the chunks
the hub lacks, then post their change set; the hub plans it like any replica and records it
(``Hub.plan`` / ``Hub.apply``). Clients pull the hub's change set since their cursor and fetch
the chunks their plan is missing. The hub remembers each client's cursor, so a restarted hub
or client picks up where it left off.

    python hub.py --data /tmp/hub --port 8765

Endpoints (all bodies are raw bytes):
    GET  /id                                  -> the hub's replica id (hex)
    GET  /cursor/<client-id>                  -> how far the hub has taken in that client
    POST /missing           32-byte ids       -> the ids the hub lacks
    PUT  /chunks/<hex>      chunk bytes       -> 204 (verified by the store)
    GET  /chunks/<hex>                        -> chunk bytes, or 404
    POST /changes           an encoded ChangeSet  -> JSON summary of what was recorded
    GET  /changes?since=N                     -> the hub's encoded ChangeSet after cursor N
"""

from __future__ import annotations

import argparse
import json
import pathlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Type, Union
from urllib.parse import parse_qs, urlparse

import syncore


class HubService:
    """The hub's state. One lock keeps each plan and its apply together; chunk I/O and
    change-set reads run concurrently."""

    def __init__(self, data_dir: Union[str, pathlib.Path]) -> None:
        data = pathlib.Path(data_dir)
        self.store = syncore.FsStore(data / "chunks")
        self.hub = syncore.Hub(data / "index", self.store)
        self.lock = threading.Lock()

    def take(self, wire: bytes) -> Dict[str, object]:
        """Plans and records a client's change set; its chunks were uploaded beforehand."""
        with self.lock:
            plan = self.hub.plan(wire, policy=syncore.ConflictPolicy.KEEP_BOTH)
            report = self.hub.apply(plan)  # missing chunks come from the hub's own store
        return {
            "actions": len(plan),
            "conflicts": [c.path for c in plan.conflicts],
            "failed": [f"{i.path}: {i.message}" for i in report.failed],
        }

    def changes(self, since: int) -> bytes:
        return self.hub.changes_since_encoded(since)

    def cursor(self, client: str) -> int:
        return self.hub.synced_cursor(syncore.ReplicaId(client))

    def close(self) -> None:
        self.hub.close()


def handler(service: HubService) -> Type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def reply(self, code: int, data: bytes = b"", kind: str = "application/octet-stream") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            try:
                if url.path.startswith("/chunks/"):
                    self.reply(200, service.store.get(url.path[len("/chunks/"):]))
                elif url.path == "/changes":
                    since = int(parse_qs(url.query).get("since", ["0"])[0])
                    self.reply(200, service.changes(since))
                elif url.path.startswith("/cursor/"):
                    cursor = service.cursor(url.path[len("/cursor/"):])
                    self.reply(200, str(cursor).encode(), "text/plain")
                elif url.path == "/id":
                    self.reply(200, str(service.hub.replica_id).encode(), "text/plain")
                else:
                    self.reply(404)
            except syncore.NotFoundError:
                self.reply(404)
            except (syncore.SyncoreError, ValueError) as err:
                self.reply(400, str(err).encode(), "text/plain")

        def do_PUT(self) -> None:
            try:
                if self.path.startswith("/chunks/"):
                    service.store.put(self.path[len("/chunks/"):], self.body())
                    self.reply(204)
                else:
                    self.reply(404)
            except syncore.SyncoreError as err:
                self.reply(400, str(err).encode(), "text/plain")

        def do_POST(self) -> None:
            try:
                if self.path == "/missing":
                    raw = self.body()
                    ids = [raw[i : i + 32] for i in range(0, len(raw), 32)]
                    self.reply(200, b"".join(d.digest for d in service.store.missing(ids)))
                elif self.path == "/changes":
                    summary = service.take(self.body())
                    self.reply(200, json.dumps(summary).encode(), "application/json")
                else:
                    self.reply(404)
            except syncore.SyncoreError as err:
                self.reply(400, str(err).encode(), "text/plain")

    return Handler


class HubServer(ThreadingHTTPServer):
    """The hub's HTTP server on 127.0.0.1:`port` (0: any free port)."""

    def __init__(self, data_dir: Union[str, pathlib.Path], port: int = 8765) -> None:
        self.service = HubService(data_dir)
        try:
            super().__init__(("127.0.0.1", port), handler(self.service))
        except OSError:
            self.service.close()
            raise

    def server_close(self) -> None:
        super().server_close()
        self.service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", required=True, help="directory for the hub's index and chunks")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server = HubServer(args.data, args.port)
    hub_id = server.service.hub.replica_id.short()
    print(f"hub {hub_id} on http://127.0.0.1:{args.port}, state in {args.data}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
