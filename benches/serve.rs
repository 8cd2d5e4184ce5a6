//! `pactlog serve` under load: 16 readers (`GET /api/v1/state/{provision}`) and 4
//! writers (`POST /api/v1/events`, one event each) on loopback for 30 s against a
//! 100k-event ledger, with throughput and p50/p99 latency, compared in the same run
//! with a cold CLI `state` and a local `append` (one process each).
//!
//! `cargo bench --bench serve`; `PACTLOG_BENCH_EVENTS` (default 100000) and
//! `PACTLOG_BENCH_SECONDS` (default 30) change the size and the duration. The table
//! is printed and written to `target/bench-serve.md`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const READERS: usize = 16;
const WRITERS: usize = 4;
const PROVISIONS: usize = 2000;
const NOW: &str = "2026-01-01T00:00:00Z";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A fixed-seed generator (xorshift), so every run has the same ledger.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A provision index skewed towards the first ones.
    fn provision(&mut self) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((u * u) * PROVISIONS as f64) as usize
    }
}

/// The synthetic ledger as NDJSON: parties, one proposal, the provisions, then
/// status changes, stances and statements spread over a year.
fn generate(events: usize) -> String {
    let mut out = String::new();
    let mut line = |value: serde_json::Value| {
        out.push_str(&value.to_string());
        out.push('\n');
    };
    for party in ["us", "ukraine", "russia"] {
        line(
            serde_json::json!({"type": "party_registered", "party": party, "name": party, "occurred_at": "2025-01-01"}),
        );
    }
    line(
        serde_json::json!({"type": "proposal_tabled", "proposal": "plan", "title": "Plan", "parties": ["us"], "occurred_at": "2025-01-01"}),
    );
    for p in 0..PROVISIONS {
        line(
            serde_json::json!({"type": "provision_drafted", "provision": format!("p-{p}"), "proposal": "plan",
            "title": format!("Provision {p}"), "text": "The text of the provision as first drafted.", "occurred_at": "2025-01-01"}),
        );
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let statuses = [
        "contested",
        "under_negotiation",
        "agreed_in_principle",
        "agreed",
    ];
    let stances = ["supports", "opposes", "conditional", "undecided"];
    for i in 0..events.saturating_sub(PROVISIONS + 4) {
        let p = format!("p-{}", rng.provision());
        let day = format!(
            "2025-{:02}-{:02}",
            1 + (i * 12 / events).min(11),
            1 + i % 28
        );
        let source = serde_json::json!({"outlet": "Wire", "url": "https://example.org/story"});
        match rng.next() % 3 {
            0 => line(
                serde_json::json!({"type": "status_changed", "provision": p, "status": statuses[(rng.next() % 4) as usize],
                "occurred_at": day, "source": source}),
            ),
            1 => line(
                serde_json::json!({"type": "position_stated", "provision": p, "party": "us",
                "stance": stances[(rng.next() % 4) as usize], "summary": "A short summary of the stance.", "occurred_at": day, "source": source}),
            ),
            _ => line(
                serde_json::json!({"type": "statement_made", "quote": "A quote of some length about the provision under negotiation.",
                "attribution": "an official", "provisions": [p], "occurred_at": day, "source": source}),
            ),
        }
    }
    out
}

fn pactlog(db: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pactlog"));
    command
        .env_clear()
        .env("PACTLOG_DB", db)
        .env("PACTLOG_NOW", NOW)
        .env("PACTLOG_RECORDED_BY", "bench");
    command
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn sorted(mut ms: Vec<f64>) -> Vec<f64> {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    ms
}

/// Milliseconds of each run of a process.
fn cold(db: &std::path::Path, runs: usize, args: impl Fn(usize) -> Vec<String>) -> Vec<f64> {
    (0..runs)
        .map(|i| {
            let started = Instant::now();
            let status = pactlog(db)
                .args(args(i))
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect()
}

fn main() {
    let events = env_number("PACTLOG_BENCH_EVENTS", 100_000) as usize;
    let seconds = env_number("PACTLOG_BENCH_SECONDS", 30);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger");
    let file = dir.path().join("events.ndjson");
    std::fs::write(&file, generate(events)).unwrap();
    let started = Instant::now();
    assert!(pactlog(&db)
        .arg("import")
        .arg(&file)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success());
    eprintln!(
        "imported {events} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The same questions, one process each.
    let cli_state = sorted(cold(&db, 30, |i| {
        vec!["state".into(), format!("p-{}", i % 50), "--json".into()]
    }));
    let cli_append = sorted(cold(&db, 30, |i| {
        [
            "append",
            "status_changed",
            "--provision",
            "p-1",
            "--status",
            "contested",
            "--occurred-at",
            "2025-12-01",
            "--note",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("cli {i}")])
        .collect()
    }));

    let token = String::from_utf8(
        pactlog(&db)
            .args(["token", "add", "bench", "--role", "writer"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .lines()
    .last()
    .unwrap()
    .to_string();
    let mut server = pactlog(&db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();

    let stop = AtomicBool::new(false);
    let (reads, writes): (Vec<Vec<f64>>, Vec<Vec<f64>>) = std::thread::scope(|scope| {
        let worker = |write: bool, n: usize| {
            let (url, token, stop) = (&url, &token, &stop);
            scope.spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                let mut ms = Vec::new();
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let status = if write {
                        let event = format!(
                            r#"{{"type":"status_changed","provision":"p-{}","status":"contested","occurred_at":"2025-12-02","note":"writer {n} {i}"}}"#,
                            (n * 7 + i) % PROVISIONS
                        );
                        agent.post(format!("{url}/api/v1/events"))
                            .header("Authorization", format!("Bearer {token}"))
                            .send(event.as_str())
                            .map(|mut r| { let _ = r.body_mut().read_to_string(); r.status().as_u16() })
                    } else {
                        agent.get(format!("{url}/api/v1/state/p-{}", (n * 13 + i) % 50))
                            .header("Authorization", format!("Bearer {token}"))
                            .call()
                            .map(|mut r| { let _ = r.body_mut().read_to_string(); r.status().as_u16() })
                    };
                    let status = status.expect("the server answers");
                    assert!(status == 200 || status == 201, "status {status}");
                    ms.push(started.elapsed().as_secs_f64() * 1000.0);
                    i += 1;
                }
                ms
            })
        };
        let readers: Vec<_> = (0..READERS).map(|n| worker(false, n)).collect();
        let writers: Vec<_> = (0..WRITERS).map(|n| worker(true, n)).collect();
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
        (
            readers.into_iter().map(|h| h.join().unwrap()).collect(),
            writers.into_iter().map(|h| h.join().unwrap()).collect(),
        )
    });
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let exit = server.wait().unwrap();
    assert!(exit.success(), "the server stopped cleanly");
    let n_writes: usize = writes.iter().map(Vec::len).sum();
    let reads = sorted(reads.into_iter().flatten().collect());
    let writes = sorted(writes.into_iter().flatten().collect());
    let verify = pactlog(&db).arg("verify").output().unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let log = pactlog(&db)
        .args(["log", "--json"])
        .output()
        .unwrap()
        .stdout;
    let records = serde_json::from_slice::<serde_json::Value>(&log)
        .unwrap()
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        records,
        events + 30 + n_writes,
        "every acknowledged write is in the ledger"
    );

    let per_second = |n: usize| n as f64 / seconds as f64;
    let row = |what: &str, n: String, ms: &[f64]| {
        format!(
            "| {what} | {n} | {:.1} ms | {:.1} ms |\n",
            percentile(ms, 0.5),
            percentile(ms, 0.99)
        )
    };
    let mut table = format!(
        "{} events, {PROVISIONS} provisions; {READERS} readers and {WRITERS} writers for {seconds} s on loopback; {} CPUs\n\n| | throughput | p50 | p99 |\n|---|---:|---:|---:|\n",
        events,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    table += &row(
        "server: `GET /api/v1/state/{provision}`",
        format!("{:.0} req/s", per_second(reads.len())),
        &reads,
    );
    table += &row(
        "server: `POST /api/v1/events` (one event)",
        format!("{:.0} req/s", per_second(writes.len())),
        &writes,
    );
    table += &row(
        "cold CLI `pactlog state P --json` (one process each, 30 runs)",
        format!("{:.0} /s", 1000.0 / percentile(&cli_state, 0.5)),
        &cli_state,
    );
    table += &row(
        "local `pactlog append` (one process each, 30 runs)",
        format!("{:.0} /s", 1000.0 / percentile(&cli_append, 0.5)),
        &cli_append,
    );
    table += &format!(
        "\nafter the run: `verify` passes, {records} records, every acknowledged write present\n"
    );
    print!("{table}");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-serve.md");
    let _ = std::fs::File::create(target).and_then(|mut f| f.write_all(table.as_bytes()));
}
