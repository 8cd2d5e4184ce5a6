//! Right at the edges: inputs and retries the way real use breaks them. Each test
//! pins one example of a kind of failure, and one more case of the same kind.

use crate::common::{TestLedger, NOW};

const EVENT: &str = r#"{"id":"0190aaaa-0000-7000-8000-000000000001","type":"party_registered","occurred_at":"2025-11-20","party":"fr","name":"France"}"#;

/// A retry of an append that succeeded is a no-op success, before `--expect-seq` is
/// checked: the same id with the same content is already recorded. The same id with
/// other content stays an error; a new event still meets the check.
#[test]
fn an_idempotent_retry_succeeds_under_expect_seq_on_every_writing_path() {
    let ledger = TestLedger::bundled();
    let first = ledger
        .at(NOW)
        .stdin(EVENT)
        .run(&["append", "-", "--expect-seq", "71"])
        .ok();
    assert!(first.starts_with("appended seq 72 "), "{first}");
    let export = ledger.export();
    // The identical retry, through `append -` and through `import -`.
    let again = ledger
        .at(NOW)
        .stdin(EVENT)
        .run(&["append", "-", "--expect-seq", "71"])
        .ok();
    assert!(again.contains("already in the ledger at seq 72"), "{again}");
    let file = ledger.write("retry.ndjson", EVENT.as_bytes());
    let imported = ledger.ok(&["import", file.to_str().unwrap(), "--expect-seq", "71"]);
    assert!(
        imported.starts_with("imported 0 events (1 already present)"),
        "{imported}"
    );
    assert_eq!(ledger.export(), export);
    // Other content under the same id: still refused.
    let other = EVENT.replace("France", "French Republic");
    let run = ledger
        .at(NOW)
        .stdin(other)
        .run(&["append", "-", "--expect-seq", "72"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.error().contains("with other content"),
        "{}",
        run.error()
    );
    // A new event with a stale --expect-seq: the conflict.
    let run = ledger.run(&[
        "append",
        "party_registered",
        "--party",
        "de",
        "--name",
        "Germany",
        "--expect-seq",
        "71",
    ]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    // A file holding the retried event and a new one: the new one meets the check.
    let both = format!("{EVENT}\n{{\"type\":\"party_registered\",\"occurred_at\":\"2025-11-20\",\"party\":\"it\",\"name\":\"Italy\"}}\n");
    let file = ledger.write("both.ndjson", both.as_bytes());
    let run = ledger.run(&["import", file.to_str().unwrap(), "--expect-seq", "71"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(ledger.export(), export);
    ledger.ok(&["import", file.to_str().unwrap(), "--expect-seq", "72"]);
}
