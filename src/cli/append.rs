//! `pactlog append`: append one event, from flags or as JSON on stdin.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde_json::{Map, Value};

use super::{CliError, Ctx, Env};
use crate::append::{append_recorded_by, Clock, Item, Summary};
use crate::error::{Error, Location};
use crate::event::TYPES;
use crate::import::parse_object;
use crate::store::Ledger;

/// Append one event: `pactlog append TYPE --field value…` or `pactlog append -` (JSON on stdin).
///
/// Each `--field value` sets a field of the event (`-` in a flag name stands for `_`:
/// `--occurred-at` sets `occurred_at`). List fields (`parties`, `authors`,
/// `participants`, `provisions`) take comma-separated slugs or repeated flags.
/// `--source-outlet`, `--source-url` and `--source-published-at` set `source`.
/// Without `--occurred-at` the event is dated now. Nothing is prompted for.
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
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The event type, or `-` to read one JSON event from stdin
    #[arg(value_name = "TYPE")]
    pub event_type: String,

    /// Fail unless the ledger head is at this seq (optimistic concurrency)
    #[arg(long, value_name = "N")]
    pub expect_seq: Option<u64>,

    /// The event's fields: `--field value` pairs
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "--FIELD VALUE"
    )]
    pub fields: Vec<String>,
}

const LIST_FIELDS: &[&str] = &["parties", "authors", "participants", "provisions"];

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let mut expect_seq = args.expect_seq;
    let (object, at) = if args.event_type == "-" {
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
        (parse_object(&text, &at)?, at)
    } else {
        (
            object_from_flags(ctx, &args.event_type, &args.fields, &mut expect_seq)?,
            Location(String::new()),
        )
    };
    let summary = append_one(ctx, object, at, expect_seq)?;
    report(ctx, out, &summary)
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
    if !TYPES.iter().any(|t| t.name == event_type) {
        return Err(CliError::from(Error::invalid(
            &Location("TYPE".into()),
            format!(
                "unknown event type `{event_type}`{}",
                crate::error::suggest(event_type, TYPES.iter().map(|t| t.name))
            ),
        )));
    }
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
        if field == "db" || field == "lock_timeout" {
            return Err(CliError::usage(format!(
                "`--{name}` is a global option: put it before the command, as in `pactlog --{name} … append {event_type} …`"
            )));
        }
        if field == "expect_seq" {
            let n = value.parse().map_err(|_| {
                CliError::usage(format!("--expect-seq: `{value}` is not a whole number"))
            })?;
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
    object
        .entry("occurred_at")
        .or_insert_with(|| Value::String(crate::time::format(&ctx.env.now)));
    Ok(object)
}
