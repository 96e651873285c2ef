//! Chunker invariants on arbitrary input and parameters: chunks tile the input exactly, sizes
//! stay within `[min, max]` except the last, every entry point agrees, and FastCDC boundaries
//! equal the `fastcdc` crate's.

use fastcdc::v2020::{FastCDC, Normalization};
use syncore::chunk::{Chunk, Chunker, ChunkerConfig};
use syncore::HashAlgo;

/// The first 4 bytes choose the parameters (possibly invalid ones, which must be rejected
/// cleanly); the rest is the input, pushed in pieces whose sizes come from the input too.
pub fn chunker_invariants(data: &[u8]) {
    let Some((params, input)) = data.split_first_chunk::<4>() else {
        return;
    };
    let min = 64 + u32::from(params[0]) * 4;
    let avg = min + u32::from(params[1]) * 8;
    let max = avg + u32::from(params[2]) * 16;
    let level = params[3] % 5; // 4 is invalid on purpose
    let config = if params[3] >= 200 {
        ChunkerConfig::fixed(u32::from(params[0]))
    } else {
        ChunkerConfig::FastCdc {
            min_size: min,
            avg_size: avg,
            max_size: max,
            level,
        }
    };
    let chunker = match Chunker::new(config, HashAlgo::Blake3) {
        Ok(chunker) => chunker,
        Err(err) => {
            assert_eq!(err.kind(), syncore::ErrorKind::InvalidInput);
            return;
        }
    };
    let slice = chunker.chunk_slice(input);
    check_tiling(&config, input, &slice);
    if let ChunkerConfig::FastCdc { .. } = config {
        let oracle: Vec<(u64, u32)> = FastCDC::with_level(
            input,
            min as usize,
            avg as usize,
            max as usize,
            match level {
                0 => Normalization::Level0,
                1 => Normalization::Level1,
                2 => Normalization::Level2,
                _ => Normalization::Level3,
            },
        )
        .map(|c| (c.offset as u64, c.length as u32))
        .collect();
        let ours: Vec<(u64, u32)> = slice.iter().map(|c| (c.offset, c.len)).collect();
        assert_eq!(ours, oracle, "boundaries differ from the fastcdc crate");
    }

    let mut streamed = Vec::new();
    let mut stream = chunker.stream();
    let mut rest = input;
    let mut step = usize::from(params[0]) + 1;
    while !rest.is_empty() {
        let n = step.min(rest.len());
        stream
            .push(&rest[..n], |c, bytes| {
                assert_eq!(bytes.len(), c.len as usize);
                streamed.push(*c);
                Ok(())
            })
            .expect("an infallible sink cannot fail");
        rest = &rest[n..];
        step = step * 3 % 1021 + 1;
    }
    let total = stream
        .finish(|c, _| {
            streamed.push(*c);
            Ok(())
        })
        .expect("an infallible sink cannot fail");
    assert_eq!(total, input.len() as u64);
    assert_eq!(streamed, slice, "streaming and slice chunking disagree");
}

fn check_tiling(config: &ChunkerConfig, input: &[u8], chunks: &[Chunk]) {
    let (min, max) = match *config {
        ChunkerConfig::FastCdc {
            min_size, max_size, ..
        } => (min_size, max_size),
        ChunkerConfig::Fixed { size } => (size, size),
    };
    let mut offset = 0u64;
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(
            chunk.offset, offset,
            "chunk {i} does not start where the last ended"
        );
        assert!(
            chunk.len > 0 && chunk.len <= max,
            "chunk {i} length {} > max",
            chunk.len
        );
        if i + 1 < chunks.len() {
            assert!(chunk.len >= min, "chunk {i} length {} < min", chunk.len);
        }
        let bytes = &input[chunk.offset as usize..chunk.end() as usize];
        assert_eq!(
            chunk.id,
            HashAlgo::Blake3.digest(bytes),
            "chunk {i} id is wrong"
        );
        offset = chunk.end();
    }
    assert_eq!(offset, input.len() as u64, "chunks do not cover the input");
}
