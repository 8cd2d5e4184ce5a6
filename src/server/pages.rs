//! Read-only pages for editors, rendered on the server by maud (which escapes every
//! text it is given) and working without JavaScript: `/` (every provision at a cut,
//! with a form for the cut), `/provisions/{provision}` (state, sources, history) and
//! `/timeline` (the timeline page of `pactlog timeline`).
//!
//! Each page is drawn from the JSON of the CLI's own command (`state --json`,
//! `history --json`), run on the held ledger as the API runs it. Every page has a
//! strict Content-Security-Policy: nothing loads, and the only inline style or
//! script allowed is the page's own, by hash.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::api::{self, authorize, Failure, Need};
use super::Shared;

/// The policy of every API response: nothing may load, nothing may frame it.
pub(crate) const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:0 1rem 3rem;color:#1d2430}\
header{display:flex;gap:1.5rem;align-items:baseline;border-bottom:1px solid #d6dbe1;padding:.8rem 0;margin-bottom:1rem}\
header a{color:#1d2430;font-weight:600;text-decoration:none}\
form.cut{display:flex;gap:.8rem;flex-wrap:wrap;align-items:end;background:#f3f5f8;padding:.6rem .8rem;border-radius:6px}\
form.cut label{display:flex;flex-direction:column;font-size:.85rem}\
table{border-collapse:collapse;width:100%;margin:.6rem 0 1.4rem}\
th,td{text-align:left;vertical-align:top;border-bottom:1px solid #e3e7ec;padding:.35rem .5rem}\
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:#5a6473}\
.status{font-weight:600}.removed{color:#8a94a3;text-decoration:line-through}\
.cut-line{color:#5a6473;font-size:.9rem}.error{background:#fdecea;padding:.8rem;border-radius:6px}\
blockquote{margin:.2rem 0;padding-left:.7rem;border-left:3px solid #c5ccd6}";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(index))
        .route("/provisions/{provision}", get(provision))
        .route("/timeline", get(timeline))
}

/// The cut of a page from its query: `at` and `known_at`, empty fields (the form's) left out.
fn cut_query(query: Vec<(String, String)>) -> Vec<(String, String)> {
    query
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect()
}

/// `?at=…&known_at=…` for links that keep the page's cut.
fn keep_cut(query: &[(String, String)]) -> String {
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    for (k, v) in query.iter().filter(|(k, _)| k == "at" || k == "known_at") {
        pairs.append_pair(k, v);
    }
    let pairs = pairs.finish();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{pairs}")
    }
}

/// Runs a read command with `--json` on the held ledger and parses what it prints.
async fn json_of(
    shared: &Arc<Shared>,
    command: &str,
    positionals: Vec<String>,
    query: Vec<(String, String)>,
) -> Result<Value, Failure> {
    let cli = api::parse(api::command_line(command, positionals, query, &[], true)?)?;
    let bytes = api::output(shared.clone(), cli).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{command} --json: {e}"),
        )
    })
}

/// A page response with its policy: the hashes of its own inline styles and scripts.
fn respond(status: StatusCode, page: String) -> Response {
    let csp = policy(&page);
    let mut response = (status, page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The CSP source of a piece of inline text: `'sha256-…'`.
fn hash_source(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        " 'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The texts between every `open` and the `close` after it.
fn between<'p>(page: &'p str, open: &str, close: &str) -> Vec<&'p str> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find(open) {
        let body = &rest[start + open.len()..];
        let Some(end) = body.find(close) else { break };
        out.push(&body[..end]);
        rest = &body[end..];
    }
    out
}

/// A strict policy for a page: nothing from anywhere, forms only to this server,
/// no framing; each inline `<style>`, `<script>` and `style` attribute of the page
/// (the timeline's legend colours) allowed by its SHA-256, nothing else inline.
fn policy(page: &str) -> String {
    let hashes = |open: &str, close: &str, decode: bool| -> String {
        let mut seen = std::collections::BTreeSet::new();
        for text in between(page, open, close) {
            let text = if decode {
                // An attribute is hashed as the browser reads it.
                text.replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            } else {
                text.to_string()
            };
            seen.insert(hash_source(&text));
        }
        seen.into_iter().collect()
    };
    let mut styles = hashes("<style>", "</style>", false);
    let attributes = hashes(" style=\"", "\"", true);
    if !attributes.is_empty() {
        styles.push_str(" 'unsafe-hashes'");
        styles.push_str(&attributes);
    }
    let scripts = hashes("<script>", "</script>", false);
    let mut csp = String::from("default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; img-src 'self' data:");
    if !styles.is_empty() {
        csp.push_str(&format!("; style-src{styles}"));
    }
    if !scripts.is_empty() {
        csp.push_str(&format!("; script-src{scripts}"));
    }
    csp
}

/// What a person at a browser can do about a 401: a browser sends no
/// `Authorization: Bearer` header of its own (the pages take the token from that
/// header only, never a cookie or the URL), so reading the pages without a token
/// needs the server started with `--public-read`; with a token, the CLI reads the
/// same ledger through the server.
const NO_TOKEN_IN_A_BROWSER: &str = "These pages are open only to holders of a token, and a browser cannot send one by itself. To read them in a browser, ask whoever runs this server to start it with `pactlog serve --public-read` (reads and pages without a token; writes still need a writer's). With a reader's token, the command line reads the same ledger: PACTLOG_SERVER=<this server's address> PACTLOG_TOKEN=<token> pactlog state.";

/// A path no page has: a 404 page saying so (the path escaped by maud), with the
/// pages there are.
pub(crate) fn no_such_page(path: &str) -> Response {
    respond(
        StatusCode::NOT_FOUND,
        layout(
            "No such page",
            html! {
                h1 { "No such page" }
                p.error { "There is no page at " code { (path) } "." }
                p { "The pages are:" }
                ul {
                    li { a href="/" { "Provisions" } ": every provision at a cut" }
                    li { code { "/provisions/PROVISION" } ": one provision's state, statements, history and sources" }
                    li { a href="/timeline" { "Timeline" } ": the timeline of every provision" }
                }
                p { "Programs read the JSON API under " code { "/api/v1/" } "." }
            },
        ),
    )
}

/// A failure as a page (the API says it as JSON).
pub(crate) fn failed(failure: Failure) -> Response {
    let unauthorized = failure.status == StatusCode::UNAUTHORIZED;
    let title = if unauthorized {
        "A token is needed"
    } else {
        "Not shown"
    };
    let mut response = respond(
        failure.status,
        layout(
            title,
            html! {
                @if unauthorized && failure.message.starts_with("reading needs a token") {
                    p.error { "Reading this ledger needs a token." }
                    p { (NO_TOKEN_IN_A_BROWSER) }
                } @else {
                    p.error { (failure.message) }
                }
            },
        ),
    );
    if failure.status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"pactlog\""),
        );
    }
    response
}

fn layout(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · pactlog" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a href="/" { "pactlog" }
                    a href="/" { "Provisions" }
                    a href="/timeline" { "Timeline" }
                }
                main { (body) }
            }
        }
    }
    .into_string()
}

/// The form that moves the cut, filled with the page's own.
fn cut_form(action: &str, query: &[(String, String)]) -> Markup {
    let value = |key: &str| {
        query
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    html! {
        form.cut method="get" action=(action) {
            label { "Valid time (at)" input type="text" name="at" value=(value("at")) placeholder="2025-11-30, a meeting, now"; }
            label { "Record time (known at)" input type="text" name="known_at" value=(value("known_at")) placeholder="2025-12-01, seq:70, now"; }
            button type="submit" { "Show" }
        }
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn cut_line(state: &Value) -> Markup {
    let known = match state.get("known_seq") {
        Some(seq) if !seq.is_null() => format!("seq:{seq}"),
        _ => text(&state["known_at"]),
    };
    html! {
        p.cut-line { "At " (text(&state["at"])) ", as known at " (known) }
    }
}

/// A source: the outlet, linked only for an http(s) URL.
fn source(value: &Value) -> Markup {
    let outlet = text(&value["outlet"]);
    let url = text(&value["url"]);
    let lower = url.trim_start().to_ascii_lowercase();
    html! {
        @if lower.starts_with("https://") || lower.starts_with("http://") {
            a href=(url) rel="noopener noreferrer" { (outlet) }
        } @else {
            (outlet)
            @if !url.is_empty() { " (" (url) ")" }
        }
    }
}

async fn index(State(s): State<Arc<Shared>>, h: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let page = async {
        let query = cut_query(api::query_pairs(q.as_deref())?);
        index_page(s, h, query).await
    };
    page.await
        .map_err(|failure| in_form_terms("state", &[], &[], failure))
        .unwrap_or_else(failed)
}

/// A page's failure said in the terms of its path, form and query (`provision`,
/// `at`, `known_at`), never the CLI's flags and arguments.
fn in_form_terms(
    command: &str,
    from_path: &[String],
    from_query: &[&str],
    failure: Failure,
) -> Failure {
    let given_as = api::Positionals {
        path: from_path,
        query: from_query,
    };
    Failure {
        message: api::in_request_terms(api::Given::Query, command, &given_as, &failure.message),
        ..failure
    }
}

async fn index_page(
    shared: Arc<Shared>,
    headers: HeaderMap,
    query: Vec<(String, String)>,
) -> Result<Response, Failure> {
    authorize(&shared, &headers, Need::Read)?;
    let states = json_of(&shared, "state", vec![], query.clone()).await?;
    let states = states.as_array().cloned().unwrap_or_default();
    let parties: Vec<String> = states
        .iter()
        .flat_map(|s| s["positions"].as_array().cloned().unwrap_or_default())
        .map(|p| text(&p["party"]))
        .collect();
    let state_cli = api::parse(api::command_line(
        "state",
        vec![],
        query.clone(),
        &[],
        true,
    )?)?;
    let names = party_names(shared.clone(), state_cli, parties).await?;
    let name = |slug: String| names.get(&slug).cloned().unwrap_or(slug);
    let keep = keep_cut(&query);
    let body = html! {
        h1 { "Provisions" }
        (cut_form("/", &query))
        @if let Some(first) = states.first() { (cut_line(first)) }
        @if states.is_empty() {
            p { "No provision is drafted at this cut." }
        } @else {
            table {
                thead { tr { th { "provision" } th { "status" } th { "since" } th { "texts" } th { "stances" } } }
                tbody {
                    @for state in &states {
                        tr {
                            td {
                                a href={ "/provisions/" (text(&state["provision"])) (keep) } { (text(&state["title"])) }
                                br; small { (text(&state["provision"])) }
                            }
                            td.status { (text(&state["status"])) }
                            td { (text(&state["status_since"])) }
                            td {
                                @for t in state["texts"].as_array().into_iter().flatten() {
                                    (text(&t["proposal"]))
                                    @if t["dropped"] == true { " (dropped)" }
                                    br;
                                }
                            }
                            td {
                                @for p in state["positions"].as_array().into_iter().flatten() {
                                    (name(text(&p["party"]))) ": " (text(&p["stance"])) br;
                                }
                                @for c in state["conflicts"].as_array().into_iter().flatten() {
                                    "⚠ " (text(&c["field"])) ": conflicting reports" br;
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(respond(StatusCode::OK, layout("Provisions", body)))
}

async fn provision(
    State(s): State<Arc<Shared>>,
    provision: Result<Path<String>, PathRejection>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let page = async {
        let Path(provision) = provision.map_err(|r| api::path_failure(&r.body_text()))?;
        let query = cut_query(api::query_pairs(q.as_deref())?);
        provision_page(s, provision, h, query).await
    };
    page.await
        .map_err(|failure| in_form_terms("state", &["provision".into()], &[], failure))
        .unwrap_or_else(failed)
}

async fn provision_page(
    shared: Arc<Shared>,
    provision: String,
    headers: HeaderMap,
    query: Vec<(String, String)>,
) -> Result<Response, Failure> {
    authorize(&shared, &headers, Need::Read)?;
    let state_cli = api::parse(api::command_line(
        "state",
        vec![provision.clone()],
        query.clone(),
        &[],
        true,
    )?)?;
    let history = json_of(&shared, "history", vec![provision.clone()], query.clone()).await?;
    let history = history.as_array().cloned().unwrap_or_default();
    let view = provision_view(shared.clone(), state_cli, &history).await?;
    let state = view.state.clone();
    let lines = |text: &str| {
        let parts: Vec<String> = text.lines().map(str::to_string).collect();
        html! { @for (i, part) in parts.iter().enumerate() { @if i > 0 { br; } (part) } }
    };
    let title = text(&state["title"]);
    let keep = keep_cut(&query);
    let body = html! {
        h1 { (title) }
        p { small { (provision) } " · " a href={ "/timeline?provision=" (provision) } { "timeline" } }
        (cut_form(&format!("/provisions/{provision}"), &query))
        (cut_line(&state))
        h2 { "Status: " span.status { (text(&state["status"])) } }
        p { "since " (text(&state["status_since"])) " (" (lines(&view.status_source)) ")" }
        h2 { "Texts" }
        table {
            thead { tr { th { "proposal" } th { "text" } th { "since" } th { "source" } } }
            tbody {
                @for (t, cite) in state["texts"].as_array().into_iter().flatten().zip(&view.texts) {
                    tr class=[(t["dropped"] == true).then_some("removed")] {
                        td { (text(&t["proposal"])) }
                        td { (text(&t["text"])) @if t["dropped"] == true { " (dropped)" } }
                        td { (text(&t["since"])) }
                        td { (lines(cite)) }
                    }
                }
            }
        }
        h2 { "Stances" }
        table {
            thead { tr { th { "party" } th { "stance" } th { "summary" } th { "since" } th { "source" } } }
            tbody {
                @for (p, (name, cite)) in state["positions"].as_array().into_iter().flatten().zip(&view.positions) {
                    tr {
                        td { (name) }
                        td { (text(&p["stance"])) }
                        td { (text(&p["summary"])) }
                        td { (text(&p["since"])) }
                        td { (lines(cite)) }
                    }
                }
            }
        }
        @let meetings = state["meetings"].as_array().cloned().unwrap_or_default();
        @if !meetings.is_empty() {
            h2 { "Meetings" }
            ul { @for m in &meetings { li { (text(m)) } } }
        }
        @let statements = state["statements"].as_array().cloned().unwrap_or_default();
        @if !statements.is_empty() {
            h2 { "Statements" }
            @for (st, (who, cite)) in statements.iter().zip(&view.statements) {
                blockquote { (text(&st["quote"])) }
                p.cut-line {
                    "— " (who) ", " (text(&st["occurred_at"])) " (" (lines(cite)) ")"
                }
            }
        }
        @if !view.conflicts.is_empty() {
            h2 { "⚠ Conflicting reports" }
            p { "Shown, not settled; the field holds the later record's." }
            table {
                thead { tr { th { "field" } th { "day" } th { "value" } th { "source" } } }
                tbody {
                    @for c in &view.conflicts {
                        tr { td { (c[0]) } td { (c[1]) } td { (c[2]) } td { (lines(&c[3])) } }
                    }
                }
            }
        }
        h2 { "History and sources" }
        table {
            thead { tr { th { "seq" } th { "occurred" } th { "recorded" } th { "event" } th { "source" } th { "recorded by" } } }
            tbody {
                @for (r, event) in history.iter().zip(&view.history) {
                    tr class=[(r["retracted"] == true).then_some("removed")] {
                        td { (text(&r["seq"])) }
                        td { (text(&r["occurred_at"])) }
                        td { (text(&r["recorded_at"])) }
                        td {
                            (lines(event))
                            @for field in ["quote", "text", "note", "summary", "reason"] {
                                @if let Some(Value::String(v)) = r.get(field) { br; (v) }
                            }
                            @if r["retracted"] == true { br; "removed by " (text(&r["retracted_by"])) }
                        }
                        td {
                            @for s in r.get("source").into_iter().chain(r["sources"].as_array().into_iter().flatten()) {
                                (source(s))
                                @if let Some(Value::String(grade)) = s.get("grade") { " (" (grade) ")" }
                                br;
                            }
                        }
                        td { (text(&r["recorded_by"])) }
                    }
                }
            }
        }
        p { a href={ "/" (keep) } { "All provisions at this cut" } }
    };
    Ok(respond(StatusCode::OK, layout(&title, body)))
}

/// What `state`'s table shows beyond the JSON, for the provision page: each
/// field's source line (with the `⚠ inference: …` mark of the recorder's reading),
/// parties and actors by name, the conflicting reports, and each history row's
/// event as `history` says it (`status_changed: status -> agreed_in_principle`).
struct ProvisionView {
    /// `state PROVISION --json`.
    state: Value,
    status_source: String,
    /// One source line per text.
    texts: Vec<String>,
    /// Per position: the party's name, the source line.
    positions: Vec<(String, String)>,
    /// Per statement: who spoke (by name), the source line.
    statements: Vec<(String, String)>,
    /// Per side of a conflict: field, day, value, source line.
    conflicts: Vec<[String; 4]>,
    /// Per history row (in `history`'s order): the event and who it is by.
    history: Vec<String>,
}

/// The registered names of these parties at the cut of a `state` command line, by slug
/// (as the `state` table shows them).
async fn party_names(
    shared: Arc<Shared>,
    cli: crate::cli::Cli,
    parties: Vec<String>,
) -> Result<std::collections::HashMap<String, String>, Failure> {
    at_state_cut(shared, cli, move |ledger, _, cut| {
        let slugs: Vec<_> = parties
            .iter()
            .filter_map(|p| crate::event::Slug::parse(p).ok())
            .collect();
        let names = crate::names::Names::of_slugs(
            ledger,
            slugs.iter().map(|s| (crate::event::Kind::Party, s.clone())),
            cut,
        )?;
        Ok(slugs
            .iter()
            .map(|s| (s.to_string(), names.party(s).to_string()))
            .collect())
    })
    .await
}

/// Runs `build` on the held ledger, off the async threads, with the cut and the
/// arguments of the `state` command line `cli` (the pages take `state`'s cut).
async fn at_state_cut<T: Send + 'static>(
    shared: Arc<Shared>,
    cli: crate::cli::Cli,
    build: impl FnOnce(
            &crate::store::Ledger,
            &crate::cli::state::Args,
            &crate::query::Cut,
        ) -> Result<T, crate::cli::CliError>
        + Send
        + 'static,
) -> Result<T, Failure> {
    use crate::cli::{CliError, Ctx, Env, Held};
    let built = tokio::task::spawn_blocking(move || -> Result<T, CliError> {
        let ledger = shared.ledger.blocking_read();
        shared.running()?;
        let env = Env::from_process().map_err(CliError::usage)?;
        let crate::cli::Command::State(args) = &cli.command else {
            return Err(CliError::usage("the page reads the provisions' state"));
        };
        let ctx = Ctx {
            cli: &cli,
            env: &env,
            held: Held::Read(&ledger),
        };
        let cut = ctx.cut_of(&ledger, &args.cut)?;
        build(&ledger, args, &cut)
    })
    .await
    .map_err(|_| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the page stopped without an answer",
        )
    })?;
    built.map_err(Failure::from)
}

/// Builds the [`ProvisionView`] on the held ledger, with the cut `state` takes
/// (the same functions as `state` and `history` tables).
async fn provision_view(
    shared: Arc<Shared>,
    cli: crate::cli::Cli,
    history: &[Value],
) -> Result<ProvisionView, Failure> {
    use crate::cli::{render, state, CliError};
    use crate::event::Kind;
    use crate::names::Names;
    let seqs: Vec<u64> = history.iter().filter_map(|r| r["seq"].as_u64()).collect();
    at_state_cut(shared, cli, move |ledger, args, cut| {
        let provision =
            state::slug_arg(args.provision.as_deref().unwrap_or_default(), "PROVISION")?;
        let at = crate::query::provision_state(ledger, &provision, cut)?;
        let s = &at.state;
        let records: Vec<_> = seqs
            .iter()
            .filter_map(|seq| ledger.record(*seq).ok().flatten())
            .collect();
        let slugs = s
            .positions
            .iter()
            .map(|p| (Kind::Party, p.party.clone()))
            .chain(
                s.statements
                    .iter()
                    .filter_map(|st| st.actor.clone().map(|a| (Kind::Actor, a))),
            )
            .chain(records.iter().flat_map(|r| {
                r.event
                    .registers()
                    .into_iter()
                    .chain(r.event.references().into_iter().map(|(k, s, _)| (k, s)))
                    .map(|(kind, slug)| (kind, slug.clone()))
            }))
            .collect::<Vec<_>>();
        let names = Names::of_slugs(ledger, slugs, cut)?;
        let sources = render::Sources::of_state(ledger, &at, true)?;
        let history = records
            .iter()
            .map(|r| {
                let mut event = format!(
                    "{}: {}",
                    r.event.type_name(),
                    render::subject(ledger, r, &names)
                );
                if let Some(who) = names.who(&r.event) {
                    event.push_str(&format!("\n— {who}"));
                }
                event
            })
            .collect();
        Ok(ProvisionView {
            state: serde_json::to_value(&at).map_err(CliError::from)?,
            status_source: sources.cite(&s.status_event),
            texts: s.texts.iter().map(|t| sources.cite(&t.event)).collect(),
            positions: s
                .positions
                .iter()
                .map(|p| (names.party(&p.party).to_string(), sources.cite(&p.event)))
                .collect(),
            statements: s
                .statements
                .iter()
                .map(|st| {
                    let who = names.speaker(st.actor.as_ref(), st.attribution.as_deref());
                    (who.unwrap_or_default().to_string(), sources.cite(&st.event))
                })
                .collect(),
            conflicts: s
                .conflicts
                .iter()
                .flat_map(|c| {
                    c.sides.iter().map(|side| {
                        [
                            c.field.clone(),
                            render::when(&c.day),
                            render::value(&side.value, &names),
                            sources.cite(&side.event),
                        ]
                    })
                })
                .collect(),
            history,
        })
    })
    .await
}

async fn timeline(State(s): State<Arc<Shared>>, h: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let page = async {
        let query = cut_query(api::query_pairs(q.as_deref())?);
        timeline_page(s, h, query).await
    };
    page.await
        .map_err(|failure| in_form_terms("timeline", &[], &["provision"], failure))
        .unwrap_or_else(failed)
}

/// The page `pactlog timeline --html -` writes, for the cut and provisions asked.
async fn timeline_page(
    shared: Arc<Shared>,
    headers: HeaderMap,
    query: Vec<(String, String)>,
) -> Result<Response, Failure> {
    authorize(&shared, &headers, Need::Read)?;
    let mut line = api::command_line("timeline", vec![], query, &["provision"], false)?;
    // Before the `--` that ends the flags.
    let end = line.iter().position(|a| a == "--").unwrap_or(line.len());
    line.insert(end, "--html=-".into());
    let cli = api::parse(line)?;
    let page = api::output(shared, cli).await?;
    let page = String::from_utf8(page).map_err(|_| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the timeline is not UTF-8",
        )
    })?;
    Ok(respond(StatusCode::OK, page))
}
