//! `pactlog serve`: the real server on a free loopback port, driven over HTTP. Every
//! read endpoint against the CLI's `--json` at the same cuts; auth (401/403),
//! revocation, 400/412/413; idempotent retries; concurrent writers; SIGTERM during
//! a write burst. Loopback only; every loop is bounded.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{TestLedger, NOW};

/// A running `pactlog serve` on 127.0.0.1 with a free port; SIGTERM on drop.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    agent: ureq::Agent,
}

/// A response: its status, headers we look at, and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Server {
    /// Starts the server on the ledger with extra arguments (`--public-read`…).
    pub fn start(ledger: &TestLedger, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pactlog"))
            .env_clear()
            .env("PACTLOG_DB", &ledger.db)
            .env("PACTLOG_NOW", NOW)
            .env("PACTLOG_LOCK_TIMEOUT", "20")
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the pactlog binary runs");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the first line names the address: {first:?}"))
            .to_string();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Server {
            child: Some(child),
            url,
            agent,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut response = response.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect::<Vec<_>>();
        let content_type = headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .unwrap_or_default();
        Reply {
            status,
            body,
            content_type,
            headers,
        }
    }

    /// GET `path` with an optional Bearer token.
    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.agent.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Self::reply(request.call())
    }

    /// POST `body` to `path` with headers.
    pub fn post(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let mut request = self.agent.post(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::reply(request.send(body))
    }

    /// SIGTERM, then the exit status and stderr (bounded wait).
    pub fn stop(mut self) -> (i32, String) {
        let mut child = self.child.take().unwrap();
        terminate(&child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                use std::io::Read;
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                return (status.code().unwrap_or(-1), stderr);
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop within 60 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&child);
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `pactlog token add NAME --role ROLE`: the token on the last line.
pub fn token(ledger: &TestLedger, name: &str, role: &str) -> String {
    let out = ledger.ok(&["token", "add", name, "--role", role]);
    out.lines().last().unwrap().to_string()
}

/// How many records the ledger holds.
fn records(ledger: &TestLedger) -> u64 {
    ledger.export().lines().count() as u64
}

/// [`shared_ledger`] served with the default options: the ledger, the writer's token,
/// its export before any request, and the server.
fn served() -> (TestLedger, String, String, Server) {
    let (ledger, writer, _) = shared_ledger();
    let before = ledger.export();
    let server = Server::start(&ledger, &[]);
    (ledger, writer, before, server)
}

/// `POST /api/v1/events` of [`VATICAN`] by `token`, under `If-Match: if_match`.
fn vatican_if(server: &Server, token: &str, if_match: &str) -> Reply {
    server.post(
        "/api/v1/events",
        Some(token),
        &[("If-Match", if_match)],
        VATICAN,
    )
}

/// The header of a JSON body.
const JSON: [(&str, &str); 1] = [("Content-Type", "application/json")];

/// A ledger holding the bundled record, a writer's and a reader's token.
fn shared_ledger() -> (TestLedger, String, String) {
    let ledger = TestLedger::bundled();
    let writer = token(&ledger, "desk", "writer");
    let reader = token(&ledger, "editor", "reader");
    (ledger, writer, reader)
}

/// One event a writer may post: the Holy See registered as a party.
const VATICAN: &str =
    r#"{"type":"party_registered","party":"vatican","name":"Holy See","occurred_at":"2025-12-03"}"#;

/// The CLI command and the endpoint that must answer the same bytes.
const SAME_AS_CLI: &[(&[&str], &str)] = &[
    (&["state", "--json"], "/api/v1/state"),
    (
        &[
            "state",
            "--at",
            "geneva-2025-11-23",
            "--known-at",
            "seq:60",
            "--json",
        ],
        "/api/v1/state?at=geneva-2025-11-23&known_at=seq:60",
    ),
    (
        &[
            "state",
            "nato-membership",
            "--at",
            "florida-2025-11-30",
            "--json",
        ],
        "/api/v1/state/nato-membership?at=florida-2025-11-30",
    ),
    (
        &["history", "nato-membership", "--json"],
        "/api/v1/history/nato-membership",
    ),
    (
        &[
            "history",
            "nato-membership",
            "--known-at",
            "seq:60",
            "--json",
        ],
        "/api/v1/history/nato-membership?known_at=seq:60",
    ),
    (
        &[
            "diff",
            "nato-membership",
            "--from",
            "2025-12-01",
            "--to",
            "2025-12-01",
            "--from-known-at",
            "seq:60",
            "--json",
        ],
        "/api/v1/diff/nato-membership?from=2025-12-01&to=2025-12-01&from_known_at=seq:60",
    ),
    (
        &[
            "compare",
            "us-28-point-plan",
            "european-counter-proposal",
            "--at",
            "geneva-2025-11-23",
            "--json",
        ],
        "/api/v1/compare/us-28-point-plan/european-counter-proposal?at=geneva-2025-11-23",
    ),
    (
        &[
            "blame",
            "nato-membership",
            "--at",
            "florida-2025-11-30",
            "--json",
        ],
        "/api/v1/blame/nato-membership?at=florida-2025-11-30",
    ),
    (
        &["state", "--min-grade", "B2", "--reported-only", "--json"],
        "/api/v1/state?min_grade=B2&reported_only=true",
    ),
    (&["log", "--json"], "/api/v1/log"),
    (
        &["log", "--known-at", "seq:3", "--json"],
        "/api/v1/log?known-at=seq:3",
    ),
    (&["export"], "/api/v1/export"),
    (
        &["export", "--format", "csv", "--at", "florida-2025-11-30"],
        "/api/v1/export?format=csv&at=florida-2025-11-30",
    ),
    (&["list", "actors", "--json"], "/api/v1/list/actors"),
    (&["list", "meetings", "--json"], "/api/v1/list/meetings"),
    (
        &["search", "legal sense", "--json"],
        "/api/v1/search?q=legal%20sense",
    ),
    (
        &[
            "timeline",
            "nato-membership",
            "--known-at",
            "seq:60",
            "--json",
        ],
        "/api/v1/timeline?provision=nato-membership&known_at=seq:60",
    ),
];

#[test]
fn every_read_endpoint_answers_what_the_cli_prints_with_json() {
    let (ledger, _writer, reader) = shared_ledger();
    let n = records(&ledger);
    let expected: Vec<String> = SAME_AS_CLI
        .iter()
        .map(|(args, _)| ledger.ok(args))
        .collect();
    let server = Server::start(&ledger, &[]);
    for ((args, path), cli) in SAME_AS_CLI.iter().zip(&expected) {
        let reply = server.get(path, Some(&reader));
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert!(
            &reply.body == cli,
            "{path} differs from `pactlog {}`",
            args.join(" ")
        );
    }
    let export = server.get("/api/v1/export", Some(&reader));
    assert_eq!(export.content_type, "application/x-ndjson");
    assert!(server
        .get("/api/v1/state", Some(&reader))
        .content_type
        .starts_with("application/json"));
    // verify is a POST: it does work.
    let verify = server.post("/api/v1/verify", Some(&reader), &[], "");
    assert_eq!(verify.status, 200, "{}", verify.body);
    assert_eq!(verify.json()["ok"], true);
    assert_eq!(verify.json()["head"]["seq"], n);
    let health = server.get("/api/v1/health", None);
    assert_eq!(
        (health.status, health.json()["ok"].clone()),
        (200, json!(true))
    );
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
    // The ledger is closed: the CLI opens it again.
    assert!(ledger.ok(&["log", "--json"]) == expected[9]);
}

#[test]
fn errors_carry_the_cli_message_and_status() {
    let (ledger, _writer, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    let cases: &[(&str, u16, &str)] = &[
        (
            "/api/v1/state/nato-membrship",
            404,
            "unknown provision `nato-membrship` (did you mean `nato-membership`?)",
        ),
        (
            "/api/v1/state?att=2025-11-23",
            400,
            "unknown query parameter `att` (did you mean `at`?)",
        ),
        ("/api/v1/state?at=2025-13-45", 400, "query parameter `at`:"),
        ("/api/v1/state?db=/etc", 400, "unknown query parameter `db`"),
        (
            "/api/v1/timeline?html=/tmp/x.html",
            400,
            "unknown query parameter `html`",
        ),
        (
            "/api/v1/export?out=/tmp/x",
            400,
            "unknown query parameter `out`",
        ),
        ("/api/v1/list/actorz", 400, "actorz"),
        ("/api/v1/nothing", 404, "no such endpoint"),
    ];
    for (path, status, message) in cases {
        let reply = server.get(path, Some(&reader));
        assert_eq!(reply.status, *status, "{path}: {}", reply.body);
        let error = reply.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(message), "{path}: {error}");
        assert!(!error.ends_with('.'), "{error}");
    }
    assert!(!ledger.path("x.html").exists());
}

#[test]
fn tokens_guard_reads_and_writes_and_revocation_counts_at_once() {
    let (ledger, writer, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    let event = VATICAN;
    // Without a token, or with one that is not the ledger's: 401 with a challenge.
    for token in [None, Some("pl_0000"), Some("")] {
        let reply = server.get("/api/v1/state", token);
        assert_eq!(reply.status, 401, "{token:?}: {}", reply.body);
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"pactlog\"")
        );
        assert_eq!(server.post("/api/v1/events", token, &[], event).status, 401);
    }
    // A reader reads, and may not write.
    assert_eq!(server.get("/api/v1/state", Some(&reader)).status, 200);
    let refused = server.post("/api/v1/events", Some(&reader), &[], event);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.json()["error"].as_str().unwrap().contains("reader"));
    // A writer writes.
    let made = server.post("/api/v1/events", Some(&writer), &[], event);
    assert_eq!(made.status, 201, "{}", made.body);
    // Revoked while the server runs: refused from the next request on.
    ledger.ok(&["token", "revoke", "editor"]);
    assert_eq!(server.get("/api/v1/state", Some(&reader)).status, 401);
    assert_eq!(server.get("/api/v1/state", Some(&writer)).status, 200);
    // Tokens are kept hashed, in a file only the owner reads.
    let file = std::fs::read_to_string(ledger.db.join("tokens.json")).unwrap();
    assert!(
        !file.contains(&writer[3..]),
        "the token itself is never stored"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ledger.db.join("tokens.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (code, stderr) = server.stop();
    assert_eq!(code, 0);
    assert!(!stderr.contains(&writer), "a token is never logged");
    // The log holds no token either.
    assert!(!ledger.export().contains(&writer[3..]));
}

#[test]
fn public_read_opens_reads_only() {
    let (ledger, writer, _reader) = shared_ledger();
    let server = Server::start(&ledger, &["--public-read"]);
    assert_eq!(
        server.get("/api/v1/state/nato-membership", None).status,
        200
    );
    let event = VATICAN;
    assert_eq!(server.post("/api/v1/events", None, &[], event).status, 401);
    assert_eq!(
        server
            .post("/api/v1/events", Some(&writer), &[], event)
            .status,
        201
    );
    // A wrong token is refused even where none is needed.
    assert_eq!(server.get("/api/v1/state", Some("pl_wrong")).status, 401);
}

#[test]
fn tokens_are_random_named_and_listed_without_the_secret() {
    let ledger = TestLedger::bundled();
    let a = token(&ledger, "desk", "writer");
    let b = token(&ledger, "desk-2", "reader");
    assert_ne!(a, b);
    assert!(a.starts_with("pl_") && a.len() >= 3 + 32, "{a}");
    let again = ledger.fails(&["token", "add", "desk", "--role", "reader"]);
    assert!(
        again.error().contains("exists already"),
        "{}",
        again.error()
    );
    let bad = ledger.fails(&["token", "add", "Desk Two", "--role", "reader"]);
    assert_eq!(bad.code, 3, "{}", bad.error());
    let list = ledger.ok(&["token", "list", "--json"]);
    assert!(!list.contains(&a[3..]) && list.contains("desk-2"), "{list}");
    let missing = ledger.fails(&["token", "revoke", "dsk"]);
    assert!(
        missing.error().contains("did you mean `desk`?"),
        "{}",
        missing.error()
    );
    let nowhere = TestLedger::new();
    assert_eq!(
        nowhere
            .fails(&["token", "add", "x", "--role", "reader"])
            .code,
        4
    );
    assert_eq!(nowhere.fails(&["token", "list"]).code, 4);
    assert!(!nowhere.db.exists());
}

#[test]
fn writes_answer_seq_id_head_and_retries_are_idempotent() {
    let (ledger, writer, _) = shared_ledger();
    let n = records(&ledger);
    let (n1, n2, n3, n4) = (n + 1, n + 2, n + 3, n + 4);
    let server = Server::start(&ledger, &[]);
    let event = r#"{"id":"0193e000-0000-7000-8000-0000000000aa","type":"party_registered","party":"vatican","name":"Holy See","occurred_at":"2025-12-03"}"#;
    let made = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("Content-Type", "application/json")],
        event,
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let body = made.json();
    assert_eq!(body["seq"], n1);
    assert_eq!(body["id"], "0193e000-0000-7000-8000-0000000000aa");
    assert_eq!(body["head"]["seq"], n1);
    assert_eq!(body["head"]["hash"].as_str().unwrap().len(), 64);
    assert_eq!(made.header("etag"), Some(format!("\"{n1}\"").as_str()));
    // The same event again, even with a stale If-Match: success, nothing written.
    let again = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("If-Match", n.to_string().as_str())],
        event,
    );
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        (
            again.json()["seq"].clone(),
            again.json()["appended"].clone()
        ),
        (json!(n1), json!(0))
    );
    // The same id with other content: refused, as the CLI refuses it (exit 3).
    let other = event.replace("Holy See", "Vatican");
    let clash = server.post("/api/v1/events", Some(&writer), &[], &other);
    assert_eq!(clash.status, 400, "{}", clash.body);
    assert!(clash.json()["error"]
        .as_str()
        .unwrap()
        .contains("with other content"));
    // If-Match: the head the write expects, as --expect-seq.
    let next =
        r#"{"type":"party_registered","party":"malta","name":"Malta","occurred_at":"2025-12-03"}"#;
    let stale = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("If-Match", format!("\"{n}\"").as_str())],
        next,
    );
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert!(stale.json()["error"]
        .as_str()
        .unwrap()
        .contains(&format!("not {n}")));
    let fresh = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("If-Match", format!("\"{n1}\"").as_str())],
        next,
    );
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    let junk = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("If-Match", "soon")],
        next,
    );
    assert_eq!(junk.status, 400);
    // Retract through its own endpoint, by prefix as the CLI takes it.
    let retracted = server.post(
        "/api/v1/retract/0193e000-0000-7000-8000-0000000000aa",
        Some(&writer),
        &[],
        r#"{"reason":"entered by mistake","occurred_at":"2025-12-04"}"#,
    );
    assert_eq!(retracted.status, 201, "{}", retracted.body);
    assert_eq!(retracted.json()["seq"], n3);
    let no_reason = server.post(
        &format!("/api/v1/retract/seq:{n2}"),
        Some(&writer),
        &[],
        "{}",
    );
    assert_eq!(no_reason.status, 400, "{}", no_reason.body);
    // Cite a source for an event, as `pactlog cite` does.
    let cited = server.post(
        &format!("/api/v1/cite/seq:{n2}"),
        Some(&writer),
        &[("If-Match", n3.to_string().as_str())],
        r#"{"outlet":"Reuters","grade":"B2","url":"https://example.org/r"}"#,
    );
    assert_eq!(cited.status, 201, "{}", cited.body);
    assert_eq!(cited.json()["seq"], n4);
    let stale = server.post(
        &format!("/api/v1/cite/seq:{n2}"),
        Some(&writer),
        &[("If-Match", n3.to_string().as_str())],
        r#"{"outlet":"AP"}"#,
    );
    assert_eq!(stale.status, 412, "{}", stale.body);
    let bad_grade = server.post(
        &format!("/api/v1/cite/seq:{n2}"),
        Some(&writer),
        &[],
        r#"{"outlet":"AP","grade":"Z9"}"#,
    );
    assert_eq!(bad_grade.status, 400, "{}", bad_grade.body);
    let (code, _) = server.stop();
    assert_eq!(code, 0);
    let log = crate::common::json(&ledger, &["log", "--json"]);
    assert_eq!(log.as_array().unwrap().len() as u64, n4);
    assert_eq!(log[n3 as usize]["recorded_by"], "desk");
    assert_eq!(log[n2 as usize]["type"], "event_retracted");
    assert_eq!(
        log[n2 as usize]["target"],
        "0193e000-0000-7000-8000-0000000000aa"
    );
    ledger.ok(&["verify"]);
}

#[test]
fn bad_input_is_a_400_naming_line_and_field_and_writes_nothing() {
    let (ledger, writer, _) = shared_ledger();
    let before = ledger.export();
    let server = Server::start(&ledger, &["--max-body", "4096"]);
    let ndjson = concat!(
        r#"{"type":"party_registered","party":"vatican","name":"Holy See","occurred_at":"2025-12-03"}"#,
        "\n",
        r#"{"type":"status_changed","provision":"nato-membership","status":"agred","occurred_at":"2025-12-03"}"#,
        "\n"
    );
    let reply = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("Content-Type", "application/x-ndjson")],
        ndjson,
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["line"], 2);
    assert_eq!(body["field"], "status");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("line 2: field `status`: unknown status `agred` (did you mean `agreed`?)"),
        "{body}"
    );
    // Not JSON, the wrong type, an unknown media type.
    let not_json = server.post("/api/v1/events", Some(&writer), &[], "{\"type\":");
    assert_eq!(not_json.status, 400, "{}", not_json.body);
    let media = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("Content-Type", "text/plain")],
        "x",
    );
    assert_eq!(media.status, 415);
    // Over --max-body: 413, as JSON.
    let big = format!(
        r#"{{"type":"party_registered","party":"big","name":"{}","occurred_at":"2025-12-03"}}"#,
        "x".repeat(5000)
    );
    let too_large = server.post("/api/v1/events", Some(&writer), &[], &big);
    // Said to an HTTP client: the limit in bytes, and that it is the server's (a
    // tester's case: it named the server's `--max-body` flag).
    says_in_request_terms(
        &too_large,
        413,
        "larger than this server takes: at most 4096 bytes (a setting of the server",
    );
    // Far over it (more than a socket buffer): still a 413 the client reads.
    let huge = big.replace(&"x".repeat(5000), &"x".repeat(2 << 20));
    let refused = server.post("/api/v1/events", Some(&writer), &[], &huge);
    assert_eq!(refused.status, 413, "{}", refused.body);
    let (code, _) = server.stop();
    assert_eq!(code, 0);
    assert_eq!(ledger.export(), before, "nothing was written");
}

/// Sends `head` (a request line and headers, without the blank line) on a new
/// connection, then a body of `body` bytes (`x`s, as one `Content-Length` body);
/// returns whether the whole body could be sent, the answer's status line, whether
/// it says `Connection: close`, and whether the server then closed the connection.
fn send_raw(server: &Server, head: &str, body: usize) -> (bool, String, bool, bool) {
    use std::io::{Read, Write};
    let address = server.url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let length = match body {
        0 => String::new(),
        n => format!("\r\nContent-Length: {n}"),
    };
    stream
        .write_all(format!("{head}{length}\r\nHost: test\r\n\r\n").as_bytes())
        .unwrap();
    let sent = stream.write_all(&vec![b'x'; body]).is_ok();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = loop {
        match stream.read(&mut buffer) {
            Ok(0) => break true,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false, // timed out: the connection is kept open
        }
    };
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text.lines().next().unwrap_or_default().to_string();
    let says_close = text
        .lines()
        .take_while(|line| !line.is_empty())
        .any(|line| line.eq_ignore_ascii_case("connection: close"));
    (sent, status, says_close, closed)
}

#[test]
fn a_refusal_of_a_request_with_a_body_reaches_the_client() {
    // The example: a request refused before its body was read (a 415 in CI, a 401
    // before it) left a kept-alive connection the server then closed; the client's
    // next request on it read a reset instead of an answer. Such refusals now say
    // `Connection: close`.
    let (ledger, writer, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    let post = "POST /api/v1/events HTTP/1.1";
    // (the request's head, its status): refusals decided from the headers alone.
    let refusals = [
        (
            format!("{post}\r\nAuthorization: Bearer {writer}\r\nContent-Type: text/plain"),
            "415",
        ),
        (post.to_string(), "401"),
        (format!("{post}\r\nAuthorization: Bearer {reader}"), "403"),
        (
            format!("{post}\r\nAuthorization: Bearer {writer}\r\nIf-Match: +68"),
            "400",
        ),
        (
            format!("POST /api/v1/cite/seq:1 HTTP/1.1\r\nAuthorization: Bearer {reader}"),
            "403",
        ),
        ("POST /api/v1/nowhere HTTP/1.1".to_string(), "404"),
        // A well-formed ETag that is none of this server's: it never matches.
        (
            format!("{post}\r\nAuthorization: Bearer {writer}\r\nIf-Match: \"x\""),
            "412",
        ),
    ];
    for (head, status) in &refusals {
        let (sent, line, says_close, closed) = send_raw(&server, head, 64);
        assert!(sent && line.contains(status), "{head:?}: {line}");
        assert!(says_close, "{head:?}: {line} without `Connection: close`");
        assert!(closed, "{head:?}: the connection stays open");
    }
    // A tester's case: a body of several MB refused from its headers is read to its
    // end before the answer, so the client, still sending, reads the refusal rather
    // than a broken pipe (as a body over --max-body always was).
    for (head, status) in &refusals[..4] {
        let (sent, line, _, _) = send_raw(&server, head, 5 << 20);
        assert!(sent, "{head:?}: the body could not be sent whole ({line})");
        assert!(line.contains(status), "{head:?}: {line}");
    }
    // A refusal of a request without a body keeps the connection for the next one.
    let (_, line, says_close, closed) = send_raw(&server, "GET /api/v1/nowhere HTTP/1.1", 0);
    assert!(line.contains("404"), "{line}");
    assert!(!says_close && !closed, "{line}");
    // Through a client that keeps connections: each refusal, then a request that
    // must be answered, many times over.
    let event = VATICAN;
    for _ in 0..50 {
        let media = server.post(
            "/api/v1/events",
            Some(&writer),
            &[("Content-Type", "text/plain")],
            event,
        );
        assert_eq!(media.status, 415);
        assert_eq!(server.post("/api/v1/events", None, &[], event).status, 401);
        assert_eq!(server.get("/api/v1/health", None).status, 200);
    }
    let (code, _) = server.stop();
    assert_eq!(code, 0);
}

/// The `error` and `field` of a reply.
fn error_and_field(reply: &Reply) -> (String, Value) {
    let body = reply.json();
    (
        body["error"].as_str().unwrap().to_string(),
        body["field"].clone(),
    )
}

#[test]
fn write_errors_name_body_fields_and_lines_never_flags() {
    let (ledger, writer, before, server) = served();
    let post = |path: &str, body: &str| server.post(path, Some(&writer), &[], body);
    // (path, body, the error, the field): a user's findings, then cases of the kind.
    let cases = [
        (
            "/api/v1/cite/seq:3",
            r#"{"outlet":"BBC","extra":"x"}"#,
            "unknown field `extra`",
            json!("extra"),
        ),
        (
            "/api/v1/cite/seq:3",
            r#"{"url":"https://example.org"}"#,
            "field `outlet` is required",
            json!("outlet"),
        ),
        (
            "/api/v1/retract/seq:3",
            r#"{"reason":"x"}"#,
            "field `occurred_at` is required",
            json!("occurred_at"),
        ),
        (
            "/api/v1/cite/seq:3",
            r#"{"outlt":"BBC"}"#,
            "unknown field `outlt` (did you mean `outlet`?)",
            json!("outlt"),
        ),
        (
            "/api/v1/cite/seq:3",
            r#"{"outlet":"BBC","grade":3}"#,
            "field `grade`: expected a string, found a number",
            json!("grade"),
        ),
        (
            "/api/v1/cite/seq:3",
            r#"{"outlet":"BBC","expect_seq":"3"}"#,
            "field `expect_seq`: send the head the write expects as the header `If-Match: SEQ`",
            json!("expect_seq"),
        ),
        (
            "/api/v1/retract/seq:3",
            r#"{"reason":"x","occurred_at":"2025-12-04","source_outlet":""}"#,
            "field `source_outlet` cannot be empty",
            json!("source_outlet"),
        ),
        (
            "/api/v1/retract/abcdef12",
            r#"{"reason":"x","occurred_at":"2025-12-04"}"#,
            "path parameter `id`: no event id starts with `abcdef12`",
            Value::Null,
        ),
        (
            "/api/v1/events",
            r#"{"type":"party_registered","party":"malta","name":"Malta"}"#,
            "party_registered needs field `occurred_at`",
            json!("occurred_at"),
        ),
    ];
    for (path, body, error, field) in cases {
        let reply = post(path, body);
        assert_eq!(reply.status, 400, "{path} {body}: {}", reply.body);
        assert_eq!(
            error_and_field(&reply),
            (error.to_string(), field),
            "{path} {body}"
        );
    }
    // The CLI's locations and flags never show, whatever the write endpoint says.
    let grade = post("/api/v1/cite/seq:3", r#"{"outlet":"BBC","grade":"Z9"}"#);
    let (error, field) = error_and_field(&grade);
    assert!(
        error.starts_with("field `grade`: grade `Z9` is not an Admiralty grade"),
        "{error}"
    );
    assert_eq!(field, "grade");
    // An NDJSON line that is a JSON array is refused, naming the line (after comments).
    for (body, line) in [
        ("[{\"type\":\"party_registered\",\"party\":\"malta\",\"name\":\"Malta\",\"occurred_at\":\"2025-12-03\"}]\n", 1),
        ("# a desk's batch\n\n[\n", 3),
    ] {
        let reply = server.post(
            "/api/v1/events",
            Some(&writer),
            &[("Content-Type", "application/x-ndjson")],
            body,
        );
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(reply.json()["line"], line);
        let error = reply.json()["error"].as_str().unwrap().to_string();
        assert!(
            error.starts_with(&format!("line {line}: expected one JSON object per line")),
            "{error}"
        );
    }
    // (On this machine the CLI goes through the server.)
    assert_eq!(ledger.export(), before, "nothing was written");
    // application/json still takes one object.
    let one = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("Content-Type", "application/json")],
        r#"{"type":"party_registered","party":"malta","name":"Malta","occurred_at":"2025-12-03"}"#,
    );
    assert_eq!(one.status, 201, "{}", one.body);
    // A read's query keeps its own word.
    let read = server.get("/api/v1/state?atx=2025-12-01", Some(&writer));
    assert_eq!(read.status, 400);
    assert_eq!(
        read.json()["error"],
        "unknown query parameter `atx` (did you mean `at`?)"
    );
}

#[test]
fn eight_concurrent_writers_lose_nothing() {
    const WRITERS: usize = 8;
    const EACH: usize = 50;
    let (ledger, writer, _) = shared_ledger();
    let n = records(&ledger) as usize;
    let server = Server::start(&ledger, &[]);
    let acknowledged: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let server = &server;
                let writer = &writer;
                scope.spawn(move || {
                    (0..EACH)
                        .map(|i| {
                            let event = format!(
                                r#"{{"type":"party_registered","party":"p{w}-{i}","name":"P","occurred_at":"2025-12-03"}}"#
                            );
                            let reply = server.post("/api/v1/events", Some(writer), &[], &event);
                            assert_eq!(reply.status, 201, "{}", reply.body);
                            reply.json()["id"].as_str().unwrap().to_string()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(acknowledged.len(), WRITERS * EACH);
    // Past 64 KiB the export streams; it is still every byte the CLI writes.
    let streamed = server.get("/api/v1/export", Some(&writer));
    assert_eq!(streamed.status, 200);
    assert!(streamed.body.len() > 128 << 10, "{}", streamed.body.len());
    let (code, _) = server.stop();
    assert_eq!(code, 0);
    let export = ledger.export();
    assert!(
        streamed.body == export,
        "the streamed export differs from the CLI's"
    );
    for id in &acknowledged {
        assert!(export.contains(id.as_str()), "acknowledged {id} is missing");
    }
    assert_eq!(export.lines().count(), n + WRITERS * EACH);
    ledger.ok(&["verify"]);
}

#[test]
fn sigterm_during_a_write_burst_loses_no_acknowledged_write() {
    let (ledger, writer, _) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    let pid = server.pid();
    let acknowledged: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|w| {
                let server = &server;
                let writer = &writer;
                scope.spawn(move || {
                    let mut ids = Vec::new();
                    // Bounded: at most 200 writes each; stops at the first refusal.
                    for i in 0..200 {
                        let event = format!(
                            r#"{{"type":"party_registered","party":"s{w}-{i}","name":"S","occurred_at":"2025-12-03"}}"#
                        );
                        let mut request = server.agent.post(format!("{}/api/v1/events", server.url));
                        request = request.header("Authorization", format!("Bearer {writer}"));
                        match request.send(event.as_str()) {
                            Ok(mut r) if r.status().as_u16() == 201 => {
                                let body: Value =
                                    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
                                ids.push(body["id"].as_str().unwrap().to_string());
                            }
                            _ => break,
                        }
                    }
                    ids
                })
            })
            .collect();
        // Let the burst run, then SIGTERM in the middle of it.
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !acknowledged.is_empty(),
        "some writes were acknowledged before SIGTERM"
    );
    let export = ledger.export();
    for id in &acknowledged {
        assert!(export.contains(id.as_str()), "acknowledged {id} is missing");
    }
    ledger.ok(&["verify"]);
}

#[test]
fn writes_record_who_made_them_inside_the_chain() {
    let (ledger, writer, _) = shared_ledger();
    let n = records(&ledger) as usize;
    let other = token(&ledger, "night-desk", "writer");
    let server = Server::start(&ledger, &[]);
    let event = r#"{"id":"0193e000-0000-7000-8000-0000000000bb","type":"status_changed","provision":"nato-membership","status":"contested","occurred_at":"2025-12-03"}"#;
    assert_eq!(
        server
            .post("/api/v1/events", Some(&writer), &[], event)
            .status,
        201
    );
    // The same event from another desk: already there, still recorded by the first.
    assert_eq!(
        server
            .post("/api/v1/events", Some(&other), &[], event)
            .status,
        200
    );
    let log = server.get("/api/v1/log", Some(&writer)).json();
    let last = &log[n];
    assert_eq!(last["recorded_by"], "desk");
    assert!(
        log[0].get("recorded_by").is_none(),
        "older records carry none"
    );
    let blame = server
        .get("/api/v1/blame/nato-membership", Some(&writer))
        .json();
    let status = blame["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "status")
        .unwrap();
    assert_eq!(status["event"]["recorded_by"], "desk", "{status}");
    let (code, _) = server.stop();
    assert_eq!(code, 0);
    // Inside the hash: changing the name breaks the chain.
    ledger.ok(&["verify"]);
    let export = ledger.export();
    let line = export.lines().nth(n).unwrap();
    let forged = line.replace("\"recorded_by\":\"desk\"", "\"recorded_by\":\"dusk\"");
    assert_ne!(line, forged);
    let restored = TestLedger::new();
    let file = restored.write("forged.ndjson", export.replace(line, &forged).as_bytes());
    let refused = restored.fails(&["import", file.to_str().unwrap()]);
    assert!(
        refused.error().contains("does not match its hash"),
        "{}",
        refused.error()
    );
    // An export restores with every `recorded_by` and the same head.
    let file = restored.write("good.ndjson", export.as_bytes());
    restored.ok(&["import", file.to_str().unwrap()]);
    assert!(restored.export() == export);
    // People see it: history and log tables, blame.
    assert!(ledger
        .ok(&["history", "nato-membership"])
        .contains("recorded by desk"));
    assert!(ledger.ok(&["log"]).contains("recorded by desk"));
    assert!(ledger
        .ok(&["blame", "nato-membership"])
        .contains("recorded by desk"));
}

#[test]
fn local_writes_record_the_os_user_or_recorded_by() {
    let ledger = TestLedger::new();
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    // Without PACTLOG_RECORDED_BY (the harness pins it empty): the OS user name.
    let status = Command::new(env!("CARGO_BIN_EXE_pactlog"))
        .env_clear()
        .env("PACTLOG_DB", &ledger.db)
        .env("PACTLOG_NOW", NOW)
        .args([
            "append",
            "party_registered",
            "--party",
            "us",
            "--name",
            "United States",
            "--occurred-at",
            "now",
        ])
        .output()
        .unwrap();
    assert!(status.status.success());
    ledger.ok(&[
        "--recorded-by",
        "Ann Analyst",
        "append",
        "party_registered",
        "--party",
        "ua",
        "--name",
        "Ukraine",
        "--occurred-at",
        "now",
    ]);
    ledger.ok(&[
        "append",
        "party_registered",
        "--party",
        "ru",
        "--name",
        "Russia",
        "--occurred-at",
        "now",
    ]);
    let log = crate::common::json(&ledger, &["log", "--json"]);
    assert_eq!(log[0]["recorded_by"], user.trim());
    assert_eq!(log[1]["recorded_by"], "Ann Analyst");
    assert!(
        log[2].get("recorded_by").is_none(),
        "an empty name records none"
    );
    ledger.ok(&["verify"]);
    // Given in the input, it is refused: the ledger says who recorded it.
    let refused = ledger
        .at(NOW)
        .stdin(r#"{"type":"party_registered","party":"eu","name":"EU","occurred_at":"2025-01-01","recorded_by":"me"}"#)
        .run(&["append", "-"])
        .fails();
    assert!(
        refused
            .error()
            .contains("field `recorded_by` is assigned by the ledger"),
        "{}",
        refused.error()
    );
    let bad = ledger.fails(&[
        "--recorded-by",
        "a\tb",
        "append",
        "party_registered",
        "--party",
        "x",
        "--name",
        "X",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.error());
}

/// The pages the server draws for editors.
const PAGES: &[&str] = &[
    "/",
    "/?at=2025-11-23&known_at=",
    "/provisions/nato",
    "/provisions/nato?at=2025-11-24",
    "/timeline",
    "/timeline?provision=nato",
];

#[test]
fn pages_escape_hostile_text_and_forbid_everything_else() {
    let ledger = crate::workbench::hostile_ledger();
    let server = Server::start(&ledger, &["--public-read"]);
    for path in PAGES {
        let page = server.get(path, None);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert_eq!(page.content_type, "text/html; charset=utf-8", "{path}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        let csp = page.header("content-security-policy").unwrap();
        for rule in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(rule), "{path}: {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        // The hostile text is there, as text.
        assert!(
            !page.body.contains("<img src=x"),
            "{path}: an element was injected"
        );
        assert!(
            !page.body.contains("href=\"javascript:"),
            "{path}: a script link"
        );
        assert!(
            page.body.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{path}: the text is missing"
        );
        assert!(!page.body.contains("<script>alert"), "{path}");
    }
    // The provision page shows the source as text (its URL is not http) and the history.
    let page = server.get("/provisions/nato", None).body;
    assert!(page.contains("javascript:alert(1)") && page.contains("statement_made"));
    let missing = server.get("/provisions/natto", None);
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("did you mean `nato`?"),
        "{}",
        missing.body
    );
    let bad_cut = server.get("/?at=2025-13-45", None);
    assert_eq!(bad_cut.status, 400, "{}", bad_cut.body);
}

#[test]
fn pages_need_a_token_unless_reads_are_public() {
    let (ledger, _writer, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    for path in PAGES.iter().filter(|p| !p.contains("nato")) {
        let page = server.get(path, None);
        assert_eq!(page.status, 401, "{path}");
        assert!(page.content_type.starts_with("text/html"), "{path}");
        assert_eq!(server.get(path, Some(&reader)).status, 200, "{path}");
    }
    // The cut form's fields, as the browser sends them, give the state at that cut.
    let page = server
        .get("/?at=geneva-2025-11-23&known_at=seq%3A60", Some(&reader))
        .body;
    assert!(
        page.contains("At 2025-11-23T23:59:59.999999999Z, as known at seq:60"),
        "{page}"
    );
    assert!(
        page.contains("value=\"geneva-2025-11-23\""),
        "the form keeps the cut"
    );
    assert!(page.contains(
        "href=\"/provisions/nato-membership?at=geneva-2025-11-23&amp;known_at=seq%3A60\""
    ));
}

#[test]
fn pages_load_in_headless_chromium_without_console_errors() {
    let Some(chromium) = crate::workbench::chromium() else {
        return;
    };
    let ledger = crate::workbench::hostile_ledger();
    let bundled = TestLedger::bundled();
    for (ledger, path, expect) in [
        (&ledger, "/provisions/nato", "History and sources"),
        (&ledger, "/timeline", "data-ready="),
        (
            &bundled,
            "/provisions/nato-membership?at=florida-2025-11-30",
            "under_negotiation",
        ),
        (
            &bundled,
            "/timeline?provision=nato-membership",
            "data-ready=",
        ),
        (
            &bundled,
            "/?at=geneva-2025-11-23&known_at=",
            "At 2025-11-23T23:59:59.999999999Z",
        ),
    ] {
        let server = Server::start(ledger, &["--public-read"]);
        let profile = tempfile::tempdir().unwrap();
        let url = format!("{}{path}", server.url);
        let (dom, stderr) =
            crate::workbench::chromium_run(&chromium, profile.path(), &["--dump-dom"], &url);
        assert!(
            dom.contains(expect),
            "{path}: {expect} missing:\n{}\n{stderr}",
            &dom[..dom.len().min(600)]
        );
        let errors = crate::workbench::console_errors(&stderr);
        assert!(
            errors.is_empty(),
            "{path}: console errors:\n{}",
            errors.join("\n")
        );
        assert!(
            !stderr.contains("Content Security Policy"),
            "{path}: {stderr}"
        );
        assert!(!dom.contains("<img"), "{path}: an element was injected");
    }
}

/// The binary as a client: `PACTLOG_SERVER` and `PACTLOG_TOKEN` when `server` is
/// given, else the ledger's own folder (and its runtime file); `(code, stdout, stderr)`.
fn client(
    ledger: &TestLedger,
    server: Option<(&Server, &str)>,
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pactlog"));
    command
        .env_clear()
        .env("PACTLOG_DB", &ledger.db)
        .env("PACTLOG_NOW", NOW)
        .env("PACTLOG_RECORDED_BY", "")
        .env("PACTLOG_LOCK_TIMEOUT", "1")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some((server, token)) = server {
        command
            .env("PACTLOG_SERVER", &server.url)
            .env("PACTLOG_TOKEN", token);
    }
    let mut child = command.spawn().unwrap();
    {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(stdin.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Commands whose output a client must print exactly as a local run does.
const THROUGH_A_SERVER: &[&[&str]] = &[
    &["state", "nato-membership", "--at", "florida-2025-11-30"],
    &["state", "--at", "geneva-2025-11-23", "--json"],
    &["history", "nato-membership", "--known-at", "seq:60"],
    &["blame", "nato-membership"],
    &[
        "diff",
        "nato-membership",
        "--from",
        "2025-11-23",
        "--to",
        "2025-11-30",
    ],
    &["compare", "us-28-point-plan", "european-counter-proposal"],
    &["log"],
    &["export"],
    &[
        "export",
        "--format",
        "markdown",
        "--provision",
        "nato-membership",
    ],
    &["list", "actors"],
    &["search", "legal sense"],
    &["timeline", "--html", "-"],
    &["verify"],
    &["state", "nato-membrship"],
    &["state", "--at", "2025-13-45"],
    &["history"],
];

#[test]
fn the_cli_through_a_server_prints_what_it_prints_locally() {
    let (ledger, writer, reader) = shared_ledger();
    let n = records(&ledger);
    let local: Vec<_> = THROUGH_A_SERVER
        .iter()
        .map(|args| client(&ledger, None, args, ""))
        .collect();
    let server = Server::start(&ledger, &[]);
    for (args, local) in THROUGH_A_SERVER.iter().zip(&local) {
        let remote = client(&ledger, Some((&server, &reader)), args, "");
        assert!(
            remote.0 == local.0 && remote.1 == local.1,
            "`{}`: {remote:?}\nlocally: {local:?}",
            args.join(" ")
        );
        assert_eq!(remote.2, local.2, "`{}`", args.join(" "));
    }
    // Writes, with the writer's token; the reader's is refused.
    let append = crate::common::APPEND_VATICAN;
    let refused = client(&ledger, Some((&server, &reader)), &append, "");
    assert_eq!(refused.0, 8, "{refused:?}");
    assert!(
        refused.2.contains("writing needs a writer's token"),
        "{}",
        refused.2
    );
    let made = client(&ledger, Some((&server, &writer)), &append, "");
    assert_eq!(made.0, 0, "{made:?}");
    assert!(
        made.1.starts_with(&format!("appended seq {} id ", n + 1)),
        "{}",
        made.1
    );
    let again = client(
        &ledger,
        Some((&server, &writer)),
        &["append", "-"],
        r#"{"type":"party_registered","party":"malta","name":"Malta","occurred_at":"2025-12-03"}"#,
    );
    assert!(
        again.1.starts_with(&format!("appended seq {} ", n + 2)),
        "{again:?}"
    );
    let file = ledger.write("more.ndjson", b"{\"type\":\"party_registered\",\"party\":\"eu\",\"name\":\"EU\",\"occurred_at\":\"2025-12-03\"}\n{\"type\":\"status_changed\",\"provision\":\"nato-membership\",\"status\":\"agred\",\"occurred_at\":\"2025-12-04\"}\n");
    let bad = client(
        &ledger,
        Some((&server, &writer)),
        &["import", file.to_str().unwrap()],
        "",
    );
    assert_eq!(bad.0, 3, "{bad:?}");
    assert!(
        bad.2
            .starts_with(&format!("error: {}:2: field `status`", file.display())),
        "{}",
        bad.2
    );
    // A file the command writes is written on the client's side; `-` is stdout.
    let file = ledger.path("export.ndjson");
    let out = client(
        &ledger,
        Some((&server, &reader)),
        &["export", "--out", file.to_str().unwrap()],
        "",
    );
    assert_eq!(out.0, 0, "{out:?}");
    let stdout = client(
        &ledger,
        Some((&server, &reader)),
        &["export", "--out", "-"],
        "",
    );
    assert_eq!(stdout.0, 0, "{stdout:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stdout.1);
    assert_eq!(stdout.1.lines().count() as u64, n + 2);
    let (code, _) = server.stop();
    assert_eq!(code, 0);
    let log = crate::common::json(&ledger, &["log", "--json"]);
    assert_eq!(
        log.as_array().unwrap().len() as u64,
        n + 2,
        "the bad import wrote nothing"
    );
    assert_eq!(log[n as usize]["recorded_by"], "desk");
}

#[test]
fn a_local_command_on_a_served_ledger_goes_through_the_server() {
    let ledger = TestLedger::bundled();
    let n = records(&ledger) as usize;
    let before = client(&ledger, None, &["state", "nato-membership"], "");
    let server = Server::start(&ledger, &[]);
    let runtime = ledger.db.join("serve.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&runtime).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // No exit 7: the command found the server in the ledger folder.
    let during = client(&ledger, None, &["state", "nato-membership"], "");
    assert_eq!(during, before);
    let made = client(
        &ledger,
        None,
        &[
            "--recorded-by",
            "Ann Analyst",
            "append",
            "party_registered",
            "--party",
            "vatican",
            "--name",
            "Holy See",
            "--occurred-at",
            "now",
        ],
        "",
    );
    assert_eq!(made.0, 0, "{made:?}");
    let (code, _) = server.stop();
    assert_eq!(code, 0);
    assert!(!runtime.exists(), "the runtime file goes with the server");
    let log = crate::common::json(&ledger, &["log", "--json"]);
    assert_eq!(log[n]["recorded_by"], "Ann Analyst");
    // A runtime file left by a server that died is passed over.
    std::fs::write(
        &runtime,
        r#"{"url":"http://127.0.0.1:9","token":"pl_x","pid":1}"#,
    )
    .unwrap();
    assert_eq!(
        client(&ledger, None, &["state", "nato-membership"], "").0,
        0
    );
    // …or whose process is gone, even if another server answers at its address.
    let other = Server::start(&TestLedger::bundled(), &[]);
    let gone = format!(r#"{{"url":"{}","token":"pl_x","pid":4194304}}"#, other.url);
    std::fs::write(&runtime, gone).unwrap();
    let local = client(&ledger, None, &["state", "nato-membership"], "");
    assert_eq!(local.0, 0, "{local:?}");
}

#[test]
fn an_explicit_db_beside_pactlog_server_never_writes_into_the_served_ledger() {
    let (ledger, writer, _reader) = shared_ledger();
    let n = records(&ledger);
    let server = Server::start(&ledger, &[]);
    let scratch = TestLedger::new();
    let append = crate::common::APPEND_VATICAN;
    // The example: `--db /tmp/scratch.db append …` with PACTLOG_SERVER set.
    let mut args = vec!["--db", scratch.db.to_str().unwrap()];
    args.extend(append);
    let refused = client(&ledger, Some((&server, &writer)), &args, "");
    assert_eq!(refused.0, 2, "{refused:?}");
    assert!(refused.2.contains("PACTLOG_SERVER"), "{}", refused.2);
    assert!(
        refused.2.contains(scratch.db.to_str().unwrap()),
        "{}",
        refused.2
    );
    // A case of my own: a read with PACTLOG_DB naming another ledger is refused too.
    let mut read = Command::new(env!("CARGO_BIN_EXE_pactlog"));
    let read = read
        .env_clear()
        .env("PACTLOG_DB", &scratch.db)
        .env("PACTLOG_SERVER", &server.url)
        .env("PACTLOG_TOKEN", &writer)
        .args(["state"])
        .output()
        .unwrap();
    assert_eq!(read.status.code(), Some(2));
    // The served ledger's own folder goes through the server; -v says which.
    let mut args = vec!["-v"];
    args.extend(append);
    let made = client(&ledger, Some((&server, &writer)), &args, "");
    assert_eq!(made.0, 0, "{made:?}");
    assert!(
        made.2
            .contains(&format!("the ledger held by the server at {}", server.url)),
        "{}",
        made.2
    );
    let (code, _) = server.stop();
    assert_eq!(code, 0);
    assert_eq!(records(&ledger), n + 1, "one write, through the server");
    assert!(
        !scratch.db.exists(),
        "nothing was written to the other ledger"
    );
}

#[test]
fn serve_refuses_a_missing_ledger_unless_create() {
    let nowhere = TestLedger::new();
    let output = Command::new(env!("CARGO_BIN_EXE_pactlog"))
        .env_clear()
        .env("PACTLOG_DB", &nowhere.db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{output:?}");
    assert!(!nowhere.db.exists(), "nothing was created");
    // A case of my own: `--create` serves a new empty ledger.
    let server = Server::start(&nowhere, &["--create"]);
    let token = server.post(
        "/api/v1/events",
        None,
        &[],
        r#"{"type":"party_registered","party":"eu","name":"EU","occurred_at":"2025-12-03"}"#,
    );
    assert_eq!(token.status, 401);
    assert_eq!(server.stop().0, 0);
    assert!(nowhere.db.exists());
}

#[test]
fn refusals_have_their_own_exit_code_and_token_says_where_it_runs() {
    let (ledger, writer, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    let append = crate::common::APPEND_VATICAN;
    // 403 (a reader writing) and 401 (an unknown token): exit 8, not 1 (a storage error).
    let forbidden = client(&ledger, Some((&server, &reader)), &append, "");
    assert_eq!(forbidden.0, 8, "{forbidden:?}");
    let unknown = client(&ledger, Some((&server, "pl_nope")), &["state"], "");
    assert_eq!(unknown.0, 8, "{unknown:?}");
    // `token list` through PACTLOG_SERVER on a machine without the ledger.
    let elsewhere = TestLedger::new();
    let output = Command::new(env!("CARGO_BIN_EXE_pactlog"))
        .env_clear()
        .current_dir(elsewhere.db.parent().unwrap())
        .env("PACTLOG_SERVER", &server.url)
        .env("PACTLOG_TOKEN", &writer)
        .args(["token", "list"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server's machine"), "{stderr}");
    // The Bearer scheme is case-insensitive; `If-Match: *` is any head.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let reply = server
            .agent
            .get(format!("{}/api/v1/state", server.url))
            .header("Authorization", format!("{scheme} {reader}"))
            .call()
            .unwrap();
        assert_eq!(reply.status().as_u16(), 200, "{scheme}");
    }
    let any = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("If-Match", "*")],
        r#"{"type":"party_registered","party":"malta","name":"Malta","occurred_at":"2025-12-03"}"#,
    );
    assert_eq!(any.status, 201, "{}", any.body);
    let bad = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("If-Match", "**")],
        r#"{"type":"party_registered","party":"eu","name":"EU","occurred_at":"2025-12-03"}"#,
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
}

#[test]
fn the_provision_page_shows_what_the_state_table_shows() {
    let (ledger, writer, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    // Two reports of one day that disagree: a conflict.
    let events = concat!(
        r#"{"type":"status_changed","provision":"nato-membership","status":"agreed_in_principle","occurred_at":"2025-12-05","source":{"outlet":"ABC","grade":"C3"}}"#,
        "\n",
        r#"{"type":"status_changed","provision":"nato-membership","status":"contested","occurred_at":"2025-12-05T18:00:00Z","source":{"outlet":"Kyiv Independent","grade":"B2"}}"#,
        "\n"
    );
    let made = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("Content-Type", "application/x-ndjson")],
        events,
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let table = client(
        &ledger,
        Some((&server, &reader)),
        &["state", "nato-membership"],
        "",
    )
    .1;
    assert!(table.contains("⚠ conflicting reports"), "{table}");
    let page = server
        .get("/provisions/nato-membership", Some(&reader))
        .body;
    assert!(page.contains("Conflicting reports"), "{page}");
    assert!(page.contains("Kyiv Independent (B2)"), "{page}");
    // The history rows say the value set.
    assert!(
        page.contains("status_changed: nato-membership → contested"),
        "{page}"
    );
    assert!(
        page.contains("position_stated: nato-membership: United States"),
        "{page}"
    );
    // Parties by name, as the table (a case of my own: the index page too).
    let index = server.get("/", Some(&reader)).body;
    assert!(table.contains("United States"), "{table}");
    assert!(page.contains("<td>United States</td>"), "{page}");
    assert!(index.contains("United States: "), "{index}");
    assert!(index.contains("⚠ status: conflicting reports"), "{index}");
    assert!(!index.contains(">us: "), "{index}");
    // The inference mark, at a cut where the status is read from a text.
    let at = client(
        &ledger,
        Some((&server, &reader)),
        &["state", "nato-membership", "--at", "geneva-2025-11-23"],
        "",
    )
    .1;
    assert!(at.contains("⚠ inference:"), "{at}");
    let page = server
        .get(
            "/provisions/nato-membership?at=geneva-2025-11-23",
            Some(&reader),
        )
        .body;
    assert!(page.contains("⚠ inference:"), "{page}");
}

#[test]
fn a_retried_cite_or_retract_with_its_id_appends_once() {
    let (ledger, writer, _reader) = shared_ledger();
    let n = records(&ledger);
    let server = Server::start(&ledger, &[]);
    // The example: the same citation POSTed twice, with an id.
    let body = r#"{"outlet":"BBC","grade":"B2","id":"0193e000-0000-7000-8000-0000000000c1"}"#;
    let first = server.post("/api/v1/cite/seq:3", Some(&writer), &[], body);
    assert_eq!(first.status, 201, "{}", first.body);
    let again = server.post("/api/v1/cite/seq:3", Some(&writer), &[], body);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["seq"], first.json()["seq"]);
    assert_eq!(again.json()["id"], "0193e000-0000-7000-8000-0000000000c1");
    // The same id with another content is a conflict, not a second citation.
    let other = server.post(
        "/api/v1/cite/seq:3",
        Some(&writer),
        &[],
        r#"{"outlet":"CNN","id":"0193e000-0000-7000-8000-0000000000c1"}"#,
    );
    assert!(other.status >= 400, "{}", other.body);
    // A case of my own: `pactlog cite --id` and `retract --id` through the CLI, twice.
    for _ in 0..2 {
        let cite = client(
            &ledger,
            Some((&server, &writer)),
            &[
                "cite",
                "seq:4",
                "--outlet",
                "AP",
                "--id",
                "0193e000-0000-7000-8000-0000000000c2",
            ],
            "",
        );
        assert_eq!(cite.0, 0, "{cite:?}");
        let retract = client(
            &ledger,
            Some((&server, &writer)),
            &[
                "retract",
                "seq:46",
                "--reason",
                "entered by mistake",
                "--occurred-at",
                "2025-12-04",
                "--id",
                "0193e000-0000-7000-8000-0000000000c3",
            ],
            "",
        );
        assert_eq!(retract.0, 0, "{retract:?}");
    }
    // A seq past the head is not found (4 / 404), for cite and retract alike.
    let past = client(
        &ledger,
        Some((&server, &writer)),
        &["cite", "seq:9999", "--outlet", "AP"],
        "",
    );
    assert_eq!(past.0, 4, "{past:?}");
    let past = server.post(
        "/api/v1/cite/seq:9999",
        Some(&writer),
        &[],
        r#"{"outlet":"AP"}"#,
    );
    assert_eq!(past.status, 404, "{}", past.body);
    let past = server.post(
        "/api/v1/retract/seq:9999",
        Some(&writer),
        &[],
        r#"{"reason":"x","occurred_at":"2025-12-04"}"#,
    );
    assert_eq!(past.status, 404, "{}", past.body);
    assert_eq!(server.stop().0, 0);
    assert_eq!(records(&ledger), n + 3, "one citation each, one retraction");
    ledger.ok(&["verify"]);
}

#[test]
fn files_are_read_and_written_on_the_clients_side_and_dash_is_stdout() {
    let ledger = TestLedger::bundled();
    let n = records(&ledger);
    // Locally, `--out -` is stdout: no file named `-`.
    let here = ledger.dir.path();
    let local = Command::new(env!("CARGO_BIN_EXE_pactlog"))
        .env_clear()
        .current_dir(here)
        .env("PACTLOG_DB", &ledger.db)
        .env("PACTLOG_NOW", NOW)
        .args(["export", "--out", "-"])
        .output()
        .unwrap();
    assert_eq!(local.status.code(), Some(0));
    assert!(!here.join("-").exists(), "no file named `-`");
    let exported = String::from_utf8(local.stdout).unwrap();
    assert_eq!(exported.lines().count() as u64, n);
    // Through the runtime file, with a small --max-body: a local import larger than
    // it goes through, and export --out / timeline --html write here.
    let server = Server::start(&ledger, &["--max-body", "1000"]);
    let big: String = (0..40)
        .map(|i| format!("{{\"type\":\"party_registered\",\"party\":\"p{i}\",\"name\":\"Party number {i} with a long name\",\"occurred_at\":\"2025-12-03\"}}\n"))
        .collect();
    assert!(big.len() > 1000);
    let file = ledger.write("big.ndjson", big.as_bytes());
    let imported = client(&ledger, None, &["import", file.to_str().unwrap()], "");
    assert_eq!(imported.0, 0, "{imported:?}");
    let out = ledger.path("out.ndjson");
    let wrote = client(
        &ledger,
        None,
        &["export", "--out", out.to_str().unwrap()],
        "",
    );
    assert_eq!(wrote.0, 0, "{wrote:?}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().lines().count() as u64,
        n + 40
    );
    let page = ledger.path("t.html");
    let wrote = client(
        &ledger,
        None,
        &["timeline", &format!("--html={}", page.display())],
        "",
    );
    assert_eq!(wrote.0, 0, "{wrote:?}");
    assert!(std::fs::read_to_string(&page).unwrap().contains("<html"));
    assert_eq!(server.stop().0, 0);
}

/// A server that dies after reading a command may have committed it: the client must
/// not run a write again on its own (seen: an import of events without ids written
/// twice when the server was killed right after its commit). A read may run here, and
/// a server that never took the connection leaves every command to run here.
#[test]
fn a_write_the_server_may_have_taken_is_never_run_again_here() {
    use std::io::Read as _;
    let ledger = TestLedger::new();
    ledger.register_party("a", "A");
    let before = ledger.export();
    // Takes each connection, reads the request, hangs up without an answer.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 65536];
            stream
                .set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let _ = stream.read(&mut buf);
            drop(stream);
        }
    });
    let runtime = ledger.db.join("serve.json");
    // This test's own process stands in for the server's (alive).
    let alive = format!(
        r#"{{"url":"{url}","token":"pl_x","pid":{}}}"#,
        std::process::id()
    );
    std::fs::write(&runtime, &alive).unwrap();
    let event =
        r#"{"type": "party_registered", "party": "b", "name": "B", "occurred_at": "2025-11-20"}"#;
    let file = ledger.write("one.ndjson", format!("{event}\n").as_bytes());
    let (code, _, stderr) = client(&ledger, None, &["import", file.to_str().unwrap()], "");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("may have written it"), "{stderr}");
    std::fs::remove_file(&runtime).unwrap();
    assert_eq!(ledger.export(), before, "the import was not run here");
    std::fs::write(&runtime, &alive).unwrap();
    let (code, stdout, stderr) = client(&ledger, None, &["list", "parties"], "");
    assert_eq!(code, 0, "a read runs here: {stderr}");
    assert!(stdout.contains('a'), "{stdout}");
    // Nothing listens at the address (refused): the write runs here, once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free = closed.local_addr().unwrap();
    drop(closed);
    std::fs::write(
        &runtime,
        format!(
            r#"{{"url":"http://{free}","token":"pl_x","pid":{}}}"#,
            std::process::id()
        ),
    )
    .unwrap();
    let (code, _, stderr) = client(&ledger, None, &["import", file.to_str().unwrap()], "");
    assert_eq!(code, 0, "{stderr}");
    std::fs::remove_file(&runtime).unwrap();
    assert_eq!(records(&ledger), 2);
}

/// A tester's case: a client that opened a large export and stopped reading held
/// the ledger. Writes waited for a minute and were answered 408 although they were
/// committed after, reads queued behind them, and SIGTERM never ended the server.
/// A command now holds the ledger only while it computes, never while its client
/// reads; and a write that has started is never answered with a timeout.
#[test]
fn a_client_that_stops_reading_holds_nothing_but_its_connection() {
    use std::io::{Read, Write};
    let (ledger, writer, reader) = shared_ledger();
    // About 12 MB to export: more than the socket buffers between the two hold.
    let lines: String = (0..60)
        .map(|i| {
            let event = json!({
                "type": "statement_made", "quote": format!("{i}{}", "q".repeat(200_000)),
                "attribution": "someone", "occurred_at": "2025-12-11",
                "provisions": ["nato-membership"], "source": {"outlet": "X"},
            });
            format!("{event}\n")
        })
        .collect();
    ledger.at(NOW).stdin(lines).ok(&["import", "-"]);
    let server = Server::start(&ledger, &[]);
    let address = server.url.strip_prefix("http://").unwrap();
    let mut stalled = std::net::TcpStream::connect(address).unwrap();
    stalled
        .write_all(
            format!("GET /api/v1/export HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {reader}\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    let mut head = [0u8; 4096];
    let read = stalled.read(&mut head).unwrap();
    assert!(
        String::from_utf8_lossy(&head[..read]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head[..read])
    );
    // It reads no more. A write and a read are answered as if it were not there.
    std::thread::sleep(Duration::from_millis(500));
    let written = server.post("/api/v1/events", Some(&writer), &[], VATICAN);
    assert_eq!(written.status, 201, "{}", written.body);
    let state = server.get("/api/v1/state/nato-membership", Some(&reader));
    assert_eq!(state.status, 200, "{}", state.body);
    // SIGTERM: the ledger is closed and its folder free at once, while the stalled
    // response has its grace (a tester's case: the lock was held for those 30 s,
    // and every local command was exit 7).
    terminate(server.child.as_ref().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let run = ledger.run(&["--lock-timeout", "0", "state", "nato-membership", "--json"]);
        if run.code == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the ledger is still held after SIGTERM: {}",
            run.stderr
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(stalled);
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
    assert!(ledger.export().contains("\"vatican\""));
    ledger.ok(&["verify"]);
}

/// The `error` of a JSON reply, asserted to name `says` and no CLI flag.
fn says_in_request_terms(reply: &Reply, status: u16, says: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    let error = reply.json()["error"].as_str().unwrap().to_string();
    assert!(error.contains(says), "{error}");
    assert!(!error.contains("--"), "names a CLI flag: {error}");
}

#[test]
fn query_errors_name_the_query_parameter_never_the_flag() {
    // The example: a bad `?at=` said `--at`.
    let (ledger, writer, reader) = shared_ledger();
    let before = ledger.export();
    let server = Server::start(&ledger, &[]);
    let get = |path: &str| server.get(path, Some(&reader));
    says_in_request_terms(
        &get("/api/v1/state?at=2025-13-45"),
        400,
        "query parameter `at`: `2025-13-45` is not a date",
    );
    // Cases of the kind: every flag a read's query gives, clap's own messages, the
    // positional arguments taken from the query, the pages' form, If-Match's 412.
    for (path, status, says) in [
        (
            "/api/v1/state?known_at=bogus",
            404,
            "query parameter `known_at`: unknown meeting `bogus`",
        ),
        (
            "/api/v1/diff/nato-membership?from=zz",
            404,
            "query parameter `from`: unknown meeting",
        ),
        (
            "/api/v1/state?min_grade=ZZ",
            400,
            "query parameter `min_grade`: grade `ZZ`",
        ),
        (
            "/api/v1/export?format=xx",
            400,
            "query parameter `format`: `xx` is not one of ndjson, timelinejs, csv, markdown",
        ),
        ("/api/v1/export?at=2025-11-01", 400, "query parameter `at`"),
        (
            "/api/v1/timeline?provision=Bad",
            400,
            "query parameter `provision`: slug `Bad`",
        ),
        ("/api/v1/search", 400, "query parameter `q`"),
    ] {
        says_in_request_terms(&get(path), status, says);
    }
    let page = get("/?at=2025-13-45");
    assert_eq!(page.status, 400);
    assert!(page.body.contains("query parameter `at`") && !page.body.contains("--at"));
    let stale = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("If-Match", "3")],
        VATICAN,
    );
    says_in_request_terms(&stale, 412, "(If-Match)");
    drop(server);
    assert_eq!(ledger.export(), before, "nothing was written");
}

#[test]
fn a_browser_without_a_token_is_told_what_a_person_can_do() {
    // The example: the 401 page told a browser user to send a header.
    let (ledger, _, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    for path in ["/", "/timeline", "/provisions/nato-membership"] {
        let page = server.get(path, None);
        assert_eq!(page.status, 401, "{path}");
        assert!(page.content_type.starts_with("text/html"));
        assert!(
            !page.body.contains("Authorization: Bearer"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("pactlog serve --public-read")
                && page.body.contains("PACTLOG_TOKEN"),
            "{}",
            page.body
        );
        assert!(page.header("WWW-Authenticate").is_some());
    }
    // The API, whose clients do send headers, still says which one.
    let api = server.get("/api/v1/state", None);
    assert_eq!(api.status, 401);
    assert!(api.json()["error"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));
    // An unknown token on a page is said as it is.
    let page = server.get("/", Some("pl_0000"));
    assert!(page.body.contains("unknown or revoked"), "{}", page.body);
    assert_eq!(server.get("/", Some(&reader)).status, 200);
}

#[test]
fn parameters_that_are_not_utf8_once_decoded_are_refused_naming_them() {
    // The example: `?q=%FF` was read as U+FFFD and answered 200 [].
    let (ledger, _, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    let get = |path: &str| server.get(path, Some(&reader));
    says_in_request_terms(
        &get("/api/v1/search?q=%FF"),
        400,
        "query parameter `q`: `%FF` is not UTF-8",
    );
    // Cases of the kind: a cut split mid-character, a parameter's name, a path
    // parameter (axum said it in plain text), the pages.
    says_in_request_terms(
        &get("/api/v1/state?at=2025%E2%82"),
        400,
        "query parameter `at`",
    );
    says_in_request_terms(&get("/api/v1/state?%FF=1"), 400, "`%FF` is not UTF-8");
    says_in_request_terms(
        &get("/api/v1/state/nato%FF"),
        400,
        "path parameter `provision` is not UTF-8",
    );
    says_in_request_terms(&get("/api/v1/compare/a/%C3"), 400, "path parameter `right`");
    for page in [
        "/?known_at=%FF",
        "/provisions/%FF",
        "/timeline?provision=%FF",
    ] {
        let reply = get(page);
        assert_eq!(reply.status, 400, "{page}: {}", reply.body);
        assert!(reply.body.contains("not UTF-8"), "{page}: {}", reply.body);
    }
    // Well-formed encodings still read: `+` and `%20` are spaces, `%C3%A9` is é.
    let spaced = get("/api/v1/search?q=legal+sense");
    assert_eq!(spaced.body, get("/api/v1/search?q=legal%20sense").body);
    assert_eq!(spaced.json().as_array().unwrap().len(), 3);
    assert_eq!(get("/api/v1/search?q=%C3%A9").status, 200);
}

#[test]
fn a_weak_etag_in_if_match_never_matches() {
    // The example: `W/"68"` was taken as the expected head 68.
    let (ledger, writer, before, server) = served();
    let post = |if_match: &str| vatican_if(&server, &writer, if_match);
    let weak = post("W/\"68\"");
    says_in_request_terms(&weak, 412, "weak ETag");
    // A weak ETag of another head, and on the other writing endpoint.
    says_in_request_terms(&post("W/\"5\""), 412, "RFC 9110");
    let cite = server.post(
        "/api/v1/cite/seq:3",
        Some(&writer),
        &[("If-Match", "W/\"68\"")],
        r#"{"outlet":"BBC"}"#,
    );
    says_in_request_terms(&cite, 412, "weak ETag");
    assert_eq!(ledger.export(), before, "nothing was written");
    // The strong form of the same head is taken.
    assert_eq!(post("\"68\"").status, 201);
}

#[test]
fn a_charset_other_than_utf8_is_a_415_naming_it() {
    // The example: `charset=latin1` was read as UTF-8.
    let (ledger, writer, before, server) = served();
    let post = |path: &str, content_type: &str, body: &str| {
        server.post(path, Some(&writer), &[("Content-Type", content_type)], body)
    };
    let latin = post(
        "/api/v1/events",
        "application/json; charset=latin1",
        VATICAN,
    );
    says_in_request_terms(&latin, 415, "charset `latin1`");
    // Other bodies, quoted charsets, NDJSON.
    says_in_request_terms(
        &post(
            "/api/v1/events",
            "application/x-ndjson;charset=\"ISO-8859-1\"",
            VATICAN,
        ),
        415,
        "charset `ISO-8859-1`",
    );
    says_in_request_terms(
        &post(
            "/api/v1/cite/seq:3",
            "application/json; charset=utf-16",
            r#"{"outlet":"BBC"}"#,
        ),
        415,
        "charset `utf-16`",
    );
    assert_eq!(ledger.export(), before, "nothing was written");
    assert_eq!(
        post("/api/v1/events", "application/json; charset=UTF-8", VATICAN).status,
        201
    );
}

#[test]
fn every_error_is_json_and_a_405_says_allow() {
    // The example: a 405 answered an empty body.
    let (ledger, writer, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    let wrong = server.get("/api/v1/events", Some(&writer));
    says_in_request_terms(&wrong, 405, "/api/v1/events does not take GET");
    assert_eq!(wrong.header("Allow"), Some("POST"));
    // A write route and a read route asked with the wrong method; an unknown route.
    for (path, allow) in [("/api/v1/state", "GET"), ("/api/v1/verify", "POST")] {
        let method = if allow == "GET" { "POST" } else { "GET" };
        let reply = if method == "POST" {
            server.post(path, Some(&writer), &[], "")
        } else {
            server.get(path, Some(&reader))
        };
        assert_eq!(reply.status, 405, "{path}");
        assert!(reply.content_type.starts_with("application/json"), "{path}");
        assert!(reply.json()["error"]
            .as_str()
            .unwrap()
            .contains(&format!("does not take {method}")));
        assert!(reply.header("Allow").unwrap().contains(allow), "{path}");
    }
    // A page answers its own as a page (README: "pages answer theirs as pages").
    let page = server.post("/", Some(&writer), &[], "");
    assert_eq!(page.status, 405);
    assert!(page.content_type.starts_with("text/html"), "{}", page.body);
    assert!(page.body.contains("/ does not take POST"), "{}", page.body);
    assert!(page.header("Allow").unwrap().contains("GET"));
    let nowhere = server.get("/api/v1/nowhere", None);
    assert_eq!(nowhere.status, 404);
    assert!(nowhere.json()["error"].is_string());
}

#[test]
fn an_empty_ndjson_body_imports_nothing_as_an_empty_file_does() {
    // The example: `import EMPTY` exited 0 and the same body over HTTP was a 400.
    let (ledger, writer, before, server) = served();
    let ndjson = [("Content-Type", "application/x-ndjson")];
    let empty = server.post("/api/v1/events", Some(&writer), &ndjson, "");
    assert_eq!(empty.status, 200, "{}", empty.body);
    let body = empty.json();
    assert_eq!(
        (body["appended"].clone(), body["unchanged"].clone()),
        (json!(0), json!(0))
    );
    assert!(body["seq"].is_null() && body["id"].is_null());
    assert_eq!(body["head"]["seq"], 68);
    assert_eq!(empty.header("ETag"), Some("\"68\""));
    // Blank lines and comments only: nothing either. One event (application/json)
    // must be there, as `append -` refuses an empty stdin.
    let blank = server.post("/api/v1/events", Some(&writer), &ndjson, "\n# none\n\n");
    assert_eq!(blank.status, 200, "{}", blank.body);
    let one = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("Content-Type", "application/json")],
        " \n",
    );
    says_in_request_terms(&one, 400, "no event in the body");
    // A tester's case: an empty body is still held to its `If-Match` (412 when the
    // head moved on); one that holds is a 200.
    let stale = [
        ("Content-Type", "application/x-ndjson"),
        ("If-Match", "\"1\""),
    ];
    let refused = server.post("/api/v1/events", Some(&writer), &stale, "");
    assert_eq!(refused.status, 412, "{}", refused.body);
    let current = [("Content-Type", "application/x-ndjson"), ("If-Match", "68")];
    let held = server.post("/api/v1/events", Some(&writer), &current, "");
    assert_eq!(held.status, 200, "{}", held.body);
    drop(server);
    assert_eq!(ledger.export(), before, "nothing was written");
    // The CLI agrees: an empty file imports nothing and says so, and a stale
    // `--expect-seq` is a conflict even then.
    let file = ledger.write("empty.ndjson", b"");
    let run = ledger.run(&["import", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("no events in"), "{}", run.stderr);
    let run = ledger.run(&["import", "--expect-seq", "3", file.to_str().unwrap()]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("not 3 (--expect-seq)"),
        "{}",
        run.stderr
    );
    assert_eq!(ledger.export(), before);
}

#[test]
fn a_note_of_a_command_run_by_a_server_reaches_the_clients_stderr() {
    let (ledger, writer, _) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    let empty = ledger.write("empty.ndjson", b"# nothing yet\n");
    let (code, out, err) = client(
        &ledger,
        Some((&server, &writer)),
        &["import", empty.to_str().unwrap()],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("imported 0 events"), "{out}");
    assert!(
        err.contains("pactlog: no events in ") && err.contains("empty.ndjson"),
        "{err}"
    );
    let (code, _, err) = client(&ledger, Some((&server, &writer)), &["import", "-"], "");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no events in standard input"), "{err}");
}

/// A write whose body does not arrive within `--request-timeout` is answered 408 and
/// writes nothing; the server goes on answering.
#[test]
fn a_write_whose_body_does_not_arrive_in_time_is_a_408_and_writes_nothing() {
    use std::io::{Read, Write};
    let (ledger, writer, _) = shared_ledger();
    let before = records(&ledger);
    let server = Server::start(&ledger, &["--request-timeout", "1"]);
    let address = server.url.strip_prefix("http://").unwrap();
    let mut slow = std::net::TcpStream::connect(address).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // Half of the event, then nothing.
    let half = &VATICAN[..VATICAN.len() / 2];
    slow.write_all(
        format!(
            "POST /api/v1/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {writer}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{half}",
            VATICAN.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("did not arrive within 1 s; nothing was written"),
        "{answer}"
    );
    assert_eq!(server.get("/api/v1/health", None).status, 200);
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(records(&ledger), before, "nothing was written");
    // The flag's range is checked.
    let run = ledger.run(&["serve", "--request-timeout", "0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

/// A tester's case: `PACTLOG_SERVER=https://…` to a server that speaks plain HTTP
/// said "corrupt message". It says the server answered in plain HTTP, and the URL
/// to use.
#[test]
fn https_to_a_plain_http_server_says_which_url_to_use() {
    let (ledger, _, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    let tls = server.url.replacen("http://", "https://", 1);
    let output = Command::new(env!("CARGO_BIN_EXE_pactlog"))
        .env_clear()
        .env("PACTLOG_NOW", NOW)
        .env("PACTLOG_SERVER", &tls)
        .env("PACTLOG_TOKEN", &reader)
        .args(["state", "nato-membership"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("answered in plain HTTP, not TLS")
            && stderr.contains(&format!("use {}", server.url)),
        "{stderr}"
    );
}

/// A tester's case: `If-Match: "12", "13"` (a list of ETags, RFC 9110 13.1.1) was a
/// 400, and `"+12448"` matched the ETag `"12448"` (Rust reads `+12448` as a number).
/// A list holds when any strong ETag in it is the head's, ETags are compared as text,
/// a weak one never matches; a bare seq is digits alone.
#[test]
fn if_match_takes_a_list_of_etags_compared_as_text() {
    let (ledger, writer, before, server) = served();
    let post = |if_match: &str| vatican_if(&server, &writer, if_match);
    // A list none of which is the head (68): 412, saying which it expected.
    says_in_request_terms(
        &post("\"12\", \"13\""),
        412,
        "the ledger head is at seq 68, not any of 12, 13 (If-Match",
    );
    // The head written otherwise is another ETag: it never matches.
    for other in ["\"+68\"", "\"068\"", "W/\"68\", \"+68\""] {
        says_in_request_terms(&post(other), 412, "never match");
    }
    // A bare seq with a sign is no seq (nor an ETag): 400 naming the header.
    says_in_request_terms(&post("+68"), 400, "If-Match: `+68` is not a seq");
    says_in_request_terms(&post("\"68\" x"), 400, "If-Match: `x` follows an ETag");
    assert_eq!(ledger.export(), before, "nothing was written");
    // The example: a list that holds the head, with commas inside a tag too.
    let written = post("\"12\", \"a,b\", \"68\"");
    assert_eq!(written.status, 201, "{}", written.body);
    assert_eq!(written.header("ETag"), Some("\"69\""));
    // Another case of the kind: on `cite`, a list over two If-Match lines whose weak
    // member never matches and whose strong one does.
    let cite = server.post(
        "/api/v1/cite/seq:3",
        Some(&writer),
        &[("If-Match", "W/\"69\""), ("If-Match", "\"69\"")],
        r#"{"outlet":"BBC"}"#,
    );
    assert_eq!(cite.status, 201, "{}", cite.body);
    let stale = server.post(
        "/api/v1/cite/seq:3",
        Some(&writer),
        &[("If-Match", "W/\"70\", \"69\"")],
        r#"{"outlet":"AP"}"#,
    );
    says_in_request_terms(&stale, 412, "not 69 (If-Match");
    assert_eq!(records(&ledger), 70);
}

/// Found by a fresh tester: clap's phrasing reached HTTP clients (`<KIND>` for the
/// path's `kind`, "cannot be used multiple times" for a query parameter given
/// twice). They are named as the request gives them.
#[test]
fn clap_phrasing_never_reaches_a_request() {
    let (ledger, _, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    let get = |path: &str| server.get(path, Some(&reader));
    for (path, says) in [
        (
            "/api/v1/list/partys",
            "path parameter `kind`: `partys` is not one of parties, actors, proposals, provisions, meetings (did you mean `parties`?)",
        ),
        (
            "/api/v1/state?at=2025-11-23&at=2025-11-30",
            "query parameter `at` is given more than once: give it once",
        ),
        ("/api/v1/search", "query parameter `q` is required"),
    ] {
        let reply = get(path);
        says_in_request_terms(&reply, 400, says);
        let error = reply.json()["error"].as_str().unwrap().to_string();
        assert!(
            !error.contains('<') && !error.contains("multiple times"),
            "{error}"
        );
    }
}

/// `append -` refuses an input of comments and blank lines alone as it refuses an
/// empty one (a tester's case said "invalid JSON"); over HTTP a one-event body the
/// same, and an empty `cite` body names the field it lacks.
#[test]
fn a_body_of_comments_alone_holds_no_event() {
    let (ledger, writer, before, server) = served();
    let comments = server.post("/api/v1/events", Some(&writer), &JSON, "# none yet\n\n");
    says_in_request_terms(&comments, 400, "no event in the body");
    let cite = server.post("/api/v1/cite/seq:3", Some(&writer), &JSON, "# none\n");
    says_in_request_terms(&cite, 400, "field `outlet` is required");
    assert_eq!(ledger.export(), before, "nothing was written");
    // A comment line before the one event is a comment, as in a file.
    let one = server.post(
        "/api/v1/events",
        Some(&writer),
        &JSON,
        &format!("# the Holy See\n{VATICAN}\n"),
    );
    assert_eq!(one.status, 201, "{}", one.body);
}

/// An NDJSON body whose event names one further on says both lines, in the body's
/// terms, and writes nothing (the CLI's case is in `edges`).
#[test]
fn an_event_named_before_it_comes_in_a_body_is_refused_naming_both_lines() {
    let (ledger, writer, before, server) = served();
    let body = concat!(
        r#"{"type":"event_retracted","target":"0193e000-0000-7000-8000-0000000000bb","reason":"wrong","occurred_at":"2025-12-04"}"#,
        "\n# a comment\n",
        r#"{"id":"0193e000-0000-7000-8000-0000000000bb","type":"party_registered","party":"malta","name":"Malta","occurred_at":"2025-12-03"}"#,
        "\n"
    );
    let reply = server.post(
        "/api/v1/events",
        Some(&writer),
        &[("Content-Type", "application/x-ndjson")],
        body,
    );
    says_in_request_terms(
        &reply,
        400,
        "line 1: field `target`: event 0193e000-0000-7000-8000-0000000000bb comes later in this input, at line 3",
    );
    assert_eq!(reply.json()["line"], 1);
    assert_eq!(ledger.export(), before, "nothing was written");
}

/// A tester's case: a damaged `tokens.json` made every request a 500 that showed
/// the server's path to the file. `serve` refuses to start, naming the file and what
/// is wrong (exit 1, a file error); damaged under a running server, requests are
/// 500s that show no path, and the server's log says what is wrong.
#[test]
fn a_damaged_token_file_stops_serve_and_shows_no_path_to_clients() {
    let (ledger, writer, reader) = shared_ledger();
    let before = records(&ledger);
    let tokens = ledger.db.join("tokens.json");
    let whole = std::fs::read(&tokens).unwrap();
    std::fs::write(&tokens, b"[{\"name\": \"desk\",").unwrap();
    let run = ledger
        .at(NOW)
        .under(["timeout", "60"])
        .run(&["serve", "--bind", "127.0.0.1:0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.error()
            .contains("tokens.json: the token file is damaged (not a token list"),
        "{}",
        run.error()
    );
    // `token` says the same, and writes nothing over it.
    let run = ledger.fails(&["token", "add", "more", "--role", "reader"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run
        .error()
        .contains("tokens.json: the token file is damaged"));
    // Damaged while the server runs.
    std::fs::write(&tokens, &whole).unwrap();
    let server = Server::start(&ledger, &[]);
    assert_eq!(server.get("/api/v1/state", Some(&reader)).status, 200);
    std::fs::write(&tokens, b"not json").unwrap();
    let shown = ledger.dir.path().display().to_string();
    let read = server.get("/api/v1/state", Some(&reader));
    let write = server.post("/api/v1/events", Some(&writer), &[], VATICAN);
    let page = server.get("/", Some(&reader));
    for reply in [&read, &write, &page] {
        assert_eq!(reply.status, 500, "{}", reply.body);
        assert!(
            reply.body.contains("the server cannot read its token file")
                && !reply.body.contains(&shown)
                && !reply.body.contains("tokens.json"),
            "{}",
            reply.body
        );
    }
    assert!(page.content_type.starts_with("text/html"));
    let (code, stderr) = server.stop();
    assert_eq!(code, 0);
    assert!(
        stderr.contains(&format!("{}: the token file is damaged", tokens.display())),
        "{stderr}"
    );
    std::fs::write(&tokens, &whole).unwrap();
    assert_eq!(records(&ledger), before, "nothing was written");
}

/// A tester's case: a page path that is no page (`/provisons`) answered JSON. A
/// browser reads an HTML 404 page, its path escaped by maud; `/api/…` keeps JSON.
#[test]
fn a_path_that_is_no_page_answers_an_html_404_page() {
    let (ledger, _, reader) = shared_ledger();
    let server = Server::start(&ledger, &[]);
    let page = server.get("/provisons", Some(&reader));
    assert_eq!(page.status, 404);
    assert!(page.content_type.starts_with("text/html"), "{}", page.body);
    assert!(page.body.contains("No such page") && page.body.contains("/provisons"));
    assert!(page.header("Content-Security-Policy").is_some());
    // Another case of the kind: with text the page must escape, and without a token.
    let hostile = server.get("/provisions/a/b&c", None);
    assert_eq!(hostile.status, 404);
    assert!(hostile.content_type.starts_with("text/html"));
    assert!(
        hostile.body.contains("b&amp;c") && !hostile.body.contains("b&c"),
        "{}",
        hostile.body
    );
    let api = server.get("/api/v1/nowhere", Some(&reader));
    assert_eq!(api.status, 404);
    assert_eq!(api.json()["error"], "no such endpoint");
}

/// Found by a fresh tester: a raw `POST /api/v1/cli` of `import FILE` without the
/// file's text imported nothing and answered code 0, and one with `--db` wrote into
/// the served ledger. Both are refused (code 2, nothing run); the CLI as a client,
/// which sends its files and leaves `--db` out once it chose the server, still works.
#[test]
fn a_raw_command_line_naming_files_not_sent_or_another_ledger_is_refused() {
    let (ledger, writer, _) = shared_ledger();
    let n = records(&ledger);
    let server = Server::start(&ledger, &[]);
    let run = |body: &str| {
        server
            .post("/api/v1/cli", Some(&writer), &JSON, body)
            .json()
    };
    // The example: a file of the server's own disk, not sent.
    let reply = run(r#"{"args":["import","/etc/passwd"]}"#);
    assert_eq!(reply["code"], 2, "{reply}");
    let error = reply["error"].as_str().unwrap();
    assert!(
        error.contains("import: the request does not carry `/etc/passwd`"),
        "{error}"
    );
    // The other case: --db, either way it is written.
    for args in [
        r#"["--db","/tmp/other.db","append","party_registered","--party","rr1","--name","X","--occurred-at","now"]"#,
        r#"["append","party_registered","--party","rr1","--name","X","--occurred-at","now","--db=/tmp/other.db"]"#,
    ] {
        let reply = run(&format!(r#"{{"args":{args}}}"#));
        assert_eq!(reply["code"], 2, "{reply}");
        assert!(
            reply["error"].as_str().unwrap().starts_with("--db: "),
            "{reply}"
        );
    }
    assert_eq!(records(&ledger), n, "nothing was written");
    // A second tester's case: only some of the files it names.
    let reply = run(
        r#"{"args":["import","/etc/passwd"],"input":{"stdin":"","files":[["x.ndjson","{\"type\":\"party_registered\",\"party\":\"de\",\"name\":\"Germany\",\"occurred_at\":\"2025-12-01\"}"]]}}"#,
    );
    assert_eq!(reply["code"], 2, "{reply}");
    assert_eq!(records(&ledger), n, "nothing was written");
    // A second tester's high: a quote reading `--db`, sent through the server, is the
    // quote (only the global option is left out of what the client sends).
    let quoted = client(
        &ledger,
        None,
        &[
            "append",
            "statement_made",
            "--quote",
            "--db",
            "--note",
            "the recorder's note",
            "--actor",
            "marco-rubio",
            "--occurred-at",
            "2025-12-02",
            "--source-outlet",
            "Reuters",
        ],
        "",
    );
    assert_eq!(quoted.0, 0, "{quoted:?}");
    let log = crate::common::json(&ledger, &["log", "--json"]);
    let last = &log[n as usize];
    assert_eq!(
        (last["quote"].as_str(), last["note"].as_str()),
        (Some("--db"), Some("the recorder's note"))
    );
    let n = n + 1;
    // A client naming the served ledger with --db goes through the server and writes.
    let db = ledger.db.to_str().unwrap();
    let file = ledger.write(
        "one.ndjson",
        br#"{"type":"party_registered","party":"rr2","name":"Y","occurred_at":"2025-12-03"}"#,
    );
    let made = client(
        &ledger,
        None,
        &["--db", db, "import", file.to_str().unwrap()],
        "",
    );
    assert_eq!(made.0, 0, "{made:?}");
    assert!(made.1.starts_with("imported 1 event"), "{made:?}");
    // A folder's files are carried under its name.
    let folder = ledger.path("more");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("two.ndjson"),
        br#"{"type":"party_registered","party":"rr3","name":"Z","occurred_at":"2025-12-03"}"#,
    )
    .unwrap();
    let made = client(&ledger, None, &["import", folder.to_str().unwrap()], "");
    assert_eq!(made.0, 0, "{made:?}");
    let n = n + 1;
    assert_eq!(server.stop().0, 0);
    assert_eq!(records(&ledger), n + 1);
}
