"""Chunk + hash throughput: syncore's binding vs pyfastcdc + blake3, and vs the Rust API.

Plain timing in one process; every contender runs once per round, rounds are interleaved (so a
burst of load on a shared machine hits them alike) and each keeps its best round:

* syncore   ``Chunker(min, avg, max, threads=N).chunk(data)``: FastCDC cut + BLAKE3 of every
            chunk in Rust, with 1 thread and with every core;
* peer      ``pyfastcdc`` (Cython FastCDC 2020) ``cut_buf`` + ``blake3.blake3(chunk.data)`` per
            chunk: same parameters, normalization level 1, one thread;
* rust      the ``chunk_timing`` example binary (``Chunker::chunk_slice``) on the very same
            bytes (written to a temp file it reads back before timing), same thread counts.

Two figures per contender: wall time, and user CPU time (``os.times`` for this process,
``getrusage(RUSAGE_CHILDREN)`` for the Rust binary). CPU time barely moves when other jobs
compete for the cores, so it is the fairer figure for the single-thread comparisons on a busy
machine; wall time is what the multi-thread runs are about.

Run with ``make py-bench`` (installs pyfastcdc and blake3 into the venv and builds the example),
or::

    python syncore-py/benches/bench_chunk_hash.py --rust-timer target/release/examples/chunk_timing
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import tempfile
import time
from typing import Callable, Dict, List, Optional, Tuple

import syncore

MIB = 1 << 20

Timing = Tuple[float, float]  # (wall seconds, user CPU seconds)


def timed(fn: Callable[[], object]) -> Tuple[Timing, object]:
    cpu0, wall0 = os.times().user, time.perf_counter()
    result = fn()
    return (time.perf_counter() - wall0, os.times().user - cpu0), result


def peer(data: bytes, lo: int, avg: int, hi: int) -> List[Tuple[int, int, bytes]]:
    import blake3
    from pyfastcdc import FastCDC

    cdc = FastCDC(avg, min_size=lo, max_size=hi, normalized_chunking=1)
    return [(c.offset, c.length, blake3.blake3(c.data).digest()) for c in cdc.cut_buf(data)]


def rust(timer: str, path: str, lo: int, avg: int, hi: int, threads: int) -> Timing:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    out = subprocess.run(
        [timer, path, str(lo), str(avg), str(hi), str(threads), "1"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before


def best(a: Optional[Timing], b: Timing) -> Timing:
    return b if a is None else (min(a[0], b[0]), min(a[1], b[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=256, help="a multiple of 16")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--min", type=int, default=16384)
    parser.add_argument("--avg", type=int, default=65536)
    parser.add_argument("--max", type=int, default=262144)
    parser.add_argument("--rust-timer", help="path of the built chunk_timing example")
    args = parser.parse_args()
    lo, avg, hi = args.min, args.avg, args.max
    rng = random.Random(42)
    data = b"".join(rng.randbytes(16 * MIB) for _ in range(args.size_mib // 16))
    cores = os.cpu_count() or 1
    threads_list = sorted({1, cores})
    chunkers = {t: syncore.Chunker(lo, avg, hi, threads=t) for t in threads_list}
    print(f"data: {len(data) >> 20} MiB seeded random bytes in one bytes object; FastCDC "
          f"{lo}/{avg}/{hi} level 1, BLAKE3; best of {args.repeat} interleaved rounds; "
          f"{cores} cores; load average {os.getloadavg()[0]:.1f}")

    peer_t: Optional[Timing] = None
    peer_chunks: object = None
    ours: Dict[int, Optional[Timing]] = {t: None for t in threads_list}
    rusts: Dict[int, Optional[Timing]] = {t: None for t in threads_list}
    chunks: object = None
    have_peer = True
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        if args.rust_timer:
            f.write(data)
            f.flush()
        for _ in range(args.repeat):
            if have_peer:
                try:
                    t, peer_chunks = timed(lambda: peer(data, lo, avg, hi))
                    peer_t = best(peer_t, t)
                except ImportError as missing:
                    print(f"peer skipped ({missing}): pip install pyfastcdc blake3")
                    have_peer = False
            for n in threads_list:
                t, chunks = timed(lambda: chunkers[n].chunk(data))
                ours[n] = best(ours[n], t)
                if args.rust_timer:
                    rusts[n] = best(rusts[n], rust(args.rust_timer, f.name, lo, avg, hi, n))

    def row(name: str, t: Timing, extra: str = "") -> None:
        gbps = len(data) / t[0] / 1e9
        print(f"{name:<32} wall {t[0]:6.3f} s ({gbps:5.2f} GB/s)  cpu {t[1]:6.3f} s  {extra}")

    assert isinstance(chunks, list)
    if peer_t is not None:
        assert isinstance(peer_chunks, list)
        same = [(c.offset, c.length, c.id.digest) for c in chunks] == peer_chunks
        row("pyfastcdc + blake3 (1 thread)", peer_t, f"same chunks and ids as syncore: {same}")
    for n in threads_list:
        t = ours[n]
        assert t is not None
        label = f"{n} thread{'s' if n > 1 else ''}"
        extra = ""
        if peer_t is not None:
            extra = f"speed-up over peer: wall {peer_t[0] / t[0]:.2f}x, cpu {peer_t[1] / t[1]:.2f}x"
        row(f"syncore Python ({label})", t, extra)
        r = rusts[n]
        if r is not None:
            row(f"syncore Rust API ({label})", r,
                f"Python/Rust: wall {t[0] / r[0]:.3f}, cpu {t[1] / r[1]:.3f}")


if __name__ == "__main__":
    main()
