//! Interleaved A/B timing of the C API against the Rust API: for each operation, runs the two
//! back to back (alternating which goes first) on the same seeded data, and reports the median
//! of the per-pair time ratios. On a shared, loaded machine this cancels the drift that makes
//! separately-timed runs incomparable. `SYNCORE_BENCH_MIB` (default 32) and
//! `SYNCORE_BENCH_PAIRS` (default 15) set the size and the number of pairs.

#![allow(missing_docs)]

use std::ffi::{c_int, c_void};
use std::hint::black_box;
use std::time::Instant;

use syncore::buffers::{syncore_bytes_free, syncore_chunk_list_free};
use syncore::chunk::{
    syncore_chunk, syncore_chunk_stream_finish, syncore_chunk_stream_free,
    syncore_chunk_stream_new, syncore_chunk_stream_push, syncore_chunker_chunk_buffer,
    syncore_chunker_free, syncore_chunker_new,
};
use syncore::delta::{
    syncore_delta_new, syncore_delta_patch, syncore_signature_free, syncore_signature_new,
};
use syncore::status::syncore_status;
use syncore_core::delta::{self, SignatureOptions};
use syncore_core::Chunker;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn seeded(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn time(f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// Runs `rust` and `c` in `pairs` interleaved pairs; prints medians and the median ratio.
fn ab(name: &str, mib: f64, pairs: usize, rust: &mut dyn FnMut(), c: &mut dyn FnMut()) {
    rust();
    c();
    let (mut tr, mut tc, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..pairs {
        let (r, k) = if i % 2 == 0 {
            let r = time(rust);
            (r, time(c))
        } else {
            let k = time(c);
            (time(rust), k)
        };
        tr.push(r);
        tc.push(k);
        ratios.push(k / r);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (r, k, ratio) = (median(&mut tr), median(&mut tc), median(&mut ratios));
    println!(
        "{name:<28} rust {:>8.1} MiB/s   C API {:>8.1} MiB/s   C/Rust time {:+.1}% (median of {pairs} pairs)",
        mib / r,
        mib / k,
        (ratio - 1.0) * 100.0
    );
}

unsafe extern "C" fn count(
    userdata: *mut c_void,
    _chunk: *const syncore_chunk,
    _bytes: *const u8,
    _len: usize,
) -> c_int {
    // SAFETY: userdata is the `u64` counter passed below.
    unsafe { *userdata.cast::<u64>() += 1 };
    0
}

fn main() {
    let mib = env("SYNCORE_BENCH_MIB", 32);
    let pairs = env("SYNCORE_BENCH_PAIRS", 15);
    let data = seeded(mib << 20);
    let m = mib as f64;
    println!("A/B, {mib} MiB of seeded data, FastCDC 16/64/256 KiB + BLAKE3; rdiff-default deltas");

    let rust = Chunker::default();
    let mut chunker = std::ptr::null_mut();
    assert_eq!(
        syncore_chunker_new(std::ptr::null(), &mut chunker),
        syncore_status::Ok
    );
    ab(
        "chunk+hash buffer",
        m,
        pairs,
        &mut || {
            black_box(rust.chunk_slice(&data));
        },
        &mut || {
            let mut list = std::ptr::null_mut();
            let s = syncore_chunker_chunk_buffer(chunker, data.as_ptr(), data.len(), &mut list);
            assert_eq!(s, syncore_status::Ok);
            syncore_chunk_list_free(list);
        },
    );
    ab(
        "chunk+hash push stream",
        m,
        pairs,
        &mut || {
            let mut n = 0u64;
            let mut stream = rust.stream();
            for piece in data.chunks(1 << 20) {
                stream
                    .push(piece, |_, _| {
                        n += 1;
                        Ok(())
                    })
                    .unwrap();
            }
            stream
                .finish(|_, _| {
                    n += 1;
                    Ok(())
                })
                .unwrap();
            black_box(n);
        },
        &mut || {
            let mut n = 0u64;
            let ud = (&mut n as *mut u64).cast::<c_void>();
            let mut stream = std::ptr::null_mut();
            assert_eq!(
                syncore_chunk_stream_new(chunker, &mut stream),
                syncore_status::Ok
            );
            for piece in data.chunks(1 << 20) {
                let s =
                    syncore_chunk_stream_push(stream, piece.as_ptr(), piece.len(), Some(count), ud);
                assert_eq!(s, syncore_status::Ok);
            }
            let s = syncore_chunk_stream_finish(stream, Some(count), ud, std::ptr::null_mut());
            assert_eq!(s, syncore_status::Ok);
            syncore_chunk_stream_free(stream);
            black_box(n);
        },
    );
    syncore_chunker_free(chunker);

    let mut new = data.clone();
    for at in (0..new.len()).step_by(1 << 20) {
        new[at] ^= 0x5A;
    }
    let opts = SignatureOptions::default();
    let sig = delta::signature_of(&data, &opts).unwrap();
    let delta_bytes = delta::delta(&sig, &new).unwrap();
    let mut c_sig = std::ptr::null_mut();
    let s = syncore_signature_new(data.as_ptr(), data.len(), std::ptr::null(), &mut c_sig);
    assert_eq!(s, syncore_status::Ok);
    ab(
        "delta signature",
        m,
        pairs,
        &mut || {
            black_box(delta::signature_of(&data, &opts).unwrap());
        },
        &mut || {
            let mut out = std::ptr::null_mut();
            let s = syncore_signature_new(data.as_ptr(), data.len(), std::ptr::null(), &mut out);
            assert_eq!(s, syncore_status::Ok);
            syncore_signature_free(out);
        },
    );
    ab(
        "delta generate",
        m,
        pairs,
        &mut || {
            black_box(delta::delta(&sig, &new).unwrap());
        },
        &mut || {
            let mut out = std::ptr::null_mut();
            let s = syncore_delta_new(c_sig, new.as_ptr(), new.len(), &mut out);
            assert_eq!(s, syncore_status::Ok);
            syncore_bytes_free(out);
        },
    );
    ab(
        "delta patch",
        m,
        pairs,
        &mut || {
            black_box(delta::patch(&data, &delta_bytes, None).unwrap());
        },
        &mut || {
            let mut out = std::ptr::null_mut();
            let s = syncore_delta_patch(
                data.as_ptr(),
                data.len(),
                delta_bytes.as_ptr(),
                delta_bytes.len(),
                u64::MAX,
                &mut out,
            );
            assert_eq!(s, syncore_status::Ok);
            syncore_bytes_free(out);
        },
    );
    syncore_signature_free(c_sig);
}
