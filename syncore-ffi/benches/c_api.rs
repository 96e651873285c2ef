//! Chunk + hash throughput through the C API next to the Rust API, in one process, on the
//! same seeded data: the C layer should cost nothing measurable (within 5%).
//!
//! `SYNCORE_BENCH_MIB` sets the input size (default 64 MiB).

#![allow(missing_docs)]

use std::ffi::{c_int, c_void};
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use syncore::buffers::{syncore_chunk_list_free, syncore_chunk_list_len};
use syncore::chunk::{
    syncore_chunk, syncore_chunk_stream_finish, syncore_chunk_stream_free,
    syncore_chunk_stream_new, syncore_chunk_stream_push, syncore_chunker,
    syncore_chunker_chunk_buffer, syncore_chunker_free, syncore_chunker_new,
};
use syncore::status::syncore_status;
use syncore_core::Chunker;

fn seeded_data() -> Vec<u8> {
    let mib: usize = std::env::var("SYNCORE_BENCH_MIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..mib << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

unsafe extern "C" fn count_chunk(
    userdata: *mut c_void,
    _chunk: *const syncore_chunk,
    _bytes: *const u8,
    _len: usize,
) -> c_int {
    // SAFETY: userdata is the `u64` counter passed below.
    unsafe { *userdata.cast::<u64>() += 1 };
    0
}

fn bench(c: &mut Criterion) {
    let data = seeded_data();
    let rust = Chunker::default();
    let mut chunker: *mut syncore_chunker = std::ptr::null_mut();
    assert_eq!(
        syncore_chunker_new(std::ptr::null(), &mut chunker),
        syncore_status::Ok
    );

    let mut group = c.benchmark_group("chunk_hash_c_api");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(10);
    group.bench_function("rust/chunk_slice", |b| {
        b.iter(|| black_box(rust.chunk_slice(&data)).len())
    });
    group.bench_function("c/syncore_chunker_chunk_buffer", |b| {
        b.iter(|| {
            let mut list = std::ptr::null_mut();
            let status =
                syncore_chunker_chunk_buffer(chunker, data.as_ptr(), data.len(), &mut list);
            assert_eq!(status, syncore_status::Ok);
            let n = syncore_chunk_list_len(list);
            syncore_chunk_list_free(list);
            black_box(n)
        })
    });
    const PIECE: usize = 1 << 20;
    group.bench_function("rust/stream_push", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let mut stream = rust.stream();
            for piece in data.chunks(PIECE) {
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
            black_box(n)
        })
    });
    group.bench_function("c/syncore_chunk_stream_push", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let ud = (&mut n as *mut u64).cast::<c_void>();
            let mut stream = std::ptr::null_mut();
            assert_eq!(
                syncore_chunk_stream_new(chunker, &mut stream),
                syncore_status::Ok
            );
            for piece in data.chunks(PIECE) {
                let status = syncore_chunk_stream_push(
                    stream,
                    piece.as_ptr(),
                    piece.len(),
                    Some(count_chunk),
                    ud,
                );
                assert_eq!(status, syncore_status::Ok);
            }
            let status =
                syncore_chunk_stream_finish(stream, Some(count_chunk), ud, std::ptr::null_mut());
            assert_eq!(status, syncore_status::Ok);
            syncore_chunk_stream_free(stream);
            black_box(n)
        })
    });
    group.finish();
    syncore_chunker_free(chunker);
}

criterion_group!(benches, bench);
criterion_main!(benches);
