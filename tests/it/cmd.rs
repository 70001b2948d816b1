//! CLI behaviour as trycmd case files (tests/cmd/*.toml: args, expected output, exit code),
//! every case with the environment cleared.

#[test]
fn cli_cases() {
    trycmd::TestCases::new()
        .register_bin(
            "fargate-preflight",
            std::path::PathBuf::from(env!("CARGO_BIN_EXE_fargate-preflight")),
        )
        .case("tests/cmd/*.toml");
}
