//! MD4 of many equal-length blocks at a fixed stride, with AVX2 (8 lanes) or AVX-512 (16
//! lanes) intrinsics and message words loaded by an in-register transpose.
//!
//! This file owns only the x86-64 SIMD kernels behind [`super::strong`]; it never decides which
//! blocks to hash and never reads outside the byte slice it is given: every loaded chunk lies
//! inside one lane's block, and the caller's slice holds every lane's block.

use std::arch::x86_64::*;

const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
const K2: i32 = 0x5a82_7999;
const K3: i32 = 0x6ed9_eba1;

/// Pads every lane's tail (the last `len % 64` bytes) into one or two 64-byte chunks, laid
/// out at a stride of 128 bytes per lane; returns the buffer and the number of chunks.
fn tails<const N: usize>(data: &[u8], stride: usize, len: usize) -> ([[u8; 128]; N], usize) {
    let full = len / 64 * 64;
    let rest = len - full;
    let chunks = if rest < 56 { 1 } else { 2 };
    let mut t = [[0u8; 128]; N];
    for (l, tail) in t.iter_mut().enumerate() {
        let start = l * stride + full;
        tail[..rest].copy_from_slice(&data[start..start + rest]);
        tail[rest] = 0x80;
        let bits = (len as u64).wrapping_mul(8).to_le_bytes();
        tail[chunks * 64 - 8..chunks * 64].copy_from_slice(&bits);
    }
    (t, chunks)
}

/// The 48 MD4 steps over the message words `$x`, with the vector operations given: `$f1`,
/// `$f2`, `$f3` are MD4's boolean functions (select, majority, parity) and `$rol` a rotation.
macro_rules! md4_rounds {
    ($x:ident, $a:ident, $b:ident, $c:ident, $d:ident,
     $add:ident, $set1:ident, $rol:ident, $f1:ident, $f2:ident, $f3:ident) => {{
        macro_rules! step {
            ($w:ident, $f:expr, $k:expr, $s:literal) => {
                $w = $rol!($add($add($w, $f), $add($x[$k], $set1(0))), $s)
            };
            ($w:ident, $f:expr, $k:expr, $kc:expr, $s:literal) => {
                $w = $rol!($add($add($w, $f), $add($x[$k], $set1($kc))), $s)
            };
        }
        for i in 0..4 {
            let k = 4 * i;
            step!($a, $f1!($b, $c, $d), k, 3);
            step!($d, $f1!($a, $b, $c), k + 1, 7);
            step!($c, $f1!($d, $a, $b), k + 2, 11);
            step!($b, $f1!($c, $d, $a), k + 3, 19);
        }
        for i in 0..4 {
            step!($a, $f2!($b, $c, $d), i, K2, 3);
            step!($d, $f2!($a, $b, $c), i + 4, K2, 5);
            step!($c, $f2!($d, $a, $b), i + 8, K2, 9);
            step!($b, $f2!($c, $d, $a), i + 12, K2, 13);
        }
        for i in [0, 2, 1, 3] {
            step!($a, $f3!($b, $c, $d), i, K3, 3);
            step!($d, $f3!($a, $b, $c), i + 8, K3, 9);
            step!($c, $f3!($d, $a, $b), i + 4, K3, 11);
            step!($b, $f3!($c, $d, $a), i + 12, K3, 15);
        }
    }};
}

/// The body of an MD4 kernel of `$n` lanes over the blocks `$data[l * $stride..][..$len]`:
/// every full 64-byte chunk, then the padded tails, through `md4_rounds!` with the vector
/// operations given, and the digests out. `$load` turns a chunk pointer `$base` and a lane
/// stride `$s` into the 16 message-word vectors; `$store` writes one vector to memory.
macro_rules! md4_kernel {
    ($data:ident, $stride:ident, $len:ident, $n:expr,
     |$base:ident, $s:ident| $load:expr, $store:ident,
     $add:ident, $set1:ident, $rol:ident, $f1:ident, $f2:ident, $f3:ident) => {{
        let mut st = INIT.map(|v| $set1(v as i32));
        let mut compress = |$base: *const u8, $s: usize| {
            let x = $load;
            let [mut a, mut b, mut c, mut d] = st;
            md4_rounds!(x, a, b, c, d, $add, $set1, $rol, $f1, $f2, $f3);
            st = [
                $add(st[0], a),
                $add(st[1], b),
                $add(st[2], c),
                $add(st[3], d),
            ];
        };
        for chunk in 0..$len / 64 {
            compress($data[chunk * 64..].as_ptr(), $stride);
        }
        let (t, chunks) = tails::<$n>($data, $stride, $len);
        for chunk in 0..chunks {
            compress(t.as_ptr().cast::<u8>().wrapping_add(chunk * 64), 128);
        }
        let mut words = [[0u32; $n]; 4];
        for (w, v) in words.iter_mut().zip(st) {
            // SAFETY: `w` is `$n` words, the width of one vector.
            unsafe { $store(w.as_mut_ptr().cast(), v) };
        }
        out_bytes(&words)
    }};
}

/// MD4 of the 8 blocks `data[l * stride..l * stride + len]`, l in 0..8.
///
/// # Safety
/// The CPU must support AVX2, and `data.len() >= 7 * stride + len`, `stride * 7 <= i32::MAX`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn md4_x8(data: &[u8], stride: usize, len: usize) -> [[u8; 16]; 8] {
    const N: usize = 8;
    assert!(data.len() >= (N - 1) * stride + len && (N - 1) * stride <= i32::MAX as usize);
    macro_rules! rol {
        ($v:expr, $s:literal) => {{
            let v = $v;
            _mm256_or_si256(
                _mm256_slli_epi32::<$s>(v),
                _mm256_srli_epi32::<{ 32 - $s }>(v),
            )
        }};
    }
    macro_rules! f1 {
        ($p:ident, $q:ident, $r:ident) => {
            _mm256_xor_si256($r, _mm256_and_si256($p, _mm256_xor_si256($q, $r)))
        };
    }
    macro_rules! f2 {
        ($p:ident, $q:ident, $r:ident) => {
            _mm256_or_si256(
                _mm256_and_si256($p, $q),
                _mm256_and_si256($r, _mm256_or_si256($p, $q)),
            )
        };
    }
    macro_rules! f3 {
        ($p:ident, $q:ident, $r:ident) => {
            _mm256_xor_si256($p, _mm256_xor_si256($q, $r))
        };
    }
    md4_kernel!(
        data,
        stride,
        len,
        N,
        |base, stride| {
            // SAFETY: lane l's 64-byte chunk starts at `base + l * stride`; the caller's
            // bounds (or the tail buffer's layout) put all eight chunks inside one live
            // allocation.
            unsafe { load_transposed(base, stride) }
        },
        _mm256_storeu_si256,
        _mm256_add_epi32,
        _mm256_set1_epi32,
        rol,
        f1,
        f2,
        f3
    )
}

/// MD4 of the 16 blocks `data[l * stride..l * stride + len]`, l in 0..16.
///
/// # Safety
/// The CPU must support AVX-512F, and `data.len() >= 15 * stride + len`.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn md4_x16(data: &[u8], stride: usize, len: usize) -> [[u8; 16]; 16] {
    const N: usize = 16;
    assert!(data.len() >= (N - 1) * stride + len);
    macro_rules! rol {
        ($v:expr, $s:literal) => {
            _mm512_rol_epi32::<$s>($v)
        };
    }
    // Truth tables of MD4's boolean functions of (p, q, r) for the ternary-logic instruction.
    macro_rules! f1 {
        ($p:ident, $q:ident, $r:ident) => {
            _mm512_ternarylogic_epi32::<0xca>($p, $q, $r)
        };
    }
    macro_rules! f2 {
        ($p:ident, $q:ident, $r:ident) => {
            _mm512_ternarylogic_epi32::<0xe8>($p, $q, $r)
        };
    }
    macro_rules! f3 {
        ($p:ident, $q:ident, $r:ident) => {
            _mm512_ternarylogic_epi32::<0x96>($p, $q, $r)
        };
    }
    md4_kernel!(
        data,
        stride,
        len,
        N,
        |base, stride| {
            // SAFETY: lane l's 64-byte chunk starts at `base + l * stride`; the caller's
            // bounds (or the tail buffer's layout) put all sixteen chunks inside one live
            // allocation.
            let (lo, hi) = unsafe {
                (
                    load_transposed(base, stride),
                    load_transposed(base.wrapping_add(8 * stride), stride),
                )
            };
            std::array::from_fn::<__m512i, 16, _>(|k| {
                _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo[k]), hi[k])
            })
        },
        _mm512_storeu_si512,
        _mm512_add_epi32,
        _mm512_set1_epi32,
        rol,
        f1,
        f2,
        f3
    )
}

/// Loads the 64-byte chunks of eight lanes (`base + l * stride`) and transposes them so that
/// vector `k` holds word `k` of every lane.
///
/// # Safety
/// AVX2 must be available and all eight 64-byte chunks readable.
#[target_feature(enable = "avx2")]
unsafe fn load_transposed(base: *const u8, stride: usize) -> [__m256i; 16] {
    let mut x = [_mm256_setzero_si256(); 16];
    for half in 0..2 {
        // SAFETY: each load reads 32 bytes inside lane l's chunk (the caller's contract).
        let r: [__m256i; 8] = std::array::from_fn(|l| unsafe {
            _mm256_loadu_si256(base.add(l * stride + 32 * half).cast())
        });
        let t: [__m256i; 8] = std::array::from_fn(|i| {
            let (p, q) = (r[2 * (i / 2 % 4)], r[2 * (i / 2 % 4) + 1]);
            if i % 2 == 0 {
                _mm256_unpacklo_epi32(p, q)
            } else {
                _mm256_unpackhi_epi32(p, q)
            }
        });
        // t[0] = lo(r0,r1), t[1] = hi(r0,r1), t[2] = lo(r2,r3), ... t[7] = hi(r6,r7).
        let u = |a: usize, b: usize, hi: bool| {
            if hi {
                _mm256_unpackhi_epi64(t[a], t[b])
            } else {
                _mm256_unpacklo_epi64(t[a], t[b])
            }
        };
        // Lanes 0-3 then 4-7: words (0,4), (1,5), (2,6), (3,7) in the two 128-bit halves.
        let lo = [u(0, 2, false), u(0, 2, true), u(1, 3, false), u(1, 3, true)];
        let hi = [u(4, 6, false), u(4, 6, true), u(5, 7, false), u(5, 7, true)];
        for w in 0..4 {
            x[8 * half + w] = _mm256_permute2x128_si256::<0x20>(lo[w], hi[w]);
            x[8 * half + w + 4] = _mm256_permute2x128_si256::<0x31>(lo[w], hi[w]);
        }
    }
    x
}

fn out_bytes<const N: usize>(words: &[[u32; N]; 4]) -> [[u8; 16]; N] {
    let mut out = [[0u8; 16]; N];
    for (l, o) in out.iter_mut().enumerate() {
        for (i, w) in words.iter().enumerate() {
            o[4 * i..4 * i + 4].copy_from_slice(&w[l].to_le_bytes());
        }
    }
    out
}
