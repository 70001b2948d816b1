//! The image reference parser on any text.
#![no_main]

use fargate_preflight::image::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse(&String::from_utf8_lossy(data));
    let _ = parsed.ecr();
    assert!(!parsed.reference.is_empty());
});
