//! BPF_PROG_TEST_RUN access for the packet tests and `cargo xtask bench-xdp`.
use aya::programs::{TestRun, TestRunOptions, Xdp};
use vip_common::{map_names as names, FlowKey, FlowTarget, PROGRAM_NAME};

use super::{error::map_err, program_error, program_missing, Dataplane, Result};

impl Dataplane {
    /// Runs the program once on `frame` (BPF_PROG_TEST_RUN) and returns the action and the
    /// frame as the program left it.
    pub fn test_run(&self, frame: &[u8]) -> Result<(u32, Vec<u8>)> {
        let mut out = vec![0u8; frame.len() + 256];
        let result = self
            .program_ref()?
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut out),
                ..Default::default()
            })
            .map_err(program_error)?;
        out.truncate(result.data_size_out as usize);
        Ok((result.return_value, out))
    }

    /// Runs the program `repeat` times on `frame` in the kernel and returns the mean time
    /// per run. Every repeat sees the frame the previous one left.
    pub fn test_run_repeat(&self, frame: &[u8], repeat: u32) -> Result<std::time::Duration> {
        let result = self
            .program_ref()?
            .test_run(TestRunOptions {
                data_in: Some(frame),
                repeat,
                ..Default::default()
            })
            .map_err(program_error)?;
        Ok(result.duration)
    }

    /// Writes the flow-table entry of `key`, as the program or a peer's pin does.
    pub fn pin_flow(&mut self, key: &FlowKey, target: FlowTarget) -> Result<()> {
        self.flows
            .insert(key, target, 0)
            .map_err(map_err(names::FLOWS))
    }

    /// Every flow-table entry.
    pub fn flow_entries(&self) -> Vec<(FlowKey, FlowTarget)> {
        self.flows.iter().filter_map(|e| e.ok()).collect()
    }

    /// The whole flow-table entry of `key`, if any.
    pub fn flow_target(&self, key: &FlowKey) -> Option<FlowTarget> {
        self.flows.get(key, 0).ok()
    }

    /// The loaded program, for callers that time it themselves.
    pub fn program_ref(&self) -> Result<&Xdp> {
        let program = self
            .ebpf
            .program(PROGRAM_NAME)
            .ok_or_else(program_missing)?;
        program.try_into().map_err(program_error)
    }
}
