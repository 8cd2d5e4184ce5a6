//! What a fresh user found after the newcomer's first hour (issue 12's follow-up):
//! each finding pinned with one case of its own. Runs on a terminal go through
//! `script` (util-linux), which gives the binary a pseudo-terminal.

use std::process::Command;

use crate::common::{TestLedger, NOW};

/// Runs `pactlog ARGS` on a pseudo-terminal (stdin, stdout and stderr all on it, as
/// in an interactive shell) of `cols` columns; returns what the terminal showed.
fn on_terminal(ledger: &TestLedger, cols: u16, args: &[&str]) -> String {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_pactlog"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let line = format!("stty cols {cols} 2>/dev/null; {}", quoted.join(" "));
    let output = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm")
        .env("PACTLOG_DB", &ledger.db)
        .env("PACTLOG_NOW", NOW)
        .current_dir(ledger.dir.path())
        .output()
        .expect("script (util-linux) runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What a terminal shows of `shown`: each line as it ends, after carriage returns
/// and "erase line" sequences have done their work.
fn screen(shown: &str) -> Vec<String> {
    shown
        .replace("\r\n", "\n")
        .split('\n')
        .map(|line| {
            let line = line.rsplit("\x1b[2K").next().unwrap_or(line);
            line.rsplit('\r').next().unwrap_or(line).to_string()
        })
        .collect()
}

#[test]
fn no_progress_line_shows_on_a_terminal_unless_a_job_runs_and_none_stays() {
    let ledger = TestLedger::bundled();
    for args in [
        &["state", "nato-membership"][..],
        &["list", "parties"],
        &["verify"],
        &["history", "nato-membership", "--known-at", "seq:70"],
    ] {
        let shown = on_terminal(&ledger, 120, args);
        assert!(!shown.contains("repairing"), "{args:?}: {shown}");
        let lines = screen(&shown);
        assert!(
            lines
                .iter()
                .all(|l| !l.contains("[0s]") && !l.contains("/s ")),
            "{args:?}: a progress line stays: {lines:#?}"
        );
    }
    // A missing ledger: only the error.
    let missing = TestLedger::new();
    let shown = on_terminal(&missing, 120, &["list", "parties"]);
    assert!(screen(&shown)[0].starts_with("error: no ledger"), "{shown}");
}

#[test]
fn a_terminal_of_no_width_gets_tables_of_the_piped_width() {
    let ledger = TestLedger::bundled();
    let shown = on_terminal(&ledger, 0, &["list", "parties"]);
    assert!(
        shown.contains("│ slug "),
        "one character per column: {shown}"
    );
    let piped = ledger.ok(&["list", "parties"]);
    assert_eq!(screen(&shown).join("\n").trim_end(), piped.trim_end());
}

#[test]
fn global_options_work_among_append_fields() {
    let ledger = TestLedger::new();
    let fields = [
        "append",
        "party_registered",
        "--party",
        "us",
        "--name",
        "United States",
        "--occurred-at",
        "2026-01-01",
    ];
    for (party, quiet) in [("us", "-q"), ("ru", "--quiet")] {
        let mut args = fields.to_vec();
        args[3] = party;
        args.push(quiet);
        let run = ledger.run(&args);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, ""),
            "{args:?}: {}",
            run.stderr
        );
    }
    // --verbose, and a value that looks like an option stays the field's value.
    let mut args = fields.to_vec();
    args[3] = "eu";
    args[5] = "-q";
    args.push("--verbose");
    let run = ledger.run(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("appended seq 3"), "{}", run.stdout);
    assert!(run.stderr.contains("pactlog: done in"), "{}", run.stderr);
    let names = crate::common::json(&ledger, &["list", "parties", "--json"]);
    assert!(names.to_string().contains("\"-q\""), "{names}");
    // Conflicting globals are refused wherever they are given.
    let mut args = fields.to_vec();
    args.extend(["-q", "-v"]);
    let run = ledger.fails(&args);
    assert_eq!(run.code, 2);
    assert!(run.error().contains("--quiet"), "{}", run.error());
    // `append -` (JSON on stdin) takes them too.
    let run = ledger
        .at(NOW)
        .stdin(r#"{"type":"party_registered","party":"ua","name":"Ukraine","occurred_at":"2026-01-01"}"#)
        .run(&["append", "-", "--quiet"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
}

#[test]
fn now_is_a_cut_on_both_axes_wherever_a_when_is_taken() {
    let ledger = TestLedger::bundled();
    for command in [
        &["state", "nato-membership"][..],
        &["history", "nato-membership"],
        &["blame", "nato-membership"],
        &["compare", "us-28-point-plan", "european-counter-proposal"],
        &["state"],
    ] {
        let plain = ledger.ok(command);
        for cut in [
            &["--at", "now"][..],
            &["--known-at", "now"],
            &["--at", "now", "--known-at", "now"],
        ] {
            let args: Vec<&str> = command.iter().chain(cut).copied().collect();
            assert_eq!(ledger.ok(&args), plain, "{args:?}");
        }
    }
    assert_eq!(
        ledger.ok(&["log", "--known-at", "now"]),
        ledger.ok(&["log"])
    );
    let html = ledger.path("now.html");
    ledger.ok(&["timeline", "--at", "now", "--html", html.to_str().unwrap()]);
    // The forms of a WHEN say so.
    let help = ledger.ok(&["state", "--help"]);
    assert!(help.contains("\n  now "), "{help}");
    // A meeting cannot be called `now`: it could never be a cut.
    let run = ledger.fails(&[
        "append",
        "meeting_held",
        "--meeting",
        "now",
        "--place",
        "Geneva",
        "--occurred-at",
        "2025-12-03",
    ]);
    assert!(
        run.error().contains("meeting slug `now`"),
        "{}",
        run.error()
    );
    // A source read now.
    let out = ledger.ok(&[
        "cite",
        "seq:70",
        "--outlet",
        "Wire",
        "--retrieved-at",
        "now",
    ]);
    assert!(out.starts_with("appended seq 72"), "{out}");
    let record = crate::common::json(&ledger, &["log", "--json"]);
    assert!(record
        .to_string()
        .contains("\"retrieved_at\":\"2026-11-26T09:00:00Z\""));
}

#[test]
fn every_cut_error_names_the_flag_it_was_given_as() {
    let ledger = TestLedger::bundled();
    for (args, flag) in [
        (
            &["diff", "nato-membership", "--from", "nowhere"][..],
            "--from:",
        ),
        (&["diff", "nato-membership", "--to", "2025-13-01"], "--to:"),
        (
            &["diff", "nato-membership", "--from-known-at", "seq:x"],
            "--from-known-at:",
        ),
        (
            &["diff", "nato-membership", "--to-known-at", "florida"],
            "--to-known-at:",
        ),
        (
            &["diff", "nato-membership", "--known-at", "florida"],
            "--known-at:",
        ),
        (&["state", "--at", "florida"], "--at:"),
        (&["log", "--known-at", "2025-02-30"], "--known-at:"),
    ] {
        let run = ledger.fails(args);
        assert!(run.error().starts_with(flag), "{args:?}: {}", run.error());
    }
}

#[test]
fn a_pure_record_time_diff_needs_no_valid_time() {
    let ledger = TestLedger::bundled();
    let out = ledger.ok(&["diff", "nato-membership", "--from-known-at", "seq:70"]);
    assert!(
        out.starts_with("nato-membership: from 2026-11-26 09:00:00Z (known at seq:70) to 2026-11-26 09:00:00Z (known at "),
        "{out}"
    );
    assert!(
        out.contains("corrected"),
        "the correction after record 70 shows: {out}"
    );
}

#[test]
fn every_view_says_a_seq_cut_as_given() {
    let ledger = TestLedger::bundled();
    for command in [
        &["state", "nato-membership"][..],
        &["state"],
        &["history", "nato-membership"],
        &["blame", "nato-membership"],
        &["compare", "us-28-point-plan", "european-counter-proposal"],
    ] {
        let args: Vec<&str> = command
            .iter()
            .chain(&["--known-at", "seq:70"])
            .copied()
            .collect();
        let out = ledger.ok(&args);
        assert!(out.contains("as known at seq:70"), "{args:?}: {out}");
    }
    let out = ledger.ok(&["diff", "nato-membership", "--known-at", "seq:70"]);
    assert!(out.contains("(known at seq:70) to"), "{out}");
}
