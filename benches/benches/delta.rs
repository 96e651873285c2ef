//! rsync-style deltas: syncore against C librsync (the `librsync` crate) and `fast_rsync`.
//!
//! Every contender works on the same seeded data: a random basis (512 MiB, or
//! `SYNCORE_BENCH_MIB` MiB), a new version with 200 scattered small edits, and a new file an
//! eighth of that size that shares nothing with the basis (the worst case: no block matches). Block length 4 KiB everywhere; librsync and syncore use the
//! same signature format (rollsum + BLAKE2b or rollsum + MD4: the `librsync` crate has no
//! RabinKarp), fast_rsync supports MD4 only. Signatures are generated from a `Read` by syncore
//! and librsync (and from a slice by `syncore-slice` and fast_rsync); deltas from a signature
//! in encoded form (each contender decodes and indexes it inside the timing); patches write
//! into one reused `Vec`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::io::{self, Cursor, Read};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use syncore::delta::{self, Signature, SignatureMagic, SignatureOptions};
use syncore_benches::{scattered_edits, seeded_bytes};

const BLOCK: u32 = 4096;

struct Data {
    basis: Vec<u8>,
    edited: Vec<u8>,
    unrelated: Vec<u8>,
}

fn data() -> Data {
    let mib = syncore_benches::bench_mib(512);
    let basis = seeded_bytes(1, mib << 20);
    let edited = scattered_edits(&basis, 200, 3);
    // The worst case is an eighth of the size: librsync scans it at a few tens of MB/s, and
    // ten samples of a 512 MiB file would take minutes per contender.
    let unrelated = seeded_bytes(2, (mib << 20) / 8);
    Data {
        basis,
        edited,
        unrelated,
    }
}

fn opts(magic: SignatureMagic) -> SignatureOptions {
    SignatureOptions {
        magic,
        block_len: Some(BLOCK),
        strong_len: None,
    }
}

fn librsync_type(magic: SignatureMagic) -> librsync::SignatureType {
    match magic.strong() {
        delta::StrongKind::Md4 => librsync::SignatureType::MD4,
        delta::StrongKind::Blake2 => librsync::SignatureType::Blake2,
    }
}

fn syncore_signature(basis: &[u8], magic: SignatureMagic) -> Vec<u8> {
    let mut out = Vec::new();
    delta::generate_signature(basis, Some(basis.len() as u64), &opts(magic), &mut out)
        .expect("signature");
    out
}

fn librsync_signature(basis: &[u8], magic: SignatureMagic) -> Vec<u8> {
    let mut sig = librsync::Signature::with_options(
        basis,
        BLOCK as usize,
        magic.strong().max_len() as usize,
        librsync_type(magic),
    )
    .expect("librsync signature");
    let mut out = Vec::new();
    sig.read_to_end(&mut out).expect("librsync signature");
    out
}

fn fast_rsync_signature(basis: &[u8]) -> fast_rsync::Signature {
    fast_rsync::Signature::calculate(
        basis,
        fast_rsync::SignatureOptions {
            block_size: BLOCK,
            crypto_hash_size: 16,
        },
    )
}

const FORMATS: [(&str, SignatureMagic); 2] = [
    ("blake2", SignatureMagic::Blake2Rollsum),
    ("md4", SignatureMagic::Md4Rollsum),
];

fn configure<'c>(
    c: &'c mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g
}

fn benches(c: &mut Criterion) {
    let d = data();

    let mut g = configure(c, "delta_signature");
    g.throughput(Throughput::Bytes(d.basis.len() as u64));
    for (fmt, magic) in FORMATS {
        g.bench_function(BenchmarkId::new("syncore", fmt), |b| {
            b.iter(|| {
                delta::generate_signature(&d.basis[..], None, &opts(magic), io::sink())
                    .expect("signature")
            })
        });
        g.bench_function(BenchmarkId::new("librsync", fmt), |b| {
            b.iter(|| {
                let mut sig = librsync::Signature::with_options(
                    &d.basis[..],
                    BLOCK as usize,
                    magic.strong().max_len() as usize,
                    librsync_type(magic),
                )
                .expect("librsync signature");
                io::copy(&mut sig, &mut io::sink()).expect("librsync signature")
            })
        });
    }
    // fast_rsync only hashes slices: compare it with syncore's slice entry point too.
    g.bench_function(BenchmarkId::new("syncore-slice", "md4"), |b| {
        b.iter(|| delta::signature_of(&d.basis, &opts(SignatureMagic::Md4Rollsum)).expect("sig"))
    });
    g.bench_function(BenchmarkId::new("fast_rsync", "md4"), |b| {
        b.iter(|| fast_rsync_signature(&d.basis))
    });
    g.finish();

    let mut g = configure(c, "delta_generate");
    for (case, new) in [("edited", &d.edited), ("unrelated", &d.unrelated)] {
        g.throughput(Throughput::Bytes(new.len() as u64));
        for (fmt, magic) in FORMATS {
            let sig = syncore_signature(&d.basis, magic);
            assert_eq!(
                sig,
                librsync_signature(&d.basis, magic),
                "same signature bytes"
            );
            g.bench_function(BenchmarkId::new(format!("syncore/{fmt}"), case), |b| {
                b.iter(|| {
                    let sig = Signature::decode(&sig).expect("decode");
                    delta::write_delta(&sig, &new[..], io::sink()).expect("delta")
                })
            });
            g.bench_function(BenchmarkId::new(format!("librsync/{fmt}"), case), |b| {
                b.iter(|| {
                    let mut delta =
                        librsync::Delta::new(&new[..], &mut &sig[..]).expect("librsync delta");
                    io::copy(&mut delta, &mut io::sink()).expect("librsync delta")
                })
            });
        }
        let sig = fast_rsync_signature(&d.basis).into_serialized();
        g.bench_function(BenchmarkId::new("fast_rsync/md4", case), |b| {
            b.iter(|| {
                let sig = fast_rsync::Signature::deserialize(sig.clone()).expect("deserialize");
                let mut out = Vec::new();
                fast_rsync::diff(&sig.index(), new, &mut out).expect("fast_rsync diff");
                out
            })
        });
    }
    g.finish();

    let mut g = configure(c, "delta_patch");
    let sig = Signature::decode(&syncore_signature(&d.basis, SignatureMagic::Blake2Rollsum))
        .expect("decode");
    for (case, new) in [("edited", &d.edited), ("unrelated", &d.unrelated)] {
        let patch = delta::delta(&sig, new).expect("delta");
        println!("delta_patch/{case}: delta of {} bytes", patch.len());
        g.throughput(Throughput::Bytes(new.len() as u64));
        // Every contender writes the new file into the same reused buffer.
        let mut out = Vec::with_capacity(new.len());
        g.bench_function(BenchmarkId::new("syncore", case), |b| {
            b.iter(|| {
                out.clear();
                delta::apply_patch(Cursor::new(&d.basis[..]), &patch[..], &mut out, None)
                    .expect("patch")
            })
        });
        g.bench_function(BenchmarkId::new("librsync", case), |b| {
            b.iter(|| {
                out.clear();
                let mut p = librsync::Patch::new(Cursor::new(&d.basis[..]), &patch[..])
                    .expect("librsync patch");
                io::copy(&mut p, &mut out).expect("librsync patch")
            })
        });
        g.bench_function(BenchmarkId::new("fast_rsync", case), |b| {
            b.iter(|| {
                out.clear();
                fast_rsync::apply(&d.basis, &patch, &mut out).expect("fast_rsync")
            })
        });
        // Filtered runs may have skipped every patch bench, leaving nothing to check.
        assert!(out.is_empty() || out == **new, "patched output");
    }
    g.finish();
}

criterion_group!(delta_benches, benches);
criterion_main!(delta_benches);
