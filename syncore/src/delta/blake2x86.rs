//! BLAKE2b-256 of eight equal-length blocks at a fixed stride with AVX-512: one block per
//! 64-bit lane, message words loaded by an in-register transpose.
//!
//! This file owns only the x86-64 SIMD kernel behind [`super::strong`]. The hash is plain
//! BLAKE2b (RFC 7693) with a 32-byte digest and no key, the strong sum of librsync's BLAKE2
//! signatures. It never decides which blocks to hash and never reads outside the byte slice it
//! is given: every 128-byte chunk it loads from that slice lies inside one lane's block, and
//! each lane's short last chunk is copied into a zero-padded buffer first.

use std::arch::x86_64::*;
use std::array::from_fn;

/// Blocks hashed at once, one per 64-bit lane of a 512-bit register.
pub(crate) const LANES: usize = 8;
/// BLAKE2b's chunk (RFC 7693's "block") length in bytes.
const CHUNK: usize = 128;

/// BLAKE2b's initialisation vector (the SHA-512 one).
const IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// Parameter block word 0 for a 32-byte digest, no key, fanout 1 and depth 1; it is XORed
/// into the first state word.
const PARAM0: u64 = 0x0101_0000 | 32;

/// The message word schedule: round `r` uses row `r % 10`.
const SIGMA: [[u8; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// The state words each mixing step works on: four columns, then four diagonals.
const MIXES: [[usize; 4]; 8] = [
    [0, 4, 8, 12],
    [1, 5, 9, 13],
    [2, 6, 10, 14],
    [3, 7, 11, 15],
    [0, 5, 10, 15],
    [1, 6, 11, 12],
    [2, 7, 8, 13],
    [3, 4, 9, 14],
];

/// BLAKE2b-256 of the 8 blocks `data[l * stride..l * stride + len]`, l in 0..8.
///
/// # Safety
/// The CPU must support AVX-512F. Panics unless `data.len() >= 7 * stride + len` (without
/// overflow), before reading anything.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn blake2b_x8(data: &[u8], stride: usize, len: usize) -> [[u8; 32]; LANES] {
    let end = (LANES - 1)
        .checked_mul(stride)
        .and_then(|s| s.checked_add(len));
    assert!(
        end.is_some_and(|end| end <= data.len()),
        "blocks past the slice"
    );
    let mut h: [__m512i; 8] = from_fn(|i| _mm512_set1_epi64(IV[i] as i64));
    h[0] = _mm512_set1_epi64((IV[0] ^ PARAM0) as i64);
    // The empty message is one chunk of zeros; otherwise the last chunk holds 1..=128 bytes.
    let last = len.saturating_sub(1) / CHUNK * CHUNK;
    for off in (0..last).step_by(CHUNK) {
        // SAFETY: lane l's chunk is `data[l * stride + off..][..128]` with `off + 128 <= last
        // <= len`, inside lane l's block, which the assertion puts inside `data`.
        let m = unsafe { load_transposed(data.as_ptr().add(off), stride) };
        compress(&mut h, &m, (off + CHUNK) as u64, false);
    }
    let m = if len - last == CHUNK {
        // SAFETY: as above, with `last + 128 == len`.
        unsafe { load_transposed(data.as_ptr().add(last), stride) }
    } else {
        let mut tails = [[0u8; CHUNK]; LANES];
        for (l, tail) in tails.iter_mut().enumerate() {
            tail[..len - last].copy_from_slice(&data[l * stride + last..l * stride + len]);
        }
        // SAFETY: lane l's chunk is `tails[l]`, 128 bytes at `l * 128` inside `tails`.
        unsafe { load_transposed(tails.as_ptr().cast(), CHUNK) }
    };
    compress(&mut h, &m, len as u64, true);
    let mut words = [[0u64; LANES]; 4];
    for (w, v) in words.iter_mut().zip(h) {
        // SAFETY: `w` is 64 writable bytes.
        unsafe { _mm512_storeu_si512(w.as_mut_ptr().cast(), v) };
    }
    from_fn(|l| {
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(8).zip(&words) {
            o.copy_from_slice(&w[l].to_le_bytes());
        }
        out
    })
}

/// One compression of every lane's state `h` with its message chunk `m` (word `k` of every
/// lane in `m[k]`); `t` is the bytes hashed so far, including this chunk.
#[target_feature(enable = "avx512f")]
#[inline]
fn compress(h: &mut [__m512i; 8], m: &[__m512i; 16], t: u64, last: bool) {
    let mut v: [__m512i; 16] = from_fn(|i| {
        if i < 8 {
            h[i]
        } else {
            _mm512_set1_epi64(IV[i - 8] as i64)
        }
    });
    // The high half of the 128-bit counter is zero: blocks are shorter than 2^64 bytes.
    v[12] = _mm512_xor_si512(v[12], _mm512_set1_epi64(t as i64));
    if last {
        v[14] = _mm512_xor_si512(v[14], _mm512_set1_epi64(-1));
    }
    for r in 0..12 {
        let s = &SIGMA[r % 10];
        for (j, &abcd) in MIXES.iter().enumerate() {
            mix(&mut v, abcd, m[s[2 * j] as usize], m[s[2 * j + 1] as usize]);
        }
    }
    for (i, hi) in h.iter_mut().enumerate() {
        // 0x96: the three-way XOR `hi ^ v[i] ^ v[i + 8]`.
        *hi = _mm512_ternarylogic_epi64::<0x96>(*hi, v[i], v[i + 8]);
    }
}

/// BLAKE2b's mixing function G on state words `a, b, c, d` with message words `x`, `y`.
#[target_feature(enable = "avx512f")]
#[inline]
fn mix(v: &mut [__m512i; 16], [a, b, c, d]: [usize; 4], x: __m512i, y: __m512i) {
    v[a] = _mm512_add_epi64(_mm512_add_epi64(v[a], v[b]), x);
    v[d] = _mm512_ror_epi64::<32>(_mm512_xor_si512(v[d], v[a]));
    v[c] = _mm512_add_epi64(v[c], v[d]);
    v[b] = _mm512_ror_epi64::<24>(_mm512_xor_si512(v[b], v[c]));
    v[a] = _mm512_add_epi64(_mm512_add_epi64(v[a], v[b]), y);
    v[d] = _mm512_ror_epi64::<16>(_mm512_xor_si512(v[d], v[a]));
    v[c] = _mm512_add_epi64(v[c], v[d]);
    v[b] = _mm512_ror_epi64::<63>(_mm512_xor_si512(v[b], v[c]));
}

/// Loads the 128-byte chunks of eight lanes (`base + l * stride`) and transposes them so that
/// vector `k` holds message word `k` of every lane.
///
/// # Safety
/// AVX-512F must be available and all eight 128-byte chunks readable.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load_transposed(base: *const u8, stride: usize) -> [__m512i; 16] {
    let mut m = [_mm512_setzero_si512(); 16];
    for half in 0..2 {
        // SAFETY: each load reads 64 bytes inside lane l's chunk (the caller's contract).
        let rows: [__m512i; LANES] =
            from_fn(|l| unsafe { _mm512_loadu_si512(base.add(l * stride + 64 * half).cast()) });
        m[8 * half..8 * half + 8].copy_from_slice(&transpose(rows));
    }
    m
}

/// Transposes an 8x8 matrix of 64-bit words: word `k` of row `l` becomes word `l` of row `k`.
#[target_feature(enable = "avx512f")]
#[inline]
fn transpose(r: [__m512i; 8]) -> [__m512i; 8] {
    // t[2p] holds rows 2p and 2p+1 interleaved at even words, t[2p + 1] at odd words: its
    // 128-bit part j is (row 2p, row 2p+1) at word 2j (+1).
    let t: [__m512i; 8] = from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_epi64(a, b)
        } else {
            _mm512_unpackhi_epi64(a, b)
        }
    });
    let mut out = [_mm512_setzero_si512(); 8];
    for q in 0..2 {
        // Parts 0 and 1 (lo) or 2 and 3 (hi) of rows 0-3, then of rows 4-7.
        let lo03 = _mm512_shuffle_i64x2::<0x44>(t[q], t[2 + q]);
        let hi03 = _mm512_shuffle_i64x2::<0xee>(t[q], t[2 + q]);
        let lo47 = _mm512_shuffle_i64x2::<0x44>(t[4 + q], t[6 + q]);
        let hi47 = _mm512_shuffle_i64x2::<0xee>(t[4 + q], t[6 + q]);
        // Even parts, then odd parts, of both: word 2j + q of all eight rows.
        out[q] = _mm512_shuffle_i64x2::<0x88>(lo03, lo47);
        out[2 + q] = _mm512_shuffle_i64x2::<0xdd>(lo03, lo47);
        out[4 + q] = _mm512_shuffle_i64x2::<0x88>(hi03, hi47);
        out[6 + q] = _mm512_shuffle_i64x2::<0xdd>(hi03, hi47);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_hash_their_own_blocks() {
        if !is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        // Every lane's bytes depend on its lane number, so a lane mix-up shows.
        for len in [0, 1, 127, 128, 129, 255, 256, 1000, 4096] {
            let stride = len + 3;
            let data: Vec<u8> = (0..8 * stride)
                .map(|i| ((i / stride) as u8).wrapping_mul(37) ^ (i % 251) as u8)
                .collect();
            // SAFETY: AVX-512F is present (checked above).
            let sums = unsafe { blake2b_x8(&data, stride, len) };
            for (l, sum) in sums.iter().enumerate() {
                let block = &data[l * stride..l * stride + len];
                let want = blake2b_simd::Params::new().hash_length(32).hash(block);
                assert_eq!(sum[..], *want.as_bytes(), "len {len} lane {l}");
            }
        }
    }

    #[test]
    fn refuses_blocks_past_the_slice() {
        if !is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        let data = [0u8; 7 * 100 + 99];
        for (stride, len) in [(100, 100), (usize::MAX / 4, 1), (1, usize::MAX)] {
            // SAFETY: AVX-512F is present (checked above); the kernel panics before reading.
            let r = std::panic::catch_unwind(|| unsafe { blake2b_x8(&data, stride, len) });
            assert!(r.is_err(), "stride {stride} len {len}");
        }
        // SAFETY: as above; these blocks fit exactly.
        let _ = unsafe { blake2b_x8(&data, 100, 99) };
    }
}
