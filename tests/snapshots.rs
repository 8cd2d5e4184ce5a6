//! Golden projections of the bundled record. The files in `snapshots/` are produced
//! by the code; a difference fails the test. `UPDATE_SNAPSHOTS=1 cargo test` rewrites
//! them, never a hand.

use crate::common::{project, TestLedger};

/// Compares `actual` with `snapshots/NAME`, or rewrites it when UPDATE_SNAPSHOTS is set.
pub fn check(name: &str, actual: &str) {
    let path = project().join("snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run UPDATE_SNAPSHOTS=1 cargo test",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the output at line {}:\nexpected: {:?}\nactual:   {:?}\n(UPDATE_SNAPSHOTS=1 cargo test rewrites it if the change is intended)",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

#[test]
fn every_provision_after_geneva_and_after_florida() {
    let ledger = TestLedger::bundled();
    for meeting in ["geneva-2025-11-23", "florida-2025-11-30"] {
        check(
            &format!("state-after-{meeting}.json"),
            &ledger.ok(&["state", "--at", meeting, "--json"]),
        );
        check(
            &format!("state-after-{meeting}.txt"),
            &ledger.ok(&["state", "--at", meeting]),
        );
    }
}

#[test]
fn the_nato_clause_after_each_meeting_and_its_history() {
    let ledger = TestLedger::bundled();
    check(
        "nato-membership-after-florida.txt",
        &ledger.ok(&["state", "nato-membership", "--at", "florida-2025-11-30"]),
    );
    check(
        "nato-membership-history.json",
        &ledger.ok(&["history", "nato-membership", "--json"]),
    );
    check(
        "nato-membership-history.txt",
        &ledger.ok(&["history", "nato-membership"]),
    );
}

#[test]
fn the_bundled_log_and_head() {
    let ledger = TestLedger::bundled();
    check("log.txt", &ledger.ok(&["log"]));
    check("verify.txt", &ledger.ok(&["verify"]));
}
