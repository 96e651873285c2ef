"""Shared fixtures: seeded test data, and the files of a replica's tree."""

from __future__ import annotations

import os
import pathlib
import random
from typing import Dict

import pytest

import syncore


def seeded(seed: int, size: int) -> bytes:
    """`size` pseudo-random bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


@pytest.fixture(scope="session")
def data() -> bytes:
    """3 MiB of seeded data: enough for dozens of default-size chunks."""
    return seeded(1, 3 << 20)


def tree(root: pathlib.Path) -> Dict[str, bytes]:
    """Every file under `root` (outside the state dir) and its content."""
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != syncore.DEFAULT_STATE_DIR]
        for name in filenames:
            full = pathlib.Path(dirpath) / name
            files[full.relative_to(root).as_posix()] = full.read_bytes()
    return files
