//! A newcomer's first hour (issue 12): the README's tour run from its own text in a
//! scratch folder with the real clock; `append TYPE --help`; the forms of a `WHEN` in
//! every help that takes one; `occurred_at` required on every path; messages (plurals,
//! time errors in plain words, did-you-mean for every slug argument, a missing ledger,
//! `--quiet`); man pages; links in the repository's Markdown; `docs/commands.md`
//! generated from `--help`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{project, TestLedger, NOW};

/// A folder holding `pactlog` (a link to the binary under test), for `PATH`.
fn bin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_pactlog"), dir.path().join("pactlog")).unwrap();
    dir
}

/// Runs a shell command line as a user would, in `cwd`, with `pactlog` on the PATH, the
/// given environment and the real clock (no `PACTLOG_NOW`).
fn shell(bin: &Path, cwd: &Path, env: &BTreeMap<String, String>, line: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .envs(env)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The shell lines of the README's tour: every line of the `sh` blocks between
/// "## A tour" and the next section, continuation lines joined, each split into the
/// command and its comment.
fn tour() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(project().join("README.md")).unwrap();
    let start = readme.find("\n## A tour").expect("README has a tour");
    let section = &readme[start + 1..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut lines = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in section.lines() {
        if line.starts_with("```") {
            in_block = line == "```sh";
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        let whole = format!("{pending}{line}");
        pending.clear();
        let (command, comment) = match whole.find("  #") {
            Some(i) => (whole[..i].trim(), whole[i + 3..].trim()),
            None => (whole.trim(), ""),
        };
        if !command.is_empty() {
            lines.push((command.to_string(), comment.to_string()));
        }
    }
    lines
}

/// What each tour command shows, as its README comment says it (words of the output
/// that the comment names). Every `pactlog` line of the tour must be here, and every
/// entry here in the tour.
const CLAIMS: &[(&str, &[&str])] = &[
    ("pactlog demo --db talks.db", &["(66 events) and the staged correction example (2 events", "into talks.db", "after geneva-2025-11-23", "after florida-2025-11-30"]),
    ("pactlog list meetings", &["4 meetings", "geneva-2025-11-23", "florida-2025-11-30", "moscow-2025-12-01", "paris-2025-12-01", "held", "scheduled"]),
    ("pactlog state --at geneva-2025-11-23", &["nato-membership", "contested", "end of 2025-11-23"]),
    ("pactlog state nato-membership --at florida-2025-11-30", &["under_negotiation", "CNN (B3, via EA WorldView)", "⚠ inference"]),
    ("pactlog history nato-membership", &["nato-membership: 12 events", "removed by af923933"]),
    ("pactlog history nato-membership --known-at seq:67", &["as known at seq:67", "Marco Rubio", "!removed by af923933"]),
    ("pactlog diff nato-membership --from 2025-12-01 --to 2025-12-01 --from-known-at seq:67", &["corrected", "Marco Rubio"]),
    ("pactlog blame nato-membership --at florida-2025-11-30", &["set by", "status_changed", "recorded", "source:"]),
    ("pactlog compare us-28-point-plan european-counter-proposal --at geneva-2025-11-23", &["us-28-point-plan vs european-counter-proposal", "nato-membership"]),
    ("pactlog search \"legal sense\"", &["3 matches"]),
    ("pactlog append status_changed --provision nato-membership --status agreed_in_principle --occurred-at 2025-12-05 --source-outlet \"Example Wire\" --expect-seq 68", &["appended seq 69"]),
    ("pactlog state nato-membership", &["agreed_in_principle"]),
    ("pactlog verify", &["ok: 69 records, hash chain intact"]),
    ("pactlog export --out talks.ndjson", &["wrote talks.ndjson: 69 records"]),
    ("pactlog demo --write-events record", &["wrote record/russia-ukraine-2025/01-talks.ndjson", "wrote record/staged-correction/01-misattribution.ndjson", "wrote record/staged-correction/02-correction.ndjson", "pactlog --db mine.db import record", "!talks.db import"]),
    ("pactlog --db mine.db import record", &["imported 68 events"]),
    ("pactlog append party_registered --party acme --name \"Acme Corp\" --occurred-at 2026-01-05", &["appended seq 1 "]),
    ("pactlog append party_registered --party union --name \"Workers' union\" --occurred-at 2026-01-05", &["appended seq 2 "]),
    ("pactlog append proposal_tabled --proposal union-demands --title \"Union demands\" --parties union --occurred-at 2026-01-06", &["appended seq 3 "]),
    ("pactlog append provision_drafted --provision wages --proposal union-demands --title Wages --text \"A 6% raise\" --occurred-at 2026-01-06", &["appended seq 4 "]),
    ("pactlog append position_stated --provision wages --party acme --stance opposes --occurred-at 2026-01-07", &["appended seq 5 "]),
    ("pactlog state wages", &["status: proposed", "Acme Corp", "opposes", "A 6% raise"]),
];

#[test]
fn the_readme_starts_with_the_two_set_up_commands_then_the_install() {
    let readme = std::fs::read_to_string(project().join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    assert_eq!(lines[2], "```sh");
    assert!(
        lines[3].starts_with("cargo run --release -- demo "),
        "{}",
        lines[3]
    );
    assert!(lines[4].starts_with("cargo test "), "{}", lines[4]);
    assert!(readme.contains("cargo install --path . --locked"));
}

#[test]
fn the_readme_tour_runs_from_an_empty_folder_and_shows_what_it_says() {
    let bin = bin_dir();
    let scratch = tempfile::tempdir().unwrap();
    let mut env = BTreeMap::new();
    let tour = tour();
    let claims: BTreeMap<&str, &[&str]> = CLAIMS.iter().copied().collect();
    for (command, _) in &tour {
        assert!(
            command.starts_with("pactlog ")
                || command.starts_with("export ")
                || command.starts_with("cd "),
            "the tour test knows no line `{command}`: teach it here"
        );
    }
    let run: Vec<&str> = tour.iter().map(|(c, _)| c.as_str()).collect();
    for (claimed, _) in CLAIMS {
        assert!(
            run.contains(claimed),
            "README's tour no longer has `{claimed}`"
        );
    }
    for (command, comment) in &tour {
        if command.starts_with("cd ") {
            continue; // the test's own scratch folder stands for it
        }
        if let Some(assignment) = command.strip_prefix("export ") {
            let (name, value) = assignment.split_once('=').unwrap();
            env.insert(name.to_string(), value.to_string());
            continue;
        }
        let expected = claims
            .get(command.as_str())
            .unwrap_or_else(|| panic!("no claims for the tour's `{command}` (# {comment})"));
        let out = shell(bin.path(), scratch.path(), &env, command);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "`{command}` failed: {}",
            text(&out.stderr)
        );
        for word in *expected {
            match word.strip_prefix('!') {
                Some(absent) => assert!(
                    !stdout.contains(absent),
                    "`{command}` shows `{absent}`:\n{stdout}"
                ),
                None => assert!(
                    stdout.contains(word),
                    "`{command}` (# {comment}) does not show `{word}`:\n{stdout}"
                ),
            }
        }
    }
    // `export --out`: the 72 stored records, one per line.
    let export = std::fs::read_to_string(scratch.path().join("talks.ndjson")).unwrap();
    assert_eq!(export.lines().count(), 69);
    // Every file the tour made is in the folder it ran in.
    for made in ["talks.db", "mine.db", "record", "talks.ndjson"] {
        assert!(scratch.path().join(made).exists(), "{made}");
    }
}

#[test]
fn the_demo_ends_with_hints_that_work_where_it_ran() {
    let bin = bin_dir();
    let scratch = tempfile::tempdir().unwrap();
    let env = BTreeMap::new();
    let out = shell(bin.path(), scratch.path(), &env, "pactlog demo");
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("events/"), "{stdout}");
    // Every `pactlog …` hint after the states runs in this empty folder.
    let mut hints = 0;
    for round in 0..2 {
        let out = shell(
            bin.path(),
            scratch.path(),
            &env,
            if round == 0 {
                "pactlog demo"
            } else {
                "pactlog demo --db other.db"
            },
        );
        let stdout = text(&out.stdout);
        for line in stdout
            .lines()
            .filter(|l| !l.starts_with('│') && !l.starts_with('┌'))
        {
            let Some(i) = line.find("pactlog ") else {
                continue;
            };
            let hint = line[i..].split("   ").next().unwrap().trim();
            let out = shell(bin.path(), scratch.path(), &env, hint);
            assert!(
                out.status.success(),
                "hint `{hint}` fails: {}",
                text(&out.stderr)
            );
            hints += 1;
        }
    }
    assert!(hints >= 4, "{hints} hints");
    // --write-events never replaces a file.
    let out = shell(
        bin.path(),
        scratch.path(),
        &env,
        "pactlog demo --write-events record",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("already exists; nothing was written"));
}

/// The event types, as the binary lists them for an unknown one.
fn event_types(ledger: &TestLedger) -> Vec<String> {
    let run = ledger.fails(&["append", "no_such_type", "--help"]);
    let list = run.error().split("one of: ").nth(1).unwrap().to_string();
    list.split(", ").map(str::to_string).collect()
}

#[test]
fn append_type_help_lists_fields_values_and_an_example_that_works() {
    let ledger = TestLedger::new();
    let types = event_types(&ledger);
    assert_eq!(types.len(), 13, "{types:?}");
    let bin = bin_dir();
    let scratch = tempfile::tempdir().unwrap();
    let env = BTreeMap::new();
    let out = shell(
        bin.path(),
        scratch.path(),
        &env,
        "pactlog demo --db talks.db",
    );
    assert!(out.status.success());
    let format = std::fs::read_to_string(project().join("docs/format.md")).unwrap();
    for event_type in &types {
        let help = ledger.ok(&["append", event_type, "--help"]);
        assert!(
            help.starts_with(&format!("pactlog append {event_type}: ")),
            "{help}"
        );
        assert!(
            help.contains("--occurred-at TIME") && help.contains("`now`"),
            "{help}"
        );
        // Every own field is in docs/format.md's row of the type.
        let row = format
            .lines()
            .find(|l| l.starts_with(&format!("| `{event_type}` |")))
            .unwrap_or_else(|| panic!("docs/format.md has no row for {event_type}"));
        let fields = help.split("Every event also takes:").next().unwrap();
        for line in fields.lines().filter(|l| l.starts_with("  --")) {
            let flag = line.split_whitespace().next().unwrap();
            let field = flag.trim_start_matches("--").replace('-', "_");
            assert!(
                line.contains("required") || line.contains("optional") || line.contains("one of"),
                "{line}"
            );
            assert!(
                row.contains(&format!("`{field}`")),
                "{event_type}: `{field}` not in {row}"
            );
        }
        // The example appends to the bundled record (in order, one ledger).
        let example = help
            .lines()
            .skip_while(|l| !l.starts_with("Example"))
            .nth(1)
            .unwrap()
            .trim();
        let out = shell(bin.path(), scratch.path(), &env, example);
        assert!(
            out.status.success(),
            "the example of {event_type} fails: {example}\n{}",
            text(&out.stderr)
        );
        // The general help also comes with the type after the flags.
        let late = ledger.ok(&["append", event_type, "--occurred-at", "now", "-h"]);
        assert_eq!(late, help);
    }
    let help = |t: &str| ledger.ok(&["append", t, "--help"]);
    let status = help("status_changed");
    for value in [
        "proposed",
        "contested",
        "under_negotiation",
        "agreed_in_principle",
        "agreed",
        "rejected",
        "withdrawn",
        "superseded",
    ] {
        assert!(status.contains(value), "{value}");
    }
    let stance = help("position_stated");
    assert!(
        stance.contains("one of: supports, opposes, conditional, undecided"),
        "{stance}"
    );
    let scheduled = help("meeting_scheduled");
    assert!(
        scheduled.contains("--planned-for TIME")
            && scheduled.contains("a day (2025-12-14), an RFC 3339 instant"),
        "{scheduled}"
    );
    assert!(
        scheduled.contains("--participants ACTOR,") && scheduled.contains("not parties"),
        "{scheduled}"
    );
    let statement = help("statement_made");
    assert!(
        statement.contains("--actor ACTOR") && statement.contains("--attribution TEXT"),
        "{statement}"
    );
    assert!(
        statement.contains("`--actor` or `--attribution`"),
        "{statement}"
    );
    // Without a type: the command's own help, which points to the per-type help.
    assert!(ledger
        .ok(&["append", "--help"])
        .contains("pactlog append TYPE --help"));
    assert!(!ledger.db.exists(), "help wrote nothing");
}

#[test]
fn every_help_that_takes_a_when_lists_its_forms() {
    let ledger = TestLedger::new();
    for command in [
        "state", "history", "diff", "blame", "compare", "timeline", "export",
    ] {
        for flag in ["--help", "-h"] {
            let help = ledger.ok(&[command, flag]);
            assert!(help.contains("WHEN"), "{command}: {help}");
            for form in [
                "2025-11-23 ",
                "2025-11-23T14:00:00Z",
                "florida-2025-11-30",
                "seq:70",
            ] {
                assert!(
                    help.contains(form),
                    "`{command} {flag}` leaves out {form}:\n{help}"
                );
            }
        }
    }
    let help = ledger.ok(&["help", "state"]);
    assert!(help.contains("seq:70"), "{help}");
}

#[test]
fn occurred_at_is_required_on_every_path_and_now_is_said_explicitly() {
    let ledger = TestLedger::new();
    let run = ledger.fails(&[
        "append",
        "party_registered",
        "--party",
        "us",
        "--name",
        "US",
    ]);
    assert_eq!(run.code, 3);
    assert!(
        run.error().contains("needs field `occurred_at`") && run.error().contains("`now`"),
        "{}",
        run.error()
    );
    assert!(!ledger.db.exists(), "a refused append created the ledger");
    let json = r#"{"type":"party_registered","party":"us","name":"US"}"#;
    let run = ledger.at(NOW).stdin(json).run(&["append", "-"]).fails();
    assert!(
        run.error().contains("needs field `occurred_at`"),
        "{}",
        run.error()
    );
    // `now`: the clock, to the second.
    ledger.at("2026-11-26T09:00:00.123456789Z").ok(&[
        "append",
        "party_registered",
        "--party",
        "us",
        "--name",
        "US",
        "--occurred-at",
        "now",
    ]);
    let log = ledger.run(&["log", "--json"]).json();
    assert_eq!(log[0]["occurred_at"], "2026-11-26T09:00:00Z");
    let id = log[0]["id"].as_str().unwrap().to_string();
    let run = ledger.run(&["retract", &id, "--reason", "typo"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--occurred-at"), "{}", run.stderr);
    // A proposal dated by an instant and one by a day: `list` shows days in one column.
    for (proposal, when) in [("b-now", "now"), ("a-day", "2025-11-01")] {
        ledger.at("2026-11-26T09:00:00.123456789Z").ok(&[
            "append",
            "proposal_tabled",
            "--proposal",
            proposal,
            "--title",
            proposal,
            "--parties",
            "us",
            "--occurred-at",
            when,
        ]);
    }
    let list = ledger.ok(&["list", "proposals"]);
    assert!(
        list.contains("2026-11-26 ") && list.contains("2025-11-01 "),
        "{list}"
    );
    assert!(!list.contains("09:00"), "{list}");
    assert!(list.starts_with("2 proposals\n"), "{list}");
    let json = ledger.run(&["list", "proposals", "--json"]).json();
    assert_eq!(json[1]["first"], "2026-11-26T09:00:00Z");
    // A registration's date is the recorder's, not a first date: `-` and null.
    ledger.register_party("uk", "UK");
    let parties = ledger.run(&["list", "parties", "--json"]).json();
    assert_eq!(parties[0]["slug"], "uk", "{parties}");
    assert_eq!(parties[0]["first"], serde_json::Value::Null, "{parties}");
    assert!(ledger.ok(&["list", "parties"]).contains(" - "));
}

#[test]
fn counts_are_said_in_the_right_number() {
    let ledger = TestLedger::new();
    let file = ledger.write(
        "one.ndjson",
        br#"{"type":"party_registered","occurred_at":"2025-11-20","party":"us","name":"United States"}
{"type":"proposal_tabled","occurred_at":"2025-11-20","proposal":"plan","title":"Plan","parties":["us"]}
{"type":"provision_drafted","occurred_at":"2025-11-20","provision":"nato","proposal":"plan","title":"NATO","text":"No NATO"}
"#,
    );
    let out = ledger.ok(&["import", file.to_str().unwrap()]);
    assert!(
        out.starts_with("imported 3 events (0 already present) from 1 input;"),
        "{out}"
    );
    let again = ledger.write(
        "two.ndjson",
        br#"{"type":"status_changed","occurred_at":"2025-11-21","provision":"nato","status":"contested","note":"legal sense"}
"#,
    );
    let out = ledger.ok(&["import", again.to_str().unwrap()]);
    assert!(
        out.starts_with("imported 1 event (0 already present) from 1 input;"),
        "{out}"
    );
    assert!(ledger
        .ok(&["list", "provisions"])
        .starts_with("1 provision\n"));
    assert!(ledger.ok(&["list", "parties"]).starts_with("1 party\n"));
    assert!(ledger
        .ok(&["search", "legal sense"])
        .starts_with("1 match for"));
    assert!(ledger
        .ok(&["history", "nato", "--known-at", "seq:3"])
        .starts_with("nato: 1 event,"));
    assert!(ledger.ok(&["state", "nato"]).contains("  2 events counted"));
    let html = ledger.path("t.html");
    let out = ledger.ok(&["timeline", "nato", "--html", html.to_str().unwrap()]);
    assert!(
        out.contains(": 1 provision, 2 events, 0 meetings,"),
        "{out}"
    );
    let out = ledger.ok(&["verify"]);
    assert!(out.starts_with("ok: 4 records,"), "{out}");
}

#[test]
fn time_errors_say_the_form_expected_without_the_parsers_words() {
    let ledger = TestLedger::bundled();
    let cases = [
        ("--at", "2025-11-30T12:00", "write a day as YYYY-MM-DD"),
        (
            "--at",
            "2025-11-30T25:00:00Z",
            "25:00:00 is not a time of day",
        ),
        ("--known-at", "2025-02-30", "2025-02 has days 01 to 28"),
        ("--at", "2025-11-3", "a day is written YYYY-MM-DD"),
        ("--at", "2025", "a day is written YYYY-MM-DD"),
    ];
    for (flag, when, says) in cases {
        let run = ledger.fails(&["state", flag, when]);
        let error = run.error();
        assert!(error.contains(says), "{flag} {when}: {error}");
        assert!(error.starts_with(flag), "{error}");
        for jargon in ["premature", "out of range", "input", "invalid"] {
            assert!(!error.contains(jargon), "{flag} {when}: {error}");
        }
    }
    for bad in ["yesterday", "2025-11-30T12:00", "2025-11-30 12:00"] {
        let run = ledger.fails(&[
            "append",
            "party_registered",
            "--party",
            "p",
            "--name",
            "P",
            "--occurred-at",
            bad,
        ]);
        assert!(
            !run.error().contains("premature") && !run.error().contains("input"),
            "{}",
            run.error()
        );
        assert!(
            run.error().contains("YYYY-MM-DD") || run.error().contains("UTC offset"),
            "{}",
            run.error()
        );
    }
}

#[test]
fn every_slug_argument_offers_the_name_meant() {
    let ledger = TestLedger::bundled();
    let html = ledger.path("x.html");
    let html = html.to_str().unwrap();
    let nato = "(did you mean `nato-membership`?)";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["state", "nato-membrship"], nato),
        (vec!["history", "nato-membrship"], nato),
        (
            vec![
                "diff",
                "nato-membrship",
                "--from",
                "2025-11-23",
                "--to",
                "2025-11-30",
            ],
            nato,
        ),
        (vec!["blame", "nato-membrship"], nato),
        (vec!["timeline", "nato-membrship", "--html", html], nato),
        (
            vec!["export", "--format", "csv", "--provision", "nato-membrship"],
            nato,
        ),
        (
            vec!["compare", "us-28-plan", "european-counter-proposal"],
            "(did you mean `us-28-point-plan`?)",
        ),
        (
            vec!["compare", "us-28-point-plan", "european-counter"],
            "(did you mean `european-counter-proposal`?)",
        ),
        (
            vec!["state", "--at", "florida"],
            "--at: unknown meeting `florida` (did you mean `florida-2025-11-30`?)",
        ),
        (
            vec!["state", "--known-at", "geneva"],
            "(did you mean `geneva-2025-11-23`?)",
        ),
        (
            vec![
                "diff",
                "nato-membership",
                "--from",
                "genva-2025-11-23",
                "--to",
                "florida",
            ],
            "(did you mean `geneva-2025-11-23`?)",
        ),
        (
            vec![
                "append",
                "status_changed",
                "--provision",
                "nato",
                "--status",
                "agreed",
                "--occurred-at",
                "now",
            ],
            nato,
        ),
        (
            vec![
                "append",
                "statement_made",
                "--quote",
                "q",
                "--actor",
                "rubio",
                "--occurred-at",
                "now",
            ],
            "(did you mean `marco-rubio`?)",
        ),
    ];
    let before = ledger.export();
    for (args, says) in cases {
        let run = ledger.fails(&args);
        assert!(run.error().contains(says), "{args:?}: {}", run.error());
    }
    assert_eq!(ledger.export(), before);
}

#[test]
fn expect_seq_on_a_missing_ledger_says_the_ledger_is_missing() {
    let ledger = TestLedger::new();
    let file = ledger.write(
        "p.ndjson",
        br#"{"type":"party_registered","occurred_at":"2025-11-20","party":"us","name":"US"}"#,
    );
    let writes: [&[&str]; 3] = [
        &[
            "append",
            "party_registered",
            "--party",
            "us",
            "--name",
            "US",
            "--occurred-at",
            "now",
            "--expect-seq",
            "68",
        ],
        &["import", "--expect-seq", "68", file.to_str().unwrap()],
        &[
            "retract",
            "seq:1",
            "--reason",
            "r",
            "--occurred-at",
            "now",
            "--expect-seq",
            "68",
        ],
    ];
    for args in writes {
        let run = ledger.fails(args);
        assert_eq!(run.code, 4, "{args:?}: {}", run.stderr);
        assert!(run.error().contains("does not exist"), "{}", run.error());
        assert!(
            !run.error().contains("another write came first"),
            "{}",
            run.error()
        );
        assert!(!ledger.db.exists());
    }
    // On a ledger that exists, a stale head is still a conflict.
    ledger.register_party("us", "US");
    let run = ledger.fails(&[
        "append",
        "party_registered",
        "--party",
        "uk",
        "--name",
        "UK",
        "--occurred-at",
        "now",
        "--expect-seq",
        "68",
    ]);
    assert_eq!(run.code, 5);
}

#[test]
fn quiet_leaves_only_the_output_asked_for() {
    let ledger = TestLedger::bundled();
    let dir = ledger.dir.path();
    let file = ledger.write("p.ndjson", br#"{"type":"party_registered","occurred_at":"2025-11-20","party":"turkey","name":"Turkey"}"#);
    let html = dir.join("t.html");
    let out_file = dir.join("e.ndjson");
    let fresh = dir.join("fresh.db");
    let record = dir.join("record");
    let man = dir.join("man");
    let runs: Vec<Vec<&str>> = vec![
        vec!["import", file.to_str().unwrap()],
        vec![
            "append",
            "party_registered",
            "--party",
            "uk",
            "--name",
            "UK",
            "--occurred-at",
            "now",
        ],
        vec!["retract", "seq:69", "--reason", "r", "--occurred-at", "now"],
        vec!["timeline", "--html", html.to_str().unwrap()],
        vec!["export", "--out", out_file.to_str().unwrap()],
        vec!["verify"],
        vec!["demo", "--write-events", record.to_str().unwrap()],
        vec!["man", "--out", man.to_str().unwrap()],
    ];
    for mut args in runs {
        args.insert(0, if args[0] == "verify" { "--quiet" } else { "-q" });
        let run = ledger.run(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?} printed");
        assert_eq!(run.stderr, "", "{args:?} said");
    }
    assert!(
        html.exists() && out_file.exists() && record.exists() && man.join("pactlog.1").exists()
    );
    // The demo's states are what it is asked for; its notes and hints are messages.
    for args in [
        vec!["-q", "demo"],
        vec!["-q", "--db", fresh.to_str().unwrap(), "demo"],
    ] {
        let run = ledger.run(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout
                .starts_with("== The NATO clause after geneva-2025-11-23 =="),
            "{}",
            run.stdout
        );
        for message in [
            "Loaded",
            "Note:",
            "Explore",
            "Keep a ledger",
            "NDJSON files",
        ] {
            assert!(!run.stdout.contains(message), "{args:?}: {}", run.stdout);
        }
    }
    // What was asked for still comes.
    assert!(ledger
        .ok(&["-q", "state", "nato-membership"])
        .contains("nato-membership"));
}

#[test]
fn man_writes_a_page_per_command_that_groff_reads_without_a_warning() {
    let ledger = TestLedger::new();
    let dir = ledger.path("man1");
    let out = ledger.ok(&["man", "--out", dir.to_str().unwrap()]);
    let commands = commands(&ledger);
    assert!(commands.len() >= 17, "{commands:?}");
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = commands.iter().map(|c| format!("pactlog-{c}.1")).collect();
    expected.push("pactlog.1".into());
    expected.sort();
    assert_eq!(pages, expected);
    assert!(
        out.contains(&format!("wrote {} man pages", expected.len())),
        "{out}"
    );
    // The index names only pages that exist.
    let index = std::fs::read_to_string(dir.join("pactlog.1")).unwrap();
    let named: Vec<&str> = index
        .split("pactlog\\-")
        .skip(1)
        .filter_map(|rest| rest.split_once("(1)").map(|(name, _)| name))
        .filter(|name| name.chars().all(|c| c.is_ascii_lowercase()))
        .collect();
    assert_eq!(named.len(), commands.len(), "{named:?}");
    for name in named {
        assert!(
            dir.join(format!("pactlog-{name}.1")).exists(),
            "pactlog-{name}(1) is named but not written"
        );
    }
    // ASCII only (the help's `…` and `–` as groff escapes), and groff has nothing to say.
    for page in &pages {
        let bytes = std::fs::read(dir.join(page)).unwrap();
        assert!(
            bytes.is_ascii(),
            "{page} holds a byte groff -ww warns about"
        );
    }
    assert_eq!(
        ledger.ok(&["man"]),
        std::fs::read_to_string(dir.join("pactlog.1")).unwrap()
    );
    let groff = Command::new("groff").arg("-v").output();
    if groff.is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs groff (.ci/run installs groff-base)"
        );
        return;
    }
    for page in &pages {
        let out = Command::new("groff")
            .args(["-ww", "-man", "-Tutf8", "-z"])
            .arg(dir.join(page))
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(text(&out.stderr), "", "groff -ww warns on {page}");
    }
}

/// The commands `pactlog --help` lists, `help` aside.
fn commands(ledger: &TestLedger) -> Vec<String> {
    let help = ledger.ok(&["--help"]);
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("  "))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

/// Every Markdown file of the repository (not build output).
fn markdown_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "mutants.out" {
                markdown_files(&path, found);
            }
        } else if name.ends_with(".md") {
            found.push(path);
        }
    }
}

#[test]
fn every_relative_link_in_the_markdown_resolves_inside_the_repository() {
    let root = project().canonicalize().unwrap();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    assert!(files.len() >= 4, "{files:?}");
    let mut links = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].split_whitespace().next().unwrap_or("");
            if target.is_empty()
                || target.contains("://")
                || target.starts_with('#')
                || target.starts_with("mailto:")
            {
                continue;
            }
            let target = target.split('#').next().unwrap();
            let path = file.parent().unwrap().join(target);
            let resolved = path
                .canonicalize()
                .unwrap_or_else(|_| panic!("{}: link `{target}` names nothing", file.display()));
            assert!(
                resolved.starts_with(&root),
                "{}: link `{target}` leaves the repository",
                file.display()
            );
            links += 1;
        }
    }
    assert!(links >= 8, "{links} links checked");
}

#[test]
fn the_command_reference_is_generated_from_help() {
    let ledger = TestLedger::new();
    let commands = commands(&ledger);
    // Help as a user's shell shows it: no `[env: PACTLOG_DB=…]` of the test's own.
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_pactlog"))
            .args(args)
            .env_clear()
            .output()
            .unwrap();
        assert!(out.status.success());
        text(&out.stdout)
    };
    let mut doc = String::from(
        "# pactlog's commands\n\n\
         Every command's `--help`, generated (`UPDATE_SNAPSHOTS=1 cargo test --test tests newcomer`\n\
         rewrites this file; `tests/newcomer.rs` fails when it differs). Events, time and\n\
         stored records: [format.md](format.md).\n\n",
    );
    doc.push_str("## pactlog\n\n```text\n");
    doc.push_str(&help(&["--help"]));
    doc.push_str("```\n");
    for command in &commands {
        doc.push_str(&format!("\n## pactlog {command}\n\n```text\n"));
        doc.push_str(&help(&[command, "--help"]));
        doc.push_str("```\n");
        if command == "append" {
            for event_type in event_types(&ledger) {
                doc.push_str(&format!("\n### pactlog append {event_type}\n\n```text\n"));
                doc.push_str(&help(&["append", &event_type, "--help"]));
                doc.push_str("```\n");
            }
        }
    }
    crate::snapshots::check("../docs/commands.md", &doc);
}

#[test]
fn completions_and_man_into_a_closed_pipe_end_quietly() {
    let bin = bin_dir();
    let scratch = tempfile::tempdir().unwrap();
    for command in [
        "pactlog completions bash | head -1",
        "pactlog man | head -1",
    ] {
        let out = shell(bin.path(), scratch.path(), &BTreeMap::new(), command);
        assert_eq!(text(&out.stderr), "", "{command}");
        assert_eq!(text(&out.stdout).lines().count(), 1, "{command}");
    }
}
