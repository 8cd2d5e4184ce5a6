//! Pure folds: the state of provisions from the events that count.
//!
//! [`Projection::apply`] takes counted events in valid-time order (ties in record
//! order) and can neither fail nor do I/O; deciding which events count at a cut is
//! [`crate::query`]'s job. Every field of a state names the event that set it, so
//! `blame` and `diff` can say who and on which source.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::{Body, Event, Parameters, Slug, Source, Stance, Status};
use crate::time::{serde_instant, Instant};

/// A provision's state at a cut.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProvisionState {
    /// Serialized by [`crate::query::StateAt`], which puts the cut beside it.
    #[serde(skip_serializing)]
    pub provision: Slug,
    #[serde(skip_serializing)]
    pub title: String,
    /// The draft that named the provision (its first counted `provision_drafted`).
    #[serde(skip)]
    pub title_event: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub status: Status,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub status_since: Instant,
    /// The `status_changed` that set the status, or the first draft while it is `proposed`.
    pub status_event: Uuid,
    pub texts: Vec<Text>,
    pub positions: Vec<Position>,
    pub meetings: Vec<Slug>,
    /// The event that first tied each meeting to the provision (parallel to `meetings`).
    #[serde(skip)]
    pub meeting_events: Vec<Uuid>,
    /// The latest statements that mention it (at most [`STATEMENTS_KEPT`]).
    pub statements: Vec<Statement>,
    /// How many counted statements mention it.
    pub n_statements: u64,
    /// Counted events about this provision.
    pub events: u64,
    pub last_event: Uuid,
    /// Fields that two counted events set for the same valid day to different values
    /// on different sources: shown, not settled by record order (the field itself
    /// holds the later record's value). A later-dated event, or a correction of one
    /// side, resolves it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

/// Reports that disagree about one field on one valid day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// `status`, `stance/PARTY` or `text/PROPOSAL`.
    pub field: String,
    /// The valid day (its start) both sides are dated.
    #[serde(serialize_with = "serde_instant::serialize")]
    pub day: Instant,
    pub sides: Vec<Side>,
}

/// One event's value for a field on a day, and its own sources (with their grades).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub event: Uuid,
    pub value: serde_json::Value,
    pub sources: Vec<Source>,
}

/// A provision's text in one proposal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Text {
    pub proposal: Slug,
    pub text: String,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub since: Instant,
    pub dropped: bool,
    pub event: Uuid,
    /// Structured values of the text, when its draft or amendment gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
}

/// A party's latest stance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub party: Slug,
    pub stance: Stance,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub since: Instant,
    pub event: Uuid,
}

/// A statement that mentions the provision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    pub event: Uuid,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub occurred_at: Instant,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<Slug>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    pub quote: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meeting: Option<Slug>,
}

/// How many of the latest statements a state lists (`n_statements` counts them all;
/// `history` lists every one). Keeps states and snapshots small for busy provisions.
pub const STATEMENTS_KEPT: usize = 20;

/// What the fold keeps for one provision, drafted or not yet. Snapshots store it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Builder {
    title: Option<String>,
    topic: Option<String>,
    status: Option<(Status, Instant, Uuid)>,
    first_draft: Option<(Instant, Uuid)>,
    texts: Vec<Text>,
    positions: BTreeMap<Slug, Position>,
    meetings: Vec<(Slug, Uuid)>,
    statements: Vec<Statement>,
    n_statements: u64,
    events: u64,
    last_event: Option<Uuid>,
    /// For each field, the sides set on the latest valid day it was set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    same_day: BTreeMap<String, (Instant, Vec<Side>)>,
}

/// The state of every provision, built by folding counted events.
#[derive(Clone, Debug, Default)]
pub struct Projection {
    provisions: BTreeMap<Slug, Builder>,
}

impl Projection {
    /// Applies one counted event. Events must come in valid-time order, ties in record order.
    pub fn apply(&mut self, event: &Event) {
        let provisions: Vec<Slug> = event.provisions().cloned().collect();
        for slug in provisions {
            let builder = self.provisions.entry(slug).or_default();
            apply_to(builder, event);
        }
    }

    /// Applies one counted event of `provision`'s history to that provision only: a
    /// fold of one provision's history must not build the state of every provision a
    /// meeting or statement lists, or reading N provisions costs N².
    ///
    /// An event in a provision's history at its own valid time is about the provision
    /// unless it is a correction (whose entry may mark its target's provision only):
    /// only those are looked up in the event's list, which a meeting may make long.
    pub fn apply_for(&mut self, provision: &Slug, event: &Event) {
        let about =
            event.removes().is_none() || event.is_about(crate::event::Kind::Provision, provision);
        if about {
            let builder = match self.provisions.get_mut(provision) {
                Some(builder) => builder,
                None => self.provisions.entry(provision.clone()).or_default(),
            };
            apply_to(builder, event);
        }
    }

    /// One provision's state, if it has a counted draft.
    pub fn state(&self, provision: &Slug) -> Option<ProvisionState> {
        self.provisions
            .get(provision)
            .and_then(|b| finish(provision, b))
    }

    /// What the fold holds for one provision, for a snapshot.
    pub fn builder(&self, provision: &Slug) -> Option<&Builder> {
        self.provisions.get(provision)
    }

    /// A projection that starts from a snapshot of one provision.
    pub fn from_snapshot(provision: Slug, builder: Builder) -> Projection {
        Projection {
            provisions: BTreeMap::from([(provision, builder)]),
        }
    }

    /// Every drafted provision's state, by slug.
    pub fn states(&self) -> Vec<ProvisionState> {
        self.provisions
            .iter()
            .filter_map(|(slug, b)| finish(slug, b))
            .collect()
    }
}

fn apply_to(b: &mut Builder, event: &Event) {
    if matches!(event.body, Body::SourceCited { .. }) {
        // A citation adds a source to another event; it sets nothing.
        return;
    }
    let at = event.occurred_at;
    let id = event.id;
    if let Some((field, value)) = side_of(event) {
        let day = crate::time::start_of_day(at.date_naive());
        let side = Side {
            event: id,
            value,
            sources: event.sources.clone(),
        };
        match b.same_day.get_mut(&field) {
            Some((d, sides)) if *d == day => sides.push(side),
            _ => {
                b.same_day.insert(field, (day, vec![side]));
            }
        }
    }
    b.events += 1;
    b.last_event = Some(id);
    let add_meeting = |meeting: &Slug, meetings: &mut Vec<(Slug, Uuid)>| {
        if !meetings.iter().any(|(m, _)| m == meeting) {
            meetings.push((meeting.clone(), id));
        }
    };
    match &event.body {
        Body::ProvisionDrafted {
            proposal,
            title,
            text,
            topic,
            parameters,
            ..
        } => {
            if b.title.is_none() {
                b.title = Some(title.clone());
                b.topic = topic.clone();
            }
            b.first_draft.get_or_insert((at, id));
            set_text(&mut b.texts, proposal, Some((text, parameters)), at, id);
        }
        Body::ProvisionAmended {
            proposal,
            text,
            parameters,
            ..
        } => set_text(&mut b.texts, proposal, Some((text, parameters)), at, id),
        Body::ProvisionDropped { proposal, .. } => set_text(&mut b.texts, proposal, None, at, id),
        Body::StatusChanged { status, .. } => b.status = Some((*status, at, id)),
        Body::PositionStated {
            party,
            stance,
            summary,
            ..
        } => {
            b.positions.insert(
                party.clone(),
                Position {
                    party: party.clone(),
                    stance: *stance,
                    summary: summary.clone(),
                    since: at,
                    event: id,
                },
            );
        }
        Body::MeetingHeld { meeting, .. } => add_meeting(meeting, &mut b.meetings),
        Body::StatementMade { quote, meeting, .. } => {
            if let Some(meeting) = meeting {
                add_meeting(meeting, &mut b.meetings);
            }
            if b.statements.len() == STATEMENTS_KEPT {
                b.statements.remove(0);
            }
            b.statements.push(Statement {
                event: id,
                occurred_at: at,
                actor: event.actor.clone(),
                attribution: event.attribution.clone(),
                quote: quote.clone(),
                meeting: meeting.clone(),
            });
            b.n_statements += 1;
        }
        Body::PartyRegistered { .. }
        | Body::ActorRegistered { .. }
        | Body::ProposalTabled { .. }
        | Body::MeetingScheduled { .. }
        | Body::EventRetracted { .. }
        | Body::SourceCited { .. } => {}
    }
}

/// Sets a proposal's text and its parameters (`None` keeps them and marks the text
/// dropped). A drop of a text that does not count at this cut leaves nothing to mark.
fn set_text(
    texts: &mut Vec<Text>,
    proposal: &Slug,
    text: Option<(&String, &Option<Parameters>)>,
    at: Instant,
    id: Uuid,
) {
    let dropped = text.is_none();
    match texts.iter_mut().find(|t| &t.proposal == proposal) {
        Some(entry) => {
            if let Some((text, parameters)) = text {
                entry.text = text.clone();
                entry.parameters = parameters.clone();
            }
            entry.dropped = dropped;
            entry.since = at;
            entry.event = id;
        }
        None => {
            if let Some((text, parameters)) = text {
                texts.push(Text {
                    proposal: proposal.clone(),
                    text: text.clone(),
                    since: at,
                    dropped,
                    event: id,
                    parameters: parameters.clone(),
                });
            }
        }
    }
}

/// The field an event sets and the value it sets it to, for conflicts.
fn side_of(event: &Event) -> Option<(String, serde_json::Value)> {
    use serde_json::json;
    match &event.body {
        Body::StatusChanged { status, .. } => Some(("status".into(), json!(status))),
        Body::PositionStated { party, stance, .. } => {
            Some((format!("stance/{party}"), json!(stance)))
        }
        Body::ProvisionDrafted {
            proposal,
            text,
            parameters,
            ..
        }
        | Body::ProvisionAmended {
            proposal,
            text,
            parameters,
            ..
        } => Some((
            format!("text/{proposal}"),
            json!({ "text": text, "parameters": parameters }),
        )),
        Body::ProvisionDropped { proposal, .. } => {
            Some((format!("text/{proposal}"), json!("dropped")))
        }
        _ => None,
    }
}

/// The fields whose same-day sides disagree on different sources.
fn conflicts(b: &Builder) -> Vec<Conflict> {
    fn outlets(side: &Side) -> Vec<&str> {
        let mut o: Vec<&str> = side.sources.iter().map(|s| s.outlet.as_str()).collect();
        o.sort_unstable();
        o.dedup();
        o
    }
    b.same_day
        .iter()
        .filter(|(_, (_, sides))| {
            sides.iter().enumerate().any(|(i, a)| {
                sides[i + 1..]
                    .iter()
                    .any(|c| a.value != c.value && outlets(a) != outlets(c))
            })
        })
        .map(|(field, (day, sides))| Conflict {
            field: field.clone(),
            day: *day,
            sides: sides.clone(),
        })
        .collect()
}

fn finish(slug: &Slug, b: &Builder) -> Option<ProvisionState> {
    let title = b.title.clone()?;
    let (draft_at, draft_id) = b.first_draft?;
    let (status, status_since, status_event) =
        b.status.unwrap_or((Status::Proposed, draft_at, draft_id));
    Some(ProvisionState {
        provision: slug.clone(),
        title,
        title_event: draft_id,
        topic: b.topic.clone(),
        status,
        status_since,
        status_event,
        texts: b.texts.clone(),
        positions: b.positions.values().cloned().collect(),
        meetings: b.meetings.iter().map(|(m, _)| m.clone()).collect(),
        meeting_events: b.meetings.iter().map(|(_, e)| *e).collect(),
        statements: b.statements.clone(),
        n_statements: b.n_statements,
        events: b.events,
        last_event: b.last_event.expect("a drafted provision has events"),
        conflicts: conflicts(b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_event;
    use serde_json::{json, Value};

    fn event(n: u128, value: Value) -> Event {
        let Value::Object(mut map) = value else {
            panic!()
        };
        map.insert("id".into(), json!(Uuid::from_u128(n).to_string()));
        parse_event(&mut map, &mut Uuid::nil).unwrap()
    }

    fn nato() -> Slug {
        Slug::parse("nato").unwrap()
    }

    #[test]
    fn an_undrafted_provision_has_no_state() {
        let mut p = Projection::default();
        p.apply(&event(1, json!({"type": "status_changed", "occurred_at": "2025-11-20", "provision": "nato", "status": "contested"})));
        assert_eq!(p.state(&nato()), None);
        assert!(p.states().is_empty());
    }

    #[test]
    fn status_texts_and_stances_fold_in_order() {
        let mut p = Projection::default();
        let events = [
            event(
                1,
                json!({"type": "provision_drafted", "occurred_at": "2025-11-20", "provision": "nato", "proposal": "plan", "title": "NATO", "text": "ban"}),
            ),
            event(
                2,
                json!({"type": "provision_drafted", "occurred_at": "2025-11-23", "provision": "nato", "proposal": "counter", "title": "NATO (counter)", "text": "no ban"}),
            ),
            event(
                3,
                json!({"type": "position_stated", "occurred_at": "2025-11-23", "provision": "nato", "party": "us", "stance": "supports"}),
            ),
            event(
                4,
                json!({"type": "status_changed", "occurred_at": "2025-11-23", "provision": "nato", "status": "contested"}),
            ),
            event(
                5,
                json!({"type": "position_stated", "occurred_at": "2025-11-30", "provision": "nato", "party": "us", "stance": "conditional"}),
            ),
            event(
                6,
                json!({"type": "provision_dropped", "occurred_at": "2025-11-30", "provision": "nato", "proposal": "plan"}),
            ),
        ];
        for e in &events {
            p.apply(e);
        }
        let state = p.state(&nato()).unwrap();
        assert_eq!(state.title, "NATO", "the first draft names the provision");
        assert_eq!(state.status, Status::Contested);
        assert_eq!(state.status_event, Uuid::from_u128(4));
        assert_eq!(state.positions.len(), 1);
        assert_eq!(state.positions[0].stance, Stance::Conditional);
        assert_eq!(state.texts[0].text, "ban");
        assert!(state.texts[0].dropped);
        assert!(!state.texts[1].dropped);
        assert_eq!(state.events, 6);
        assert_eq!(state.last_event, Uuid::from_u128(6));
    }

    #[test]
    fn a_provision_is_proposed_from_its_first_draft() {
        let mut p = Projection::default();
        p.apply(&event(1, json!({"type": "provision_drafted", "occurred_at": "2025-11-20", "provision": "nato", "proposal": "plan", "title": "NATO", "text": "ban"})));
        let state = p.state(&nato()).unwrap();
        assert_eq!(state.status, Status::Proposed);
        assert_eq!(state.status_event, Uuid::from_u128(1));
        assert_eq!(
            crate::time::format(&state.status_since),
            "2025-11-20T00:00:00Z"
        );
    }
}
