#!/usr/bin/env python3
"""Regenerates the seed corpus of the delta fuzz targets (needs `rdiff` on PATH).

Writes small real rdiff signatures and deltas plus truncated and hostile variants into
fuzz/corpus/delta_*/. Deterministic: same files on every run.
"""
import os
import random
import struct
import subprocess
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
FORMATS = [("blake2", "rabinkarp"), ("blake2", "rollsum"), ("md4", "rollsum"), ("md4", "rabinkarp")]
DELTA_MAGIC = struct.pack(">I", 0x72730236)


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def rdiff(*args):
    subprocess.run(["rdiff", *args], check=True, capture_output=True)


def main():
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        p = lambda n: os.path.join(tmp, n)
        for i, (hash_, roll) in enumerate(FORMATS):
            for block in (16, 64, 256):
                basis = bytes(rng.getrandbits(8) for _ in range(block * 3 + i * 8))
                new = bytearray(basis)
                new[len(new) // 2 : len(new) // 2] = b"inserted!"
                del new[3:7]
                new = bytes(new)
                open(p("basis"), "wb").write(basis)
                open(p("new"), "wb").write(new)
                for f in ("sig", "delta"):
                    if os.path.exists(p(f)):
                        os.remove(p(f))
                rdiff("signature", "-b", str(block), "-S", str(8 if block == 64 else 0),
                      "-H", hash_, "-R", roll, p("basis"), p("sig"))
                rdiff("delta", p("sig"), p("new"), p("delta"))
                sig = open(p("sig"), "rb").read()
                delta = open(p("delta"), "rb").read()
                tag = f"{hash_}-{roll}-{block}"
                put("delta_signature_decode", f"rdiff-{tag}", sig)
                if block == 64:
                    put("delta_signature_decode", f"truncated-{tag}", sig[: len(sig) - 3])
                    put("delta_signature_decode", f"header-only-{tag}", sig[:12])
                # patch_apply layout: [h][basis][delta without magic], h = (len/8) << 1 | 1.
                b = basis[: min(len(basis), 127 * 8) // 8 * 8]
                if len(b) == len(basis):
                    h = bytes([(len(b) // 8) << 1 | 1])
                    put("delta_patch_apply", f"rdiff-{tag}", h + b + delta[4:])
                    put("delta_patch_apply", f"truncated-{tag}", h + b + delta[4:-2])
                # roundtrip layout: [magic, block_lo, block_hi, strong, split_lo, split_hi, ...]
                # Magic index as in SignatureMagic::ALL: Blake2RabinKarp, Blake2Rollsum,
                # Md4Rollsum, Md4RabinKarp (the order of FORMATS).
                head = bytes([i, (block - 1) & 0xFF, (block - 1) >> 8, 0]) + struct.pack("<H", len(basis))
                script = bytes([rng.getrandbits(8) for _ in range(3 * (1 + i))])
                put("delta_roundtrip", f"edits-{tag}", head + basis + script)
        # Hostile signatures: bad magic, zero block length, oversized strong length, and many
        # blocks sharing one weak sum.
        hdr = lambda magic, b, s: struct.pack(">III", magic, b, s)
        put("delta_signature_decode", "bad-magic", hdr(0x72730999, 64, 8) + bytes(12))
        put("delta_signature_decode", "zero-block", hdr(0x72730147, 0, 8) + bytes(12))
        put("delta_signature_decode", "strong-too-long", hdr(0x72730136, 64, 17) + bytes(21))
        put("delta_signature_decode", "huge-block", hdr(0x72730147, 0xFFFFFFFF, 8) + bytes(12))
        same_weak = b"".join(struct.pack(">I", 0x12345678) + struct.pack(">Q", k) for k in range(200))
        put("delta_signature_decode", "same-weak", hdr(0x72730137, 4, 8) + same_weak)
        zeros_weak = b"".join(bytes(4) + struct.pack(">Q", k) for k in range(50))
        put("delta_signature_decode", "zero-weak", hdr(0x72730146, 1, 8) + zeros_weak)
        put("delta_signature_decode", "empty", b"")
        # Hostile deltas (basis of 64 bytes).
        basis = bytes(range(64))
        h = bytes([(64 // 8) << 1 | 1])
        cases = {
            "copy-beyond": bytes([0x45, 60, 10, 0]),
            "copy-overflow": bytes([0x54]) + b"\xff" * 8 + b"\x00" * 7 + b"\x02" + b"\x00",
            "literal-huge": bytes([0x44]) + b"\xff" * 8,
            "literal-short": bytes([0x10, 1, 2, 3]),
            "reserved-op": bytes([0x55, 0]),
            "no-end": bytes([0x03, 1, 2, 3]),
            "copies-and-literals": bytes([0x45, 0, 64, 0x02, 9, 9, 0x49, 0, 8, 16, 0]),
            "expansion": bytes([0x46, 0, 0x80, 0x00]) * 40 + bytes([0]),
        }
        for name, body in cases.items():
            put("delta_patch_apply", name, h + basis + body)
        put("delta_patch_apply", "bad-magic", bytes([0]) + b"rs\x01\x36\x00")
        put("delta_roundtrip", "empty-all", bytes(6))
        put("delta_roundtrip", "zeros", bytes([2, 7, 0, 4, 0, 1]) + bytes(300) + bytes([128, 10, 1]))
        put("delta_roundtrip", "block-one", bytes([1, 0, 0, 0, 50, 0]) + bytes(range(50)) + bytes([10, 5, 3]))


if __name__ == "__main__":
    main()
