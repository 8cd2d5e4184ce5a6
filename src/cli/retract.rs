//! `pactlog retract`: append an `event_retracted` for an event.

use std::io::Write;

use serde_json::{Map, Value};

use super::{append, CliError, Ctx};
use crate::error::Location;

/// Retract an event: append an `event_retracted` naming it. The event stays in the
/// log and in `history`, marked retracted; from the retraction's record time on it
/// no longer counts.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The event to retract: a whole id, a unique prefix of one (tables show the
    /// shortest, 8 digits at least), or `seq:N`
    #[arg(value_name = "ID")]
    pub id: String,

    /// Why it is retracted
    #[arg(long)]
    pub reason: String,

    /// When the retraction happened in the world: a day, an RFC 3339 instant, or `now`
    #[arg(long, value_name = "TIME")]
    pub occurred_at: String,

    /// Who retracted it (a registered actor)
    #[arg(long)]
    pub actor: Option<String>,

    /// Where the retraction was reported
    #[arg(long, value_name = "OUTLET")]
    pub source_outlet: Option<String>,

    /// The retraction's own event id (a UUID; a new UUIDv7 when absent): a retry with
    /// the same id and the same content is a success that appends nothing
    #[arg(long = "id", value_name = "UUID")]
    pub event_id: Option<String>,

    /// Fail unless the ledger head is at this seq
    #[arg(long, value_name = "N", value_parser = super::seq_arg)]
    pub expect_seq: Option<u64>,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let held = !matches!(ctx.held, super::Held::None);
    if args.id.starts_with("seq:") && (held || crate::store::Ledger::exists(&ctx.db_path())) {
        // `seq:N` past the head is not found (exit 4), as for `cite`.
        let ledger = ctx.open(crate::store::Access::Existing)?;
        super::cite::find_event(&ledger, &args.id, &Location("ID".into()))?;
    }
    let mut object = Map::new();
    if let Some(id) = &args.event_id {
        object.insert("id".into(), Value::String(id.clone()));
    }
    object.insert("type".into(), "event_retracted".into());
    object.insert("target".into(), Value::String(args.id.clone()));
    object.insert("reason".into(), Value::String(args.reason.clone()));
    let occurred_at = append::occurred_at(ctx, &args.occurred_at);
    object.insert("occurred_at".into(), Value::String(occurred_at));
    if let Some(actor) = &args.actor {
        object.insert("actor".into(), Value::String(actor.clone()));
    }
    if let Some(outlet) = &args.source_outlet {
        object.insert("source".into(), serde_json::json!({ "outlet": outlet }));
    }
    ctx.expect_ledger(args.expect_seq)?;
    let summary = append::append_one(ctx, object, Location(String::new()), args.expect_seq)
        .map_err(|err| {
            append::said_as(err, |field| match field {
                "target" => Some("ID".into()),
                _ => append::flag_of_field(field),
            })
        })?;
    append::report(ctx, out, &summary)
}
