#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| syncore_fuzz::chunker::chunker_invariants(data));
