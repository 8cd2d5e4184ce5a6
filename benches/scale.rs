//! The scale benchmark: pactlog against a fair full replay, SQLite and raw sled on
//! synthetic ledgers.
//!
//! `cargo bench --bench scale` runs 100k events by default;
//! `PACTLOG_BENCH_SIZES=100000,1000000` runs both sizes in one table (1M is opt-in
//! while its import takes minutes), `PACTLOG_BENCH_QUICK=1` is a smoke test at 10k
//! with few cuts, `PACTLOG_BENCH_RUNS` sets how often every figure is measured (at
//! least 5, the default). It prints one markdown table, also written to
//! `$CARGO_TARGET_DIR/bench-scale.md` (or `target/bench-scale.md`). The work happens
//! in a temporary folder under `PACTLOG_BENCH_DIR` (default: the system's), deleted at
//! the end unless `PACTLOG_BENCH_KEEP=1`.
//!
//! Every figure is the median of the runs, printed with its spread (min–max). A
//! figure that is itself a distribution over cuts (p50 / p99) is measured over the
//! same cuts once per run; the table gives the median p50 and p99 and their spread.
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
//! - imports the whole file with one `pactlog import FILE` (the release binary, a cold
//!   process: time, peak RSS, disk, the first command after it) against SQLite loading
//!   the same file in one transaction;
//! - asks the state of the busiest provision at random cuts: pactlog in process, a
//!   fair full replay of the log (the queries' fast decoder, only the provision's
//!   events folded), the same question answered from SQLite through its index; any
//!   answer that differs from pactlog's fails the benchmark, naming the cut;
//! - runs the release binary cold (`pactlog state … --json`) and a cold SQLite process
//!   doing the same query;
//! - times `all_states`, `history` and `verify`;
//!
//! and once, the edge shape: N provisions drafted in one proposal and one
//! `meeting_held` listing them all, `all_states` at N = 1000 and 4000.
//!
//! Run with `--sqlite-query DB PROVISION AT_NS KNOWN_NS`, the binary only answers
//! one query from SQLite and exits (the cold SQLite process).

use std::collections::HashSet;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant as Clock0};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use pactlog::append::{append_all, Clock};
use pactlog::chain::Record;
use pactlog::event::{Body, Event, Slug, Stance, Status};
use pactlog::projection::{Projection, ProvisionState};
use pactlog::query::{self, Cut};
use pactlog::store::{Access, Ledger};
use rusqlite::{params, Connection, OpenFlags};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

type Instant = DateTime<Utc>;
type BoxError = Box<dyn std::error::Error>;

/// The allocator the `pactlog` binary ships with, so in-process figures are the product's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Events per pactlog session (one `append_all`), per SQLite transaction, per sled batch.
const SESSION: usize = 10_000;
const SEED: u64 = 0x5eed_2025_1130;
/// The sizes of the edge shape (provisions in one proposal and one meeting).
const EDGES: [usize; 2] = [1_000, 4_000];

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--sqlite-query") {
        return sqlite_query_process(&args[1..]);
    }
    // `--generate N FILE`: only write the synthetic NDJSON (for profiling an import).
    if let [flag, n, path] = args.as_slice() {
        if flag == "--generate" {
            generate(n.replace('_', "").parse()?, Path::new(path))?;
            return Ok(());
        }
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
    let runs = match std::env::var("PACTLOG_BENCH_RUNS") {
        Ok(text) if !text.trim().is_empty() => text.trim().parse::<usize>()?.max(5),
        _ => 5,
    };
    let reps = if quick {
        Reps {
            runs,
            cuts: 20,
            replay_cuts: 5,
            cold: 5,
        }
    } else {
        Reps {
            runs,
            cuts: 200,
            replay_cuts: 20,
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
    let dir = tempfile::Builder::new()
        .prefix("pactlog-bench-edges-")
        .tempdir_in(&base)?;
    let edges = EDGES
        .iter()
        .map(|&n| run_edges(n, dir.path(), reps.runs))
        .collect::<Result<Vec<_>, _>>()?;
    drop(dir);
    let table = render(&results, &edges, &machine, &reps);
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
    /// How often every figure is measured (its median is printed).
    runs: usize,
    /// Cuts per in-process distribution (pactlog, SQLite).
    cuts: usize,
    /// Cuts per full-replay distribution (the first of the same cuts).
    replay_cuts: usize,
    /// Cold processes per distribution.
    cold: usize,
}

// ---------------------------------------------------------------------------
// Results

/// The median of several runs of one figure and its spread.
#[derive(Clone, Copy, Default)]
struct Spread {
    med: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let med = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Spread {
            med,
            min: v[0],
            max: v[n - 1],
        }
    }

    /// Milliseconds: "8.20 ms (7.91–8.64)".
    fn ms(&self) -> String {
        format!("{} ({}–{})", ms(self.med), num(self.min), num(self.max))
    }

    /// Seconds: "6.96 s (6.80–7.10)".
    fn secs(&self) -> String {
        format!("{} ({}–{})", secs(self.med), num(self.min), num(self.max))
    }
}

/// A percentile of `ms` (nearest rank).
fn percentile(ms: &[f64], p: f64) -> f64 {
    let mut v = ms.to_vec();
    v.sort_by(f64::total_cmp);
    v[(((v.len() as f64) * p).ceil() as usize).clamp(1, v.len()) - 1]
}

/// A distribution over cuts measured once per run: the median p50 and p99 and their spread.
#[derive(Default)]
struct Dist {
    /// Per run, the time of each cut in order.
    runs: Vec<Vec<f64>>,
}

impl Dist {
    fn p(&self, p: f64) -> Spread {
        Spread::of(self.runs.iter().map(|r| percentile(r, p)).collect())
    }

    fn p50(&self) -> Spread {
        self.p(0.50)
    }

    fn p99(&self) -> Spread {
        self.p(0.99)
    }

    fn cuts(&self) -> usize {
        self.runs.first().map_or(0, Vec::len)
    }

    fn show(&self) -> String {
        format!(
            "{} / {} ({} cuts × {} runs)",
            self.p50().ms(),
            self.p99().ms(),
            self.cuts(),
            self.runs.len()
        )
    }
}

/// The median over runs of (`num` p50 / `den` p50 over the same first cuts).
fn dist_ratio(num: &Dist, den: &Dist) -> Spread {
    let cuts = num.cuts().min(den.cuts());
    Spread::of(
        num.runs
            .iter()
            .zip(&den.runs)
            .map(|(a, b)| percentile(&a[..cuts], 0.5) / percentile(&b[..cuts], 0.5))
            .collect(),
    )
}

/// A repeated library call: its time and what it counted.
#[derive(Default)]
struct Timed {
    ms: Spread,
    count: usize,
    /// How many runs the figure is the median of.
    runs: usize,
}

impl Timed {
    fn run(runs: usize, f: impl FnMut() -> pactlog::Result<usize>) -> Result<Timed, BoxError> {
        Timed::within(runs, None, f)
    }

    /// [`Timed::run`], stopping early (after at least one run) once `budget` is spent.
    fn within(
        runs: usize,
        budget: Option<Duration>,
        mut f: impl FnMut() -> pactlog::Result<usize>,
    ) -> Result<Timed, BoxError> {
        let start = Clock0::now();
        let mut times = Vec::new();
        let mut count = 0;
        for _ in 0..runs {
            let t = Clock0::now();
            count = f()?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            if budget.is_some_and(|b| start.elapsed() > b) {
                break;
            }
        }
        Ok(Timed {
            ms: Spread::of(times.clone()),
            count,
            runs: times.len(),
        })
    }

    fn show(&self, what: &str) -> String {
        format!("{} ({} {what})", self.ms.ms(), self.count)
    }
}

/// Bytes under a path: apparent (file lengths) and allocated (like `du`).
#[derive(Clone, Copy, Default)]
struct Disk {
    apparent: u64,
    allocated: u64,
}

impl Disk {
    /// The larger of the two, which the ratios use.
    fn bytes(&self) -> u64 {
        self.apparent.max(self.allocated)
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
    parse_only_s: Spread,
    pactlog_import_s: Spread,
    last_tenth_rate: f64,
    sqlite_import_s: Spread,
    sqlite_onefile_s: Spread,
    sled_import_s: Spread,
    cli_import_s: Spread,
    cli_import_rss_kb: Spread,
    rss_method: &'static str,
    first_after_cli: Spread,
    /// `pactlog list provisions` and `pactlog search` after the one-file import:
    /// seconds and peak RSS in MB (views that read the whole log).
    list: (f64, f64),
    search: (f64, f64),
    first_after_sessions: Spread,
    pactlog_disk: Disk,
    cli_disk: Disk,
    sqlite_disk: Disk,
    sled_disk: Disk,
    /// The EXPLAIN QUERY PLAN of the SQLite state query.
    sqlite_plan: String,
    state_pactlog: Dist,
    /// The same at the default record-time cut (everything known): the common query.
    state_now: Dist,
    state_replay: Dist,
    state_sqlite: Dist,
    /// Answers compared with pactlog's (all equal, or the run failed).
    compared: usize,
    cold_cli: Dist,
    cold_sqlite: Dist,
    all_states: Timed,
    history: Timed,
    verify: Timed,
}

impl SizeResult {
    fn sqlite_import_ratio(&self) -> f64 {
        self.sqlite_import_s.med / self.pactlog_import_s.med
    }

    fn onefile_ratio(&self) -> f64 {
        self.sqlite_onefile_s.med / self.cli_import_s.med
    }

    fn disk_ratio(&self, disk: &Disk) -> f64 {
        disk.bytes() as f64 / self.ndjson_bytes as f64
    }

    fn replay_ratio(&self) -> Spread {
        dist_ratio(&self.state_replay, &self.state_pactlog)
    }

    fn sqlite_ratio(&self) -> Spread {
        dist_ratio(&self.state_sqlite, &self.state_pactlog)
    }

    /// The later of the first commands after an import (one file, sessions).
    fn first_after(&self) -> f64 {
        self.first_after_cli.med.max(self.first_after_sessions.med)
    }
}

// ---------------------------------------------------------------------------
// One size

fn run_size(n: usize, dir: &Path, reps: &Reps) -> Result<SizeResult, BoxError> {
    let mut r = SizeResult {
        events: n,
        ..SizeResult::default()
    };
    let runs = reps.runs;
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
    let bin = env!("CARGO_BIN_EXE_pactlog");
    let span_known = (
        generated.sessions[0],
        *generated.sessions.last().expect("a session"),
    );
    let span_at = (
        generated.busy_drafted,
        generated.last_occurred + TimeDelta::days(1),
    );
    // Random cuts: valid time anywhere from the busy provision's draft to the end,
    // record time anywhere within the ledger's record span.
    let mut rng = Rng::new(SEED ^ 0xc075);
    let cuts: Vec<Cut> = (0..reps.cuts.max(reps.cold))
        .map(|_| {
            let at = rng.between(span_at.0, span_at.1);
            Cut::new(at, rng.between(span_known.0, span_known.1))
        })
        .collect();

    // Cold CLI `state` of the busiest provision on a ledger.
    let cli_state = |db: &Path, cut: &Cut| -> Result<f64, BoxError> {
        let t = Clock0::now();
        let out = Command::new(bin)
            .arg("--db")
            .arg(db)
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

    // Reading and parsing alone (what every import pays before storing anything).
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Clock0::now();
        let mut count = 0usize;
        for item in items(&ndjson)? {
            item?;
            count += 1;
        }
        assert_eq!(count, n);
        times.push(t.elapsed().as_secs_f64());
    }
    r.parse_only_s = Spread::of(times);

    // SQLite baseline in sessions (kept for the queries), and the whole file in one
    // transaction (the baseline of `pactlog import FILE`).
    let sqlite_path = dir.join("sqlite.db");
    let batches: Vec<(i64, usize)> = generated
        .sessions
        .iter()
        .map(|t| (nanos(t), SESSION))
        .collect();
    let mut times = Vec::new();
    for i in 0..runs {
        remove_sqlite(&sqlite_path)?;
        let t = Clock0::now();
        sqlite_load(&ndjson, &sqlite_path, &batches, true)?;
        times.push(t.elapsed().as_secs_f64());
        eprintln!("sqlite import {i}: {:.2}s", times[i]);
    }
    r.sqlite_import_s = Spread::of(times);
    r.sqlite_disk = sqlite_disk(&sqlite_path);
    let onefile_path = dir.join("sqlite-onefile.db");
    let mut times = Vec::new();
    for i in 0..runs {
        remove_sqlite(&onefile_path)?;
        let t = Clock0::now();
        sqlite_load(&ndjson, &onefile_path, &[(nanos(&span_known.1), n)], false)?;
        times.push(t.elapsed().as_secs_f64());
        eprintln!("sqlite one-file load {i}: {:.2}s", times[i]);
    }
    remove_sqlite(&onefile_path)?;
    r.sqlite_onefile_s = Spread::of(times);

    // Raw sled baseline: the same bytes, keyed by seq.
    let sled_path = dir.join("raw-sled");
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Clock0::now();
        sled_import(&ndjson, &sled_path)?;
        times.push(t.elapsed().as_secs_f64());
        r.sled_disk = disk_usage(&sled_path);
        fs::remove_dir_all(&sled_path)?;
    }
    r.sled_import_s = Spread::of(times);
    eprintln!("raw sled import {}", r.sled_import_s.secs());

    // pactlog, in process, one append_all per session; the first cold command after it.
    let ledger_path = dir.join("ledger");
    let (mut times, mut firsts) = (Vec::new(), Vec::new());
    for run in 0..runs {
        if ledger_path.exists() {
            fs::remove_dir_all(&ledger_path)?;
        }
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
                    if run == 0 {
                        eprintln!(
                            "  pactlog import: {seq} events, {:.0} ev/s since {since_seq}",
                            r.last_tenth_rate
                        );
                    }
                    (since, since_seq) = (Clock0::now(), seq);
                }
            }
            assert_eq!(ledger.head().seq, n as u64);
        }
        times.push(t.elapsed().as_secs_f64());
        firsts.push(cli_state(&ledger_path, &cuts[0])?);
        eprintln!(
            "pactlog import {run}: {:.2}s, first command after it {:.1} ms",
            times[run], firsts[run]
        );
    }
    r.pactlog_import_s = Spread::of(times);
    r.first_after_sessions = Spread::of(firsts);
    r.pactlog_disk = disk_usage(&ledger_path);

    // One `pactlog import FILE` in a cold child: time, peak RSS, disk, first command.
    let cli_ledger = dir.join("cli-ledger");
    let (mut times, mut rss, mut firsts) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        if cli_ledger.exists() {
            fs::remove_dir_all(&cli_ledger)?;
        }
        let (secs, kb, method) = cli_import(bin, &cli_ledger, &ndjson, span_known.1)?;
        times.push(secs);
        rss.push(kb.ok_or("no peak RSS")? as f64);
        r.rss_method = method;
        // Everything was recorded at the import: the cut's record time is the import's.
        let now = Cut::new(cuts[0].at, span_known.1);
        firsts.push(cli_state(&cli_ledger, &now)?);
        eprintln!(
            "CLI import {run}: {secs:.2}s, peak RSS {kb:?} kB ({method}), first command after it {:.1} ms",
            firsts[run]
        );
    }
    r.cli_disk = disk_usage(&cli_ledger);
    // The views that read the whole log, on the same ledger: time and peak RSS.
    for (view, args) in [
        (&mut r.list, ["list", "provisions"]),
        (&mut r.search, ["search", "no text is like this"]),
    ] {
        let args = args.map(std::ffi::OsStr::new);
        let (secs, kb, _) = cli_child(bin, &cli_ledger, &args, span_known.1)?;
        let mb = kb.ok_or("no peak RSS")? as f64 / 1024.0;
        eprintln!(
            "CLI {}: {secs:.2}s, peak RSS {mb:.0} MB",
            args[0].to_string_lossy()
        );
        *view = (secs, mb);
    }
    fs::remove_dir_all(&cli_ledger)?;
    r.cli_import_s = Spread::of(times);
    r.cli_import_rss_kb = Spread::of(rss);
    r.first_after_cli = Spread::of(firsts);

    // Cold CLI and cold SQLite processes, the same cuts in every run.
    let cold_cuts = &cuts[..reps.cold];
    for _ in 0..runs {
        let times = cold_cuts
            .iter()
            .map(|cut| cli_state(&ledger_path, cut))
            .collect::<Result<Vec<_>, _>>()?;
        r.cold_cli.runs.push(times);
    }
    eprintln!("cold CLI state {}", r.cold_cli.show());
    let me = std::env::current_exe()?;
    for _ in 0..runs {
        let mut times = Vec::new();
        for cut in cold_cuts {
            let t = Clock0::now();
            let out = Command::new(&me)
                .arg("--sqlite-query")
                .arg(&sqlite_path)
                .arg(&generated.busy)
                .arg(nanos(&cut.at).to_string())
                .arg(nanos(&cut.known_at).to_string())
                .stdin(Stdio::null())
                .output()?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            if !out.status.success() {
                return Err(format!(
                    "sqlite query process failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
        }
        r.cold_sqlite.runs.push(times);
    }
    eprintln!("cold SQLite process {}", r.cold_sqlite.show());

    // Warm, in process. The first run's answers are the reference every other answer
    // (pactlog's later runs, the replay, SQLite) must equal, or the benchmark fails.
    let ledger = Ledger::open(&ledger_path, Access::Existing)?;
    let busy = Slug::parse(&generated.busy)?;
    let cuts = &cuts[..reps.cuts];
    let mut expected: Vec<ProvisionState> = Vec::new();
    let check = |who: &str,
                 i: usize,
                 cut: &Cut,
                 expected: &[ProvisionState],
                 got: Option<ProvisionState>|
     -> Result<(), BoxError> {
        if got.as_ref() != expected.get(i) {
            return Err(format!(
                "{who} differs from pactlog at cut {i} of {n} events: state of `{}` at {} known at {}\n pactlog: {:?}\n {who}: {:?}",
                generated.busy,
                pactlog::time::format(&cut.at),
                pactlog::time::format(&cut.known_at),
                expected.get(i),
                got
            )
            .into());
        }
        Ok(())
    };
    for run in 0..runs {
        let mut times = Vec::new();
        for (i, cut) in cuts.iter().enumerate() {
            let t = Clock0::now();
            let state = query::provision_state(&ledger, &busy, cut)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            if run == 0 {
                expected.push(state.state);
            } else {
                check(
                    "pactlog (a later run)",
                    i,
                    cut,
                    &expected,
                    Some(state.state),
                )?;
            }
        }
        r.state_pactlog.runs.push(times);
    }
    r.compared += cuts.len() * (runs - 1);
    eprintln!("pactlog state {}", r.state_pactlog.show());
    for _ in 0..runs {
        let mut times = Vec::new();
        for cut in cuts {
            let now = Cut::new(cut.at, span_known.1);
            let t = Clock0::now();
            query::provision_state(&ledger, &busy, &now)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        r.state_now.runs.push(times);
    }
    eprintln!("pactlog state as known now {}", r.state_now.show());
    r.busy_events = query::history_records(&ledger, pactlog::event::Kind::Provision, &busy)?.len();

    // A replay reads the whole log (about 0.8 s at 1M), but a ratio of medians over
    // 5 cuts moved by a fifth between runs: the same 20 cuts at every size.
    let replay_cuts = &cuts[..reps.replay_cuts.min(cuts.len())];
    for _ in 0..runs {
        let mut times = Vec::new();
        for (i, cut) in replay_cuts.iter().enumerate() {
            let t = Clock0::now();
            let state = replay_state(&ledger, &busy, cut)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            check("the full replay", i, cut, &expected, state)?;
        }
        r.state_replay.runs.push(times);
    }
    r.compared += replay_cuts.len() * runs;
    eprintln!("full replay {}", r.state_replay.show());

    let conn = Connection::open_with_flags(&sqlite_path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    r.sqlite_plan = sqlite_plan(&conn)?;
    eprintln!("SQLite query plan: {}", r.sqlite_plan);
    for _ in 0..runs {
        let mut times = Vec::new();
        for (i, cut) in cuts.iter().enumerate() {
            let t = Clock0::now();
            let state = sqlite_state(&conn, &busy, nanos(&cut.at), nanos(&cut.known_at))?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            check("SQLite", i, cut, &expected, state)?;
        }
        r.state_sqlite.runs.push(times);
    }
    r.compared += cuts.len() * runs;
    eprintln!(
        "sqlite state {}; {} answers compared, all equal",
        r.state_sqlite.show(),
        r.compared
    );
    drop(conn);

    let end = Cut::new(span_at.1, span_known.1);
    r.all_states = Timed::run(runs, || query::all_states(&ledger, &end).map(|s| s.len()))?;
    r.history = Timed::run(runs, || {
        query::history(&ledger, &busy, None, end.known()).map(|h| h.len())
    })?;
    r.verify = Timed::run(runs, || {
        pactlog::verify::verify(&ledger, None).map(|v| v.records as usize)
    })?;
    drop(ledger);
    eprintln!(
        "all_states {}, history {}, verify {}",
        r.all_states.show("provisions"),
        r.history.show("entries"),
        r.verify.show("records")
    );
    Ok(r)
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

/// Every byte under a file or folder: file lengths, and allocated blocks (like `du`).
fn disk_usage(path: &Path) -> Disk {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::symlink_metadata(path) else {
        return Disk::default();
    };
    if meta.is_dir() {
        fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| disk_usage(&e.path()))
                    .fold(Disk::default(), |a, b| Disk {
                        apparent: a.apparent + b.apparent,
                        allocated: a.allocated + b.allocated,
                    })
            })
            .unwrap_or_default()
    } else {
        Disk {
            apparent: meta.len(),
            allocated: meta.blocks() * 512,
        }
    }
}

fn sqlite_files(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [db.to_path_buf(), with("-wal"), with("-shm")]
}

fn sqlite_disk(db: &Path) -> Disk {
    sqlite_files(db)
        .iter()
        .map(|p| disk_usage(p))
        .fold(Disk::default(), |a, b| Disk {
            apparent: a.apparent + b.apparent,
            allocated: a.allocated + b.allocated,
        })
}

fn remove_sqlite(db: &Path) -> Result<(), BoxError> {
    for path in sqlite_files(db) {
        if path.exists() {
            fs::remove_file(path)?;
        }
    }
    Ok(())
}

/// `pactlog import FILE` in a child; wall time and peak RSS in kB.
fn cli_import(
    bin: &str,
    db: &Path,
    ndjson: &Path,
    now: Instant,
) -> Result<(f64, Option<u64>, &'static str), BoxError> {
    cli_child(bin, db, &["import".as_ref(), ndjson.as_os_str()], now)
}

/// `pactlog ARGS` on the ledger `db` in a child, its output thrown away; wall time
/// and peak RSS in kB.
fn cli_child(
    bin: &str,
    db: &Path,
    args: &[&std::ffi::OsStr],
    now: Instant,
) -> Result<(f64, Option<u64>, &'static str), BoxError> {
    let what = args[0].to_string_lossy().into_owned();
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
            .args(args)
            .env("PACTLOG_NOW", &now)
            .stdin(Stdio::null())
            .output()?;
        let secs = t.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(format!(
                "pactlog {what} failed: {}",
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
        .args(args)
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
        return Err(format!("pactlog {what} failed").into());
    }
    Ok((secs, peak, "polled VmHWM"))
}

// ---------------------------------------------------------------------------
// Baselines

/// The fair full replay: every committed record up to the record-time cut, read with
/// the fast decoder pactlog's queries use (`Record::decode_event`, as
/// `Ledger::event_at`), only the events that touch the provision kept (and every
/// correction, for the removals), then format.md §3's rule and the fold.
fn replay_state(
    ledger: &Ledger,
    provision: &Slug,
    cut: &Cut,
) -> Result<Option<ProvisionState>, BoxError> {
    let mut removed = HashSet::new();
    let mut kept: Vec<(Instant, u64, Event)> = Vec::new();
    for item in ledger.raw_records(1) {
        let (seq, bytes) = item?;
        let (recorded_at, event) = match Record::decode_event(&bytes) {
            Ok((_, recorded_at, event)) => (recorded_at, event),
            // A stored form the record decoder does not read directly: the ledger's own fast path.
            Err(_) => {
                let (recorded_at, event) = ledger.event_at(seq)?;
                (recorded_at, Event::clone(&event))
            }
        };
        // Record time never decreases along the log: nothing later is known at the cut.
        if recorded_at > cut.known_at {
            break;
        }
        if let Some(target) = event.removes() {
            removed.insert(target);
        }
        if event.occurred_at <= cut.at && touches(&event, provision) {
            kept.push((event.occurred_at, seq, event));
        }
    }
    kept.retain(|(_, _, e)| !removed.contains(&e.id));
    // Stable: ties stay in seq order.
    kept.sort_by_key(|(occurred, _, _)| *occurred);
    let mut projection = Projection::default();
    for (_, seq, event) in &kept {
        projection.apply(*seq, event);
    }
    Ok(projection.state(provision))
}

/// Whether an event is about the provision (without allocating).
fn touches(event: &Event, provision: &Slug) -> bool {
    match &event.body {
        Body::ProvisionDrafted { provision: p, .. }
        | Body::ProvisionAmended { provision: p, .. }
        | Body::ProvisionDropped { provision: p, .. }
        | Body::StatusChanged { provision: p, .. }
        | Body::PositionStated { provision: p, .. } => p == provision,
        Body::MeetingHeld { provisions, .. } | Body::StatementMade { provisions, .. } => {
            provisions.contains(provision)
        }
        _ => false,
    }
}

/// What a line of the NDJSON holds, read in one typed pass (what the SQLite baseline
/// stores in columns).
#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    id: Uuid,
    occurred_at: String,
    actor: Option<String>,
    attribution: Option<String>,
    supersedes: Option<Uuid>,
    target: Option<Uuid>,
    provision: Option<String>,
    provisions: Option<Vec<String>>,
    proposal: Option<String>,
    title: Option<String>,
    text: Option<String>,
    topic: Option<String>,
    status: Option<String>,
    party: Option<String>,
    stance: Option<String>,
    summary: Option<String>,
    meeting: Option<String>,
    quote: Option<String>,
    source: Option<pactlog::event::Source>,
}

/// Loads the NDJSON into SQLite: `batches` of (record time, events), one transaction
/// each. One `events` row per provision an event is about (one row with no provision
/// for the others), the fields the fold needs in columns beside the whole line, one
/// index on (provision, valid time). With `removals`, the corrections also go into a
/// `removals` table indexed by the id they remove (what the state query needs).
fn sqlite_load(
    ndjson: &Path,
    db: &Path,
    batches: &[(i64, usize)],
    removals: bool,
) -> Result<(), BoxError> {
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
             type TEXT NOT NULL,
             proposal TEXT,
             title TEXT,
             text TEXT,
             topic TEXT,
             status TEXT,
             party TEXT,
             stance TEXT,
             summary TEXT,
             meeting TEXT,
             quote TEXT,
             actor TEXT,
             attribution TEXT,
             removes BLOB,
             source TEXT,
             body TEXT NOT NULL
         );
         CREATE INDEX events_provision ON events (provision, occurred_at);",
    )?;
    if removals {
        conn.execute_batch(
            "CREATE TABLE removals (target BLOB NOT NULL, recorded_at INTEGER NOT NULL);
             CREATE INDEX removals_target ON removals (target);",
        )?;
    }
    let mut lines = BufReader::with_capacity(1 << 16, File::open(ndjson)?).lines();
    let mut seq = 0i64;
    for &(recorded, size) in batches {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (seq, id, provision, occurred_at, recorded_at, type, proposal,
                     title, text, topic, status, party, stance, summary, meeting, quote, actor,
                     attribution, removes, source, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19, ?20, ?21)",
            )?;
            let mut removal =
                if removals {
                    Some(tx.prepare_cached(
                        "INSERT INTO removals (target, recorded_at) VALUES (?1, ?2)",
                    )?)
                } else {
                    None
                };
            let mut done = 0;
            while done < size {
                let Some(line) = lines.next().transpose()? else {
                    break;
                };
                if line.trim().is_empty() || line.starts_with('#') {
                    continue;
                }
                done += 1;
                seq += 1;
                let l: Line = serde_json::from_str(&line)?;
                let occurred = nanos(&pactlog::time::parse_occurred_at(&l.occurred_at)?);
                let removes = l.target.or(l.supersedes);
                let source = l.source.as_ref().map(serde_json::to_string).transpose()?;
                if let (Some(target), Some(removal)) = (removes, removal.as_mut()) {
                    removal.execute(params![target.as_bytes().as_slice(), recorded])?;
                }
                let mut provisions: Vec<Option<&str>> =
                    l.provision.as_deref().into_iter().map(Some).collect();
                provisions.extend(l.provisions.iter().flatten().map(|p| Some(p.as_str())));
                if provisions.is_empty() {
                    provisions.push(None);
                }
                for p in provisions {
                    insert.execute(params![
                        seq,
                        l.id.as_bytes().as_slice(),
                        p,
                        occurred,
                        recorded,
                        l.kind,
                        l.proposal,
                        l.title,
                        l.text,
                        l.topic,
                        l.status,
                        l.party,
                        l.stance,
                        l.summary,
                        l.meeting,
                        l.quote,
                        l.actor,
                        l.attribution,
                        removes.map(|u| u.as_bytes().to_vec()),
                        source,
                        line,
                    ])?;
                }
            }
        }
        tx.commit()?;
    }
    Ok(())
}

/// The state query: the provision's rows at or before the valid-time cut, known at
/// the record-time cut, that no correction known at the cut removed. It walks the
/// index: EXPLAIN QUERY PLAN (checked by [`sqlite_plan`] on every run) says
/// `SEARCH e USING INDEX events_provision (provision=? AND occurred_at<?)` and
/// `CORRELATED SCALAR SUBQUERY 1` / `SEARCH r USING INDEX removals_target (target=?)`.
const SQLITE_STATE: &str =
    "SELECT e.seq, e.occurred_at, e.id, e.type, e.proposal, e.title, e.text, e.topic,
            e.status, e.party, e.stance, e.summary, e.meeting, e.quote, e.actor, e.attribution,
            e.source
     FROM events e
     WHERE e.provision = ?1 AND e.occurred_at <= ?2 AND e.recorded_at <= ?3
       AND NOT EXISTS (SELECT 1 FROM removals r WHERE r.target = e.id AND r.recorded_at <= ?3)";

/// The query plan of [`SQLITE_STATE`]; an error unless it searches both indexes.
fn sqlite_plan(conn: &Connection) -> Result<String, BoxError> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {SQLITE_STATE}"))?;
    let plan = stmt
        .query_map(params!["p", 0i64, 0i64], |r| r.get::<_, String>(3))?
        .collect::<Result<Vec<_>, _>>()?
        .join("; ");
    if !plan.contains("USING INDEX events_provision")
        || !plan.contains("USING INDEX removals_target")
    {
        return Err(format!("the SQLite state query does not use its indexes: {plan}").into());
    }
    Ok(plan)
}

/// The state of one provision at a cut, answered from SQLite through its indexes,
/// events built from the columns, and folded with pactlog's own projection.
fn sqlite_state(
    conn: &Connection,
    provision: &Slug,
    at: i64,
    known: i64,
) -> Result<Option<ProvisionState>, BoxError> {
    let mut stmt = conn.prepare_cached(SQLITE_STATE)?;
    let mut rows = stmt.query(params![provision.as_str(), at, known])?;
    let mut events: Vec<(i64, i64, Event)> = Vec::new();
    let slug = |v: Option<String>| -> Result<Slug, BoxError> {
        Ok(Slug::parse(&v.ok_or("a missing slug column")?)?)
    };
    let text =
        |v: Option<String>| -> Result<String, BoxError> { Ok(v.ok_or("a missing text column")?) };
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let occurred: i64 = row.get(1)?;
        let id = Uuid::from_slice(row.get_ref(2)?.as_blob()?)?;
        let kind = row.get_ref(3)?.as_str()?;
        let col = |i: usize| row.get::<_, Option<String>>(i);
        let p = provision.clone();
        let body = match kind {
            "provision_drafted" => Body::ProvisionDrafted {
                provision: p,
                proposal: slug(col(4)?)?,
                title: text(col(5)?)?,
                text: text(col(6)?)?,
                topic: col(7)?,
                parameters: None,
            },
            "provision_amended" => Body::ProvisionAmended {
                provision: p,
                proposal: slug(col(4)?)?,
                text: text(col(6)?)?,
                summary: col(11)?,
                parameters: None,
            },
            "provision_dropped" => Body::ProvisionDropped {
                provision: p,
                proposal: slug(col(4)?)?,
                reason: None,
            },
            "status_changed" => Body::StatusChanged {
                provision: p,
                status: Status::parse(&text(col(8)?)?)?,
                note: None,
            },
            "position_stated" => Body::PositionStated {
                provision: p,
                party: slug(col(9)?)?,
                stance: Stance::parse(&text(col(10)?)?)?,
                summary: col(11)?,
            },
            "meeting_held" => Body::MeetingHeld {
                meeting: slug(col(12)?)?,
                title: None,
                place: String::new(),
                participants: Vec::new(),
                provisions: vec![p],
                outcome: None,
            },
            "statement_made" => Body::StatementMade {
                quote: text(col(13)?)?,
                meeting: col(12)?.map(|m| Slug::parse(&m)).transpose()?,
                provisions: vec![p],
            },
            other => return Err(format!("a provision row of type `{other}`").into()),
        };
        let event = Event {
            id,
            occurred_at: Utc.timestamp_nanos(occurred),
            sources: match col(16)? {
                Some(source) => vec![serde_json::from_str(&source)?],
                None => Vec::new(),
            },
            basis: Default::default(),
            note: None,
            actor: col(14)?.map(|a| Slug::parse(&a)).transpose()?,
            attribution: col(15)?,
            supersedes: None,
            body,
        };
        events.push((occurred, seq, event));
    }
    events.sort_by_key(|(occurred, seq, _)| (*occurred, *seq));
    let mut projection = Projection::default();
    for (_, seq, event) in &events {
        projection.apply(*seq as u64, event);
    }
    Ok(projection.state(provision))
}

/// The cold SQLite process: open, query, fold, print JSON, exit.
fn sqlite_query_process(args: &[String]) -> Result<(), BoxError> {
    let [db, provision, at, known] = args else {
        return Err("usage: scale --sqlite-query DB PROVISION AT_NS KNOWN_NS".into());
    };
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let state = sqlite_state(&conn, &Slug::parse(provision)?, at.parse()?, known.parse()?)?
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
// The edge shape

struct EdgeResult {
    provisions: usize,
    import_s: f64,
    all_states: Timed,
}

/// N provisions drafted in one proposal and one `meeting_held` listing all of them:
/// `all_states` (what `state --json` without a provision answers) at the end.
fn run_edges(n: usize, dir: &Path, runs: usize) -> Result<EdgeResult, BoxError> {
    let path = dir.join(format!("edges-{n}.ndjson"));
    let start = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
    let day = |d: i64| pactlog::time::format(&(start + TimeDelta::days(d)));
    let mut id = 0u128;
    let mut next_id = || {
        id += 1;
        Uuid::from_u128((0x0190_0000_0000_7000_8000_0000_0000_0000u128) | id)
    };
    {
        let mut out = BufWriter::new(File::create(&path)?);
        let mut line = |v: Value| -> Result<(), BoxError> {
            serde_json::to_writer(&mut out, &v)?;
            out.write_all(b"\n")?;
            Ok(())
        };
        line(
            json!({"type": "party_registered", "id": next_id(), "occurred_at": day(0), "party": "us", "name": "Party us"}),
        )?;
        line(
            json!({"type": "actor_registered", "id": next_id(), "occurred_at": day(0), "actor": "envoy", "name": "An Envoy", "party": "us"}),
        )?;
        line(
            json!({"type": "proposal_tabled", "id": next_id(), "occurred_at": day(0), "proposal": "plan", "title": "The plan", "parties": ["us"]}),
        )?;
        let slugs: Vec<String> = (0..n).map(|i| format!("clause-{i}")).collect();
        for slug in &slugs {
            line(
                json!({"type": "provision_drafted", "id": next_id(), "occurred_at": day(1), "provision": slug,
                "proposal": "plan", "title": format!("Clause {slug}"), "text": "The parties agree to what this clause says."}),
            )?;
        }
        line(
            json!({"type": "meeting_held", "id": next_id(), "occurred_at": day(2), "meeting": "summit",
            "place": "Geneva", "participants": ["envoy"], "provisions": slugs}),
        )?;
        out.flush()?;
    }
    let db = dir.join(format!("edges-{n}"));
    let now = start + TimeDelta::days(3);
    let t = Clock0::now();
    {
        let mut ledger = Ledger::open(&db, Access::Create)?;
        let mut new_id = || -> Uuid { unreachable!("every event has an id") };
        let clock = Clock {
            now,
            new_id: &mut new_id,
        };
        append_all(&mut ledger, items(&path)?, clock, None)?;
    }
    let import_s = t.elapsed().as_secs_f64();
    let ledger = Ledger::open(&db, Access::Existing)?;
    let cut = Cut::new(now, now + TimeDelta::days(1));
    // Superlinear reads make one run at 4000 take minutes: the runs stop after a minute.
    let all_states = Timed::within(runs, Some(Duration::from_secs(60)), || {
        let states = query::all_states(&ledger, &cut)?;
        assert!(states.iter().all(|s| s.state.meetings.len() == 1));
        Ok(states.len())
    })?;
    assert_eq!(all_states.count, n);
    eprintln!(
        "edges: {n} provisions, import {import_s:.2}s, all_states {}",
        all_states.show("provisions")
    );
    Ok(EdgeResult {
        provisions: n,
        import_s,
        all_states,
    })
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
    /// A position's party (a correction restates the same party's stance).
    party: u16,
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
        if g.emitted.is_multiple_of(meeting_every) {
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
    if !g.emitted.is_multiple_of(SESSION) {
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
        if self.emitted.is_multiple_of(SESSION) {
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
        supersedes: Option<(Uuid, usize)>,
    ) -> Result<(), BoxError> {
        let (mut o, id, at) = self.base("position_stated", occurred, true);
        o.insert("provision".into(), json!(self.provisions[p]));
        let party = match supersedes {
            Some((_, party)) => party,
            None => self.rng.below(PARTIES.len()),
        };
        let supersedes = supersedes.map(|(id, _)| id);
        o.insert("party".into(), json!(PARTIES[party]));
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
            party: party as u16,
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
            party: 0,
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
            party: 0,
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
                party: 0,
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
            1 => self.position(p, occurred, Some((c.id, c.party as usize))),
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
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
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

/// A number for a spread, without its unit.
fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn secs(v: f64) -> String {
    format!("{} s", num(v))
}

fn mb(bytes: f64) -> f64 {
    bytes / 1_048_576.0
}

/// One target: what it asks, at which size (`None`: every size run), the measured
/// value shown, and whether it is met.
struct Target {
    what: &'static str,
    size: Option<usize>,
    eval: fn(&SizeResult) -> (String, bool),
}

fn targets() -> Vec<Target> {
    fn import_ratio(r: &SizeResult) -> (String, bool) {
        let x = r.sqlite_import_ratio();
        (ratio(x), x >= 1.0)
    }
    fn rss(r: &SizeResult) -> (String, f64) {
        let m = r.cli_import_rss_kb.med / 1024.0;
        (format!("{m:.0} MB"), m)
    }
    fn cold(r: &SizeResult) -> (String, f64) {
        let v = r.cold_cli.p50().med;
        (ms(v), v)
    }
    vec![
        Target {
            what: "import in sessions: SQLite time / pactlog time ≥ 1.0× at 100k",
            size: Some(100_000),
            eval: import_ratio,
        },
        Target {
            what: "import in sessions: SQLite time / pactlog time ≥ 1.0× at 1M",
            size: Some(1_000_000),
            eval: import_ratio,
        },
        Target {
            what:
                "one-file import: SQLite one-transaction time / `pactlog import FILE` time ≥ 1.0×",
            size: None,
            eval: |r| {
                let x = r.onefile_ratio();
                (ratio(x), x >= 1.0)
            },
        },
        Target {
            what: "disk / NDJSON ≤ 2.0× after one import",
            size: None,
            eval: |r| {
                let x = r.disk_ratio(&r.cli_disk);
                (ratio(x), x <= 2.0)
            },
        },
        Target {
            what: "disk / NDJSON ≤ 2.5× after the import in sessions",
            size: None,
            eval: |r| {
                let x = r.disk_ratio(&r.pactlog_disk);
                (ratio(x), x <= 2.5)
            },
        },
        Target {
            what: "peak RSS of `pactlog import FILE` ≤ 100 MB at 100k",
            size: Some(100_000),
            eval: |r| {
                let (s, m) = rss(r);
                (s, m <= 100.0)
            },
        },
        Target {
            what: "peak RSS of `pactlog import FILE` ≤ 150 MB at 1M",
            size: Some(1_000_000),
            eval: |r| {
                let (s, m) = rss(r);
                (s, m <= 150.0)
            },
        },
        Target {
            what: "`verify` of 1M ≤ 15 s",
            size: Some(1_000_000),
            eval: |r| (ms(r.verify.ms.med), r.verify.ms.med <= 15_000.0),
        },
        Target {
            what: "in-process state p99 ≤ 5 ms, known now",
            size: None,
            eval: |r| {
                let v = r.state_now.p99().med;
                (ms(v), v <= 5.0)
            },
        },
        Target {
            what: "in-process state p99 ≤ 20 ms at past record-time cuts",
            size: None,
            eval: |r| {
                let v = r.state_pactlog.p99().med;
                (ms(v), v <= 20.0)
            },
        },
        Target {
            what: "cold CLI `state` p50 ≤ 30 ms at 100k",
            size: Some(100_000),
            eval: |r| {
                let (s, v) = cold(r);
                (s, v <= 30.0)
            },
        },
        Target {
            what: "cold CLI `state` p50 ≤ 100 ms at 1M",
            size: Some(1_000_000),
            eval: |r| {
                let (s, v) = cold(r);
                (s, v <= 100.0)
            },
        },
        Target {
            what: "first command after a 1M import ≤ 150 ms (the later of one-file and sessions)",
            size: Some(1_000_000),
            eval: |r| (ms(r.first_after()), r.first_after() <= 150.0),
        },
        Target {
            what: "full replay time / pactlog time (p50) ≥ 300× at 1M",
            size: Some(1_000_000),
            eval: |r| {
                let x = r.replay_ratio().med;
                (ratio(x), x >= 300.0)
            },
        },
    ]
}

fn render(results: &[SizeResult], edges: &[EdgeResult], machine: &str, reps: &Reps) -> String {
    let mut s = String::new();
    let head: Vec<String> = results.iter().map(|r| label(r.events)).collect();
    let _ = writeln!(s, "## pactlog scale benchmark\n");
    let _ = writeln!(s, "Machine: {machine}.\n");
    let _ = writeln!(
        s,
        "Every figure: the median of {} runs (min–max in brackets). p50 / p99: per run over the same cuts, the median of the runs' p50 and p99.\n",
        reps.runs
    );
    let _ = writeln!(s, "| | {} |", head.join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(results.len()));
    let mut row = |name: &str, f: &dyn Fn(&SizeResult) -> String| {
        let cells: Vec<String> = results.iter().map(f).collect();
        let _ = writeln!(s, "| {name} | {} |", cells.join(" | "));
    };
    let rate = |n: usize, sp: &Spread| format!("{} ev/s, {}", kilo(n as f64 / sp.med), sp.secs());
    let disk = |r: &SizeResult, d: &Disk| {
        format!(
            "{:.0} MB, {:.0} B/event, {} NDJSON (allocated {:.0} MB)",
            mb(d.bytes() as f64),
            d.bytes() as f64 / r.events as f64,
            ratio(r.disk_ratio(d)),
            mb(d.allocated as f64),
        )
    };
    row("NDJSON input", &|r| {
        format!(
            "{:.0} MB ({:.0} B/event)",
            mb(r.ndjson_bytes as f64),
            r.ndjson_bytes as f64 / r.events as f64
        )
    });
    row("provisions drafted / events of the busiest", &|r| {
        format!("{} / {} (`{}`)", r.provisions, r.busy_events, r.busy)
    });
    row("read + parse NDJSON only", &|r| {
        rate(r.events, &r.parse_only_s)
    });
    row(
        "**import in sessions: pactlog** (`append_all`, 10k per call)",
        &|r| rate(r.events, &r.pactlog_import_s),
    );
    row(
        "import in sessions: pactlog, rate over the last tenth (last run)",
        &|r| format!("{} ev/s", kilo(r.last_tenth_rate)),
    );
    row(
        "import in sessions: SQLite (WAL, sync=NORMAL, 10k per tx, + removals table)",
        &|r| rate(r.events, &r.sqlite_import_s),
    );
    row("import in sessions: raw sled (`apply_batch` 10k)", &|r| {
        rate(r.events, &r.sled_import_s)
    });
    row(
        "import in sessions: SQLite time / pactlog time (≥ 1 = pactlog as fast or faster)",
        &|r| ratio(r.sqlite_import_ratio()),
    );
    row(
        "import in sessions: raw sled time / pactlog time (≥ 1 = pactlog as fast or faster)",
        &|r| ratio(r.sled_import_s.med / r.pactlog_import_s.med),
    );
    row(
        "**one-file import: `pactlog import FILE`** (release binary, cold process)",
        &|r| rate(r.events, &r.cli_import_s),
    );
    row(
        "one-file import: SQLite, the same file in one transaction",
        &|r| rate(r.events, &r.sqlite_onefile_s),
    );
    row(
        "one-file import: SQLite time / pactlog time (≥ 1 = pactlog as fast or faster)",
        &|r| ratio(r.onefile_ratio()),
    );
    row("peak RSS of `pactlog import FILE`", &|r| {
        let sp = &r.cli_import_rss_kb;
        format!(
            "{:.0} MB ({:.0}–{:.0})",
            sp.med / 1024.0,
            sp.min / 1024.0,
            sp.max / 1024.0
        )
    });
    row(
        "whole-log views, one run: `list provisions` / `search`, time and peak RSS",
        &|r| {
            format!(
                "{:.2} s, {:.0} MB / {:.2} s, {:.0} MB",
                r.list.0, r.list.1, r.search.0, r.search.1
            )
        },
    );
    row(
        "disk after one import: ledger folder / NDJSON (every byte)",
        &|r| disk(r, &r.cli_disk),
    );
    row(
        "disk after the import in sessions: ledger folder / NDJSON",
        &|r| disk(r, &r.pactlog_disk),
    );
    row("disk: SQLite / raw sled, each / NDJSON", &|r| {
        format!(
            "{} / {}",
            ratio(r.disk_ratio(&r.sqlite_disk)),
            ratio(r.disk_ratio(&r.sled_disk))
        )
    });
    row(
        "**first command after the import** (cold CLI `state`), one file",
        &|r| r.first_after_cli.ms(),
    );
    row("first command after the import in sessions", &|r| {
        r.first_after_sessions.ms()
    });
    row(
        "**state of the busiest provision, pactlog in process**, random cuts, p50 / p99",
        &|r| r.state_pactlog.show(),
    );
    row(
        "state as known now (record-time cut = head), p50 / p99",
        &|r| r.state_now.show(),
    );
    row(
        "state, fair full replay (fast decoder, only this provision folded), p50 / p99",
        &|r| r.state_replay.show(),
    );
    row(
        "state, SQLite through its indexes + the same fold, p50 / p99",
        &|r| r.state_sqlite.show(),
    );
    row(
        "full replay time / pactlog time (p50, same cuts; how many times faster pactlog is)",
        &|r| {
            let sp = r.replay_ratio();
            format!("{} ({}–{})", ratio(sp.med), ratio(sp.min), ratio(sp.max))
        },
    );
    row(
        "SQLite time / pactlog time (p50; ≥ 1 = pactlog as fast or faster)",
        &|r| {
            let sp = r.sqlite_ratio();
            format!("{} ({}–{})", ratio(sp.med), ratio(sp.min), ratio(sp.max))
        },
    );
    row(
        "answers compared with pactlog's (replay, SQLite, later runs); any difference fails the run",
        &|r| format!("{}, all equal", r.compared),
    );
    row("**cold CLI `pactlog state P --json`**, p50 / p99", &|r| {
        r.cold_cli.show()
    });
    row(
        "cold SQLite process (open + query + fold), p50 / p99",
        &|r| r.cold_sqlite.show(),
    );
    row("`all_states` at the end", &|r| {
        r.all_states.show("provisions")
    });
    row("`history` of the busiest provision", &|r| {
        r.history.show("entries")
    });
    row("`verify` of the whole ledger", &|r| {
        r.verify.show("records")
    });
    row("generate NDJSON (fixed seed, once)", &|r| {
        format!("{:.1} s", r.gen_s)
    });

    let _ = writeln!(
        s,
        "\nEdge shape: N provisions drafted in one proposal, one `meeting_held` listing all N; \
         `all_states` (the in-process `state --json` of every provision) at the end; \
         the runs stop after a minute (at least one).\n"
    );
    let _ = writeln!(s, "| N | import (once) | `all_states` |");
    let _ = writeln!(s, "|---:|---:|---:|");
    for e in edges {
        let _ = writeln!(
            s,
            "| {} | {} | {} (median of {} runs) |",
            e.provisions,
            secs(e.import_s),
            e.all_states.ms.ms(),
            e.all_states.runs
        );
    }
    if let [small, large] = edges {
        let _ = writeln!(
            s,
            "| t({}) / t({}) (≈ {} = linear) | | {} |",
            large.provisions,
            small.provisions,
            large.provisions / small.provisions,
            ratio(large.all_states.ms.med / small.all_states.ms.med)
        );
    }

    let _ = writeln!(
        s,
        "\nCuts: random valid time from the busiest provision's draft to the end, random record time within the \
         ledger's record span: {} in process (the full replay: the first {}), {} cold processes, the same cuts in every run. \
         pactlog imports in sessions of {SESSION} events (one `append_all` each, one record time each, fsync at each commit); \
         SQLite commits every {SESSION} rows with `synchronous=NORMAL` (no fsync per commit in WAL mode), raw sled flushes once at the end. \
         SQLite has one `events` row per provision an event is about, the fields the fold reads in columns, an index on \
         `(provision, occurred_at)`, and (in sessions) a `removals` table indexed by the removed id; its query walks both indexes \
         (`{}`) and folds the rows with `pactlog::projection::Projection`. The one-file SQLite load has the same table, \
         index and pragmas, no `removals`; the first command after it asks at the head's record time. The full replay reads every record up to the record-time cut with `Record::decode_event` and \
         folds only the provision's counted events. Peak RSS by {}. Disk: every byte under the ledger folder (the larger of \
         file lengths and allocated blocks).",
        reps.cuts,
        reps.replay_cuts,
        reps.cold,
        results.first().map_or("?", |r| r.sqlite_plan.as_str()),
        results.first().map_or("?", |r| r.rss_method),
    );

    let _ = writeln!(s, "\n### Targets\n");
    for target in targets() {
        let applies: Vec<&SizeResult> = results
            .iter()
            .filter(|r| target.size.is_none_or(|n| r.events == n))
            .collect();
        if applies.is_empty() {
            let _ = writeln!(
                s,
                "- ⬜ not measured: {} ({} not run)",
                target.what,
                target.size.map_or("no size".into(), label)
            );
            continue;
        }
        for r in applies {
            let (value, met) = (target.eval)(r);
            let _ = writeln!(
                s,
                "- {} {}: {} — {} at {}",
                mark(met),
                if met { "met" } else { "missed" },
                target.what,
                value,
                label(r.events)
            );
        }
    }
    s
}

/// "14k" above 10,000, else the number.
fn kilo(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}
