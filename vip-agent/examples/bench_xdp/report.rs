//! The markdown table of the medians, and what it means.
use crate::{Args, Mode, Path};

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// 1000000 -> 1,000,000
fn grouped(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// "min–max" of `values`.
fn spread(values: impl Iterator<Item = f64>, decimals: usize) -> String {
    let v: Vec<f64> = values.collect();
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{min:.decimals$}–{max:.decimals$}")
}

pub fn print(args: &Args, paths: &[Path], samples: &[Vec<(f64, f64)>]) {
    let label = |mode| match mode {
        Mode::Repeat => format!("repeat {}", grouped(args.repeat)),
        Mode::Calls => format!("{} calls × repeat 1", grouped(args.calls)),
    };
    println!(
        "| Path | Measured as | ns/packet | ns spread | empty ns | over empty ns | × empty | × empty spread | Goal | Verdict |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|---|");
    for mode in [Mode::Repeat, Mode::Calls] {
        let all = || (paths.iter().zip(samples)).filter(move |(p, _)| p.mode == mode);
        let empty = median(all().flat_map(|(_, s)| s.iter().map(|x| x.1)));
        let empty_spread = spread(all().flat_map(|(_, s)| s.iter().map(|x| x.1)), 1);
        let what = "empty XDP program (`vip_empty`, baseline)";
        println!(
            "| {what} | {} | {empty:.1} | {empty_spread} | {empty:.1} | 0.0 | 1.00× | — | — | baseline |",
            label(mode)
        );
    }
    for (path, s) in paths.iter().zip(samples) {
        let ns = median(s.iter().map(|x| x.0));
        let ns_spread = spread(s.iter().map(|x| x.0), 1);
        let empty = median(s.iter().map(|x| x.1));
        let over = median(s.iter().map(|x| x.0 - x.1));
        let ratio = median(s.iter().map(|x| x.0 / x.1));
        let ratio_spread = spread(s.iter().map(|x| x.0 / x.1), 2);
        let (goal, verdict) = match path.goal {
            Some(goal) => (
                format!("≤ {goal:.1}×"),
                if ratio <= goal { "met" } else { "MISSED" },
            ),
            None => ("—".to_string(), "info"),
        };
        let (name, how) = (path.name, label(path.mode));
        println!("| {name} | {how} | {ns:.1} | {ns_spread} | {empty:.1} | {over:.1} | {ratio:.2}× | {ratio_spread}× | {goal} | {verdict} |");
    }
    println!();
    println!("{}", NOTES.trim());
}

const NOTES: &str = "
- Goals (issue 12) are for single calls (`calls × repeat 1`), as ratios to the empty program
  in the same run: ARP reply ≤ 1.5×, non-VIP pass ≤ 1.1×, flow hit ≤ 2.3×, new flow ≤ 4.6×.
  Spreads are min–max over the rounds.
- A SYN pins nothing (issue 10 item 9): the new-connection rows time Maglev without a flow
  insert; the unpinned-flow row times the first ACK of a flow that misses (Maglev and the
  insert), with its entry removed by a syscall before every call (outside the timed window).
- ns/packet: median over the rounds of the kernel's own BPF_PROG_TEST_RUN timing. `repeat N`:
  one call running the program N times, mean reported by the kernel in whole ns (floored, so
  a 6 ns baseline is 6.0-6.99 ns); `calls`: mean of single-run calls.
- empty ns: the empty program timed the same way, right before or after each path in each
  round (alternating); × empty and over empty ns are medians of the per-round ratio and
  difference. A single-run call also times the harness around the program (two clock reads,
  bh disable/enable), so its ratios sit closer to 1 than repeat ratios: compare across modes
  by over empty ns.
- Every repeat of one call sees the frame the previous one left, so repeat times only frames
  the path leaves unchanged; the \"repeated\" ARP/NS rows time the rewritten reply on the
  next run (reply → pass), not the reply itself.
- The forwarded repeat rows use a bench-only backend with this node's MAC, not local: the
  forwarded frame is its own input, so every repeat forwards again with the same lookups and
  writes as to a peer (a peer's forwarded frame would pass as not for our MAC on the next
  repeat).
- Checked on every call: action and output frame; after every measurement: the reason (and
  backend) counters moved exactly once per run. Flow-hit flows are stored under one Maglev
  table and timed under another that maps their ports elsewhere, so the backend counter
  proves each timed packet took the flow-table hit.
- Maglev ring 65537 slots, flow table 262144 entries (the agent's defaults).
";
