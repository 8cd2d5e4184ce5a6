//! `pactlog timeline`: one self-contained HTML page drawing provisions over valid time.
//!
//! The picture is drawn here as inline SVG from [`crate::timeline`]'s data: status
//! bands, event markers, meeting lines. Every piece of text that comes from events
//! goes through [`escape`]; the page's one script is a constant that only moves
//! already-rendered nodes into the detail panel, so no event text is ever code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use super::state::{slug_arg, CutArgs};
use super::{render, CliError, Ctx};
use crate::event::{Slug, Status};
use crate::store::Access;
use crate::time::{self, Instant};
use crate::timeline::{Marker, Timeline};

/// Draw provisions over valid time as one self-contained HTML file: each provision's
/// status as coloured bands, its events as markers (hover for a summary, click for
/// the quote, who said it and the source), meetings as labelled vertical lines.
/// Without PROVISION, every provision drafted at the cut.
///
/// With `--known-at`, the page shows what the ledger knew then: events recorded
/// later are absent, and events retracted or superseded by then are drawn hollow.
/// The file needs no network: styles, script and drawing are inline.
///
/// Example: pactlog timeline nato-membership --html nato.html --at florida-2025-11-30
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Provision slugs; every provision drafted at the cut when absent
    pub provisions: Vec<String>,

    /// Write the page to this file (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    #[command(flatten)]
    pub cut: CutArgs,

    /// Machine output: the bands, markers and meetings as JSON instead of a page
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    if args.html.is_none() && !args.json {
        return Err(CliError::usage(
            "timeline draws into a file: give --html FILE (or `--html -` for stdout, --json for the data)",
        ));
    }
    let ledger = ctx.open(Access::Existing)?;
    let cut = ctx.cut_of(&ledger, &args.cut)?;
    let provisions = args
        .provisions
        .iter()
        .map(|p| slug_arg(p, "PROVISION"))
        .collect::<Result<Vec<Slug>, _>>()?;
    let timeline = crate::timeline::timeline(&ledger, &provisions, &cut)?;
    if args.json {
        return super::write_json(out, &timeline);
    }
    let page = html(&timeline, args.cut.known_at.is_some());
    let path = args.html.as_deref().filter(|p| p.as_os_str() != "-");
    super::export::write_to(path, out, |w| Ok(w.write_all(page.as_bytes())?))?;
    if let Some(path) = path {
        let n_events: usize = timeline.provisions.iter().map(|p| p.markers.len()).sum();
        ctx.say(
            out,
            format_args!(
                "wrote {}: {} provisions, {} events, {} meetings, at {}, as known at {}",
                path.display(),
                timeline.provisions.len(),
                n_events,
                timeline.meetings.len(),
                render::cut(&timeline.at),
                render::known(&cut)
            ),
        )?;
    }
    Ok(())
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link target only for http(s) URLs; anything else (`javascript:`…) stays text.
fn safe_url(url: &str) -> Option<&str> {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
}

fn status_colour(status: Status) -> &'static str {
    match status {
        Status::Proposed => "#a7b4c2",
        Status::Contested => "#e4572e",
        Status::UnderNegotiation => "#f0a202",
        Status::AgreedInPrinciple => "#8cc152",
        Status::Agreed => "#2e8b57",
        Status::Rejected => "#8b1e3f",
        Status::Withdrawn => "#6c757d",
        Status::Superseded => "#6a5acd",
    }
}

/// The marker kind (its CSS class and shape) of an event type.
fn marker_kind(type_name: &str) -> &'static str {
    match type_name {
        "statement_made" => "statement",
        "provision_drafted" | "provision_amended" | "provision_dropped" => "text",
        "status_changed" => "status",
        "position_stated" => "position",
        "meeting_held" => "meeting",
        _ => "other",
    }
}

/// The SVG shape of a marker centred on (x, y).
fn marker_shape(kind: &str, x: f64, y: f64) -> String {
    match kind {
        "statement" => format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="6"/>"#),
        "text" => format!(
            r#"<rect x="{:.1}" y="{:.1}" width="11" height="11" rx="1.5"/>"#,
            x - 5.5,
            y - 5.5
        ),
        "status" => format!(
            r#"<path d="M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z"/>"#,
            y - 7.5,
            x + 7.5,
            y + 7.5,
            x - 7.5
        ),
        "position" => format!(
            r#"<path d="M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z"/>"#,
            y - 7.0,
            x + 7.0,
            y + 5.5,
            x - 7.0,
            y + 5.5
        ),
        "meeting" => format!(
            r#"<rect x="{:.1}" y="{:.1}" width="5" height="16" rx="1"/>"#,
            x - 2.5,
            y - 8.0
        ),
        _ => format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="4"/>"#),
    }
}

fn day_label(day: chrono::NaiveDate, first: bool) -> String {
    if first || day.format("%m-%d").to_string() == "01-01" {
        day.format("%-d %b %Y").to_string()
    } else {
        day.format("%-d %b").to_string()
    }
}

/// At most `max` characters, with an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn marker_ref(provision: &Slug, marker: &Marker) -> String {
    format!("ev-{provision}-{}", marker.seq)
}

/// The tooltip of a marker: date, headline, who, the start of its text, source.
fn tooltip(marker: &Marker) -> String {
    let mut lines = vec![format!(
        "{} · {}",
        render::when(&marker.occurred_at),
        marker.headline
    )];
    if let Some(detail) = &marker.detail {
        lines.push(format!("“{}”", truncate(detail, 220)));
    }
    if let Some(source) = &marker.source {
        lines.push(format!("source: {}", source.outlet));
    }
    if let Some(by) = marker.removed_by {
        lines.push(format!("removed by event {by}"));
    }
    lines.push("(click for details)".into());
    lines.join("\n")
}

const LABEL_W: f64 = 250.0;
const AXIS_H: f64 = 76.0;
const ROW_H: f64 = 46.0;
const PAD_R: f64 = 20.0;

/// The whole page.
pub fn html(timeline: &Timeline, known_at_given: bool) -> String {
    let mut page = String::new();
    let known_cut = render::known(&crate::query::Cut {
        at: timeline.at,
        known_at: timeline.known_at,
        known_seq: timeline.known_seq,
        filter: Default::default(),
    });
    let cuts = format!(
        "at {}, as known at {}",
        render::cut(&timeline.at),
        known_cut
    );
    let n_events: usize = timeline.provisions.iter().map(|p| p.markers.len()).sum();
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="pactlog">
<title>pactlog timeline — {cuts}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Negotiation timeline</h1>
<p class="cuts">Valid time: <b>{at}</b> · Record time: <b>as known at {known}</b> · <span class="stamp" title="at {at_full}, known at {known_full}">{n_prov} provisions, {n_events} events, {n_meet} meetings</span></p>
"#,
        cuts = escape(&cuts),
        at = escape(&render::cut(&timeline.at)),
        known = escape(&known_cut),
        at_full = escape(&time::format(&timeline.at)),
        known_full = escape(&time::format(&timeline.known_at)),
        n_prov = timeline.provisions.len(),
        n_meet = timeline.meetings.len(),
    );
    if known_at_given {
        let _ = writeln!(
            page,
            r#"<p class="known">Shown as the ledger knew it at {}: events recorded later are absent; events retracted or superseded by then are drawn hollow.</p>"#,
            escape(&known_cut)
        );
    }
    page.push_str(&legend(timeline));
    page.push_str("</header>\n<main>\n");
    match timeline.span() {
        Some(span) if !timeline.provisions.is_empty() => {
            page.push_str(&svg(timeline, span));
            page.push_str(
                "<aside id=\"panel\" aria-live=\"polite\"><p class=\"hint\">Click a marker to see its event: what was said or written, by whom, and the source.</p></aside>\n",
            );
            page.push_str(&event_list(timeline, n_events));
        }
        _ => {
            let _ = writeln!(
                page,
                "<p class=\"empty\">No provision is drafted {}.</p>",
                escape(&cuts)
            );
        }
    }
    let _ = write!(
        page,
        "</main>\n<footer>Made by pactlog from a hash-chained ledger; every event has its id, both times and its source.</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    page
}

fn legend(timeline: &Timeline) -> String {
    let mut used: Vec<Status> = timeline
        .provisions
        .iter()
        .flat_map(|p| p.bands.iter().map(|b| b.status))
        .collect();
    used.sort();
    used.dedup();
    let mut out = String::from("<div class=\"legend\"><span class=\"lh\">Status</span>");
    for status in Status::ALL.iter().filter(|s| used.contains(s)) {
        let _ = write!(
            out,
            r#"<span class="key"><i class="swatch" style="background:{}"></i>{}</span>"#,
            status_colour(*status),
            status.as_str().replace('_', " ")
        );
    }
    out.push_str("<span class=\"lh\">Events</span>");
    for kind in ["statement", "text", "status", "position", "meeting"] {
        let label = match kind {
            "statement" => "statement",
            "text" => "text drafted, amended or dropped",
            "status" => "status changed",
            "position" => "position stated",
            _ => "meeting held",
        };
        let _ = write!(
            out,
            r#"<span class="key"><svg width="18" height="18" class="m k-{kind}" aria-hidden="true">{}</svg>{label}</span>"#,
            marker_shape(kind, 9.0, 9.0)
        );
    }
    out.push_str(r#"<span class="key"><svg width="18" height="18" class="m k-statement removed" aria-hidden="true"><circle cx="9" cy="9" r="6"/></svg>retracted or superseded</span>"#);
    out.push_str("</div>\n");
    out
}

fn svg(timeline: &Timeline, (first, last): (Instant, Instant)) -> String {
    let day0 = first.date_naive();
    let last_day = last.date_naive().max(day0);
    let n_days = (last_day - day0).num_days() + 1;
    let day_w = (730.0 / n_days as f64).clamp(34.0, 110.0);
    let plot_w = day_w * n_days as f64;
    let width = LABEL_W + plot_w + PAD_R;
    let height = AXIS_H + ROW_H * timeline.provisions.len() as f64 + 10.0;
    let start = time::start_of_day(day0);
    let end = time::start_of_day(last_day) + chrono::TimeDelta::days(1);
    let x_of = |t: Instant| -> f64 {
        let t = t.clamp(start, end);
        LABEL_W + (t - start).num_seconds() as f64 / 86_400.0 * day_w
    };
    let day_centre = |t: Instant| x_of(time::start_of_day(t.date_naive())) + day_w / 2.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<div class="plot"><svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="Provision status over valid time">"#
    );
    // Rows' backgrounds and labels.
    for (i, line) in timeline.provisions.iter().enumerate() {
        let y = AXIS_H + ROW_H * i as f64;
        let _ = writeln!(
            s,
            r#"<rect class="row{}" x="0" y="{y:.0}" width="{width:.0}" height="{ROW_H:.0}"/><text class="label" x="12" y="{:.0}">{}<title>{} ({})</title></text><text class="slug" x="12" y="{:.0}">{}</text>"#,
            if i % 2 == 0 { " even" } else { "" },
            y + 20.0,
            escape(&truncate(&line.title, 29)),
            escape(&line.title),
            line.provision,
            y + 36.0,
            escape(&truncate(line.provision.as_str(), 40)),
        );
    }
    // Day grid and axis.
    for d in 0..n_days {
        let day = day0 + chrono::TimeDelta::days(d);
        let x = LABEL_W + day_w * d as f64;
        let _ = writeln!(
            s,
            r#"<line class="grid" x1="{x:.1}" y1="{:.0}" x2="{x:.1}" y2="{height:.0}"/><text class="tick" x="{:.1}" y="{:.0}">{}</text>"#,
            AXIS_H - 22.0,
            x + day_w / 2.0,
            AXIS_H - 8.0,
            escape(&day_label(day, d == 0))
        );
    }
    // Meetings: a shaded day, a line at its centre, a label above the axis, each
    // label on the first of three levels where it overlaps no other.
    let mut levels: [f64; 3] = [f64::MIN; 3];
    for meeting in &timeline.meetings {
        let day = meeting.day.date_naive();
        if day < day0 || day > last_day {
            continue;
        }
        let x = day_centre(meeting.day);
        let label = if meeting.held {
            truncate(&meeting.place, 28)
        } else {
            format!("{} (planned)", truncate(&meeting.place, 18))
        };
        let label_w = 7.0 * label.chars().count() as f64;
        let (left, anchor) = if x + label_w / 2.0 > LABEL_W + plot_w {
            (x + day_w / 2.0 - label_w, "end")
        } else if x - label_w / 2.0 < LABEL_W {
            (x - day_w / 2.0, "start")
        } else {
            (x - label_w / 2.0, "middle")
        };
        let level = levels.iter().position(|&right| right < left).unwrap_or(2);
        levels[level] = left + label_w + 8.0;
        let label_x = match anchor {
            "end" => x + day_w / 2.0,
            "start" => x - day_w / 2.0,
            _ => x,
        };
        let label_y = 14.0 + 14.0 * level as f64;
        let class = if meeting.held {
            "meeting held"
        } else {
            "meeting planned"
        };
        let what = if meeting.held { "held" } else { "planned for" };
        let _ = writeln!(
            s,
            r#"<g class="{class}"><rect x="{:.1}" y="{AXIS_H:.0}" width="{day_w:.1}" height="{:.0}"/><line x1="{x:.1}" y1="{:.0}" x2="{x:.1}" y2="{height:.0}"/><text x="{label_x:.1}" y="{label_y:.0}" text-anchor="{anchor}">{}</text><title>{} ({}): {} {}, {}</title></g>"#,
            x - day_w / 2.0,
            height - AXIS_H,
            label_y + 4.0,
            escape(&label),
            escape(&meeting.title),
            meeting.meeting,
            what,
            escape(&render::when(&meeting.day)),
            escape(&meeting.place),
        );
    }
    // Bands and markers.
    for (i, line) in timeline.provisions.iter().enumerate() {
        let y = AXIS_H + ROW_H * i as f64;
        for band in &line.bands {
            let x1 = x_of(band.from);
            let x2 = x_of(band.to.unwrap_or(timeline.at).min(end));
            if x2 <= x1 {
                continue;
            }
            let label = band.status.as_str().replace('_', " ");
            let _ = write!(
                s,
                r#"<g class="band"><rect x="{x1:.1}" y="{:.0}" width="{:.1}" height="24" rx="4" fill="{}"/>"#,
                y + 11.0,
                x2 - x1,
                status_colour(band.status)
            );
            if x2 - x1 > 8.0 * label.len() as f64 {
                let _ = write!(
                    s,
                    r#"<text x="{:.1}" y="{:.0}">{label}</text>"#,
                    x1 + 6.0,
                    y + 41.5
                );
            }
            let _ = writeln!(
                s,
                "<title>{label} from {}{}</title></g>",
                escape(&render::when(&band.from)),
                band.to
                    .map(|t| format!(" to {}", escape(&render::when(&t))))
                    .unwrap_or_else(|| " (still at the cut)".into())
            );
        }
        // Markers of one day spread across the day.
        let mut by_day: BTreeMap<chrono::NaiveDate, Vec<&Marker>> = BTreeMap::new();
        for marker in &line.markers {
            by_day
                .entry(marker.occurred_at.date_naive())
                .or_default()
                .push(marker);
        }
        for (day, markers) in by_day {
            let n = markers.len() as f64;
            let step = ((day_w - 12.0) / n).min(15.0);
            let centre = day_centre(time::start_of_day(day));
            for (k, marker) in markers.iter().enumerate() {
                let x = centre + (k as f64 - (n - 1.0) / 2.0) * step;
                let kind = marker_kind(marker.type_name);
                let removed = if marker.removed_by.is_some() {
                    " removed"
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    r#"<g class="m k-{kind}{removed}" data-ref="{}" tabindex="0" role="button" aria-label="{}">{}<title>{}</title></g>"#,
                    marker_ref(&line.provision, marker),
                    escape(&marker.headline),
                    marker_shape(kind, x, y + 23.0),
                    escape(&tooltip(marker)),
                );
            }
        }
    }
    s.push_str("</svg></div>\n");
    s
}

/// Every marker's event, grouped by provision: the detail panel shows copies of these.
fn event_list(timeline: &Timeline, n_events: usize) -> String {
    let mut s = format!(
        "<details class=\"events\"><summary>All {n_events} events, by provision</summary>\n"
    );
    for line in &timeline.provisions {
        let _ = writeln!(
            s,
            "<section><h2>{} <code>{}</code></h2><ol>",
            escape(&line.title),
            line.provision
        );
        for marker in &line.markers {
            let removed = if marker.removed_by.is_some() {
                " removed"
            } else {
                ""
            };
            let _ = write!(
                s,
                r#"<li class="event{removed}" id="{}"><p class="head"><span class="date">{}</span> <b>{}</b></p>"#,
                marker_ref(&line.provision, marker),
                escape(&render::when(&marker.occurred_at)),
                escape(&marker.headline),
            );
            if let Some(detail) = &marker.detail {
                let quoted = if marker.type_name == "statement_made" {
                    "quote"
                } else {
                    "text"
                };
                let _ = write!(
                    s,
                    r#"<blockquote class="{quoted}">{}</blockquote>"#,
                    escape(detail)
                );
            }
            if let Some(who) = &marker.who {
                let _ = write!(s, r#"<p class="who">— {}</p>"#, escape(who));
            }
            if let Some(source) = &marker.source {
                let outlet = escape(&source.outlet);
                let link = match source.url.as_deref().and_then(safe_url) {
                    Some(url) => format!(
                        r#"<a href="{}" rel="noopener noreferrer" target="_blank">{outlet}</a>"#,
                        escape(url)
                    ),
                    None => match &source.url {
                        Some(url) => format!("{outlet} <span class=\"url\">{}</span>", escape(url)),
                        None => outlet,
                    },
                };
                let published = source
                    .published_at
                    .as_ref()
                    .map(|p| format!(", published {}", escape(p)))
                    .unwrap_or_default();
                let _ = write!(s, r#"<p class="source">Source: {link}{published}</p>"#);
            }
            let _ = write!(
                s,
                r#"<p class="meta">{} · recorded {} · seq {} · event <code>{}</code></p>"#,
                marker.type_name,
                escape(&render::when(&marker.recorded_at)),
                marker.seq,
                marker.id
            );
            if let Some(by) = marker.removed_by {
                let _ = write!(
                    s,
                    r#"<p class="removal">Retracted or superseded by event <code>{by}</code>: it no longer counts.</p>"#
                );
            }
            s.push_str("</li>\n");
        }
        s.push_str("</ol></section>\n");
    }
    s.push_str("</details>\n");
    s
}

const STYLE: &str = r#"
:root{--ink:#1d2733;--muted:#5b6775;--line:#d5dbe1;--bg:#f7f8fa;--accent:#1f5f99}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{padding:18px 24px 8px;background:#fff;border-bottom:1px solid var(--line)}
h1{font-size:21px;margin:0 0 4px}
.cuts{margin:0 0 8px;color:var(--muted)}.cuts b{color:var(--ink)}
.known{margin:0 0 8px;padding:6px 10px;background:#fff6d6;border-left:4px solid #f0a202}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center;font-size:12.5px;color:var(--muted);margin:4px 0 6px}
.lh{font-weight:600;color:var(--ink);margin-left:6px}.lh:first-child{margin-left:0}
.key{display:inline-flex;align-items:center;gap:5px}
.swatch{display:inline-block;width:22px;height:12px;border-radius:3px}
main{padding:14px 24px;display:grid;grid-template-columns:minmax(0,1fr) 300px;gap:16px;align-items:start}
.plot{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:6px}
#timeline{display:block}
.row{fill:#fff}.row.even{fill:#f3f5f8}
.label{font-size:13px;font-weight:600;fill:var(--ink)}
.slug{font:11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;fill:var(--muted)}
.grid{stroke:#e6e9ed;stroke-width:1}
.tick{font-size:11px;fill:var(--muted);text-anchor:middle}
.meeting rect{fill:#fff1b8;opacity:.55}
.meeting line{stroke:#b7791f;stroke-width:2}
.meeting.planned line{stroke-dasharray:5 4}
.meeting text{font-size:12px;font-weight:600;fill:#8a5a0c}
.band rect{opacity:.85}
.band text{font-size:10.5px;fill:#33404d;pointer-events:none}
.m{cursor:pointer;stroke:#fff;stroke-width:1.5;outline:none}
.m:hover,.m:focus,.m.sel{stroke:#111;stroke-width:2.5}
.k-statement{fill:#1f5f99}.k-text{fill:#3c3c3c}.k-status{fill:#111}.k-position{fill:#7b3fa0}.k-meeting{fill:#b7791f}.k-other{fill:#888}
.m.removed{fill:#fff;stroke:#888;stroke-dasharray:2 2;opacity:.8}
#panel{position:sticky;top:12px;background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 14px;min-height:120px}
#panel .hint{color:var(--muted);margin:0}
#panel .event{list-style:none}
.event{margin:0 0 12px;padding:8px 10px;background:#fff;border:1px solid var(--line);border-radius:5px}
.event p{margin:2px 0}.event .date{color:var(--muted);font-variant-numeric:tabular-nums}
.event blockquote{margin:6px 0;padding:4px 10px;border-left:3px solid var(--accent);white-space:pre-wrap}
.event blockquote.text{border-left-color:#999;font-family:Georgia,"Times New Roman",serif}
.event .who{font-style:italic}.event .meta{font-size:11.5px;color:var(--muted)}
.event.removed{opacity:.7}.event.removed blockquote{text-decoration:line-through}
.removal{color:#8b1e3f;font-weight:600}
.events{grid-column:1/-1;background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 14px}
.events summary{cursor:pointer;font-weight:600}
.events h2{font-size:15px;margin:14px 0 6px}.events ol{padding-left:0;margin:0}
a{color:var(--accent)}
footer{padding:8px 24px 18px;color:var(--muted);font-size:12px}
.empty{grid-column:1/-1}
@media (max-width:900px){main{grid-template-columns:1fr}}
"#;

/// The page's only script. It never reads event text as code: it copies a rendered
/// list item into the panel (on a click, or for the event named in the URL's
/// fragment), then marks the page ready (the browser test looks for it).
const SCRIPT: &str = r#"
(function () {
  "use strict";
  var panel = document.getElementById("panel");
  function show(marker) {
    var source = document.getElementById(marker.getAttribute("data-ref"));
    if (!panel || !source) { return; }
    var selected = document.querySelectorAll(".m.sel");
    for (var i = 0; i < selected.length; i++) { selected[i].classList.remove("sel"); }
    marker.classList.add("sel");
    while (panel.firstChild) { panel.removeChild(panel.firstChild); }
    var copy = source.cloneNode(true);
    copy.removeAttribute("id");
    panel.appendChild(copy);
  }
  var markers = document.querySelectorAll(".m[data-ref]");
  for (var i = 0; i < markers.length; i++) {
    (function (marker) {
      marker.addEventListener("click", function () { show(marker); });
      marker.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); show(marker); }
      });
    })(markers[i]);
  }
  // A link to `page.html#PROVISION/SEQ` opens with that event shown.
  var wanted = "ev-" + decodeURIComponent(location.hash.slice(1)).replace("/", "-");
  for (var j = 0; j < markers.length; j++) {
    if (markers[j].getAttribute("data-ref") === wanted) { show(markers[j]); break; }
  }
  document.documentElement.setAttribute("data-ready", String(markers.length));
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_leaves_no_markup() {
        assert_eq!(
            escape(r#"</script><img src=x onerror=alert(1)>"'&"#),
            "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"
        );
    }

    #[test]
    fn only_http_urls_become_links() {
        assert!(safe_url("https://example.org/a").is_some());
        assert!(safe_url("HTTP://example.org").is_some());
        assert!(safe_url("javascript:alert(1)").is_none());
        assert!(safe_url(" data:text/html,x").is_none());
    }
}
