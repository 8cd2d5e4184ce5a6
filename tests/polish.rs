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
        &["history", "nato-membership", "--known-at", "seq:67"],
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
        "seq:66",
        "--outlet",
        "Wire",
        "--retrieved-at",
        "now",
    ]);
    assert!(out.starts_with("appended seq 69"), "{out}");
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
    let out = ledger.ok(&["diff", "nato-membership", "--from-known-at", "seq:67"]);
    assert!(
        out.starts_with("nato-membership: from 2026-11-26 09:00:00Z (known at seq:67) to 2026-11-26 09:00:00Z (known at "),
        "{out}"
    );
    assert!(
        out.contains("corrected"),
        "the correction after record 67 shows: {out}"
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
            .chain(&["--known-at", "seq:67"])
            .copied()
            .collect();
        let out = ledger.ok(&args);
        assert!(out.contains("as known at seq:67"), "{args:?}: {out}");
    }
    let out = ledger.ok(&["diff", "nato-membership", "--known-at", "seq:67"]);
    assert!(out.contains("(known at seq:67) to"), "{out}");
}

#[test]
fn conflicting_flags_are_refused_not_ignored() {
    let ledger = TestLedger::bundled();
    let html = ledger.path("t.html");
    for args in [
        &["timeline", "--html", html.to_str().unwrap(), "--json"][..],
        &["demo", "--json", "--write-events", "x"],
        &["--quiet", "--verbose", "state"],
    ] {
        let run = ledger.fails(args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(
            run.error().contains("cannot be used with"),
            "{}",
            run.error()
        );
    }
    assert!(!html.exists() && !ledger.path("x").exists());
}

#[test]
fn help_append_type_is_the_type_help_and_append_help_names_pactlog() {
    let ledger = TestLedger::new();
    for help in [
        &["help", "append", "status_changed"][..],
        &["--db", "elsewhere", "help", "append", "status_changed"],
    ] {
        assert_eq!(
            ledger.ok(help),
            ledger.ok(&["append", "status_changed", "--help"]),
            "{help:?}"
        );
    }
    let help = ledger.ok(&["append", "--help"]);
    assert!(help.contains("Usage: pactlog append "), "{help}");
    assert_eq!(ledger.ok(&["help", "append"]), help);
    let run = ledger.fails(&["help", "append", "status_chnged"]);
    assert!(
        run.error().contains("did you mean `status_changed`"),
        "{}",
        run.error()
    );
}

#[test]
fn man_pages_say_the_name_once_and_append_lists_every_type() {
    let ledger = TestLedger::new();
    let main = ledger.ok(&["man"]);
    assert!(
        main.contains("pactlog \\- an event\\-sourced"),
        "{}",
        main.lines().take(8).collect::<Vec<_>>().join("\n")
    );
    let dir = ledger.path("man1");
    ledger.ok(&["man", "--out", dir.to_str().unwrap()]);
    let append = std::fs::read_to_string(dir.join("pactlog-append.1")).unwrap();
    assert!(append.contains(".SH \"EVENT TYPES\""));
    for (event_type, field) in [
        ("status_changed", "\\-\\-status STATUS"),
        ("meeting_scheduled", "\\-\\-planned\\-for TIME"),
    ] {
        assert!(
            append.contains(&format!("pactlog append {event_type}:")),
            "{event_type}"
        );
        assert!(append.contains(field), "{field}");
    }
    // The section is the type help itself, laid out as it is.
    let help = ledger.ok(&["append", "statement_made", "--help"]);
    let first = help.lines().nth(3).unwrap().replace('-', "\\-");
    assert!(append.contains(&first), "{first}");
    assert!(!ledger
        .ok(&["--help"])
        .contains("a folder holding one sled database"));
}

/// The required options of a command, from its usage line (those outside brackets).
fn required_flags(usage: &str) -> Vec<String> {
    let mut depth = 0;
    let mut flags = Vec::new();
    for word in usage.split_whitespace() {
        if depth == 0 && word.starts_with("--") {
            flags.push(word.trim_end_matches(']').to_string());
        }
        depth += word.matches('[').count();
        depth -= word.matches(']').count().min(depth);
    }
    flags
}

#[test]
fn every_row_of_the_readme_command_table_gives_the_required_options() {
    let readme = std::fs::read_to_string(crate::common::project().join("README.md")).unwrap();
    let start = readme.find("\n## Commands").unwrap();
    let table = readme[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| command"));
    let ledger = TestLedger::new();
    let mut rows = 0;
    for row in table.skip(2).take_while(|l| l.starts_with('|')) {
        let cell = row.split(" | ").next().unwrap().trim_start_matches("| ");
        for synopsis in cell.split('`').skip(1).step_by(2) {
            let command = synopsis.split_whitespace().next().unwrap();
            let help = ledger.ok(&[command, "--help"]);
            let usage = help
                .lines()
                .find_map(|l| l.strip_prefix("Usage: pactlog "))
                .unwrap_or_else(|| panic!("{command}: {help}"));
            for flag in required_flags(usage) {
                assert!(
                    synopsis.contains(&flag),
                    "README's `{synopsis}` leaves out the required {flag} ({usage})"
                );
            }
            rows += 1;
        }
    }
    assert!(rows >= 15, "{rows} synopses");
}

#[test]
fn writing_a_file_says_so_unless_quiet_and_json_gives_what_flags_take() {
    let ledger = TestLedger::bundled();
    let file = ledger.path("all.ndjson");
    let out = ledger.ok(&["export", "--out", file.to_str().unwrap()]);
    assert_eq!(
        out,
        format!("wrote {}: 68 records as NDJSON\n", file.display())
    );
    let md = ledger.path("nato.md");
    let out = ledger.ok(&[
        "export",
        "--format",
        "markdown",
        "--known-at",
        "seq:67",
        "--out",
        md.to_str().unwrap(),
    ]);
    assert!(
        out.starts_with(&format!("wrote {}: markdown, at ", md.display())),
        "{out}"
    );
    assert!(out.trim_end().ends_with("as known at seq:67"), "{out}");
    assert_eq!(
        ledger.ok(&["-q", "export", "--out", file.to_str().unwrap()]),
        ""
    );
    // `verify --json` gives what `--head` takes.
    let report = crate::common::json(&ledger, &["verify", "--json"]);
    let head = report["head_arg"].as_str().unwrap();
    assert_eq!(
        head,
        format!(
            "{}:{}",
            report["head"]["seq"],
            report["head"]["hash"].as_str().unwrap()
        )
    );
    ledger.ok(&["verify", "--head", head]);
    // `list meetings` says which were held.
    let meetings = crate::common::json(&ledger, &["list", "meetings", "--json"]);
    let status: Vec<(&str, &str)> = meetings
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["slug"].as_str().unwrap(), m["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        status,
        [
            ("florida-2025-11-30", "held"),
            ("geneva-2025-11-23", "held"),
            ("moscow-2025-12-01", "scheduled"),
            ("paris-2025-12-01", "scheduled")
        ]
    );
    assert!(
        crate::common::json(&ledger, &["list", "parties", "--json"])[0]
            .get("status")
            .is_none()
    );
}

#[test]
fn a_rebuild_on_a_terminal_clears_its_progress_line_before_the_output() {
    let ledger = TestLedger::new();
    let events: String = (0..1200)
        .map(|i| {
            format!(
                "{{\"type\":\"party_registered\",\"party\":\"p{i}\",\"name\":\"P {i}\",\"occurred_at\":\"2026-01-01\"}}\n"
            )
        })
        .collect();
    let file = ledger.write("parties.ndjson", events.as_bytes());
    ledger.ok(&["import", file.to_str().unwrap()]);
    std::fs::remove_dir_all(ledger.db.join("sled")).unwrap();
    let shown = on_terminal(&ledger, 120, &["list", "parties"]);
    let lines = screen(&shown);
    assert!(
        lines.iter().any(|l| l.starts_with("1200 parties")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().all(|l| !l.contains("repairing")),
        "a progress line stays: {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("pactlog: ")),
        "the repair is said: {lines:#?}"
    );
}

/// Found by a fresh tester: clap's phrasing reached users: a placeholder shown bare
/// (`<KIND>`), "the argument '--at <WHEN>' cannot be used multiple times". Arguments
/// are named as they are typed, with the values they take where there is a set.
#[test]
fn usage_errors_name_arguments_as_typed_never_by_clap_placeholders() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    for (args, says) in [
        // The examples.
        (
            &["list"][..],
            "KIND is required: one of parties, actors, proposals, provisions, meetings",
        ),
        (
            &["state", "--at", "2025-11-23", "--at", "2025-11-30"],
            "--at is given more than once: give it once",
        ),
        // Cases of the kind.
        (
            &["list", "actrs"],
            "KIND: `actrs` is not one of parties, actors, proposals, provisions, meetings (did you mean `actors`?)",
        ),
        (
            &["retract", "seq:3"],
            "--reason and --occurred-at are required",
        ),
        (
            &["export", "--format", "xml"],
            "--format: `xml` is not one of ndjson, timelinejs, csv, markdown",
        ),
        (&["state", "--min-grade"], "--min-grade needs a value (XN)"),
        (
            &["serve", "--max-body", "lots"],
            "--max-body: `lots` is not a whole number",
        ),
        // `inf` was read as a number of seconds, and a wait that long panicked.
        (
            &["--lock-timeout", "inf", "state"],
            "--lock-timeout: `inf` is not a number of seconds from 0 to 86400",
        ),
    ] {
        let run = ledger.fails(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.error().starts_with(says), "{args:?}: {}", run.error());
        assert!(
            !run.error().contains('<') && !run.error().contains("multiple times"),
            "{}",
            run.error()
        );
    }
    assert_eq!(ledger.export(), before);
}
