//! The event model: the twelve event types of docs/format.md §2, slugs, and validation of shape.
//!
//! [`parse_event`] turns one JSON object into an [`Event`] or a one-line error naming
//! the field. It checks everything that can be checked from the object alone: the
//! type, unknown and missing fields (with a suggestion for a misspelt one), value
//! types, slug syntax, enums, times. Whether the slugs it references exist is the
//! ledger's question, answered in [`crate::append`].
//!
//! Stored records are read back the fast way, through [`Stored`], a flat struct of
//! every field that skips the checks input needs (they were made at append); `verify`
//! and `history` read them through [`parse_event`] again. A unit test holds the two
//! readers to the same event for every type. An upcaster for old shapes would live
//! here.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::suggest;
use crate::time::{self, Instant};

/// Refuses control characters in any text of a new event (at any depth, `path`
/// naming the field; stored records are never refused on reading): every output (terminal tables, HTML, Markdown, CSV, JSON) must be
/// valid for its format with any text an event can hold. Line feeds and tabs are
/// text; a carriage return, NUL, DEL, the other C0 and the C1 controls are not.
pub fn check_controls(value: &Value, path: &str) -> Result<(), String> {
    match value {
        Value::String(text) => {
            let found = text
                .chars()
                .enumerate()
                .find(|(_, c)| c.is_control() && !matches!(c, '\n' | '\t'));
            match found {
                Some((i, '\r')) => Err(format!(
                    "field `{path}`: a carriage return (U+000D) at character {}; write line breaks as \\n",
                    i + 1
                )),
                Some((i, c)) => Err(format!(
                    "field `{path}`: the control character U+{:04X} at character {}; texts may hold line breaks (\\n) and tabs, no other control characters",
                    c as u32,
                    i + 1
                )),
                None => Ok(()),
            }
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_controls(item, &format!("{path}[{i}]"))),
        Value::Object(members) => members
            .iter()
            .try_for_each(|(key, item)| check_controls(item, &format!("{path}.{key}"))),
        _ => Ok(()),
    }
}

/// A name of an entity: `[a-z0-9][a-z0-9-]*`, at most 64 characters. Shared text: a
/// clone is a reference count (a meeting may list thousands of provisions).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(std::sync::Arc<str>);

impl Slug {
    pub const MAX_LEN: usize = 64;

    pub fn parse(text: &str) -> Result<Slug, String> {
        if text.is_empty() {
            return Err("a slug cannot be empty".into());
        }
        if let Some((i, c)) = text
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || (c == '-' && i > 0)))
        {
            let what = if c == '-' {
                "cannot start with `-`".to_string()
            } else if c.is_ascii_uppercase() {
                format!("has the capital `{c}` at character {}", i + 1)
            } else if !c.is_ascii() {
                format!(
                    "has `{c}` (U+{:04X}) at character {}, which is not an ASCII letter, digit or `-`",
                    c as u32,
                    text[..i].chars().count() + 1
                )
            } else {
                format!("has `{}` at character {}", c.escape_debug(), i + 1)
            };
            return Err(format!(
                "slug `{}` {what}; slugs are lowercase ASCII letters, digits and `-`",
                text.escape_debug()
            ));
        }
        if text.len() > Slug::MAX_LEN {
            return Err(format!(
                "slug `{text}` is {} characters long; at most {} are allowed",
                text.len(),
                Slug::MAX_LEN
            ));
        }
        Ok(Slug(text.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Slug, D::Error> {
        let text = String::deserialize(d)?;
        Slug::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Slug {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Declares a string enum whose parse error lists the values and suggests the nearest.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Result<$name, String> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        concat!("unknown ", $what, " `{}`{}; one of: {}"),
                        text.escape_debug(),
                        suggest(text, [$($text),+]),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let text = String::deserialize(d)?;
                $name::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Where a provision stands in the negotiation.
    Status, "status" {
        Proposed = "proposed",
        Contested = "contested",
        UnderNegotiation = "under_negotiation",
        AgreedInPrinciple = "agreed_in_principle",
        Agreed = "agreed",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
        Superseded = "superseded",
    }
);

string_enum!(
    /// A party's stance on a provision.
    Stance, "stance" {
        Supports = "supports",
        Opposes = "opposes",
        Conditional = "conditional",
        Undecided = "undecided",
    }
);

string_enum!(
    /// The kinds of named entity.
    Kind, "entity kind" {
        Party = "party",
        Actor = "actor",
        Proposal = "proposal",
        Provision = "provision",
        Meeting = "meeting",
    }
);

/// Where a fact was reported.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub outlet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
}

/// The type-specific part of an event.
///
/// Read as an adjacently tagged enum (`{"a": type, "b": fields}`, tag first) rather
/// than internally tagged: serde buffers an internally tagged object, which loses
/// the path of a bad field, and every error must name its field.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "a", content = "b", rename_all = "snake_case")]
pub enum Body {
    PartyRegistered {
        party: Slug,
        name: String,
    },
    ActorRegistered {
        actor: Slug,
        name: String,
        party: Slug,
        #[serde(default)]
        role: Option<String>,
    },
    ProposalTabled {
        proposal: Slug,
        title: String,
        parties: Vec<Slug>,
        #[serde(default)]
        authors: Vec<Slug>,
        #[serde(default)]
        responds_to: Option<Slug>,
        #[serde(default)]
        meeting: Option<Slug>,
    },
    ProvisionDrafted {
        provision: Slug,
        proposal: Slug,
        title: String,
        text: String,
        #[serde(default)]
        topic: Option<String>,
    },
    ProvisionAmended {
        provision: Slug,
        proposal: Slug,
        text: String,
        #[serde(default)]
        summary: Option<String>,
    },
    ProvisionDropped {
        provision: Slug,
        proposal: Slug,
        #[serde(default)]
        reason: Option<String>,
    },
    StatusChanged {
        provision: Slug,
        status: Status,
        #[serde(default)]
        note: Option<String>,
    },
    PositionStated {
        provision: Slug,
        party: Slug,
        stance: Stance,
        #[serde(default)]
        summary: Option<String>,
    },
    MeetingScheduled {
        meeting: Slug,
        title: String,
        place: String,
        planned_for: String,
        #[serde(default)]
        participants: Vec<Slug>,
    },
    MeetingHeld {
        meeting: Slug,
        #[serde(default)]
        title: Option<String>,
        place: String,
        #[serde(default)]
        participants: Vec<Slug>,
        #[serde(default)]
        provisions: Vec<Slug>,
        #[serde(default)]
        outcome: Option<String>,
    },
    StatementMade {
        quote: String,
        #[serde(default)]
        meeting: Option<Slug>,
        #[serde(default)]
        provisions: Vec<Slug>,
    },
    EventRetracted {
        target: Uuid,
        reason: String,
    },
}

/// One event type's fields: (name, required), the type-specific ones only.
pub struct TypeSpec {
    pub name: &'static str,
    pub fields: &'static [(&'static str, bool)],
}

/// The twelve types of docs/format.md §2 and their own fields, in the order docs/format.md lists them.
pub const TYPES: &[TypeSpec] = &[
    TypeSpec {
        name: "party_registered",
        fields: &[("party", true), ("name", true)],
    },
    TypeSpec {
        name: "actor_registered",
        fields: &[
            ("actor", true),
            ("name", true),
            ("party", true),
            ("role", false),
        ],
    },
    TypeSpec {
        name: "proposal_tabled",
        fields: &[
            ("proposal", true),
            ("title", true),
            ("parties", true),
            ("authors", false),
            ("responds_to", false),
            ("meeting", false),
        ],
    },
    TypeSpec {
        name: "provision_drafted",
        fields: &[
            ("provision", true),
            ("proposal", true),
            ("title", true),
            ("text", true),
            ("topic", false),
        ],
    },
    TypeSpec {
        name: "provision_amended",
        fields: &[
            ("provision", true),
            ("proposal", true),
            ("text", true),
            ("summary", false),
        ],
    },
    TypeSpec {
        name: "provision_dropped",
        fields: &[("provision", true), ("proposal", true), ("reason", false)],
    },
    TypeSpec {
        name: "status_changed",
        fields: &[("provision", true), ("status", true), ("note", false)],
    },
    TypeSpec {
        name: "position_stated",
        fields: &[
            ("provision", true),
            ("party", true),
            ("stance", true),
            ("summary", false),
        ],
    },
    TypeSpec {
        name: "meeting_scheduled",
        fields: &[
            ("meeting", true),
            ("title", true),
            ("place", true),
            ("planned_for", true),
            ("participants", false),
        ],
    },
    TypeSpec {
        name: "meeting_held",
        fields: &[
            ("meeting", true),
            ("title", false),
            ("place", true),
            ("participants", false),
            ("provisions", false),
            ("outcome", false),
        ],
    },
    TypeSpec {
        name: "statement_made",
        fields: &[("quote", true), ("meeting", false), ("provisions", false)],
    },
    TypeSpec {
        name: "event_retracted",
        fields: &[("target", true), ("reason", true)],
    },
];

/// Fields every event may carry (`actor` is type-specific in `actor_registered`).
pub const COMMON_FIELDS: &[&str] = &[
    "type",
    "occurred_at",
    "id",
    "source",
    "actor",
    "attribution",
    "supersedes",
];

/// Fields the ledger adds to a stored record (docs/format.md §4).
pub const RECORD_FIELDS: &[&str] = &["seq", "recorded_at", "prev_hash", "hash"];

/// One immutable fact, parsed and checked for shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub occurred_at: Instant,
    pub source: Option<Source>,
    /// The registered actor who did or said it.
    pub actor: Option<Slug>,
    /// Free text where no actor can be named.
    pub attribution: Option<String>,
    /// An earlier event this one corrects.
    pub supersedes: Option<Uuid>,
    pub body: Body,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    occurred_at: String,
    #[serde(default)]
    id: Option<Uuid>,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    actor: Option<Slug>,
    #[serde(default)]
    attribution: Option<String>,
    #[serde(default)]
    supersedes: Option<Uuid>,
}

/// Parses one event object. `object` must not hold the stored-record fields.
/// Without an `id`, `new_id` gives one and it is written into `object`, so the
/// object is exactly what will be stored.
pub fn parse_event(
    object: &mut Map<String, Value>,
    new_id: &mut dyn FnMut() -> Uuid,
) -> Result<Event, String> {
    let event = parse_event_owned(object.clone(), new_id)?;
    if !object.contains_key("id") {
        object.insert("id".into(), Value::String(event.id.to_string()));
    }
    Ok(event)
}

/// [`parse_event`] for an object the caller no longer needs (reading stored records):
/// its values move into the event instead of being copied.
pub fn parse_event_owned(
    object: Map<String, Value>,
    new_id: &mut dyn FnMut() -> Uuid,
) -> Result<Event, String> {
    let type_name = match object.get("type") {
        None => return Err("missing field `type`".into()),
        Some(Value::String(t)) => t.clone(),
        Some(other) => {
            return Err(format!(
                "field `type`: expected a string, found {}",
                json_kind(other)
            ))
        }
    };
    let Some(spec) = TYPES.iter().find(|t| t.name == type_name) else {
        return Err(format!(
            "field `type`: unknown event type `{}`{}",
            type_name.escape_debug(),
            suggest(&type_name, TYPES.iter().map(|t| t.name))
        ));
    };
    let own = |name: &str| spec.fields.iter().any(|(f, _)| *f == name);
    for key in object.keys() {
        if RECORD_FIELDS.contains(&key.as_str()) {
            return Err(format!(
                "field `{key}` is assigned by the ledger and cannot be given"
            ));
        }
        if !COMMON_FIELDS.contains(&key.as_str()) && !own(key) {
            let known = COMMON_FIELDS
                .iter()
                .chain(spec.fields.iter().map(|(f, _)| f))
                .copied();
            return Err(format!(
                "unknown field `{}` for {type_name}{}",
                key.escape_debug(),
                suggest(key, known)
            ));
        }
    }
    if !object.contains_key("occurred_at") {
        return Err(format!("{type_name} needs field `occurred_at`"));
    }
    for (field, required) in spec.fields {
        match object.get(*field) {
            None | Some(Value::Null) if *required => {
                return Err(format!("{type_name} needs field `{field}`"));
            }
            Some(Value::String(s)) if *required && s.trim().is_empty() => {
                return Err(format!("field `{field}` cannot be empty"));
            }
            _ => {}
        }
    }

    // Split the object into the common header and the type-specific body.
    let mut header = Map::new();
    let mut body = Map::new();
    for (key, value) in object {
        if key == "type" {
            continue;
        }
        if COMMON_FIELDS.contains(&key.as_str()) && !own(&key) {
            header.insert(key, value);
        } else {
            body.insert(key, value);
        }
    }
    for field in ["id", "supersedes"] {
        check_uuid_form(header.get(field), field)?;
    }
    check_uuid_form(body.get("target"), "target")?;
    let header: Header = from_value(Value::Object(header))?;
    let mut tagged = Map::new();
    tagged.insert("a".into(), Value::String(type_name.clone()));
    tagged.insert("b".into(), Value::Object(body));
    let body: Body = from_value(Value::Object(tagged))?;

    let occurred_at = time::parse_occurred_at(&header.occurred_at)
        .map_err(|e| format!("field `occurred_at`: {}", e))?;
    if let Some(source) = &header.source {
        if source.outlet.trim().is_empty() {
            return Err("field `source.outlet` cannot be empty".into());
        }
        if let Some(published) = &source.published_at {
            time::check_date_or_instant(published)
                .map_err(|e| format!("field `source.published_at`: {}", e))?;
        }
    }
    check_body(&body)?;
    if matches!(body, Body::StatementMade { .. })
        && header.actor.is_none()
        && header.attribution.is_none()
    {
        return Err(
            "statement_made needs field `actor` (a registered actor) or `attribution` (free text)"
                .into(),
        );
    }
    if matches!(body, Body::EventRetracted { .. }) && header.supersedes.is_some() {
        return Err("an event_retracted cannot also carry `supersedes`".into());
    }
    let id = header.id.unwrap_or_else(new_id);
    if header.supersedes == Some(id) {
        return Err("field `supersedes`: an event cannot supersede itself".into());
    }
    Ok(Event {
        id,
        occurred_at,
        source: header.source,
        actor: header.actor,
        attribution: header.attribution,
        supersedes: header.supersedes,
        body,
    })
}

/// Ids are compared as text wherever they appear (`supersedes`, `target`,
/// `retracted_by`, exports), so they are written one way: lowercase, hyphenated.
fn check_uuid_form(value: Option<&Value>, field: &str) -> Result<(), String> {
    let Some(Value::String(text)) = value else {
        return Ok(());
    };
    match Uuid::parse_str(text) {
        Ok(id) if id.hyphenated().to_string() != *text => Err(format!(
            "field `{field}`: write the UUID as `{}` (lowercase, with hyphens)",
            id.hyphenated()
        )),
        Ok(_) => Ok(()),
        // The command line takes a prefix or `seq:N` for an id; an event in JSON
        // carries the whole id, as stored records do.
        Err(_) if field == "id" => Err(format!(
            "field `id`: `{}` is not a UUID (such as `0190aaaa-0000-7000-8000-000000000001`)",
            text.escape_debug()
        )),
        Err(_) => Err(format!(
            "field `{field}`: `{}` is not a UUID; an event in JSON names another by its whole id (the command line's `retract`, `--target` and `--supersedes` also take a unique prefix or `seq:N`)",
            text.escape_debug()
        )),
    }
}

fn check_body(body: &Body) -> Result<(), String> {
    match body {
        Body::MeetingScheduled { planned_for, .. } => time::check_date_or_instant(planned_for)
            .map_err(|e| format!("field `planned_for`: {}", e)),
        Body::ProposalTabled { parties, .. } if parties.is_empty() => {
            Err("field `parties`: a proposal needs at least one party".into())
        }
        _ => Ok(()),
    }
}

fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let path = path.strip_prefix("b.").unwrap_or(&path).to_string();
        let inner = err.into_inner().to_string();
        if path == "." {
            inner
        } else {
            format!("field `{path}`: {inner}")
        }
    })
}

/// How a JSON value is named in messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Every field of every event type and of a stored record, read in one pass:
/// the fast way to read a stored record back, which was fully checked when it was
/// appended. Input is never read this way (see [`parse_event`]).
#[derive(Deserialize)]
pub struct Stored {
    #[serde(rename = "type")]
    type_name: String,
    occurred_at: String,
    id: Uuid,
    pub seq: u64,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    source: Option<Source>,
    actor: Option<Slug>,
    attribution: Option<String>,
    supersedes: Option<Uuid>,
    party: Option<Slug>,
    name: Option<String>,
    role: Option<String>,
    proposal: Option<Slug>,
    title: Option<String>,
    parties: Option<Vec<Slug>>,
    authors: Option<Vec<Slug>>,
    responds_to: Option<Slug>,
    meeting: Option<Slug>,
    provision: Option<Slug>,
    text: Option<String>,
    topic: Option<String>,
    summary: Option<String>,
    reason: Option<String>,
    status: Option<Status>,
    note: Option<String>,
    stance: Option<Stance>,
    planned_for: Option<String>,
    place: Option<String>,
    participants: Option<Vec<Slug>>,
    provisions: Option<Vec<Slug>>,
    outcome: Option<String>,
    quote: Option<String>,
    target: Option<Uuid>,
}

impl Stored {
    /// The event of a stored record.
    pub fn into_event(self) -> Result<Event, String> {
        fn need<T>(value: Option<T>, field: &str) -> Result<T, String> {
            value.ok_or_else(|| format!("a stored record lacks field `{field}`"))
        }
        let occurred_at = time::parse_occurred_at(&self.occurred_at)?;
        let mut actor = self.actor;
        let body = match self.type_name.as_str() {
            "party_registered" => Body::PartyRegistered {
                party: need(self.party, "party")?,
                name: need(self.name, "name")?,
            },
            "actor_registered" => Body::ActorRegistered {
                actor: need(actor.take(), "actor")?,
                name: need(self.name, "name")?,
                party: need(self.party, "party")?,
                role: self.role,
            },
            "proposal_tabled" => Body::ProposalTabled {
                proposal: need(self.proposal, "proposal")?,
                title: need(self.title, "title")?,
                parties: need(self.parties, "parties")?,
                authors: self.authors.unwrap_or_default(),
                responds_to: self.responds_to,
                meeting: self.meeting,
            },
            "provision_drafted" => Body::ProvisionDrafted {
                provision: need(self.provision, "provision")?,
                proposal: need(self.proposal, "proposal")?,
                title: need(self.title, "title")?,
                text: need(self.text, "text")?,
                topic: self.topic,
            },
            "provision_amended" => Body::ProvisionAmended {
                provision: need(self.provision, "provision")?,
                proposal: need(self.proposal, "proposal")?,
                text: need(self.text, "text")?,
                summary: self.summary,
            },
            "provision_dropped" => Body::ProvisionDropped {
                provision: need(self.provision, "provision")?,
                proposal: need(self.proposal, "proposal")?,
                reason: self.reason,
            },
            "status_changed" => Body::StatusChanged {
                provision: need(self.provision, "provision")?,
                status: need(self.status, "status")?,
                note: self.note,
            },
            "position_stated" => Body::PositionStated {
                provision: need(self.provision, "provision")?,
                party: need(self.party, "party")?,
                stance: need(self.stance, "stance")?,
                summary: self.summary,
            },
            "meeting_scheduled" => Body::MeetingScheduled {
                meeting: need(self.meeting, "meeting")?,
                title: need(self.title, "title")?,
                place: need(self.place, "place")?,
                planned_for: need(self.planned_for, "planned_for")?,
                participants: self.participants.unwrap_or_default(),
            },
            "meeting_held" => Body::MeetingHeld {
                meeting: need(self.meeting, "meeting")?,
                title: self.title,
                place: need(self.place, "place")?,
                participants: self.participants.unwrap_or_default(),
                provisions: self.provisions.unwrap_or_default(),
                outcome: self.outcome,
            },
            "statement_made" => Body::StatementMade {
                quote: need(self.quote, "quote")?,
                meeting: self.meeting,
                provisions: self.provisions.unwrap_or_default(),
            },
            "event_retracted" => Body::EventRetracted {
                target: need(self.target, "target")?,
                reason: need(self.reason, "reason")?,
            },
            other => return Err(format!("a stored record has the unknown type `{other}`")),
        };
        Ok(Event {
            id: self.id,
            occurred_at,
            source: self.source,
            actor,
            attribution: self.attribution,
            supersedes: self.supersedes,
            body,
        })
    }
}

impl Event {
    pub fn type_name(&self) -> &'static str {
        match self.body {
            Body::PartyRegistered { .. } => "party_registered",
            Body::ActorRegistered { .. } => "actor_registered",
            Body::ProposalTabled { .. } => "proposal_tabled",
            Body::ProvisionDrafted { .. } => "provision_drafted",
            Body::ProvisionAmended { .. } => "provision_amended",
            Body::ProvisionDropped { .. } => "provision_dropped",
            Body::StatusChanged { .. } => "status_changed",
            Body::PositionStated { .. } => "position_stated",
            Body::MeetingScheduled { .. } => "meeting_scheduled",
            Body::MeetingHeld { .. } => "meeting_held",
            Body::StatementMade { .. } => "statement_made",
            Body::EventRetracted { .. } => "event_retracted",
        }
    }

    /// The event this one takes out of the count: a retraction's target or a superseded event.
    pub fn removes(&self) -> Option<Uuid> {
        match &self.body {
            Body::EventRetracted { target, .. } => Some(*target),
            _ => self.supersedes,
        }
    }

    /// The entity this event brings into the ledger, if any.
    pub fn registers(&self) -> Option<(Kind, &Slug)> {
        match &self.body {
            Body::PartyRegistered { party, .. } => Some((Kind::Party, party)),
            Body::ActorRegistered { actor, .. } => Some((Kind::Actor, actor)),
            Body::ProposalTabled { proposal, .. } => Some((Kind::Proposal, proposal)),
            Body::ProvisionDrafted { provision, .. } => Some((Kind::Provision, provision)),
            Body::MeetingScheduled { meeting, .. } | Body::MeetingHeld { meeting, .. } => {
                Some((Kind::Meeting, meeting))
            }
            _ => None,
        }
    }

    /// The fact an event states, as a correction must restate it: its type and the
    /// entities it is about (a statement: its type only, since a correction may fix
    /// who said it and what).
    pub fn fact(&self) -> (&'static str, Vec<&Slug>) {
        let subject = match &self.body {
            Body::PartyRegistered { party, .. } => vec![party],
            Body::ActorRegistered { actor, .. } => vec![actor],
            Body::ProposalTabled { proposal, .. } => vec![proposal],
            Body::ProvisionDrafted {
                provision,
                proposal,
                ..
            }
            | Body::ProvisionAmended {
                provision,
                proposal,
                ..
            }
            | Body::ProvisionDropped {
                provision,
                proposal,
                ..
            } => vec![provision, proposal],
            Body::StatusChanged { provision, .. } => vec![provision],
            Body::PositionStated {
                provision, party, ..
            } => vec![provision, party],
            Body::MeetingScheduled { meeting, .. } | Body::MeetingHeld { meeting, .. } => {
                vec![meeting]
            }
            Body::StatementMade { .. } | Body::EventRetracted { .. } => vec![],
        };
        (self.type_name(), subject)
    }

    /// Every slug this event refers to that must already be registered, with its field name.
    pub fn references(&self) -> Vec<(Kind, &Slug, &'static str)> {
        let mut refs = Vec::new();
        if let (Some(actor), false) = (
            &self.actor,
            matches!(self.body, Body::ActorRegistered { .. }),
        ) {
            refs.push((Kind::Actor, actor, "actor"));
        }
        fn many<'e>(
            refs: &mut Vec<(Kind, &'e Slug, &'static str)>,
            kind: Kind,
            slugs: &'e [Slug],
            field: &'static str,
        ) {
            refs.extend(slugs.iter().map(|slug| (kind, slug, field)));
        }
        match &self.body {
            Body::PartyRegistered { .. } | Body::EventRetracted { .. } => {}
            Body::ActorRegistered { party, .. } => refs.push((Kind::Party, party, "party")),
            Body::ProposalTabled {
                parties,
                authors,
                responds_to,
                meeting,
                ..
            } => {
                many(&mut refs, Kind::Party, parties, "parties");
                many(&mut refs, Kind::Actor, authors, "authors");
                if let Some(p) = responds_to {
                    refs.push((Kind::Proposal, p, "responds_to"));
                }
                if let Some(m) = meeting {
                    refs.push((Kind::Meeting, m, "meeting"));
                }
            }
            Body::ProvisionDrafted { proposal, .. } => {
                refs.push((Kind::Proposal, proposal, "proposal"))
            }
            Body::ProvisionAmended {
                provision,
                proposal,
                ..
            }
            | Body::ProvisionDropped {
                provision,
                proposal,
                ..
            } => {
                refs.push((Kind::Provision, provision, "provision"));
                refs.push((Kind::Proposal, proposal, "proposal"));
            }
            Body::StatusChanged { provision, .. } => {
                refs.push((Kind::Provision, provision, "provision"))
            }
            Body::PositionStated {
                provision, party, ..
            } => {
                refs.push((Kind::Provision, provision, "provision"));
                refs.push((Kind::Party, party, "party"));
            }
            Body::MeetingScheduled { participants, .. } => {
                many(&mut refs, Kind::Actor, participants, "participants")
            }
            Body::MeetingHeld {
                participants,
                provisions,
                ..
            } => {
                many(&mut refs, Kind::Actor, participants, "participants");
                many(&mut refs, Kind::Provision, provisions, "provisions");
            }
            Body::StatementMade {
                meeting,
                provisions,
                ..
            } => {
                if let Some(m) = meeting {
                    refs.push((Kind::Meeting, m, "meeting"));
                }
                many(&mut refs, Kind::Provision, provisions, "provisions");
            }
        }
        refs
    }

    /// The entities whose history this event belongs to (what the touch index lists).
    pub fn touches(&self) -> Vec<(Kind, &Slug)> {
        // A meeting may list thousands of provisions: dedup in linear time.
        let mut seen = std::collections::HashSet::new();
        self.mentions()
            .into_iter()
            .filter(|touch| seen.insert(*touch))
            .collect()
    }

    /// Whether the event is about this entity (see [`Event::touches`]), without
    /// building the deduplicated list.
    pub fn is_about(&self, kind: Kind, slug: &Slug) -> bool {
        self.mentions()
            .iter()
            .any(|(k, s)| *k == kind && *s == slug)
    }

    /// The entities of [`Event::touches`], in order, possibly more than once.
    fn mentions(&self) -> Vec<(Kind, &Slug)> {
        let mut out: Vec<(Kind, &Slug)> = Vec::new();
        let mut add = |kind, slug| out.push((kind, slug));
        match &self.body {
            Body::ProposalTabled {
                proposal, meeting, ..
            } => {
                add(Kind::Proposal, proposal);
                if let Some(m) = meeting {
                    add(Kind::Meeting, m);
                }
            }
            Body::ProvisionDrafted {
                provision,
                proposal,
                ..
            }
            | Body::ProvisionAmended {
                provision,
                proposal,
                ..
            }
            | Body::ProvisionDropped {
                provision,
                proposal,
                ..
            } => {
                add(Kind::Provision, provision);
                add(Kind::Proposal, proposal);
            }
            Body::StatusChanged { provision, .. } | Body::PositionStated { provision, .. } => {
                add(Kind::Provision, provision)
            }
            Body::MeetingScheduled { meeting, .. } => add(Kind::Meeting, meeting),
            Body::MeetingHeld {
                meeting,
                provisions,
                ..
            } => {
                add(Kind::Meeting, meeting);
                for p in provisions {
                    add(Kind::Provision, p);
                }
            }
            Body::StatementMade {
                meeting,
                provisions,
                ..
            } => {
                if let Some(m) = meeting {
                    add(Kind::Meeting, m);
                }
                for p in provisions {
                    add(Kind::Provision, p);
                }
            }
            Body::PartyRegistered { .. }
            | Body::ActorRegistered { .. }
            | Body::EventRetracted { .. } => {}
        }
        out
    }

    /// The provisions this event is about.
    pub fn provisions(&self) -> impl Iterator<Item = &Slug> {
        self.touches()
            .into_iter()
            .filter(|(k, _)| *k == Kind::Provision)
            .map(|(_, s)| s)
    }

    /// Who: the actor's slug, or the attribution, or nothing.
    pub fn who(&self) -> Option<&str> {
        self.actor
            .as_ref()
            .map(Slug::as_str)
            .or(self.attribution.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Event, String> {
        let Value::Object(mut map) = value else {
            panic!()
        };
        parse_event(&mut map, &mut || Uuid::nil())
    }

    #[test]
    fn slugs_follow_the_contract() {
        assert!(Slug::parse("nato-membership").is_ok());
        assert!(Slug::parse("g8").is_ok());
        assert!(Slug::parse("-x")
            .unwrap_err()
            .contains("cannot start with `-`"));
        assert!(Slug::parse("Nato").unwrap_err().contains("capital `N`"));
        // A Cyrillic `а` that looks like the ASCII one.
        assert!(Slug::parse("n\u{0430}to").unwrap_err().contains("U+0430"));
        assert!(Slug::parse(&"a".repeat(65))
            .unwrap_err()
            .contains("at most 64"));
        assert!(Slug::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn every_type_parses_with_its_fields() {
        let e = parse(
            json!({"type": "status_changed", "occurred_at": "2025-11-23",
            "provision": "nato-membership", "status": "contested"}),
        )
        .unwrap();
        assert_eq!(e.type_name(), "status_changed");
        assert_eq!(
            e.provisions().map(Slug::as_str).collect::<Vec<_>>(),
            ["nato-membership"]
        );
        let e = parse(
            json!({"type": "actor_registered", "occurred_at": "2025-11-01",
            "actor": "marco-rubio", "name": "Marco Rubio", "party": "us"}),
        )
        .unwrap();
        assert_eq!(e.actor, None, "in actor_registered `actor` is the new slug");
        assert_eq!(
            e.references(),
            vec![(Kind::Party, &Slug::parse("us").unwrap(), "party")]
        );
    }

    #[test]
    fn misspelt_fields_and_values_get_a_suggestion() {
        let err = parse(
            json!({"type": "status_changed", "occurred_at": "2025-11-23",
            "provision": "nato", "staus": "contested"}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "unknown field `staus` for status_changed (did you mean `status`?)"
        );
        let err = parse(json!({"type": "status_changd", "occurred_at": "2025-11-23"})).unwrap_err();
        assert!(err.contains("did you mean `status_changed`"), "{err}");
        let err = parse(
            json!({"type": "status_changed", "occurred_at": "2025-11-23",
            "provision": "nato", "status": "agred"}),
        )
        .unwrap_err();
        assert!(
            err.starts_with("field `status`: unknown status `agred` (did you mean `agreed`?)"),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_and_missing_fields_name_the_field() {
        let err =
            parse(json!({"type": "party_registered", "occurred_at": "2025-11-23", "party": "us"}))
                .unwrap_err();
        assert_eq!(err, "party_registered needs field `name`");
        let err = parse(json!({"type": "party_registered", "occurred_at": "2025-11-23", "party": "us", "name": 5}))
            .unwrap_err();
        assert!(
            err.starts_with("field `name`: invalid type: integer `5`"),
            "{err}"
        );
        let err = parse(
            json!({"type": "proposal_tabled", "occurred_at": "2025-11-23", "proposal": "p",
            "title": "t", "parties": ["us", "Bad"]}),
        )
        .unwrap_err();
        assert!(err.starts_with("field `parties[1]`: slug `Bad`"), "{err}");
        let err =
            parse(json!({"type": "statement_made", "occurred_at": "2025-11-23", "quote": "q"}))
                .unwrap_err();
        assert!(err.contains("`actor`"), "{err}");
        let err = parse(
            json!({"type": "party_registered", "occurred_at": "2025-11-23", "party": "us",
            "name": "US", "source": {"outlet": "CNN", "link": "x"}}),
        )
        .unwrap_err();
        assert!(err.contains("unknown field `link`"), "{err}");
    }

    #[test]
    fn impossible_dates_are_named_as_such() {
        let date = |text: &str| {
            parse(json!({"type": "party_registered", "occurred_at": text, "party": "us", "name": "US"}))
                .unwrap_err()
        };
        assert_eq!(
            date("2025-02-30"),
            "field `occurred_at`: `2025-02-30` is not a date: 2025-02 has days 01 to 28, not 30"
        );
        assert_eq!(
            date("2024-02-30T10:00:00Z"),
            "field `occurred_at`: `2024-02-30T10:00:00Z` is not a date: 2024-02 has days 01 to 29, not 30"
        );
        assert_eq!(
            date("2025-13-01"),
            "field `occurred_at`: `2025-13-01` is not a date: month 13 does not exist (01 to 12)"
        );
        assert_eq!(
            date("2025-11-00"),
            "field `occurred_at`: `2025-11-00` is not a date: 2025-11 has days 01 to 30, not 00"
        );
        // A valid date with another problem keeps the parser's message.
        assert!(date("2025-12-01T10:00:00").contains("has no UTC offset"));
        assert!(date("2025-12-03T25:00:00Z").contains("25:00:00 is not a time of day"));
        assert!(date("soon").contains("`soon` is not a day"));
    }

    #[test]
    fn a_missing_id_is_assigned_and_written_into_the_object() {
        let mut map = json!({"type": "party_registered", "occurred_at": "2025-11-23", "party": "us", "name": "US"})
            .as_object()
            .unwrap()
            .clone();
        let id = Uuid::from_u128(7);
        let e = parse_event(&mut map, &mut || id).unwrap();
        assert_eq!(e.id, id);
        assert_eq!(map["id"], json!(id.to_string()));
    }

    #[test]
    fn the_type_table_matches_the_parser() {
        for spec in TYPES {
            let mut map = Map::new();
            map.insert("type".into(), json!(spec.name));
            map.insert("occurred_at".into(), json!("2025-11-23"));
            map.insert("actor".into(), json!("someone"));
            for (field, _) in spec.fields {
                let value = match *field {
                    "parties" | "authors" | "participants" | "provisions" => json!(["x"]),
                    "status" => json!("agreed"),
                    "stance" => json!("supports"),
                    "planned_for" => json!("2025-12-01"),
                    "target" => json!(Uuid::from_u128(1).to_string()),
                    _ => json!("x"),
                };
                map.insert(field.to_string(), value);
            }
            let e = parse_event(&mut map, &mut || Uuid::from_u128(2))
                .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
            assert_eq!(e.type_name(), spec.name);
        }
    }
}
