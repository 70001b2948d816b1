//! The manifest and image config parsers on any bytes (what a registry sends back).
#![no_main]

use fargate_preflight::manifest::{config_platform, parse, Parsed, OCI_INDEX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for media_type in [None, Some(OCI_INDEX)] {
        if let Parsed::Index(platforms, _) = parse(media_type, &text) {
            // Attestations (unknown/unknown) are never offered as platforms.
            assert!(!platforms
                .iter()
                .any(|p| p.os == "unknown" && p.architecture == "unknown"));
        }
    }
    let _ = config_platform(data);
});
