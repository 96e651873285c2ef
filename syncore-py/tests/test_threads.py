"""The GIL is released while syncore hashes: other Python threads keep running."""

from __future__ import annotations

import threading
import time
from typing import Callable, List

import syncore
from conftest import seeded

BIG = seeded(7, 64 << 20)


def progress_during(work: Callable[[], object]) -> int:
    """How often a Python thread could increment a counter while `work` ran."""
    count = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal count
        while not stop.is_set():
            count += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    time.sleep(0.01)  # let the spinner get going
    before = count
    try:
        work()
    finally:
        during = count - before
        stop.set()
        spinner.join()
    return during


def test_gil_released_while_hashing_and_chunking() -> None:
    chunker = syncore.Chunker(threads=1)
    # With the GIL held for the whole call the counter could only move at the interpreter's
    # switch points before and after it; released, it climbs by the hundreds of thousands.
    for work in (
        lambda: syncore.digest(BIG * 4),
        lambda: chunker.chunk(BIG),
        lambda: syncore.MemStore().put_data(BIG),
        lambda: syncore.FileManifest.of_bytes(BIG, chunker),
    ):
        assert progress_during(work) > 10_000


def test_two_threads_hash_concurrently_and_correctly() -> None:
    chunker = syncore.Chunker(threads=1)
    inputs = [seeded(10 + i, 16 << 20) for i in range(2)]
    expected = [chunker.chunk(d) for d in inputs]
    results: List[List[syncore.Chunk]] = [[], []]
    store = syncore.MemStore()

    def run(i: int) -> None:
        for _ in range(3):
            results[i] = chunker.chunk(inputs[i])
            store.put_data(inputs[i][:1 << 20])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected
    assert len(store) == 2
