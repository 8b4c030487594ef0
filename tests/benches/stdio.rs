//! The stdio benchmark (issues 7, 16): `cargo bench -p tests --bench stdio [-- --quick]`.
//!
//! Spawns the real server (the `app-server` main, built by `cargo bench` with the release
//! profile as `app-server-smoke`; `APP_SERVER_BIN=target/release/app-server` measures that file
//! instead) and the `stdio-baseline` program, pinned to separate cores when there are two
//! (`BENCH_PIN=off` leaves them unpinned), and measures them in turn for 7 rounds (`--quick`: 3,
//! `BENCH_ROUNDS=<n>`): throughput and round trips of `getAuthStatus` with 1 and 16 in flight,
//! the time from spawn to the `initialize` answer and the peak RSS, each reported as the median
//! of the rounds with its spread. Then the token requests the fake issuer counted for the
//! situations of PROTOCOL.md §5. `--quick` (or `BENCH_REQUESTS=<n>`) runs fewer requests;
//! `--only perf`, `--only counts` or `--only redis` (the Redis store against the file store)
//! runs one part.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "stdio/client.rs"]
mod client;
#[path = "stdio/counts.rs"]
mod counts;
#[path = "stdio/pin.rs"]
mod pin;
#[path = "stdio/redis_store.rs"]
mod redis_store;
#[path = "stdio/rounds.rs"]
mod rounds;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use auth_core::fake_issuer::FakeIssuer;

use client::Launcher;
use rounds::{MEASURES, Round, Sizes, Stat, stats};

/// Rounds of baseline and ours in turn, and the sizes of each round, in a full run and in
/// `--quick` (`BENCH_ROUNDS=<n>` and `BENCH_REQUESTS=<n>`, the W = 16 requests per round, override).
const FULL_ROUNDS: usize = 7;
const QUICK_ROUNDS: usize = 3;
const FULL: Sizes = Sizes {
    spawns: 5,
    w1_requests: 20_000,
    w16_requests: 100_000,
    warmup: 2_000,
};
const QUICK: Sizes = Sizes {
    spawns: 3,
    w1_requests: 2_000,
    w16_requests: 10_000,
    warmup: 500,
};
/// Requests sent before measuring, per process (the Redis part).
pub const WARMUP: usize = 2_000;

fn quick() -> bool {
    std::env::args().any(|a| a == "--quick")
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn sizes() -> Sizes {
    let mut sizes = if quick() { QUICK } else { FULL };
    if let Some(n) = env_number("BENCH_REQUESTS") {
        sizes.w16_requests = n;
        sizes.w1_requests = (n / 5).max(1);
    }
    sizes
}

fn rounds() -> usize {
    env_number("BENCH_ROUNDS").unwrap_or(if quick() { QUICK_ROUNDS } else { FULL_ROUNDS })
}

fn server_program() -> PathBuf {
    match std::env::var_os("APP_SERVER_BIN") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_BIN_EXE_app-server-smoke")),
    }
}

/// A home with ChatGPT credentials valid for an hour, written an hour ago.
fn bench_home(issuer: &FakeIssuer) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("home");
    let path = home.path().join("auth.json");
    auth_core::write_atomic(&path, issuer.auth_json().as_bytes()).expect("write");
    std::fs::File::options()
        .append(true)
        .open(&path)
        .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(3600)))
        .expect("set mtime");
    home
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

/// The goals of issue 16 on a row's median ratio and on our spread; `None`: no goal.
fn goal(measure: usize, ratio: f64, ours: &Stat) -> Option<(&'static str, bool)> {
    match measure {
        0 => Some((
            "≥ 0.7 × baseline, spread < 15%",
            ratio >= 0.7 && ours.spread < 0.15,
        )),
        2 => Some(("≤ 1.5 × baseline", ratio <= 1.5)),
        6 => Some(("≤ 2 × baseline", ratio <= 2.0)),
        7 => Some(("< 15 MB", ours.median * 1024.0 * 1024.0 < 15e6)),
        _ => None,
    }
}

fn print_performance(ours: &[Round], base: &[Round], sizes: Sizes) {
    println!(
        "\n### stdio performance: median of {} alternating rounds (`getAuthStatus`, includeToken; per round {} requests at W = 1, {} at W = 16, {} spawns)\n",
        ours.len(),
        sizes.w1_requests,
        sizes.w16_requests,
        sizes.spawns
    );
    println!("| Measure | Ours | spread | Baseline | spread | Ours / baseline | Goal | |");
    println!("|---|---:|---:|---:|---:|---:|---|---|");
    let (o, b) = (stats(ours), stats(base));
    for (m, (name, unit)) in MEASURES.iter().enumerate() {
        let ratio = o[m].median / b[m].median;
        let (goal, met) = match goal(m, ratio, &o[m]) {
            Some((text, met)) => (text, verdict(met)),
            None => ("", ""),
        };
        println!(
            "| {name} | {:.1} {unit} | {:.0}% | {:.1} {unit} | {:.0}% | {ratio:.2} | {goal} | {met} |",
            o[m].median,
            o[m].spread * 100.0,
            b[m].median,
            b[m].spread * 100.0,
        );
    }
    println!("\nPer round (ours / baseline): W = 16 req/s, W = 1 p50 µs");
    for (i, (o, b)) in ours.iter().zip(base).enumerate() {
        println!(
            "  round {}: {:.0} / {:.0}; {:.1} / {:.1}",
            i + 1,
            o.w16.throughput(),
            b.w16.throughput(),
            o.w1.quantile_us(0.5),
            b.w1.quantile_us(0.5)
        );
    }
}

fn print_counts(rows: &[counts::Row]) {
    println!("\n### Token requests counted at the fake issuer (real server processes)\n");
    println!("| Situation | Token requests | Goal | | Observed |");
    println!("|---|---:|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            row.situation,
            row.requests,
            row.goal,
            verdict(row.met),
            row.note
        );
    }
}

/// The machine, for the bench's header: CPU model, cores allowed, memory, kernel.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{model}; {cores} CPUs allowed; {mem_gib:.0} GiB; Linux {}",
        kernel.trim()
    )
}

fn main() {
    // Before pinning: the CPU count is that of the allowed mask.
    let machine = machine();
    let pinning = pin::plan();
    if let Some(p) = pinning {
        pin::pin_current(p.client);
    }
    let sizes = sizes();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let issuer = rt.block_on(FakeIssuer::start()).expect("issuer");
    let home = bench_home(&issuer);
    let program = server_program();
    let baseline = Path::new(env!("CARGO_BIN_EXE_stdio-baseline"));
    println!("server:   {}", program.display());
    println!("baseline: {}", baseline.display());
    println!("machine:  {machine}");
    println!("pinning:  {}", pin::describe(pinning));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let part = |name: &str| {
        let args: Vec<String> = std::env::args().collect();
        match args.iter().position(|a| a == "--only") {
            Some(i) => args.get(i + 1).is_some_and(|p| p == name),
            None => true,
        }
    };
    if part("perf") {
        let ours = Launcher::new(&program, home.path())
            .with_env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", &issuer.token_url())
            .with_env("CODEX_REVOKE_TOKEN_URL_OVERRIDE", &issuer.revoke_url())
            .pinned(pinning);
        let base = Launcher::new(baseline, home.path()).pinned(pinning);
        let (o, b) = rounds::alternate(&ours, &base, rounds(), sizes);
        print_performance(&o, &b, sizes);
    }
    if part("counts") {
        print_counts(&counts::run(&rt, &program));
    }
    if part("redis") {
        redis_store::run(&program, home.path(), &issuer, sizes.w16_requests, pinning);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\nload average after: {}", load.trim());
}
