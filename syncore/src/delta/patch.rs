//! Patch application: rebuilding a new file from a basis and a librsync delta.
//!
//! This file owns [`apply_patch`]: it decodes delta commands one at a time, copies LITERAL
//! bytes from the delta and COPY ranges from the seekable basis into the output through a
//! fixed-size buffer, and enforces the optional output limit before writing anything a
//! command would produce. It never allocates from a length read out of the delta, never reads
//! the basis outside its bounds and never writes past the limit.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};

use super::format::{be_uint, Op, DELTA_MAGIC};
use crate::error::{Error, Result};

/// Size of the copy buffer and of the delta read buffer.
const BUF_LEN: usize = 256 << 10;

/// Applies `delta` to `basis`, writing the new file to `out`; returns its length.
///
/// `limit` caps the output size: a delta that would write more fails with `InvalidInput`
/// before the excess is written. Errors: `Corrupt` for a bad magic, a reserved command, a
/// truncated delta, a COPY outside the basis or a length that overflows; `Io` for failures of
/// the streams. On error, `out` may hold a prefix of the output.
pub fn apply_patch(
    mut basis: impl Read + Seek,
    delta: impl Read,
    mut out: impl Write,
    limit: Option<u64>,
) -> Result<u64> {
    let mut delta = BufReader::with_capacity(BUF_LEN, delta);
    let mut magic = [0u8; 4];
    read_exact(&mut delta, &mut magic, "the delta magic")?;
    let magic = u32::from_be_bytes(magic);
    if magic != DELTA_MAGIC {
        return Err(Error::corrupt(format!(
            "not an rsync delta: magic {magic:#010x}, expected {DELTA_MAGIC:#010x}"
        )));
    }
    let basis_len = basis.seek(SeekFrom::End(0)).map_err(Error::io_stream)?;
    // Where the basis reader is; `None` until the first COPY seeks it.
    let mut basis_at: Option<u64> = None;
    let mut written = 0u64;
    let mut buf = vec![0u8; BUF_LEN];
    let limit = limit.unwrap_or(u64::MAX);
    let check_limit = |written: u64, len: u64| -> Result<()> {
        match written.checked_add(len) {
            Some(end) if end <= limit => Ok(()),
            _ => Err(Error::invalid(format!(
                "patch output would exceed the limit of {limit} bytes (at {written}, a command \
                 adds {len})"
            ))),
        }
    };
    loop {
        let mut op = [0u8; 1];
        read_exact(&mut delta, &mut op, "a command (no END)")?;
        match Op::decode(op[0])? {
            Op::End => {
                out.flush().map_err(Error::io_stream)?;
                return Ok(written);
            }
            Op::LiteralImmediate(len) => {
                check_limit(written, len)?;
                copy_literal(&mut delta, &mut out, len)?;
                written += len;
            }
            Op::Literal { width } => {
                let len = read_uint(&mut delta, width, "a LITERAL length")?;
                check_limit(written, len)?;
                copy_literal(&mut delta, &mut out, len)?;
                written += len;
            }
            Op::Copy {
                pos_width,
                len_width,
            } => {
                let pos = read_uint(&mut delta, pos_width, "a COPY position")?;
                let len = read_uint(&mut delta, len_width, "a COPY length")?;
                match pos.checked_add(len) {
                    Some(end) if end <= basis_len => {}
                    _ => {
                        return Err(Error::corrupt(format!(
                            "COPY of {len} bytes at {pos} reaches beyond the end of the \
                             {basis_len}-byte basis"
                        )))
                    }
                }
                check_limit(written, len)?;
                if basis_at != Some(pos) {
                    basis.seek(SeekFrom::Start(pos)).map_err(Error::io_stream)?;
                }
                let mut left = len;
                while left > 0 {
                    let n = left.min(buf.len() as u64) as usize;
                    basis.read_exact(&mut buf[..n]).map_err(|e| {
                        if e.kind() == io::ErrorKind::UnexpectedEof {
                            Error::corrupt(format!("basis ended inside a COPY at {pos}"))
                        } else {
                            Error::io_stream(e)
                        }
                    })?;
                    out.write_all(&buf[..n]).map_err(Error::io_stream)?;
                    left -= n as u64;
                }
                basis_at = Some(pos + len);
                written += len;
            }
        }
    }
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::corrupt(format!("truncated delta: it ends before {what}"))
        } else {
            Error::io_stream(e)
        }
    })
}

fn read_uint(r: &mut impl Read, width: usize, what: &str) -> Result<u64> {
    let mut b = [0u8; 8];
    read_exact(r, &mut b[..width], what)?;
    Ok(be_uint(&b[..width]))
}

/// Copies `len` literal bytes from the delta to the output, straight from the read buffer.
fn copy_literal<R: Read>(delta: &mut BufReader<R>, out: &mut impl Write, len: u64) -> Result<()> {
    let mut left = len;
    while left > 0 {
        let avail = delta.fill_buf().map_err(Error::io_stream)?;
        if avail.is_empty() {
            return Err(Error::corrupt(format!(
                "truncated delta: a LITERAL of {len} bytes is missing {left}"
            )));
        }
        let n = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        out.write_all(&avail[..n]).map_err(Error::io_stream)?;
        delta.consume(n);
        left -= n as u64;
    }
    Ok(())
}
