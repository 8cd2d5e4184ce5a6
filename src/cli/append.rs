//! `pactlog append`: append one event, from flags or as JSON on stdin.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde_json::{Map, Value};

use super::{CliError, Ctx, Env};
use crate::append::{append_recorded_by, Clock, Item, Summary};
use crate::error::{Error, Location};
use crate::event::{FieldSpec, Format, Stance, Status, TypeSpec, COMMON_FIELDS, TYPES};
use crate::import::parse_object;
use crate::store::Ledger;

/// Append one event: `pactlog append TYPE --field value…` or `pactlog append -` (JSON on stdin).
///
/// Each `--field value` sets a field of the event (`-` in a flag name stands for `_`:
/// `--occurred-at` sets `occurred_at`). List fields (`parties`, `authors`,
/// `participants`, `provisions`) take comma-separated slugs or repeated flags.
/// `--source-outlet`, `--source-url` and `--source-published-at` set `source`.
/// `--occurred-at` is required: a day (`2025-11-23`), an RFC 3339 instant with an
/// offset, or `now`. Nothing is prompted for.
///
/// `pactlog append TYPE --help` lists that type's fields, which are required, the
/// values they take, and an example.
///
/// Types and their fields (`?` = optional); every type also takes `occurred_at`,
/// `id`, `source`, `actor`, `attribution` and `supersedes`:
///
///   party_registered   party name
///   actor_registered   actor name party role?
///   proposal_tabled    proposal title parties authors? responds_to? meeting?
///   provision_drafted  provision proposal title text topic?
///   provision_amended  provision proposal text summary?
///   provision_dropped  provision proposal reason?
///   status_changed     provision status note?
///   position_stated    provision party stance summary?
///   meeting_scheduled  meeting title place planned_for participants?
///   meeting_held       meeting title? place participants? provisions? outcome?
///   statement_made     quote (actor or attribution) meeting? provisions?
///   event_retracted    target reason
///
/// Example:
///
///   pactlog append status_changed --provision nato-membership --status contested \
///       --occurred-at 2025-11-23 --source-outlet Reuters --note "Counter-proposal tabled"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment, disable_help_flag = true)]
pub struct Args {
    /// The event type, or `-` to read one JSON event from stdin
    #[arg(value_name = "TYPE", required_unless_present = "help")]
    pub event_type: Option<String>,

    /// Fail unless the ledger head is at this seq (optimistic concurrency)
    #[arg(long, value_name = "N", value_parser = super::seq_arg)]
    pub expect_seq: Option<u64>,

    /// Print help (with TYPE: that type's fields, allowed values and an example)
    #[arg(short, long)]
    pub help: bool,

    /// The event's fields: `--field value` pairs
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "--FIELD VALUE"
    )]
    pub fields: Vec<String>,
}

const LIST_FIELDS: &[&str] = &["parties", "authors", "participants", "provisions"];

/// The flags that take a day or an instant, and so `now` too.
const TIME_FIELDS: &[&str] = &[
    "occurred_at",
    "planned_for",
    "source_published_at",
    "source_retrieved_at",
];

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let wants_help = args.help || args.fields.iter().any(|f| f == "--help" || f == "-h");
    let event_type = match args.event_type.as_deref() {
        Some(t) if !wants_help => t,
        Some(t) if t != "-" => return Ok(write!(out, "{}", type_help(t)?)?),
        _ => {
            let mut command = super::command();
            // Built, so that its usage line says `pactlog append`.
            command.build();
            let append = command
                .find_subcommand_mut("append")
                .expect("append is a command");
            return Ok(write!(out, "{}", append.render_long_help())?);
        }
    };
    let mut expect_seq = args.expect_seq;
    let (object, at) = if event_type == "-" {
        if !args.fields.is_empty() {
            return Err(CliError::usage(
                "`append -` reads the whole event from stdin and takes no field flags",
            ));
        }
        let mut bytes = Vec::new();
        ctx.stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("stdin", e))?;
        let at = Location("stdin".into());
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::invalid(
                &at,
                format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to() + 1),
            )
        })?;
        if crate::import::holds_no_event(&text) {
            return Err(CliError::from(Error::invalid(
                &at,
                "no event on standard input: `append -` reads one JSON object (`pactlog import -` reads NDJSON, and an empty input there imports nothing)",
            )));
        }
        let several = "`pactlog import -` reads many events";
        (parse_object(&text, &at, several)?, at)
    } else {
        (
            object_from_flags(ctx, event_type, &args.fields, &mut expect_seq)?,
            Location(String::new()),
        )
    };
    ctx.expect_ledger(expect_seq)?;
    let from_flags = at.0.is_empty();
    let summary = append_one(ctx, object, at, expect_seq).map_err(|err| {
        if from_flags {
            said_as(err, flag_of_field)
        } else {
            err
        }
    })?;
    report(ctx, out, &summary)
}

/// A message about an event built from a command's arguments, said in the terms of
/// those arguments: each ``field `NAME` `` it names becomes the flag or argument that
/// gave the field (`argument(NAME)`: `--outlet` for `cite`'s `sources[0].outlet`,
/// `--source-outlet` for `source.outlet`); a field no argument gave stays as it is.
pub fn in_argument_terms(message: &str, argument: impl Fn(&str) -> Option<String>) -> String {
    const FIELD: &str = "field `";
    let mut out = String::new();
    let mut rest = message;
    let mut unknown = false;
    while let Some(start) = rest.find(FIELD) {
        let after = &rest[start + FIELD.len()..];
        let Some(end) = after.find('`') else { break };
        match argument(&after[..end]) {
            Some(named) => {
                let before = &rest[..start];
                out.push_str(before);
                if before.ends_with("unknown ") {
                    unknown = true;
                    out.push_str("flag ");
                }
                out.push_str(&named);
            }
            None => out.push_str(&rest[..start + FIELD.len() + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if unknown {
        // The suggestion of an unknown flag is a flag too.
        if let Some(start) = out.find("(did you mean `") {
            out.insert_str(start + "(did you mean `".len(), "--");
        }
    }
    out
}

/// The flag that sets an event field on `append TYPE --field value…`: `--occurred-at`
/// for `occurred_at`, `--source-url` for `source.url`.
pub fn flag_of_field(field: &str) -> Option<String> {
    let flag = match field.strip_prefix("source.") {
        Some(part) => format!("source_{part}"),
        None => field.to_string(),
    };
    (!flag.contains(['.', '[']) && flag != "type").then(|| format!("--{}", flag.replace('_', "-")))
}

/// An error of a command whose event was built from its arguments, said in their
/// terms (see [`in_argument_terms`]).
pub fn said_as(err: CliError, argument: impl Fn(&str) -> Option<String>) -> CliError {
    match err {
        CliError::Failed { code, message } => CliError::Failed {
            code,
            message: in_argument_terms(&message, argument),
        },
        other => other,
    }
}

/// Appends one object and returns what happened.
pub fn append_one(
    ctx: &Ctx,
    object: Map<String, Value>,
    at: Location,
    expect_seq: Option<u64>,
) -> Result<Summary, CliError> {
    ctx.write(|ledger| Ok(append_to(ledger, ctx.env, object, at, expect_seq)?))
}

/// Appends one object to an open ledger (the CLI's, or the one `serve` holds). An
/// object from arguments (`at` empty) may name its `target` and `supersedes` by a
/// unique prefix or `seq:N`.
pub fn append_to(
    ledger: &mut Ledger,
    env: &Env,
    mut object: Map<String, Value>,
    at: Location,
    expect_seq: Option<u64>,
) -> Result<Summary, Error> {
    // Ids given as arguments (flags, `retract ID`) may be a unique prefix or
    // `seq:N`; JSON input carries whole ids, as the contract says.
    if at.0.is_empty() {
        for field in ["target", "supersedes"] {
            if let Some(Value::String(text)) = object.get(field) {
                let id = ledger.find_id(text).map_err(|err| match err {
                    Error::Invalid { message, .. } | Error::NotFound(message) => {
                        Error::invalid(&at, format!("field `{field}`: {message}"))
                    }
                    other => other,
                })?;
                object.insert(field.into(), Value::String(id.to_string()));
            }
        }
    }
    let mut new_id = || env.new_id();
    let clock = Clock {
        now: env.now,
        new_id: &mut new_id,
    };
    append_recorded_by(
        ledger,
        [Ok(Item { at, object })],
        clock,
        expect_seq,
        env.recorded_by.as_deref(),
    )
}

/// "appended seq N id …" or "unchanged: …".
pub fn report(ctx: &Ctx, out: &mut dyn Write, summary: &Summary) -> Result<(), CliError> {
    let (id, seq) = summary.last.expect("one object was appended or found");
    if summary.appended > 0 {
        let head = &summary.head;
        ctx.say(
            out,
            format_args!(
                "appended seq {seq} id {id}; head {} {}",
                head.seq, head.hash
            ),
        )
    } else {
        ctx.say(
            out,
            format_args!("unchanged: event {id} is already in the ledger at seq {seq}"),
        )
    }
}

fn object_from_flags(
    ctx: &Ctx,
    event_type: &str,
    fields: &[String],
    expect_seq: &mut Option<u64>,
) -> Result<Map<String, Value>, CliError> {
    type_spec(event_type)?;
    let mut object = Map::new();
    object.insert("type".into(), Value::String(event_type.into()));
    let mut source = Map::new();
    let mut lists: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut rest = fields.iter();
    while let Some(flag) = rest.next() {
        let Some(name) = flag.strip_prefix("--") else {
            return Err(CliError::usage(format!(
                "expected a `--field` flag, found `{flag}`"
            )));
        };
        let (name, value) = match name.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            None => {
                let value = rest
                    .next()
                    .ok_or_else(|| CliError::usage(format!("`{flag}` needs a value")))?;
                (name.to_string(), value.clone())
            }
        };
        let field = name.replace('-', "_");
        let value = if TIME_FIELDS.contains(&field.as_str()) {
            occurred_at(ctx, &value)
        } else {
            value
        };
        if field == "expect_seq" {
            let n = super::seq_arg(&value)
                .map_err(|e| CliError::usage(format!("--expect-seq: {e}")))?;
            *expect_seq = Some(n);
        } else if let Some(part) = field.strip_prefix("source_") {
            source.insert(part.to_string(), Value::String(value));
        } else if LIST_FIELDS.contains(&field.as_str()) {
            let items = value.split(',').map(str::trim).filter(|s| !s.is_empty());
            lists
                .entry(field)
                .or_default()
                .extend(items.map(|s| Value::String(s.into())));
        } else if object.insert(field.clone(), Value::String(value)).is_some() {
            return Err(CliError::usage(format!("`--{name}` is given twice")));
        }
    }
    for (field, values) in lists {
        object.insert(field, Value::Array(values));
    }
    if !source.is_empty() {
        object.insert("source".into(), Value::Object(source));
    }
    if !object.contains_key("occurred_at") {
        return Err(CliError::from(Error::invalid(
            &Location("--occurred-at".into()),
            format!(
                "{event_type} needs field `occurred_at`, when it happened: a day (2025-11-23), an RFC 3339 instant with an offset (2025-11-23T14:00:00Z), or `now`"
            ),
        )));
    }
    Ok(object)
}

/// The value of a flag that takes a day or an instant (`--occurred-at`,
/// `--published-at`…): `now` is this run's clock to the second, anything else is
/// the event's own text (checked by the event model).
pub fn occurred_at(ctx: &Ctx, text: &str) -> String {
    if text == "now" {
        let now = ctx.env.now;
        let second = now - chrono::TimeDelta::nanoseconds(now.timestamp_subsec_nanos().into());
        crate::time::format(&second)
    } else {
        text.to_string()
    }
}

/// The declaration of an event type, or an error that names the nearest type.
fn type_spec(event_type: &str) -> Result<&'static TypeSpec, CliError> {
    TYPES.iter().find(|t| t.name == event_type).ok_or_else(|| {
        CliError::from(Error::invalid(
            &Location("TYPE".into()),
            format!(
                "unknown event type `{event_type}`{}; one of: {}",
                crate::error::suggest(event_type, TYPES.iter().map(|t| t.name)),
                TYPES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
            ),
        ))
    })
}

/// `pactlog append TYPE --help`: the type's own fields (from the event model's one
/// declaration, [`TYPES`] and [`COMMON_FIELDS`]), whether each is required, what it
/// takes, the fields every event takes, and an example that appends to the bundled record.
pub fn type_help(event_type: &str) -> Result<String, CliError> {
    let spec = type_spec(event_type)?;
    let own = |name: &str| spec.fields.iter().any(|f| f.name == name);
    let statement = spec.name == "statement_made";
    let mut rows: Vec<(String, &str, String)> = spec
        .fields
        .iter()
        .map(|field| {
            let need = if field.required {
                "required"
            } else {
                "optional"
            };
            (flag(field.name, value_name(field)), need, what(field))
        })
        .collect();
    let mut common: Vec<(String, &str, String)> = Vec::new();
    // `type` is the TYPE argument; a source is written with the `--source-*` flags.
    for field in COMMON_FIELDS
        .iter()
        .filter(|f| f.name != "type" && f.name != "sources" && !own(f.name))
    {
        let (name, value, what) = if field.name == "source" {
            (
                "source_outlet",
                "OUTLET",
                "where it was reported: the outlet, with `--source-url URL`, `--source-published-at DAY` (or `now`), `--source-via TEXT` and `--source-grade XN` (Admiralty: reliability A-F, credibility 1-6, such as B2); `pactlog cite` adds more sources later".to_string(),
            )
        } else {
            (field.name, value_name(field), what(field))
        };
        let need = if field.required {
            "required"
        } else if statement && matches!(field.name, "actor" | "attribution") {
            "one of"
        } else {
            "optional"
        };
        let row = (flag(name, value), need, what);
        if need == "one of" {
            rows.push(row);
        } else {
            common.push(row);
        }
    }
    common.push((
        "--expect-seq N".into(),
        "optional",
        "fail unless the ledger head is at seq N".into(),
    ));
    let width = rows
        .iter()
        .chain(&common)
        .map(|(f, _, _)| f.len())
        .max()
        .unwrap_or(0);
    let mut text = format!("pactlog append {}: {}\n\n", spec.name, spec.help.trim());
    let mut section = |title: &str, rows: &[(String, &str, String)]| {
        text.push_str(title);
        for (flag, need, what) in rows {
            text.push_str(&format!("  {flag:width$}  {need:8}  {what}\n"));
        }
        text.push('\n');
    };
    section("Its fields (`-` in a flag stands for `_`):\n", &rows);
    section("Every event also takes:\n", &common);
    if statement {
        text.push_str("A statement needs `--actor` or `--attribution` (or both).\n");
    }
    text.push_str("List fields take comma-separated slugs or the flag repeated. Slugs are lowercase\nletters, digits and `-`; `pactlog list KIND` shows those a ledger has.\n\n");
    text.push_str(&format!(
        "Example (on the bundled record: `pactlog demo --db talks.db`):\n  {}\n",
        example(spec)
    ));
    Ok(text)
}

/// Every event type's help, one after the other (for pactlog-append(1)).
pub fn every_type_help() -> Result<String, CliError> {
    let helps: Result<Vec<String>, CliError> = TYPES.iter().map(|t| type_help(t.name)).collect();
    Ok(helps?.join("\n"))
}

/// `--field VALUE` as the command line takes it.
fn flag(field: &str, value: &str) -> String {
    format!("--{} {value}", field.replace('_', "-"))
}

/// The value a field's flag takes, named from its format (`SLUG,…` for a list of slugs).
fn value_name(field: &FieldSpec) -> &'static str {
    match (field.format, field.list) {
        (Format::Slug, _) => match field.name {
            "party" => "PARTY",
            "parties" => "PARTY,…",
            "actor" => "ACTOR",
            "authors" | "participants" => "ACTOR,…",
            "proposal" | "responds_to" => "PROPOSAL",
            "provision" => "PROVISION",
            "provisions" => "PROVISION,…",
            "meeting" => "MEETING",
            _ if field.list => "SLUG,…",
            _ => "SLUG",
        },
        (Format::Text, _) => "TEXT",
        (Format::DateOrInstant, _) => "TIME",
        (Format::EventId, _) => "ID",
        (Format::OneOf(_), _) => match field.name {
            "status" => "STATUS",
            "stance" => "STANCE",
            "basis" => "BASIS",
            _ => "VALUE",
        },
        (Format::Parameters, _) => "JSON",
        (Format::Source, _) => "SOURCE",
    }
}

/// What a field holds, with the values or the form it takes.
fn what(field: &FieldSpec) -> String {
    match field.format {
        Format::OneOf(values) => format!("{}; one of: {}", field.help, values.join(", ")),
        Format::DateOrInstant => format!(
            "{}: a day (2025-12-14), an RFC 3339 instant with an offset (2025-12-14T10:00:00+01:00) or `now`; a day is a UTC day",
            field.help,
        ),
        Format::EventId if field.name != "id" => format!(
            "{}: a whole id, a unique prefix (as tables show) or seq:N",
            field.help
        ),
        _ => field.help.to_string(),
    }
}

/// A value for a field in the example, one that the bundled record takes.
fn sample(event_type: &str, field: &str) -> &'static str {
    match (event_type, field) {
        ("party_registered", "party") => "turkey",
        ("party_registered", "name") => "Türkiye",
        ("actor_registered", "actor") => "andrii-sybiha",
        ("actor_registered", "name") => "Andrii Sybiha",
        ("proposal_tabled", "proposal") => "ukraine-20-point-plan",
        ("proposal_tabled", "title") => "Ukraine's 20-point plan",
        ("provision_drafted", "provision") => "security-guarantees",
        ("provision_drafted", "title") => "Security guarantees",
        ("provision_dropped", "provision") => "g8-readmission",
        ("meeting_scheduled", "meeting") => "berlin-2025-12-14",
        ("meeting_scheduled", "title") => "Talks in Berlin",
        ("meeting_held", "meeting") => "miami-2025-12-20",
        ("meeting_held", "place") => "Miami",
        (_, "party" | "parties") => "ukraine",
        (_, "proposal") => "us-28-point-plan",
        (_, "provision" | "provisions") => "nato-membership",
        (_, "status") => Status::AgreedInPrinciple.as_str(),
        (_, "stance") => Stance::Conditional.as_str(),
        (_, "place") => "Berlin",
        (_, "planned_for") => "2025-12-14",
        ("source_cited", "target") => "seq:71",
        (_, "target") => "seq:70",
        (_, "quote") => "We are closer than ever",
        (_, "text") => "Ukraine joins no military alliance without the consent of all parties.",
        (_, "reason") => "The report was denied",
        _ => "Example",
    }
}

/// One command that appends an event of this type: its required fields (and, for a
/// statement, an actor) with values the bundled record takes.
fn example(spec: &TypeSpec) -> String {
    let mut words = vec![format!("pactlog --db talks.db append {}", spec.name)];
    let quote = |value: &str| {
        if value.contains([' ', '\'']) {
            format!("\"{value}\"")
        } else {
            value.to_string()
        }
    };
    for field in spec.fields.iter().filter(|f| f.required) {
        words.push(format!(
            "{} {}",
            flag(field.name, "").trim_end(),
            quote(sample(spec.name, field.name))
        ));
    }
    if spec.name == "statement_made" {
        words.push("--actor marco-rubio".into());
    }
    words.push("--occurred-at 2025-12-02 --source-outlet Reuters".into());
    words.join(" ")
}
