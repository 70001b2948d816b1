//! One source for check prose: the registry. The README's checks table is generated from it,
//! and the contract in docs/product.md lists the same ids in the same order (plus ids marked
//! *new*, which are being built).

use fargate_preflight::checks::{self, REGISTRY};

use crate::repo;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn readme_checks_table_is_the_generated_one() {
    let readme = read("README.md");
    let start = readme.find("<!-- checks:start").expect("start marker");
    let body = &readme[start..];
    let table = &body[body.find('\n').expect("marker line") + 1
        ..body.find("<!-- checks:end -->").expect("end marker")];
    assert_eq!(
        table,
        checks::markdown_table(),
        "README's checks table is stale: paste `fargate-preflight checks --format markdown` between the markers"
    );
}

/// (id, marked new) of each row of the contract's checks table.
fn contract_checks() -> Vec<(String, bool)> {
    let contract = read("docs/product.md");
    let section = &contract[contract.find("## Checks").expect("a Checks section")..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| id ") && !l.starts_with("| ---"))
        .map(|l| {
            let first = l
                .trim_start_matches("| ")
                .split(" |")
                .next()
                .unwrap_or_default();
            let new = first.ends_with("*new*");
            (first.trim_end_matches("*new*").trim().to_string(), new)
        })
        .collect()
}

#[test]
fn contract_and_registry_list_the_same_checks_in_order() {
    let contract = contract_checks();
    assert!(
        contract.len() > 20,
        "contract table not found: {contract:?}"
    );
    let built: Vec<&str> = contract
        .iter()
        .filter(|(_, new)| !new)
        .map(|(id, _)| id.as_str())
        .collect();
    let registry: Vec<&str> = REGISTRY.iter().map(|c| c.id).collect();
    assert_eq!(
        built, registry,
        "docs/product.md and the registry disagree (an implemented check loses its *new* mark there)"
    );
}
