//! The two rolling (weak) checksums of librsync: the Adler-style rollsum and RabinKarp.
//!
//! This file owns the arithmetic of the weak sums, bit for bit as librsync computes them,
//! including rolling a window forward one byte ([`RollingSum::rotate`]) and shrinking it from
//! the front ([`RollingSum::rollout`]). It never decides what matches; it only computes sums.
//! Both sums are ring operations on wrapping 32-bit integers, so they never overflow.

use super::format::WeakKind;

/// A rolling checksum over a window of bytes.
pub trait RollingSum: Copy + Default {
    /// Appends `buf` to the window.
    fn update(&mut self, buf: &[u8]);
    /// Slides the window one byte: removes `out` from the front and appends `inb`.
    fn rotate(&mut self, out: u8, inb: u8);
    /// Removes `out` from the front of the window, shrinking it by one byte.
    fn rollout(&mut self, out: u8);
    /// The 32-bit checksum of the current window, as stored in signatures.
    fn digest(&self) -> u32;
    /// Number of bytes in the window.
    fn count(&self) -> usize;

    /// The checksum of `buf` in one call.
    fn of(buf: &[u8]) -> u32 {
        let mut s = Self::default();
        s.update(buf);
        s.digest()
    }
}

/// Byte offset librsync adds to every byte in the rollsum.
const CHAR_OFFSET: u32 = 31;

/// librsync's Adler-32-like rollsum: `s1` sums the bytes (+31), `s2` sums the `s1`s;
/// the digest is `s2 << 16 | s1`, both modulo 2^16.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rollsum {
    count: usize,
    s1: u32,
    s2: u32,
}

impl RollingSum for Rollsum {
    fn update(&mut self, buf: &[u8]) {
        let (s1, s2) = lanes::rollsum(self.s1, self.s2, buf);
        self.s1 = s1;
        self.s2 = s2;
        self.count += buf.len();
    }

    #[inline(always)]
    fn rotate(&mut self, out: u8, inb: u8) {
        self.s1 = self
            .s1
            .wrapping_add(u32::from(inb))
            .wrapping_sub(u32::from(out));
        self.s2 = self
            .s2
            .wrapping_add(self.s1)
            .wrapping_sub((self.count as u32).wrapping_mul(u32::from(out) + CHAR_OFFSET));
    }

    #[inline]
    fn rollout(&mut self, out: u8) {
        self.s1 = self.s1.wrapping_sub(u32::from(out) + CHAR_OFFSET);
        self.s2 = self
            .s2
            .wrapping_sub((self.count as u32).wrapping_mul(u32::from(out) + CHAR_OFFSET));
        self.count -= 1;
    }

    #[inline(always)]
    fn digest(&self) -> u32 {
        (self.s2 << 16) | (self.s1 & 0xffff)
    }

    fn count(&self) -> usize {
        self.count
    }
}

const RK_SEED: u32 = 1;
const RK_MULT: u32 = 0x0810_4225;
/// Inverse of [`RK_MULT`] modulo 2^32.
const RK_INVM: u32 = 0x98f0_09ad;
/// `(RK_MULT - 1) * RK_SEED`: removes the seed's contribution when a byte rolls out.
const RK_ADJ: u32 = 0x0810_4224;

fn rk_pow(mut exp: u64) -> u32 {
    let (mut base, mut acc) = (RK_MULT, 1u32);
    while exp != 0 {
        if exp & 1 == 1 {
            acc = acc.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        exp >>= 1;
    }
    acc
}

/// librsync's RabinKarp rolling hash: `seed * M^n + sum(b[i] * M^(n-1-i))` modulo 2^32,
/// with `M = 0x08104225` and seed 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RabinKarp {
    count: usize,
    hash: u32,
    /// `RK_MULT^count`.
    mult: u32,
}

impl Default for RabinKarp {
    fn default() -> Self {
        RabinKarp {
            count: 0,
            hash: RK_SEED,
            mult: 1,
        }
    }
}

impl RollingSum for RabinKarp {
    fn update(&mut self, buf: &[u8]) {
        self.hash = lanes::rabinkarp(self.hash, buf);
        self.count += buf.len();
        self.mult = self.mult.wrapping_mul(rk_pow(buf.len() as u64));
    }

    #[inline(always)]
    fn rotate(&mut self, out: u8, inb: u8) {
        self.hash = self
            .hash
            .wrapping_mul(RK_MULT)
            .wrapping_add(u32::from(inb))
            .wrapping_sub(self.mult.wrapping_mul(u32::from(out).wrapping_add(RK_ADJ)));
    }

    #[inline]
    fn rollout(&mut self, out: u8) {
        self.count -= 1;
        self.mult = self.mult.wrapping_mul(RK_INVM);
        self.hash = self
            .hash
            .wrapping_sub(self.mult.wrapping_mul(u32::from(out).wrapping_add(RK_ADJ)));
    }

    #[inline(always)]
    fn digest(&self) -> u32 {
        self.hash
    }

    fn count(&self) -> usize {
        self.count
    }
}

/// Whole-buffer sums computed 64 bytes at a time in independent lanes, so that the compiler
/// can keep the lanes in SIMD registers; AVX2 and AVX-512 builds are picked at run time.
mod lanes {
    use super::{rk_pow, CHAR_OFFSET, RK_MULT};

    const L: usize = 64;

    /// The rollsum state `(s1, s2)` after appending `buf`.
    pub fn rollsum(s1: u32, s2: u32, buf: &[u8]) -> (u32, u32) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { rollsum_avx2(s1, s2, buf) };
            }
        }
        rollsum_generic(s1, s2, buf)
    }

    /// The classic vectorized Adler sum: per 32-byte chunk, `sad` adds the bytes and
    /// `maddubs` weights them by their distance to the chunk end; the running byte sum before
    /// each chunk is accumulated separately and weighted by 32 at the end.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn rollsum_avx2(mut s1: u32, mut s2: u32, buf: &[u8]) -> (u32, u32) {
        use std::arch::x86_64::*;
        let mut chunks = buf.chunks_exact(32);
        let zero = _mm256_setzero_si256();
        let ones = _mm256_set1_epi16(1);
        let weights = _mm256_setr_epi8(
            32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
            10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
        );
        let (mut sums, mut before, mut weighted) = (zero, zero, zero);
        for c in &mut chunks {
            // SAFETY: `c` is exactly 32 readable bytes; the load is unaligned.
            let v = unsafe { _mm256_loadu_si256(c.as_ptr().cast()) };
            before = _mm256_add_epi32(before, sums);
            sums = _mm256_add_epi32(sums, _mm256_sad_epu8(v, zero));
            weighted = _mm256_add_epi32(
                weighted,
                _mm256_madd_epi16(_mm256_maddubs_epi16(v, weights), ones),
            );
        }
        let hsum = |v: __m256i| {
            let mut lanes = [0u32; 8];
            // SAFETY: `lanes` is 32 writable bytes.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), v) };
            lanes.iter().fold(0u32, |a, &b| a.wrapping_add(b))
        };
        let len = (buf.len() - chunks.remainder().len()) as u64;
        if len > 0 {
            let n = len as u32;
            let triangle = (u128::from(len) * (u128::from(len) + 1) / 2) as u32;
            s2 = s2
                .wrapping_add(n.wrapping_mul(s1))
                .wrapping_add(32u32.wrapping_mul(hsum(before)))
                .wrapping_add(hsum(weighted))
                .wrapping_add(CHAR_OFFSET.wrapping_mul(triangle));
            s1 = s1
                .wrapping_add(hsum(sums))
                .wrapping_add(CHAR_OFFSET.wrapping_mul(n));
        }
        for &byte in chunks.remainder() {
            s1 = s1.wrapping_add(u32::from(byte) + CHAR_OFFSET);
            s2 = s2.wrapping_add(s1);
        }
        (s1, s2)
    }

    #[inline(always)]
    fn rollsum_generic(mut s1: u32, mut s2: u32, buf: &[u8]) -> (u32, u32) {
        let mut chunks = buf.chunks_exact(L);
        // a[j]: sum of byte j of every chunk; b[j]: sum of a[j] before each chunk.
        let mut a = [0u32; L];
        let mut b = [0u32; L];
        for c in &mut chunks {
            for j in 0..L {
                b[j] = b[j].wrapping_add(a[j]);
                a[j] = a[j].wrapping_add(u32::from(c[j]));
            }
        }
        let len = (buf.len() - chunks.remainder().len()) as u64;
        if len > 0 {
            // s2 gains len*s1 plus every byte (+offset) weighted by the bytes from it to the
            // end. Everything is modulo 2^32, so truncating casts are exact.
            let n = len as u32;
            let (mut sum, mut before, mut tail) = (0u32, 0u32, 0u32);
            for j in 0..L {
                sum = sum.wrapping_add(a[j]);
                before = before.wrapping_add(b[j]);
                tail = tail.wrapping_add(a[j].wrapping_mul((L - j) as u32));
            }
            let triangle = (u128::from(len) * (u128::from(len) + 1) / 2) as u32;
            let offsets = CHAR_OFFSET.wrapping_mul(triangle);
            s2 = s2
                .wrapping_add(n.wrapping_mul(s1))
                .wrapping_add((L as u32).wrapping_mul(before))
                .wrapping_add(tail)
                .wrapping_add(offsets);
            s1 = s1
                .wrapping_add(sum)
                .wrapping_add(CHAR_OFFSET.wrapping_mul(n));
        }
        for &byte in chunks.remainder() {
            s1 = s1.wrapping_add(u32::from(byte) + CHAR_OFFSET);
            s2 = s2.wrapping_add(s1);
        }
        (s1, s2)
    }

    /// `RK_MULT^k` for k in 0..L.
    const POW: [u32; L] = {
        let mut p = [1u32; L];
        let mut i = 1;
        while i < L {
            p[i] = p[i - 1].wrapping_mul(RK_MULT);
            i += 1;
        }
        p
    };

    /// The RabinKarp hash after appending `buf` to a window whose hash is `hash`.
    pub fn rabinkarp(hash: u32, buf: &[u8]) -> u32 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { rabinkarp_avx2(hash, buf) };
            }
        }
        rabinkarp_generic(hash, buf)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn rabinkarp_avx2(hash: u32, buf: &[u8]) -> u32 {
        rabinkarp_generic(hash, buf)
    }

    #[inline(always)]
    fn rabinkarp_generic(mut hash: u32, buf: &[u8]) -> u32 {
        let mut chunks = buf.chunks_exact(L);
        let step = rk_pow(L as u64);
        // acc[j]: Horner's rule over byte j of every chunk, in steps of RK_MULT^L.
        let mut acc = [0u32; L];
        let mut count = 0u64;
        for c in &mut chunks {
            for j in 0..L {
                acc[j] = acc[j].wrapping_mul(step).wrapping_add(u32::from(c[j]));
            }
            count += 1;
        }
        if count > 0 {
            hash = hash.wrapping_mul(rk_pow(count * L as u64));
            for j in 0..L {
                hash = hash.wrapping_add(acc[j].wrapping_mul(POW[L - 1 - j]));
            }
        }
        for &b in chunks.remainder() {
            hash = hash.wrapping_mul(RK_MULT).wrapping_add(u32::from(b));
        }
        hash
    }
}

impl WeakKind {
    /// The weak checksum of `buf` in one call.
    pub fn sum(self, buf: &[u8]) -> u32 {
        match self {
            WeakKind::Rollsum => Rollsum::of(buf),
            WeakKind::RabinKarp => RabinKarp::of(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte-at-a-time definitions, straight from the formulas.
    fn rollsum_naive(buf: &[u8]) -> u32 {
        let (mut s1, mut s2) = (0u32, 0u32);
        for &b in buf {
            s1 = s1.wrapping_add(u32::from(b) + 31);
            s2 = s2.wrapping_add(s1);
        }
        (s2 << 16) | (s1 & 0xffff)
    }

    fn rabinkarp_naive(buf: &[u8]) -> u32 {
        buf.iter().fold(1u32, |h, &b| {
            h.wrapping_mul(RK_MULT).wrapping_add(u32::from(b))
        })
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| (i * 7919 % 251) as u8 ^ (i >> 3) as u8)
            .collect()
    }

    #[test]
    fn update_matches_the_definition() {
        let d = data(5000);
        for n in [0, 1, 7, 8, 9, 63, 64, 65, 128, 999, 4096, 4999] {
            assert_eq!(Rollsum::of(&d[..n]), rollsum_naive(&d[..n]), "{n}");
            assert_eq!(RabinKarp::of(&d[..n]), rabinkarp_naive(&d[..n]), "{n}");
            // Split updates agree with one update.
            let mut r = Rollsum::default();
            r.update(&d[..n / 3]);
            r.update(&d[n / 3..n]);
            assert_eq!(r.digest(), rollsum_naive(&d[..n]), "{n}");
            let mut k = RabinKarp::default();
            k.update(&d[..n / 3]);
            k.update(&d[n / 3..n]);
            assert_eq!(k.digest(), rabinkarp_naive(&d[..n]), "{n}");
        }
        assert_eq!(RK_MULT.wrapping_mul(RK_INVM), 1);
        assert_eq!(
            rk_pow(3),
            RK_MULT.wrapping_mul(RK_MULT).wrapping_mul(RK_MULT)
        );
    }

    fn check_rolling<S: RollingSum>(naive: fn(&[u8]) -> u32) {
        let d = data(600);
        let w = 37;
        let mut s = S::default();
        s.update(&d[..w]);
        for i in 0..d.len() - w {
            assert_eq!(s.digest(), naive(&d[i..i + w]));
            s.rotate(d[i], d[i + w]);
        }
        let start = d.len() - w;
        for i in start..d.len() {
            assert_eq!(s.digest(), naive(&d[i..]));
            assert_eq!(s.count(), d.len() - i);
            s.rollout(d[i]);
        }
        assert_eq!(s.count(), 0);
    }

    #[test]
    fn rolling_matches_recomputing() {
        check_rolling::<Rollsum>(rollsum_naive);
        check_rolling::<RabinKarp>(rabinkarp_naive);
    }
}
