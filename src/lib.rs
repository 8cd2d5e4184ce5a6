//! pactlog: an event-sourced, hash-chained ledger of negotiations.
//!
//! # Bird's-eye view
//!
//! Every statement, meeting and change to a proposal is an immutable event,
//! journaled, appended to a log in one sled database and chained by SHA-256 so that any change
//! to history is detected. Projections rebuild the state of any provision at any
//! point on two time axes: when it happened (valid time, `occurred_at`) and when the
//! ledger learned it (record time, `recorded_at`).
//!
//! # Layout
//!
//! - [`error`]: the one error type and its kinds.
//! - [`event`]: the event model, slugs, validation of shape.
//! - [`time`]: the two axes; days, instants and meeting cuts.
//! - [`chain`]: stored records, canonical JSON, the hash chain.
//! - [`index`]: the sled key layout and the indexes derived from the log.
//! - [`journal`]: the write-ahead journal that makes a commit durable (zstd frames).
//! - [`store`]: the sled ledger: reads, all-or-nothing writes through the journal.
//! - [`recover`]: `Ledger::open`: lock, upgrade, sled caught up or rebuilt from the journal.
//! - [`append`]: the write path: checks against the ledger, then one atomic write.
//! - [`import`]: NDJSON and JSON-array readers with file and line numbers.
//! - [`projection`]: pure folds giving a provision's state.
//! - [`provenance`]: sources, grades, citations, the read filters, how views cite an event.
//! - [`snapshot`]: projection snapshots: the fold stored at points of valid time.
//! - [`query`]: the counting rule of docs/format.md §3; state, history, log.
//! - [`audit`]: blame, diff and compare: the event behind every field.
//! - [`names`]: the registered names of parties and actors, for what people read.
//! - [`timeline`]: status bands, event markers and meetings over valid time, for timelines.
//! - [`verify`]: re-hashing the chain and checking indexes against a replay.
//!
//! - [`cli`]: the command line, one file per command. It is compiled into this
//!   crate so the binary's `main` stays three lines, and it is the only module that
//!   prints, reads environment variables or reads the clock.
//!
//! - [`server`]: `pactlog serve`, the ledger shared over HTTP (axum on tokio). Like
//!   [`cli`], it reads the clock and binds sockets; its read endpoints run the
//!   CLI's own commands on the ledger it holds.
//!
//! Everything but [`cli`] and [`server`] never prints, never reads environment variables, and never
//! reads the clock: the CLI passes in the time and the id generator.

pub mod append;
pub mod audit;
pub mod block;
pub mod chain;
pub mod cli;
pub mod error;
pub mod event;
pub mod import;
pub mod index;
pub mod journal;
pub mod names;
pub mod projection;
pub mod provenance;
pub mod query;
pub mod recover;
pub mod server;
pub mod snapshot;
pub mod store;
pub mod time;
pub mod timeline;
pub mod verify;

pub use error::{Error, ErrorKind, Result};
