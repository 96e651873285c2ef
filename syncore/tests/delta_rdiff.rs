//! Interoperability of `syncore::delta` with the real `rdiff` (librsync's command-line tool).
//!
//! For every signature format, several block and strong-sum lengths and a set of edge files,
//! checks that syncore's signature is byte-identical to rdiff's, that each side patches the
//! other's delta exactly, and that syncore's delta is never larger than rdiff's.

// Test helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use syncore::delta::{self, Signature, SignatureMagic, SignatureOptions};

fn rdiff(args: &[&str]) {
    let out = match Command::new("rdiff").args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("rdiff not found: run `make deps`")
        }
        Err(e) => panic!("cannot run rdiff: {e}"),
    };
    assert!(
        out.status.success(),
        "rdiff {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn flags(magic: SignatureMagic) -> [&'static str; 4] {
    let hash = match magic.strong() {
        delta::StrongKind::Md4 => "md4",
        delta::StrongKind::Blake2 => "blake2",
    };
    let roll = match magic.weak() {
        delta::WeakKind::Rollsum => "rollsum",
        delta::WeakKind::RabinKarp => "rabinkarp",
    };
    ["-H", hash, "-R", roll]
}

fn random(rng: &mut ChaCha8Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

/// (name, basis, new) pairs around block length `b`.
fn cases(b: usize, rng: &mut ChaCha8Rng) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add =
        |name: &str, basis: Vec<u8>, new: Vec<u8>| out.push((name.to_owned(), basis, new));
    add("empty", vec![], vec![]);
    add("empty-basis", vec![], random(rng, 1000));
    add("empty-new", random(rng, 1000), vec![]);
    add("one-byte", vec![7], vec![7]);
    add("one-byte-changed", vec![7], vec![8]);
    let one = random(rng, b);
    add("one-block", one.clone(), one.clone());
    let mut changed = one.clone();
    changed[b / 2] ^= 1;
    add("one-block-changed", one, changed);
    let multi = random(rng, 8 * b);
    add("multiple-of-block", multi.clone(), multi.clone());
    let mut swapped = multi.clone();
    swapped.rotate_left(3 * b);
    add("blocks-reordered", multi, swapped);
    let plus = random(rng, b + 1);
    add("block-plus-one", plus.clone(), plus.clone());
    let mut grown = plus.clone();
    grown.extend_from_slice(&random(rng, b + 5));
    add("block-plus-one-appended", plus, grown);
    let zeros = vec![0u8; 20 * b + 3];
    let mut zeros_new = zeros.clone();
    zeros_new.splice(5 * b + 1..5 * b + 1, [1, 2, 3]);
    add("zeros", zeros.clone(), zeros.clone());
    add("zeros-inserted", zeros, zeros_new);
    let base = random(rng, 50_000 + b * 3);
    let mut edits = base.clone();
    for _ in 0..20 {
        let at = rng.gen_range(0..edits.len() - 64);
        let n = rng.gen_range(1..=64);
        match rng.gen_range(0..3) {
            0 => {
                edits.drain(at..at + n);
            }
            1 => {
                edits.splice(at..at, random(rng, n));
            }
            _ => rng.fill_bytes(&mut edits[at..at + n]),
        }
    }
    add("small-edits", base.clone(), edits);
    let mut inserted = base.clone();
    inserted.splice(20_000..20_000, random(rng, 5000));
    add("inserted-range", base.clone(), inserted);
    let mut deleted = base.clone();
    deleted.drain(10_000..17_777);
    add("deleted-range", base.clone(), deleted);
    add("random-unrelated", base, random(rng, 30_000));
    out
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs every check for one case; returns (syncore delta size, rdiff delta size).
fn check(
    dir: &Dir,
    label: &str,
    basis: &[u8],
    new: &[u8],
    opts: &SignatureOptions,
    extra: &[&str],
) -> (usize, usize) {
    let basis_p = dir.write("basis", basis);
    let new_p = dir.write("new", new);
    let (sig_p, rdelta_p, sdelta_p, out_p) = (
        dir.path("sig"),
        dir.path("rdelta"),
        dir.path("sdelta"),
        dir.path("out"),
    );
    for p in [&sig_p, &rdelta_p, &sdelta_p, &out_p] {
        let _ = std::fs::remove_file(p);
    }
    let mut args = vec!["signature"];
    args.extend_from_slice(extra);
    args.extend([s(&basis_p), s(&sig_p)]);
    rdiff(&args);
    let rsig = std::fs::read(&sig_p).unwrap();
    let sig = delta::signature_of(basis, opts).unwrap();
    assert!(
        sig.encode() == rsig,
        "{label}: signature differs from rdiff's"
    );
    assert_eq!(Signature::decode(&rsig).unwrap(), sig, "{label}");

    let sdelta = delta::delta(&sig, new).unwrap();
    std::fs::write(&sdelta_p, &sdelta).unwrap();
    rdiff(&["patch", s(&basis_p), s(&sdelta_p), s(&out_p)]);
    assert!(
        std::fs::read(&out_p).unwrap() == new,
        "{label}: rdiff patch of syncore delta"
    );

    rdiff(&["delta", s(&sig_p), s(&new_p), s(&rdelta_p)]);
    let rdelta = std::fs::read(&rdelta_p).unwrap();
    let patched = delta::patch(basis, &rdelta, None).unwrap();
    assert!(patched == new, "{label}: syncore patch of rdiff delta");
    assert!(
        sdelta.len() <= rdelta.len(),
        "{label}: syncore delta {} > rdiff delta {}",
        sdelta.len(),
        rdelta.len()
    );
    (sdelta.len(), rdelta.len())
}

#[test]
fn signatures_and_deltas_interoperate_with_rdiff() {
    let dir = Dir(tempfile::tempdir().unwrap());
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let (mut total_s, mut total_r) = (0usize, 0usize);
    for block in [64u32, 500, 2048] {
        let cases = cases(block as usize, &mut rng);
        for magic in SignatureMagic::ALL {
            for strong in [None, Some(8u32)] {
                let opts = SignatureOptions {
                    magic,
                    block_len: Some(block),
                    strong_len: strong,
                };
                let b = block.to_string();
                let sl = strong.unwrap_or(0).to_string();
                let mut extra = vec!["-b", &b, "-S", &sl];
                extra.extend(flags(magic));
                for (name, basis, new) in &cases {
                    let label = format!("{magic:?} b={block} S={sl} {name}");
                    let (sd, rd) = check(&dir, &label, basis, new, &opts, &extra);
                    println!("{label}: syncore delta {sd} bytes, rdiff delta {rd} bytes");
                    total_s += sd;
                    total_r += rd;
                }
            }
        }
    }
    println!("total: syncore {total_s} bytes, rdiff {total_r} bytes");
}

#[test]
fn default_options_match_rdiff_defaults() {
    let dir = Dir(tempfile::tempdir().unwrap());
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for len in [0usize, 100, 65_536, 65_537, 300_000, 2_000_000] {
        let basis = random(&mut rng, len);
        let mut new = basis.clone();
        if len > 10 {
            new.splice(len / 3..len / 3, random(&mut rng, 77));
        }
        let label = format!("defaults len={len}");
        let (sd, rd) = check(
            &dir,
            &label,
            &basis,
            &new,
            &SignatureOptions::default(),
            &[],
        );
        println!("{label}: syncore delta {sd} bytes, rdiff delta {rd} bytes");
    }
}
