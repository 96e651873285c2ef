from __future__ import annotations

import io
import pathlib
from typing import List, Tuple

import pytest

import syncore
from conftest import seeded


def tiles(chunks: List[syncore.Chunk], data: bytes) -> None:
    offset = 0
    for c in chunks:
        assert c.offset == offset and c.length == len(c) > 0
        assert c.end == c.offset + c.length
        assert c.id == syncore.digest(data[c.offset : c.end])
        offset = c.end
    assert offset == len(data)


def test_chunk_bytes_and_buffers(data: bytes) -> None:
    chunker = syncore.Chunker()
    chunks = chunker.chunk(data)
    assert len(chunks) > 10
    tiles(chunks, data)
    assert chunker.chunk(bytearray(data)) == chunks
    assert chunker.chunk(memoryview(data)) == chunks
    assert chunker.chunk(b"") == []
    assert all(c.length <= chunker.max_chunk_len for c in chunks)


def test_file_reader_iterator_and_stream_agree(data: bytes, tmp_path: pathlib.Path) -> None:
    chunker = syncore.Chunker(4096, 16384, 65536, threads=2)
    expected = chunker.chunk(data)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert chunker.chunk_file(path) == expected
    assert chunker.chunk_file(str(path)) == expected
    assert chunker.chunk_reader(io.BytesIO(data)) == expected
    with open(path, "rb") as f:
        assert chunker.chunk_reader(f) == expected
    assert list(chunker.iter_file(path)) == expected
    assert list(chunker.iter_reader(io.BytesIO(data))) == expected
    pairs: List[Tuple[syncore.Chunk, bytes]] = list(chunker.iter_file(path, with_data=True))
    assert [c for c, _ in pairs] == expected
    assert b"".join(b for _, b in pairs) == data
    stream = chunker.stream()
    pushed: List[syncore.Chunk] = []
    for i in range(0, len(data), 1_000_003):
        pushed += stream.push(data[i : i + 1_000_003])
    assert stream.position == len(data)
    pushed += stream.finish()
    assert pushed == expected
    with pytest.raises(syncore.InvalidInputError):
        stream.finish()


def test_stream_with_data(data: bytes) -> None:
    stream = syncore.Chunker().stream()
    pairs = stream.push(data, with_data=True) + stream.finish(with_data=True)
    assert b"".join(b for _, b in pairs) == data
    assert all(c.id == syncore.digest(b) for c, b in pairs)


def test_iterator_is_lazy_and_closes(tmp_path: pathlib.Path) -> None:
    data = seeded(2, 12 << 20)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    chunker = syncore.Chunker()
    with chunker.iter_file(path) as it:
        first = next(it)
    assert first == chunker.chunk(data)[0]
    assert list(it) == []


def test_fixed_and_sha256_chunkers(data: bytes) -> None:
    fixed = syncore.Chunker.fixed(100_000, algo=syncore.HashAlgo.SHA256)
    chunks = fixed.chunk(data)
    assert [c.length for c in chunks[:-1]] == [100_000] * (len(chunks) - 1)
    assert chunks[0].id == syncore.digest(data[:100_000], "sha256")
    assert fixed.algo == syncore.HashAlgo.SHA256
    assert "fixed" in repr(fixed)


def test_bad_parameters_and_inputs(tmp_path: pathlib.Path) -> None:
    with pytest.raises(syncore.InvalidInputError, match="min_size"):
        syncore.Chunker(8192, 4096, 65536)
    with pytest.raises(syncore.InvalidInputError, match="even"):
        syncore.Chunker(4097, 8192, 65536)
    with pytest.raises(syncore.InvalidInputError, match="threads"):
        syncore.Chunker(threads=0)
    with pytest.raises(OverflowError):
        syncore.Chunker(-1)
    chunker = syncore.Chunker()
    with pytest.raises(TypeError):
        chunker.chunk("not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        chunker.chunk_file(12)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        chunker.chunk_reader(b"bytes are not a file")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binary mode"):
        chunker.chunk_reader(io.StringIO("text"))  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        chunker.iter_file(tmp_path / "absent")


def test_reader_errors_propagate() -> None:
    class Failing(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        syncore.Chunker().chunk_reader(Failing())
    with pytest.raises(RuntimeError, match="disk on fire"):
        list(syncore.Chunker().iter_reader(Failing()))
