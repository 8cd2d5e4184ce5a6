//! Property tests over random ledgers, held to an independent oracle.
//!
//! The oracle below is written from docs/format.md §3 and §2 alone. It shares no code with
//! `pactlog::projection`, `query`, `snapshot`, `audit` or `timeline`: it works on the
//! test's own event structs ([`Ev`]), whose seq and record time the test assigns
//! itself (and checks against what the ledger stored). An event counts at a cut
//! `(at, known_at)` when `occurred_at <= at`, `recorded_at <= known_at`, and no
//! retraction or `supersedes` recorded at or before `known_at` removes it; counted
//! events apply in `(occurred_at, seq)` order. Each field of a state is computed on
//! its own from that list (the last counted `status_changed`, the last stance per
//! party, …) rather than by a fold like the library's.
//!
//! The library is asked through its public API (`append_all` on a ledger in a temporary
//! folder, snapshots every 1–5 events) at random cuts on both axes, including exact
//! record-time boundaries, records sharing one record time, `seq:N` and meeting cuts,
//! and every answer is compared: `state` (one and all), `history` removal flags,
//! `blame`, `diff` between two cuts, `compare`, `log`, timeline bands, markers and
//! meetings; and, with `--reported-only` and `--min-grade` (events graded and marked
//! as inferences by their number), every state and the timeline. Citations have a
//! property of their own ([`citations_count_from_their_own_record_time`]): a status
//! and the timeline under `--min-grade` at every record time. (Not yet covered here:
//! `list` counts and the binary's own paths.)
//!
//! `PROPTEST_CASES` sets the number of cases (default 256).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};
use uuid::Uuid;

use pactlog::append::{append_all, Clock, Item};
use pactlog::error::Location;
use pactlog::event::Slug;
use pactlog::query::{self, Cut};
use pactlog::store::{Access, Ledger};
use pactlog::time::When;
use pactlog::{audit, timeline, Error};

type T = DateTime<Utc>;

const PROVISIONS: [&str; 3] = ["x", "y", "z"];
const PROPOSALS: [&str; 2] = ["p", "q"];
const PARTIES: [&str; 2] = ["a", "b"];
const MEETINGS: [&str; 3] = ["m0", "m1", "m2"];
const STATUSES: [&str; 8] = [
    "proposed",
    "contested",
    "under_negotiation",
    "agreed_in_principle",
    "agreed",
    "rejected",
    "withdrawn",
    "superseded",
];
const STANCES: [&str; 4] = ["supports", "opposes", "conditional", "undecided"];
/// How many of the latest statements a state lists (the contract leaves it to the developers).
const STATEMENTS_KEPT: usize = 20;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------
// The test's own events.

/// An event body, as the test knows it.
#[derive(Clone, Debug)]
enum B {
    Party(usize),
    Actor,
    Proposal(usize),
    Draft {
        prov: usize,
        proposal: usize,
        title: String,
        text: String,
        topic: Option<String>,
    },
    Amend {
        prov: usize,
        proposal: usize,
        text: String,
        summary: Option<String>,
    },
    Drop {
        prov: usize,
        proposal: usize,
    },
    Status {
        prov: usize,
        status: &'static str,
    },
    Position {
        prov: usize,
        party: usize,
        stance: &'static str,
        summary: Option<String>,
    },
    Scheduled {
        meeting: usize,
        title: String,
        place: String,
        planned: u32,
    },
    Held {
        meeting: usize,
        title: Option<String>,
        place: String,
        provs: Vec<usize>,
    },
    Statement {
        provs: Vec<usize>,
        meeting: Option<usize>,
        actor: bool,
        quote: String,
    },
    Retract {
        target: Uuid,
    },
}

#[derive(Clone, Debug)]
struct Ev {
    id: Uuid,
    seq: u64,
    occurred: T,
    /// `occurred_at` as written in the input: a day or an instant with an offset.
    occurred_text: String,
    recorded: T,
    body: B,
    supersedes: Option<Uuid>,
    /// `basis: inference` (with a note).
    inference: bool,
    /// The Admiralty grade of its one source, if it has a graded one.
    grade: Option<&'static str>,
}

impl Ev {
    fn type_name(&self) -> &'static str {
        match self.body {
            B::Party(_) => "party_registered",
            B::Actor => "actor_registered",
            B::Proposal(_) => "proposal_tabled",
            B::Draft { .. } => "provision_drafted",
            B::Amend { .. } => "provision_amended",
            B::Drop { .. } => "provision_dropped",
            B::Status { .. } => "status_changed",
            B::Position { .. } => "position_stated",
            B::Scheduled { .. } => "meeting_scheduled",
            B::Held { .. } => "meeting_held",
            B::Statement { .. } => "statement_made",
            B::Retract { .. } => "event_retracted",
        }
    }

    /// What the event removes (docs/format.md §2: `target` of a retraction, or `supersedes`).
    fn removes(&self) -> Option<Uuid> {
        match self.body {
            B::Retract { target } => Some(target),
            _ => self.supersedes,
        }
    }

    /// The provisions the event is about (each once).
    fn provs(&self) -> BTreeSet<usize> {
        match &self.body {
            B::Draft { prov, .. }
            | B::Amend { prov, .. }
            | B::Drop { prov, .. }
            | B::Status { prov, .. }
            | B::Position { prov, .. } => BTreeSet::from([*prov]),
            B::Held { provs, .. } | B::Statement { provs, .. } => provs.iter().copied().collect(),
            _ => BTreeSet::new(),
        }
    }

    fn json(&self) -> Value {
        let mut v = match &self.body {
            B::Party(i) => {
                json!({"type": "party_registered", "party": PARTIES[*i], "name": PARTIES[*i].to_uppercase()})
            }
            B::Actor => {
                json!({"type": "actor_registered", "actor": "ann", "name": "Ann", "party": "a"})
            }
            B::Proposal(i) => {
                json!({"type": "proposal_tabled", "proposal": PROPOSALS[*i], "title": "P", "parties": [PARTIES[*i]]})
            }
            B::Draft {
                prov,
                proposal,
                title,
                text,
                topic,
            } => {
                let mut v = json!({"type": "provision_drafted", "provision": PROVISIONS[*prov], "proposal": PROPOSALS[*proposal], "title": title, "text": text});
                if let Some(topic) = topic {
                    v["topic"] = json!(topic);
                }
                v
            }
            B::Amend {
                prov,
                proposal,
                text,
                summary,
            } => {
                let mut v = json!({"type": "provision_amended", "provision": PROVISIONS[*prov], "proposal": PROPOSALS[*proposal], "text": text});
                if let Some(summary) = summary {
                    v["summary"] = json!(summary);
                }
                v
            }
            B::Drop { prov, proposal } => {
                json!({"type": "provision_dropped", "provision": PROVISIONS[*prov], "proposal": PROPOSALS[*proposal]})
            }
            B::Status { prov, status } => {
                json!({"type": "status_changed", "provision": PROVISIONS[*prov], "status": status})
            }
            B::Position {
                prov,
                party,
                stance,
                summary,
            } => {
                let mut v = json!({"type": "position_stated", "provision": PROVISIONS[*prov], "party": PARTIES[*party], "stance": stance});
                if let Some(summary) = summary {
                    v["summary"] = json!(summary);
                }
                v
            }
            B::Scheduled {
                meeting,
                title,
                place,
                planned,
            } => {
                json!({"type": "meeting_scheduled", "meeting": MEETINGS[*meeting], "title": title, "place": place, "planned_for": day_text(*planned)})
            }
            B::Held {
                meeting,
                title,
                place,
                provs,
            } => {
                let mut v =
                    json!({"type": "meeting_held", "meeting": MEETINGS[*meeting], "place": place});
                if let Some(title) = title {
                    v["title"] = json!(title);
                }
                if !provs.is_empty() {
                    v["provisions"] =
                        json!(provs.iter().map(|p| PROVISIONS[*p]).collect::<Vec<_>>());
                }
                v
            }
            B::Statement {
                provs,
                meeting,
                actor,
                quote,
            } => {
                let mut v = json!({"type": "statement_made", "quote": quote});
                if *actor {
                    v["actor"] = json!("ann");
                } else {
                    v["attribution"] = json!("an official");
                }
                if let Some(m) = meeting {
                    v["meeting"] = json!(MEETINGS[*m]);
                }
                if !provs.is_empty() {
                    v["provisions"] =
                        json!(provs.iter().map(|p| PROVISIONS[*p]).collect::<Vec<_>>());
                }
                v
            }
            B::Retract { target } => {
                json!({"type": "event_retracted", "target": target.to_string(), "reason": "wrong"})
            }
        };
        v["occurred_at"] = json!(self.occurred_text);
        v["id"] = json!(self.id.to_string());
        if self.inference {
            v["basis"] = json!("inference");
            v["note"] = json!("read from the test");
        }
        if let Some(grade) = self.grade {
            v["sources"] = json!([{"outlet": "Wire", "grade": grade}]);
        }
        if let Some(s) = self.supersedes {
            v["supersedes"] = json!(s.to_string());
        }
        v
    }
}

fn day0() -> T {
    Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0).unwrap()
}

fn day_text(d: u32) -> String {
    (day0() + Duration::days(d as i64))
        .format("%Y-%m-%d")
        .to_string()
}

fn end_of_day(t: T) -> T {
    t.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc() + Duration::days(1)
        - Duration::nanoseconds(1)
}

const OFFSETS: [i32; 5] = [-5 * 3600, 0, 2 * 3600, 5 * 3600 + 1800, 14 * 3600];

/// A valid time: a day (midnight UTC), or an instant in that day written with an offset.
fn occurred(day: u32, fine: Option<(u32, usize)>) -> (T, String) {
    let start = day0() + Duration::days(day as i64);
    match fine {
        None => (start, day_text(day)),
        Some((minutes, offset)) => {
            let t = start + Duration::minutes(minutes as i64);
            let local = t.with_timezone(&FixedOffset::east_opt(OFFSETS[offset]).unwrap());
            (t, local.to_rfc3339_opts(SecondsFormat::Secs, false))
        }
    }
}

// ---------------------------------------------------------------------------------
// The oracle: docs/format.md §3, written out plainly over the test's own events.

/// Which events may count besides the cuts (docs/format.md §2): `--min-grade XN` keeps
/// an event with a source graded at least X (a letter no later) and N (a digit no
/// higher); `--reported-only` leaves inferences out; registrations of parties, actors
/// and proposals, and retractions, always count.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Flt {
    min_grade: Option<&'static str>,
    reported_only: bool,
}

impl Flt {
    fn admits(&self, e: &Ev) -> bool {
        if matches!(
            e.body,
            B::Party(_) | B::Actor | B::Proposal(_) | B::Retract { .. }
        ) {
            return true;
        }
        if self.reported_only && e.inference {
            return false;
        }
        match self.min_grade {
            None => true,
            Some(min) => e.grade.is_some_and(|g| {
                let (g, min) = (g.as_bytes(), min.as_bytes());
                g[0] <= min[0] && g[1] <= min[1]
            }),
        }
    }

    fn lib(&self) -> pactlog::provenance::Filter {
        pactlog::provenance::Filter {
            min_grade: self
                .min_grade
                .map(|g| pactlog::event::Grade::parse(g).unwrap()),
            reported_only: self.reported_only,
        }
    }
}

/// The record-time side of a cut: recorded at or before `at` and, for `seq:N`, no
/// record after N (records may share a record time); and the filter of what may count.
#[derive(Clone, Copy, Debug, PartialEq)]
struct KnownCut {
    at: T,
    seq: Option<u64>,
    filter: Flt,
}

impl KnownCut {
    fn at(at: T) -> KnownCut {
        KnownCut {
            at,
            seq: None,
            filter: Flt::default(),
        }
    }

    fn knows(&self, e: &Ev) -> bool {
        e.recorded <= self.at && self.seq.is_none_or(|n| e.seq <= n)
    }

    /// The same cut as the library takes it.
    fn lib(&self) -> pactlog::query::Known {
        pactlog::query::Known {
            at: self.at,
            seq: self.seq,
        }
    }

    fn cut(&self, at: T) -> Cut {
        Cut {
            at,
            known_at: self.at,
            known_seq: self.seq,
            filter: self.filter.lib(),
        }
    }
}

fn remover(evs: &[Ev], id: Uuid, known_at: KnownCut) -> Option<&Ev> {
    evs.iter()
        .find(|r| r.removes() == Some(id) && known_at.knows(r))
}

fn counts(evs: &[Ev], e: &Ev, at: T, known_at: KnownCut) -> bool {
    e.occurred <= at
        && known_at.knows(e)
        && remover(evs, e.id, known_at).is_none()
        && known_at.filter.admits(e)
}

/// The events that count at the cut, in the order they apply.
fn counted(evs: &[Ev], at: T, known_at: KnownCut) -> Vec<&Ev> {
    let mut out: Vec<&Ev> = evs
        .iter()
        .filter(|e| counts(evs, e, at, known_at))
        .collect();
    out.sort_by_key(|e| (e.occurred, e.seq));
    out
}

type TextE = (String, String, T, bool, Uuid);
type PositionE = (String, String, Option<String>, T, Uuid);
type StatementE = (
    Uuid,
    T,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

/// A provision's state, in plain data.
#[derive(Clone, Debug, PartialEq)]
struct St {
    title: String,
    title_event: Uuid,
    topic: Option<String>,
    status: String,
    status_since: T,
    status_event: Uuid,
    /// proposal, text, since, dropped, event
    texts: Vec<TextE>,
    /// party, stance, summary, since, event
    positions: Vec<PositionE>,
    /// meeting, the first event that tied it to the provision
    meetings: Vec<(String, Uuid)>,
    /// event, occurred_at, actor, attribution, quote, meeting
    statements: Vec<StatementE>,
    n_statements: u64,
    events: u64,
    last_event: Uuid,
}

/// A provision's state at a cut: each field read off the counted events about it.
fn state(evs: &[Ev], prov: usize, at: T, known_at: KnownCut) -> Option<St> {
    let about: Vec<&Ev> = counted(evs, at, known_at)
        .into_iter()
        .filter(|e| e.provs().contains(&prov))
        .collect();
    let (first_draft, title, topic) = about.iter().find_map(|e| match &e.body {
        B::Draft { title, topic, .. } => Some((*e, title.clone(), topic.clone())),
        _ => None,
    })?;
    let (status, status_since, status_event) = about
        .iter()
        .rev()
        .find_map(|e| match &e.body {
            B::Status { status, .. } => Some((status.to_string(), e.occurred, e.id)),
            _ => None,
        })
        .unwrap_or(("proposed".into(), first_draft.occurred, first_draft.id));
    // Texts: a proposal's entry starts with its first draft or amendment; the latest
    // draft, amendment or drop after that sets since/event/dropped; the latest draft or
    // amendment sets the text.
    let mut texts = Vec::new();
    let mut proposals: Vec<usize> = Vec::new();
    for e in &about {
        if let B::Draft { proposal, .. } | B::Amend { proposal, .. } = &e.body {
            if !proposals.contains(proposal) {
                proposals.push(*proposal);
            }
        }
    }
    for q in proposals {
        let touching: Vec<&&Ev> = about
            .iter()
            .filter(|e| matches!(&e.body, B::Draft { proposal, .. } | B::Amend { proposal, .. } | B::Drop { proposal, .. } if *proposal == q))
            .collect();
        let start = touching
            .iter()
            .position(|e| !matches!(e.body, B::Drop { .. }))
            .unwrap();
        let touching = &touching[start..];
        let last = touching.last().unwrap();
        let text = touching
            .iter()
            .rev()
            .find_map(|e| match &e.body {
                B::Draft { text, .. } | B::Amend { text, .. } => Some(text.clone()),
                _ => None,
            })
            .unwrap();
        texts.push((
            PROPOSALS[q].to_string(),
            text,
            last.occurred,
            matches!(last.body, B::Drop { .. }),
            last.id,
        ));
    }
    let mut positions = Vec::new();
    for (party, name) in PARTIES.iter().enumerate() {
        let latest = about.iter().rev().find_map(|e| match &e.body {
            B::Position {
                party: p,
                stance,
                summary,
                ..
            } if *p == party => Some((
                name.to_string(),
                stance.to_string(),
                summary.clone(),
                e.occurred,
                e.id,
            )),
            _ => None,
        });
        positions.extend(latest);
    }
    let mut meetings: Vec<(String, Uuid)> = Vec::new();
    for e in &about {
        let m = match &e.body {
            B::Held { meeting, .. } => Some(*meeting),
            B::Statement { meeting, .. } => *meeting,
            _ => None,
        };
        if let Some(m) = m {
            if !meetings.iter().any(|(s, _)| s == MEETINGS[m]) {
                meetings.push((MEETINGS[m].to_string(), e.id));
            }
        }
    }
    let all_statements: Vec<StatementE> = about
        .iter()
        .filter_map(|e| match &e.body {
            B::Statement {
                actor,
                quote,
                meeting,
                ..
            } => Some((
                e.id,
                e.occurred,
                actor.then(|| "ann".to_string()),
                (!actor).then(|| "an official".to_string()),
                quote.clone(),
                meeting.map(|m| MEETINGS[m].to_string()),
            )),
            _ => None,
        })
        .collect();
    let n_statements = all_statements.len() as u64;
    let statements =
        all_statements[all_statements.len().saturating_sub(STATEMENTS_KEPT)..].to_vec();
    Some(St {
        title,
        title_event: first_draft.id,
        topic,
        status,
        status_since,
        status_event,
        texts,
        positions,
        meetings,
        statements,
        n_statements,
        events: about.len() as u64,
        last_event: about.last().unwrap().id,
    })
}

/// The library's state in the oracle's terms (reading fields only).
fn lib_state(s: &pactlog::projection::ProvisionState) -> St {
    St {
        title: s.title.clone(),
        title_event: s.title_event,
        topic: s.topic.clone(),
        status: s.status.to_string(),
        status_since: s.status_since,
        status_event: s.status_event,
        texts: s
            .texts
            .iter()
            .map(|t| {
                (
                    t.proposal.to_string(),
                    t.text.clone(),
                    t.since,
                    t.dropped,
                    t.event,
                )
            })
            .collect(),
        positions: s
            .positions
            .iter()
            .map(|p| {
                (
                    p.party.to_string(),
                    p.stance.to_string(),
                    p.summary.clone(),
                    p.since,
                    p.event,
                )
            })
            .collect(),
        meetings: s
            .meetings
            .iter()
            .map(|m| m.to_string())
            .zip(s.meeting_events.iter().copied())
            .collect(),
        statements: s
            .statements
            .iter()
            .map(|t| {
                (
                    t.event,
                    t.occurred_at,
                    t.actor.as_ref().map(|a| a.to_string()),
                    t.attribution.clone(),
                    t.quote.clone(),
                    t.meeting.as_ref().map(|m| m.to_string()),
                )
            })
            .collect(),
        n_statements: s.n_statements,
        events: s.events,
        last_event: s.last_event,
    }
}

/// Is the event in the provision's history: about it, or a correction of an event about it.
fn in_history(evs: &[Ev], e: &Ev, prov: usize) -> bool {
    e.provs().contains(&prov)
        || e.removes()
            .and_then(|t| evs.iter().find(|x| x.id == t))
            .is_some_and(|t| t.provs().contains(&prov))
}

/// What removed a listed event as known at `known_at` (history flags, timeline markers).
fn listed_remover<'e>(evs: &'e [Ev], e: &Ev, _prov: usize, known_at: KnownCut) -> Option<&'e Ev> {
    remover(evs, e.id, known_at)
}

/// `history`: (id, seq, removed by (id, seq)) in valid-time order, ties by seq.
type HistoryRow = (Uuid, u64, Option<(Uuid, u64)>);

fn history(evs: &[Ev], prov: usize, at: Option<T>, known_at: KnownCut) -> Vec<HistoryRow> {
    let mut rows: Vec<&Ev> = evs
        .iter()
        .filter(|e| in_history(evs, e, prov))
        .filter(|e| known_at.knows(e) && at.is_none_or(|at| e.occurred <= at))
        .collect();
    rows.sort_by_key(|e| (e.occurred, e.seq));
    rows.into_iter()
        .map(|e| {
            let by = listed_remover(evs, e, prov, known_at).map(|r| (r.id, r.seq));
            (e.id, e.seq, by)
        })
        .collect()
}

/// The fields of a state (name, value, event), in the order a state reads.
fn fields(s: &St) -> Vec<(String, Value, Uuid)> {
    let mut out = vec![
        ("title".to_string(), json!(s.title), s.title_event),
        ("status".to_string(), json!(s.status), s.status_event),
    ];
    for (proposal, text, _, dropped, event) in &s.texts {
        out.push((
            format!("text/{proposal}"),
            json!({"text": text, "dropped": dropped}),
            *event,
        ));
    }
    for (party, stance, summary, _, event) in &s.positions {
        out.push((
            format!("stance/{party}"),
            json!({"stance": stance, "summary": summary}),
            *event,
        ));
    }
    for (meeting, event) in &s.meetings {
        out.push((format!("meeting/{meeting}"), json!(meeting), *event));
    }
    for (event, _, actor, attribution, quote, _) in &s.statements {
        out.push((
            format!("statement/{event}"),
            json!({"quote": quote, "actor": actor, "attribution": attribution}),
            *event,
        ));
    }
    out
}

fn rank(name: &str) -> usize {
    [
        "title",
        "status",
        "text/",
        "stance/",
        "meeting/",
        "statement/",
    ]
    .iter()
    .position(|p| name.starts_with(p))
    .unwrap()
}

/// `diff`: (field, change, from, to, event) or `None` when neither cut has a draft.
type Change = (
    String,
    &'static str,
    Option<Value>,
    Option<Value>,
    Option<Uuid>,
);

fn diff(evs: &[Ev], prov: usize, from: (T, KnownCut), to: (T, KnownCut)) -> Option<Vec<Change>> {
    let before = state(evs, prov, from.0, from.1);
    let after = state(evs, prov, to.0, to.1);
    if before.is_none() && after.is_none() {
        return None;
    }
    let map = |s: &Option<St>| -> BTreeMap<(usize, String), (Value, Uuid)> {
        s.iter()
            .flat_map(fields)
            .map(|(n, v, e)| ((rank(&n), n), (v, e)))
            .collect()
    };
    let (before, after) = (map(&before), map(&after));
    let names: BTreeSet<&(usize, String)> = before.keys().chain(after.keys()).collect();
    let mut out = Vec::new();
    let mut own = Vec::new();
    for name in names {
        let (old, new) = (before.get(name), after.get(name));
        if old.map(|o| &o.0) == new.map(|n| &n.0) {
            continue;
        }
        let (change, event) = match (old, new) {
            (None, Some(n)) => ("added", Some(n.1)),
            (Some(_), Some(n)) => ("changed", Some(n.1)),
            (Some(o), None) => ("removed", remover(evs, o.1, to.1).map(|r| r.id)),
            (None, None) => unreachable!(),
        };
        out.push((
            name.1.clone(),
            change,
            old.map(|o| o.0.clone()),
            new.map(|n| n.0.clone()),
            event,
        ));
        own.push(old.map(|o| o.1));
    }
    Some(corrections_joined(evs, out, &own))
}

/// A removal whose remover supersedes the removed field's event, and the addition or
/// change that same event made to a field of the same kind (`text/…` for `text/…`),
/// read as one `corrected` change at the addition's place.
fn corrections_joined(evs: &[Ev], changes: Vec<Change>, own: &[Option<Uuid>]) -> Vec<Change> {
    let kind = |field: &str| field.split('/').next().unwrap().to_string();
    let mut used = BTreeSet::new();
    let mut pairs = BTreeMap::new();
    for (i, (field, change, _, _, event)) in changes.iter().enumerate() {
        if !matches!(*change, "added" | "changed") {
            continue;
        }
        let removal = changes.iter().enumerate().position(|(r, (f, c, _, _, e))| {
            *c == "removed"
                && e == event
                && !used.contains(&r)
                && kind(f) == kind(field)
                && own[r]
                    .is_some_and(|o| event.is_some_and(|by| find(evs, by).supersedes == Some(o)))
        });
        if let Some(r) = removal {
            used.insert(r);
            pairs.insert(i, r);
        }
    }
    changes
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(i, c)| match pairs.get(&i) {
            Some(&r) => (
                c.0.clone(),
                "corrected",
                Some(changes[r].2.clone().unwrap_or(Value::Null)),
                Some(c.3.clone().unwrap_or(Value::Null)),
                c.4,
            ),
            None => c.clone(),
        })
        .collect()
}

/// A timeline row: title, bands (status, from, to, event), markers (id, seq, removed by).
type Band = (String, T, Option<T>, Uuid);
type Line = (String, String, Vec<Band>, Vec<(Uuid, u64, Option<Uuid>)>);

fn timeline_line(evs: &[Ev], prov: usize, at: T, known_at: KnownCut) -> Option<Line> {
    let s = state(evs, prov, at, known_at)?;
    // Bands: from the first counted draft, each counted status change at a later
    // instant closes one band and opens the next; changes at one instant keep the last;
    // a status set before the first draft is the first band's.
    let about: Vec<&Ev> = counted(evs, at, known_at)
        .into_iter()
        .filter(|e| e.provs().contains(&prov))
        .collect();
    let draft_at = about
        .iter()
        .position(|e| matches!(e.body, B::Draft { .. }))
        .unwrap();
    let before = about[..draft_at].iter().rev().find_map(|e| match e.body {
        B::Status { status, .. } => Some((status.to_string(), e.id)),
        _ => None,
    });
    let draft = about[draft_at];
    let (status, event) = before.unwrap_or(("proposed".into(), draft.id));
    let mut bands: Vec<Band> = vec![(status, draft.occurred, None, event)];
    for e in &about[draft_at + 1..] {
        if let B::Status { status, .. } = e.body {
            let last = bands.last_mut().unwrap();
            if last.1 == e.occurred {
                last.0 = status.to_string();
                last.3 = e.id;
            } else {
                last.2 = Some(e.occurred);
                bands.push((status.to_string(), e.occurred, None, e.id));
            }
        }
    }
    let mut markers: Vec<&Ev> = evs
        .iter()
        .filter(|e| in_history(evs, e, prov) && !matches!(e.body, B::Retract { .. }))
        .filter(|e| e.occurred <= at && known_at.knows(e) && known_at.filter.admits(e))
        .collect();
    markers.sort_by_key(|e| (e.occurred, e.seq));
    let markers = markers
        .into_iter()
        .map(|e| {
            let by = listed_remover(evs, e, prov, known_at).map(|r| r.id);
            (e.id, e.seq, by)
        })
        .collect();
    Some((PROVISIONS[prov].to_string(), s.title, bands, markers))
}

/// A timeline meeting: slug, title, place, day, held, event.
type Mark = (String, String, String, T, bool, Uuid);

fn meeting_mark(evs: &[Ev], m: usize, at: T, known_at: KnownCut) -> Option<Mark> {
    let about: Vec<&Ev> = counted(evs, at, known_at)
        .into_iter()
        .filter(|e| matches!(&e.body, B::Scheduled { meeting, .. } | B::Held { meeting, .. } if *meeting == m))
        .collect();
    let slug = MEETINGS[m].to_string();
    if let Some(i) = about.iter().rposition(|e| matches!(e.body, B::Held { .. })) {
        let B::Held { title, place, .. } = &about[i].body else {
            unreachable!()
        };
        let scheduled_title = about[..i].iter().rev().find_map(|e| match &e.body {
            B::Scheduled { title, .. } => Some(title.clone()),
            _ => None,
        });
        let title = title.clone().or(scheduled_title).unwrap_or(slug.clone());
        return Some((
            slug,
            title,
            place.clone(),
            about[i].occurred,
            true,
            about[i].id,
        ));
    }
    about.iter().rev().find_map(|e| match &e.body {
        B::Scheduled {
            title,
            place,
            planned,
            ..
        } => Some((
            slug.clone(),
            title.clone(),
            place.clone(),
            day0() + Duration::days(*planned as i64),
            false,
            e.id,
        )),
        _ => None,
    })
}

/// `--at MEETING`: the end of the UTC day of its `meeting_held` counted at the
/// record-time cut (recorded by then and not removed by then), if there is one.
fn meeting_cut(evs: &[Ev], m: usize, known_at: KnownCut) -> Option<T> {
    evs.iter()
        .find(|e| {
            matches!(e.body, B::Held { meeting, .. } if meeting == m)
                && known_at.knows(e)
                && remover(evs, e.id, known_at).is_none()
        })
        .map(|e| end_of_day(e.occurred))
}

// ---------------------------------------------------------------------------------
// Generation: raw choices, turned into valid events by a model of the ledger's rules.

#[derive(Clone, Debug)]
enum Raw {
    Draft(usize, usize, u8, bool),
    Amend(usize, usize, u8, bool),
    Drop(usize, usize),
    Status(usize, usize),
    Position(usize, usize, usize, bool),
    Schedule(usize, u32),
    Held(usize, Vec<usize>, bool),
    Statement(Vec<usize>, Option<usize>, bool, u8),
    /// Many statements about one provision in one batch.
    Burst(usize, usize),
    Retract(Index),
    /// A correction: the payload, superseding a removable event (preferring one that
    /// is itself a correction when the flag is set: supersede chains).
    Supersede(Index, Box<Raw>, bool),
    /// An event the ledger must refuse.
    Invalid(usize, Index),
}

fn plain() -> impl Strategy<Value = Raw> {
    use prop::collection::vec;
    prop_oneof![
        2 => (0..3usize, 0..2usize, any::<u8>(), any::<bool>()).prop_map(|(a, b, c, d)| Raw::Draft(a, b, c, d)),
        2 => (0..3usize, 0..2usize, any::<u8>(), any::<bool>()).prop_map(|(a, b, c, d)| Raw::Amend(a, b, c, d)),
        1 => (0..3usize, 0..2usize).prop_map(|(a, b)| Raw::Drop(a, b)),
        4 => (0..3usize, 0..8usize).prop_map(|(a, b)| Raw::Status(a, b)),
        3 => (0..3usize, 0..2usize, 0..4usize, any::<bool>()).prop_map(|(a, b, c, d)| Raw::Position(a, b, c, d)),
        1 => (0..3usize, 0..31u32).prop_map(|(a, b)| Raw::Schedule(a, b)),
        1 => (0..3usize, vec(0..3usize, 0..3), any::<bool>()).prop_map(|(a, b, c)| Raw::Held(a, b, c)),
        2 => (vec(0..3usize, 0..3), prop::option::of(0..3usize), any::<bool>(), any::<u8>()).prop_map(|(a, b, c, d)| Raw::Statement(a, b, c, d)),
    ]
}

fn raw() -> impl Strategy<Value = Raw> {
    prop_oneof![
        14 => plain(),
        1 => (0..3usize, 1..14usize).prop_map(|(a, b)| Raw::Burst(a, b)),
        3 => any::<Index>().prop_map(Raw::Retract),
        4 => (any::<Index>(), plain(), any::<bool>()).prop_map(|(i, p, c)| Raw::Supersede(i, Box::new(p), c)),
        1 => (0..6usize, any::<Index>()).prop_map(|(k, i)| Raw::Invalid(k, i)),
    ]
}

/// One step: the raw event, its valid time (day, and maybe minutes and an offset), and
/// how it is recorded: 0–3 in the same batch as the one before; 4–6 a new batch an
/// hour or more later; 7 a new batch at the same `now` (one record time shared by two
/// batches); 8 a new batch whose clock is behind the head's (the ledger keeps record
/// time from decreasing); 9 a new batch at a time with nanoseconds.
type Step = (Raw, (u32, Option<(u32, usize)>), (u8, u32));

fn step() -> impl Strategy<Value = Step> {
    (
        raw(),
        (0..31u32, prop::option::of((0..1440u32, 0..5usize))),
        (0..10u8, 0..4u32),
    )
}

/// The fact an event states, as a correction must restate it: its kind and the
/// entities it is about (a statement: its kind only).
fn fact(b: &B) -> (u8, Vec<usize>) {
    match b {
        B::Party(p) => (0, vec![*p]),
        B::Actor => (1, vec![]),
        B::Proposal(p) => (2, vec![*p]),
        B::Draft { prov, proposal, .. } => (3, vec![*prov, *proposal]),
        B::Amend { prov, proposal, .. } => (4, vec![*prov, *proposal]),
        B::Drop { prov, proposal } => (5, vec![*prov, *proposal]),
        B::Status { prov, .. } => (6, vec![*prov]),
        B::Position { prov, party, .. } => (7, vec![*prov, *party]),
        B::Scheduled { meeting, .. } => (8, vec![*meeting]),
        B::Held { meeting, .. } => (9, vec![*meeting]),
        B::Statement { .. } => (10, vec![]),
        B::Retract { .. } => (11, vec![]),
    }
}

#[derive(Default)]
struct Model {
    evs: Vec<Ev>,
    provisions: BTreeSet<usize>,
    drafts: BTreeSet<(usize, usize)>,
    meetings: BTreeSet<usize>,
    held: BTreeSet<usize>,
    removed: BTreeSet<Uuid>,
}

impl Model {
    fn add(&mut self, ev: Ev) {
        match &ev.body {
            B::Draft { prov, proposal, .. } => {
                self.provisions.insert(*prov);
                self.drafts.insert((*prov, *proposal));
            }
            B::Scheduled { meeting, .. } => {
                self.meetings.insert(*meeting);
            }
            B::Held { meeting, .. } => {
                self.meetings.insert(*meeting);
                self.held.insert(*meeting);
            }
            _ => {}
        }
        if let Some(t) = ev.removes() {
            assert!(self.removed.insert(t), "the model removes an event once");
        }
        self.evs.push(ev);
    }

    fn removable(&self) -> Vec<&Ev> {
        self.evs
            .iter()
            .filter(|e| !matches!(e.body, B::Retract { .. }) && !self.removed.contains(&e.id))
            .collect()
    }

    /// Whether `e` is the last live draft of its provision, or the last live schedule
    /// or holding of its meeting: retracting it would leave the entity unregistered
    /// while events name it, which the ledger refuses (and the model keeps every
    /// entity it has registered usable).
    fn last_live_registration(&self, e: &Ev) -> bool {
        let same_entity = |b: &B| match (&e.body, b) {
            (B::Draft { prov, .. }, B::Draft { prov: p, .. }) => prov == p,
            (
                B::Scheduled { meeting, .. } | B::Held { meeting, .. },
                B::Scheduled { meeting: m, .. } | B::Held { meeting: m, .. },
            ) => meeting == m,
            _ => false,
        };
        if !matches!(
            e.body,
            B::Draft { .. } | B::Scheduled { .. } | B::Held { .. }
        ) {
            return false;
        }
        !self
            .evs
            .iter()
            .any(|o| o.id != e.id && same_entity(&o.body) && !self.removed.contains(&o.id))
    }

    fn registered_provision(&self, i: usize) -> usize {
        let regs: Vec<usize> = self.provisions.iter().copied().collect();
        if regs.contains(&i) {
            i
        } else {
            regs[i % regs.len()]
        }
    }

    /// The one draft of a pair (or held of a meeting) that no correction removed yet.
    fn live(&self, f: impl Fn(&B) -> bool) -> Option<Uuid> {
        self.evs
            .iter()
            .find(|e| f(&e.body) && !self.removed.contains(&e.id))
            .map(|e| e.id)
    }

    /// A valid body for a raw choice, with the event it must supersede (a restatement
    /// of a draft or a held meeting), or `None` when the ledger's rules leave no valid one.
    fn body(&self, raw: &Raw, n: usize) -> Option<(B, Option<Uuid>)> {
        let summary = |s: bool| s.then(|| format!("summary {n}"));
        Some(match raw {
            Raw::Draft(prov, proposal, text, topic) => {
                let body = B::Draft {
                    prov: *prov,
                    proposal: *proposal,
                    title: format!("{} v{n}", PROVISIONS[*prov].to_uppercase()),
                    text: format!("draft {text}"),
                    topic: topic.then(|| format!("topic {n}")),
                };
                if self.drafts.contains(&(*prov, *proposal)) {
                    let live = self.live(|b| matches!(b, B::Draft { prov: p, proposal: q, .. } if p == prov && q == proposal))?;
                    (body, Some(live))
                } else {
                    (body, None)
                }
            }
            Raw::Amend(i, j, text, s) => {
                let pairs: Vec<&(usize, usize)> = self.drafts.iter().collect();
                let &(prov, proposal) = pairs
                    .iter()
                    .find(|p| ***p == (*i, *j))
                    .copied()
                    .unwrap_or(pairs[(i * 2 + j) % pairs.len()]);
                (
                    B::Amend {
                        prov,
                        proposal,
                        text: format!("amended {text}"),
                        summary: summary(*s),
                    },
                    None,
                )
            }
            Raw::Drop(i, j) => {
                let pairs: Vec<&(usize, usize)> = self.drafts.iter().collect();
                let &(prov, proposal) = pairs
                    .iter()
                    .find(|p| ***p == (*i, *j))
                    .copied()
                    .unwrap_or(pairs[(i * 2 + j) % pairs.len()]);
                (B::Drop { prov, proposal }, None)
            }
            Raw::Status(prov, status) => (
                B::Status {
                    prov: self.registered_provision(*prov),
                    status: STATUSES[*status],
                },
                None,
            ),
            Raw::Position(prov, party, stance, s) => (
                B::Position {
                    prov: self.registered_provision(*prov),
                    party: *party,
                    stance: STANCES[*stance],
                    summary: summary(*s),
                },
                None,
            ),
            Raw::Schedule(meeting, planned) => (
                B::Scheduled {
                    meeting: *meeting,
                    title: format!("scheduled {n}"),
                    place: format!("planned place {n}"),
                    planned: *planned,
                },
                None,
            ),
            Raw::Held(meeting, provs, title) => {
                let body = B::Held {
                    meeting: *meeting,
                    title: title.then(|| format!("held {n}")),
                    place: format!("place {n}"),
                    provs: provs
                        .iter()
                        .map(|p| self.registered_provision(*p))
                        .collect(),
                };
                if self.held.contains(meeting) {
                    let live =
                        self.live(|b| matches!(b, B::Held { meeting: m, .. } if m == meeting))?;
                    (body, Some(live))
                } else {
                    (body, None)
                }
            }
            Raw::Statement(provs, meeting, actor, quote) => (
                B::Statement {
                    provs: provs
                        .iter()
                        .map(|p| self.registered_provision(*p))
                        .collect(),
                    meeting: meeting.filter(|m| self.meetings.contains(m)),
                    actor: *actor,
                    quote: format!("quote {quote} ({n})"),
                },
                None,
            ),
            Raw::Retract(i) => {
                // A party, actor or proposal registration is not retracted here: named
                // by later events, the ledger refuses it (see `edges.rs`).
                let candidates: Vec<&Ev> = self
                    .removable()
                    .into_iter()
                    .filter(|e| !matches!(e.body, B::Party(_) | B::Actor | B::Proposal(_)))
                    .filter(|e| !self.last_live_registration(e))
                    .collect();
                if candidates.is_empty() {
                    return None;
                }
                (
                    B::Retract {
                        target: i.get(&candidates).id,
                    },
                    None,
                )
            }
            Raw::Supersede(i, payload, chain) => {
                let (body, forced) = self.body(payload, n)?;
                if forced.is_some() {
                    return Some((body, forced));
                }
                // A correction restates the same kind of fact about the same entity.
                let candidates: Vec<&Ev> = self
                    .removable()
                    .into_iter()
                    .filter(|e| fact(&e.body) == fact(&body))
                    .collect();
                let corrections: Vec<&Ev> = candidates
                    .iter()
                    .copied()
                    .filter(|e| e.supersedes.is_some())
                    .collect();
                let pool = if *chain && !corrections.is_empty() {
                    corrections
                } else {
                    candidates
                };
                if pool.is_empty() {
                    return None;
                }
                (body, Some(i.get(&pool).id))
            }
            Raw::Burst(..) | Raw::Invalid(..) => unreachable!("handled by the driver"),
        })
    }

    /// An event the ledger must refuse, if the model has one of this kind.
    fn invalid(&self, kind: usize, i: Index, n: usize) -> Option<(B, Option<Uuid>)> {
        let removed: Vec<&Ev> = self
            .evs
            .iter()
            .filter(|e| self.removed.contains(&e.id))
            .collect();
        let retractions: Vec<&Ev> = self
            .evs
            .iter()
            .filter(|e| matches!(e.body, B::Retract { .. }))
            .collect();
        match kind {
            // Retracting an event already retracted or superseded.
            0 if !removed.is_empty() => Some((
                B::Retract {
                    target: i.get(&removed).id,
                },
                None,
            )),
            // Retracting a retraction.
            1 if !retractions.is_empty() => Some((
                B::Retract {
                    target: i.get(&retractions).id,
                },
                None,
            )),
            // A second draft of a pair without `supersedes`.
            2 => {
                let pairs: Vec<&(usize, usize)> = self.drafts.iter().collect();
                let &(prov, proposal) = *i.get(&pairs);
                Some((
                    B::Draft {
                        prov,
                        proposal,
                        title: "again".into(),
                        text: "again".into(),
                        topic: None,
                    },
                    None,
                ))
            }
            // Amending a text that was never drafted in that proposal.
            3 => (0..3)
                .flat_map(|p| (0..2).map(move |q| (p, q)))
                .find(|pq| self.provisions.contains(&pq.0) && !self.drafts.contains(pq))
                .map(|(prov, proposal)| {
                    (
                        B::Amend {
                            prov,
                            proposal,
                            text: "t".into(),
                            summary: None,
                        },
                        None,
                    )
                }),
            // Holding a held meeting again without `supersedes`.
            4 => self.held.iter().next().map(|&meeting| {
                (
                    B::Held {
                        meeting,
                        title: None,
                        place: "again".into(),
                        provs: vec![],
                    },
                    None,
                )
            }),
            // A status for a provision nobody drafted.
            5 => (0..3).find(|p| !self.provisions.contains(p)).map(|prov| {
                (
                    B::Status {
                        prov,
                        status: STATUSES[n % 8],
                    },
                    None,
                )
            }),
            _ => None,
        }
    }
}

fn items(evs: &[Ev]) -> Vec<pactlog::Result<Item>> {
    evs.iter()
        .map(|e| {
            let Value::Object(object) = e.json() else {
                unreachable!()
            };
            Ok(Item {
                at: Location::default(),
                object,
            })
        })
        .collect()
}

fn append(ledger: &mut Ledger, now: T, evs: &[Ev]) -> pactlog::Result<pactlog::append::Summary> {
    let mut new_id = || -> Uuid { panic!("every generated event carries its id") };
    append_all(
        ledger,
        items(evs),
        Clock {
            now,
            new_id: &mut new_id,
        },
        None,
    )
}

fn record_base() -> T {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// Builds a ledger from the steps, checking every append against the model: valid
/// batches append whole, invalid events are refused and change nothing, and the
/// ledger stores exactly the seq and record time the model assigned.
fn build(steps: &[Step], snapshot_every: usize) -> (tempfile::TempDir, Ledger, Model) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("l"), Access::Create).unwrap();
    ledger.set_snapshot_every(snapshot_every);
    if snapshot_every % 2 == 1 {
        // Every history in posting blocks of two entries: reads the same as the size in use.
        ledger.set_postings_per_block(2);
    }
    let mut model = Model::default();
    let mut now = record_base();
    let mut last_recorded: Option<T> = None;
    let mut batch: Vec<Ev> = Vec::new();
    let mut batch_now = now;

    let flush = |ledger: &mut Ledger, model: &Model, batch: &mut Vec<Ev>, at: T| {
        if batch.is_empty() {
            return;
        }
        let summary = append(ledger, at, batch)
            .unwrap_or_else(|e| panic!("a valid batch appends: {e}\n{:#?}", batch));
        assert_eq!(summary.appended, batch.len() as u64);
        assert_eq!(summary.head.seq, batch.last().unwrap().seq);
        assert_eq!(summary.head.seq, model.evs.len() as u64);
        batch.clear();
    };

    // Setup: parties, an actor, two proposals and the draft of `x`, in one batch.
    let mut n = 0usize;
    let mut make =
        |body: B, supersedes: Option<Uuid>, occ: (T, String), recorded: T, model: &Model| {
            n += 1;
            Ev {
                id: Uuid::from_u128(0x1000 + n as u128),
                seq: model.evs.len() as u64 + 1,
                occurred: occ.0,
                occurred_text: occ.1,
                recorded,
                // Provenance by the event's number: every third fact an inference,
                // grades in turn (some events ungraded).
                inference: n.is_multiple_of(3)
                    && matches!(
                        body,
                        B::Status { .. } | B::Position { .. } | B::Statement { .. }
                    ),
                grade: [
                    None,
                    Some("A1"),
                    Some("B2"),
                    Some("C3"),
                    Some("E5"),
                    Some("A5"),
                    Some("D1"),
                ][n % 7],
                body,
                supersedes,
            }
        };
    let setup = [
        B::Party(0),
        B::Party(1),
        B::Actor,
        B::Proposal(0),
        B::Proposal(1),
        B::Draft {
            prov: 0,
            proposal: 0,
            title: "X".into(),
            text: "first".into(),
            topic: Some("security".into()),
        },
    ];
    for body in setup {
        let e = make(body, None, occurred(0, None), now, &model);
        batch.push(e.clone());
        model.add(e);
    }
    flush(&mut ledger, &model, &mut batch, now);
    last_recorded = last_recorded.max(Some(now));

    for (s, (raw, (day, fine), (how, hours))) in steps.iter().enumerate() {
        let new_batch = *how >= 4;
        if new_batch {
            flush(&mut ledger, &model, &mut batch, batch_now);
            match how {
                4..=6 => now += Duration::hours(*hours as i64 + 1),
                7 => {}
                8 => now -= Duration::hours(2),
                _ => now += Duration::hours(1) + Duration::nanoseconds(1 + s as i64 * 7919),
            }
            batch_now = now;
        }
        // The record time the ledger must assign: never before the head's.
        let recorded = last_recorded.map_or(batch_now, |l| l.max(batch_now));
        let occ = occurred(*day, *fine);
        match raw {
            Raw::Invalid(kind, i) => {
                flush(&mut ledger, &model, &mut batch, batch_now);
                let Some((body, supersedes)) = model.invalid(*kind, *i, s) else {
                    continue;
                };
                let mut e = make(body, supersedes, occ, recorded, &model);
                e.id = Uuid::from_u128(0x9000 + s as u128);
                let head = ledger.head().clone();
                let result = append(&mut ledger, batch_now, std::slice::from_ref(&e));
                assert!(
                    matches!(result, Err(Error::Invalid { .. })),
                    "the ledger refuses {:?}: {:?}",
                    e,
                    result.map(|s| s.head)
                );
                assert_eq!(ledger.head(), &head, "a refused append changes nothing");
                continue;
            }
            Raw::Burst(prov, k) => {
                for j in 0..*k {
                    let raw = Raw::Statement(vec![*prov], None, j % 2 == 0, j as u8);
                    let (body, sup) = model.body(&raw, s * 100 + j).unwrap();
                    let e = make(body, sup, occ.clone(), recorded, &model);
                    batch.push(e.clone());
                    model.add(e);
                }
            }
            raw => {
                let Some((body, sup)) = model.body(raw, s) else {
                    continue;
                };
                let e = make(body, sup, occ, recorded, &model);
                batch.push(e.clone());
                model.add(e);
            }
        }
        last_recorded = Some(recorded);
    }
    flush(&mut ledger, &model, &mut batch, batch_now);

    // The ledger stored what the model assigned: seq, id, record time, valid time.
    let records: Vec<_> = ledger.records(1).collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), model.evs.len());
    for (r, e) in records.iter().zip(&model.evs) {
        assert_eq!(
            (r.seq, r.event.id, r.recorded_at, r.event.occurred_at),
            (e.seq, e.id, e.recorded, e.occurred)
        );
    }
    (dir, ledger, model)
}

// ---------------------------------------------------------------------------------
// Cuts: valid time at a day's end, at an event's exact instant or just before it, at
// a meeting; record time at a record's exact record time or just before it, `seq:N`,
// before everything, after everything.

#[derive(Clone, Debug)]
enum AtSpec {
    Day(u32),
    Exactly(Index),
    JustBefore(Index),
    Meeting(usize),
    Forever,
}

#[derive(Clone, Debug)]
enum KnownSpec {
    Exactly(Index),
    JustBefore(Index),
    Seq(Index),
    Never,
    Now,
}

fn at_spec() -> impl Strategy<Value = AtSpec> {
    prop_oneof![
        4 => (0..33u32).prop_map(AtSpec::Day),
        2 => any::<Index>().prop_map(AtSpec::Exactly),
        1 => any::<Index>().prop_map(AtSpec::JustBefore),
        2 => (0..3usize).prop_map(AtSpec::Meeting),
        1 => Just(AtSpec::Forever),
    ]
}

fn known_spec() -> impl Strategy<Value = KnownSpec> {
    prop_oneof![
        4 => any::<Index>().prop_map(KnownSpec::Exactly),
        2 => any::<Index>().prop_map(KnownSpec::JustBefore),
        3 => any::<Index>().prop_map(KnownSpec::Seq),
        1 => Just(KnownSpec::Never),
        1 => Just(KnownSpec::Now),
    ]
}

fn far() -> T {
    Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap()
}

fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap()
}

fn is_not_found<V: std::fmt::Debug>(result: &pactlog::Result<V>) -> bool {
    matches!(result, Err(Error::NotFound(_)))
}

/// Resolves a cut on both axes, holding `seq:N` and `--at MEETING` to the oracle.
fn resolve(ledger: &Ledger, evs: &[Ev], at: &AtSpec, known: &KnownSpec) -> (T, KnownCut) {
    let known_at = match known {
        KnownSpec::Exactly(i) => KnownCut::at(i.get(evs).recorded),
        KnownSpec::JustBefore(i) => KnownCut::at(i.get(evs).recorded - Duration::nanoseconds(1)),
        KnownSpec::Seq(i) => {
            // `seq:N` is exactly records 1..N, even when later records share N's
            // record time (one batch, or a clock that stood still).
            let e = i.get(evs);
            let got =
                query::resolve(ledger, &When::Record(e.seq), KnownCut::at(far()).lib()).unwrap();
            assert_eq!(got, e.recorded, "seq:{}", e.seq);
            KnownCut {
                at: got,
                seq: Some(e.seq),
                filter: Flt::default(),
            }
        }
        KnownSpec::Never => KnownCut::at(day0()),
        KnownSpec::Now => KnownCut::at(far()),
    };
    let at = match at {
        AtSpec::Day(d) => end_of_day(day0() + Duration::days(*d as i64)),
        AtSpec::Exactly(i) => i.get(evs).occurred,
        AtSpec::JustBefore(i) => i.get(evs).occurred - Duration::nanoseconds(1),
        AtSpec::Forever => far(),
        AtSpec::Meeting(m) => {
            let got = query::resolve(ledger, &When::Meeting(slug(MEETINGS[*m])), known_at.lib());
            let expected = meeting_cut(evs, *m, known_at);
            match (&got, expected) {
                (Ok(t), Some(e)) => assert_eq!(*t, e, "--at {}", MEETINGS[*m]),
                (Err(Error::NotFound(_)), None) => {}
                _ => panic!(
                    "--at {} known at {known_at:?}: got {got:?}, expected {expected:?}",
                    MEETINGS[*m]
                ),
            }
            expected.unwrap_or(far())
        }
    };
    (at, known_at)
}

fn find(evs: &[Ev], id: Uuid) -> &Ev {
    evs.iter().find(|e| e.id == id).unwrap()
}

/// Every read at one cut, against the oracle.
fn check_cut(ledger: &Ledger, model: &Model, at: T, known_at: KnownCut) {
    let evs = &model.evs;
    let cut = known_at.cut(at);
    let ctx = format!("at {at} known at {known_at:?}");
    let mut expected_all = Vec::new();
    for (i, name) in PROVISIONS.iter().enumerate() {
        let s = slug(name);
        let expected = state(evs, i, at, known_at);
        // state
        let got = query::provision_state(ledger, &s, &cut);
        match &expected {
            Some(st) => {
                let got = got.unwrap_or_else(|e| panic!("state {name} {ctx}: {e}"));
                assert_eq!(
                    (&got.provision, &got.title, got.at, got.known_at),
                    (&s, &st.title, at, known_at.at)
                );
                assert_eq!(&lib_state(&got.state), st, "state {name} {ctx}");
                expected_all.push((name.to_string(), st.clone()));
            }
            None => assert!(is_not_found(&got), "state {name} {ctx}: {got:?}"),
        }
        // history, with and without a valid-time limit
        for limit in [None, Some(at)] {
            let got = query::history(ledger, &s, limit, known_at.lib());
            if !model.provisions.contains(&i) {
                assert!(is_not_found(&got), "history {name}: {got:?}");
                continue;
            }
            let got = got.unwrap_or_else(|e| panic!("history {name} {ctx}: {e}"));
            for entry in &got {
                let json = entry.to_json();
                assert_eq!(json["retracted"], json!(entry.removed_by.is_some()));
            }
            let got: Vec<HistoryRow> = got
                .iter()
                .map(|h| (h.record.event.id, h.record.seq, h.removed_by))
                .collect();
            assert_eq!(
                got,
                history(evs, i, limit, known_at),
                "history {name} --at {limit:?} known at {known_at:?}"
            );
        }
        // blame
        let got = audit::blame(ledger, &s, &cut);
        match &expected {
            Some(st) => {
                let got = got.unwrap_or_else(|e| panic!("blame {name} {ctx}: {e}"));
                let got: Vec<_> = got
                    .fields
                    .iter()
                    .map(|l| {
                        let c = &l.event;
                        (
                            l.field.clone(),
                            l.value.clone(),
                            c.id,
                            c.seq,
                            c.type_name,
                            c.occurred_at,
                            c.recorded_at,
                        )
                    })
                    .collect();
                let want: Vec<_> = fields(st)
                    .into_iter()
                    .map(|(f, v, id)| {
                        let e = find(evs, id);
                        (f, v, id, e.seq, e.type_name(), e.occurred, e.recorded)
                    })
                    .collect();
                assert_eq!(got, want, "blame {name} {ctx}");
            }
            None => assert!(is_not_found(&got), "blame {name} {ctx}: {got:?}"),
        }
    }
    // state of every provision
    let got: Vec<(String, St)> = query::all_states(ledger, &cut)
        .unwrap()
        .iter()
        .map(|s| (s.provision.to_string(), lib_state(&s.state)))
        .collect();
    assert_eq!(got, expected_all, "state (all) {ctx}");
    // log
    let got: Vec<u64> = query::log(ledger, known_at.lib())
        .map(|r| r.unwrap().seq)
        .collect();
    let want: Vec<u64> = evs
        .iter()
        .filter(|e| known_at.knows(e))
        .map(|e| e.seq)
        .collect();
    assert_eq!(got, want, "log known at {known_at:?}");
    // compare p q
    let got = audit::compare(ledger, &slug("p"), &slug("q"), &cut).unwrap();
    let text = |t: &Option<pactlog::projection::Text>| {
        t.as_ref().map(|t| {
            (
                t.proposal.to_string(),
                t.text.clone(),
                t.since,
                t.dropped,
                t.event,
            )
        })
    };
    let got: Vec<_> = got
        .provisions
        .iter()
        .map(|c| {
            (
                c.provision.to_string(),
                c.title.clone(),
                c.status.to_string(),
                text(&c.left),
                text(&c.right),
            )
        })
        .collect();
    let want: Vec<_> = expected_all
        .iter()
        .filter_map(|(name, st)| {
            let of = |p: &str| st.texts.iter().find(|t| t.0 == p).cloned();
            let (l, r) = (of("p"), of("q"));
            (l.is_some() || r.is_some())
                .then(|| (name.clone(), st.title.clone(), st.status.clone(), l, r))
        })
        .collect();
    assert_eq!(got, want, "compare p q {ctx}");
    check_timeline(ledger, evs, at, known_at);
}

/// Every provision's state and the timeline at the cut with a filter (`--min-grade`,
/// `--reported-only`: `known_at.filter`) equal the oracle's.
fn check_filtered(ledger: &Ledger, model: &Model, at: T, known_at: KnownCut) {
    let evs = &model.evs;
    let cut = known_at.cut(at);
    let ctx = format!("at {at} known at {known_at:?}");
    for (i, name) in PROVISIONS.iter().enumerate() {
        let got = query::provision_state(ledger, &slug(name), &cut);
        match state(evs, i, at, known_at) {
            Some(st) => {
                let got = got.unwrap_or_else(|e| panic!("state {name} {ctx}: {e}"));
                assert_eq!(lib_state(&got.state), st, "state {name} {ctx}");
            }
            None => assert!(is_not_found(&got), "state {name} {ctx}: {got:?}"),
        }
    }
    check_timeline(ledger, evs, at, known_at);
}

/// The timeline's rows (bands, markers) and meetings at the cut equal the oracle's.
fn check_timeline(ledger: &Ledger, evs: &[Ev], at: T, known_at: KnownCut) {
    let cut = known_at.cut(at);
    let ctx = format!("at {at} known at {known_at:?}");
    let got = timeline::timeline(ledger, &[], &cut).unwrap();
    let lines: Vec<Line> = got
        .provisions
        .iter()
        .map(|l| {
            (
                l.provision.to_string(),
                l.title.clone(),
                l.bands
                    .iter()
                    .map(|b| (b.status.to_string(), b.from, b.to, b.event))
                    .collect(),
                l.markers
                    .iter()
                    .map(|m| (m.event.id, m.event.seq, m.removed_by))
                    .collect(),
            )
        })
        .collect();
    let want: Vec<Line> = (0..3)
        .filter_map(|p| timeline_line(evs, p, at, known_at))
        .collect();
    assert_eq!(lines, want, "timeline {ctx}");
    let marks: Vec<Mark> = got
        .meetings
        .iter()
        .map(|m| {
            (
                m.meeting.to_string(),
                m.title.clone(),
                m.place.clone(),
                m.day,
                m.held,
                m.event,
            )
        })
        .collect();
    let mut want: Vec<Mark> = (0..3)
        .filter_map(|m| meeting_mark(evs, m, at, known_at))
        .collect();
    want.sort_by(|a, b| (a.3, &a.0).cmp(&(b.3, &b.0)));
    assert_eq!(marks, want, "timeline meetings {ctx}");
}

/// `diff` between two cuts, against the oracle.
fn check_diff(ledger: &Ledger, model: &Model, from: (T, KnownCut), to: (T, KnownCut)) {
    for (i, name) in PROVISIONS.iter().enumerate() {
        let cut = |c: (T, KnownCut)| c.1.cut(c.0);
        let got = audit::diff(ledger, &slug(name), &cut(from), &cut(to));
        let ctx = format!("diff {name} from {from:?} to {to:?}");
        match diff(&model.evs, i, from, to) {
            Some(want) => {
                let got = got.unwrap_or_else(|e| panic!("{ctx}: {e}"));
                let got: Vec<Change> = got
                    .changes
                    .into_iter()
                    .map(|c| (c.field, c.change, c.from, c.to, c.event.map(|e| e.id)))
                    .collect();
                assert_eq!(got, want, "{ctx}");
            }
            None => assert!(is_not_found(&got), "{ctx}: {got:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    /// Every counting path of the library at random cuts equals the oracle.
    #[test]
    fn every_read_at_any_cut_equals_the_oracle(
        steps in prop::collection::vec(step(), 1..32),
        cuts in prop::collection::vec((at_spec(), known_spec()), 5),
        snapshot_every in 1..6usize,
    ) {
        let (_dir, ledger, model) = build(&steps, snapshot_every);
        let n = model.evs.len() as u64;
        let past_head = query::resolve(&ledger, &When::Record(n + 1), KnownCut::at(far()).lib());
        prop_assert!(is_not_found(&past_head), "seq:{} past the head: {:?}", n + 1, past_head);
        let mut resolved = Vec::new();
        for (at, known) in &cuts {
            let cut = resolve(&ledger, &model.evs, at, known);
            check_cut(&ledger, &model, cut.0, cut.1);
            for filter in [
                Flt { min_grade: None, reported_only: true },
                Flt { min_grade: Some("B2"), reported_only: false },
                Flt { min_grade: Some("C3"), reported_only: true },
            ] {
                check_filtered(&ledger, &model, cut.0, KnownCut { filter, ..cut.1 });
            }
            resolved.push(cut);
        }
        for pair in resolved.windows(2) {
            check_diff(&ledger, &model, pair[0], pair[1]);
        }
        // Both axes at once: the same valid time as known at two record times.
        check_diff(&ledger, &model, (resolved[0].0, resolved[1].1), (resolved[0].0, resolved[2].1));
        let verified = pactlog::verify::verify(&ledger, None).map(|_| ()).map_err(|e| e.to_string());
        prop_assert_eq!(verified, Ok(()));
    }
}
proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), ..ProptestConfig::default() })]

    /// `verify` folds each record-time view from where it first differs from the view
    /// before (late reports, retractions and supersedes recorded between them), and
    /// checks a snapshot on the fold of the earliest view that agrees with it: every
    /// snapshot, of every view, is still checked, and a changed one is named with its
    /// own record.
    #[test]
    fn verify_finds_any_one_tampered_snapshot_of_any_view(
        steps in prop::collection::vec(step(), 1..32),
        snapshot_every in 1..4usize,
    ) {
        let (_dir, ledger, _model) = build(&steps, snapshot_every);
        let verified = pactlog::verify::verify(&ledger, None).map(|_| ()).map_err(|e| e.to_string());
        prop_assert_eq!(verified, Ok(()));
        let db = ledger.sled_for_tests();
        let stored: Vec<_> = db
            .scan_prefix([pactlog::index::SNAPSHOT])
            .map(|kv| kv.unwrap())
            .collect();
        for (key, value) in stored {
            let seq = pactlog::index::seq_from(&key).unwrap();
            let text = String::from_utf8(pactlog::block::unpack(&value).unwrap()).unwrap();
            let tampered = text.replacen("\"events\":", "\"events\":7", 1);
            prop_assert_ne!(&text, &tampered);
            db.insert(&key, pactlog::block::pack(tampered.as_bytes())).unwrap();
            let err = pactlog::verify::verify(&ledger, None).map(|_| ()).map_err(|e| e.to_string());
            db.insert(&key, value).unwrap();
            let err = err.unwrap_err();
            prop_assert!(err.contains("disagrees with a replay of the log"), "{}", err);
            prop_assert!(err.contains(&format!("(record {seq})")), "{}", err);
        }
    }
}

/// `list provisions`, through the real binary: each provision with the events that
/// draft, name or touch it, retracted and superseded ones left out, and their first
/// and last valid times.
fn list_provisions_oracle(evs: &[Ev]) -> Vec<(String, u64, T, T)> {
    let now = KnownCut::at(far());
    let mut out = Vec::new();
    for (i, name) in PROVISIONS.iter().enumerate() {
        let about: Vec<&Ev> = evs
            .iter()
            .filter(|e| e.provs().contains(&i) && remover(evs, e.id, now).is_none())
            .collect();
        if let (Some(first), Some(last)) = (
            about.iter().map(|e| e.occurred).min(),
            about.iter().map(|e| e.occurred).max(),
        ) {
            out.push((name.to_string(), about.len() as u64, first, last));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(32), ..ProptestConfig::default() })]

    /// `list provisions --json` (counting in the CLI) equals the oracle.
    #[test]
    fn list_counts_through_the_binary_equal_the_oracle(
        steps in prop::collection::vec(step(), 1..24),
    ) {
        let (dir, ledger, model) = build(&steps, 3);
        drop(ledger);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_pactlog"))
            .env_clear()
            .env("PACTLOG_DB", dir.path().join("l"))
            .env("PACTLOG_NOW", "2099-01-01T00:00:00Z")
            .args(["list", "provisions", "--json"])
            .output()
            .unwrap();
        prop_assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
        let got: Vec<(String, u64, T, T)> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let t = |f: &str| pactlog::time::parse_rfc3339(e[f].as_str().unwrap()).unwrap();
                (e["slug"].as_str().unwrap().to_string(), e["events"].as_u64().unwrap(), t("first"), t("last"))
            })
            .collect();
        prop_assert_eq!(got, list_provisions_oracle(&model.evs));
    }
}

// ---------------------------------------------------------------------------------
// Snapshot invalidation and a dying import, by hand.

fn day(d: u32) -> String {
    day_text(d)
}

fn record_time(step: u32) -> T {
    record_base() + Duration::hours(step as i64)
}

fn append_values(ledger: &mut Ledger, now: T, events: Vec<Value>) {
    try_append_values(ledger, now, events).unwrap();
}

/// Appends JSON objects as one write recorded at `now`, which may be refused.
fn try_append_values(
    ledger: &mut Ledger,
    now: T,
    events: Vec<Value>,
) -> pactlog::Result<pactlog::append::Summary> {
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
}

/// A new ledger in a temporary folder (kept while the first value lives) with party
/// `a`, proposal `p` and provision `x` drafted on day 0, recorded at `record_time(0)`.
fn drafted_x() -> (tempfile::TempDir, std::path::PathBuf, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l");
    let mut ledger = Ledger::open(&path, Access::Create).unwrap();
    let setup = vec![
        json!({"type": "party_registered", "occurred_at": day(0), "party": "a", "name": "A"}),
        json!({"type": "proposal_tabled", "occurred_at": day(0), "proposal": "p", "title": "P", "parties": ["a"]}),
        json!({"type": "provision_drafted", "occurred_at": day(0), "provision": "x", "proposal": "p", "title": "X", "text": "t"}),
    ];
    append_values(&mut ledger, record_time(0), setup);
    (dir, path, ledger)
}

fn status_event(n: u128, day_: u32, status: &str) -> Value {
    json!({"type": "status_changed", "occurred_at": day(day_), "provision": "x", "status": status,
        "id": Uuid::from_u128(n).to_string()})
}

fn status_at(ledger: &Ledger, at: u32, known: DateTime<Utc>) -> String {
    let cut = KnownCut::at(known).cut(pactlog::time::end_of_day(
        chrono::NaiveDate::parse_from_str(&day(at), "%Y-%m-%d").unwrap(),
    ));
    let state = query::provision_state(ledger, &Slug::parse("x").unwrap(), &cut).unwrap();
    state.state.status.to_string()
}

fn snapshot_keys(ledger: &Ledger) -> usize {
    ledger
        .sled_for_tests()
        .scan_prefix([pactlog::index::SNAPSHOT])
        .count()
}

/// A new ledger snapshotting every two events: party `a`, proposal `p`, provision
/// `x` (and `more`) drafted on day 0, recorded at `record_time(0)`; then one status of
/// `x` a day for days 1..=10 (ids 101..=110, `contested` on even days,
/// `under_negotiation` on odd ones), recorded at `record_time(1)`.
fn statuses_snapshotted_every_two(more: Vec<Value>) -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("l"), Access::Create).unwrap();
    ledger.set_snapshot_every(2);
    let mut setup = vec![
        json!({"type": "party_registered", "occurred_at": day(0), "party": "a", "name": "A"}),
        json!({"type": "proposal_tabled", "occurred_at": day(0), "proposal": "p", "title": "P", "parties": ["a"]}),
        json!({"type": "provision_drafted", "occurred_at": day(0), "provision": "x", "proposal": "p", "title": "X", "text": "t"}),
    ];
    setup.extend(more);
    append_values(&mut ledger, record_time(0), setup);
    let statuses = ["contested", "under_negotiation"];
    let events: Vec<Value> = (1..=10)
        .map(|d| status_event(100 + d as u128, d, statuses[d as usize % 2]))
        .collect();
    append_values(&mut ledger, record_time(1), events);
    (dir, ledger)
}

/// A late report is folded into the snapshots after it; a retraction of what a
/// snapshot shows makes the query take an earlier one; as known before either, the
/// snapshots of the time serve. A tampered snapshot is found by `verify`.
#[test]
fn late_arrivals_and_retractions_read_the_same_through_snapshots() {
    let (_dir, mut ledger) = statuses_snapshotted_every_two(Vec::new());
    assert!(snapshot_keys(&ledger) >= 4, "snapshots were written");
    assert_eq!(status_at(&ledger, 8, record_time(1)), "contested");
    // A late report: day 7 was in fact `agreed`, recorded later. It changes day 7 as
    // known now; day 8 has its own status; as known before, the old snapshots serve.
    append_values(
        &mut ledger,
        record_time(2),
        vec![status_event(200, 7, "agreed")],
    );
    assert_eq!(status_at(&ledger, 7, record_time(2)), "agreed");
    assert_eq!(
        status_at(&ledger, 7, record_time(1)),
        "under_negotiation",
        "as known before, the snapshot still holds"
    );
    assert_eq!(status_at(&ledger, 8, record_time(2)), "contested");
    // Retracting day 8's status: as known now, day 9 and before fall back to the late report.
    let retraction = json!({"type": "event_retracted", "occurred_at": day(20), "target": Uuid::from_u128(108).to_string(), "reason": "wrong"});
    append_values(&mut ledger, record_time(3), vec![retraction]);
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
    let text = String::from_utf8(pactlog::block::unpack(&value).unwrap()).unwrap();
    let tampered = text.replacen("\"events\":", "\"events\":1", 1);
    assert_ne!(text, tampered);
    db.insert(key, pactlog::block::pack(tampered.as_bytes()))
        .unwrap();
    let err = pactlog::verify::verify(&ledger, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("disagrees with a replay of the log"), "{err}");
}

/// A registration's index entry holds the registering event's id, so a write finds
/// a retracted registration without reading its record; an entry of the seq alone
/// (ledgers written before) still verifies and still refuses the retracted party;
/// an entry naming another event is found by `verify`.
#[test]
fn a_registration_entry_with_or_without_its_id_refuses_a_retracted_party() {
    let (_dir, _path, mut ledger) = drafted_x();
    let b = Uuid::from_u128(77);
    append_values(
        &mut ledger,
        record_time(1),
        vec![
            json!({"type": "party_registered", "occurred_at": day(1), "party": "b", "name": "B", "id": b.to_string()}),
        ],
    );
    let b_seq = ledger.head().seq;
    append_values(
        &mut ledger,
        record_time(2),
        vec![
            json!({"type": "event_retracted", "occurred_at": day(2), "target": b.to_string(), "reason": "never a party"}),
        ],
    );
    let key =
        pactlog::index::registered_key(pactlog::event::Kind::Party, &Slug::parse("b").unwrap());
    let db = ledger.sled_for_tests().clone();
    let stored = db.get(&key).unwrap().unwrap();
    assert_eq!(&stored[..16], b.as_bytes(), "the entry holds the id");
    assert_eq!(pactlog::index::entry_seq(&stored), Some(b_seq));
    let refused = |ledger: &mut Ledger| {
        let stance = json!({"type": "position_stated", "occurred_at": day(3), "provision": "x", "party": "b", "stance": "opposes"});
        let Value::Object(object) = stance else {
            unreachable!()
        };
        let items = [Ok(Item {
            at: Location::default(),
            object,
        })];
        let mut new_id = Uuid::now_v7;
        let clock = Clock {
            now: record_time(3),
            new_id: &mut new_id,
        };
        append_all(ledger, items, clock, None)
            .unwrap_err()
            .to_string()
    };
    let err = refused(&mut ledger);
    assert!(err.contains("was retracted"), "{err}");
    // The entry as ledgers before wrote it: the seq alone.
    db.insert(&key, &b_seq.to_be_bytes()).unwrap();
    let verified = pactlog::verify::verify(&ledger, None).map_err(|e| e.to_string());
    assert!(verified.is_ok(), "{verified:?}");
    let err = refused(&mut ledger);
    assert!(err.contains("was retracted"), "{err}");
    // An entry naming another event is wrong.
    let mut wrong = Uuid::from_u128(78).as_bytes().to_vec();
    wrong.extend_from_slice(&b_seq.to_be_bytes());
    db.insert(&key, wrong).unwrap();
    let err = pactlog::verify::verify(&ledger, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("registration of party `b`") && err.contains("is wrong"),
        "{err}"
    );
}

/// The seqs of the records the stored snapshots were written at.
fn snapshot_seqs(ledger: &Ledger) -> Vec<u64> {
    let mut seqs: Vec<u64> = ledger
        .sled_for_tests()
        .scan_prefix([pactlog::index::SNAPSHOT])
        .keys()
        .map(|k| pactlog::index::seq_from(&k.unwrap()).unwrap())
        .collect();
    seqs.sort();
    seqs.dedup();
    seqs
}

/// A refresh writes a snapshot point anew only when it has something to do: a late
/// report alone (fewer than `PATCH_AFTER`) leaves the points as they are, and so does
/// a correction of another provision; a retraction of what the points show makes
/// the refresh write them again at its record, so queries at the head start there.
#[test]
fn a_refresh_rewrites_the_points_a_correction_spoils_and_only_those() {
    let y = json!({"type": "provision_drafted", "occurred_at": day(0), "provision": "y", "proposal": "p", "title": "Y", "text": "t"});
    let (_dir, mut ledger) = statuses_snapshotted_every_two(vec![y]);
    let mut y_status = status_event(300, 3, "agreed");
    y_status["provision"] = json!("y");
    append_values(&mut ledger, record_time(2), vec![y_status]);
    let written = snapshot_seqs(&ledger);
    assert!(!written.is_empty(), "snapshots were written");
    // A late report: one late entry, nothing to rewrite.
    append_values(
        &mut ledger,
        record_time(3),
        vec![status_event(200, 7, "agreed")],
    );
    assert_eq!(
        snapshot_seqs(&ledger),
        written,
        "a late report alone rewrites nothing"
    );
    // A correction of y's only status reaches no point of x.
    let retract_y = json!({"type": "event_retracted", "occurred_at": day(20), "target": Uuid::from_u128(300).to_string(), "reason": "wrong"});
    append_values(&mut ledger, record_time(4), vec![retract_y]);
    assert_eq!(
        snapshot_seqs(&ledger),
        written,
        "y has no snapshot to spoil"
    );
    // Points are at odd days (every two events from the draft). Retracting day 9's
    // status spoils the point that shows it: written again.
    assert_eq!(status_at(&ledger, 9, record_time(4)), "under_negotiation");
    let retraction = json!({"type": "event_retracted", "occurred_at": day(20), "target": Uuid::from_u128(109).to_string(), "reason": "wrong"});
    append_values(&mut ledger, record_time(5), vec![retraction]);
    let head = ledger.head().seq;
    assert!(
        snapshot_seqs(&ledger).contains(&head),
        "the spoiled points were written at the retraction: {:?}",
        snapshot_seqs(&ledger)
    );
    assert_eq!(status_at(&ledger, 9, record_time(5)), "contested");
    assert_eq!(status_at(&ledger, 9, record_time(4)), "under_negotiation");
    assert_eq!(status_at(&ledger, 10, record_time(5)), "contested");
    let verified = pactlog::verify::verify(&ledger, None).map_err(|e| e.to_string());
    assert!(verified.is_ok(), "{verified:?}");
}

/// A long history known at several records: a tampered snapshot of either record is
/// found and named with its record.
#[test]
fn verify_finds_a_tampered_snapshot_of_a_long_history_known_at_several_records() {
    let (_dir, _path, mut ledger) = drafted_x();
    let statuses = ["contested", "agreed"];
    // Four writes of 1,100 events each: snapshots at four records, a history over
    // the length that splits the check.
    for write in 0..4u32 {
        let events: Vec<Value> = (0..1100u32)
            .map(|i| {
                let n = write * 1100 + i;
                let mut e = status_event(100_000 + n as u128, 1, statuses[n as usize % 2]);
                e["occurred_at"] = json!(format!(
                    "{}T00:00:{:02}.{:06}Z",
                    day(1 + n / 1000),
                    n % 60,
                    n
                ));
                e
            })
            .collect();
        append_values(&mut ledger, record_time(1 + write), events);
    }
    let db = ledger.sled_for_tests();
    let seqs = snapshot_seqs(&ledger);
    assert!(seqs.len() >= 2, "snapshots at {seqs:?}");
    assert!(pactlog::verify::verify(&ledger, None).is_ok());
    for seq in [seqs[0], seqs[1]] {
        let (key, value) = db
            .scan_prefix([pactlog::index::SNAPSHOT])
            .map(|kv| kv.unwrap())
            .find(|(k, _)| pactlog::index::seq_from(k) == Some(seq))
            .unwrap();
        let text = String::from_utf8(pactlog::block::unpack(&value).unwrap()).unwrap();
        let tampered = text.replacen("\"events\":", "\"events\":1", 1);
        assert_ne!(text, tampered);
        db.insert(&key, pactlog::block::pack(tampered.as_bytes()))
            .unwrap();
        let err = pactlog::verify::verify(&ledger, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("disagrees with a replay of the log"),
            "record {seq}: {err}"
        );
        assert!(err.contains(&format!("(record {seq})")), "{err}");
        db.insert(&key, value).unwrap();
    }
    assert!(pactlog::verify::verify(&ledger, None).is_ok());
}

/// Late reports in the packed layout: a history's entries go to posting blocks a
/// write at a time (appended to the entity's last block), late entries are read off
/// them, and a write refused after it wrote chunks leaves the postings as they were.
/// Every answer is checked against a fold of the whole history as known then.
#[test]
fn late_reports_across_writes_and_a_refused_write_read_the_same_from_postings() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("l"), Access::Create).unwrap();
    ledger.set_snapshot_every(3);
    ledger.set_postings_staged(100);
    let setup = vec![
        json!({"type": "party_registered", "occurred_at": day(0), "party": "a", "name": "A"}),
        json!({"type": "proposal_tabled", "occurred_at": day(0), "proposal": "p", "title": "P", "parties": ["a"]}),
        json!({"type": "provision_drafted", "occurred_at": day(0), "provision": "x", "proposal": "p", "title": "X", "text": "t"}),
    ];
    append_values(&mut ledger, record_time(0), setup);
    let statuses = ["contested", "under_negotiation", "agreed"];
    // (record step, valid day, status): days 10..=20 in order, then reports of earlier days.
    let mut written: Vec<(u32, u32, &str)> = Vec::new();
    for d in 10..=20u32 {
        written.push((1, d, statuses[d as usize % 3]));
    }
    // Snapshots fall at days 11, 14 and 17: reports of those days change the state
    // there, so a snapshot used past a late report would answer wrong.
    written.extend([
        (2, 14, "contested"),
        (2, 12, "agreed"),
        (3, 5, "contested"),
        (3, 11, "under_negotiation"),
        (4, 17, "contested"),
        (4, 15, "under_negotiation"),
        (5, 20, "agreed"),
    ]);
    let mut n = 100u128;
    for step in 1..=5u32 {
        let events: Vec<Value> = written
            .iter()
            .filter(|w| w.0 == step)
            .map(|&(_, d, status)| {
                n += 1;
                status_event(n, d, status)
            })
            .collect();
        append_values(&mut ledger, record_time(step), events);
        if step == 3 {
            // A write of 1,500 late reports refused by its last item: its first chunk
            // reached sled (records, postings) and is deleted again.
            let mut items: Vec<Value> = (0..1500u128)
                .map(|i| status_event(10_000 + i, 3, "agreed"))
                .collect();
            items.push(json!({"type": "status_changed", "occurred_at": day(3), "provision": "nowhere", "status": "agreed"}));
            let refused = try_append_values(&mut ledger, record_time(3), items);
            assert!(refused.is_err());
        }
    }
    // The oracle: the last status reported for a day at or before `at`, among the
    // reports recorded by `step` (ties in record order).
    let oracle = |at: u32, step: u32| -> String {
        let mut known: Vec<(u32, usize, &str)> = written
            .iter()
            .enumerate()
            .filter(|(_, w)| w.0 <= step && w.1 <= at)
            .map(|(i, w)| (w.1, i, w.2))
            .collect();
        known.sort();
        known.last().map_or("proposed", |k| k.2).to_string()
    };
    for step in 1..=5u32 {
        for at in [4, 5, 9, 11, 12, 14, 15, 17, 19, 20, 25] {
            assert_eq!(
                status_at(&ledger, at, record_time(step)),
                oracle(at, step),
                "day {at} as known at step {step}"
            );
        }
    }
    assert!(snapshot_keys(&ledger) > 0, "snapshots were written");
    let verified = pactlog::verify::verify(&ledger, None).map_err(|e| e.to_string());
    assert!(verified.is_ok(), "{verified:?}");
    // Every snapshot has its point key, written and removed with it: a snapshot
    // without one, or a point without its snapshot, is damage that `verify` names.
    let db = ledger.sled_for_tests();
    let key = db
        .scan_prefix([pactlog::index::SNAPSHOT])
        .keys()
        .last()
        .unwrap()
        .unwrap();
    let point = pactlog::index::snapshot_twin(&key);
    assert_eq!(point[0], pactlog::index::SNAPSHOT_POINT);
    assert!(db.get(&point).unwrap().is_some(), "stored with its point");
    for gone in [&key[..], &point[..]] {
        let value = db.remove(gone).unwrap().unwrap();
        let err = pactlog::verify::verify(&ledger, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the snapshot points and the snapshots differ"),
            "{err}"
        );
        db.insert(gone, value).unwrap();
    }
    assert!(pactlog::verify::verify(&ledger, None).is_ok());
}

/// Late reports patch snapshots instead of spoiling them: a snapshot point that
/// lacks `PATCH_AFTER` late entries or more gets a new generation (the snapshots
/// written at one head) patched from its newest one; fewer are folded in by the
/// query. A point keeps its first generation, for the earliest record-time cuts, and
/// the newest ones, so storage stays bounded.
#[test]
fn late_reports_patch_snapshots_and_points_keep_their_first_and_newest_generations() {
    use pactlog::snapshot::{GENERATIONS, PATCH_AFTER};
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("l"), Access::Create).unwrap();
    ledger.set_snapshot_every(2);
    let setup = vec![
        json!({"type": "party_registered", "occurred_at": day(0), "party": "a", "name": "A"}),
        json!({"type": "proposal_tabled", "occurred_at": day(0), "proposal": "p", "title": "P", "parties": ["a"]}),
        json!({"type": "provision_drafted", "occurred_at": day(0), "provision": "x", "proposal": "p", "title": "X", "text": "t"}),
    ];
    append_values(&mut ledger, record_time(0), setup);
    let events: Vec<Value> = (1..=10)
        .map(|d| status_event(100 + d as u128, d, "contested"))
        .collect();
    append_values(&mut ledger, record_time(1), events);
    // snapshot point (its key without the seq) → the seqs of its generations
    let generations = |ledger: &Ledger| -> BTreeMap<Vec<u8>, Vec<u64>> {
        let mut points: BTreeMap<Vec<u8>, Vec<u64>> = BTreeMap::new();
        for key in ledger
            .sled_for_tests()
            .scan_prefix([pactlog::index::SNAPSHOT])
            .keys()
        {
            let key = key.unwrap();
            let seq = pactlog::index::seq_from(&key).unwrap();
            points
                .entry(key[..key.len() - 8].to_vec())
                .or_default()
                .push(seq);
        }
        points
    };
    let first = generations(&ledger);
    assert!(first.len() >= 3, "{first:?}");
    assert!(first.values().all(|seqs| seqs.len() == 1));
    let mut n = 1000;
    for step in 2..=7u32 {
        // Enough reports of day 1 (before every point) for a new generation, and new days.
        let mut events: Vec<Value> = (0..PATCH_AFTER)
            .map(|_| {
                n += 1;
                status_event(n, 1, "agreed")
            })
            .collect();
        events.extend(
            (0..3).map(|i| status_event(2000 + 10 * step as u128 + i, 10 + step, "contested")),
        );
        append_values(&mut ledger, record_time(step), events);
        let kept = generations(&ledger);
        for (point, seqs) in &first {
            assert_eq!(
                kept[point][0], seqs[0],
                "step {step}: a point keeps its first generation"
            );
            assert_eq!(
                kept[point].len(),
                (step as usize).min(GENERATIONS),
                "step {step}"
            );
        }
        assert!(kept.values().all(|seqs| seqs.len() <= GENERATIONS));
        // As known at step 1, day 1 is still contested; as known now, agreed.
        assert_eq!(status_at(&ledger, 1, record_time(1)), "contested");
        assert_eq!(status_at(&ledger, 1, record_time(step)), "agreed");
        assert_eq!(status_at(&ledger, 5, record_time(step)), "contested");
    }
    // One late report writes no generation: the query folds it into the newest one.
    let before = generations(&ledger);
    append_values(
        &mut ledger,
        record_time(8),
        vec![status_event(n + 1, 1, "rejected")],
    );
    assert_eq!(generations(&ledger), before);
    assert_eq!(status_at(&ledger, 1, record_time(8)), "rejected");
    assert_eq!(status_at(&ledger, 1, record_time(7)), "agreed");
    let verified = pactlog::verify::verify(&ledger, None).map_err(|e| e.to_string());
    assert!(verified.is_ok(), "{verified:?}");
}

/// Found by a fresh tester: a kill after a large import's commit, during its snapshot
/// refresh, left its snapshots unwritten for good (answers right, but slow). The
/// commit marks the refresh as owed and the next open finishes it.
#[test]
fn a_snapshot_refresh_cut_short_is_finished_by_the_next_open() {
    let (_dir, path, mut ledger) = drafted_x();
    let statuses = ["contested", "agreed"];
    let events: Vec<Value> = (0..700u32)
        .map(|i| {
            let mut e = status_event(10_000 + i as u128, 1 + i / 30, statuses[i as usize % 2]);
            e["occurred_at"] = json!(format!(
                "{}T{:02}:{:02}:00Z",
                day(1 + i / 30),
                i % 24,
                i % 60
            ));
            e
        })
        .collect();
    append_values(&mut ledger, record_time(1), events);
    let written = snapshot_keys(&ledger);
    assert!(written >= 2, "{written}");
    let pending = b"Mrefresh";
    assert!(
        ledger.sled_for_tests().get(pending).unwrap().is_none(),
        "done after the write"
    );
    let answer = status_at(&ledger, 20, record_time(1));
    // What a kill during the refresh leaves: the commit's mark, and no new snapshot.
    let db = ledger.sled_for_tests();
    for tag in [pactlog::index::SNAPSHOT, pactlog::index::SNAPSHOT_POINT] {
        for key in db.scan_prefix([tag]).keys() {
            db.remove(key.unwrap()).unwrap();
        }
    }
    db.insert(pending, &3u64.to_be_bytes()).unwrap();
    db.flush().unwrap();
    drop(ledger);
    let ledger = Ledger::open(&path, Access::Existing).unwrap();
    assert!(
        ledger
            .recovery_notes()
            .iter()
            .any(|n| n.starts_with("finished the projection snapshots of the last write")),
        "{:?}",
        ledger.recovery_notes()
    );
    assert_eq!(snapshot_keys(&ledger), written);
    assert!(ledger.sled_for_tests().get(pending).unwrap().is_none());
    assert_eq!(status_at(&ledger, 20, record_time(1)), answer);
    let verified = pactlog::verify::verify(&ledger, None).map_err(|e| e.to_string());
    assert!(verified.is_ok(), "{verified:?}");
    // Nothing owed: the next open says nothing of snapshots.
    drop(ledger);
    let ledger = Ledger::open(&path, Access::Existing).unwrap();
    assert!(
        ledger.recovery_notes().is_empty(),
        "{:?}",
        ledger.recovery_notes()
    );
    // sled rebuilt from the journal writes its snapshots once, in this version's
    // format: the open does not find them of another and write them again.
    drop(ledger);
    std::fs::remove_dir_all(path.join("sled")).unwrap();
    let ledger = Ledger::open(&path, Access::Existing).unwrap();
    assert_eq!(ledger.recovery_notes(), ["rebuilt sled from the journal"]);
    assert_eq!(snapshot_keys(&ledger), written);
    assert_eq!(status_at(&ledger, 20, record_time(1)), answer);
}

#[test]
fn an_import_that_dies_between_chunks_leaves_nothing_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l");
    let mut ledger = Ledger::open(&path, Access::Create).unwrap();
    let setup =
        vec![json!({"type": "party_registered", "occurred_at": day(0), "party": "a", "name": "A"})];
    append_values(&mut ledger, record_time(0), setup);
    let head = ledger.head().clone();
    // Records and their index entries go in chunks of 1,000; the input dies (a panic
    // unwinding out of the items' iterator) after two chunks were written, before the
    // head moved.
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
    // The staging thread saw its input stop without an end and discarded the chunks
    // it had written; a process killed there leaves them for the next open (the
    // crash test kills imports at random points).
    assert!(
        ledger.stored_record_for_tests(2).is_none(),
        "the dead import's chunks were discarded"
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
        ledger.stored_record_for_tests(2).is_none(),
        "its records were deleted"
    );
    assert_eq!(ledger.seq_of(&Uuid::from_u128(10_000)).unwrap(), None);
    let verified = pactlog::verify::verify(&ledger, None).map_err(|e| e.to_string());
    assert!(verified.is_ok(), "{verified:?}");
}

/// Found by the oracle (fixed: `query::outside_removers`): `history` (and the
/// timeline's markers) flagged removals only with removers found in the provision's
/// own history. A correction of an event about
/// `x` is in `x`'s history; when that correction is itself superseded by an event about
/// `y` only, the superseding event is in `y`'s history, not `x`'s, so `history x` shows
/// the correction as `retracted: false` although it no longer counts (docs/commands.md: history
/// shows "whether it was retracted or superseded and by which event").
#[test]
fn a_corrected_correction_is_flagged_in_every_history_it_is_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("l"), Access::Create).unwrap();
    let id = |n: u128| Uuid::from_u128(n).to_string();
    let events = vec![
        json!({"type": "party_registered", "occurred_at": day(0), "party": "a", "name": "A"}),
        json!({"type": "proposal_tabled", "occurred_at": day(0), "proposal": "p", "title": "P", "parties": ["a"]}),
        json!({"type": "provision_drafted", "occurred_at": day(0), "provision": "x", "proposal": "p", "title": "X", "text": "t"}),
        json!({"type": "provision_drafted", "occurred_at": day(0), "provision": "y", "proposal": "p", "title": "Y", "text": "t"}),
        json!({"id": id(1), "type": "statement_made", "occurred_at": day(1), "provisions": ["x"], "attribution": "a", "quote": "on x"}),
        // A correction of that statement that is about y (the reporter filed it wrongly)…
        json!({"id": id(2), "type": "statement_made", "occurred_at": day(1), "provisions": ["y"], "attribution": "a", "quote": "on y", "supersedes": id(1)}),
        // …itself corrected by another statement about y.
        json!({"id": id(3), "type": "statement_made", "occurred_at": day(1), "provisions": ["y"], "attribution": "b", "quote": "on y", "supersedes": id(2)}),
    ];
    append_values(&mut ledger, record_time(0), events);
    let x = Slug::parse("x").unwrap();
    let history = query::history(&ledger, &x, None, KnownCut::at(record_time(1)).lib()).unwrap();
    let flags: Vec<(u64, Option<u64>)> = history
        .iter()
        .map(|h| (h.record.seq, h.removed_by.map(|(_, seq)| seq)))
        .collect();
    // seq 5 (the statement on x) removed by 6; seq 6 (in x's history as its correction)
    // removed by 7.
    assert_eq!(flags, vec![(3, None), (5, Some(6)), (6, Some(7))]);
}

// ---------------------------------------------------------------------------------
// Citations (docs/format.md §2): a `source_cited` adds its sources to its target from
// its own record time; `--min-grade` judges an event by its own sources and those of
// the citations of it known at the record-time cut.

const GRADES: [Option<&str>; 6] = [
    None,
    Some("A1"),
    Some("B2"),
    Some("C3"),
    Some("E5"),
    Some("A5"),
];

/// Whether `grade` is at least `min` (a letter no later, a digit no higher).
fn meets(grade: Option<&str>, min: &str) -> bool {
    grade.is_some_and(|g| {
        g.as_bytes()[0] <= min.as_bytes()[0] && g.as_bytes()[1] <= min.as_bytes()[1]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    /// The status and the timeline's markers of a provision under `--min-grade`, as
    /// known at each record time, equal an oracle that counts an event when its own
    /// grade or a grade cited for it by then is good enough.
    #[test]
    fn citations_count_from_their_own_record_time(
        draft_grade in 0..6usize,
        statuses in prop::collection::vec((0..6usize, 0..8usize), 1..6),
        cites in prop::collection::vec((any::<Index>(), 0..6usize, 0..3u32), 0..6),
        min in prop::sample::select(vec!["A1", "B2", "C3", "E5"]),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(&dir.path().join("l"), Access::Create).unwrap();
        let graded = |mut v: Value, g: usize| {
            if let Some(g) = GRADES[g] {
                v["sources"] = json!([{"outlet": "Wire", "grade": g}]);
            }
            v
        };
        let draft = Uuid::from_u128(1);
        let mut setup = vec![
            json!({"type": "party_registered", "occurred_at": day(0), "party": "a", "name": "A"}),
            json!({"type": "proposal_tabled", "occurred_at": day(0), "proposal": "p", "title": "P", "parties": ["a"]}),
            graded(json!({"type": "provision_drafted", "occurred_at": day(0), "provision": "x", "proposal": "p", "title": "X", "text": "t", "id": draft.to_string()}), draft_grade),
        ];
        // (id, day, own grade, status)
        let mut events: Vec<(Uuid, u32, Option<&str>, &str)> = vec![(draft, 0, GRADES[draft_grade], "proposed")];
        for (k, (g, s)) in statuses.iter().enumerate() {
            let id = Uuid::from_u128(10 + k as u128);
            let d = k as u32 + 1;
            setup.push(graded(status_event(10 + k as u128, d, STATUSES[*s]), *g));
            events.push((id, d, GRADES[*g], STATUSES[*s]));
        }
        append_values(&mut ledger, record_time(0), setup);
        // Each citation in its own batch, one hour apart: (target, grade, recorded).
        let mut cited: Vec<(Uuid, Option<&str>, T)> = Vec::new();
        for (step, (target, g, _)) in cites.iter().enumerate() {
            let (id, d, _, _) = *target.get(&events);
            let now = record_time(step as u32 + 1);
            let mut v = json!({"type": "source_cited", "occurred_at": day(d), "target": id.to_string()});
            v["sources"] = json!([{"outlet": "Later", "grade": GRADES[*g].unwrap_or("F6")}]);
            append_values(&mut ledger, now, vec![v]);
            cited.push((id, Some(GRADES[*g].unwrap_or("F6")), now));
        }
        for step in 0..=cites.len() as u32 {
            let known = record_time(step);
            let admitted = |id: Uuid, own: Option<&str>| {
                meets(own, min)
                    || cited.iter().any(|(t, g, at)| *t == id && *at <= known && meets(*g, min))
            };
            let kept: Vec<&(Uuid, u32, Option<&str>, &str)> =
                events.iter().filter(|(id, _, g, _)| admitted(*id, *g)).collect();
            let mut cut = KnownCut::at(known).cut(far());
            cut.filter = Flt { min_grade: Some(min), reported_only: false }.lib();
            let got = query::provision_state(&ledger, &slug("x"), &cut);
            let ctx = format!("known at step {step}, min {min}: kept {kept:?}, cited {cited:?}");
            if !kept.iter().any(|e| e.0 == draft) {
                prop_assert!(is_not_found(&got), "{ctx}: {got:?}");
                continue;
            }
            let want = kept.iter().rev().find(|e| e.0 != draft).map_or("proposed", |e| e.3);
            prop_assert_eq!(got.unwrap().state.status.to_string(), want, "{}", &ctx);
            // The timeline: the kept events' markers, and every citation known by then
            // (a citation always counts) as a marker of its own.
            let line = timeline::timeline(&ledger, &[], &cut).unwrap();
            let mut markers: Vec<Uuid> = line.provisions[0].markers.iter().map(|m| m.event.id).collect();
            markers.retain(|id| events.iter().any(|e| e.0 == *id));
            let want: Vec<Uuid> = kept.iter().map(|e| e.0).collect();
            prop_assert_eq!(markers, want, "{}", &ctx);
            let n_cites = line.provisions[0].markers.len() - kept.len();
            prop_assert_eq!(n_cites, cited.iter().filter(|c| c.2 <= known).count(), "{}", &ctx);
        }
    }
}

/// A change made to one stored snapshot: (sled, its key, its value).
type SnapshotChange = dyn Fn(&sled::Db, &[u8], &[u8]);

/// Found by a fresh tester: a snapshot changed inside sled that still decodes made
/// `verify` fail with nothing said of what to do; a snapshot deleted beside its point
/// key stopped `state`, and `verify` named another provision's key, in raw bytes.
/// Snapshots are sled's copy of what the log says: `verify` names the damaged one by
/// provision, valid time and record, sets sled aside, rebuilds it from the journal and
/// checks the rebuilt ledger; `state` meeting a missing snapshot does the same.
#[test]
fn a_wrong_or_missing_snapshot_is_named_and_sled_rebuilt_from_the_journal() {
    let cli = crate::common::TestLedger::new();
    {
        let mut ledger = Ledger::open(&cli.db, Access::Create).unwrap();
        ledger.set_snapshot_every(2);
        append_values(
            &mut ledger,
            record_time(0),
            vec![
                json!({"type": "party_registered", "occurred_at": day(0), "party": "a", "name": "A"}),
                json!({"type": "proposal_tabled", "occurred_at": day(0), "proposal": "p", "title": "P", "parties": ["a"]}),
                json!({"type": "provision_drafted", "occurred_at": day(0), "provision": "x", "proposal": "p", "title": "X", "text": "t"}),
                json!({"type": "provision_drafted", "occurred_at": day(0), "provision": "y", "proposal": "p", "title": "Y", "text": "t"}),
            ],
        );
        let statuses = ["contested", "under_negotiation"];
        let mut events: Vec<Value> = (1..=10)
            .map(|d| status_event(100 + d as u128, d, statuses[d as usize % 2]))
            .collect();
        for d in 1..=10u32 {
            let mut e = status_event(200 + d as u128, d, statuses[(d as usize + 1) % 2]);
            e["provision"] = json!("y");
            events.push(e);
        }
        append_values(&mut ledger, record_time(1), events);
    }
    let at = pactlog::time::format(&(day0() + Duration::days(10)));
    let state = cli.ok(&["state", "x", "--json", "--at", &at]);
    let export = cli.export();
    // The snapshots of `x` in sled: (key, value), in key order. A rebuilt sled holds
    // snapshots every 256 events: they are written again every two.
    let snapshots_of_x = || {
        let mut ledger = Ledger::open(&cli.db, Access::Existing).unwrap();
        ledger.set_snapshot_every(2);
        pactlog::snapshot::rebuild_all(&ledger).unwrap();
        let found: Vec<_> = ledger
            .sled_for_tests()
            .scan_prefix(b"Sx\0")
            .map(|kv| kv.unwrap())
            .collect();
        assert!(found.len() >= 2, "snapshots of x: {}", found.len());
        (ledger, found)
    };
    let change = |what: &SnapshotChange| {
        let (ledger, found) = snapshots_of_x();
        let (key, value) = found.last().unwrap();
        what(ledger.sled_for_tests(), key, value);
        ledger.sled_for_tests().flush().unwrap();
    };
    let rebuilt = |run: &crate::common::Run, said: &[&str], n: u32| {
        assert_eq!(run.code, 0, "{}", run.stderr);
        for words in said {
            assert!(run.stderr.contains(words), "{}", run.stderr);
        }
        assert!(
            run.stderr.contains(&format!(
                "sled.damaged.{n}; rebuilding sled from the journal"
            )),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("\\u{"), "{}", run.stderr);
        assert!(cli.db.join(format!("sled.damaged.{n}")).is_dir());
        assert_eq!(cli.ok(&["state", "x", "--json", "--at", &at]), state);
        assert_eq!(cli.export(), export);
        let again = cli.run(&["verify"]);
        assert_eq!((again.code, again.stderr.as_str()), (0, ""));
    };
    // A snapshot that decodes but says something else than the log.
    change(&|db, key, value| {
        let text = String::from_utf8(pactlog::block::unpack(value).unwrap()).unwrap();
        let tampered = text.replacen("\"events\":", "\"events\":7", 1);
        assert_ne!(text, tampered);
        db.insert(key, pactlog::block::pack(tampered.as_bytes()))
            .unwrap();
    });
    let run = cli.run(&["verify"]);
    let said = [
        "the snapshot of `x` at ",
        "disagrees with a replay of the log",
    ];
    rebuilt(&run, &said, 1);
    // A snapshot gone, its point key left: `verify` names that snapshot.
    let remove: &SnapshotChange = &|db, key, _| {
        db.remove(key).unwrap();
    };
    change(remove);
    let run = cli.run(&["verify"]);
    rebuilt(
        &run,
        &["the snapshot of `x` at ", "has a point key but no snapshot"],
        2,
    );
    // The same met by a query.
    change(remove);
    let run = cli.run(&["state", "x", "--json", "--at", &at]);
    assert_eq!(run.stdout, state);
    rebuilt(&run, &["is missing; its point is stored"], 3);
}

/// The posting blocks of provision `x`, in key order: (first seq in the key, entries).
fn postings_of_x(ledger: &Ledger) -> Vec<(u64, Vec<(T, u64)>)> {
    let x = Slug::parse("x").unwrap();
    let prefix = pactlog::index::postings_prefix(pactlog::event::Kind::Provision, &x);
    ledger
        .sled_for_tests()
        .scan_prefix(prefix)
        .map(|kv| {
            let (key, value) = kv.unwrap();
            let first = pactlog::index::seq_from(&key).unwrap();
            (first, pactlog::block::postings(&value).unwrap())
        })
        .collect()
}

/// One write of more history entries for a provision than a posting block holds
/// fills the entity's last block, then new blocks in turn, none past the size (one
/// block of them all was rewritten whole by every later write); a write refused
/// after it wrote chunks leaves the blocks exactly as they were.
#[test]
fn a_long_history_in_one_write_fills_posting_blocks_in_turn() {
    let (_dir, _path, mut ledger) = drafted_x();
    ledger.set_postings_per_block(4);
    ledger.set_postings_staged(5);
    let statuses = ["contested", "under_negotiation", "agreed"];
    let status = |n: usize| json!({"type": "status_changed", "occurred_at": day(1 + n as u32 % 40), "provision": "x", "status": statuses[n % 3]});
    append_values(&mut ledger, record_time(1), (0..11).map(status).collect());
    let blocks = postings_of_x(&ledger);
    assert!(blocks.len() >= 3, "{blocks:?}");
    let seqs: Vec<u64> = blocks
        .iter()
        .flat_map(|(_, p)| p.iter().map(|e| e.1))
        .collect();
    let mut in_order = seqs.clone();
    in_order.sort_unstable();
    assert_eq!(seqs, in_order, "entries in seq order across blocks");
    assert_eq!(seqs.len(), 12, "the draft and 11 statuses");
    for (first, postings) in &blocks {
        assert!(!postings.is_empty() && postings.len() <= 4, "{blocks:?}");
        assert_eq!(*first, postings[0].1, "a block is keyed by its first entry");
    }
    assert_eq!(status_at(&ledger, 40, record_time(1)), statuses[10 % 3]);

    // A write refused after its first chunk (1,000 records) was written to sled.
    let mut refused: Vec<Value> = (0..1_200).map(status).collect();
    refused.push(json!({"type": "status_changed", "occurred_at": day(3), "provision": "nope", "status": "agreed"}));
    assert!(try_append_values(&mut ledger, record_time(2), refused).is_err());
    assert_eq!(postings_of_x(&ledger), blocks);
    assert_eq!(status_at(&ledger, 40, record_time(2)), statuses[10 % 3]);
}
