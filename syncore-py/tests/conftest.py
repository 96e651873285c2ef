"""Shared fixtures: seeded test data."""

from __future__ import annotations

import random

import pytest


def seeded(seed: int, size: int) -> bytes:
    """`size` pseudo-random bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


@pytest.fixture(scope="session")
def data() -> bytes:
    """3 MiB of seeded data: enough for dozens of default-size chunks."""
    return seeded(1, 3 << 20)
