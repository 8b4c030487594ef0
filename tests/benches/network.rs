//! The network benchmark (issue 16): `cargo bench -p tests --bench network [-- --quick]`.
//!
//! Clients that each keep one `getAuthStatus {"includeToken":true}` in flight (after
//! `initialize`), 1, 16 and 256 of them over WebSocket and 256 over the unix socket, against our
//! server (`app-server-smoke`, the real main built by `cargo bench` with the release profile, or
//! `APP_SERVER_BIN`) and against the real Codex app-server (`CODEX_BIN`, e.g. npm
//! `@openai/codex@0.171.0`: `tests/benches/install-codex.sh DIR` installs it; without `CODEX_BIN`
//! those rows are skipped). Both get API-key credentials in a temporary `CODEX_HOME`, so neither
//! needs the network. Each case spawns a fresh server (on its own core when the machine has two:
//! `BENCH_PIN=off` leaves it unpinned) and reports throughput, round-trip p50/p99 and the
//! server's peak RSS (`VmHWM`). The unix-socket clients speak WebSocket to both servers: with
//! the HTTP upgrade to Codex's control socket, from the first byte to ours.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "network/client.rs"]
mod client;
#[path = "stdio/pin.rs"]
mod pin;
#[path = "network/server.rs"]
mod server;

use std::path::PathBuf;

use client::{Transport, UnixOpening};
use server::{Kind, Spawned};

/// Requests per case in a full run and in `--quick` (`BENCH_REQUESTS=<n>` overrides), split
/// evenly over the clients, at least [`MIN_PER_CLIENT`] each.
const FULL: usize = 100_000;
const QUICK: usize = 10_000;
const MIN_PER_CLIENT: usize = 20;
/// Requests per client before measuring.
const WARMUP_PER_CLIENT: usize = 5;

/// The cases: transport and number of clients.
const CASES: [(Transport, usize); 4] = [
    (Transport::WebSocket, 1),
    (Transport::WebSocket, 16),
    (Transport::WebSocket, 256),
    (Transport::Unix, 256),
];

fn total() -> usize {
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

struct Row {
    case: String,
    /// Clients the server turned away (connection limit).
    refused: usize,
    server: &'static str,
    throughput: f64,
    p50_us: f64,
    p99_us: f64,
    peak_rss_mib: f64,
}

fn main() {
    let pinning = pin::plan();
    if let Some(p) = pinning {
        pin::pin_current(p.client);
    }
    let total = total();
    let ours = match std::env::var_os("APP_SERVER_BIN") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_BIN_EXE_app-server-smoke")),
    };
    let codex = std::env::var_os("CODEX_BIN").map(PathBuf::from);
    println!("ours:    {}", ours.display());
    match &codex {
        Some(c) => println!("codex:   {} ({})", c.display(), server::version(c)),
        None => println!(
            "codex:   not measured (set CODEX_BIN; tests/benches/install-codex.sh installs it)"
        ),
    }
    println!("pinning: {}", pin::describe(pinning));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    for (transport, clients) in CASES {
        let per_client = (total / clients).max(MIN_PER_CLIENT);
        let mut servers = vec![(Kind::Ours, ours.clone())];
        if let Some(c) = &codex {
            servers.push((Kind::Codex, c.clone()));
        }
        for (kind, program) in servers {
            let spawned = Spawned::start(kind, &program, transport, pinning);
            let opening = match kind {
                Kind::Ours => UnixOpening::RawFrames,
                Kind::Codex => UnixOpening::HttpUpgrade,
            };
            let load = rt.block_on(client::run(
                &spawned.endpoint,
                transport,
                opening,
                clients,
                WARMUP_PER_CLIENT,
                per_client,
            ));
            let peak_rss_kib = spawned.peak_rss_kib();
            spawned.stop();
            let row = Row {
                case: format!("{} × {clients}", transport.name()),
                refused: load.refused,
                server: kind.name(),
                throughput: load.throughput(),
                p50_us: load.quantile_us(0.5),
                p99_us: load.quantile_us(0.99),
                peak_rss_mib: peak_rss_kib as f64 / 1024.0,
            };
            eprintln!(
                "{} {}: {:.0} req/s, p50 {:.1} µs, p99 {:.1} µs, {:.1} MiB, {} refused",
                row.case,
                row.server,
                row.throughput,
                row.p50_us,
                row.p99_us,
                row.peak_rss_mib,
                row.refused
            );
            rows.push(row);
        }
    }
    print_table(&rows, total);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\nload average after: {}", load.trim());
}

fn print_table(rows: &[Row], total: usize) {
    println!(
        "\n### Network transports: `getAuthStatus` (includeToken), one in flight per client, {total} requests per case\n"
    );
    println!("| Case | Server | clients served | req/s | p50 | p99 | peak RSS |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let clients: usize = r
            .case
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        println!(
            "| {} | {} | {}{} | {:.0} | {:.1} µs | {:.1} µs | {:.1} MiB |",
            r.case,
            r.server,
            clients - r.refused,
            if r.refused > 0 { " (rest refused)" } else { "" },
            r.throughput,
            r.p50_us,
            r.p99_us,
            r.peak_rss_mib
        );
    }
    let ours: Vec<&Row> = rows.iter().filter(|r| r.server == "ours").collect();
    let codex: Vec<&Row> = rows.iter().filter(|r| r.server == "codex").collect();
    if codex.is_empty() {
        return;
    }
    println!(
        "\n| Case | req/s ours / codex | p50 codex / ours | p99 codex / ours | RSS codex / ours | ahead on all |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    for (o, c) in ours.iter().zip(&codex) {
        let ahead = o.refused <= c.refused
            && o.throughput > c.throughput
            && o.p50_us < c.p50_us
            && o.p99_us < c.p99_us
            && o.peak_rss_mib < c.peak_rss_mib;
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            o.case,
            o.throughput / c.throughput,
            c.p50_us / o.p50_us,
            c.p99_us / o.p99_us,
            c.peak_rss_mib / o.peak_rss_mib,
            if ahead { "yes" } else { "**no**" }
        );
    }
    if let Some(r) = ours.iter().find(|r| r.case.ends_with("× 256")) {
        println!(
            "\nours at 256 clients: {:.1} MiB peak RSS (goal < 30 MB: {})",
            r.peak_rss_mib,
            if r.peak_rss_mib * 1024.0 * 1024.0 < 30e6 {
                "met"
            } else {
                "**missed**"
            }
        );
    }
}
