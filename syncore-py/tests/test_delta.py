from __future__ import annotations

import io
import pathlib
import shutil
import subprocess

import pytest

import syncore
from conftest import seeded


def edited(basis: bytes) -> bytes:
    return basis[:100_000] + b"a change in the middle" + basis[100_000:250_000] + basis[300_000:]


def test_signature_delta_patch_in_memory() -> None:
    basis = seeded(3, 400_000)
    new = edited(basis)
    sig = syncore.Signature.of_bytes(basis)
    assert sig.format == syncore.SignatureFormat.BLAKE2_RABINKARP
    assert len(sig) == sig.block_count > 0 and sig.block_len > 0
    d = sig.delta(new)
    assert len(d) < len(new) // 4
    assert syncore.patch(basis, d) == new
    assert syncore.delta(sig.encode(), new) == d == syncore.delta(sig, bytearray(new))
    assert syncore.Signature.decode(bytes(sig)).encode() == sig.encode()
    reread = syncore.Signature.of_reader(io.BytesIO(basis), block_len=sig.block_len)
    assert reread.encode() == sig.encode()
    md4 = syncore.Signature.of_bytes(basis, format=syncore.SignatureFormat.MD4_ROLLSUM,
                                     block_len=1024, strong_len=8)
    assert (md4.block_len, md4.strong_len) == (1024, 8)
    assert syncore.patch(basis, md4.delta(new)) == new
    with pytest.raises(syncore.SyncoreError):
        syncore.patch(basis, d, limit=10)


def test_files_and_rdiff_interop(tmp_path: pathlib.Path) -> None:
    basis, new = seeded(4, 300_000), edited(seeded(4, 300_000))
    (tmp_path / "basis").write_bytes(basis)
    (tmp_path / "new").write_bytes(new)
    written = syncore.signature_file(tmp_path / "basis", tmp_path / "sig")
    assert written == (tmp_path / "sig").stat().st_size
    assert syncore.Signature.of_file(tmp_path / "basis").encode() == (tmp_path / "sig").read_bytes()
    stats = syncore.delta_file(tmp_path / "sig", tmp_path / "new", tmp_path / "delta")
    assert stats.new_len == len(new) and stats.copy_bytes > 0
    assert syncore.patch_file(tmp_path / "basis", tmp_path / "delta", tmp_path / "out") == len(new)
    assert (tmp_path / "out").read_bytes() == new
    if shutil.which("rdiff"):
        subprocess.run(["rdiff", "patch", str(tmp_path / "basis"), str(tmp_path / "delta"),
                        str(tmp_path / "rdiff-out")], check=True)
        assert (tmp_path / "rdiff-out").read_bytes() == new
    with pytest.raises(FileNotFoundError):
        syncore.signature_file(tmp_path / "absent", tmp_path / "sig2")


def test_corrupt_delta_and_signature() -> None:
    with pytest.raises(syncore.CorruptError):
        syncore.Signature.decode(b"\x00\x01\x02\x03garbage")
    with pytest.raises(syncore.SyncoreError):
        syncore.patch(b"basis", b"not a delta")
    with pytest.raises(TypeError):
        syncore.patch("basis", b"")  # type: ignore[arg-type]
