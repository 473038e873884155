//! Replays every fixture in corpus/ (each a disagreement the fuzzer once found, now
//! resolved) through BPF_PROG_TEST_RUN and the model: they must agree. Needs root.
use std::path::Path;

use vip_fuzz::{compare::replay, corpus::load_dir, kernel::Kernel};

#[test]
fn every_corpus_fixture_agrees_with_the_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let fixtures = load_dir(&dir).expect("corpus readable");
    let mut kernel = Kernel::load().expect("load the XDP program (needs root)");
    let failures: Vec<String> = fixtures
        .iter()
        .filter_map(|(name, fixture)| {
            let finding = replay(&mut kernel, &fixture.state, &fixture.frame).expect("test_run");
            finding.map(|f| format!("{name}: {}", f.summary()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
