//! `pactlog cite`: add a source to an earlier event.

use std::io::Write;

use serde_json::{json, Map, Value};

use super::{CliError, Ctx};
use crate::error::Location;
use crate::store::Access;

/// Add a source to an earlier event: appends a `source_cited` event whose source
/// corroborates EVENT. It counts from its own record time, like any event: with
/// `--known-at` before it, EVENT shows without it; at every valid time EVENT counts,
/// it counts with it (its `occurred_at` is EVENT's).
///
/// EVENT is a whole id, a unique prefix of one (tables show the shortest), or `seq:N`.
///
/// Example:
///
///   pactlog cite seq:42 --outlet Reuters --grade B2 --published-at 2025-11-24 \
///       --url https://example.org/report
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The event the source corroborates: an id, a unique id prefix, or `seq:N`
    #[arg(value_name = "EVENT")]
    pub event: String,

    /// The outlet that reported it
    #[arg(long)]
    pub outlet: String,

    /// The report's address
    #[arg(long)]
    pub url: Option<String>,

    /// An Admiralty grade: reliability A-F and credibility 1-6, such as `B2`
    #[arg(long, value_name = "XN")]
    pub grade: Option<String>,

    /// When the report was published: a day, an RFC 3339 instant, or `now`
    #[arg(long, value_name = "DATE")]
    pub published_at: Option<String>,

    /// When the report was read: a day, an RFC 3339 instant, or `now`
    #[arg(long, value_name = "DATE")]
    pub retrieved_at: Option<String>,

    /// Through whom the outlet had it ("Reuters saw the document")
    #[arg(long)]
    pub via: Option<String>,

    /// The report's language (such as `uk`, `en`)
    #[arg(long)]
    pub language: Option<String>,

    /// The citation's own event id (a UUID; a new UUIDv7 when absent): a retry with
    /// the same id and the same content is a success that appends nothing
    #[arg(long, value_name = "UUID")]
    pub id: Option<String>,

    /// Fail unless the ledger head is at this seq (optimistic concurrency)
    #[arg(long, value_name = "N", value_parser = super::seq_arg)]
    pub expect_seq: Option<u64>,
}

/// Finds the event an argument names (an id, a unique prefix, `seq:N`): an id that
/// names nothing is invalid input (exit 3, as a bad field), a `seq:N` past the head
/// is not found (exit 4), as README's exit codes say.
pub(super) fn find_event(
    ledger: &crate::store::Ledger,
    text: &str,
    at: &Location,
) -> Result<uuid::Uuid, CliError> {
    Ok(ledger.find_id(text).map_err(|err| match err {
        crate::Error::NotFound(message) if text.starts_with("seq:") => {
            crate::Error::NotFound(message)
        }
        crate::Error::Invalid { message, .. } | crate::Error::NotFound(message) => {
            crate::Error::invalid(at, message)
        }
        other => other,
    })?)
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let at = Location("EVENT".into());
    let (target, occurred_at) = {
        let ledger = ctx.open(Access::Existing)?;
        let id = find_event(&ledger, &args.event, &at)?;
        let seq = ledger.seq_of(&id)?.expect("a found id has a seq");
        let record = ledger.record(seq)?.expect("a found id has a record");
        (id, record.object.get("occurred_at").cloned())
    };
    let mut source = Map::new();
    source.insert("outlet".into(), Value::String(args.outlet.clone()));
    for (name, value) in [
        ("url", &args.url),
        ("grade", &args.grade),
        ("published_at", &args.published_at),
        ("retrieved_at", &args.retrieved_at),
        ("via", &args.via),
        ("language", &args.language),
    ] {
        if let Some(value) = value {
            let value = match name {
                "published_at" | "retrieved_at" => super::append::occurred_at(ctx, value),
                _ => value.clone(),
            };
            source.insert(name.into(), Value::String(value));
        }
    }
    let object = json!({
        "type": "source_cited",
        "target": target.to_string(),
        "occurred_at": occurred_at,
        "sources": [source],
    });
    let Value::Object(mut object) = object else {
        unreachable!("a JSON object")
    };
    if let Some(id) = &args.id {
        object.insert("id".into(), Value::String(id.clone()));
    }
    let summary = super::append::append_one(ctx, object, Location("cite".into()), args.expect_seq)
        .map_err(|err| {
            super::append::said_as(err, |field| match field {
                "target" => Some("EVENT".into()),
                "id" => Some("--id".into()),
                // `occurred_at` is EVENT's own, given by no flag.
                _ => field
                    .strip_prefix("sources[0].")
                    .map(|part| format!("--{}", part.replace('_', "-"))),
            })
        })?;
    super::append::report(ctx, out, &summary)
}
