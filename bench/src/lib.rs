//! Lab and benchmark harness.
