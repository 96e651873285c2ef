#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| syncore_fuzz::delta::patch_apply(data));
