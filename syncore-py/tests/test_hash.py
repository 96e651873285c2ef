from __future__ import annotations

import array
import hashlib
import pickle

import pytest

import syncore


def test_digest_bytes_hex_and_algorithms() -> None:
    d = syncore.digest(b"hello")
    assert len(d.digest) == 32 and bytes(d) == d.digest and len(d) == 32
    assert d.hex() == str(d) and len(d.hex()) == 64
    assert syncore.Digest.from_hex(d.hex().upper()) == d
    assert syncore.Digest(d.digest) == d
    assert repr(d) == f"Digest('{d.hex()}')"
    sha = syncore.digest(b"hello", syncore.HashAlgo.SHA256)
    assert sha.digest == hashlib.sha256(b"hello").digest()
    assert syncore.digest(b"hello", "sha256") == sha
    assert syncore.HashAlgo.SHA256.digest(b"hello") == sha
    assert syncore.HashAlgo.BLAKE3.name == "blake3"


def test_digest_is_hashable_ordered_and_picklable() -> None:
    a, b = syncore.digest(b"a"), syncore.digest(b"b")
    assert {a: 1, syncore.Digest(a.digest): 2} == {a: 2}
    assert sorted([a, b]) == sorted([b, a]) and (a < b) != (b < a)
    assert a != a.digest and a != a.hex()
    assert pickle.loads(pickle.dumps(a)) == a


def test_any_buffer_hashes_like_bytes() -> None:
    data = bytes(range(256)) * 100
    expected = syncore.digest(data)
    assert syncore.digest(bytearray(data)) == expected
    assert syncore.digest(memoryview(data)) == expected
    assert syncore.digest(array.array("B", data)) == expected
    assert syncore.digest(memoryview(data)[10:20]) == syncore.digest(data[10:20])


def test_hasher_streams() -> None:
    h = syncore.Hasher()
    h.update(b"hel")
    copy = h.copy()
    h.update(bytearray(b"lo"))
    assert h.finalize() == syncore.digest(b"hello")
    assert copy.finalize() == syncore.digest(b"hel")
    assert syncore.HashAlgo.SHA256.hasher().finalize() == syncore.digest(b"", "sha256")


def test_bad_digest_input() -> None:
    with pytest.raises(syncore.InvalidInputError, match="32 bytes"):
        syncore.Digest(b"short")
    with pytest.raises(syncore.InvalidInputError):
        syncore.Digest.from_hex("zz" * 32)
    with pytest.raises(ValueError):
        syncore.Digest.from_hex("abc")
    with pytest.raises(TypeError):
        syncore.digest("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        syncore.digest(12)  # type: ignore[arg-type]
    with pytest.raises(syncore.InvalidInputError, match="hash algorithm"):
        syncore.digest(b"x", "md5")
    with pytest.raises(TypeError):
        syncore.digest(memoryview(b"abcdef")[::2])
