//! Finding chunk boundaries.
//!
//! A [`Cutter`] answers one question: given the bytes starting at a chunk boundary, how long
//! is that chunk? For FastCDC it calls the `fastcdc` crate's v2020 cut routine with masks
//! chosen exactly as the crate chooses them, so boundaries are identical to the crate's. The
//! answer depends only on the first `lookahead()` bytes, which is what makes streaming and
//! parallel chunking give the same cuts as one pass over the whole input. Nothing here hashes
//! or allocates per chunk.

use fastcdc::v2020::{self as cdc, Normalization};

use super::config::ChunkerConfig;

/// A validated, ready-to-run boundary finder.
#[derive(Debug, Clone)]
pub(crate) enum Cutter {
    FastCdc {
        min: usize,
        avg: usize,
        max: usize,
        mask_s: u64,
        mask_l: u64,
    },
    Fixed {
        size: usize,
    },
}

impl Cutter {
    /// Builds a cutter from a configuration that has already been validated.
    pub(crate) fn new(config: &ChunkerConfig) -> Self {
        match *config {
            ChunkerConfig::FastCdc {
                min_size,
                avg_size,
                max_size,
                level,
            } => {
                let level = match level {
                    0 => Normalization::Level0,
                    1 => Normalization::Level1,
                    2 => Normalization::Level2,
                    _ => Normalization::Level3,
                };
                let (mask_s, mask_l) = cdc::select_masks(avg_size as usize, level);
                Cutter::FastCdc {
                    min: min_size as usize,
                    avg: avg_size as usize,
                    max: max_size as usize,
                    mask_s,
                    mask_l,
                }
            }
            ChunkerConfig::Fixed { size } => Cutter::Fixed {
                size: size as usize,
            },
        }
    }

    /// How many bytes past a boundary decide where the next boundary is.
    ///
    /// A cut computed on a window at least this long is final; a shorter window is final only
    /// at the end of the input.
    pub(crate) fn lookahead(&self) -> usize {
        match *self {
            Cutter::FastCdc { max, .. } => max,
            Cutter::Fixed { size } => size,
        }
    }

    /// The length of the chunk that starts at `window[0]`; `window` must not be empty.
    #[inline]
    pub(crate) fn next_len(&self, window: &[u8]) -> usize {
        match *self {
            Cutter::FastCdc {
                min,
                avg,
                max,
                mask_s,
                mask_l,
            } => {
                let (_, len) = cdc::cut(
                    window,
                    min,
                    avg,
                    max,
                    mask_s,
                    mask_l,
                    mask_s << 1,
                    mask_l << 1,
                );
                len
            }
            Cutter::Fixed { size } => size.min(window.len()),
        }
    }
}
