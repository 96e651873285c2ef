//! librsync's wire formats: magic numbers, the signature header and the delta opcodes.
//!
//! This file owns the byte-level constants and the small codecs shared by the signature,
//! delta and patch code: the four signature magics, the 12-byte big-endian signature header,
//! the delta magic and the command table (LITERAL, COPY and END with their argument widths).
//! It never does I/O beyond decoding a header from a byte slice, and never interprets
//! signature bodies or delta streams.

use crate::error::{Error, Result};

/// Magic number that starts every delta stream (`rs\x02\x36`).
pub const DELTA_MAGIC: u32 = 0x7273_0236;

/// Length of a signature header: magic, block length, strong-sum length (each 4 bytes, BE).
pub const SIGNATURE_HEADER_LEN: usize = 12;

/// Largest block length syncore accepts (16 MiB).
///
/// librsync has no explicit bound; its recommended length is the square root of the file
/// size (1 MiB for a 1 TiB file). The bound keeps the buffers of signature generation and
/// delta generation, which hold at least one block, small whatever a signature claims.
pub const MAX_BLOCK_LEN: u32 = 1 << 24;

/// Length of an MD4 strong sum in bytes.
pub const MD4_SUM_LEN: u32 = 16;

/// Length of a BLAKE2b strong sum in bytes (librsync uses BLAKE2b-256).
pub const BLAKE2_SUM_LEN: u32 = 32;

/// Which librsync signature format: the rolling checksum and the strong hash it uses.
///
/// The default, like `rdiff`'s, is [`SignatureMagic::Blake2RabinKarp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignatureMagic {
    /// RabinKarp rolling checksum and BLAKE2b strong sums (`0x72730147`, librsync >= 2.2).
    #[default]
    Blake2RabinKarp,
    /// Adler-style rollsum and BLAKE2b strong sums (`0x72730137`, librsync >= 1.0).
    Blake2Rollsum,
    /// Adler-style rollsum and MD4 strong sums (`0x72730136`, the original format).
    Md4Rollsum,
    /// RabinKarp rolling checksum and MD4 strong sums (`0x72730146`).
    Md4RabinKarp,
}

/// The rolling (weak) checksum of a signature format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeakKind {
    /// librsync's Adler-32-like rollsum (with its +31 byte offset).
    Rollsum,
    /// librsync's polynomial RabinKarp hash.
    RabinKarp,
}

/// The strong hash of a signature format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrongKind {
    /// MD4, 16 bytes. Not collision resistant: see the module docs.
    Md4,
    /// BLAKE2b with a 32-byte output.
    Blake2,
}

impl StrongKind {
    /// Full length of this hash's output in bytes.
    pub const fn max_len(self) -> u32 {
        match self {
            StrongKind::Md4 => MD4_SUM_LEN,
            StrongKind::Blake2 => BLAKE2_SUM_LEN,
        }
    }
}

impl SignatureMagic {
    /// Every signature magic, in no particular order.
    pub const ALL: [SignatureMagic; 4] = [
        SignatureMagic::Blake2RabinKarp,
        SignatureMagic::Blake2Rollsum,
        SignatureMagic::Md4Rollsum,
        SignatureMagic::Md4RabinKarp,
    ];

    /// The 32-bit magic number that starts a signature of this format.
    pub const fn to_u32(self) -> u32 {
        match self {
            SignatureMagic::Md4Rollsum => 0x7273_0136,
            SignatureMagic::Blake2Rollsum => 0x7273_0137,
            SignatureMagic::Md4RabinKarp => 0x7273_0146,
            SignatureMagic::Blake2RabinKarp => 0x7273_0147,
        }
    }

    /// The format for a magic number, or `Corrupt` if it is not a signature magic.
    pub fn from_u32(magic: u32) -> Result<Self> {
        SignatureMagic::ALL
            .into_iter()
            .find(|m| m.to_u32() == magic)
            .ok_or_else(|| {
                Error::corrupt(format!(
                    "not an rsync signature: unknown magic {magic:#010x}"
                ))
            })
    }

    /// The rolling checksum this format uses.
    pub const fn weak(self) -> WeakKind {
        match self {
            SignatureMagic::Md4Rollsum | SignatureMagic::Blake2Rollsum => WeakKind::Rollsum,
            SignatureMagic::Md4RabinKarp | SignatureMagic::Blake2RabinKarp => WeakKind::RabinKarp,
        }
    }

    /// The strong hash this format uses.
    pub const fn strong(self) -> StrongKind {
        match self {
            SignatureMagic::Md4Rollsum | SignatureMagic::Md4RabinKarp => StrongKind::Md4,
            SignatureMagic::Blake2Rollsum | SignatureMagic::Blake2RabinKarp => StrongKind::Blake2,
        }
    }
}

/// A decoded, validated signature header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignatureHeader {
    pub magic: SignatureMagic,
    pub block_len: u32,
    pub strong_len: u32,
}

impl SignatureHeader {
    /// Checks the parameters; `corrupt` says they came from bytes rather than from a caller.
    pub fn validate(self, corrupt: bool) -> Result<Self> {
        let err = |msg: String| {
            if corrupt {
                Error::corrupt(format!("signature header: {msg}"))
            } else {
                Error::invalid(msg)
            }
        };
        if self.block_len == 0 {
            return Err(err("block length is 0".into()));
        }
        if self.block_len > MAX_BLOCK_LEN {
            let msg = format!(
                "block length {} exceeds syncore's maximum of {MAX_BLOCK_LEN}",
                self.block_len
            );
            return Err(if corrupt {
                Error::Unsupported(msg)
            } else {
                Error::invalid(msg)
            });
        }
        let max = self.magic.strong().max_len();
        if self.strong_len == 0 || self.strong_len > max {
            return Err(err(format!(
                "strong sum length {} is outside 1..={max} for {:?}",
                self.strong_len, self.magic
            )));
        }
        Ok(self)
    }

    pub fn encode(self) -> [u8; SIGNATURE_HEADER_LEN] {
        let mut out = [0u8; SIGNATURE_HEADER_LEN];
        out[0..4].copy_from_slice(&self.magic.to_u32().to_be_bytes());
        out[4..8].copy_from_slice(&self.block_len.to_be_bytes());
        out[8..12].copy_from_slice(&self.strong_len.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let Some(h) = bytes.get(..SIGNATURE_HEADER_LEN) else {
            return Err(Error::corrupt(format!(
                "truncated signature: {} bytes, the header alone is {SIGNATURE_HEADER_LEN}",
                bytes.len()
            )));
        };
        let word = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        SignatureHeader {
            magic: SignatureMagic::from_u32(word(0))?,
            block_len: word(4),
            strong_len: word(8),
        }
        .validate(true)
    }
}

/// Opcode of the END command.
pub const OP_END: u8 = 0x00;
/// Largest literal length that has its own opcode (`0x01..=0x40` carry the length itself).
pub const MAX_IMMEDIATE_LITERAL: u64 = 0x40;
/// LITERAL with a 1-byte length; `+1`, `+2`, `+3` are the 2-, 4- and 8-byte variants.
pub const OP_LITERAL_N1: u8 = 0x41;
/// COPY with 1-byte position and length; see [`copy_op`] for the other widths.
pub const OP_COPY_N1_N1: u8 = 0x45;
/// Last COPY opcode (8-byte position, 8-byte length); opcodes above it are reserved.
pub const OP_COPY_N8_N8: u8 = 0x54;

/// Smallest of the argument widths 1, 2, 4, 8 that holds `v`, as an index 0..=3.
pub const fn width_index(v: u64) -> u8 {
    if v <= 0xff {
        0
    } else if v <= 0xffff {
        1
    } else if v <= 0xffff_ffff {
        2
    } else {
        3
    }
}

/// Byte width for a width index 0..=3.
pub const fn width_bytes(index: u8) -> usize {
    1 << index
}

/// The COPY opcode for a position and length, using the smallest widths.
pub const fn copy_op(pos: u64, len: u64) -> u8 {
    OP_COPY_N1_N1 + 4 * width_index(pos) + width_index(len)
}

/// A decoded delta command byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    End,
    /// Literal whose length is in the opcode.
    LiteralImmediate(u64),
    /// Literal whose length follows in `width` bytes.
    Literal {
        width: usize,
    },
    /// Copy whose position and length follow in the given widths.
    Copy {
        pos_width: usize,
        len_width: usize,
    },
}

impl Op {
    pub fn decode(byte: u8) -> Result<Op> {
        match byte {
            OP_END => Ok(Op::End),
            0x01..=0x40 => Ok(Op::LiteralImmediate(u64::from(byte))),
            0x41..=0x44 => Ok(Op::Literal {
                width: width_bytes(byte - OP_LITERAL_N1),
            }),
            OP_COPY_N1_N1..=OP_COPY_N8_N8 => {
                let k = byte - OP_COPY_N1_N1;
                Ok(Op::Copy {
                    pos_width: width_bytes(k / 4),
                    len_width: width_bytes(k % 4),
                })
            }
            other => Err(Error::corrupt(format!(
                "delta has reserved command byte {other:#04x}"
            ))),
        }
    }
}

/// Appends a LITERAL command header for `len` bytes (the bytes themselves follow it).
pub(crate) fn push_literal_header(out: &mut Vec<u8>, len: u64) {
    debug_assert!(len > 0);
    if len <= MAX_IMMEDIATE_LITERAL {
        // `len` fits in a byte here.
        out.push(len as u8);
    } else {
        let w = width_index(len);
        out.push(OP_LITERAL_N1 + w);
        push_be(out, len, width_bytes(w));
    }
}

/// Appends a COPY command with the smallest argument widths.
pub(crate) fn push_copy(out: &mut Vec<u8>, pos: u64, len: u64) {
    out.push(copy_op(pos, len));
    push_be(out, pos, width_bytes(width_index(pos)));
    push_be(out, len, width_bytes(width_index(len)));
}

fn push_be(out: &mut Vec<u8>, v: u64, width: usize) {
    out.extend_from_slice(&v.to_be_bytes()[8 - width..]);
}

/// Reads a big-endian unsigned integer of 1..=8 bytes.
pub(crate) fn be_uint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn magics_roundtrip() {
        for m in SignatureMagic::ALL {
            assert_eq!(SignatureMagic::from_u32(m.to_u32()).unwrap(), m);
        }
        assert_eq!(
            SignatureMagic::from_u32(DELTA_MAGIC).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
    }

    #[test]
    fn opcodes_cover_the_table() {
        assert_eq!(copy_op(0, 0), 0x45);
        assert_eq!(copy_op(0, 0x100), 0x46);
        assert_eq!(copy_op(0x100, 0), 0x49);
        assert_eq!(copy_op(u64::MAX, u64::MAX), 0x54);
        assert_eq!(copy_op(0x1_0000_0000, 0x1_0000), 0x53);
        assert_eq!(copy_op(0x1_0000, 0x1_0000_0000), 0x50);
        for b in 0u8..=255 {
            let op = Op::decode(b);
            assert_eq!(op.is_ok(), b <= 0x54, "{b:#x}");
        }
        let mut v = Vec::new();
        push_literal_header(&mut v, 64);
        push_literal_header(&mut v, 65);
        push_literal_header(&mut v, 70_000);
        assert_eq!(v, [0x40, 0x41, 65, 0x43, 0, 1, 0x11, 0x70]);
        let mut v = Vec::new();
        push_copy(&mut v, 0x1234, 7);
        assert_eq!(v, [0x49, 0x12, 0x34, 7]);
        assert_eq!(be_uint(&[0x12, 0x34]), 0x1234);
    }

    #[test]
    fn header_validation() {
        let h = SignatureHeader {
            magic: SignatureMagic::Md4Rollsum,
            block_len: 2048,
            strong_len: 8,
        };
        assert_eq!(SignatureHeader::decode(&h.encode()).unwrap(), h);
        let bad = SignatureHeader {
            strong_len: 17,
            ..h
        };
        assert_eq!(
            SignatureHeader::decode(&bad.encode()).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        let bad = SignatureHeader { block_len: 0, ..h };
        assert_eq!(
            bad.validate(false).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            SignatureHeader::decode(&[0x72, 0x73]).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
    }
}
