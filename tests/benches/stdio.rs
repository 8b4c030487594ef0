//! The stdio benchmark (issue 7): `cargo bench -p tests --bench stdio [-- --quick]`.
//!
//! Spawns the real server (the `app-server` main, built by `cargo bench` with the release
//! profile as `app-server-smoke`; `APP_SERVER_BIN=target/release/app-server` measures that file
//! instead) and the `stdio-baseline` program, and for each prints throughput and round trips of
//! 100,000 `getAuthStatus` requests with 1 and 16 in flight, the time from spawn to the
//! `initialize` answer and the peak RSS, then the token requests the fake issuer counted for the
//! situations of PROTOCOL.md §5. `--quick` (or `BENCH_REQUESTS=<n>`) runs fewer requests;
//! `--only perf`, `--only counts` or `--only redis` (the Redis store against the file store)
//! runs one part.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "stdio/client.rs"]
mod client;
#[path = "stdio/counts.rs"]
mod counts;
#[path = "stdio/redis_store.rs"]
mod redis_store;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use auth_core::fake_issuer::FakeIssuer;

use client::{Launcher, Load};

/// Spawns measured for the startup time (the median is reported).
const SPAWNS: usize = 21;
/// Requests per window size in a full run, and in `--quick`.
const FULL: usize = 100_000;
const QUICK: usize = 10_000;
/// Requests sent before measuring, per process.
const WARMUP: usize = 2_000;

struct Figures {
    loads: Vec<(usize, Load)>,
    spawn: Duration,
    peak_rss_kib: u64,
}

fn requests() -> usize {
    if let Some(n) = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    if std::env::args().any(|a| a == "--quick") {
        QUICK
    } else {
        FULL
    }
}

fn measure(launcher: &Launcher, total: usize) -> Figures {
    let mut spawns: Vec<Duration> = (0..SPAWNS)
        .map(|_| {
            let (server, elapsed) = launcher.start();
            server.finish();
            elapsed
        })
        .collect();
    spawns.sort();
    let mut loads = Vec::new();
    let mut peak_rss_kib = 0;
    for window in [1, 16] {
        let (mut server, _) = launcher.start();
        server.drive(window, WARMUP);
        loads.push((window, server.drive(window, total)));
        peak_rss_kib = peak_rss_kib.max(server.peak_rss_kib());
        server.finish();
    }
    Figures {
        loads,
        spawn: spawns[SPAWNS / 2],
        peak_rss_kib,
    }
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

fn load_of(figures: &Figures, window: usize) -> &Load {
    &figures
        .loads
        .iter()
        .find(|(w, _)| *w == window)
        .expect("window")
        .1
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

fn print_performance(ours: &Figures, base: &Figures, total: usize) {
    let (o1, b1) = (load_of(ours, 1), load_of(base, 1));
    let (o16, b16) = (load_of(ours, 16), load_of(base, 16));
    println!(
        "\n### stdio performance ({total} `getAuthStatus` requests per window, includeToken)\n"
    );
    println!("| Measure | Ours | Baseline | Ours / baseline | Goal | |");
    println!("|---|---:|---:|---:|---|---|");
    let rate = |l: &Load| l.throughput();
    let row = |name: &str, o: f64, b: f64, unit: &str, goal: &str, met: bool| {
        println!(
            "| {name} | {o:.1} {unit} | {b:.1} {unit} | {:.2} | {goal} | {} |",
            o / b,
            verdict(met)
        );
    };
    let r16 = rate(o16) / rate(b16);
    row(
        "throughput, W = 16",
        rate(o16),
        rate(b16),
        "req/s",
        "≥ 0.5 × baseline",
        r16 >= 0.5,
    );
    row("throughput, W = 1", rate(o1), rate(b1), "req/s", "", true);
    let p50 = o1.quantile_us(0.5) / b1.quantile_us(0.5);
    row(
        "p50 round trip, W = 1",
        o1.quantile_us(0.5),
        b1.quantile_us(0.5),
        "µs",
        "≤ 2 × baseline",
        p50 <= 2.0,
    );
    row(
        "p99 round trip, W = 1",
        o1.quantile_us(0.99),
        b1.quantile_us(0.99),
        "µs",
        "",
        true,
    );
    row(
        "p50 round trip, W = 16",
        o16.quantile_us(0.5),
        b16.quantile_us(0.5),
        "µs",
        "",
        true,
    );
    row(
        "p99 round trip, W = 16",
        o16.quantile_us(0.99),
        b16.quantile_us(0.99),
        "µs",
        "",
        true,
    );
    let (os, bs) = (
        ours.spawn.as_secs_f64() * 1e3,
        base.spawn.as_secs_f64() * 1e3,
    );
    row(
        &format!("spawn → `initialize` answer (median of {SPAWNS})"),
        os,
        bs,
        "ms",
        "< 5 ms",
        os < 5.0,
    );
    let (om, bm) = (
        ours.peak_rss_kib as f64 / 1024.0,
        base.peak_rss_kib as f64 / 1024.0,
    );
    row(
        "peak RSS (VmHWM)",
        om,
        bm,
        "MiB",
        "< 15 MB",
        ours.peak_rss_kib * 1024 < 15_000_000,
    );
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

fn main() {
    let total = requests();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let issuer = rt.block_on(FakeIssuer::start()).expect("issuer");
    let home = bench_home(&issuer);
    let program = server_program();
    let baseline = Path::new(env!("CARGO_BIN_EXE_stdio-baseline"));
    println!("server:   {}", program.display());
    println!("baseline: {}", baseline.display());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("cores: {cores}; load average before: {}", load.trim());
    let part = |name: &str| {
        let args: Vec<String> = std::env::args().collect();
        match args.iter().position(|a| a == "--only") {
            Some(i) => args.get(i + 1).is_some_and(|p| p == name),
            None => true,
        }
    };
    if part("perf") {
        run_performance(&program, home.path(), &issuer, baseline, total);
    }
    if part("counts") {
        print_counts(&counts::run(&rt, &program));
    }
    if part("redis") {
        redis_store::run(&program, home.path(), &issuer, total);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\nload average after: {}", load.trim());
}

fn run_performance(
    program: &Path,
    home: &Path,
    issuer: &FakeIssuer,
    baseline: &Path,
    total: usize,
) {
    let ours = measure(
        &Launcher::new(program, home)
            .with_env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", &issuer.token_url())
            .with_env("CODEX_REVOKE_TOKEN_URL_OVERRIDE", &issuer.revoke_url()),
        total,
    );
    let base = measure(&Launcher::new(baseline, home), total);
    print_performance(&ours, &base, total);
}
