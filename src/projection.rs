//! Pure folds: the state of provisions from the events that count.
//!
//! [`Projection::apply`] takes counted events in any order (each keyed by its valid
//! time, ties by its record) and can neither fail nor do I/O; deciding which events count at a cut is
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

/// Where an event stands in the fold's order: its valid time, then its record (seq).
/// Every register of a [`Builder`] keeps the key of the event that set it, so the
/// fold does not depend on the order events are applied in.
pub type Key = (Instant, u64);

/// The meetings register of a stored [`Builder`], by columns: `{"secs": [...],
/// "nanos": [...], "seqs": [...], "ids": "<32 hex digits per id>", "slugs": [...]}`
/// (the key's valid time as Unix seconds and nanoseconds, its seq, the tying event's
/// id, the meeting). A busy provision's fold holds thousands of meetings, over four
/// fifths of its snapshot; columns of numbers read about three times faster than as
/// many `[[RFC 3339 time, seq], hyphenated id, slug]` triples.
mod meeting_columns {
    use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};
    use uuid::Uuid;

    use super::Key;
    use crate::event::Slug;

    #[derive(Serialize, Deserialize)]
    struct Columns {
        secs: Vec<i64>,
        nanos: Vec<u32>,
        seqs: Vec<u64>,
        ids: String,
        slugs: Vec<Slug>,
    }

    pub fn serialize<S: Serializer>(
        meetings: &[(Key, Uuid, Slug)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut columns = Columns {
            secs: Vec::with_capacity(meetings.len()),
            nanos: Vec::with_capacity(meetings.len()),
            seqs: Vec::with_capacity(meetings.len()),
            ids: String::with_capacity(meetings.len() * 32),
            slugs: Vec::with_capacity(meetings.len()),
        };
        for ((at, seq), id, slug) in meetings {
            columns.secs.push(at.timestamp());
            columns.nanos.push(at.timestamp_subsec_nanos());
            columns.seqs.push(*seq);
            columns
                .ids
                .push_str(id.simple().encode_lower(&mut Uuid::encode_buffer()));
            columns.slugs.push(slug.clone());
        }
        columns.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(Key, Uuid, Slug)>, D::Error> {
        let columns = Columns::deserialize(d)?;
        let n = columns.slugs.len();
        if columns.secs.len() != n
            || columns.nanos.len() != n
            || columns.seqs.len() != n
            || columns.ids.len() != n * 32
        {
            return Err(D::Error::custom("the meeting columns differ in length"));
        }
        let ids = columns.ids.as_bytes();
        (columns.slugs.into_iter().enumerate())
            .map(|(i, slug)| {
                let at = chrono::DateTime::from_timestamp(columns.secs[i], columns.nanos[i])
                    .ok_or_else(|| D::Error::custom("a meeting's time is out of range"))?;
                let id = Uuid::try_parse_ascii(&ids[i * 32..(i + 1) * 32])
                    .map_err(|_| D::Error::custom("a meeting's id is damaged"))?;
                Ok(((at, columns.seqs[i]), id, slug))
            })
            .collect()
    }
}

/// What the fold keeps for one provision, drafted or not yet. Snapshots store it.
///
/// Every part is a register settled by [`Key`] (the latest, the earliest or the
/// latest few) or a count, so applying the same events in any order gives the same
/// builder: a snapshot can take a late arrival in after it was written, and a query
/// folds a snapshot's late arrivals and its tail without sorting them together.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Builder {
    /// The first draft: its key and id, and the title and topic it gave.
    first_draft: Option<(Key, Uuid, String, Option<String>)>,
    /// The latest status change.
    status: Option<(Key, Uuid, Status)>,
    /// One register per proposal with a text, in the order of their first texts.
    texts: Vec<TextRegister>,
    /// Each party's latest stance.
    positions: BTreeMap<Slug, (Key, Position)>,
    /// Each meeting's first tie to the provision, in key order (stored by columns:
    /// see [`meeting_columns`]).
    #[serde(with = "meeting_columns")]
    meetings: Vec<(Key, Uuid, Slug)>,
    /// The latest [`STATEMENTS_KEPT`] statements, in key order.
    statements: Vec<(Key, Statement)>,
    n_statements: u64,
    events: u64,
    last_event: Option<(Key, Uuid)>,
    /// For each field, the sides set on the latest valid day it was set, in key order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    same_day: BTreeMap<String, (Instant, Vec<(Key, Side)>)>,
}

/// A proposal's text as the fold keeps it: the text and its parameters come from the
/// latest draft or amendment; whether it is dropped, since when and on which event's
/// word, from the latest draft, amendment or drop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct TextRegister {
    proposal: Slug,
    /// The first draft or amendment (orders the texts); `None` while only a drop is known.
    first: Option<(Key, Uuid)>,
    /// The latest draft or amendment: its text and parameters.
    text: Option<(Key, Uuid, String, Option<Parameters>)>,
    /// The latest draft, amendment or drop, and whether it dropped the text.
    mark: (Key, Uuid, bool),
}

/// The state of every provision, built by folding counted events.
#[derive(Clone, Debug, Default)]
pub struct Projection {
    provisions: BTreeMap<Slug, Builder>,
}

impl Projection {
    /// Applies one counted event, recorded at `seq`. docs/format.md §3 applies counted
    /// events in `occurred_at` order, ties by `seq`; the registers keyed that way give
    /// that result whatever order events are applied in.
    pub fn apply(&mut self, seq: u64, event: &Event) {
        let provisions: Vec<Slug> = event.provisions().cloned().collect();
        for slug in provisions {
            let builder = self.provisions.entry(slug).or_default();
            apply_to(builder, (event.occurred_at, seq), event);
        }
    }

    /// Applies one counted event of `provision`'s history (recorded at `seq`) to that
    /// provision only: a fold of one provision's history must not build the state of
    /// every provision a meeting or statement lists, or reading N provisions costs N².
    ///
    /// An event in a provision's history at its own valid time is about the provision
    /// unless it is a correction (whose entry may mark its target's provision only):
    /// only those are looked up in the event's list, which a meeting may make long.
    pub fn apply_for(&mut self, provision: &Slug, seq: u64, event: &Event) {
        if about(provision, event) {
            let builder = match self.provisions.get_mut(provision) {
                Some(builder) => builder,
                None => self.provisions.entry(provision.clone()).or_default(),
            };
            apply_to(builder, (event.occurred_at, seq), event);
        }
    }

    /// Takes out of `provision`'s fold an event of its history that the fold counted
    /// and a correction has since removed, when nothing the state shows came from it
    /// (it set no register that still holds it: only the counts change). Returns
    /// `false`, changing nothing, when the state shows it: only a fold without the
    /// event can say what shows in its place.
    pub fn forget_for(&mut self, provision: &Slug, event: &Event) -> bool {
        // The removed event may be about other provisions only: a correction that
        // replaces it with one about this provision joins this history by itself. (An
        // event about the provision is one `apply_for` applies.)
        if !event.is_about(crate::event::Kind::Provision, provision)
            || matches!(event.body, Body::SourceCited { .. })
        {
            return true;
        }
        let Some(b) = self.provisions.get_mut(provision) else {
            return false;
        };
        if b.shows(&event.id) || b.events == 0 {
            return false;
        }
        b.events -= 1;
        if matches!(event.body, Body::StatementMade { .. }) {
            b.n_statements = b.n_statements.saturating_sub(1);
        }
        true
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

    /// What the fold holds for one provision, taken out of the projection (an empty
    /// fold when it holds nothing for it).
    pub fn into_builder(mut self, provision: &Slug) -> Builder {
        self.provisions.remove(provision).unwrap_or_default()
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

/// Whether an event of `provision`'s history applies to it (see [`Projection::apply_for`]).
fn about(provision: &Slug, event: &Event) -> bool {
    event.removes().is_none() || event.is_about(crate::event::Kind::Provision, provision)
}

impl Builder {
    /// Whether any register holds event `id`.
    fn shows(&self, id: &Uuid) -> bool {
        self.first_draft.as_ref().is_some_and(|d| d.1 == *id)
            || self.status.as_ref().is_some_and(|s| s.1 == *id)
            || self.texts.iter().any(|t| {
                t.first.is_some_and(|f| f.1 == *id)
                    || t.text.as_ref().is_some_and(|x| x.1 == *id)
                    || t.mark.1 == *id
            })
            || self.positions.values().any(|(_, p)| p.event == *id)
            || self.meetings.iter().any(|m| m.1 == *id)
            || self.statements.iter().any(|(_, s)| s.event == *id)
            || self.last_event.is_some_and(|l| l.1 == *id)
            || self
                .same_day
                .values()
                .any(|(_, sides)| sides.iter().any(|(_, s)| s.event == *id))
    }
}

/// Inserts `item` into `list`, kept sorted by key.
fn insert_sorted<T>(list: &mut Vec<(Key, T)>, key: Key, item: T) {
    let at = list.partition_point(|(k, _)| *k < key);
    list.insert(at, (key, item));
}

fn apply_to(b: &mut Builder, key: Key, event: &Event) {
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
            Some((d, sides)) if *d == day => insert_sorted(sides, key, side),
            Some((d, _)) if *d > day => {}
            _ => {
                b.same_day.insert(field, (day, vec![(key, side)]));
            }
        }
    }
    b.events += 1;
    if b.last_event.is_none_or(|(k, _)| key > k) {
        b.last_event = Some((key, id));
    }
    let tie_meeting = |meeting: &Slug, meetings: &mut Vec<(Key, Uuid, Slug)>| match meetings
        .iter()
        .position(|(_, _, m)| m == meeting)
    {
        Some(i) if meetings[i].0 <= key => {}
        Some(i) => {
            meetings.remove(i);
            let at = meetings.partition_point(|(k, _, _)| *k < key);
            meetings.insert(at, (key, id, meeting.clone()));
        }
        None => {
            let at = meetings.partition_point(|(k, _, _)| *k < key);
            meetings.insert(at, (key, id, meeting.clone()));
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
            if b.first_draft.as_ref().is_none_or(|d| key < d.0) {
                b.first_draft = Some((key, id, title.clone(), topic.clone()));
            }
            set_text(&mut b.texts, proposal, Some((text, parameters)), key, id);
        }
        Body::ProvisionAmended {
            proposal,
            text,
            parameters,
            ..
        } => set_text(&mut b.texts, proposal, Some((text, parameters)), key, id),
        Body::ProvisionDropped { proposal, .. } => set_text(&mut b.texts, proposal, None, key, id),
        Body::StatusChanged { status, .. } => {
            if b.status.as_ref().is_none_or(|s| key > s.0) {
                b.status = Some((key, id, *status));
            }
        }
        Body::PositionStated {
            party,
            stance,
            summary,
            ..
        } => {
            if b.positions.get(party).is_none_or(|(k, _)| key > *k) {
                let position = Position {
                    party: party.clone(),
                    stance: *stance,
                    summary: summary.clone(),
                    since: at,
                    event: id,
                };
                b.positions.insert(party.clone(), (key, position));
            }
        }
        Body::MeetingHeld { meeting, .. } => tie_meeting(meeting, &mut b.meetings),
        Body::StatementMade { quote, meeting, .. } => {
            if let Some(meeting) = meeting {
                tie_meeting(meeting, &mut b.meetings);
            }
            b.n_statements += 1;
            let kept_all = b.statements.len() < STATEMENTS_KEPT;
            if kept_all || b.statements.first().is_some_and(|(k, _)| key > *k) {
                let statement = Statement {
                    event: id,
                    occurred_at: at,
                    actor: event.actor.clone(),
                    attribution: event.attribution.clone(),
                    quote: quote.clone(),
                    meeting: meeting.clone(),
                };
                insert_sorted(&mut b.statements, key, statement);
                if b.statements.len() > STATEMENTS_KEPT {
                    b.statements.remove(0);
                }
            }
        }
        Body::PartyRegistered { .. }
        | Body::ActorRegistered { .. }
        | Body::ProposalTabled { .. }
        | Body::MeetingScheduled { .. }
        | Body::EventRetracted { .. }
        | Body::SourceCited { .. } => {}
    }
}

/// Sets a proposal's text and its parameters, or (`None`) marks it dropped, keeping
/// the text. A drop of a text that does not count at this cut leaves nothing to show.
fn set_text(
    texts: &mut Vec<TextRegister>,
    proposal: &Slug,
    text: Option<(&String, &Option<Parameters>)>,
    key: Key,
    id: Uuid,
) {
    let mut resort = false;
    let i = match texts.iter().position(|t| &t.proposal == proposal) {
        Some(i) => i,
        None => {
            resort = true;
            texts.push(TextRegister {
                proposal: proposal.clone(),
                first: None,
                text: None,
                mark: (key, id, text.is_none()),
            });
            texts.len() - 1
        }
    };
    let register = &mut texts[i];
    if key >= register.mark.0 {
        register.mark = (key, id, text.is_none());
    }
    if let Some((text, parameters)) = text {
        if register.text.as_ref().is_none_or(|t| key > t.0) {
            register.text = Some((key, id, text.clone(), parameters.clone()));
        }
        if register.first.is_none_or(|f| key < f.0) {
            register.first = Some((key, id));
            resort = true;
        }
    }
    if resort {
        // Texts are listed in the order of their first drafts or amendments (registers
        // with only a drop, which list nothing, first, by proposal).
        texts.sort_by(|a, b| {
            (a.first.map(|f| f.0), &a.proposal).cmp(&(b.first.map(|f| f.0), &b.proposal))
        });
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
            sides.iter().enumerate().any(|(i, (_, a))| {
                sides[i + 1..]
                    .iter()
                    .any(|(_, c)| a.value != c.value && outlets(a) != outlets(c))
            })
        })
        .map(|(field, (day, sides))| Conflict {
            field: field.clone(),
            day: *day,
            sides: sides.iter().map(|(_, side)| side.clone()).collect(),
        })
        .collect()
}

fn finish(slug: &Slug, b: &Builder) -> Option<ProvisionState> {
    let ((draft_at, _), draft_id, title, topic) = b.first_draft.clone()?;
    let (status, status_since, status_event) = match &b.status {
        Some(((at, _), id, status)) => (*status, *at, *id),
        None => (Status::Proposed, draft_at, draft_id),
    };
    let texts = b
        .texts
        .iter()
        .filter_map(|t| {
            let (_, _, text, parameters) = t.text.clone()?;
            let ((since, _), event, dropped) = t.mark;
            Some(Text {
                proposal: t.proposal.clone(),
                text,
                since,
                dropped,
                event,
                parameters,
            })
        })
        .collect();
    Some(ProvisionState {
        provision: slug.clone(),
        title,
        title_event: draft_id,
        topic,
        status,
        status_since,
        status_event,
        texts,
        positions: b.positions.values().map(|(_, p)| p.clone()).collect(),
        meetings: b.meetings.iter().map(|(_, _, m)| m.clone()).collect(),
        meeting_events: b.meetings.iter().map(|(_, e, _)| *e).collect(),
        statements: b.statements.iter().map(|(_, s)| s.clone()).collect(),
        n_statements: b.n_statements,
        events: b.events,
        last_event: b.last_event.expect("a drafted provision has events").1,
        conflicts: conflicts(b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeting_columns_round_trip_and_refuse_damage() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Wrap(#[serde(with = "meeting_columns")] Vec<(Key, Uuid, Slug)>);
        let at = |s: &str| crate::time::parse_occurred_at(s).unwrap();
        let meetings = Wrap(vec![
            (
                (at("1969-07-20T20:17:40.5Z"), 1),
                Uuid::from_u128(1),
                Slug::parse("apollo").unwrap(),
            ),
            (
                (at("2025-11-30T18:00:00-05:00"), u64::MAX),
                Uuid::from_u128(u128::MAX),
                Slug::parse("florida").unwrap(),
            ),
        ]);
        let json = serde_json::to_string(&meetings).unwrap();
        assert_eq!(serde_json::from_str::<Wrap>(&json).unwrap(), meetings);
        let empty = serde_json::to_string(&Wrap(Vec::new())).unwrap();
        assert_eq!(
            serde_json::from_str::<Wrap>(&empty).unwrap(),
            Wrap(Vec::new())
        );
        for damaged in [
            json.replacen("\"seqs\":[1,", "\"seqs\":[", 1),
            json.replacen("\"ids\":\"0", "\"ids\":\"g", 1),
            json.replacen("\"ids\":\"0", "\"ids\":\"", 1),
        ] {
            assert_ne!(damaged, json);
            assert!(serde_json::from_str::<Wrap>(&damaged).is_err(), "{damaged}");
        }
    }
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
        p.apply(1, &event(1, json!({"type": "status_changed", "occurred_at": "2025-11-20", "provision": "nato", "status": "contested"})));
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
        for (seq, e) in (1..).zip(&events) {
            p.apply(seq, e);
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
        p.apply(1, &event(1, json!({"type": "provision_drafted", "occurred_at": "2025-11-20", "provision": "nato", "proposal": "plan", "title": "NATO", "text": "ban"})));
        let state = p.state(&nato()).unwrap();
        assert_eq!(state.status, Status::Proposed);
        assert_eq!(state.status_event, Uuid::from_u128(1));
        assert_eq!(
            crate::time::format(&state.status_since),
            "2025-11-20T00:00:00Z"
        );
    }

    /// Whatever order they come in, the registers settle by (valid time, seq): the
    /// latest statements listed oldest first, meetings by their first tie, texts by
    /// their first draft, the first draft's title, the latest status and stance.
    #[test]
    fn registers_settle_by_valid_time_then_seq_whatever_the_order() {
        let statement = |n: u128, day: u32, meeting: &str| {
            event(
                n,
                json!({"type": "statement_made", "occurred_at": format!("2025-10-{day:02}"), "quote": format!("q{n}"), "attribution": "an official", "provisions": ["nato"], "meeting": meeting}),
            )
        };
        let mut events: Vec<Event> = (1..=25u128)
            .map(|n| {
                statement(
                    n,
                    26 - n as u32,
                    if n % 2 == 0 { "geneva" } else { "florida" },
                )
            })
            .collect();
        events.push(event(30, json!({"type": "provision_drafted", "occurred_at": "2025-10-05", "provision": "nato", "proposal": "plan", "title": "Late title", "text": "b"})));
        events.push(event(31, json!({"type": "provision_drafted", "occurred_at": "2025-10-02", "provision": "nato", "proposal": "counter", "title": "First title", "text": "a"})));
        events.push(event(32, json!({"type": "status_changed", "occurred_at": "2025-10-09", "provision": "nato", "status": "agreed"})));
        events.push(event(33, json!({"type": "status_changed", "occurred_at": "2025-10-08", "provision": "nato", "status": "contested"})));
        events.push(event(34, json!({"type": "position_stated", "occurred_at": "2025-10-07", "provision": "nato", "party": "us", "stance": "supports"})));
        events.push(event(35, json!({"type": "position_stated", "occurred_at": "2025-10-06", "provision": "nato", "party": "us", "stance": "opposes"})));
        // Applied newest record first: the reverse of seq order, and of valid time mostly.
        let mut p = Projection::default();
        for (i, e) in events.iter().enumerate().rev() {
            p.apply_for(&nato(), i as u64 + 1, e);
        }
        let state = p.state(&nato()).unwrap();
        let quotes: Vec<&str> = state.statements.iter().map(|s| s.quote.as_str()).collect();
        // Statement n is dated day 26 - n: the latest 20 are n = 20..=1, oldest first.
        let want: Vec<String> = (1..=20).rev().map(|n| format!("q{n}")).collect();
        assert_eq!(quotes, want);
        assert_eq!(state.n_statements, 25);
        // Statement 25 (day 1, florida) and 24 (day 2, geneva) tie the meetings first.
        assert_eq!(
            state.meetings,
            [
                Slug::parse("florida").unwrap(),
                Slug::parse("geneva").unwrap()
            ]
        );
        assert_eq!(
            state.meeting_events,
            [Uuid::from_u128(25), Uuid::from_u128(24)]
        );
        assert_eq!(state.title, "First title");
        let proposals: Vec<&str> = state.texts.iter().map(|t| t.proposal.as_str()).collect();
        assert_eq!(proposals, ["counter", "plan"]);
        assert_eq!(state.status, Status::Agreed);
        assert_eq!(state.positions[0].stance, Stance::Supports);
        assert_eq!(state.last_event, Uuid::from_u128(1));
    }

    /// One of a few kinds of event about `nato`, on one of four days (so that ties
    /// and same-day sides happen), from one of two outlets.
    fn arbitrary_event(n: u128, kind: u8, day: u8, pick: u8, outlet: bool) -> Event {
        let proposal = ["plan", "counter"][pick as usize % 2];
        let value = ["ban", "no ban", "review"][pick as usize % 3];
        let status = ["contested", "agreed", "rejected"][pick as usize % 3];
        let stance = ["supports", "opposes"][pick as usize % 2];
        let meeting = ["geneva", "florida"][pick as usize % 2];
        let mut v = match kind % 8 {
            0 => {
                json!({"type": "provision_drafted", "provision": "nato", "proposal": proposal, "title": value, "text": value})
            }
            1 => {
                json!({"type": "provision_amended", "provision": "nato", "proposal": proposal, "text": value})
            }
            2 => json!({"type": "provision_dropped", "provision": "nato", "proposal": proposal}),
            3 => json!({"type": "status_changed", "provision": "nato", "status": status}),
            4 => {
                json!({"type": "position_stated", "provision": "nato", "party": proposal, "stance": stance})
            }
            5 => {
                json!({"type": "meeting_held", "meeting": meeting, "place": "X", "provisions": ["nato"]})
            }
            _ => {
                json!({"type": "statement_made", "quote": value, "attribution": "an official", "provisions": ["nato"], "meeting": "geneva"})
            }
        };
        v["occurred_at"] = json!(format!("2025-11-2{}", day % 4));
        v["sources"] = json!([{"outlet": if outlet { "Wire" } else { "Paper" }}]);
        event(n, v)
    }

    fn arbitrary_events() -> impl proptest::strategy::Strategy<Value = Vec<Event>> {
        use proptest::prelude::*;
        proptest::collection::vec(
            (any::<u8>(), any::<u8>(), any::<u8>(), any::<bool>()),
            1..40,
        )
        .prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (kind, day, pick, outlet))| {
                    arbitrary_event(i as u128 + 1, kind, day, pick, outlet)
                })
                .collect()
        })
    }

    /// The fold in valid-time order, ties in record order (event `i` is record `i + 1`).
    fn in_order(events: &[Event]) -> Projection {
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| (events[i].occurred_at, i));
        let mut p = Projection::default();
        for i in order {
            p.apply_for(&nato(), i as u64 + 1, &events[i]);
        }
        p
    }

    proptest::proptest! {
        /// A snapshot may take late arrivals in after it was written: the fold is the
        /// same whatever order the events come in.
        #[test]
        fn the_fold_does_not_depend_on_the_order_of_application(
            events in arbitrary_events(),
            shuffle in proptest::collection::vec(proptest::prelude::any::<usize>(), 40),
        ) {
            let mut order: Vec<usize> = (0..events.len()).collect();
            for (i, r) in shuffle.iter().enumerate().take(order.len()) {
                let j = r % order.len();
                order.swap(i, j);
            }
            let mut shuffled = Projection::default();
            for i in order {
                shuffled.apply_for(&nato(), i as u64 + 1, &events[i]);
            }
            let sorted = in_order(&events);
            proptest::prop_assert_eq!(shuffled.builder(&nato()), sorted.builder(&nato()));
            proptest::prop_assert_eq!(shuffled.state(&nato()), sorted.state(&nato()));
        }

        /// Forgetting a removed event that nothing shows leaves the fold of the others;
        /// when it shows, nothing changes and the caller must fold without it.
        #[test]
        fn forgetting_an_event_leaves_the_fold_without_it(
            events in arbitrary_events(),
            pick in proptest::prelude::any::<usize>(),
        ) {
            let gone = pick % events.len();
            let mut all = in_order(&events);
            let before = all.builder(&nato()).cloned();
            // The same records, without the removed one (its seq stays unused).
            let mut without = Projection::default();
            let mut order: Vec<usize> = (0..events.len()).filter(|&i| i != gone).collect();
            order.sort_by_key(|&i| (events[i].occurred_at, i));
            for i in order {
                without.apply_for(&nato(), i as u64 + 1, &events[i]);
            }
            if all.forget_for(&nato(), &events[gone]) {
                proptest::prop_assert_eq!(all.builder(&nato()), without.builder(&nato()));
            } else {
                proptest::prop_assert_eq!(all.builder(&nato()).cloned(), before);
            }
        }
    }
}
