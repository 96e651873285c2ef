//! Chunking parameters and their validation.
//!
//! A [`ChunkerConfig`] says how bytes are cut: content-defined with FastCDC (v2020, the
//! `fastcdc` crate's algorithm and limits) or in fixed-size blocks. Validation happens once,
//! when a [`Chunker`](super::Chunker) is built, and names the offending parameter; nothing in
//! this module cuts or hashes bytes.

use crate::error::{Error, Result};

/// The largest chunk syncore will ever produce or accept, in bytes (16 MiB).
///
/// This is FastCDC's maximum `max_size`, and also bounds fixed-size blocks, so every chunk
/// length fits in a `u32` and every buffer syncore allocates for one chunk is bounded.
pub const MAX_CHUNK_LEN: u32 = fastcdc::v2020::MAXIMUM_MAX as u32;

/// How to split bytes into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChunkerConfig {
    /// Content-defined chunking with FastCDC (2020 variant).
    ///
    /// Boundaries are identical to the `fastcdc` crate's `v2020` chunker for the same
    /// parameters. Sizes must be even (the crate tests cut points in pairs) and within the
    /// crate's ranges: `min_size` 64..=1 MiB, `avg_size` 256..=4 MiB, `max_size`
    /// 1 KiB..=16 MiB, with `min_size <= avg_size <= max_size`.
    FastCdc {
        /// Smallest chunk, except for the last one of an input.
        min_size: u32,
        /// Target average chunk size.
        avg_size: u32,
        /// Largest chunk.
        max_size: u32,
        /// Normalization level 0..=3; higher keeps sizes closer to `avg_size`.
        level: u8,
    },
    /// Fixed-size blocks of `size` bytes (the last one may be shorter), 1..=16 MiB.
    Fixed {
        /// Block size in bytes.
        size: u32,
    },
}

impl Default for ChunkerConfig {
    /// FastCDC with 16 KiB / 64 KiB / 256 KiB and normalization level 1.
    fn default() -> Self {
        ChunkerConfig::FastCdc {
            min_size: 16 * 1024,
            avg_size: 64 * 1024,
            max_size: 256 * 1024,
            level: 1,
        }
    }
}

impl ChunkerConfig {
    /// FastCDC with the given sizes and normalization level 1.
    pub const fn fastcdc(min_size: u32, avg_size: u32, max_size: u32) -> Self {
        ChunkerConfig::FastCdc {
            min_size,
            avg_size,
            max_size,
            level: 1,
        }
    }

    /// Fixed-size blocks of `size` bytes.
    pub const fn fixed(size: u32) -> Self {
        ChunkerConfig::Fixed { size }
    }

    /// The longest chunk this configuration can produce.
    pub const fn max_chunk_len(&self) -> u32 {
        match *self {
            ChunkerConfig::FastCdc { max_size, .. } => max_size,
            ChunkerConfig::Fixed { size } => size,
        }
    }

    /// Checks every parameter, naming the first one that is out of range.
    pub fn validate(&self) -> Result<()> {
        use fastcdc::v2020 as cdc;
        match *self {
            ChunkerConfig::FastCdc {
                min_size,
                avg_size,
                max_size,
                level,
            } => {
                check_range("min_size", min_size, cdc::MINIMUM_MIN, cdc::MINIMUM_MAX)?;
                check_range("avg_size", avg_size, cdc::AVERAGE_MIN, cdc::AVERAGE_MAX)?;
                check_range("max_size", max_size, cdc::MAXIMUM_MIN, cdc::MAXIMUM_MAX)?;
                for (name, value) in [
                    ("min_size", min_size),
                    ("avg_size", avg_size),
                    ("max_size", max_size),
                ] {
                    if value % 2 != 0 {
                        return Err(Error::invalid(format!("{name} must be even, got {value}")));
                    }
                }
                if min_size > avg_size {
                    return Err(Error::invalid(format!(
                        "min_size ({min_size}) must not exceed avg_size ({avg_size})"
                    )));
                }
                if avg_size > max_size {
                    return Err(Error::invalid(format!(
                        "avg_size ({avg_size}) must not exceed max_size ({max_size})"
                    )));
                }
                if level > 3 {
                    return Err(Error::invalid(format!(
                        "level must be a normalization level 0..=3, got {level}"
                    )));
                }
                Ok(())
            }
            ChunkerConfig::Fixed { size } => check_range("size", size, 1, MAX_CHUNK_LEN as usize),
        }
    }
}

fn check_range(name: &str, value: u32, min: usize, max: usize) -> Result<()> {
    let v = value as usize;
    if v < min || v > max {
        return Err(Error::invalid(format!(
            "{name} must be in {min}..={max}, got {value}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn message(config: ChunkerConfig) -> String {
        let err = config.validate().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        err.to_string()
    }

    #[test]
    fn defaults_are_valid() {
        ChunkerConfig::default().validate().unwrap();
        ChunkerConfig::fixed(64 * 1024).validate().unwrap();
        assert_eq!(ChunkerConfig::default().max_chunk_len(), 256 * 1024);
    }

    #[test]
    fn bad_parameters_are_named() {
        assert!(message(ChunkerConfig::fastcdc(8192, 4096, 65536)).contains("min_size"));
        assert!(message(ChunkerConfig::fastcdc(4096, 65536, 16384)).contains("avg_size"));
        assert!(message(ChunkerConfig::fastcdc(32, 4096, 65536)).contains("min_size"));
        assert!(message(ChunkerConfig::fastcdc(4096, 8192, 32 << 20)).contains("max_size"));
        assert!(message(ChunkerConfig::fastcdc(4097, 8192, 65536)).contains("even"));
        let level = ChunkerConfig::FastCdc {
            min_size: 4096,
            avg_size: 8192,
            max_size: 65536,
            level: 4,
        };
        assert!(message(level).contains("level"));
        assert!(message(ChunkerConfig::fixed(0)).contains("size"));
        assert!(message(ChunkerConfig::fixed(MAX_CHUNK_LEN + 1)).contains("size"));
    }
}
