//! The timeline: what `pactlog timeline` draws and `export --format timelinejs`
//! publishes, gathered from the ledger at a cut.
//!
//! For each provision: its status over valid time as bands (from its first counted
//! draft; each counted `status_changed` ends one band and starts the next), and its
//! events as markers, with the events removed at the cut kept as markers flagged
//! `removed_by` so a reader can see what a correction took out. Beside them, the
//! meetings: held ones on the day they were held, scheduled ones on their planned day.
//!
//! Which events count is [`crate::query::counted`]'s rule, applied to each
//! provision's history; the cut's [`crate::provenance::Filter`] (`--min-grade`,
//! `--reported-only`) leaves events out of the bands and the markers alike. Each
//! marker cites its event as every view does ([`EventRef`]: every source with its
//! grade, the citations known at the record-time cut, the basis and an inference's
//! note), and each row carries the provision's conflicts at the cut (docs/format.md §2
//! "Sources, basis, citations and conflicts"). Nothing here prints, reads the
//! environment or the clock.

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use crate::chain::Record;
use crate::error::{Error, Result};
use crate::event::{Body, Event, Kind, Slug, Status};
use crate::names::Names;
use crate::projection::{Conflict, Projection};
use crate::provenance::{citations, EventRef};
use crate::query::{self, Cut};
use crate::store::Ledger;
use crate::time::{self, serde_instant, Instant};

/// Everything a timeline shows at one cut.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timeline {
    #[serde(serialize_with = "serde_instant::serialize")]
    pub at: Instant,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub known_at: Instant,
    /// For a `seq:N` cut: N.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_seq: Option<u64>,
    /// The last record known at the cut (its seq and record time): what the
    /// timeline was drawn from, whatever later record time the cut names.
    pub last_record: Option<LastRecord>,
    pub provisions: Vec<ProvisionLine>,
    pub meetings: Vec<MeetingMark>,
}

/// The last record known at a cut.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LastRecord {
    pub seq: u64,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub recorded_at: Instant,
}

/// One provision's row: its status bands and its event markers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProvisionLine {
    pub provision: Slug,
    pub title: String,
    pub bands: Vec<Band>,
    pub markers: Vec<Marker>,
    /// Reports that disagree about one of its fields on one valid day, as `state`
    /// finds them at the cut (absent from JSON when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

/// A stretch of valid time in which a provision had one status.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Band {
    pub status: Status,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub from: Instant,
    /// Where the next status began; `None` while the status holds at the cut.
    #[serde(serialize_with = "serde_instant::option")]
    pub to: Option<Instant>,
    /// The event that set the status (the first draft while it is `proposed`).
    pub event: Uuid,
}

/// One event on a provision's row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Marker {
    /// The event as every view cites it: id, seq, type, both times, its `sources`
    /// (each with its grade), the `cited` sources known at the record-time cut, its
    /// `basis` and an inference's `note` (flattened into the marker's JSON).
    #[serde(flatten)]
    pub event: EventRef,
    /// The event's calendar day in the offset it was written with
    /// (`2025-11-23T01:00:00+03:00` is on 2025-11-23, though 22 November in UTC).
    pub day: chrono::NaiveDate,
    /// The actor's slug or the attribution.
    pub who: Option<String>,
    /// Who, as people read it: the actor's registered name, or the attribution.
    pub speaker: Option<String>,
    /// The event in a few words, parties and actors by name ([`describe`]).
    pub headline: String,
    /// The quote, text, summary, note, reason or outcome the event carries.
    pub detail: Option<String>,
    /// The event that retracted or superseded this one, as known at the cut.
    pub removed_by: Option<Uuid>,
}

/// A meeting: held (on the day it was held) or only scheduled (on its planned day).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeetingMark {
    pub meeting: Slug,
    pub title: String,
    pub place: String,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub day: Instant,
    pub held: bool,
    pub event: Uuid,
}

impl Timeline {
    /// The first and last valid time of any marker or meeting, if there is one.
    pub fn span(&self) -> Option<(Instant, Instant)> {
        let times = self
            .provisions
            .iter()
            .flat_map(|p| p.markers.iter().map(|m| m.event.occurred_at))
            .chain(self.meetings.iter().map(|m| m.day));
        times.fold(None, |span, t| match span {
            None => Some((t, t)),
            Some((a, b)) => Some((a.min(t), b.max(t))),
        })
    }
}

/// The timeline of `provisions` (every provision drafted at the cut when empty).
/// A named provision that is unknown, or has no counted draft at the cut, is an error.
pub fn timeline(ledger: &Ledger, provisions: &[Slug], cut: &Cut) -> Result<Timeline> {
    let slugs = if provisions.is_empty() {
        ledger
            .slugs(Kind::Provision)?
            .iter()
            .map(|slug| {
                Slug::parse(slug)
                    .map_err(|e| Error::SledDamaged(format!("a stored slug does not parse: {e}")))
            })
            .collect::<Result<Vec<Slug>>>()?
    } else {
        provisions.to_vec()
    };
    let mut histories = Vec::new();
    for slug in slugs {
        let records = query::history_records(ledger, Kind::Provision, &slug)?;
        let outside = query::outside_removers(ledger, &records)?;
        histories.push((slug, records, outside));
    }
    let names = Names::of(
        ledger,
        histories
            .iter()
            .flat_map(|(_, records, _)| records.iter().map(|r| &*r.event)),
        cut,
    )?;
    let mut lines = Vec::new();
    for (slug, records, outside) in &histories {
        match provision_line(slug, records, outside, cut, &names) {
            Some(line) => lines.push(line),
            None if provisions.is_empty() => {}
            None => return Err(crate::query::no_counted_draft(slug, cut)),
        }
    }
    let mut meetings = Vec::new();
    for slug in ledger.slugs(Kind::Meeting)? {
        let slug = Slug::parse(&slug)
            .map_err(|e| Error::SledDamaged(format!("a stored slug does not parse: {e}")))?;
        let records = query::history_records(ledger, Kind::Meeting, &slug)?;
        let outside = query::outside_removers(ledger, &records)?;
        meetings.extend(meeting_mark(&slug, &records, &outside, cut));
    }
    meetings.sort_by(|a, b| (a.day, &a.meeting).cmp(&(b.day, &b.meeting)));
    let last_seq = cut.known().last_seq(ledger)?;
    let last_record = match last_seq {
        0 => None,
        seq => ledger.record(seq)?.map(|r| LastRecord {
            seq,
            recorded_at: r.recorded_at,
        }),
    };
    Ok(Timeline {
        at: cut.at,
        known_at: cut.known_at,
        known_seq: cut.known_seq,
        last_record,
        provisions: lines,
        meetings,
    })
}

/// A provision's row from its history records, or `None` without a counted draft.
/// `outside`: removers of these records that are not among them
/// ([`query::outside_removers`]).
pub fn provision_line(
    provision: &Slug,
    records: &[Record],
    outside: &[Record],
    cut: &Cut,
    names: &Names,
) -> Option<ProvisionLine> {
    let counted = query::counted(records, outside, cut);
    let mut title = None;
    let mut bands: Vec<Band> = Vec::new();
    let mut pending: Option<(Status, Uuid)> = None;
    for record in &counted {
        let event = &record.event;
        match &event.body {
            Body::ProvisionDrafted {
                provision: p,
                title: t,
                ..
            } if p == provision && title.is_none() => {
                title = Some(t.clone());
                let (status, id) = pending.unwrap_or((Status::Proposed, event.id));
                bands.push(Band {
                    status,
                    from: event.occurred_at,
                    to: None,
                    event: id,
                });
            }
            Body::StatusChanged {
                provision: p,
                status,
                ..
            } if p == provision => {
                pending = Some((*status, event.id));
                if let Some(last) = bands.last_mut() {
                    if last.from == event.occurred_at {
                        // Set on the same instant: the later one is what held.
                        last.status = *status;
                        last.event = event.id;
                    } else {
                        last.to = Some(event.occurred_at);
                        bands.push(Band {
                            status: *status,
                            from: event.occurred_at,
                            to: None,
                            event: event.id,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    let title = title?;
    let mut fold = Projection::default();
    for record in &counted {
        fold.apply_for(provision, record.seq, &record.event);
    }
    let conflicts = fold
        .state(provision)
        .map(|state| state.conflicts)
        .unwrap_or_default();
    let removed = query::removals(records, outside, cut.known());
    let cited = citations(records, &removed, cut.known());
    let mut markers: Vec<Marker> = records
        .iter()
        .filter(|r| r.event.occurred_at <= cut.at && cut.known().knows(r))
        .filter(|r| !matches!(r.event.body, Body::EventRetracted { .. }))
        .filter(|r| cut.filter.admits(&r.event, cited.get(&r.event.id)))
        .map(|r| Marker {
            removed_by: removed.get(&r.event.id).map(|by| by.event.id),
            ..marker(r, &cited, names)
        })
        .collect();
    markers.sort_by_key(|m| (m.event.occurred_at, m.event.seq));
    Some(ProvisionLine {
        provision: provision.clone(),
        title,
        bands,
        markers,
        conflicts,
    })
}

fn marker(record: &Record, cited: &crate::provenance::Citations, names: &Names) -> Marker {
    let event = &record.event;
    let (headline, detail) = describe(event, names);
    Marker {
        event: EventRef::new(record, cited),
        day: written_day(record),
        who: event.who().map(str::to_string),
        speaker: names.who(event).map(str::to_string),
        headline,
        detail,
        removed_by: None,
    }
}

/// The calendar day of a record's `occurred_at` in the offset it was written with
/// (a day as written is that day): where a reader of the source would put it.
pub fn written_day(record: &Record) -> chrono::NaiveDate {
    let written = record
        .object
        .get("occurred_at")
        .and_then(serde_json::Value::as_str);
    written
        .and_then(|text| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .or_else(|| {
                    chrono::DateTime::parse_from_rfc3339(text)
                        .ok()
                        .map(|t| t.date_naive())
                })
        })
        .unwrap_or_else(|| record.event.occurred_at.date_naive())
}

/// A meeting's mark from its history records: held if a `meeting_held` counts, else
/// scheduled on its latest counted `planned_for`, else `None`.
pub fn meeting_mark(
    meeting: &Slug,
    records: &[Record],
    outside: &[Record],
    cut: &Cut,
) -> Option<MeetingMark> {
    let mut title = None;
    let mut planned: Option<(Instant, String, Uuid)> = None;
    let mut held: Option<MeetingMark> = None;
    for record in query::counted(records, outside, cut) {
        let event = &record.event;
        match &event.body {
            Body::MeetingScheduled {
                meeting: m,
                title: t,
                place,
                planned_for,
                ..
            } if m == meeting => {
                title = Some(t.clone());
                if let Ok(day) = time::parse_occurred_at(planned_for) {
                    planned = Some((day, place.clone(), event.id));
                }
            }
            Body::MeetingHeld {
                meeting: m,
                title: t,
                place,
                ..
            } if m == meeting => {
                held = Some(MeetingMark {
                    meeting: meeting.clone(),
                    title: t.clone().or(title.clone()).unwrap_or(meeting.to_string()),
                    place: place.clone(),
                    day: event.occurred_at,
                    held: true,
                    event: event.id,
                });
            }
            _ => {}
        }
    }
    held.or_else(|| {
        let (day, place, event) = planned?;
        Some(MeetingMark {
            meeting: meeting.clone(),
            title: title.unwrap_or(meeting.to_string()),
            place,
            day,
            held: false,
            event,
        })
    })
}

/// An event in a few words (the headline), parties and actors by their registered
/// names, and the text it carries (the detail).
pub fn describe(event: &Event, names: &Names) -> (String, Option<String>) {
    let joined = |parts: &[&Option<String>]| {
        let parts: Vec<&str> = parts.iter().filter_map(|p| p.as_deref()).collect();
        (!parts.is_empty()).then(|| parts.join("\n"))
    };
    match &event.body {
        Body::PartyRegistered { name, .. } => (format!("Party registered: {name}"), None),
        Body::ActorRegistered {
            name, role, party, ..
        } => (
            format!("Actor registered: {name} ({})", names.party(party)),
            role.clone(),
        ),
        Body::ProposalTabled {
            proposal, title, ..
        } => (format!("Proposal {proposal} tabled"), Some(title.clone())),
        Body::ProvisionDrafted { proposal, text, .. } => {
            (format!("Drafted in {proposal}"), Some(text.clone()))
        }
        Body::ProvisionAmended {
            proposal,
            text,
            summary,
            ..
        } => (
            format!("Amended in {proposal}"),
            joined(&[summary, &Some(text.clone())]),
        ),
        Body::ProvisionDropped {
            proposal, reason, ..
        } => (format!("Dropped from {proposal}"), reason.clone()),
        Body::StatusChanged { status, note, .. } => (format!("Status: {status}"), note.clone()),
        Body::PositionStated {
            party,
            stance,
            summary,
            ..
        } => (format!("{} {stance}", names.party(party)), summary.clone()),
        Body::MeetingScheduled {
            meeting,
            title,
            planned_for,
            ..
        } => (
            format!("Meeting {meeting} scheduled for {planned_for}"),
            Some(title.clone()),
        ),
        Body::MeetingHeld {
            meeting,
            title,
            outcome,
            ..
        } => (
            format!(
                "Meeting held: {}",
                title.as_deref().unwrap_or(meeting.as_str())
            ),
            outcome.clone(),
        ),
        Body::StatementMade { quote, .. } => (
            format!(
                "Statement by {}",
                names.who(event).unwrap_or("an unnamed speaker")
            ),
            Some(quote.clone()),
        ),
        Body::EventRetracted { target, reason } => {
            (format!("Retraction of {target}"), Some(reason.clone()))
        }
        Body::SourceCited { target } => {
            (format!("Source cited for {target}"), Some(event.outlets()))
        }
    }
}

/// Negotiation rounds: one per held meeting, from the day after the previous one (or
/// `start` for the first) to the meeting's day. Keyed by the meeting's day.
pub fn rounds(timeline: &Timeline, start: Instant) -> Vec<(Instant, Instant, &MeetingMark)> {
    let held: BTreeMap<(Instant, &Slug), &MeetingMark> = timeline
        .meetings
        .iter()
        .filter(|m| m.held)
        .map(|m| ((m.day, &m.meeting), m))
        .collect();
    let mut out = Vec::new();
    let mut from = start;
    for ((day, _), meeting) in held {
        let day = time::start_of_day(day.date_naive());
        out.push((from.min(day), day, meeting));
        from = day + chrono::TimeDelta::days(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_event;
    use serde_json::{json, Value};

    fn record(seq: u64, recorded: &str, value: Value) -> Record {
        let Value::Object(mut map) = value else {
            panic!()
        };
        map.insert("id".into(), json!(Uuid::from_u128(seq as u128).to_string()));
        let event = parse_event(&mut map, &mut Uuid::nil).unwrap();
        Record {
            seq,
            recorded_at: time::parse_occurred_at(recorded).unwrap(),
            prev_hash: String::new(),
            hash: String::new(),
            event: event.into(),
            object: map.into(),
        }
    }

    fn cut(at: &str, known_at: &str) -> Cut {
        Cut::new(
            time::end_of_day(time::parse_occurred_at(at).unwrap().date_naive()),
            time::end_of_day(time::parse_occurred_at(known_at).unwrap().date_naive()),
        )
    }

    fn nato_records() -> Vec<Record> {
        vec![
            record(
                1,
                "2025-12-01",
                json!({"type": "provision_drafted", "occurred_at": "2025-11-20", "provision": "nato", "proposal": "plan", "title": "NATO", "text": "ban"}),
            ),
            record(
                2,
                "2025-12-01",
                json!({"type": "status_changed", "occurred_at": "2025-11-23", "provision": "nato", "status": "contested"}),
            ),
            record(
                3,
                "2025-12-01",
                json!({"type": "statement_made", "occurred_at": "2025-11-30", "actor": "rubio", "quote": "no", "provisions": ["nato"]}),
            ),
            record(
                4,
                "2025-12-01",
                json!({"type": "status_changed", "occurred_at": "2025-11-30", "provision": "nato", "status": "under_negotiation"}),
            ),
            record(
                5,
                "2025-12-02",
                json!({"type": "statement_made", "occurred_at": "2025-12-01", "attribution": "an official", "quote": "no", "provisions": ["nato"], "supersedes": Uuid::from_u128(3).to_string()}),
            ),
        ]
    }

    #[test]
    fn bands_follow_the_counted_status_changes() {
        let nato = Slug::parse("nato").unwrap();
        let line = provision_line(
            &nato,
            &nato_records(),
            &[],
            &cut("2025-12-05", "2025-12-05"),
            &Names::none(),
        )
        .unwrap();
        let statuses: Vec<(Status, String, Option<String>)> = line
            .bands
            .iter()
            .map(|b| {
                (
                    b.status,
                    time::format(&b.from),
                    b.to.as_ref().map(time::format),
                )
            })
            .collect();
        assert_eq!(
            statuses,
            vec![
                (
                    Status::Proposed,
                    "2025-11-20T00:00:00Z".into(),
                    Some("2025-11-23T00:00:00Z".into())
                ),
                (
                    Status::Contested,
                    "2025-11-23T00:00:00Z".into(),
                    Some("2025-11-30T00:00:00Z".into())
                ),
                (
                    Status::UnderNegotiation,
                    "2025-11-30T00:00:00Z".into(),
                    None
                ),
            ]
        );
        assert_eq!(line.markers.len(), 5);
        assert_eq!(line.markers[2].removed_by, Some(Uuid::from_u128(5)));
    }

    #[test]
    fn the_record_time_cut_hides_later_knowledge() {
        let nato = Slug::parse("nato").unwrap();
        let line = provision_line(
            &nato,
            &nato_records(),
            &[],
            &cut("2025-12-05", "2025-12-01"),
            &Names::none(),
        )
        .unwrap();
        assert_eq!(line.markers.len(), 4, "the correction was not yet known");
        assert!(line.markers.iter().all(|m| m.removed_by.is_none()));
        let early = provision_line(
            &nato,
            &nato_records(),
            &[],
            &cut("2025-11-25", "2025-12-05"),
            &Names::none(),
        )
        .unwrap();
        assert_eq!(early.bands.last().unwrap().status, Status::Contested);
        assert_eq!(early.bands.last().unwrap().to, None);
        assert!(provision_line(
            &nato,
            &nato_records(),
            &[],
            &cut("2025-11-19", "2025-12-05"),
            &Names::none()
        )
        .is_none());
    }
}
