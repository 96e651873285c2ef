//! Strong block sums: MD4 and BLAKE2b-256, one block at a time or many blocks at once.
//!
//! This file owns the strong hashes librsync puts in signatures. BLAKE2b comes from
//! `blake2b_simd` (whose `many` API hashes several equal-sized inputs in SIMD lanes); MD4 is
//! implemented here, with a lane-parallel variant that hashes eight blocks in lock step so the
//! compiler can keep one block per SIMD lane. On x86-64, blocks at a fixed stride go to the
//! 8-lane AVX-512 BLAKE2b kernel or the 16-lane AVX-512 and 8-lane AVX2 MD4 kernels when the
//! CPU has them. It never truncates (callers keep the first `strong_len` bytes) and never
//! decides which blocks to hash.

use super::format::StrongKind;

/// A strong sum buffer large enough for either hash; MD4 uses the first 16 bytes.
pub(crate) type StrongSum = [u8; 32];

fn blake2_params() -> blake2b_simd::Params {
    let mut p = blake2b_simd::Params::new();
    p.hash_length(32);
    p
}

/// The full strong sum of one block.
pub(crate) fn strong_sum(kind: StrongKind, data: &[u8]) -> StrongSum {
    let mut out = [0u8; 32];
    match kind {
        StrongKind::Blake2 => out.copy_from_slice(blake2_params().hash(data).as_bytes()),
        StrongKind::Md4 => out[..16].copy_from_slice(&md4(data)),
    }
    out
}

/// Strong sums of many blocks, written to `out[i]` for `blocks[i]`. Blocks of equal length
/// are hashed in SIMD lanes.
pub(crate) fn strong_sums(kind: StrongKind, blocks: &[&[u8]], out: &mut [StrongSum]) {
    debug_assert_eq!(blocks.len(), out.len());
    match kind {
        StrongKind::Blake2 => {
            let params = blake2_params();
            let mut jobs: Vec<_> = blocks
                .iter()
                .map(|b| blake2b_simd::many::HashManyJob::new(&params, b))
                .collect();
            blake2b_simd::many::hash_many(jobs.iter_mut());
            for (o, j) in out.iter_mut().zip(&jobs) {
                o.copy_from_slice(j.to_hash().as_bytes());
            }
        }
        StrongKind::Md4 => {
            let mut i = 0;
            while i < blocks.len() {
                let group = &blocks[i..];
                let same = |n: usize| {
                    group.len() >= n && group[..n].iter().all(|b| b.len() == group[0].len())
                };
                if same(MD4_LANES) {
                    let mut lanes = [&[][..]; MD4_LANES];
                    lanes.copy_from_slice(&group[..MD4_LANES]);
                    let sums = md4_many(&lanes);
                    for (o, s) in out[i..i + MD4_LANES].iter_mut().zip(sums) {
                        o[..16].copy_from_slice(&s);
                        o[16..].fill(0);
                    }
                    i += MD4_LANES;
                } else {
                    out[i] = strong_sum(kind, blocks[i]);
                    i += 1;
                }
            }
        }
    }
}

/// Strong sums of the `out.len()` blocks of `len` bytes at `data[i * stride..]`, in SIMD
/// lanes where the CPU allows.
pub(crate) fn strong_sums_strided(
    kind: StrongKind,
    data: &[u8],
    stride: usize,
    len: usize,
    out: &mut [StrongSum],
) {
    let count = out.len();
    debug_assert!(count == 0 || data.len() >= (count - 1) * stride + len);
    #[cfg(target_arch = "x86_64")]
    let done = x86_strided(kind, data, stride, len, out);
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    if done < count {
        let blocks: Vec<&[u8]> = (done..count)
            .map(|i| &data[i * stride..i * stride + len])
            .collect();
        strong_sums(kind, &blocks, &mut out[done..]);
    }
}

/// Strong sums of the first blocks of a [`strong_sums_strided`] call with the x86-64 kernels
/// the CPU supports, in groups of their lane counts; returns how many blocks it hashed.
#[cfg(target_arch = "x86_64")]
fn x86_strided(
    kind: StrongKind,
    data: &[u8],
    stride: usize,
    len: usize,
    out: &mut [StrongSum],
) -> usize {
    use super::{blake2x86, md4x86};
    use std::arch::is_x86_feature_detected;
    let count = out.len();
    let mut done = 0;
    match kind {
        StrongKind::Blake2 => {
            if is_x86_feature_detected!("avx512f") {
                while count - done >= blake2x86::LANES {
                    // SAFETY: the CPU has AVX-512F; the kernel checks that the blocks lie
                    // inside `data`.
                    let sums =
                        unsafe { blake2x86::blake2b_x8(&data[done * stride..], stride, len) };
                    out[done..done + blake2x86::LANES].copy_from_slice(&sums);
                    done += blake2x86::LANES;
                }
            }
        }
        StrongKind::Md4 if stride <= (i32::MAX as usize) / 8 => {
            let put = |out: &mut [StrongSum], sums: &[[u8; 16]]| {
                for (o, s) in out.iter_mut().zip(sums) {
                    o[..16].copy_from_slice(s);
                    o[16..].fill(0);
                }
            };
            if is_x86_feature_detected!("avx512f") {
                while count - done >= 16 {
                    // SAFETY: the CPU has AVX-512F and the 16 blocks lie inside `data`.
                    let sums = unsafe { md4x86::md4_x16(&data[done * stride..], stride, len) };
                    put(&mut out[done..done + 16], &sums);
                    done += 16;
                }
            }
            if is_x86_feature_detected!("avx2") {
                while count - done >= 8 {
                    // SAFETY: as above, with AVX2 and 8 blocks.
                    let sums = unsafe { md4x86::md4_x8(&data[done * stride..], stride, len) };
                    put(&mut out[done..done + 8], &sums);
                    done += 8;
                }
            }
        }
        StrongKind::Md4 => {}
    }
    done
}

/// Number of blocks [`md4_many`] hashes at once.
pub(crate) const MD4_LANES: usize = 8;

const MD4_INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

type Lanes<const N: usize> = [u32; N];

/// Lane-wise helpers: each is a loop over fixed-size arrays that the compiler turns into
/// SIMD instructions.
#[inline(always)]
fn lanes<const N: usize>(f: impl Fn(usize) -> u32) -> Lanes<N> {
    let mut r = [0u32; N];
    for (l, v) in r.iter_mut().enumerate() {
        *v = f(l);
    }
    r
}

/// One MD4 step: `a = (a + f(b, c, d) + x + k) <<< s`, in every lane.
#[inline(always)]
fn md4_step<const N: usize>(a: Lanes<N>, fbcd: Lanes<N>, x: &Lanes<N>, k: u32, s: u32) -> Lanes<N> {
    lanes(|l| {
        a[l].wrapping_add(fbcd[l])
            .wrapping_add(x[l])
            .wrapping_add(k)
            .rotate_left(s)
    })
}

/// One MD4 compression over N independent states and N 64-byte chunks (as 16 LE words each).
#[inline(always)]
fn md4_compress<const N: usize>(state: &mut [Lanes<N>; 4], x: &[Lanes<N>; 16]) {
    let [mut a, mut b, mut c, mut d] = *state;
    let f1 = |x: Lanes<N>, y: Lanes<N>, z: Lanes<N>| lanes(|l| z[l] ^ (x[l] & (y[l] ^ z[l])));
    let f2 =
        |x: Lanes<N>, y: Lanes<N>, z: Lanes<N>| lanes(|l| (x[l] & y[l]) | (z[l] & (x[l] | y[l])));
    let f3 = |x: Lanes<N>, y: Lanes<N>, z: Lanes<N>| lanes(|l| x[l] ^ y[l] ^ z[l]);
    for i in 0..4 {
        let k = 4 * i;
        a = md4_step(a, f1(b, c, d), &x[k], 0, 3);
        d = md4_step(d, f1(a, b, c), &x[k + 1], 0, 7);
        c = md4_step(c, f1(d, a, b), &x[k + 2], 0, 11);
        b = md4_step(b, f1(c, d, a), &x[k + 3], 0, 19);
    }
    const K2: u32 = 0x5a82_7999;
    for i in 0..4 {
        a = md4_step(a, f2(b, c, d), &x[i], K2, 3);
        d = md4_step(d, f2(a, b, c), &x[i + 4], K2, 5);
        c = md4_step(c, f2(d, a, b), &x[i + 8], K2, 9);
        b = md4_step(b, f2(c, d, a), &x[i + 12], K2, 13);
    }
    const K3: u32 = 0x6ed9_eba1;
    for i in [0, 2, 1, 3] {
        a = md4_step(a, f3(b, c, d), &x[i], K3, 3);
        d = md4_step(d, f3(a, b, c), &x[i + 8], K3, 9);
        c = md4_step(c, f3(d, a, b), &x[i + 4], K3, 11);
        b = md4_step(b, f3(c, d, a), &x[i + 12], K3, 15);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = lanes(|l| s[l].wrapping_add(v[l]));
    }
}

/// MD4 of N inputs of the same length, in lock step.
#[inline(always)]
fn md4_lanes<const N: usize>(inputs: &[&[u8]; N]) -> [[u8; 16]; N] {
    let len = inputs[0].len();
    debug_assert!(inputs.iter().all(|i| i.len() == len));
    let mut state = [[0u32; N]; 4];
    for (s, init) in state.iter_mut().zip(MD4_INIT) {
        *s = [init; N];
    }
    let mut x = [[0u32; N]; 16];
    let full = len / 64 * 64;
    let mut off = 0;
    while off < full {
        for (l, input) in inputs.iter().enumerate() {
            let chunk = &input[off..off + 64];
            for (k, w) in chunk.chunks_exact(4).enumerate() {
                x[k][l] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            }
        }
        md4_compress(&mut state, &x);
        off += 64;
    }
    // Padding: 0x80, zeros, then the bit length (LE) in the last 8 bytes of a chunk.
    let rest = len - full;
    let tail_len = if rest < 56 { 64 } else { 128 };
    let mut tails = [[0u8; 128]; N];
    for (t, input) in tails.iter_mut().zip(inputs) {
        t[..rest].copy_from_slice(&input[full..]);
        t[rest] = 0x80;
        t[tail_len - 8..tail_len].copy_from_slice(&((len as u64).wrapping_mul(8)).to_le_bytes());
    }
    for chunk_off in (0..tail_len).step_by(64) {
        for (l, t) in tails.iter().enumerate() {
            for (k, w) in t[chunk_off..chunk_off + 64].chunks_exact(4).enumerate() {
                x[k][l] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            }
        }
        md4_compress(&mut state, &x);
    }
    let mut out = [[0u8; 16]; N];
    for (l, o) in out.iter_mut().enumerate() {
        for (i, s) in state.iter().enumerate() {
            o[4 * i..4 * i + 4].copy_from_slice(&s[l].to_le_bytes());
        }
    }
    out
}

/// MD4 of one input.
pub(crate) fn md4(data: &[u8]) -> [u8; 16] {
    let [out] = md4_lanes::<1>(&[data]);
    out
}

/// MD4 of [`MD4_LANES`] inputs of equal length, using AVX2 when the CPU has it.
pub(crate) fn md4_many(inputs: &[&[u8]; MD4_LANES]) -> [[u8; 16]; MD4_LANES] {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { md4_many_avx2(inputs) };
        }
    }
    md4_lanes::<MD4_LANES>(inputs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn md4_many_avx2(inputs: &[&[u8]; MD4_LANES]) -> [[u8; 16]; MD4_LANES] {
    md4_lanes::<MD4_LANES>(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn strided_equals_one_at_a_time() {
        let data: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for kind in [StrongKind::Md4, StrongKind::Blake2] {
            for (stride, len, count) in
                [(64, 64, 40), (100, 55, 33), (1000, 1000, 17), (300, 130, 9)]
            {
                let mut out = vec![[0u8; 32]; count];
                strong_sums_strided(kind, &data, stride, len, &mut out);
                for (i, o) in out.iter().enumerate() {
                    assert_eq!(*o, strong_sum(kind, &data[i * stride..i * stride + len]));
                }
            }
        }
    }

    #[test]
    fn simd_md4_equals_scalar_for_every_length() {
        // 16-, 8- and 1-lane paths for every tail length (0..64 bytes after whole chunks).
        let data = noise(60_000);
        for len in (0..=260).chain([1000, 2048, 4095, 4096, 4097]) {
            let stride = len + len % 3;
            let count = 25.min((data.len() - len) / stride.max(1) + 1);
            let mut out = vec![[0u8; 32]; count];
            strong_sums_strided(StrongKind::Md4, &data, stride, len, &mut out);
            for (i, o) in out.iter().enumerate() {
                let block = &data[i * stride..i * stride + len];
                assert_eq!(o[..16], md4(block), "len {len} block {i}");
                assert!(o[16..].iter().all(|&b| b == 0));
            }
        }
    }

    /// Pseudo-random bytes, so that every lane of a group hashes different contents.
    fn noise(len: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn simd_blake2_equals_one_shot_for_every_length() {
        // Groups of 8 (AVX-512) and the rest (blake2b_simd), for every length of the last
        // 128-byte chunk, at strides below, at and above the block length.
        let data = noise(9 * 65_537 + 64);
        for len in (0..=300).chain([1000, 2048, 4095, 4096, 4097, 65_537]) {
            for stride in [len.max(1), len + 1 + len % 7, len / 2 + 1] {
                let count = 19.min((data.len() - len) / stride + 1);
                let mut out = vec![[0u8; 32]; count];
                strong_sums_strided(StrongKind::Blake2, &data, stride, len, &mut out);
                for (i, o) in out.iter().enumerate() {
                    let block = &data[i * stride..i * stride + len];
                    let want = blake2b_simd::Params::new().hash_length(32).hash(block);
                    assert_eq!(
                        o[..],
                        *want.as_bytes(),
                        "len {len} stride {stride} block {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn md4_known_answers() {
        // RFC 1320, appendix A.5.
        let cases: [(&[u8], &str); 4] = [
            (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
            (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
            (b"message digest", "d9130a8164549fe818874806e1c7014b"),
            (
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "e33b4ddc9c38f2199c3e7b164fcc0536",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(hex(&md4(input)), want);
        }
    }

    #[test]
    fn many_equals_one_at_a_time() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 253) as u8).collect();
        for kind in [StrongKind::Md4, StrongKind::Blake2] {
            for len in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 300] {
                let blocks: Vec<&[u8]> = (0..11).map(|i| &data[i * 7..i * 7 + len]).collect();
                let mut out = vec![[0u8; 32]; blocks.len()];
                strong_sums(kind, &blocks, &mut out);
                for (b, o) in blocks.iter().zip(&out) {
                    assert_eq!(*o, strong_sum(kind, b), "{kind:?} {len}");
                }
            }
        }
        assert_eq!(
            hex(&strong_sum(StrongKind::Blake2, b"abc")),
            // BLAKE2b-256("abc")
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
        );
    }
}
