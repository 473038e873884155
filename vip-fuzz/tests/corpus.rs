//! Replays the corpus through BPF_PROG_TEST_RUN and the model. Needs root.
//! - corpus/*.fixture: disagreements the fuzzer found and that were resolved (program
//!   fixed, model fixed), and the decisions of docs/fuzzing.md: program and model must
//!   agree, and where a fixture writes its verdict (`expect`), with that.
//! - corpus/open/*.fixture: reported program bugs not fixed yet: the program must still
//!   disagree, so that a fix is noticed (then move the file up and drop its `--mimic`).
use std::path::Path;

use vip_fuzz::{
    compare::replay,
    corpus::{load_dir, Fixture},
    kernel::Kernel,
};
use vip_model::decide;

fn replay_all(dir: &str) -> Vec<(String, Fixture, Option<String>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let fixtures = load_dir(&dir).expect("corpus readable");
    let mut kernel = Kernel::load().expect("load the XDP program (needs root)");
    fixtures
        .into_iter()
        .map(|(name, fixture)| {
            let finding = replay(&mut kernel, &fixture.state, &fixture.frame).expect("test_run");
            (name, fixture, finding.map(|f| f.summary()))
        })
        .collect()
}

#[test]
fn resolved_fixtures_agree_with_the_model() {
    let results = replay_all("corpus");
    assert!(!results.is_empty(), "corpus/ holds fixtures");
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|(name, fixture, finding)| {
            if let Some(f) = finding {
                return Some(format!("{name}: {f}"));
            }
            // The hand-written verdict, where the fixture has one.
            let d = decide(&fixture.frame, &fixture.state);
            match fixture.expect {
                Some(expected) if expected != (d.action, d.reason) => Some(format!(
                    "{name}: expected {expected:?}, program and model {:?}",
                    (d.action, d.reason)
                )),
                _ => None,
            }
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn open_program_bugs_still_reproduce() {
    let fixed: Vec<String> = replay_all("corpus/open")
        .into_iter()
        .filter(|(_, _, finding)| finding.is_none())
        .map(|(name, _, _)| name)
        .collect();
    assert!(
        fixed.is_empty(),
        "fixed now: move to corpus/, note the fix and drop its --mimic: {fixed:?}"
    );
}
