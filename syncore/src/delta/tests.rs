//! Unit and property tests of the delta module as a whole: roundtrips, hostile input and
//! work bounds.

use super::*;
use crate::error::ErrorKind;
use proptest::prelude::*;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut v);
    v
}

/// `basis` with `edits` applied in turn: each `(at, n, kind)` deletes (kind 0), inserts `n`
/// random bytes (1) or changes (otherwise) up to `n` bytes at `at` (wrapped to the length).
fn edited(seed: u64, basis: &[u8], edits: Vec<(u16, usize, u8)>) -> Vec<u8> {
    let mut new = basis.to_vec();
    for (at, n, kind) in edits {
        let at = usize::from(at) % (new.len() + 1);
        let end = (at + n).min(new.len());
        match kind {
            0 => {
                new.drain(at..end);
            }
            1 => {
                new.splice(at..at, random(seed ^ n as u64, n));
            }
            _ => new[at..end].iter_mut().for_each(|b| *b = b.wrapping_add(1)),
        }
    }
    new
}

fn opts(magic: SignatureMagic, block_len: u32, strong_len: Option<u32>) -> SignatureOptions {
    SignatureOptions {
        magic,
        block_len: Some(block_len),
        strong_len,
    }
}

fn roundtrip(basis: &[u8], new: &[u8], o: &SignatureOptions) -> Vec<u8> {
    let sig = signature_of(basis, o).unwrap();
    let sig = Signature::decode(&sig.encode()).unwrap();
    let d = delta(&sig, new).unwrap();
    let out = patch(basis, &d, None).unwrap();
    assert_eq!(out.len(), new.len());
    assert!(out == new, "roundtrip mismatch");
    d
}

#[test]
fn roundtrips_for_every_format_and_edge_size() {
    let base = random(1, 20_000);
    for magic in SignatureMagic::ALL {
        for block in [1u32, 7, 64, 256, 1000] {
            for len in [
                0usize,
                1,
                block as usize,
                3 * block as usize,
                block as usize + 1,
                5000,
            ] {
                let basis = &base[..len.min(base.len())];
                let mut new = basis.to_vec();
                if new.len() > 10 {
                    new[len / 2] ^= 0x55;
                    new.splice(3..3, [1, 2, 3]);
                }
                roundtrip(basis, &new, &opts(magic, block, None));
                roundtrip(basis, basis, &opts(magic, block, Some(4)));
                roundtrip(&[], basis, &opts(magic, block, None));
                roundtrip(basis, &[], &opts(magic, block, None));
            }
        }
    }
}

#[test]
fn unchanged_and_shifted_files_become_few_copies() {
    let basis = random(2, 1 << 20);
    let o = opts(SignatureMagic::Blake2RabinKarp, 2048, None);
    let d = roundtrip(&basis, &basis, &o);
    // magic + one COPY (1 + 1 + 4 bytes) + END
    assert_eq!(d.len(), 4 + 6 + 1, "{d:?}");
    let mut new = basis.clone();
    new.drain(1000..1100);
    new.splice(500_000..500_000, random(3, 300));
    let d = roundtrip(&basis, &new, &o);
    assert!(d.len() < 3 * 2048 + 300, "{}", d.len());
    // Zeros: every block equal, still one merged COPY per run.
    let zeros = vec![0u8; 100_000];
    let d = roundtrip(
        &zeros,
        &zeros,
        &opts(SignatureMagic::Md4Rollsum, 1000, None),
    );
    assert_eq!(d.len(), 4 + 6 + 1);
}

#[test]
fn large_streams_cross_buffer_boundaries() {
    // Longer than the scan buffer, with a long literal run in the middle.
    let basis = random(4, 9 << 20);
    let mut new = basis.clone();
    new.splice(3 << 20..3 << 20, random(5, 3 << 20));
    new.truncate(new.len() - 12345);
    let o = opts(SignatureMagic::Blake2Rollsum, 4096, Some(12));
    let sig = signature_of(&basis, &o).unwrap();
    let mut d = Vec::new();
    let stats = write_delta(&sig, &new[..], &mut d).unwrap();
    assert_eq!(stats.new_len, new.len() as u64);
    assert_eq!(stats.delta_len, d.len() as u64);
    assert_eq!(stats.literal_bytes + stats.copy_bytes, new.len() as u64);
    assert!(stats.literal_bytes < (3 << 20) + 8192, "{stats:?}");
    assert_eq!(patch(&basis, &d, None).unwrap(), new);
}

#[test]
fn hostile_signatures_are_rejected() {
    let sig = signature_of(&random(6, 5000), &SignatureOptions::default()).unwrap();
    let good = sig.encode();
    for cut in 0..good.len().min(60) {
        if cut < 12 || (cut - 12) % 36 != 0 {
            let e = Signature::decode(&good[..cut]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{cut}: {e}");
        }
    }
    let mut bad = good.clone();
    bad[3] = 0x99;
    assert_eq!(
        Signature::decode(&bad).unwrap_err().kind(),
        ErrorKind::Corrupt
    );
    let mut bad = good.clone();
    bad[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        Signature::decode(&bad).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    let mut bad = good;
    bad[8..12].copy_from_slice(&33u32.to_be_bytes());
    assert_eq!(
        Signature::decode(&bad).unwrap_err().kind(),
        ErrorKind::Corrupt
    );
}

#[test]
fn hostile_deltas_are_rejected() {
    let basis = random(7, 1000);
    let magic = DELTA_MAGIC.to_be_bytes();
    let with = |body: &[u8]| [&magic[..], body].concat();
    let cases: Vec<(Vec<u8>, ErrorKind, &str)> = vec![
        (vec![], ErrorKind::Corrupt, "truncated"),
        (
            b"rs\x01\x36\x00".to_vec(),
            ErrorKind::Corrupt,
            "not an rsync delta",
        ),
        (with(&[]), ErrorKind::Corrupt, "no END"),
        (with(&[0x05, 1, 2]), ErrorKind::Corrupt, "LITERAL"),
        (with(&[0x55]), ErrorKind::Corrupt, "reserved"),
        (with(&[0xff]), ErrorKind::Corrupt, "reserved"),
        (
            with(&[0x44, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            ErrorKind::Corrupt,
            "LITERAL",
        ),
        (
            with(&[0x49, 0x03, 0xe0, 0x10, 0x00]),
            ErrorKind::Corrupt,
            "beyond the end",
        ),
        (
            with(&[0x4a, 0x03, 0xe0, 0x00, 0x10, 0x00]),
            ErrorKind::Corrupt,
            "beyond the end",
        ),
        (
            with(&[
                0x54, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2, 0,
            ]),
            ErrorKind::Corrupt,
            "beyond the end",
        ),
        (with(&[0x46, 0x10]), ErrorKind::Corrupt, "COPY length"),
        (
            with(&[0x43, 0, 0, 0x10, 0x00]),
            ErrorKind::Corrupt,
            "LITERAL",
        ),
    ];
    for (d, kind, msg) in cases {
        let e = patch(&basis, &d, None).unwrap_err();
        assert_eq!(e.kind(), kind, "{d:x?}: {e}");
        assert!(e.to_string().contains(msg), "{d:x?}: {e}");
    }
    // Expansion past the limit: many copies of the whole basis.
    let mut d = with(&[]);
    for _ in 0..100 {
        d.extend_from_slice(&[0x46, 0, 0x03, 0xe8]);
    }
    d.push(0);
    assert_eq!(patch(&basis, &d, None).unwrap().len(), 100_000);
    let e = patch(&basis, &d, Some(50_000)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("limit"), "{e}");
    assert_eq!(patch(&basis, &d, Some(100_000)).unwrap().len(), 100_000);
    // A LITERAL claiming 2^64-1 bytes with a limit is refused before reading it.
    let d = with(&[0x44, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    let e = patch(&basis, &d, Some(1 << 30)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}

/// A signature whose blocks all share one weak sum, with distinct strong sums.
fn crafted_signature(magic: SignatureMagic, block_len: u32, blocks: usize, weak: u32) -> Signature {
    let strong_len = 8u32;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&magic.to_u32().to_be_bytes());
    bytes.extend_from_slice(&block_len.to_be_bytes());
    bytes.extend_from_slice(&strong_len.to_be_bytes());
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for _ in 0..blocks {
        bytes.extend_from_slice(&weak.to_be_bytes());
        bytes.extend_from_slice(&rng.gen::<u64>().to_be_bytes());
    }
    Signature::decode(&bytes).unwrap()
}

#[test]
fn crafted_weak_sum_collisions_stay_linear() {
    // 200k blocks all claiming the weak sum of a zero block; the new file is all zeros, so
    // every window hits the weak sum and no strong sum matches.
    let block = 64u32;
    let new = vec![0u8; 1 << 20];
    for magic in [SignatureMagic::Blake2RabinKarp, SignatureMagic::Md4Rollsum] {
        let weak = magic.weak().sum(&new[..block as usize]);
        let sig = crafted_signature(magic, block, 200_000, weak);
        let mut d = Vec::new();
        let stats = write_delta(&sig, &new[..], &mut d).unwrap();
        assert_eq!(patch(&[], &d, None).unwrap(), new);
        let positions = new.len() as u64;
        // Each window is compared with at most the capped candidates, and only until the weak
        // sum has used up its false-alarm budget.
        assert!(
            stats.strong_compares <= 4096 * MAX_CANDIDATES_PER_WEAK_SUM as u64 + 100,
            "{stats:?}"
        );
        assert!(stats.strong_sums <= 4096 + 100, "{stats:?}");
        assert!(stats.strong_sums < positions);
    }
}

#[test]
fn file_helpers_work_and_name_paths() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let basis = random(10, 100_000);
    let mut new = basis.clone();
    new[5000] ^= 1;
    std::fs::write(p("old"), &basis).unwrap();
    std::fs::write(p("new"), &new).unwrap();
    signature_file(&p("old"), &SignatureOptions::default(), &p("sig")).unwrap();
    let stats = delta_file(&p("sig"), &p("new"), &p("delta")).unwrap();
    assert!(stats.copy_bytes > 90_000);
    let n = patch_file(&p("old"), &p("delta"), &p("out"), None).unwrap();
    assert_eq!(n, new.len() as u64);
    assert_eq!(std::fs::read(p("out")).unwrap(), new);
    let e = patch_file(&p("missing"), &p("delta"), &p("out2"), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(e.path(), Some(p("missing").as_path()));
}

/// Reads one byte at a time, to exercise short reads.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&b, rest)), Some(slot)) => {
                *slot = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn short_reads_give_the_same_output() {
    let basis = random(11, 30_000);
    let mut new = basis.clone();
    new.splice(7000..7010, [9u8; 3]);
    let o = opts(SignatureMagic::Md4RabinKarp, 512, None);
    let sig = signature_of(&basis, &o).unwrap();
    let mut streamed = Vec::new();
    generate_signature(Trickle(&basis), None, &o, &mut streamed).unwrap();
    assert_eq!(streamed, sig.encode());
    let mut d1 = Vec::new();
    write_delta(&sig, Trickle(&new), &mut d1).unwrap();
    assert_eq!(d1, delta(&sig, &new).unwrap());
    let mut out = Vec::new();
    apply_patch(Cursor::new(&basis), Trickle(&d1), &mut out, None).unwrap();
    assert_eq!(out, new);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_edit_roundtrips(
        seed in any::<u64>(),
        len in 0usize..6000,
        edits in proptest::collection::vec((any::<u16>(), 0usize..70, 0u8..3), 0..8),
        magic in 0usize..4,
        block in 1u32..700,
        strong in proptest::option::of(1u32..=16),
    ) {
        let basis = random(seed, len);
        let new = edited(seed, &basis, edits);
        roundtrip(&basis, &new, &opts(SignatureMagic::ALL[magic], block, strong));
    }

    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Signature::decode(&data);
        let _ = patch(&data, &data, Some(1 << 20));
        let mut d = DELTA_MAGIC.to_be_bytes().to_vec();
        d.extend_from_slice(&data);
        let _ = patch(&data, &d, Some(1 << 20));
    }
}

#[test]
fn truncated_strong_sums_still_need_the_weak_sum() {
    // With 1- and 2-byte blocks the rollsum identifies the block exactly, while 1-byte strong
    // sums collide often: a match accepted on the strong sum alone would corrupt the output.
    for seed in 0..100 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let basis: Vec<u8> = (0..200).map(|_| rng.gen_range(0..6)).collect();
        let new: Vec<u8> = (0..300).map(|_| rng.gen_range(0..6)).collect();
        for block in [1, 2] {
            roundtrip(
                &basis,
                &new,
                &opts(SignatureMagic::Blake2Rollsum, block, Some(1)),
            );
            roundtrip(
                &basis,
                &new,
                &opts(SignatureMagic::Md4Rollsum, block, Some(1)),
            );
        }
    }
}

/// The signature built the obvious way: one block at a time, on one thread.
fn naive_signature(data: &[u8], o: &SignatureOptions) -> Vec<u8> {
    let (block_len, strong_len) = o.resolve(Some(data.len() as u64)).unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(&o.magic.to_u32().to_be_bytes());
    out.extend_from_slice(&block_len.to_be_bytes());
    out.extend_from_slice(&strong_len.to_be_bytes());
    for block in data.chunks(block_len as usize) {
        out.extend_from_slice(&o.magic.weak().sum(block).to_be_bytes());
        let strong = strong::strong_sum(o.magic.strong(), block);
        out.extend_from_slice(&strong[..strong_len as usize]);
    }
    out
}

#[test]
fn threaded_signatures_equal_one_block_at_a_time() {
    // Large enough for several batches hashed on two threads, in memory and streamed.
    let data = random(12, (9 << 20) + 777);
    for magic in SignatureMagic::ALL {
        for (block, len) in [
            (4096, data.len()),
            (1000, 5 << 20),
            (64, 1 << 20),
            (3, 70_001),
        ] {
            let o = opts(magic, block, None);
            let want = naive_signature(&data[..len], &o);
            assert!(signature_of(&data[..len], &o).unwrap().encode() == want);
            let mut streamed = Vec::new();
            generate_signature(&data[..len], None, &o, &mut streamed).unwrap();
            assert!(streamed == want, "{magic:?} {block} {len}");
        }
    }
}

/// The delta of `new` searched on two threads in rounds of two `segment`-byte segments from
/// the first byte on, checked to patch back exactly.
fn split_delta(sig: &Signature, basis: &[u8], new: &[u8], segment: usize) -> (Vec<u8>, DeltaStats) {
    let split = generate::Split {
        after: 0,
        segment,
        threads: 2,
    };
    let mut d = Vec::new();
    let stats = generate::write_delta_split(sig, new, &mut d, split).unwrap();
    assert_eq!(stats.delta_len, d.len() as u64);
    assert_eq!(stats.literal_bytes + stats.copy_bytes, new.len() as u64);
    assert!(
        patch(basis, &d, None).unwrap() == new,
        "split delta mismatch"
    );
    (d, stats)
}

#[test]
fn split_deltas_patch_back_and_stay_near_optimal() {
    let basis = random(13, 300_000);
    let mut edited = basis.clone();
    for (i, at) in [1000usize, 50_000, 123_456, 200_001, 299_000]
        .iter()
        .enumerate()
    {
        match i % 3 {
            0 => edited
                .splice(*at..*at, random(*at as u64, 37))
                .for_each(drop),
            1 => edited.drain(*at..*at + 11).for_each(drop),
            _ => edited[*at] ^= 0xa5,
        }
    }
    let unrelated = random(14, 200_000);
    let shifted = [&random(15, 777)[..], &basis].concat();
    for magic in [SignatureMagic::Blake2RabinKarp, SignatureMagic::Md4Rollsum] {
        for block in [1u32, 64, 700, 4096] {
            let sig = signature_of(&basis, &opts(magic, block, None)).unwrap();
            for new in [&basis, &edited, &unrelated, &shifted] {
                // One-byte blocks of random data all have duplicates: the searches rarely
                // meet and the caller's search does nearly all the work, which is slow.
                let new = &new[..new.len().min(if block == 1 { 20_000 } else { usize::MAX })];
                let one = delta(&sig, new).unwrap();
                for segment in [1, 2 * block as usize + 3, 10_007, 65_536] {
                    let (d, _) = split_delta(&sig, &basis, new, segment);
                    let rounds = new.len() / (2 * segment.max(block as usize + 1)) + 1;
                    // Each stitch may cost a split literal or an unmerged copy.
                    assert!(
                        d.len() <= one.len() + 20 * rounds,
                        "{magic:?} b={block} seg={segment}: {} vs {}",
                        d.len(),
                        one.len()
                    );
                }
            }
        }
    }
}

#[test]
fn split_search_keeps_the_false_alarm_bound() {
    let block = 64u32;
    let new = vec![0u8; 1 << 20];
    let magic = SignatureMagic::Blake2RabinKarp;
    let sig = crafted_signature(magic, block, 200_000, magic.weak().sum(&new[..64]));
    let (_, stats) = split_delta(&sig, &[], &new, 100_000);
    // Each of the two searches has its own budget.
    assert!(stats.strong_sums <= 2 * (4096 + 100), "{stats:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_split_delta_roundtrips(
        seed in any::<u64>(),
        len in 0usize..40_000,
        edits in proptest::collection::vec((any::<u16>(), 0usize..300, 0u8..3), 0..6),
        magic in 0usize..4,
        block in 1u32..2000,
        segment in 1usize..20_000,
    ) {
        let basis = random(seed, len);
        let new = edited(seed, &basis, edits);
        let sig = signature_of(&basis, &opts(SignatureMagic::ALL[magic], block, None)).unwrap();
        split_delta(&sig, &basis, &new, segment);
    }
}
