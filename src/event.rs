//! The event model: the thirteen event types of docs/format.md §2 (one declaration: `event_types!`), slugs, and validation of shape.
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
    each_leaf(value, path, &|value, path| {
        let Value::String(text) = value else {
            return Ok(());
        };
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
    })
}

/// Calls `check` with every value in `value` that is no array or object (strings,
/// numbers, booleans, nulls), at any depth, and the path that names it
/// (`source.url`, `sources[0].via`); the first error.
fn each_leaf(
    value: &Value,
    path: &str,
    check: &dyn Fn(&Value, &str) -> Result<(), String>,
) -> Result<(), String> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| each_leaf(item, &format!("{path}[{i}]"), check)),
        Value::Object(members) => members
            .iter()
            .try_for_each(|(key, item)| each_leaf(item, &format!("{path}.{key}"), check)),
        leaf => check(leaf, path),
    }
}

/// Refuses a blank text (empty, or only white space) or a `null` in any field of a
/// new event, at any depth (the error names the field: `source.url`,
/// `sources[0].via`), except the values of `parameters` (values, not texts): a
/// field with nothing to say is left out. (`"id": null` was stored as given while
/// the event got a new id, and no command could read that ledger again.) Stored
/// records are never refused on reading (an export of an earlier release may hold one).
pub fn check_blanks(object: &Map<String, Value>) -> Result<(), String> {
    // Paths are written only for the field refused (a meeting may list thousands of
    // provisions).
    fn any_blank(value: &Value) -> bool {
        match value {
            Value::String(text) => text.trim().is_empty(),
            Value::Null => true,
            Value::Array(items) => items.iter().any(any_blank),
            Value::Object(members) => members.values().any(any_blank),
            _ => false,
        }
    }
    object
        .iter()
        .filter(|(key, value)| match key.as_str() {
            "parameters" => value.is_null(),
            _ => any_blank(value),
        })
        .try_for_each(|(key, value)| check_blank(value, key))
}

/// Refuses a day written in a form only chrono reads (`+025-11-23`, the year 25) in
/// the times of a new event (`occurred_at`, `planned_for`, a source's
/// `published_at` and `retrieved_at`), naming the field; stored records keep theirs
/// ([`time::check_day_form`]).
pub fn check_time_forms(object: &Map<String, Value>) -> Result<(), String> {
    let check = |value: Option<&Value>, path: &str| match value {
        Some(Value::String(text)) => {
            time::check_day_form(text).map_err(|e| format!("field `{path}`: {e}"))
        }
        _ => Ok(()),
    };
    for field in ["occurred_at", "planned_for"] {
        check(object.get(field), field)?;
    }
    let sources: Vec<(String, &Map<String, Value>)> =
        match (object.get("source"), object.get("sources")) {
            (Some(Value::Object(one)), _) => vec![("source".to_string(), one)],
            (_, Some(Value::Array(many))) => many
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_object().map(|s| (format!("sources[{i}]"), s)))
                .collect(),
            _ => Vec::new(),
        };
    for (path, source) in sources {
        for field in ["published_at", "retrieved_at"] {
            check(source.get(field), &format!("{path}.{field}"))?;
        }
    }
    Ok(())
}

fn check_blank(value: &Value, path: &str) -> Result<(), String> {
    each_leaf(value, path, &|value, path| {
        let text = match value {
            Value::Null => {
                return Err(format!(
                    "field `{path}` is null: leave a field out when it has nothing to say{}",
                    if path == "id" {
                        " (without `id` the ledger gives the event one)"
                    } else {
                        ""
                    }
                ))
            }
            Value::String(text) => text,
            _ => return Ok(()),
        };
        if text.is_empty() {
            Err(format!("field `{path}` cannot be empty"))
        } else if text.trim().is_empty() {
            Err(format!(
                "field `{path}` cannot be empty (it holds only white space)"
            ))
        } else {
            Ok(())
        }
    })
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
            /// The values as written.
            pub const TEXTS: &'static [&'static str] = &[$($text),+];

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

string_enum!(
    /// What an event rests on: a report of it (the default), the text of a published
    /// or leaked document, or the recorder's own reading (an inference, which needs a
    /// `note` saying what it is read from).
    Basis, "basis" {
        Reported = "reported",
        Document = "document",
        Inference = "inference",
    }
);

// `string_enum!` declares the variants, so `#[default]` cannot go on one.
#[allow(clippy::derivable_impls)]
impl Default for Basis {
    fn default() -> Basis {
        Basis::Reported
    }
}

/// An Admiralty (NATO) grade of a source: reliability `A` (completely reliable) to `F`
/// (cannot be judged) and credibility `1` (confirmed by other sources) to `6` (cannot
/// be judged), written as a pair such as `B2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grade {
    /// `b'A'` to `b'F'`.
    pub reliability: u8,
    /// 1 to 6.
    pub credibility: u8,
}

impl Grade {
    /// Parses `B2`; the error says what a grade is.
    pub fn parse(text: &str) -> Result<Grade, String> {
        let bytes = text.as_bytes();
        match bytes {
            [r @ b'A'..=b'F', c @ b'1'..=b'6'] => Ok(Grade {
                reliability: *r,
                credibility: c - b'0',
            }),
            [r @ b'a'..=b'f', c @ b'1'..=b'6'] => Err(format!(
                "grade `{text}`: write the reliability letter as a capital (`{}{}`)",
                r.to_ascii_uppercase() as char,
                *c as char
            )),
            _ => Err(format!(
                "grade `{}` is not an Admiralty grade: a reliability letter A (completely reliable) to F (cannot be judged) and a credibility digit 1 (confirmed) to 6 (cannot be judged), such as `B2`",
                text.escape_debug()
            )),
        }
    }

    /// Whether this grade is at least `min` on both scales (`A` and `1` are best).
    pub fn meets(&self, min: &Grade) -> bool {
        self.reliability <= min.reliability && self.credibility <= min.credibility
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.reliability as char, self.credibility)
    }
}

impl<'de> Deserialize<'de> for Grade {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Grade, D::Error> {
        let text = String::deserialize(d)?;
        Grade::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Grade {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where a fact was reported: the outlet, and optionally the address, when it was
/// published and retrieved, through whom (`via`: "Reuters saw the document"), an
/// Admiralty [`Grade`] and the language of the report (SPEC §2, extended).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub outlet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieved_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Grade>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Source {
    /// Checks what serde cannot: a non-empty outlet, dates that are dates.
    fn check(&self, path: &str) -> Result<(), String> {
        if self.outlet.trim().is_empty() {
            return Err(format!("field `{path}.outlet` cannot be empty"));
        }
        for (name, value) in [
            ("published_at", &self.published_at),
            ("retrieved_at", &self.retrieved_at),
        ] {
            if let Some(value) = value {
                time::check_date_or_instant(value)
                    .map_err(|e| format!("field `{path}.{name}`: {e}"))?;
            }
        }
        Ok(())
    }
}

/// Structured values of a text (`{"troop_cap": 800000, "scope": "peacetime"}`): a flat
/// object of numbers, strings and booleans, by name, so that `diff` and `compare` can
/// say "600,000 -> 800,000" and conflicts are found on values.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Parameters(pub std::collections::BTreeMap<String, Value>);

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Parameters, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        for (name, value) in &map {
            if !matches!(value, Value::Number(_) | Value::String(_) | Value::Bool(_)) {
                return Err(serde::de::Error::custom(format!(
                    "`{}` is {}; parameters are a flat object of numbers, strings and booleans",
                    name.escape_debug(),
                    json_kind(value)
                )));
            }
        }
        Ok(Parameters(map.into_iter().collect()))
    }
}

/// The shape of a field's value, for help texts and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Free text (line feeds and tabs allowed).
    Text,
    /// A slug (`[a-z0-9][a-z0-9-]*`, at most 64 characters).
    Slug,
    /// A day (`YYYY-MM-DD`) or an RFC 3339 instant with its offset.
    DateOrInstant,
    /// A whole event id (a UUID, lowercase with hyphens).
    EventId,
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// A flat JSON object of numbers, strings and booleans.
    Parameters,
    /// A source object: `outlet`, `url`?, `published_at`?, `retrieved_at`?, `via`?,
    /// `grade`? (Admiralty pair such as `B2`), `language`?.
    Source,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Text => f.write_str("text"),
            Format::Slug => f.write_str("slug"),
            Format::DateOrInstant => f.write_str("YYYY-MM-DD or RFC 3339 instant"),
            Format::EventId => f.write_str("event id"),
            Format::OneOf(values) => f.write_str(&values.join(" | ")),
            Format::Parameters => f.write_str("flat JSON object of numbers, strings, booleans"),
            Format::Source => f.write_str(
                "source {outlet, url?, published_at?, retrieved_at?, via?, grade? (A-F + 1-6, such as B2), language?}",
            ),
        }
    }
}

/// One field of an event type: what `append TYPE --help` and error messages say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub required: bool,
    /// A JSON array of values (on the command line: commas or repeated flags).
    pub list: bool,
    pub format: Format,
    /// One line saying what the field holds.
    pub help: &'static str,
}

/// One event type: its name, what it records, and its own fields.
#[derive(Clone, Copy, Debug)]
pub struct TypeSpec {
    pub name: &'static str,
    pub help: &'static str,
    pub fields: &'static [FieldSpec],
}

/// The Rust types event fields have, and the [`Format`] each is written in.
pub trait FieldType {
    const FORMAT: Format;
    /// The text of a free-text field (what `search` looks in).
    fn as_text(&self) -> Option<&str> {
        None
    }
}

impl FieldType for String {
    const FORMAT: Format = Format::Text;
    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}
impl FieldType for Slug {
    const FORMAT: Format = Format::Slug;
}
impl FieldType for Uuid {
    const FORMAT: Format = Format::EventId;
}
impl FieldType for Status {
    const FORMAT: Format = Format::OneOf(Status::TEXTS);
}
impl FieldType for Stance {
    const FORMAT: Format = Format::OneOf(Stance::TEXTS);
}
impl FieldType for Basis {
    const FORMAT: Format = Format::OneOf(Basis::TEXTS);
}
impl FieldType for Parameters {
    const FORMAT: Format = Format::Parameters;
}
impl FieldType for Source {
    const FORMAT: Format = Format::Source;
}
impl<T: FieldType> FieldType for Option<T> {
    const FORMAT: Format = T::FORMAT;
    fn as_text(&self) -> Option<&str> {
        self.as_ref().and_then(T::as_text)
    }
}
impl<T: FieldType> FieldType for Vec<T> {
    const FORMAT: Format = T::FORMAT;
}

/// The Rust type of a field of kind `req` (required), `opt` (optional), `list`
/// (optional list, empty when absent) or `reqlist` (required list).
macro_rules! field_ty {
    (req $t:ty) => { $t };
    (opt $t:ty) => { Option<$t> };
    (list $t:ty) => { Vec<$t> };
    (reqlist $t:ty) => { Vec<$t> };
}

/// A field of a [`Stored`] record moved into the event, by kind.
macro_rules! field_take {
    (req, $value:expr, $name:expr) => {
        need($value.take(), $name)?
    };
    (reqlist, $value:expr, $name:expr) => {
        need($value.take(), $name)?
    };
    (opt, $value:expr, $name:expr) => {
        $value.take()
    };
    (list, $value:expr, $name:expr) => {
        $value.take().unwrap_or_default()
    };
}

/// The [`FieldSpec`] of a field: its format comes from its Rust type unless given.
macro_rules! field_spec {
    ($kind:ident $field:ident $ty:ty, $help:literal) => {
        field_spec!($kind $field $ty, <$ty as FieldType>::FORMAT, $help)
    };
    ($kind:ident $field:ident $ty:ty, $format:expr, $help:literal) => {
        FieldSpec {
            name: stringify!($field),
            required: matches!(stringify!($kind).as_bytes(), b"req" | b"reqlist"),
            list: matches!(stringify!($kind).as_bytes(), b"list" | b"reqlist"),
            format: $format,
            help: $help,
        }
    };
}

/// THE declaration of the event types. Each type is written once, here, and this
/// macro derives from it: the [`Body`] enum serde reads input into, the [`TYPES`]
/// table (fields, requiredness, formats, help: what `append TYPE --help` shows and
/// [`parse_event`] checks against), [`Body::type_name`], [`Body::texts`] (what
/// `search` looks in) and the fast reader of stored records ([`Stored`], whose flat
/// field list the compiler holds to this table: a field named here and missing there
/// does not build).
macro_rules! event_types {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $name:literal {
            $($kind:ident $field:ident : $ty:ty $(as $format:expr)? => $help:literal,)*
        }
    )*) => {
        /// The type-specific part of an event (declared in [`event_types!`]).
        ///
        /// Read as an adjacently tagged enum (`{"a": type, "b": fields}`, tag first) rather
        /// than internally tagged: serde buffers an internally tagged object, which loses
        /// the path of a bad field, and every error must name its field.
        #[derive(Clone, Debug, PartialEq, Deserialize)]
        #[serde(tag = "a", content = "b")]
        pub enum Body {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $name)]
                $variant { $( #[doc = $help] $field: field_ty!($kind $ty), )* },
            )*
        }

        /// Every event type of SPEC §2 (and the extensions), in the order the SPEC lists them.
        pub const TYPES: &[TypeSpec] = &[$(
            TypeSpec {
                name: $name,
                help: concat!($($doc),*),
                fields: &[$( field_spec!($kind $field $ty, $($format,)? $help), )*],
            },
        )*];

        impl Body {
            /// The type's name, as written in `type`.
            pub fn type_name(&self) -> &'static str {
                match self { $( Body::$variant { .. } => $name, )* }
            }

            /// The free-text fields that hold something, by name.
            pub fn texts(&self) -> Vec<(&'static str, &str)> {
                let mut out = Vec::new();
                match self {
                    $( #[allow(unused_variables)] Body::$variant { $($field,)* } => {
                        $(
                            if <$ty as FieldType>::FORMAT == Format::Text $(&& $format == Format::Text)? {
                                if let Some(text) = FieldType::as_text($field) {
                                    out.push((stringify!($field), text));
                                }
                            }
                        )*
                    } )*
                }
                out
            }
        }

        impl Stored {
            /// Moves the type-specific fields into a [`Body`].
            fn take_body(&mut self) -> Result<Body, String> {
                fn need<T>(value: Option<T>, field: &str) -> Result<T, String> {
                    value.ok_or_else(|| format!("a stored record lacks field `{field}`"))
                }
                Ok(match self.type_name.as_str() {
                    $( $name => Body::$variant {
                        $( $field: field_take!($kind, self.$field, stringify!($field)), )*
                    }, )*
                    other => return Err(format!("a stored record has the unknown type `{other}`")),
                })
            }
        }
    };
}

event_types! {
    /// A party to the negotiation (a state, a bloc) enters the ledger.
    PartyRegistered = "party_registered" {
        req party: Slug => "the new party's slug",
        req name: String => "its name",
    }
    /// A person who acts or speaks for a party enters the ledger.
    ActorRegistered = "actor_registered" {
        req actor: Slug => "the new actor's slug",
        req name: String => "their name",
        req party: Slug => "the registered party they act for",
        opt role: String => "their office or role",
    }
    /// A proposal (a plan, a counter-proposal, a draft) is put on the table.
    ProposalTabled = "proposal_tabled" {
        req proposal: Slug => "the new proposal's slug",
        req title: String => "its title",
        reqlist parties: Slug => "the registered parties behind it",
        list authors: Slug => "registered actors who wrote it (people, not parties)",
        opt responds_to: Slug => "the registered proposal it answers",
        opt meeting: Slug => "the meeting where it was tabled",
    }
    /// A provision gets a text in a proposal (the first draft names the provision).
    ProvisionDrafted = "provision_drafted" {
        req provision: Slug => "the provision's slug (new, or known when drafted in another proposal)",
        req proposal: Slug => "the registered proposal the text is in",
        req title: String => "the provision's title",
        req text: String => "the text, or what is known of it",
        opt topic: String => "a topic to group provisions by",
        opt parameters: Parameters => "structured values of the text, such as {\"troop_cap\": 800000}",
    }
    /// A provision's text in a proposal changes.
    ProvisionAmended = "provision_amended" {
        req provision: Slug => "the provision",
        req proposal: Slug => "the proposal whose text changes",
        req text: String => "the new text",
        opt summary: String => "what changed, in a line",
        opt parameters: Parameters => "structured values of the new text, such as {\"troop_cap\": 800000}",
    }
    /// A provision's text is taken out of a proposal.
    ProvisionDropped = "provision_dropped" {
        req provision: Slug => "the provision",
        req proposal: Slug => "the proposal it leaves",
        opt reason: String => "why",
    }
    /// A provision's status in the negotiation changes.
    StatusChanged = "status_changed" {
        req provision: Slug => "the provision",
        req status: Status => "its new status",
        opt note: String => "what the status rests on",
    }
    /// A party states its stance on a provision.
    PositionStated = "position_stated" {
        req provision: Slug => "the provision",
        req party: Slug => "the registered party",
        req stance: Stance => "its stance",
        opt summary: String => "the stance in a line",
    }
    /// A meeting is planned (again: a new date replaces the old).
    MeetingScheduled = "meeting_scheduled" {
        req meeting: Slug => "the meeting's slug",
        req title: String => "its title",
        req place: String => "where",
        req planned_for: String as Format::DateOrInstant => "when it is planned for",
        list participants: Slug => "registered actors expected (people, not parties: `pactlog list actors`)",
    }
    /// A meeting took place (once).
    MeetingHeld = "meeting_held" {
        req meeting: Slug => "the meeting's slug",
        opt title: String => "its title",
        req place: String => "where",
        list participants: Slug => "registered actors who took part (people, not parties: `pactlog list actors`)",
        list provisions: Slug => "provisions discussed",
        opt outcome: String => "what came of it",
    }
    /// Someone said something, quoted word for word.
    StatementMade = "statement_made" {
        req quote: String => "the words, verbatim",
        opt meeting: Slug => "the meeting where it was said",
        list provisions: Slug => "provisions it is about",
    }
    /// An earlier event no longer counts (the record stays).
    EventRetracted = "event_retracted" {
        req target: Uuid => "the event that no longer counts",
        req reason: String => "why",
    }
    /// Another source for an earlier event (its `sources` are the ones added): it counts
    /// from its own record time, at every valid time its target counts.
    SourceCited = "source_cited" {
        req target: Uuid => "the event the sources corroborate",
    }
}

/// The fields of an event type, or `None` for an unknown type: what `append TYPE
/// --help` lists (with [`COMMON_FIELDS`], which every type takes).
pub fn fields_of(type_name: &str) -> Option<&'static [FieldSpec]> {
    TYPES.iter().find(|t| t.name == type_name).map(|t| t.fields)
}

/// Fields every event may carry (`actor` is type-specific in `actor_registered`,
/// `note` in `status_changed`).
pub const COMMON_FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: "type",
        required: true,
        list: false,
        format: Format::Text,
        help: "the event type",
    },
    FieldSpec {
        name: "occurred_at",
        required: true,
        list: false,
        format: Format::DateOrInstant,
        help: "when it happened (valid time)",
    },
    FieldSpec {
        name: "id",
        required: false,
        list: false,
        format: Format::EventId,
        help: "the event's id, a whole UUID in lowercase hyphenated form; assigned when absent",
    },
    FieldSpec {
        name: "sources",
        required: false,
        list: true,
        format: Format::Source,
        help: "where it was reported, each with an optional Admiralty grade",
    },
    FieldSpec {
        name: "source",
        required: false,
        list: false,
        format: Format::Source,
        help: "one source (a list of one; not with `sources`)",
    },
    FieldSpec {
        name: "basis",
        required: false,
        list: false,
        format: Format::OneOf(Basis::TEXTS),
        help: "what it rests on (`reported` when not given; an `inference` needs `note`)",
    },
    FieldSpec {
        name: "note",
        required: false,
        list: false,
        format: Format::Text,
        help: "the recorder's note; for an inference, what it is read from",
    },
    FieldSpec {
        name: "actor",
        required: false,
        list: false,
        format: Format::Slug,
        help: "the registered actor (a person, not a party: `pactlog list actors`) who did or said it",
    },
    FieldSpec {
        name: "attribution",
        required: false,
        list: false,
        format: Format::Text,
        help: "who did or said it, in words, where no registered actor can be named (\"unnamed US official\")",
    },
    FieldSpec {
        name: "supersedes",
        required: false,
        list: false,
        format: Format::EventId,
        help: "an earlier event this one corrects",
    },
];

/// Fields the ledger adds to a stored record (docs/format.md §4).
pub const RECORD_FIELDS: &[&str] = &["seq", "recorded_at", "prev_hash", "hash"];

/// Who recorded a record: the token's name for a write through `pactlog serve`, the
/// OS user (or `--recorded-by`) for a local write. Added by the ledger, inside the
/// hash chain; absent from records written without it, so older records stay valid.
pub const RECORDED_BY: &str = "recorded_by";

/// One immutable fact, parsed and checked for shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub occurred_at: Instant,
    /// Where it was reported (`sources`, or `source` as a list of one).
    pub sources: Vec<Source>,
    /// What it rests on (reported when not given).
    pub basis: Basis,
    /// The recorder's note (for `status_changed`, see [`Event::note`]).
    pub note: Option<String>,
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
    sources: Option<Vec<Source>>,
    #[serde(default)]
    basis: Option<Basis>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    actor: Option<Slug>,
    #[serde(default)]
    attribution: Option<String>,
    #[serde(default)]
    supersedes: Option<Uuid>,
}

/// `sources`, or `source` as a list of one (both is an error).
fn sources_of(source: Option<Source>, sources: Option<Vec<Source>>) -> Result<Vec<Source>, String> {
    match (source, sources) {
        (Some(_), Some(_)) => Err("give `sources` (a list) or `source` (one), not both".into()),
        (Some(one), None) => Ok(vec![one]),
        (None, Some(list)) => Ok(list),
        (None, None) => Ok(Vec::new()),
    }
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
    /// The fields of a source (`source`, `sources[]`).
    const SOURCE_FIELDS: [&str; 5] = ["outlet", "url", "published_at", "via", "grade"];
    let own = |name: &str| spec.fields.iter().any(|f| f.name == name);
    for key in object.keys() {
        if RECORD_FIELDS.contains(&key.as_str()) || key == RECORDED_BY {
            return Err(format!(
                "field `{key}` is assigned by the ledger and cannot be given"
            ));
        }
        if !is_common(key) && !own(key) {
            let known = COMMON_FIELDS.iter().chain(spec.fields).map(|f| f.name);
            // A source's own field given beside the event (`--grade` on `append`).
            let hint = match SOURCE_FIELDS.contains(&key.as_str()) {
                true => format!(
                    " (`{key}` is a field of the event's source: give it inside `source`, or on `pactlog append` as `--source-{}`)",
                    key.replace('_', "-")
                ),
                false => suggest(key, known),
            };
            return Err(format!(
                "unknown field `{}` for {type_name}{hint}",
                key.escape_debug()
            ));
        }
    }
    if !object.contains_key("occurred_at") {
        return Err(format!("{type_name} needs field `occurred_at`"));
    }
    for field in spec.fields {
        let name = field.name;
        match object.get(name) {
            None | Some(Value::Null) if field.required => {
                return Err(format!("{type_name} needs field `{name}`"));
            }
            Some(Value::String(s)) if field.required && s.trim().is_empty() => {
                return Err(format!("field `{name}` cannot be empty"));
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
        if is_common(&key) && !own(&key) {
            header.insert(key, value);
        } else {
            body.insert(key, value);
        }
    }
    // An optional list that is absent is empty (serde defaults an absent `Option`).
    for field in spec.fields.iter().filter(|f| f.list && !f.required) {
        body.entry(field.name)
            .or_insert_with(|| Value::Array(Vec::new()));
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
    let given_as_list = header.sources.is_some();
    let sources = sources_of(header.source, header.sources)?;
    for (i, source) in sources.iter().enumerate() {
        let path = if given_as_list {
            format!("sources[{i}]")
        } else {
            "source".to_string()
        };
        source.check(&path)?;
    }
    if given_as_list && sources.is_empty() {
        return Err(
            "field `sources`: an empty list; leave the field out when there is no source".into(),
        );
    }
    let basis = header.basis.unwrap_or_default();
    let note_given = header.note.as_deref().is_some_and(|n| !n.trim().is_empty())
        || matches!(&body, Body::StatusChanged { note: Some(n), .. } if !n.trim().is_empty());
    if basis == Basis::Inference && !note_given {
        return Err("basis `inference` needs field `note`: what the recorder reads it from".into());
    }
    if matches!(body, Body::SourceCited { .. }) && sources.is_empty() {
        return Err("source_cited needs field `sources` (or `source`): the source it adds".into());
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
        sources,
        basis,
        note: header.note,
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
        // serde's wording, said in the terms of the rest of the messages: the whole
        // path of a missing field (`source.outlet`, which `append` names as its flag),
        // and what was expected before what was found.
        if let Some(field) = inner
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            return match path.as_str() {
                "." => format!("field `{field}` is missing"),
                _ => format!("field `{path}.{field}` is missing"),
            };
        }
        let inner = match inner
            .strip_prefix("invalid type: ")
            .and_then(|rest| rest.split_once(", expected "))
        {
            Some((found, expected)) => format!("expected {expected}, found {found}"),
            None => inner,
        };
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

/// Whether `key` is a field every event may carry.
fn is_common(key: &str) -> bool {
    COMMON_FIELDS.iter().any(|f| f.name == key)
}

/// Every field of every event type and of a stored record, read in one pass:
/// the fast way to read a stored record back, which was fully checked when it was
/// appended. Input is never read this way (see [`parse_event`]). The type-specific
/// fields move into a [`Body`] through code [`event_types!`] writes from the one
/// declaration of the types; a field declared there and missing here does not build.
#[derive(Deserialize)]
pub struct Stored {
    #[serde(rename = "type")]
    type_name: String,
    occurred_at: String,
    id: Uuid,
    pub seq: u64,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    source: Option<Source>,
    sources: Option<Vec<Source>>,
    basis: Option<Basis>,
    note: Option<String>,
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
    parameters: Option<Parameters>,
    summary: Option<String>,
    reason: Option<String>,
    status: Option<Status>,
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
    pub fn into_event(mut self) -> Result<Event, String> {
        let occurred_at = time::parse_occurred_at(&self.occurred_at)?;
        // `actor` of actor_registered and `note` of status_changed are the type's own.
        let body = self.take_body()?;
        Ok(Event {
            id: self.id,
            occurred_at,
            sources: sources_of(self.source, self.sources)?,
            basis: self.basis.unwrap_or_default(),
            note: self.note,
            actor: self.actor,
            attribution: self.attribution,
            supersedes: self.supersedes,
            body,
        })
    }
}

impl Event {
    pub fn type_name(&self) -> &'static str {
        self.body.type_name()
    }

    /// The outlets of its sources, joined by `; ` (empty when it has none).
    pub fn outlets(&self) -> String {
        let outlets: Vec<&str> = self.sources.iter().map(|s| s.outlet.as_str()).collect();
        outlets.join("; ")
    }

    /// The recorder's note: the common `note`, or a status change's own.
    pub fn note(&self) -> Option<&str> {
        match &self.body {
            Body::StatusChanged { note, .. } => note.as_deref().or(self.note.as_deref()),
            _ => self.note.as_deref(),
        }
    }

    /// The event this one is about: what it takes out of the count (see
    /// [`Event::removes`]) or the event a `source_cited` adds sources to. It joins
    /// that event's histories at that event's valid time.
    pub fn refers_to(&self) -> Option<Uuid> {
        match &self.body {
            Body::SourceCited { target } => Some(*target),
            _ => self.removes(),
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
            Body::StatementMade { .. } | Body::EventRetracted { .. } | Body::SourceCited { .. } => {
                vec![]
            }
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
            Body::PartyRegistered { .. }
            | Body::EventRetracted { .. }
            | Body::SourceCited { .. } => {}
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
            | Body::EventRetracted { .. }
            | Body::SourceCited { .. } => {}
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
    fn a_missing_field_of_a_source_is_named_by_its_whole_path() {
        let err = parse(
            json!({"type": "status_changed", "occurred_at": "2025-11-23",
            "provision": "nato", "status": "agreed", "source": {"url": "https://example.org"}}),
        )
        .unwrap_err();
        assert_eq!(err, "field `source.outlet` is missing");
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
            err.starts_with("field `name`: expected a string, found integer `5`"),
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
        // A source's field beside the event (found by a fresh tester: `--grade` on
        // `append` was not pointed to `--source-grade`).
        let err = parse(
            json!({"type": "party_registered", "occurred_at": "2025-11-23",
            "party": "us", "name": "US", "grade": "B2"}),
        )
        .unwrap_err();
        assert!(
            err.contains("a field of the event's source") && err.contains("`--source-grade`"),
            "{err}"
        );
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
            for field in spec.fields {
                let value = match field.name {
                    "parties" | "authors" | "participants" | "provisions" => json!(["x"]),
                    "status" => json!("agreed"),
                    "stance" => json!("supports"),
                    "planned_for" => json!("2025-12-01"),
                    "target" => json!(Uuid::from_u128(1).to_string()),
                    "parameters" => json!({"troop_cap": 600000}),
                    _ => json!("x"),
                };
                map.insert(field.name.to_string(), value);
            }
            if spec.name == "source_cited" {
                map.insert("source".into(), json!({"outlet": "Wire"}));
            }
            let e = parse_event(&mut map, &mut || Uuid::from_u128(2))
                .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
            assert_eq!(e.type_name(), spec.name);
        }
    }
}
