//! The IAM policy evaluator on any document (plain or URL-encoded JSON) and request.
#![no_main]

use fargate_preflight::policy::{evaluate, parse_document, wildcard_match, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // DOCUMENT \0 ACTION \0 RESOURCE
    let mut parts = text.splitn(3, '\0');
    let (doc, action, resource) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("s3:GetObject"),
        parts.next().unwrap_or("arn:aws:s3:::b/k"),
    );
    let _ = wildcard_match(action, resource, true);
    if let Ok(doc) = parse_document(doc) {
        let context = [
            ("aws:PrincipalAccount", "123456789012"),
            ("aws:PrincipalTag/env", "prod"),
        ];
        for principal in [None, Some("arn:aws:iam::123456789012:role/r")] {
            let _ = evaluate(
                &doc,
                &Request {
                    action,
                    resource,
                    principal,
                    context: &context,
                },
            );
        }
    }
});
