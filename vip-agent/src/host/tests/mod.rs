//! Namespace tests: they need root and iproute2, and never touch the root
//! network namespace.

mod neighbour_in_netns;
mod netns;
mod setup_in_netns;
