//! Alternating rounds (issue 16): baseline and ours measured in turn, round after round, in one
//! run, so both see the same machine; each figure is reported as the median of the rounds with
//! its spread, (max - min) / median.

use std::time::Duration;

use crate::client::{Launcher, Load};

/// One round of one program: spawn times, the two loads, the peak RSS.
pub struct Round {
    /// Median of the round's spawn → `initialize` answer times.
    pub spawn: Duration,
    pub w1: Load,
    pub w16: Load,
    pub peak_rss_kib: u64,
}

/// The sizes of one round.
#[derive(Clone, Copy)]
pub struct Sizes {
    pub spawns: usize,
    pub w1_requests: usize,
    pub w16_requests: usize,
    pub warmup: usize,
}

/// Measures one round of `launcher`.
pub fn round(launcher: &Launcher, sizes: Sizes) -> Round {
    let mut spawns: Vec<Duration> = (0..sizes.spawns)
        .map(|_| {
            let (server, elapsed) = launcher.start();
            server.finish();
            elapsed
        })
        .collect();
    spawns.sort();
    let mut peak_rss_kib = 0;
    let mut load = |window: usize, total: usize| {
        let (mut server, _) = launcher.start();
        server.drive(window, sizes.warmup);
        let load = server.drive(window, total);
        peak_rss_kib = peak_rss_kib.max(server.peak_rss_kib());
        server.finish();
        load
    };
    let w1 = load(1, sizes.w1_requests);
    let w16 = load(16, sizes.w16_requests);
    Round {
        spawn: spawns[spawns.len() / 2],
        w1,
        w16,
        peak_rss_kib,
    }
}

/// Runs `rounds` rounds of both programs, alternating which goes first.
pub fn alternate(
    ours: &Launcher,
    base: &Launcher,
    rounds: usize,
    sizes: Sizes,
) -> (Vec<Round>, Vec<Round>) {
    let (mut o, mut b) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        if r % 2 == 0 {
            o.push(round(ours, sizes));
            b.push(round(base, sizes));
        } else {
            b.push(round(base, sizes));
            o.push(round(ours, sizes));
        }
        eprintln!("round {}/{rounds} done", r + 1);
    }
    (o, b)
}

/// The median and the spread of one figure over the rounds.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub median: f64,
    pub spread: f64,
}

impl Stat {
    pub fn of(mut values: Vec<f64>) -> Stat {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        let spread = (values[n - 1] - values[0]) / median;
        Stat { median, spread }
    }
}

/// The figures of the stdio table, in its row order, with their units.
pub const MEASURES: [(&str, &str); 8] = [
    ("throughput, W = 16", "req/s"),
    ("throughput, W = 1", "req/s"),
    ("p50 round trip, W = 1", "µs"),
    ("p99 round trip, W = 1", "µs"),
    ("p50 round trip, W = 16", "µs"),
    ("p99 round trip, W = 16", "µs"),
    ("spawn → `initialize` answer", "ms"),
    ("peak RSS (VmHWM)", "MiB"),
];

/// One value per measure of [`MEASURES`] for one round.
pub fn values(r: &Round) -> [f64; 8] {
    [
        r.w16.throughput(),
        r.w1.throughput(),
        r.w1.quantile_us(0.5),
        r.w1.quantile_us(0.99),
        r.w16.quantile_us(0.5),
        r.w16.quantile_us(0.99),
        r.spawn.as_secs_f64() * 1e3,
        r.peak_rss_kib as f64 / 1024.0,
    ]
}

/// The statistics of every measure over `rounds`.
pub fn stats(rounds: &[Round]) -> Vec<Stat> {
    let per_round: Vec<[f64; 8]> = rounds.iter().map(values).collect();
    (0..MEASURES.len())
        .map(|m| Stat::of(per_round.iter().map(|v| v[m]).collect()))
        .collect()
}
