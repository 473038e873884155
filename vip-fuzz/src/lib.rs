//! Differential fuzzing of the XDP program: seeded random map states and frames, each run
//! through BPF_PROG_TEST_RUN and through the independent model in `vip-model`, with the
//! invariants checked on every frame. A disagreement is minimised and kept as a fixture.
pub mod compare;
pub mod corpus;
pub mod fuzz;
pub mod gen;
pub mod kernel;
pub mod minimise;
pub mod rng;
