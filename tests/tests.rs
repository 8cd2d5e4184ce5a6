//! The one integration-test binary. Every test here runs the real `pactlog` binary
//! on real sled ledgers in temporary folders, through the harness in `common`.

// The harness: runs the binary with a cleared environment and a pinned clock.
mod common;

// Import, every read command, export/import round trips, tamper detection by `verify`.
mod cli;

// Both time axes, corrections (retraction, supersedes), diff, compare, blame.
mod time_travel;

// Property tests: the docs/format.md §3 counting rule against a brute-force fold over random ledgers.
mod properties;

// Golden projections of the bundled record in `snapshots/` (UPDATE_SNAPSHOTS=1 rewrites them).
mod snapshots;

// Hostile input: a catalogue of bad files and flags (goldens in snapshots/errors/), a fuzz of the reader.
mod hostile;

// Concurrent writers: eight processes appending at once, a locked ledger (exit 7).
mod concurrency;

// Crashes (SIGKILL during imports and appends, then recovery) and damaged storage.
mod crash;

// Damaged storage repaired from the journal; the upgrade of the layout before the journal.
mod repair;

// Durability under strace: every durable write is fsynced before the success line, none after it.
mod durability;

// Edges: retries, cuts, slugs and files the way real inputs break them.
mod edges;

// The analyst's workbench: timeline HTML (golden, escaping, headless Chromium), exports, list, search.
mod workbench;

// A newcomer's first hour: the README's tour, append TYPE --help, messages, man pages, links.
mod newcomer;

// What people read: names instead of slugs, TimelineJS sources and days, Markdown escaping.
mod pages;

// Provenance: graded sources, basis, cite, --min-grade and --reported-only, conflicts, parameters.
mod provenance;

// Regressions: one test per bug planted by hand that the suite above let through.
mod regressions;

// What a fresh user found after the first hour: progress lines on a terminal, the
// timeline's axis over long spans, global options anywhere, `now` as a cut, cuts said
// as given, conflicting flags, help and man pages, the README's command table.
mod polish;
