//! Property tests over random ledgers: the state at any (valid, record) cut equals a
//! brute-force fold over exactly the events the SPEC §3 rule admits, whatever the
//! late arrivals and corrections.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};
use uuid::Uuid;

use pactlog::append::{append_all, Clock, Item};
use pactlog::chain::Record;
use pactlog::error::Location;
use pactlog::event::Slug;
use pactlog::projection::Projection;
use pactlog::query::{self, Cut};
use pactlog::store::{Access, Ledger};

const PROVISIONS: [&str; 3] = ["x", "y", "z"];
const STATUSES: [&str; 4] = ["contested", "under_negotiation", "agreed", "rejected"];
const PARTIES: [&str; 2] = ["a", "b"];
const STANCES: [&str; 3] = ["supports", "opposes", "conditional"];

#[derive(Clone, Debug)]
enum Op {
    Status {
        provision: usize,
        status: usize,
    },
    Position {
        provision: usize,
        party: usize,
        stance: usize,
    },
    Amend {
        provision: usize,
        text: u8,
    },
    Draft {
        provision: usize,
    },
    Drop {
        provision: usize,
    },
    Statement {
        provisions: Vec<usize>,
        quote: u8,
    },
    Meeting {
        provision: usize,
    },
    Retract {
        target: usize,
    },
    Supersede {
        target: usize,
        status: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize, 0..4usize).prop_map(|(provision, status)| Op::Status { provision, status }),
        2 => (0..3usize, 0..2usize, 0..3usize).prop_map(|(provision, party, stance)| Op::Position { provision, party, stance }),
        1 => (0..3usize, any::<u8>()).prop_map(|(provision, text)| Op::Amend { provision, text }),
        1 => (0..3usize).prop_map(|provision| Op::Draft { provision }),
        1 => (0..3usize).prop_map(|provision| Op::Drop { provision }),
        1 => (prop::collection::vec(0..3usize, 1..3), any::<u8>()).prop_map(|(provisions, quote)| Op::Statement { provisions, quote }),
        1 => (0..3usize).prop_map(|provision| Op::Meeting { provision }),
        2 => (0..64usize).prop_map(|target| Op::Retract { target }),
        2 => (0..64usize, 0..4usize).prop_map(|(target, status)| Op::Supersede { target, status }),
    ]
}

fn day(d: u32) -> String {
    (Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0).unwrap() + Duration::days(d as i64))
        .format("%Y-%m-%d")
        .to_string()
}

fn record_time(step: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::hours(step as i64)
}

fn event_of(op: &Op, occurred: &str, n: usize, ids: &[Uuid]) -> Value {
    let p = |i: usize| PROVISIONS[i];
    let mut v = match op {
        Op::Status { provision, status } => {
            json!({"type": "status_changed", "provision": p(*provision), "status": STATUSES[*status]})
        }
        Op::Position {
            provision,
            party,
            stance,
        } => {
            json!({"type": "position_stated", "provision": p(*provision), "party": PARTIES[*party], "stance": STANCES[*stance]})
        }
        Op::Amend { provision, text } => {
            json!({"type": "provision_amended", "provision": p(*provision), "proposal": "p", "text": format!("text {text}")})
        }
        Op::Draft { provision } => {
            json!({"type": "provision_drafted", "provision": p(*provision), "proposal": "q", "title": "T", "text": "in q"})
        }
        Op::Drop { provision } => {
            json!({"type": "provision_dropped", "provision": p(*provision), "proposal": "p"})
        }
        Op::Statement { provisions, quote } => {
            json!({"type": "statement_made", "quote": format!("quote {quote}"),
            "attribution": "someone", "provisions": provisions.iter().map(|i| p(*i)).collect::<Vec<_>>()})
        }
        Op::Meeting { provision } => {
            json!({"type": "meeting_held", "meeting": format!("m{n}"), "place": "here", "provisions": [p(*provision)]})
        }
        Op::Retract { target } => {
            json!({"type": "event_retracted", "target": ids[target % ids.len()].to_string(), "reason": "r"})
        }
        Op::Supersede { target, status } => {
            json!({"type": "status_changed", "provision": "x", "status": STATUSES[*status],
            "supersedes": ids[target % ids.len()].to_string()})
        }
    };
    v["occurred_at"] = json!(occurred);
    v["id"] = json!(Uuid::from_u128(1000 + n as u128).to_string());
    v
}

fn append(ledger: &mut Ledger, now: DateTime<Utc>, events: Vec<Value>) -> bool {
    let items = events.into_iter().map(|v| {
        let Value::Object(object) = v else {
            unreachable!()
        };
        Ok(Item {
            at: Location::default(),
            object,
        })
    });
    let mut new_id = Uuid::now_v7;
    append_all(
        ledger,
        items,
        Clock {
            now,
            new_id: &mut new_id,
        },
        None,
    )
    .is_ok()
}

/// The SPEC §3 rule written out plainly, independent of `query`.
fn brute_force(records: &[Record], cut: &Cut) -> Projection {
    let removed = |r: &Record| {
        records.iter().any(|other| {
            other.event.removes() == Some(r.event.id) && other.recorded_at <= cut.known_at
        })
    };
    let mut admitted: Vec<&Record> = records
        .iter()
        .filter(|r| r.event.occurred_at <= cut.at && r.recorded_at <= cut.known_at && !removed(r))
        .collect();
    admitted.sort_by(|a, b| {
        a.event
            .occurred_at
            .cmp(&b.event.occurred_at)
            .then(a.seq.cmp(&b.seq))
    });
    let mut projection = Projection::default();
    for r in admitted {
        projection.apply(&r.event);
    }
    projection
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn state_at_any_cut_equals_a_brute_force_fold(
        ops in prop::collection::vec((op(), 0..30u32), 1..40),
        cuts in prop::collection::vec((0..32u32, 0..45u32), 6),
        snapshot_every in 1..6usize,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(&dir.path().join("l"), Access::Create).unwrap();
        // Snapshots every few events, so queries start from them and late arrivals invalidate them.
        ledger.set_snapshot_every(snapshot_every);
        let setup: Vec<Value> = vec![
            json!({"type": "party_registered", "occurred_at": day(0), "party": "a", "name": "A"}),
            json!({"type": "party_registered", "occurred_at": day(0), "party": "b", "name": "B"}),
            json!({"type": "proposal_tabled", "occurred_at": day(0), "proposal": "p", "title": "P", "parties": ["a"]}),
            json!({"type": "proposal_tabled", "occurred_at": day(0), "proposal": "q", "title": "Q", "parties": ["b"]}),
        ].into_iter().chain(PROVISIONS.iter().enumerate().map(|(i, x)| {
            json!({"type": "provision_drafted", "occurred_at": day(i as u32 * 3), "provision": x, "proposal": "p", "title": x.to_uppercase(), "text": "first"})
        })).collect();
        prop_assert!(append(&mut ledger, record_time(0), setup));
        let mut ids: Vec<Uuid> = Vec::new();
        for (n, (op, d)) in ops.iter().enumerate() {
            if ids.is_empty() && matches!(op, Op::Retract { .. } | Op::Supersede { .. }) {
                continue;
            }
            // Valid times wander back and forth: many events arrive late.
            let event = event_of(op, &day(*d), n, &ids);
            let head = ledger.head().clone();
            if append(&mut ledger, record_time(n as u32 + 1), vec![event.clone()]) {
                ids.push(event["id"].as_str().unwrap().parse().unwrap());
            } else {
                prop_assert_eq!(ledger.head(), &head, "a refused append changes nothing");
            }
        }
        let records: Vec<Record> = ledger.records(1).collect::<Result<_, _>>().unwrap();
        for (d, step) in cuts {
            let cut = Cut { at: pactlog::time::end_of_day(chrono::NaiveDate::parse_from_str(&day(d), "%Y-%m-%d").unwrap()), known_at: record_time(step) };
            let expected = brute_force(&records, &cut);
            for x in PROVISIONS {
                let slug = Slug::parse(x).unwrap();
                let got = query::provision_state(&ledger, &slug, &cut).ok().map(|s| s.state);
                prop_assert_eq!(got, expected.state(&slug), "provision {} at {:?}", x, cut);
            }
            let all: Vec<_> = query::all_states(&ledger, &cut).unwrap().into_iter().map(|s| s.state).collect();
            prop_assert_eq!(all, expected.states());
        }
        let verified = pactlog::verify::verify(&ledger, None).map(|_| ()).map_err(|e| e.to_string());
        prop_assert_eq!(verified, Ok(()));
    }
}

fn status_event(n: u128, day_: u32, status: &str) -> Value {
    json!({"type": "status_changed", "occurred_at": day(day_), "provision": "x", "status": status,
        "id": Uuid::from_u128(n).to_string()})
}

fn status_at(ledger: &Ledger, at: u32, known: DateTime<Utc>) -> String {
    let cut = Cut {
        at: pactlog::time::end_of_day(
            chrono::NaiveDate::parse_from_str(&day(at), "%Y-%m-%d").unwrap(),
        ),
        known_at: known,
    };
    let state = query::provision_state(ledger, &Slug::parse("x").unwrap(), &cut).unwrap();
    state.state.status.to_string()
}

fn snapshot_keys(ledger: &Ledger) -> usize {
    ledger
        .sled_for_tests()
        .scan_prefix([pactlog::index::SNAPSHOT])
        .count()
}

#[test]
fn late_arrivals_and_retractions_invalidate_exactly_the_snapshots_they_affect() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("l"), Access::Create).unwrap();
    ledger.set_snapshot_every(2);
    let setup = vec![
        json!({"type": "party_registered", "occurred_at": day(0), "party": "a", "name": "A"}),
        json!({"type": "proposal_tabled", "occurred_at": day(0), "proposal": "p", "title": "P", "parties": ["a"]}),
        json!({"type": "provision_drafted", "occurred_at": day(0), "provision": "x", "proposal": "p", "title": "X", "text": "t"}),
    ];
    assert!(append(&mut ledger, record_time(0), setup));
    // Days 1..=10, one status a day: snapshots every two events.
    let statuses = ["contested", "under_negotiation"];
    let events: Vec<Value> = (1..=10)
        .map(|d| status_event(100 + d as u128, d, statuses[d as usize % 2]))
        .collect();
    assert!(append(&mut ledger, record_time(1), events));
    assert!(snapshot_keys(&ledger) >= 4, "snapshots were written");
    assert_eq!(status_at(&ledger, 8, record_time(1)), "contested");
    // A late report: day 7 was in fact `agreed`, recorded later. It changes day 7 as
    // known now; day 8 has its own status; as known before, the old snapshots serve.
    assert!(append(
        &mut ledger,
        record_time(2),
        vec![status_event(200, 7, "agreed")]
    ));
    assert_eq!(status_at(&ledger, 7, record_time(2)), "agreed");
    assert_eq!(
        status_at(&ledger, 7, record_time(1)),
        "under_negotiation",
        "as known before, the snapshot still holds"
    );
    assert_eq!(status_at(&ledger, 8, record_time(2)), "contested");
    // Retracting day 8's status: as known now, day 9 and before fall back to the late report.
    let retraction = json!({"type": "event_retracted", "occurred_at": day(20), "target": Uuid::from_u128(108).to_string(), "reason": "wrong"});
    assert!(append(&mut ledger, record_time(3), vec![retraction]));
    assert_eq!(status_at(&ledger, 8, record_time(3)), "agreed");
    assert_eq!(status_at(&ledger, 8, record_time(2)), "contested");
    assert_eq!(status_at(&ledger, 10, record_time(3)), "contested");
    let verified = pactlog::verify::verify(&ledger, None).map_err(|e| e.to_string());
    assert!(verified.is_ok(), "{verified:?}");
    // A snapshot that says something the log does not is found by verify.
    let db = ledger.sled_for_tests();
    let (key, value) = db
        .scan_prefix([pactlog::index::SNAPSHOT])
        .last()
        .unwrap()
        .unwrap();
    let text = String::from_utf8(value.to_vec()).unwrap();
    let tampered = text.replacen("\"events\":", "\"events\":1", 1);
    assert_ne!(text, tampered);
    db.insert(key, tampered.as_bytes()).unwrap();
    let err = pactlog::verify::verify(&ledger, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("disagrees with a replay of the log"), "{err}");
}

#[test]
fn an_import_that_dies_between_chunks_leaves_nothing_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l");
    let mut ledger = Ledger::open(&path, Access::Create).unwrap();
    let setup =
        vec![json!({"type": "party_registered", "occurred_at": day(0), "party": "a", "name": "A"})];
    assert!(append(&mut ledger, record_time(0), setup));
    let head = ledger.head().clone();
    // Records and their index entries go in chunks of 1,000; the process dies (here: a
    // panic unwinding out of the import) after two chunks were written, before the head moved.
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let items = (0..2500u128).map(|n| {
            if n == 2400 {
                panic!("the process dies");
            }
            let v = json!({"type": "statement_made", "occurred_at": day(1), "quote": "q", "attribution": "a",
                "id": Uuid::from_u128(10_000 + n).to_string()});
            let Value::Object(object) = v else { unreachable!() };
            Ok(Item { at: Location::default(), object })
        });
        let mut new_id = Uuid::now_v7;
        let _ = append_all(
            &mut ledger,
            items,
            Clock {
                now: record_time(1),
                new_id: &mut new_id,
            },
            None,
        );
    }));
    assert!(died.is_err());
    assert!(
        ledger
            .sled_for_tests()
            .get(pactlog::index::log_key(2))
            .unwrap()
            .is_some(),
        "the dead import left written chunks behind"
    );
    drop(ledger);
    // sled's background flusher may hold the folder's lock a moment after the drop.
    let mut tries = 0;
    let ledger = loop {
        match Ledger::open(&path, Access::Existing) {
            Err(pactlog::Error::Locked { .. }) if tries < 400 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            other => break other.unwrap(),
        }
    };
    assert_eq!(
        ledger.head(),
        &head,
        "nothing of the dead import is visible"
    );
    assert!(
        ledger
            .sled_for_tests()
            .get(pactlog::index::log_key(2))
            .unwrap()
            .is_none(),
        "its records were deleted"
    );
    assert_eq!(ledger.seq_of(&Uuid::from_u128(10_000)).unwrap(), None);
    let verified = pactlog::verify::verify(&ledger, None).map_err(|e| e.to_string());
    assert!(verified.is_ok(), "{verified:?}");
}
