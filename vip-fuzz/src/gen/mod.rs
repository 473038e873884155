//! Seeded generation of map states and frames.
pub mod build;
pub mod frames;
pub mod mutate;
pub mod state;
pub mod universe;

use vip_model::ModelState;

use crate::rng::Rng;

/// A frame for `state`: well-formed, then mutated about half of the time.
pub fn frame(rng: &mut Rng, state: &ModelState) -> Vec<u8> {
    let mut f = frames::frame(rng, state);
    if rng.chance(50) {
        mutate::mutate(rng, &mut f);
    }
    f
}
