//! The README carries the kube-vip env mapping; it must match the code's table.
#[test]
fn readme_kube_vip_table_matches_the_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let in_readme: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("<!-- kube-vip-env:begin"))
        .skip(1)
        .take_while(|l| !l.starts_with("<!-- kube-vip-env:end"))
        .collect();
    let generated = vip_agent::config::kube_vip_env_table_markdown();
    let expected: Vec<&str> = generated.lines().filter(|l| l.starts_with('|')).collect();
    assert!(!expected.is_empty());
    assert_eq!(
        in_readme, expected,
        "regenerate the README table from docs/kube-vip-env.md"
    );
}
