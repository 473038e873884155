//! The fuzzing loop: random states, frames for each, program against model, stop at the
//! first disagreement with a minimised reproducer in the corpus.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vip_common::Reason;
use vip_model::{Action, ModelState, OpenBugs};

use crate::{
    compare::{compare, table_differences, Compared, Finding},
    corpus::{hex, Fixture},
    gen,
    kernel::{Kernel, KernelError, PinEvents},
    minimise::minimise,
    rng::Rng,
};

#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error("the flow tables differed after a state, but not when its frames were replayed")]
    NotReproduced,
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error("cannot write the reproducer {path}: {source}")]
    WriteFixture {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Options {
    pub frames: u64,
    pub seed: u64,
    /// Frames run against one map state before the next is drawn.
    pub frames_per_state: u64,
    /// Where a reproducer is written.
    pub corpus: PathBuf,
    /// Reported, unfixed program bugs the model imitates.
    pub mimic: OpenBugs,
}

#[derive(Default)]
pub struct Report {
    pub frames: u64,
    pub states: u64,
    pub elapsed: Duration,
    /// Frames per (action, reason) the program and model agreed on.
    pub verdicts: BTreeMap<(Reason, Action), u64>,
    /// The minimised disagreement and the fixture written for it.
    pub finding: Option<(Finding, PathBuf)>,
}

impl Report {
    pub fn frames_per_second(&self) -> f64 {
        self.frames as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub fn run(options: &Options, mut progress: impl FnMut(&Report)) -> Result<Report, FuzzError> {
    let mut kernel = Kernel::load()?;
    let mut rng = Rng::new(options.seed);
    let mut report = Report::default();
    let start = Instant::now();
    while report.frames < options.frames {
        let mut state = gen::state::state(&mut rng);
        state.mimic = options.mimic;
        let initial = state.clone();
        kernel.write(&state)?;
        report.states += 1;
        let first = report.frames;
        let mut frames = Vec::new();
        let events_before = kernel.pin_events()?;
        let mut events_expected = PinEvents::default();
        for _ in 0..options.frames_per_state.min(options.frames - report.frames) {
            let frame = gen::frame(&mut rng, &state);
            report.frames += 1;
            match compare(&mut kernel, &mut state, &frame, false)? {
                Compared::Agree(action, reason, event) => {
                    *report.verdicts.entry((reason, action)).or_default() += 1;
                    events_expected.add(event);
                }
                Compared::Disagree(finding) => {
                    let index = report.frames - 1;
                    return finish(&mut kernel, options, report, start, *finding, index);
                }
            }
            frames.push(frame);
            if report.frames.is_multiple_of(1_000_000) && report.frames < options.frames {
                report.elapsed = start.elapsed();
                progress(&report);
            }
        }
        // Once per state, the whole flow table (a frame may have touched an entry that is
        // not its own) and the flow-guard counts. A difference: replay the state frame by
        // frame to see which one.
        let events = kernel.pin_events()?.since(&events_before);
        if events != events_expected || !table_differences(&kernel, &state)?.is_empty() {
            let (finding, index) = locate(&mut kernel, &initial, &frames)?;
            return finish(&mut kernel, options, report, start, finding, first + index);
        }
    }
    report.elapsed = start.elapsed();
    Ok(report)
}

/// Minimises `finding` and writes it to the corpus.
fn finish(
    kernel: &mut Kernel,
    options: &Options,
    mut report: Report,
    start: Instant,
    finding: Finding,
    index: u64,
) -> Result<Report, FuzzError> {
    let small = minimise(kernel, finding)?;
    let path = write_fixture(&options.corpus, options.seed, index, &small)?;
    report.elapsed = start.elapsed();
    report.finding = Some((small, path));
    Ok(report)
}

/// Replays `frames` from `initial`, comparing the whole flow table after each, and returns
/// the first disagreement and its position.
fn locate(
    kernel: &mut Kernel,
    initial: &ModelState,
    frames: &[Vec<u8>],
) -> Result<(Finding, u64), FuzzError> {
    kernel.write(initial)?;
    let mut state = initial.clone();
    for (index, frame) in frames.iter().enumerate() {
        if let Compared::Disagree(finding) = compare(kernel, &mut state, frame, true)? {
            return Ok((*finding, index as u64));
        }
    }
    Err(FuzzError::NotReproduced)
}

fn write_fixture(dir: &Path, seed: u64, index: u64, f: &Finding) -> Result<PathBuf, FuzzError> {
    let path = dir.join(format!("seed{seed}-frame{index}.fixture"));
    let action = |a: Action| format!("{a:?}");
    let fixture = Fixture {
        notes: vec![
            format!("found by `cargo xtask fuzz --seed {seed}` at frame {index}, minimised"),
            f.summary(),
            format!(
                "model:   {} {} {}",
                action(f.model.action),
                f.model.reason.label(),
                hex(&f.model.output)
            ),
            format!(
                "program: {} {} {}",
                action(f.program.action),
                f.program.reason.label(),
                hex(&f.program.output)
            ),
            "resolution: open".into(),
        ],
        state: f.state.clone(),
        frame: f.frame.clone(),
        expect: None,
    };
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&path, fixture.to_text()))
        .map_err(|source| FuzzError::WriteFixture {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}
