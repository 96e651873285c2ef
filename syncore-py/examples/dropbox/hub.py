"""The hub of a small Dropbox-like service: a chunk store and an index, over local HTTP.

The hub is a replica whose files live only as chunks in an ``FsStore``. Clients upload the
chunks they have and the hub lacks, then post their change set; the hub plans it like any
replica and records it (``MemoryReplica.apply_to_store``). Clients pull the hub's change set
since their cursor and fetch the chunks their plan is missing.

    python hub.py --data /tmp/hub --port 8765

Endpoints (all bodies are raw bytes):
    POST /missing           32-byte ids concatenated  -> the ids the hub lacks
    PUT  /chunks/<hex>      chunk bytes               -> 204 (verified by the store)
    GET  /chunks/<hex>                                -> chunk bytes, or 404
    POST /changes           an encoded ChangeSet      -> JSON summary of what was recorded
    GET  /changes?since=N                             -> the hub's ChangeSet after cursor N
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import syncore


class Hub:
    """The hub's state; one lock serializes index updates (chunk I/O runs concurrently)."""

    def __init__(self, data_dir: str) -> None:
        self.store = syncore.FsStore(data_dir)
        self.replica = syncore.MemoryReplica()
        self.lock = threading.Lock()

    def take(self, wire: bytes) -> dict[str, object]:
        with self.lock:
            plan = self.replica.plan(wire)
            report = self.replica.apply_to_store(plan, self.store, self.store)
        return {
            "actions": len(plan),
            "conflicts": [c.path for c in plan.conflicts],
            "failed": [f"{i.path}: {i.message}" for i in report.failed],
        }

    def changes(self, since: int) -> bytes:
        with self.lock:
            return self.replica.changes_since(since).encode()


def handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
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
                    self.reply(200, hub.store.get(url.path[len("/chunks/"):]))
                elif url.path == "/changes":
                    since = int(parse_qs(url.query).get("since", ["0"])[0])
                    self.reply(200, hub.changes(since))
                else:
                    self.reply(404)
            except syncore.NotFoundError:
                self.reply(404)
            except (syncore.SyncoreError, ValueError) as err:
                self.reply(400, str(err).encode(), "text/plain")

        def do_PUT(self) -> None:
            try:
                if self.path.startswith("/chunks/"):
                    hub.store.put(self.path[len("/chunks/"):], self.body())
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
                    self.reply(200, b"".join(d.digest for d in hub.store.missing(ids)))
                elif self.path == "/changes":
                    summary = hub.take(self.body())
                    self.reply(200, json.dumps(summary).encode(), "application/json")
                else:
                    self.reply(404)
            except syncore.SyncoreError as err:
                self.reply(400, str(err).encode(), "text/plain")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="directory for the hub's chunk store")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(Hub(args.data)))
    print(f"hub on http://127.0.0.1:{args.port}, chunks in {args.data}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
