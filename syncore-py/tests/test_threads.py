"""The GIL is released while syncore hashes: other Python threads keep running."""

from __future__ import annotations

import threading
import time
from typing import Callable, List

import syncore
from conftest import seeded

BIG = seeded(7, 64 << 20)


def runs_during(work: Callable[[], object]) -> int:
    """How many times a Python thread ran in the middle of `work`.

    A spinner thread records the time every few hundred increments of a counter. While a
    native call holds the GIL the spinner cannot run at all, so a held GIL leaves no samples
    strictly inside the call (the interpreter only switches threads between bytecodes); a
    released GIL leaves many. The first and last fifth of the call are not counted, to allow
    for the Python code around the native call.
    """
    samples: List[float] = []
    stop = threading.Event()

    def spin() -> None:
        count = 0
        while not stop.is_set():
            count += 1
            if count % 256 == 0:
                samples.append(time.perf_counter())

    spinner = threading.Thread(target=spin)
    spinner.start()
    time.sleep(0.02)  # let the spinner get going
    start = time.perf_counter()
    try:
        work()
    finally:
        end = time.perf_counter()
        stop.set()
        spinner.join()
    margin = (end - start) / 5
    return sum(1 for t in samples if start + margin < t < end - margin)


def test_gil_released_while_hashing_chunking_and_storing() -> None:
    chunker = syncore.Chunker(threads=1)
    store = syncore.ReplicatedStore([syncore.MemStore() for _ in range(3)], replication_factor=3)
    part = BIG[: syncore.MAX_CHUNK_LEN]
    big4 = BIG * 4
    for work in (
        lambda: syncore.digest(big4),
        lambda: chunker.chunk(BIG),
        lambda: syncore.FileManifest.of_bytes(BIG, chunker),
        lambda: store.put_data(part),
    ):
        assert runs_during(work) > 0


def test_two_threads_hash_concurrently_and_correctly() -> None:
    chunker = syncore.Chunker(threads=1)
    inputs = [seeded(10 + i, 16 << 20) for i in range(2)]
    expected = [chunker.chunk(d) for d in inputs]
    results: List[List[syncore.Chunk]] = [[], []]
    store = syncore.MemStore()

    def run(i: int) -> None:
        for _ in range(3):
            results[i] = chunker.chunk(inputs[i])
            store.put_data(inputs[i][: 1 << 20])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected
    assert len(store) == 2
