//! The scale benchmark: pactlog against SQLite and raw sled on synthetic ledgers.
//!
//! `cargo bench --bench scale` runs 100k events by default;
//! `PACTLOG_BENCH_SIZES=100000,1000000` runs both sizes in one table (1M is opt-in
//! while its import takes minutes), `PACTLOG_BENCH_QUICK=1` is a smoke test at 10k
//! with few repetitions, and prints one markdown table, also written to
//! `$CARGO_TARGET_DIR/bench-scale.md` (or `target/bench-scale.md`). The work happens
//! in a temporary folder under `PACTLOG_BENCH_DIR` (default: the system's), deleted at
//! the end unless `PACTLOG_BENCH_KEEP=1`.
//!
//! For each size it:
//! - generates a realistic ledger with a fixed seed (parties, actors, proposals,
//!   Zipf-skewed activity over many provisions, meetings scheduled and held,
//!   statements with quotes and sources, 5% late arrivals, ~1% corrections), as
//!   NDJSON valid for `pactlog import`;
//! - imports it with pactlog (`append_all`, one call per session of 10,000 events,
//!   each session one day of record time later), with SQLite (WAL,
//!   synchronous=NORMAL, 10,000 rows per transaction) and with raw sled
//!   (`apply_batch` of the same bytes, 10,000 per batch);
//! - asks the state of the busiest provision at random cuts: pactlog in process,
//!   a full replay of the log, the same question answered from SQLite;
//! - runs the release binary cold (`pactlog state … --json`), the first time right
//!   after the import, and a cold SQLite process doing the same query;
//! - times `all_states`, `history` and `verify`, the peak RSS of `pactlog import`
//!   and the bytes on disk.
//!
//! Run with `--sqlite-query DB PROVISION AT_NS KNOWN_NS`, the binary only answers
//! one query from SQLite and exits (the cold SQLite process).

use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant as Clock0};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use pactlog::append::{append_all, Clock};
use pactlog::event::{parse_event, Slug};
use pactlog::projection::{Projection, ProvisionState};
use pactlog::query::{self, Cut};
use pactlog::store::{Access, Ledger};
use rusqlite::{params, Connection, OpenFlags};
use serde_json::{json, Map, Value};
use uuid::Uuid;

type Instant = DateTime<Utc>;
type BoxError = Box<dyn std::error::Error>;

/// Events per pactlog session (one `append_all`), per SQLite transaction, per sled batch.
const SESSION: usize = 10_000;
/// The most time one repeated measurement may take before it stops early.
const BUDGET: Duration = Duration::from_secs(20);
const SEED: u64 = 0x5eed_2025_1130;

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--sqlite-query") {
        return sqlite_query_process(&args[1..]);
    }
    let quick = std::env::var("PACTLOG_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let sizes: Vec<usize> = match std::env::var("PACTLOG_BENCH_SIZES") {
        Ok(text) if !text.trim().is_empty() => text
            .split(',')
            .map(|s| s.trim().replace('_', "").parse())
            .collect::<Result<_, _>>()?,
        _ if quick => vec![10_000],
        // 1M is opt-in while its pactlog import takes more than a few minutes.
        _ => vec![100_000],
    };
    let reps = if quick {
        Reps { cuts: 20, cold: 5 }
    } else {
        Reps {
            cuts: 200,
            cold: 30,
        }
    };
    let base = match std::env::var_os("PACTLOG_BENCH_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir(),
    };
    let keep = std::env::var("PACTLOG_BENCH_KEEP").is_ok_and(|v| !v.is_empty() && v != "0");
    let machine = machine();
    eprintln!("{machine}");
    let mut results = Vec::new();
    for &n in &sizes {
        let dir = tempfile::Builder::new()
            .prefix("pactlog-bench-")
            .tempdir_in(&base)?;
        eprintln!("== {} events in {}", label(n), dir.path().display());
        results.push(run_size(n, dir.path(), &reps)?);
        if keep {
            eprintln!("kept {}", dir.keep().display());
        }
    }
    let table = render(&results, &machine, &reps);
    println!("{table}");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    fs::create_dir_all(&target)?;
    let out = target.join("bench-scale.md");
    fs::write(&out, &table)?;
    eprintln!("written to {}", out.display());
    Ok(())
}

struct Reps {
    cuts: usize,
    cold: usize,
}

// ---------------------------------------------------------------------------
// Results

#[derive(Default)]
struct Stats {
    n: usize,
    p50: f64,
    p99: f64,
}

impl Stats {
    fn of(mut ms: Vec<f64>) -> Stats {
        ms.sort_by(f64::total_cmp);
        let at = |p: f64| ms[(((ms.len() as f64) * p).ceil() as usize).clamp(1, ms.len()) - 1];
        Stats {
            n: ms.len(),
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// A timed call that may fail: the failure goes into the table instead of ending the run.
struct Timed(Result<(f64, usize), String>);

impl Default for Timed {
    fn default() -> Timed {
        Timed(Err("not run".into()))
    }
}

impl Timed {
    fn run(f: impl FnOnce() -> pactlog::Result<usize>) -> Timed {
        let t = Clock0::now();
        let result = f();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        Timed(result.map(|count| (ms, count)).map_err(|e| e.to_string()))
    }

    fn ms(&self) -> Option<f64> {
        self.0.as_ref().ok().map(|(ms, _)| *ms)
    }

    fn show(&self, what: &str) -> String {
        match &self.0 {
            Ok((t, count)) => format!("{} ({count} {what})", ms(*t)),
            Err(e) => format!("error: {}", e.replace('|', "/")),
        }
    }
}

#[derive(Default)]
struct SizeResult {
    events: usize,
    ndjson_bytes: u64,
    provisions: usize,
    busy: String,
    busy_events: usize,
    gen_s: f64,
    parse_only_s: f64,
    pactlog_import_s: f64,
    last_tenth_rate: f64,
    sqlite_import_s: f64,
    sled_import_s: f64,
    cli_import_s: f64,
    cli_import_rss_kb: Option<u64>,
    rss_method: &'static str,
    pactlog_disk: u64,
    sqlite_disk: u64,
    sled_disk: u64,
    state_pactlog: Stats,
    /// The same at the default record-time cut (everything known): the common query.
    state_now: Stats,
    state_replay: Stats,
    state_sqlite: Stats,
    mismatches: usize,
    cold_first: f64,
    cold_cli: Stats,
    cold_sqlite: Stats,
    all_states: Timed,
    history: Timed,
    verify: Timed,
}

// ---------------------------------------------------------------------------
// One size

fn run_size(n: usize, dir: &Path, reps: &Reps) -> Result<SizeResult, BoxError> {
    let mut r = SizeResult {
        events: n,
        ..SizeResult::default()
    };
    let ndjson = dir.join("events.ndjson");
    let t = Clock0::now();
    let generated = generate(n, &ndjson)?;
    r.gen_s = t.elapsed().as_secs_f64();
    r.ndjson_bytes = fs::metadata(&ndjson)?.len();
    r.provisions = generated.provisions;
    r.busy = generated.busy.clone();
    eprintln!(
        "generated {} events, {} bytes ({:.0} B/event), {} provisions, {} sessions in {:.1}s",
        n,
        r.ndjson_bytes,
        r.ndjson_bytes as f64 / n as f64,
        r.provisions,
        generated.sessions.len(),
        r.gen_s
    );

    // Reading and parsing alone (what every import pays before storing anything).
    let t = Clock0::now();
    let mut count = 0usize;
    for item in items(&ndjson)? {
        item?;
        count += 1;
    }
    assert_eq!(count, n);
    r.parse_only_s = t.elapsed().as_secs_f64();

    // SQLite baseline.
    let sqlite_path = dir.join("sqlite.db");
    let t = Clock0::now();
    sqlite_import(&ndjson, &sqlite_path, &generated.sessions)?;
    r.sqlite_import_s = t.elapsed().as_secs_f64();
    r.sqlite_disk = disk_usage(&sqlite_path)
        + disk_usage(&dir.join("sqlite.db-wal"))
        + disk_usage(&dir.join("sqlite.db-shm"));
    eprintln!(
        "sqlite import {:.1}s ({:.0} ev/s)",
        r.sqlite_import_s,
        n as f64 / r.sqlite_import_s
    );

    // Raw sled baseline: the same bytes, keyed by seq.
    let sled_path = dir.join("raw-sled");
    let t = Clock0::now();
    sled_import(&ndjson, &sled_path)?;
    r.sled_import_s = t.elapsed().as_secs_f64();
    r.sled_disk = disk_usage(&sled_path);
    fs::remove_dir_all(&sled_path)?;
    eprintln!(
        "raw sled import {:.1}s ({:.0} ev/s)",
        r.sled_import_s,
        n as f64 / r.sled_import_s
    );

    // pactlog, in process, one append_all per session.
    let ledger_path = dir.join("ledger");
    let t = Clock0::now();
    {
        let mut ledger = Ledger::open(&ledger_path, Access::Create)?;
        let mut stream = items(&ndjson)?;
        let sessions = generated.sessions.len();
        let tenth = sessions.div_ceil(10);
        let (mut since, mut since_seq) = (Clock0::now(), 0);
        for (i, now) in generated.sessions.iter().enumerate() {
            let mut new_id = || -> Uuid { unreachable!("every generated event has an id") };
            let clock = Clock {
                now: *now,
                new_id: &mut new_id,
            };
            append_all(&mut ledger, stream.by_ref().take(SESSION), clock, None)?;
            if (i + 1) % tenth == 0 || i + 1 == sessions {
                // The rate of the latest tenth shows whether appends slow down as the ledger grows.
                let seq = ledger.head().seq;
                r.last_tenth_rate = (seq - since_seq) as f64 / since.elapsed().as_secs_f64();
                eprintln!(
                    "  pactlog import: {seq} events, {:.0} ev/s since {since_seq}",
                    r.last_tenth_rate
                );
                (since, since_seq) = (Clock0::now(), seq);
            }
        }
        assert_eq!(ledger.head().seq, n as u64);
        r.pactlog_import_s = t.elapsed().as_secs_f64();
    }
    r.pactlog_disk = disk_usage(&ledger_path);
    eprintln!(
        "pactlog import {:.1}s ({:.0} ev/s)",
        r.pactlog_import_s,
        n as f64 / r.pactlog_import_s
    );

    // Random cuts: valid time anywhere from the busy provision's draft to the end,
    // record time anywhere within the ledger's record span.
    let mut rng = Rng::new(SEED ^ 0xc075);
    let span_at = (
        generated.busy_drafted,
        generated.last_occurred + TimeDelta::days(1),
    );
    let span_known = (
        generated.sessions[0],
        *generated.sessions.last().expect("a session"),
    );
    let cuts: Vec<Cut> = (0..reps.cuts.max(reps.cold))
        .map(|_| Cut {
            at: rng.between(span_at.0, span_at.1),
            known_at: rng.between(span_known.0, span_known.1),
        })
        .collect();
    let busy = Slug::parse(&generated.busy)?;
    let bin = env!("CARGO_BIN_EXE_pactlog");

    // Cold CLI, the first one right after the import.
    let cli_state = |cut: &Cut| -> Result<f64, BoxError> {
        let t = Clock0::now();
        let out = Command::new(bin)
            .arg("--db")
            .arg(&ledger_path)
            .args(["state", &generated.busy, "--at"])
            .arg(pactlog::time::format(&cut.at))
            .arg("--known-at")
            .arg(pactlog::time::format(&cut.known_at))
            .arg("--json")
            .stdin(Stdio::null())
            .output()?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if !out.status.success() {
            return Err(format!(
                "pactlog state failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(ms)
    };
    r.cold_first = cli_state(&cuts[0])?;
    eprintln!("first cold CLI state after import: {:.1} ms", r.cold_first);
    r.cold_cli = Stats::of(repeat(&cuts[1..reps.cold], cli_state)?);
    eprintln!(
        "cold CLI state p50 {:.1} ms p99 {:.1} ms",
        r.cold_cli.p50, r.cold_cli.p99
    );

    // Cold SQLite process doing the same query.
    let me = std::env::current_exe()?;
    r.cold_sqlite = Stats::of(repeat(&cuts[..reps.cold], |cut| {
        let t = Clock0::now();
        let out = Command::new(&me)
            .arg("--sqlite-query")
            .arg(&sqlite_path)
            .arg(&generated.busy)
            .arg(nanos(&cut.at).to_string())
            .arg(nanos(&cut.known_at).to_string())
            .stdin(Stdio::null())
            .output()?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if !out.status.success() {
            return Err(format!(
                "sqlite query process failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(ms)
    })?);
    eprintln!(
        "cold SQLite process p50 {:.1} ms p99 {:.1} ms",
        r.cold_sqlite.p50, r.cold_sqlite.p99
    );

    // Warm, in process.
    let ledger = Ledger::open(&ledger_path, Access::Existing)?;
    let cuts = &cuts[..reps.cuts];
    let mut expected: Vec<Option<ProvisionState>> = Vec::new();
    r.state_pactlog = Stats::of(repeat(cuts, |cut| {
        let t = Clock0::now();
        let state = query::provision_state(&ledger, &busy, cut)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        expected.push(Some(state.state));
        Ok(ms)
    })?);
    eprintln!(
        "pactlog state p50 {:.2} ms p99 {:.2} ms",
        r.state_pactlog.p50, r.state_pactlog.p99
    );
    let now_cuts: Vec<Cut> = cuts
        .iter()
        .map(|cut| Cut {
            at: cut.at,
            known_at: span_known.1,
        })
        .collect();
    r.state_now = Stats::of(repeat(&now_cuts, |cut| {
        let t = Clock0::now();
        query::provision_state(&ledger, &busy, cut)?;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    })?);
    eprintln!(
        "pactlog state as known now p50 {:.2} ms p99 {:.2} ms",
        r.state_now.p50, r.state_now.p99
    );
    r.busy_events = query::history_records(&ledger, pactlog::event::Kind::Provision, &busy)?.len();

    let mut i = 0;
    let mut mismatches = 0;
    r.state_replay = Stats::of(repeat(cuts, |cut| {
        let t = Clock0::now();
        let records = ledger.records(1).collect::<pactlog::Result<Vec<_>>>()?;
        let state = query::project(&records, cut).state(&busy);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if expected.get(i).is_some_and(|e| *e != state) {
            mismatches += 1;
        }
        i += 1;
        Ok(ms)
    })?);
    eprintln!(
        "full replay p50 {:.1} ms p99 {:.1} ms (n={})",
        r.state_replay.p50, r.state_replay.p99, r.state_replay.n
    );

    let conn = Connection::open_with_flags(&sqlite_path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut i = 0;
    r.state_sqlite = Stats::of(repeat(cuts, |cut| {
        let t = Clock0::now();
        let state = sqlite_state(&conn, &generated.busy, nanos(&cut.at), nanos(&cut.known_at))?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if expected.get(i).is_some_and(|e| *e != state) {
            mismatches += 1;
        }
        i += 1;
        Ok(ms)
    })?);
    r.mismatches = mismatches;
    eprintln!(
        "sqlite state p50 {:.2} ms p99 {:.2} ms; {} mismatches",
        r.state_sqlite.p50, r.state_sqlite.p99, r.mismatches
    );
    drop(conn);

    let end = Cut {
        at: span_at.1,
        known_at: span_known.1,
    };
    r.all_states = Timed::run(|| query::all_states(&ledger, &end).map(|s| s.len()));
    r.history = Timed::run(|| query::history(&ledger, &busy, None, end.known_at).map(|h| h.len()));
    r.verify = Timed::run(|| pactlog::verify::verify(&ledger, None).map(|v| v.records as usize));
    drop(ledger);
    eprintln!(
        "all_states {}, history {}, verify {}",
        r.all_states.show("provisions"),
        r.history.show("entries"),
        r.verify.show("records")
    );

    // The CLI import as one call, in a child process, for its peak RSS.
    let cli_ledger = dir.join("cli-ledger");
    let (secs, rss, method) = cli_import(bin, &cli_ledger, &ndjson, span_known.1)?;
    r.cli_import_s = secs;
    r.cli_import_rss_kb = rss;
    r.rss_method = method;
    fs::remove_dir_all(&cli_ledger)?;
    eprintln!(
        "CLI import {:.1}s ({:.0} ev/s), peak RSS {:?} kB ({method})",
        secs,
        n as f64 / secs,
        rss
    );
    Ok(r)
}

/// Runs `f` for each cut until all are done or the time budget is spent (at least 3).
fn repeat(
    cuts: &[Cut],
    mut f: impl FnMut(&Cut) -> Result<f64, BoxError>,
) -> Result<Vec<f64>, BoxError> {
    let start = Clock0::now();
    let mut out = Vec::new();
    for cut in cuts {
        out.push(f(cut)?);
        if out.len() >= 3 && start.elapsed() > BUDGET {
            break;
        }
    }
    Ok(out)
}

fn items(
    path: &Path,
) -> Result<Box<dyn Iterator<Item = pactlog::Result<pactlog::append::Item>>>, BoxError> {
    let file = File::open(path)?;
    Ok(pactlog::import::items(
        path.display().to_string(),
        Box::new(BufReader::with_capacity(1 << 16, file)),
    ))
}

fn nanos(t: &Instant) -> i64 {
    t.timestamp_nanos_opt().expect("within 1677..2262")
}

/// Bytes allocated on disk (like `du`) for a file or a folder.
fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| disk_usage(&e.path()))
                    .sum()
            })
            .unwrap_or(0)
    } else {
        meta.blocks() * 512
    }
}

/// `pactlog import FILE` in a child; wall time and peak RSS in kB.
fn cli_import(
    bin: &str,
    db: &Path,
    ndjson: &Path,
    now: Instant,
) -> Result<(f64, Option<u64>, &'static str), BoxError> {
    let now = pactlog::time::format(&now);
    let time_bin = Path::new("/usr/bin/time");
    if time_bin.is_file() {
        let rss_file = db.with_extension("rss");
        let t = Clock0::now();
        let out = Command::new(time_bin)
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg(bin)
            .arg("--db")
            .arg(db)
            .arg("import")
            .arg(ndjson)
            .env("PACTLOG_NOW", &now)
            .stdin(Stdio::null())
            .output()?;
        let secs = t.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(format!(
                "pactlog import failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        let rss = fs::read_to_string(&rss_file)?
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .next_back();
        fs::remove_file(&rss_file)?;
        return Ok((secs, rss, "/usr/bin/time"));
    }
    // No `time`: poll the child's high-water mark until it exits.
    let t = Clock0::now();
    let mut child = Command::new(bin)
        .arg("--db")
        .arg(db)
        .arg("import")
        .arg(ndjson)
        .env("PACTLOG_NOW", &now)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = None;
    let status = loop {
        if let Ok(text) = fs::read_to_string(&status_path) {
            if let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(Some(kb));
            }
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let secs = t.elapsed().as_secs_f64();
    if !status.success() {
        return Err("pactlog import failed".into());
    }
    Ok((secs, peak, "polled VmHWM"))
}

// ---------------------------------------------------------------------------
// Baselines

/// One row per provision an event belongs to (its own, and those of the event it
/// corrects), as pactlog's touch index does; `removes` is the corrected event's id.
fn sqlite_import(ndjson: &Path, db: &Path, sessions: &[Instant]) -> Result<(), BoxError> {
    let mut conn = Connection::open(db)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    conn.execute_batch(
        "PRAGMA synchronous=NORMAL;
         CREATE TABLE events (
             seq INTEGER NOT NULL,
             id BLOB NOT NULL,
             provision TEXT,
             occurred_at INTEGER NOT NULL,
             recorded_at INTEGER NOT NULL,
             removes BLOB,
             body TEXT NOT NULL
         );
         CREATE INDEX events_provision ON events (provision, occurred_at);
         CREATE INDEX events_id ON events (id);",
    )?;
    let mut lines = BufReader::with_capacity(1 << 16, File::open(ndjson)?).lines();
    let mut seq = 0i64;
    for now in sessions {
        let recorded = nanos(now);
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (seq, id, provision, occurred_at, recorded_at, removes, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut target_provisions =
                tx.prepare_cached("SELECT provision FROM events WHERE id = ?1")?;
            let mut done = 0;
            while done < SESSION {
                let Some(line) = lines.next().transpose()? else {
                    break;
                };
                if line.trim().is_empty() || line.starts_with('#') {
                    continue;
                }
                done += 1;
                seq += 1;
                let object: Map<String, Value> = serde_json::from_str(&line)?;
                let str_of = |k: &str| object.get(k).and_then(Value::as_str);
                let id = Uuid::parse_str(str_of("id").ok_or("no id")?)?;
                let occurred = pactlog::time::parse_occurred_at(
                    str_of("occurred_at").ok_or("no occurred_at")?,
                )?;
                let mut provisions: Vec<Option<String>> = Vec::new();
                if let Some(p) = str_of("provision") {
                    provisions.push(Some(p.to_string()));
                }
                if let Some(list) = object.get("provisions").and_then(Value::as_array) {
                    provisions.extend(
                        list.iter()
                            .filter_map(Value::as_str)
                            .map(|p| Some(p.into())),
                    );
                }
                let removes = str_of("target")
                    .or_else(|| str_of("supersedes"))
                    .map(Uuid::parse_str)
                    .transpose()?;
                if let Some(target) = removes {
                    let rows = target_provisions
                        .query_map(params![target.as_bytes().as_slice()], |r| {
                            r.get::<_, Option<String>>(0)
                        })?;
                    for p in rows {
                        provisions.push(p?);
                    }
                }
                provisions.retain(Option::is_some);
                provisions.sort();
                provisions.dedup();
                if provisions.is_empty() {
                    provisions.push(None);
                }
                for p in provisions {
                    insert.execute(params![
                        seq,
                        id.as_bytes().as_slice(),
                        p,
                        nanos(&occurred),
                        recorded,
                        removes.as_ref().map(|u| u.as_bytes().to_vec()),
                        line,
                    ])?;
                }
            }
        }
        tx.commit()?;
    }
    Ok(())
}

/// The state of one provision at a cut, answered from SQLite and folded with
/// pactlog's own projection (the counting rule of SPEC §3, written out here).
fn sqlite_state(
    conn: &Connection,
    provision: &str,
    at: i64,
    known: i64,
) -> Result<Option<ProvisionState>, BoxError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, occurred_at, body FROM events
         WHERE provision = ?1 AND recorded_at <= ?3 AND (occurred_at <= ?2 OR removes IS NOT NULL)",
    )?;
    let mut rows = stmt.query(params![provision, at, known])?;
    let mut events = Vec::new();
    let mut removed = HashSet::new();
    let mut no_id = || -> Uuid { unreachable!("stored events have ids") };
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let occurred: i64 = row.get(1)?;
        let body = row.get_ref(2)?.as_str()?;
        let mut object: Map<String, Value> = serde_json::from_str(body)?;
        let event = parse_event(&mut object, &mut no_id)?;
        if let Some(target) = event.removes() {
            removed.insert(target);
        }
        if occurred <= at {
            events.push((occurred, seq, event));
        }
    }
    events.retain(|(_, _, e)| !removed.contains(&e.id));
    events.sort_by_key(|(occurred, seq, _)| (*occurred, *seq));
    let mut projection = Projection::default();
    for (_, _, event) in &events {
        projection.apply(event);
    }
    Ok(projection.state(&Slug::parse(provision)?))
}

/// The cold SQLite process: open, query, fold, print JSON, exit.
fn sqlite_query_process(args: &[String]) -> Result<(), BoxError> {
    let [db, provision, at, known] = args else {
        return Err("usage: scale --sqlite-query DB PROVISION AT_NS KNOWN_NS".into());
    };
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let state = sqlite_state(&conn, provision, at.parse()?, known.parse()?)?
        .ok_or("no counted draft at this cut")?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &state)?;
    writeln!(out)?;
    Ok(())
}

/// The same NDJSON bytes into a fresh sled db, keyed by seq, 10,000 per batch.
fn sled_import(ndjson: &Path, path: &Path) -> Result<(), BoxError> {
    let db = sled::Config::new()
        .path(path)
        .cache_capacity(64 << 20)
        .flush_every_ms(Some(500))
        .open()?;
    let mut reader = BufReader::with_capacity(1 << 16, File::open(ndjson)?);
    let mut line = Vec::new();
    let mut batch = sled::Batch::default();
    let mut in_batch = 0;
    let mut seq = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        seq += 1;
        let bytes = line.strip_suffix(b"\n").unwrap_or(&line);
        batch.insert(&seq.to_be_bytes(), bytes);
        in_batch += 1;
        if in_batch == SESSION {
            db.apply_batch(std::mem::take(&mut batch))?;
            in_batch = 0;
        }
    }
    db.apply_batch(batch)?;
    db.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The generator

/// splitmix64: tiny, fast, good enough for synthetic data, and fixed forever.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn between(&mut self, from: Instant, to: Instant) -> Instant {
        let span = (to - from).num_seconds().max(1) as u64;
        from + TimeDelta::seconds((self.next() % span) as i64)
    }
}

/// Zipf over ranks 0..n with exponent 1: rank 0 is the busiest.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Zipf {
        let mut total = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|k| {
                total += 1.0 / k as f64;
                total
            })
            .collect();
        cdf.iter_mut().for_each(|c| *c /= total);
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.f64();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

const PARTIES: &[&str] = &[
    "us", "ukraine", "russia", "eu", "uk", "france", "germany", "poland", "turkey", "china", "un",
    "nato",
];
const TOPICS: &[&str] = &[
    "nato-membership",
    "security-guarantees",
    "territorial-lines",
    "sanctions-relief",
    "frozen-assets",
    "prisoner-exchange",
    "ceasefire-monitoring",
    "energy-transit",
    "army-size",
    "elections",
    "reconstruction-fund",
    "nuclear-plant",
    "black-sea-shipping",
    "language-rights",
    "amnesty",
    "demilitarised-zone",
];
const WORDS: &[&str] = &[
    "the",
    "agreement",
    "ceasefire",
    "guarantee",
    "security",
    "border",
    "troops",
    "withdrawal",
    "sanctions",
    "assets",
    "reconstruction",
    "sovereignty",
    "territory",
    "referendum",
    "elections",
    "monitoring",
    "mission",
    "deadline",
    "framework",
    "draft",
    "clause",
    "partners",
    "negotiators",
    "delegation",
    "talks",
    "progress",
    "concession",
    "proposal",
    "text",
    "commitment",
    "we",
    "will",
    "not",
    "accept",
    "any",
    "without",
    "support",
    "oppose",
    "must",
    "should",
    "further",
    "discussion",
    "is",
    "needed",
    "on",
    "this",
    "point",
    "and",
    "a",
    "lasting",
    "peace",
    "requires",
    "credible",
    "international",
    "observers",
    "within",
    "days",
    "of",
    "signing",
    "both",
    "sides",
    "have",
    "agreed",
    "in",
    "principle",
    "to",
    "exchange",
    "prisoners",
    "return",
    "children",
    "reopen",
    "ports",
    "grain",
    "corridor",
    "limits",
    "forces",
    "line",
    "contact",
    "frozen",
    "funds",
    "released",
    "phased",
];
const OUTLETS: &[(&str, &str)] = &[
    ("Reuters", "reuters.com"),
    ("Associated Press", "apnews.com"),
    ("Kyiv Independent", "kyivindependent.com"),
    ("Financial Times", "ft.com"),
    ("Le Monde", "lemonde.fr"),
    ("Der Spiegel", "spiegel.de"),
    ("BBC News", "bbc.co.uk"),
    ("Axios", "axios.com"),
];
const PLACES: &[&str] = &[
    "Geneva",
    "Istanbul",
    "Riyadh",
    "Abu Dhabi",
    "Miami, Florida",
    "Berlin",
    "Moscow",
    "Kyiv",
    "Doha",
];
const STATUSES: &[&str] = &[
    "contested",
    "under_negotiation",
    "agreed_in_principle",
    "agreed",
    "rejected",
    "withdrawn",
    "under_negotiation",
    "contested",
];
const STANCES: &[&str] = &["supports", "opposes", "conditional", "undecided"];

struct Generated {
    provisions: usize,
    busy: String,
    busy_drafted: Instant,
    last_occurred: Instant,
    /// The record time of each session of `SESSION` events, increasing.
    sessions: Vec<Instant>,
}

/// An event that a later one may retract or supersede.
#[derive(Clone, Copy)]
struct Candidate {
    id: Uuid,
    provision: u32,
    kind: u8, // 0 statement, 1 position, 2 status, 3 amendment
    proposal: u16,
}

struct Gen {
    rng: Rng,
    out: BufWriter<File>,
    n: usize,
    emitted: usize,
    start: Instant,
    t: Instant,
    step_ms: f64,
    max_occurred: Instant,
    sessions: Vec<Instant>,
    actors: usize,
    proposals: usize,
    provisions: Vec<String>,
    /// For each provision, the proposals it has a text in (empty: not drafted).
    texts: Vec<Vec<u16>>,
    drafted_count: usize,
    busy_drafted: Option<Instant>,
    zipf: Zipf,
    meetings: Vec<String>,
    pending: VecDeque<(usize, Instant)>,
    held: Vec<usize>,
    candidates: Vec<Candidate>,
    id_counter: u64,
}

fn generate(n: usize, path: &Path) -> Result<Generated, BoxError> {
    let provisions = (n / 50).max(20);
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let span_days = 730.0;
    let mut g = Gen {
        rng: Rng::new(SEED),
        out: BufWriter::with_capacity(1 << 20, File::create(path)?),
        n,
        emitted: 0,
        start,
        t: start,
        step_ms: span_days * 86_400_000.0 / n as f64,
        max_occurred: start,
        sessions: Vec::new(),
        actors: 40 + n / 2000,
        proposals: 8 + n / 20_000,
        provisions: (0..provisions)
            .map(|r| format!("{}-{r}", TOPICS[r % TOPICS.len()]))
            .collect(),
        texts: vec![Vec::new(); provisions],
        drafted_count: 0,
        busy_drafted: None,
        zipf: Zipf::new(provisions),
        meetings: Vec::new(),
        pending: VecDeque::new(),
        held: Vec::new(),
        candidates: Vec::new(),
        id_counter: 0,
    };
    g.header()?;
    let meeting_every = 200;
    while g.emitted < g.n {
        let jitter = 0.5 + g.rng.f64();
        g.t += TimeDelta::milliseconds((g.step_ms * jitter) as i64);
        if let Some(&(m, planned)) = g.pending.front() {
            if planned <= g.t {
                g.pending.pop_front();
                if g.rng.chance(0.9) {
                    g.meeting_held(m)?;
                    continue;
                }
            }
        }
        if g.emitted % meeting_every == 0 {
            g.meeting_scheduled()?;
            continue;
        }
        let r = g.rng.f64();
        if r < 0.005 && !g.candidates.is_empty() {
            g.retraction()?;
        } else if r < 0.01 && !g.candidates.is_empty() {
            g.supersede()?;
        } else if r < 0.06 {
            g.statement(None)?;
        } else {
            let p = g.zipf.sample(&mut g.rng);
            if g.texts[p].is_empty() {
                let proposal = g.rng.below(g.proposals);
                g.draft(p, proposal)?;
            } else {
                g.provision_event(p)?;
            }
        }
    }
    g.out.flush()?;
    if g.emitted % SESSION != 0 {
        g.end_session();
    }
    Ok(Generated {
        provisions: g.drafted_count,
        busy: g.provisions[0].clone(),
        busy_drafted: g
            .busy_drafted
            .expect("the busiest provision is drafted first"),
        last_occurred: g.max_occurred,
        sessions: g.sessions,
    })
}

impl Gen {
    fn emit(&mut self, object: Value, occurred: Instant) -> Result<(), BoxError> {
        if self.emitted >= self.n {
            return Ok(());
        }
        serde_json::to_writer(&mut self.out, &object)?;
        self.out.write_all(b"\n")?;
        self.emitted += 1;
        self.max_occurred = self.max_occurred.max(occurred);
        if self.emitted % SESSION == 0 {
            self.end_session();
        }
        Ok(())
    }

    /// The record time of the session that just ended: a few hours after the
    /// latest event in it, and always later than the previous session's.
    fn end_session(&mut self) {
        let mut now = self.max_occurred + TimeDelta::hours(6);
        if let Some(&last) = self.sessions.last() {
            now = now.max(last + TimeDelta::minutes(1));
        }
        self.sessions.push(now);
    }

    /// A UUIDv7-shaped id: the cursor's milliseconds, a counter, random bits.
    fn id(&mut self) -> Uuid {
        self.id_counter += 1;
        let ms = self.t.timestamp_millis().max(0) as u128;
        let counter = (self.id_counter & 0xfff) as u128;
        let random = (self.rng.next() as u128) & ((1 << 62) - 1);
        Uuid::from_u128((ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | random)
    }

    /// The valid time of a new event: now, or for 5% a late report of something older.
    fn occurred(&mut self) -> Instant {
        if self.rng.chance(0.05) {
            let back = TimeDelta::minutes(60 + self.rng.below(120 * 24 * 60) as i64);
            (self.t - back).max(self.start)
        } else {
            self.t
        }
    }

    /// Writes an instant as a day (20%) or an RFC 3339 instant to the second.
    fn when(&mut self, t: Instant) -> (String, Instant) {
        if self.rng.chance(0.2) {
            let day = t.date_naive();
            (
                day.format("%Y-%m-%d").to_string(),
                pactlog::time::start_of_day(day),
            )
        } else {
            let t = Utc.timestamp_opt(t.timestamp(), 0).unwrap();
            (t.format("%Y-%m-%dT%H:%M:%SZ").to_string(), t)
        }
    }

    fn words(&mut self, min: usize, max: usize) -> String {
        let n = min + self.rng.below(max - min + 1);
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            let word = *self.rng.pick(WORDS);
            s.push_str(word);
        }
        s
    }

    fn sentence(&mut self, min: usize, max: usize) -> String {
        let mut s = self.words(min, max);
        if let Some(first) = s.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        s.push('.');
        s
    }

    fn actor(&mut self) -> String {
        format!("actor-{}", self.rng.below(self.actors))
    }

    fn source(&mut self, t: Instant) -> Value {
        let (outlet, domain) = *self.rng.pick(OUTLETS);
        let slug = self.words(2, 4).replace(' ', "-");
        let published = t + TimeDelta::hours(self.rng.below(48) as i64);
        let day = published.format("%Y/%m/%d");
        let mut source = json!({
            "outlet": outlet,
            "url": format!("https://www.{domain}/world/{day}/{slug}-{}", self.rng.below(1_000_000)),
        });
        if self.rng.chance(0.7) {
            source["published_at"] = json!(published.format("%Y-%m-%d").to_string());
        }
        source
    }

    /// A common header: type, id, occurred_at, usually a source, actor or attribution.
    fn base(
        &mut self,
        kind: &str,
        occurred: Instant,
        who: bool,
    ) -> (Map<String, Value>, Uuid, Instant) {
        let id = self.id();
        let (text, at) = self.when(occurred);
        let mut o = Map::new();
        o.insert("type".into(), json!(kind));
        o.insert("id".into(), json!(id));
        o.insert("occurred_at".into(), json!(text));
        if self.rng.chance(0.85) {
            o.insert("source".into(), self.source(at));
        }
        if who {
            if self.rng.chance(0.85) {
                o.insert("actor".into(), json!(self.actor()));
            } else {
                let party = *self.rng.pick(PARTIES);
                o.insert(
                    "attribution".into(),
                    json!(format!("unnamed {party} official")),
                );
            }
        }
        (o, id, at)
    }

    fn header(&mut self) -> Result<(), BoxError> {
        for (i, party) in PARTIES.iter().enumerate() {
            let (mut o, _, at) = self.base("party_registered", self.start, false);
            o.insert("party".into(), json!(party));
            o.insert("name".into(), json!(format!("Party {i} ({party})")));
            self.emit(Value::Object(o), at)?;
        }
        for i in 0..self.actors {
            let (mut o, _, at) = self.base("actor_registered", self.start, false);
            o.insert("actor".into(), json!(format!("actor-{i}")));
            o.insert("name".into(), json!(format!("Negotiator Number {i}")));
            o.insert("party".into(), json!(PARTIES[i % PARTIES.len()]));
            if self.rng.chance(0.6) {
                o.insert("role".into(), json!(self.sentence(2, 4)));
            }
            self.emit(Value::Object(o), at)?;
        }
        for i in 0..self.proposals {
            let (mut o, _, at) = self.base("proposal_tabled", self.start, false);
            o.insert("proposal".into(), json!(format!("proposal-{i}")));
            o.insert("title".into(), json!(self.sentence(3, 7)));
            let a = *self.rng.pick(PARTIES);
            let b = *self.rng.pick(PARTIES);
            let parties: Vec<&str> = if a == b { vec![a] } else { vec![a, b] };
            o.insert("parties".into(), json!(parties));
            let authors = vec![self.actor()];
            o.insert("authors".into(), json!(authors));
            if i > 0 {
                o.insert("responds_to".into(), json!(format!("proposal-{}", i - 1)));
            }
            self.emit(Value::Object(o), at)?;
        }
        // The busiest provisions exist from the start.
        for p in 0..20.min(self.provisions.len()) {
            let proposal = self.rng.below(self.proposals);
            self.draft(p, proposal)?;
        }
        Ok(())
    }

    fn draft(&mut self, p: usize, proposal: usize) -> Result<(), BoxError> {
        let occurred = if self.texts[p].is_empty() {
            self.t
        } else {
            self.occurred()
        };
        let (mut o, _, at) = self.base("provision_drafted", occurred, false);
        o.insert("provision".into(), json!(self.provisions[p]));
        o.insert("proposal".into(), json!(format!("proposal-{proposal}")));
        o.insert("title".into(), json!(self.sentence(3, 6)));
        o.insert("text".into(), json!(self.sentence(20, 35)));
        if self.rng.chance(0.5) {
            o.insert("topic".into(), json!(TOPICS[p % TOPICS.len()]));
        }
        if self.texts[p].is_empty() {
            self.drafted_count += 1;
            if p == 0 {
                self.busy_drafted = Some(at);
            }
        }
        self.texts[p].push(proposal as u16);
        self.emit(Value::Object(o), at)
    }

    fn remember(&mut self, c: Candidate) {
        if self.candidates.len() < 4096 {
            self.candidates.push(c);
        } else {
            let i = self.rng.below(self.candidates.len());
            self.candidates[i] = c;
        }
    }

    fn provision_event(&mut self, p: usize) -> Result<(), BoxError> {
        let r = self.rng.f64();
        if r < 0.50 {
            return self.statement(Some(p));
        }
        let occurred = self.occurred();
        let slug = self.provisions[p].clone();
        if r < 0.67 {
            self.position(p, occurred, None)
        } else if r < 0.77 {
            self.status(p, occurred, None)
        } else if r < 0.95 {
            let proposal = *self.rng.pick(&self.texts[p]) as usize;
            self.amend(p, proposal, occurred, None)
        } else if r < 0.98 {
            let proposal = self.rng.below(self.proposals);
            if self.texts[p].contains(&(proposal as u16)) {
                self.status(p, occurred, None)
            } else {
                self.draft(p, proposal)
            }
        } else {
            let proposal = *self.rng.pick(&self.texts[p]);
            let (mut o, _, at) = self.base("provision_dropped", occurred, true);
            o.insert("provision".into(), json!(slug));
            o.insert("proposal".into(), json!(format!("proposal-{proposal}")));
            if self.rng.chance(0.5) {
                o.insert("reason".into(), json!(self.sentence(6, 14)));
            }
            self.emit(Value::Object(o), at)
        }
    }

    fn position(
        &mut self,
        p: usize,
        occurred: Instant,
        supersedes: Option<Uuid>,
    ) -> Result<(), BoxError> {
        let (mut o, id, at) = self.base("position_stated", occurred, true);
        o.insert("provision".into(), json!(self.provisions[p]));
        o.insert("party".into(), json!(self.rng.pick(PARTIES)));
        o.insert("stance".into(), json!(self.rng.pick(STANCES)));
        o.insert("summary".into(), json!(self.sentence(8, 20)));
        if let Some(s) = supersedes {
            o.insert("supersedes".into(), json!(s));
        }
        self.remember(Candidate {
            id,
            provision: p as u32,
            kind: 1,
            proposal: 0,
        });
        self.emit(Value::Object(o), at)
    }

    fn status(
        &mut self,
        p: usize,
        occurred: Instant,
        supersedes: Option<Uuid>,
    ) -> Result<(), BoxError> {
        let (mut o, id, at) = self.base("status_changed", occurred, true);
        o.insert("provision".into(), json!(self.provisions[p]));
        o.insert("status".into(), json!(self.rng.pick(STATUSES)));
        if self.rng.chance(0.7) {
            o.insert("note".into(), json!(self.sentence(6, 15)));
        }
        if let Some(s) = supersedes {
            o.insert("supersedes".into(), json!(s));
        }
        self.remember(Candidate {
            id,
            provision: p as u32,
            kind: 2,
            proposal: 0,
        });
        self.emit(Value::Object(o), at)
    }

    fn amend(
        &mut self,
        p: usize,
        proposal: usize,
        occurred: Instant,
        supersedes: Option<Uuid>,
    ) -> Result<(), BoxError> {
        let (mut o, id, at) = self.base("provision_amended", occurred, true);
        o.insert("provision".into(), json!(self.provisions[p]));
        o.insert("proposal".into(), json!(format!("proposal-{proposal}")));
        o.insert("text".into(), json!(self.sentence(20, 35)));
        if self.rng.chance(0.6) {
            o.insert("summary".into(), json!(self.sentence(5, 10)));
        }
        if let Some(s) = supersedes {
            o.insert("supersedes".into(), json!(s));
        }
        self.remember(Candidate {
            id,
            provision: p as u32,
            kind: 3,
            proposal: proposal as u16,
        });
        self.emit(Value::Object(o), at)
    }

    fn statement(&mut self, p: Option<usize>) -> Result<(), BoxError> {
        self.statement_at(p, None)
    }

    fn statement_at(&mut self, p: Option<usize>, supersedes: Option<Uuid>) -> Result<(), BoxError> {
        let occurred = self.occurred();
        let (mut o, id, at) = self.base("statement_made", occurred, true);
        o.insert("quote".into(), json!(self.sentence(15, 30)));
        if let Some(p) = p {
            let mut list = vec![self.provisions[p].clone()];
            if self.rng.chance(0.1) {
                let q = self.zipf.sample(&mut self.rng);
                if q != p && !self.texts[q].is_empty() {
                    list.push(self.provisions[q].clone());
                }
            }
            o.insert("provisions".into(), json!(list));
            self.remember(Candidate {
                id,
                provision: p as u32,
                kind: 0,
                proposal: 0,
            });
        }
        if !self.held.is_empty() && self.rng.chance(0.3) {
            let m = *self.rng.pick(&self.held);
            o.insert("meeting".into(), json!(self.meetings[m]));
        }
        if let Some(s) = supersedes {
            o.insert("supersedes".into(), json!(s));
        }
        self.emit(Value::Object(o), at)
    }

    fn take_candidate(&mut self) -> Candidate {
        let i = self.rng.below(self.candidates.len());
        self.candidates.swap_remove(i)
    }

    fn retraction(&mut self) -> Result<(), BoxError> {
        let c = self.take_candidate();
        let (mut o, _, at) = self.base("event_retracted", self.t, false);
        o.insert("target".into(), json!(c.id));
        o.insert("reason".into(), json!(self.sentence(6, 16)));
        self.emit(Value::Object(o), at)
    }

    fn supersede(&mut self) -> Result<(), BoxError> {
        let c = self.take_candidate();
        let p = c.provision as usize;
        let occurred = self.t;
        match c.kind {
            0 => self.statement_at(Some(p), Some(c.id)),
            1 => self.position(p, occurred, Some(c.id)),
            2 => self.status(p, occurred, Some(c.id)),
            _ => self.amend(p, c.proposal as usize, occurred, Some(c.id)),
        }
    }

    fn meeting_scheduled(&mut self) -> Result<(), BoxError> {
        let m = self.meetings.len();
        let place = *self.rng.pick(PLACES);
        let planned = self.t + TimeDelta::hours(24 * (3 + self.rng.below(28) as i64));
        let slug = format!(
            "{}-{}-{m}",
            place
                .split(',')
                .next()
                .unwrap_or(place)
                .to_lowercase()
                .replace(' ', "-"),
            planned.format("%Y-%m-%d")
        );
        self.meetings.push(slug.clone());
        let (mut o, _, at) = self.base("meeting_scheduled", self.t, false);
        o.insert("meeting".into(), json!(slug));
        o.insert("title".into(), json!(self.sentence(3, 7)));
        o.insert("place".into(), json!(place));
        o.insert(
            "planned_for".into(),
            json!(planned.format("%Y-%m-%d").to_string()),
        );
        let participants: Vec<String> = (0..2 + self.rng.below(5)).map(|_| self.actor()).collect();
        o.insert("participants".into(), json!(participants));
        let pos = self.pending.partition_point(|&(_, t)| t <= planned);
        self.pending.insert(pos, (m, planned));
        self.emit(Value::Object(o), at)
    }

    fn meeting_held(&mut self, m: usize) -> Result<(), BoxError> {
        let (mut o, _, at) = self.base("meeting_held", self.t, false);
        o.insert("meeting".into(), json!(self.meetings[m]));
        o.insert("place".into(), json!(self.rng.pick(PLACES)));
        let participants: Vec<String> = (0..3 + self.rng.below(6)).map(|_| self.actor()).collect();
        o.insert("participants".into(), json!(participants));
        let mut provisions = Vec::new();
        for _ in 0..2 + self.rng.below(4) {
            let p = self.zipf.sample(&mut self.rng);
            if !self.texts[p].is_empty() && !provisions.contains(&self.provisions[p]) {
                provisions.push(self.provisions[p].clone());
            }
        }
        o.insert("provisions".into(), json!(provisions));
        o.insert("outcome".into(), json!(self.sentence(10, 30)));
        self.held.push(m);
        self.emit(Value::Object(o), at)
    }
}

// ---------------------------------------------------------------------------
// Report

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(
            || "? GiB".into(),
            |kb| format!("{:.1} GiB", kb as f64 / 1048576.0),
        );
    let rev = Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "describe",
            "--always",
            "--dirty",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut s = String::new();
    let _ = File::open("/proc/sys/kernel/osrelease").and_then(|mut f| f.read_to_string(&mut s));
    format!(
        "{cpus} CPUs ({model}), {mem} RAM, Linux {}, pactlog {rev}",
        s.trim()
    )
}

fn label(n: usize) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n % 1_000 == 0 {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

fn rate(n: usize, secs: f64) -> String {
    let r = n as f64 / secs;
    let secs = if secs < 10.0 {
        format!("{secs:.2} s")
    } else {
        format!("{secs:.0} s")
    };
    if r >= 10_000.0 {
        format!("{:.0}k ev/s ({secs})", r / 1000.0)
    } else {
        format!("{r:.0} ev/s ({secs})")
    }
}

fn ratio(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}×")
    } else {
        format!("{v:.2}×")
    }
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✅"
    } else {
        "❌"
    }
}

fn render(results: &[SizeResult], machine: &str, reps: &Reps) -> String {
    let mut s = String::new();
    let head: Vec<String> = results.iter().map(|r| label(r.events)).collect();
    let _ = writeln!(s, "## pactlog scale benchmark\n");
    let _ = writeln!(s, "Machine: {machine}.\n");
    let _ = writeln!(s, "| | {} | target |", head.join(" | "));
    let _ = writeln!(s, "|---|{}---|", "---:|".repeat(results.len()));
    let mut row = |name: &str, f: &dyn Fn(&SizeResult) -> String, target: &str| {
        let cells: Vec<String> = results.iter().map(f).collect();
        let _ = writeln!(s, "| {name} | {} | {target} |", cells.join(" | "));
    };
    let import_ratio = |r: &SizeResult| r.sqlite_import_s / r.pactlog_import_s;
    let sled_ratio = |r: &SizeResult| r.sled_import_s / r.pactlog_import_s;
    let replay_ratio = |r: &SizeResult| r.state_replay.p50 / r.state_pactlog.p50;
    let sqlite_ratio = |r: &SizeResult| r.state_sqlite.p50 / r.state_pactlog.p50;
    let mb = |b: u64| b as f64 / 1048576.0;
    row(
        "NDJSON input",
        &|r| {
            format!(
                "{:.0} MB ({:.0} B/event)",
                mb(r.ndjson_bytes),
                r.ndjson_bytes as f64 / r.events as f64
            )
        },
        "",
    );
    row(
        "provisions drafted / events of the busiest",
        &|r| format!("{} / {} (`{}`)", r.provisions, r.busy_events, r.busy),
        "",
    );
    row(
        "read + parse NDJSON only",
        &|r| rate(r.events, r.parse_only_s),
        "",
    );
    row(
        "**import: pactlog** (`append_all`, 10k per call)",
        &|r| rate(r.events, r.pactlog_import_s),
        "",
    );
    row(
        "import: pactlog, rate over the last tenth of the sessions",
        &|r| format!("{:.0} ev/s", r.last_tenth_rate),
        "",
    );
    row(
        "import: SQLite (WAL, sync=NORMAL, 10k per tx)",
        &|r| rate(r.events, r.sqlite_import_s),
        "",
    );
    row(
        "import: raw sled (`apply_batch` 10k)",
        &|r| rate(r.events, r.sled_import_s),
        "",
    );
    row(
        "import pactlog / SQLite",
        &|r| {
            format!(
                "{} {}",
                ratio(import_ratio(r)),
                mark(import_ratio(r) >= 1.0)
            )
        },
        "≥ 1.0×",
    );
    row(
        "import pactlog / raw sled",
        &|r| format!("{} {}", ratio(sled_ratio(r)), mark(sled_ratio(r) >= 0.5)),
        "≥ 0.5×",
    );
    row(
        "`pactlog import FILE` (one call, CLI)",
        &|r| rate(r.events, r.cli_import_s),
        "",
    );
    row(
        "peak RSS of `pactlog import FILE`",
        &|r| match r.cli_import_rss_kb {
            Some(kb) => format!("{:.0} MB {}", kb as f64 / 1024.0, mark(kb < 200 * 1024)),
            None => "?".into(),
        },
        "< 200 MB at 1M",
    );
    row(
        "disk: pactlog ledger",
        &|r| {
            let x = r.pactlog_disk as f64 / r.ndjson_bytes as f64;
            format!(
                "{:.0} MB, {:.0} B/event, {:.2}× NDJSON {}",
                mb(r.pactlog_disk),
                r.pactlog_disk as f64 / r.events as f64,
                x,
                mark(x < 2.5)
            )
        },
        "< 2.5× NDJSON",
    );
    row(
        "disk: SQLite / raw sled",
        &|r| {
            format!(
                "{:.2}× / {:.2}× NDJSON",
                r.sqlite_disk as f64 / r.ndjson_bytes as f64,
                r.sled_disk as f64 / r.ndjson_bytes as f64
            )
        },
        "",
    );
    let stats = |st: &Stats| format!("{} / {} (n={})", ms(st.p50), ms(st.p99), st.n);
    row(
        "**state of the busiest provision, pactlog in process** p50 / p99",
        &|r| {
            format!(
                "{} {}",
                stats(&r.state_pactlog),
                mark(r.state_pactlog.p99 < 5.0)
            )
        },
        "p99 < 5 ms",
    );
    row(
        "state of the busiest provision as known now (record-time cut = head), p50 / p99",
        &|r| format!("{} {}", stats(&r.state_now), mark(r.state_now.p99 < 5.0)),
        "p99 < 5 ms",
    );
    row(
        "state, full replay (`records(1)` + `project`) p50 / p99",
        &|r| stats(&r.state_replay),
        "",
    );
    row(
        "state, SQLite rows + same fold, p50 / p99",
        &|r| stats(&r.state_sqlite),
        "",
    );
    row(
        "full replay / pactlog (p50)",
        &|r| {
            format!(
                "{} {}",
                ratio(replay_ratio(r)),
                mark(replay_ratio(r) >= 100.0)
            )
        },
        "≥ 100×",
    );
    row(
        "SQLite / pactlog (p50)",
        &|r| {
            format!(
                "{} {}",
                ratio(sqlite_ratio(r)),
                mark(sqlite_ratio(r) >= 1.0)
            )
        },
        "≥ 1.0×",
    );
    row(
        "results differing from pactlog (replay + SQLite)",
        &|r| r.mismatches.to_string(),
        "0",
    );
    let cold_target = |r: &SizeResult| if r.events >= 1_000_000 { 300.0 } else { 50.0 };
    row(
        "**cold CLI `pactlog state P --json`**, first after import",
        &|r| {
            format!(
                "{} {}",
                ms(r.cold_first),
                mark(r.cold_first < cold_target(r))
            )
        },
        "< 50 ms (100k), < 300 ms (1M)",
    );
    row(
        "cold CLI, p50 / p99",
        &|r| {
            format!(
                "{} {}",
                stats(&r.cold_cli),
                mark(r.cold_cli.p50 < cold_target(r))
            )
        },
        "p50 < 50 ms (100k), < 300 ms (1M)",
    );
    row(
        "cold SQLite process (open + query + fold), p50 / p99",
        &|r| stats(&r.cold_sqlite),
        "",
    );
    row(
        "`all_states` at the end",
        &|r| r.all_states.show("provisions"),
        "",
    );
    row(
        "`history` of the busiest provision",
        &|r| r.history.show("entries"),
        "",
    );
    row(
        "`verify` of the whole ledger",
        &|r| {
            let check = match r.verify.ms() {
                Some(t) if r.events >= 1_000_000 => mark(t < 30_000.0),
                Some(_) => "",
                None => "❌",
            };
            format!("{} {check}", r.verify.show("records"))
        },
        "< 30 s at 1M",
    );
    row(
        "generate NDJSON (fixed seed)",
        &|r| format!("{:.1} s", r.gen_s),
        "",
    );
    let _ = writeln!(
        s,
        "\nCuts: random valid time from the busiest provision's draft to the end, random record time within the \
         ledger's record span ({} cuts in process, {} cold runs; a measurement stops early after {} s, n says how many ran). \
         pactlog imports in sessions of {SESSION} events (one `append_all` each, one record time each, fsync at each commit); \
         SQLite commits every {SESSION} rows with `synchronous=NORMAL` (no fsync per commit in WAL mode), raw sled flushes once at the end. \
         SQLite has one `events` row per provision an event touches (a correction also gets the rows of the provisions of the event it corrects), \
         indexes on `(provision, occurred_at)` and `id`; its query selects the rows of the provision known at the cut and folds them with \
         `pactlog::projection::Projection`. Peak RSS by {}. Disk is allocated bytes (`du`).",
        reps.cuts,
        reps.cold,
        BUDGET.as_secs(),
        results.first().map_or("?", |r| r.rss_method),
    );
    s
}
