//! The audit views: `blame`, `diff` and `compare`. Each is a view on provision
//! states that names, for every field, the event behind it: when it happened, when
//! it was recorded, who, and on which source.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::event::{Kind, Slug};
use crate::projection::ProvisionState;
use crate::provenance::{citations, Citations, EventRef};
use crate::query::{self, Cut, Known, StateAt};
use crate::store::Ledger;
use crate::time::{serde_instant, Instant};

/// One field of a provision's state and the event that set it.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// `title`, `status`, `text/PROPOSAL`, `stance/PARTY`, `meeting/MEETING`, `statement/ID`.
    pub name: String,
    pub value: Value,
    pub event: Uuid,
}

/// The fields of a state, in a stable order.
pub fn fields(state: &ProvisionState) -> Vec<Field> {
    let mut out = vec![
        Field {
            name: "title".into(),
            value: json!(state.title),
            event: state.title_event,
        },
        Field {
            name: "status".into(),
            value: json!(state.status),
            event: state.status_event,
        },
    ];
    for text in &state.texts {
        let mut value = json!({ "text": text.text, "dropped": text.dropped });
        if let Some(parameters) = &text.parameters {
            value["parameters"] = json!(parameters);
        }
        out.push(Field {
            name: format!("text/{}", text.proposal),
            value,
            event: text.event,
        });
    }
    for position in &state.positions {
        out.push(Field {
            name: format!("stance/{}", position.party),
            value: json!({ "stance": position.stance, "summary": position.summary }),
            event: position.event,
        });
    }
    for (meeting, event) in state.meetings.iter().zip(&state.meeting_events) {
        out.push(Field {
            name: format!("meeting/{meeting}"),
            value: json!(meeting),
            event: *event,
        });
    }
    for statement in &state.statements {
        out.push(Field {
            name: format!("statement/{}", statement.event),
            value: json!({ "quote": statement.quote, "actor": statement.actor, "attribution": statement.attribution }),
            event: statement.event,
        });
    }
    out
}

/// Looks up the record of an event id and cites it, with the citations of it in `citations`.
pub fn cite(ledger: &Ledger, id: &Uuid, citations: &Citations) -> Result<EventRef> {
    let seq = ledger.seq_of(id)?.ok_or_else(|| {
        Error::Integrity(format!(
            "a state names event {id}, which is not in the ledger"
        ))
    })?;
    let record = ledger
        .record(seq)?
        .ok_or_else(|| Error::SledDamaged(format!("its record {seq} is missing")))?;
    Ok(EventRef::new(&record, citations))
}

/// Every event that set a field of a state (its title, status, texts and stances),
/// each cited with its sources, basis and note (docs/format.md §2,
/// Sources): what `state --json` gives as `provenance`, keyed by id. With
/// `with_citations`, each also carries the citations of it known at the state's cut;
/// finding them reads the provision's whole history, so `state` asks for them only
/// under a `--min-grade` or `--reported-only` cut, which folds that history anyway
/// (and where citations decide what counts); `blame` always lists them.
pub fn events_of(
    ledger: &Ledger,
    state: &StateAt,
    with_citations: bool,
) -> Result<BTreeMap<Uuid, EventRef>> {
    let citations = if !with_citations {
        Citations::default()
    } else {
        let known = Known {
            at: state.known_at,
            seq: state.known_seq,
        };
        citations_of(ledger, &state.provision, known)?
    };
    let mut out = BTreeMap::new();
    // The fields a state sets; its meetings and latest statements are listed for
    // context and `blame` cites them (reading each would cost a block apiece).
    let set = fields(&state.state)
        .into_iter()
        .filter(|f| !f.name.starts_with("statement/") && !f.name.starts_with("meeting/"));
    for field in set {
        if let std::collections::btree_map::Entry::Vacant(slot) = out.entry(field.event) {
            slot.insert(cite(ledger, &field.event, &citations)?);
        }
    }
    Ok(out)
}

/// The citations of the events in a provision's history, as known at `known`.
pub fn citations_of(ledger: &Ledger, provision: &Slug, known: Known) -> Result<Citations> {
    let records = query::history_records(ledger, Kind::Provision, provision)?;
    let outside = query::outside_removers(ledger, &records)?;
    let removed = query::removals(&records, &outside, known);
    Ok(citations(&records, &removed, known))
}

/// `blame`: every field of the state and the event that set it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Blame {
    pub provision: Slug,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub at: Instant,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub known_at: Instant,
    /// For a `seq:N` cut: N.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_seq: Option<u64>,
    pub fields: Vec<BlameLine>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlameLine {
    pub field: String,
    pub value: Value,
    pub event: EventRef,
    /// When reports on different sources disagree about this field on its day: every side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<crate::projection::Conflict>,
}

pub fn blame(ledger: &Ledger, provision: &Slug, cut: &Cut) -> Result<Blame> {
    let state = query::provision_state(ledger, provision, cut)?;
    let citations = citations_of(ledger, provision, cut.known())?;
    let fields = fields(&state.state)
        .into_iter()
        .map(|f| {
            Ok(BlameLine {
                conflict: state
                    .state
                    .conflicts
                    .iter()
                    .find(|c| c.field == f.name)
                    .cloned(),
                event: cite(ledger, &f.event, &citations)?,
                field: f.name,
                value: f.value,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Blame {
        provision: provision.clone(),
        at: cut.at,
        known_at: cut.known_at,
        known_seq: cut.known_seq,
        fields,
    })
}

/// `diff`: what changed about a provision between two cuts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diff {
    pub provision: Slug,
    pub from: CutJson,
    pub to: CutJson,
    pub changes: Vec<Change>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CutJson {
    #[serde(serialize_with = "serde_instant::serialize")]
    pub at: Instant,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub known_at: Instant,
    /// For a `seq:N` cut: N.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_seq: Option<u64>,
}

impl From<&Cut> for CutJson {
    fn from(cut: &Cut) -> CutJson {
        CutJson {
            at: cut.at,
            known_at: cut.known_at,
            known_seq: cut.known_seq,
        }
    }
}

/// One changed field. `event` is what made the change: the event that set the new
/// value, or, for a value that went away, the retraction or correction that removed
/// the event behind it (none when it went away because the cut moved back in time).
///
/// When an event that supersedes another took the place of what it corrects, the
/// removal and the addition are one change, `corrected`: `replaces` names the field
/// it took the place of (when its name differs) and `fields` says what changed in
/// the value, member by member (`actor: marco-rubio -> none`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub change: &'static str,
    pub from: Option<Value>,
    pub to: Option<Value>,
    pub event: Option<EventRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<MemberChange>,
}

/// One member of a corrected value that differs (`null` where it is absent).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemberChange {
    pub member: String,
    pub from: Value,
    pub to: Value,
}

/// The members of two values that differ: by key for objects (nested objects such
/// as a text's `parameters` member by member, `parameters.troop_cap`), whole otherwise.
fn member_changes(from: &Value, to: &Value) -> Vec<MemberChange> {
    fn walk(prefix: &str, from: &Value, to: &Value, out: &mut Vec<MemberChange>) {
        let nested = !prefix.is_empty() || from.is_object() && to.is_object();
        let either_object = from.is_object() || to.is_object();
        let both_objects_or_null =
            (from.is_object() || from.is_null()) && (to.is_object() || to.is_null());
        match (from, to) {
            _ if nested && either_object && both_objects_or_null => {
                let empty = serde_json::Map::new();
                let (a, b) = (
                    from.as_object().unwrap_or(&empty),
                    to.as_object().unwrap_or(&empty),
                );
                let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for key in keys {
                    let (x, y) = (
                        a.get(key).unwrap_or(&Value::Null),
                        b.get(key).unwrap_or(&Value::Null),
                    );
                    if x != y {
                        let member = if prefix.is_empty() {
                            key.clone()
                        } else {
                            format!("{prefix}.{key}")
                        };
                        walk(&member, x, y, out);
                    }
                }
            }
            _ => out.push(MemberChange {
                member: prefix.to_string(),
                from: from.clone(),
                to: to.clone(),
            }),
        }
    }
    let mut out = Vec::new();
    walk("", from, to, &mut out);
    out
}

/// Joins each removal whose remover supersedes the removed event with the change the
/// same remover made (the superseding event's own field): one `corrected` change.
fn join_corrections(ledger: &Ledger, changes: Vec<(Change, Option<Uuid>)>) -> Result<Vec<Change>> {
    // The same kind of fact (a status for a status, a statement for a statement):
    // `status`, `text/…`, `stance/…`, `meeting/…`, `statement/…`.
    let kind = |field: &str| field.split('/').next().unwrap_or("").to_string();
    // The removed fields' own events, by the superseding event that removed them and
    // the kind of field (a statement's correction also removes the meeting it named).
    let mut superseded: BTreeMap<(Uuid, String), usize> = BTreeMap::new();
    for (i, (change, own)) in changes.iter().enumerate() {
        let (Some(by), Some(own)) = (change.event.as_ref().map(|c| c.id), own) else {
            continue;
        };
        if change.change != "removed" {
            continue;
        }
        let supersedes = match ledger.seq_of(&by)? {
            Some(seq) => ledger.event_at(seq)?.1.supersedes == Some(*own),
            None => false,
        };
        if supersedes {
            superseded.entry((by, kind(&change.field))).or_insert(i);
        }
    }
    // Each addition made by a superseding event, with the removal it takes the place of.
    let mut pairs: BTreeMap<usize, usize> = BTreeMap::new();
    let mut used = std::collections::BTreeSet::new();
    for (i, (change, _)) in changes.iter().enumerate() {
        let removal = change
            .event
            .as_ref()
            .and_then(|c| superseded.get(&(c.id, kind(&change.field))))
            .copied();
        if let ("added" | "changed", Some(r)) = (change.change, removal) {
            if used.insert(r) {
                pairs.insert(i, r);
            }
        }
    }
    let mut result = Vec::new();
    for (i, (change, _)) in changes.iter().enumerate() {
        if used.contains(&i) {
            continue;
        }
        let Some(&r) = pairs.get(&i) else {
            result.push(change.clone());
            continue;
        };
        let removed = &changes[r].0;
        let from = removed.from.clone().unwrap_or(Value::Null);
        let to = change.to.clone().unwrap_or(Value::Null);
        result.push(Change {
            field: change.field.clone(),
            change: "corrected",
            fields: member_changes(&from, &to),
            from: Some(from),
            to: Some(to),
            event: change.event.clone(),
            replaces: (removed.field != change.field).then(|| removed.field.clone()),
        });
    }
    Ok(result)
}

/// A provision's state at a cut, or none when it has no counted draft there.
fn state_or_none(ledger: &Ledger, provision: &Slug, cut: &Cut) -> Result<Option<StateAt>> {
    match query::provision_state(ledger, provision, cut) {
        Ok(state) => Ok(Some(state)),
        Err(Error::NotFound(_)) if ledger.registered(Kind::Provision, provision)?.is_some() => {
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

pub fn diff(ledger: &Ledger, provision: &Slug, from: &Cut, to: &Cut) -> Result<Diff> {
    let before = state_or_none(ledger, provision, from)?;
    let after = state_or_none(ledger, provision, to)?;
    if before.is_none() && after.is_none() {
        return Err(Error::NotFound(format!(
            "provision `{provision}` has no counted draft at either cut"
        )));
    }
    let as_map = |s: &Option<StateAt>| -> BTreeMap<String, Field> {
        s.as_ref()
            .map(|s| {
                fields(&s.state)
                    .into_iter()
                    .map(|f| (f.name.clone(), f))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (before, after) = (as_map(&before), as_map(&after));
    let citations = citations_of(ledger, provision, to.known())?;
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort_by_key(|n| field_order(n));
    names.dedup();
    let mut changes = Vec::new();
    for name in names {
        let (old, new) = (before.get(name), after.get(name));
        if old.map(|f| &f.value) == new.map(|f| &f.value) {
            continue;
        }
        let (change, event) = match (old, new) {
            (_, Some(new)) => (
                if old.is_some() { "changed" } else { "added" },
                Some(new.event),
            ),
            (Some(old), None) => {
                let remover = match ledger.removed_by(&old.event)? {
                    Some(seq) => ledger
                        .record(seq)?
                        .filter(|r| to.known().knows(r))
                        .map(|r| r.event.id),
                    None => None,
                };
                ("removed", remover)
            }
            (None, None) => unreachable!("a name comes from one side"),
        };
        // A text whose parameters changed says what changed, member by member
        // (`parameters.troop_cap: 600000 -> 800000`).
        let fields = match (old, new) {
            (Some(old), Some(new))
                if old.value.get("parameters").is_some()
                    || new.value.get("parameters").is_some() =>
            {
                member_changes(&old.value, &new.value)
            }
            _ => Vec::new(),
        };
        changes.push((
            Change {
                field: name.clone(),
                change,
                from: old.map(|f| f.value.clone()),
                to: new.map(|f| f.value.clone()),
                event: event.map(|id| cite(ledger, &id, &citations)).transpose()?,
                replaces: None,
                fields,
            },
            old.map(|f| f.event),
        ));
    }
    Ok(Diff {
        provision: provision.clone(),
        from: from.into(),
        to: to.into(),
        changes: join_corrections(ledger, changes)?,
    })
}

/// Fields sort as a state reads: title, status, texts, stances, meetings, statements.
fn field_order(name: &str) -> (usize, String) {
    let rank = [
        "title",
        "status",
        "text/",
        "stance/",
        "meeting/",
        "statement/",
    ]
    .iter()
    .position(|p| name.starts_with(p))
    .unwrap_or(usize::MAX);
    (rank, name.to_string())
}

/// `compare`: two proposals' texts side by side, provision by provision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub left: Slug,
    pub right: Slug,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub at: Instant,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub known_at: Instant,
    /// For a `seq:N` cut: N.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_seq: Option<u64>,
    pub provisions: Vec<ComparedProvision>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparedProvision {
    pub provision: Slug,
    pub title: String,
    pub status: crate::event::Status,
    /// The provision's text in the left proposal, or null when that proposal has none.
    pub left: Option<crate::projection::Text>,
    pub right: Option<crate::projection::Text>,
    pub positions: Vec<crate::projection::Position>,
}

pub fn compare(ledger: &Ledger, left: &Slug, right: &Slug, cut: &Cut) -> Result<Comparison> {
    for proposal in [left, right] {
        if ledger.registered(Kind::Proposal, proposal)?.is_none() {
            return Err(query::unknown(ledger, Kind::Proposal, proposal)?);
        }
    }
    let text_in = |s: &ProvisionState, p: &Slug| s.texts.iter().find(|t| &t.proposal == p).cloned();
    let provisions = query::all_states(ledger, cut)?
        .into_iter()
        .filter_map(|s| {
            let (l, r) = (text_in(&s.state, left), text_in(&s.state, right));
            (l.is_some() || r.is_some()).then(|| ComparedProvision {
                provision: s.state.provision.clone(),
                title: s.state.title.clone(),
                status: s.state.status,
                left: l,
                right: r,
                positions: s.state.positions.clone(),
            })
        })
        .collect();
    Ok(Comparison {
        left: left.clone(),
        right: right.clone(),
        at: cut.at,
        known_at: cut.known_at,
        known_seq: cut.known_seq,
        provisions,
    })
}
