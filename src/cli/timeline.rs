//! `pactlog timeline`: one self-contained HTML page drawing provisions over valid time.
//!
//! The picture is drawn as inline SVG from [`crate::timeline`]'s data: status
//! bands, event markers, meeting lines. It is laid out first ([`layout`]: pure
//! geometry, so that no two markers and no two labels overlap, whatever the data)
//! and then written by maud's `html!`, which escapes every text it is given: no
//! event text can reach the page as markup. The page's one script is a constant
//! that only copies already-rendered nodes into the detail panel.
//!
//! The drawing has a fixed coordinate system ([`WIDTH`] units wide) and is scaled
//! to the width of the page, so it never scrolls sideways from 900 px up; below
//! 1200 px the detail panel goes under the drawing instead of beside it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate, TimeDelta};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::state::{slug_arg, CutArgs};
use super::{render, CliError, Ctx};
use crate::event::{Slug, Status};
use crate::projection::Conflict;
use crate::store::Access;
use crate::time::{self, Instant};
use crate::timeline::{Marker, MeetingMark, Timeline};

/// Draw provisions over valid time as one self-contained HTML file: each provision's
/// status as coloured bands, its events as markers (hover for a summary, click for
/// the quote, who said it and every source with its grade), meetings as labelled
/// vertical lines. An inference (the recorder's reading) carries an orange dot and
/// its note; a day on which reports conflict is outlined in red (click for the
/// sides). Without PROVISION, every provision drafted at the cut.
///
/// `--min-grade` and `--reported-only` leave events out of the bands and markers alike.
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
    #[arg(long, conflicts_with = "html")]
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
    let path = super::export::out_file(args.html.as_deref());
    super::export::write_to(path, out, |w| Ok(w.write_all(page.as_bytes())?))?;
    if let Some(path) = path {
        ctx.say(
            out,
            format_args!(
                "wrote {}: {}, at {}, as known at {}",
                path.display(),
                counts(&timeline),
                render::cut(&timeline.at),
                render::known(&cut)
            ),
        )?;
    }
    Ok(())
}

/// "10 provisions, 48 events, 4 meetings", each in the right number.
fn counts(timeline: &Timeline) -> String {
    let n_events: usize = timeline.provisions.iter().map(|p| p.markers.len()).sum();
    format!(
        "{}, {}, {}",
        super::count(timeline.provisions.len() as u64, "provision", "provisions"),
        super::count(n_events as u64, "event", "events"),
        super::count(timeline.meetings.len() as u64, "meeting", "meetings"),
    )
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

/// The SVG shape of a marker centred on (x, y); every shape fits in a box
/// [`MARK`] units wide and high around its centre.
fn marker_shape(kind: &str, x: f64, y: f64) -> Markup {
    let f = |v: f64| format!("{v:.1}");
    match kind {
        "statement" => html! { circle cx=(f(x)) cy=(f(y)) r="6" {} },
        "text" => {
            html! { rect x=(f(x - 5.5)) y=(f(y - 5.5)) width="11" height="11" rx="1.5" {} }
        }
        "status" => {
            let d = format!(
                "M{} {}L{} {}L{} {}L{} {}Z",
                f(x),
                f(y - 7.0),
                f(x + 7.0),
                f(y),
                f(x),
                f(y + 7.0),
                f(x - 7.0),
                f(y)
            );
            html! { path d=(d) {} }
        }
        "position" => {
            let d = format!(
                "M{} {}L{} {}L{} {}Z",
                f(x),
                f(y - 6.5),
                f(x + 7.0),
                f(y + 5.5),
                f(x - 7.0),
                f(y + 5.5)
            );
            html! { path d=(d) {} }
        }
        "meeting" => {
            html! { rect x=(f(x - 2.5)) y=(f(y - 7.0)) width="5" height="14" rx="1" {} }
        }
        _ => html! { circle cx=(f(x)) cy=(f(y)) r="4" {} },
    }
}

/// A day on the axis: "20 Nov".
fn day_label(day: NaiveDate) -> String {
    day.format("%-d %b").to_string()
}

/// A day as the header says it: "20 Nov 2025".
fn long_day(day: NaiveDate) -> String {
    day.format("%-d %b %Y").to_string()
}

fn marker_ref(provision: &Slug, marker: &Marker) -> String {
    format!("ev-{provision}-{}", marker.event.seq)
}

/// The id of a conflict's entry in the event list (`cf-PROVISION-N`, N from 1).
fn conflict_ref(provision: &Slug, n: usize) -> String {
    format!("cf-{provision}-{}", n + 1)
}

/// A conflict in a few words: "conflicting reports on 2025-11-25: status".
fn conflict_headline(conflict: &Conflict) -> String {
    format!(
        "Conflicting reports on {}: {}",
        conflict.day.format("%Y-%m-%d"),
        conflict.field
    )
}

/// At most `max` characters, with an ellipsis when cut (tooltips only: the page
/// shows every text whole).
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// The tooltip of a marker: date, headline, who, the start of its text, source.
fn tooltip(marker: &Marker) -> String {
    let mut lines = vec![format!(
        "{} · {}",
        marker.day.format("%Y-%m-%d"),
        marker.headline
    )];
    if let Some(detail) = &marker.detail {
        lines.push(format!("“{}”", truncate(detail, 220)));
    }
    for source in marker.event.all_sources() {
        lines.push(format!(
            "source: {}",
            crate::provenance::describe_source(source)
        ));
    }
    if let Some(mark) = render::inference_mark(marker.event.basis, marker.event.note.as_deref()) {
        lines.push(truncate(&mark, 220));
    }
    if let Some(by) = marker.removed_by {
        lines.push(format!("removed by event {by}"));
    }
    lines.push("(click for details)".into());
    lines.join("\n")
}

/// How wide a column of the axis is: a tick and a grid line at each column's start.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    /// Columns of this many days, from the first day.
    Days(i64),
    /// Columns of this many months, starting on the first of a month (a multiple of
    /// 12: on 1 January of a year divisible by the number of years).
    Months(u32),
}

impl Step {
    /// The narrowest step whose columns are at least `days` days wide.
    fn for_width(days: f64) -> Step {
        const STEPS: [Step; 19] = [
            Step::Days(1),
            Step::Days(2),
            Step::Days(7),
            Step::Days(14),
            Step::Months(1),
            Step::Months(2),
            Step::Months(3),
            Step::Months(6),
            Step::Months(12),
            Step::Months(12 * 2),
            Step::Months(12 * 5),
            Step::Months(12 * 10),
            Step::Months(12 * 20),
            Step::Months(12 * 50),
            Step::Months(12 * 100),
            Step::Months(12 * 200),
            Step::Months(12 * 500),
            Step::Months(12 * 1000),
            Step::Months(12 * 10_000),
        ];
        STEPS
            .into_iter()
            .find(|step| step.shortest_days() >= days)
            .unwrap_or(Step::Months(12 * 10_000))
    }

    /// The fewest days a column of this step spans.
    fn shortest_days(self) -> f64 {
        match self {
            Step::Days(n) => n as f64,
            Step::Months(m) if m < 12 => f64::from(m) * 28.0,
            Step::Months(m) => f64::from(m / 12) * 365.0,
        }
    }

    /// The first day of each column from `first` to `last` (for months, the first
    /// of a month on or after `first`).
    fn boundaries(self, first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
        match self {
            Step::Days(n) => {
                std::iter::successors(Some(first), |d| d.checked_add_signed(TimeDelta::days(n)))
                    .take_while(|d| *d <= last)
                    .collect()
            }
            Step::Months(m) => {
                let index = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
                let m = i64::from(m);
                let from = index(first);
                let mut k = from.div_euclid(m) * m;
                let mut days = Vec::new();
                loop {
                    let (year, month0) = (k.div_euclid(12), k.rem_euclid(12));
                    let Some(day) = i32::try_from(year)
                        .ok()
                        .and_then(|y| NaiveDate::from_ymd_opt(y, month0 as u32 + 1, 1))
                    else {
                        break;
                    };
                    if day > last {
                        break;
                    }
                    if day >= first {
                        days.push(day);
                    }
                    k += m;
                }
                days
            }
        }
    }
}

/// The drawing's width in its own units (it is scaled to the page).
pub const WIDTH: f64 = 1000.0;
/// Where the plot starts: left of it, each row's title.
const PLOT_X: f64 = 250.0;
const PAD_R: f64 = 14.0;
/// The box every marker fits in, and the distance between two markers' centres.
pub const MARK: f64 = 16.0;
const LANE_H: f64 = 18.0;
/// Text metrics, generous for wide sans-serif faces (DejaVu Sans): the width of a
/// character in units per unit of font size.
const CHAR_W: f64 = 0.62;
const BOLD_CHAR_W: f64 = 0.66;
/// Titles wrap at this width per unit of font size (a wrapped line may be a little
/// narrower than the estimate; wider would run into the plot).
const TITLE_CHAR_W: f64 = 0.6;
const TITLE_SIZE: f64 = 13.0;
const SLUG_SIZE: f64 = 11.0;
const TICK_SIZE: f64 = 11.0;
const MEETING_SIZE: f64 = 12.0;
const BAND_SIZE: f64 = 10.5;

/// Splits text into lines of at most `max` characters, at spaces where it can
/// (a word longer than a line is cut): nothing is left out.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let room = if used == 0 {
                max
            } else {
                max.saturating_sub(used + 1)
            };
            if word.len() <= room {
                if used > 0 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than a line.
            let rest = word.split_off(max);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The geometry of the drawing: every position the markup uses, computed before
/// any markup is written.
#[derive(Debug)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    /// The first and last day of the axis.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub day_w: f64,
    /// Where the rows start (below the meeting labels and the day ticks).
    pub top: f64,
    pub ticks: Vec<Tick>,
    /// The x of each vertical grid line: the plot's edges and each column's start.
    pub grid: Vec<f64>,
    pub meeting_labels: Vec<Label>,
    pub meetings: Vec<MeetingLine>,
    pub rows: Vec<Row>,
}

/// A label on the axis: a day (`3 Dec`), a month (`Dec`) or a year (`1950`), as
/// wide as the axis's columns; `year` under the first and the first of each year
/// (none when the label is a year).
#[derive(Debug)]
pub struct Tick {
    pub x: f64,
    pub text: String,
    pub year: Option<i32>,
}

/// A label above the axis, `x` its left edge, `y` its baseline.
#[derive(Debug)]
pub struct Label {
    pub x: f64,
    pub y: f64,
    pub text: String,
}

/// The width a meeting label is laid out with (an estimate on the wide side).
fn meeting_label_width(text: &str) -> f64 {
    text.chars().count() as f64 * BOLD_CHAR_W * MEETING_SIZE
}

/// A meeting's shaded day and line.
#[derive(Debug)]
pub struct MeetingLine {
    pub x: f64,
    pub held: bool,
    pub meeting: usize,
}

/// One provision's row.
#[derive(Debug)]
pub struct Row {
    pub y: f64,
    pub h: f64,
    pub title: Vec<String>,
    pub slug: Vec<String>,
    pub band_y: f64,
    pub band_h: f64,
    pub bands: Vec<BandBox>,
    /// Each marker's centre, in the order of the line's markers.
    pub marks: Vec<(f64, f64)>,
    /// Each conflict's day column (left edge and width), in the order of the line's
    /// conflicts.
    pub conflicts: Vec<(f64, f64)>,
}

#[derive(Debug)]
pub struct BandBox {
    pub x: f64,
    pub w: f64,
    pub status: Status,
    /// Shown below the band when it fits.
    pub label: Option<String>,
}

/// The first and last day of the axis: every marker's own calendar day and every
/// meeting's day.
fn axis_days(timeline: &Timeline) -> Option<(NaiveDate, NaiveDate)> {
    let days = timeline
        .provisions
        .iter()
        .flat_map(|p| p.markers.iter().map(|m| m.day))
        .chain(timeline.meetings.iter().map(|m| m.day.date_naive()));
    days.fold(None, |span, d| match span {
        None => Some((d, d)),
        Some((a, b)) => Some((a.min(d), b.max(d))),
    })
}

/// Lays the drawing out, or `None` when there is nothing to draw.
pub fn layout(timeline: &Timeline) -> Option<Layout> {
    if timeline.provisions.is_empty() {
        return None;
    }
    let (first_day, last_day) = axis_days(timeline)?;
    let n_days = (last_day - first_day).num_days() + 1;
    let plot_w = WIDTH - PLOT_X - PAD_R;
    let day_w = plot_w / n_days as f64;
    let day_x = |day: NaiveDate| PLOT_X + (day - first_day).num_days() as f64 * day_w;
    let start = time::start_of_day(first_day);
    let end = time::start_of_day(last_day) + TimeDelta::days(1);
    let x_of = |t: Instant| -> f64 {
        let t = t.clamp(start, end);
        PLOT_X + (t - start).num_seconds() as f64 / 86_400.0 * day_w
    };

    // Meeting labels: one per day and kind (held, planned), on the first level
    // where it overlaps no other label; as many levels as it takes.
    let mut groups: BTreeMap<(NaiveDate, bool), Vec<&MeetingMark>> = BTreeMap::new();
    for m in &timeline.meetings {
        groups
            .entry((m.day.date_naive(), !m.held))
            .or_default()
            .push(m);
    }
    let mut levels: Vec<f64> = Vec::new();
    let mut meeting_labels = Vec::new();
    for ((day, planned), marks) in &groups {
        let mut places: Vec<&str> = marks.iter().map(|m| m.place.as_str()).collect();
        places.dedup();
        let text = format!(
            "{}{}",
            places.join(", "),
            if *planned { " (planned)" } else { "" }
        );
        let w = meeting_label_width(&text);
        let centre = day_x(*day) + day_w / 2.0;
        let x = (centre - w / 2.0).clamp(PLOT_X - 60.0, WIDTH - PAD_R - w);
        let level = match levels.iter().position(|&right| right + 8.0 <= x) {
            Some(level) => level,
            None => {
                levels.push(f64::MIN);
                levels.len() - 1
            }
        };
        levels[level] = x + w;
        meeting_labels.push(Label {
            x,
            y: 16.0 + 15.0 * level as f64,
            text,
        });
    }
    let ticks_y = 16.0 + 15.0 * levels.len() as f64 + 6.0;
    let top = ticks_y + 2.0 * TICK_SIZE + 12.0;

    // Ticks and grid lines: one per column of the axis, a column being as many days,
    // weeks, months or years as it takes for no two labels to overlap; so their
    // number is bounded by the drawing's width, whatever the span.
    let tick_w = 7.0 * CHAR_W * TICK_SIZE + 8.0;
    let step = Step::for_width(tick_w / day_w);
    let mut ticks: Vec<Tick> = Vec::new();
    let mut grid = vec![PLOT_X];
    let mut previous_year = None;
    for day in step.boundaries(first_day, last_day) {
        let x = match step {
            Step::Days(_) => day_x(day) + day_w.min(tick_w) / 2.0,
            Step::Months(_) => day_x(day),
        };
        if day > first_day {
            grid.push(day_x(day));
        }
        if x + tick_w / 2.0 > WIDTH {
            continue;
        }
        // The year under the first tick and under the first of each new year (a
        // tick of a column of years is its year).
        let (text, year) = match step {
            Step::Days(_) => (day_label(day), Some(day.year())),
            Step::Months(m) if m < 12 => (day.format("%b").to_string(), Some(day.year())),
            Step::Months(_) => (day.year().to_string(), None),
        };
        let year = year.filter(|y| previous_year != Some(*y));
        previous_year = Some(day.year());
        ticks.push(Tick { x, text, year });
    }
    grid.push(PLOT_X + day_w * n_days as f64);

    let meetings = timeline
        .meetings
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let day = m.day.date_naive();
            (first_day..=last_day).contains(&day).then(|| MeetingLine {
                x: day_x(day) + day_w / 2.0,
                held: m.held,
                meeting: i,
            })
        })
        .collect();

    // Rows. Markers of one day sit in that day's column, side by side, in as many
    // lanes as the column needs; a day narrower than a marker shares a column of
    // several days (`bin` days wide) with its neighbours.
    let bin = (MARK / day_w).ceil().max(1.0) as i64;
    let bin_w = day_w * bin as f64;
    let per_lane = ((bin_w - 2.0) / MARK).floor().max(1.0) as usize;
    let title_chars = ((PLOT_X - 26.0) / (TITLE_CHAR_W * TITLE_SIZE)).floor() as usize;
    let slug_chars = ((PLOT_X - 26.0) / (CHAR_W * SLUG_SIZE)).floor() as usize;
    let mut rows = Vec::new();
    let mut y = top;
    for line in &timeline.provisions {
        let mut bins: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, m) in line.markers.iter().enumerate() {
            bins.entry((m.day - first_day).num_days() / bin)
                .or_default()
                .push(i);
        }
        let lanes = bins
            .values()
            .map(|b| b.len().div_ceil(per_lane))
            .max()
            .unwrap_or(1)
            .max(1);
        let title = wrap(&line.title, title_chars);
        let slug = wrap(line.provision.as_str(), slug_chars);
        let text_h = 12.0 + 17.0 * title.len() as f64 + 14.0 * slug.len() as f64 + 4.0;
        let band_y = y + 8.0;
        let band_h = LANE_H * lanes as f64 + 4.0;
        let marks_h = 8.0 + band_h + 17.0;
        let h = text_h.max(marks_h);
        let mut marks = vec![(0.0, 0.0); line.markers.len()];
        for (b, members) in &bins {
            let centre = PLOT_X + (*b as f64 + 0.5) * bin_w;
            for (lane, chunk) in members.chunks(per_lane).enumerate() {
                let n = chunk.len() as f64;
                let cy = band_y + 2.0 + LANE_H * (lane as f64 + 0.5);
                for (k, i) in chunk.iter().enumerate() {
                    marks[*i] = (centre + (k as f64 - (n - 1.0) / 2.0) * MARK, cy);
                }
            }
        }
        let drawn_to = timeline.at.min(end);
        let bands = line
            .bands
            .iter()
            .filter_map(|band| {
                let x1 = x_of(band.from);
                let x2 = x_of(band.to.unwrap_or(drawn_to).min(drawn_to));
                (x2 > x1).then(|| {
                    let text = band.status.as_str().replace('_', " ");
                    let fits = text.chars().count() as f64 * CHAR_W * BAND_SIZE + 8.0 <= x2 - x1;
                    BandBox {
                        x: x1,
                        w: x2 - x1,
                        status: band.status,
                        label: fits.then_some(text),
                    }
                })
            })
            .collect();
        let conflicts = line
            .conflicts
            .iter()
            .map(|c| {
                let day = c.day.date_naive().clamp(first_day, last_day);
                let w = day_w.max(MARK);
                let x = (day_x(day) + day_w / 2.0 - w / 2.0).clamp(PLOT_X, WIDTH - PAD_R - w);
                (x, w)
            })
            .collect();
        rows.push(Row {
            y,
            h,
            title,
            slug,
            band_y,
            band_h,
            bands,
            marks,
            conflicts,
        });
        y += h;
    }
    Some(Layout {
        width: WIDTH,
        height: y + 8.0,
        first_day,
        last_day,
        day_w,
        top,
        ticks,
        grid,
        meeting_labels,
        meetings,
        rows,
    })
}

/// What the page says it draws: the valid time of its axis (up to the cut, or to
/// the last day drawn when the cut is later) and the records it was drawn from.
struct Drawn {
    valid: String,
    record: String,
    /// The cut asked for, when it reaches past what is drawn.
    asked: Option<String>,
}

fn drawn(timeline: &Timeline, layout: Option<&Layout>) -> Drawn {
    let cut = crate::query::Cut {
        at: timeline.at,
        known_at: timeline.known_at,
        known_seq: timeline.known_seq,
        filter: Default::default(),
    };
    let last_event = timeline
        .provisions
        .iter()
        .flat_map(|p| p.markers.iter().map(|m| m.event.occurred_at))
        .max();
    let valid = match layout {
        Some(l) if timeline.at >= time::start_of_day(l.last_day) + TimeDelta::days(1) => {
            format!("{} to {}", long_day(l.first_day), long_day(l.last_day))
        }
        Some(l) => format!("{} to {}", long_day(l.first_day), render::cut(&timeline.at)),
        None => render::cut(&timeline.at),
    };
    let record = match (&timeline.last_record, timeline.known_seq) {
        (Some(last), Some(seq)) => format!(
            "seq:{seq}, records 1 to {}, the last recorded {}",
            last.seq,
            render::recorded(&last.recorded_at)
        ),
        (Some(last), None) => format!(
            "records 1 to {}, the last recorded {}",
            last.seq,
            render::recorded(&last.recorded_at)
        ),
        (None, _) => "no record".to_string(),
    };
    let later_valid = last_event.is_some_and(|t| timeline.at > time::end_of_day(t.date_naive()))
        && layout
            .is_some_and(|l| timeline.at >= time::start_of_day(l.last_day) + TimeDelta::days(1));
    let later_known = timeline.known_seq.is_none()
        && timeline
            .last_record
            .is_some_and(|last| timeline.known_at > last.recorded_at);
    let asked = (later_valid || later_known).then(|| {
        format!(
            "The cut asked for, at {} as known at {}, is later: nothing happened or was recorded between what is drawn and it.",
            render::cut(&timeline.at),
            render::known(&cut)
        )
    });
    Drawn {
        valid,
        record,
        asked,
    }
}

/// The whole page.
pub fn html(timeline: &Timeline, known_at_given: bool) -> String {
    let layout = layout(timeline);
    let drawn = drawn(timeline, layout.as_ref());
    let n_events: usize = timeline.provisions.iter().map(|p| p.markers.len()).sum();
    let known_cut = render::known(&crate::query::Cut {
        at: timeline.at,
        known_at: timeline.known_at,
        known_seq: timeline.known_seq,
        filter: Default::default(),
    });
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content="pactlog";
                title { "pactlog timeline — " (drawn.valid) ", " (drawn.record) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "Negotiation timeline" }
                    p.cuts {
                        "Valid time: " b.valid { (drawn.valid) }
                        " · Record time: " b.record { (drawn.record) }
                        " · " span.stamp title={ "at " (time::format(&timeline.at)) ", known at " (time::format(&timeline.known_at)) } {
                            (counts(timeline))
                        }
                    }
                    @if let Some(asked) = &drawn.asked {
                        p.asked { (asked) }
                    }
                    @if known_at_given {
                        p.known {
                            "Shown as the ledger knew it at " (known_cut)
                            ": events recorded later are absent; events retracted or superseded by then are drawn hollow."
                        }
                    }
                    (legend(timeline))
                }
                main {
                    @match &layout {
                        Some(layout) => {
                            (svg(timeline, layout))
                            aside #panel aria-live="polite" {
                                p.hint { "Click a marker to see its event: what was said or written, by whom, and the source." }
                            }
                            (event_list(timeline, n_events))
                        }
                        None => p.empty { "No provision is drafted at " (render::cut(&timeline.at)) ", as known at " (known_cut) "." },
                    }
                }
                footer { "Made by pactlog from a hash-chained ledger; every event has its id, both times and its source." }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    page.into_string()
}

fn legend(timeline: &Timeline) -> Markup {
    let mut used: Vec<Status> = timeline
        .provisions
        .iter()
        .flat_map(|p| p.bands.iter().map(|b| b.status))
        .collect();
    used.sort();
    used.dedup();
    let kinds = [
        ("statement", "statement"),
        ("text", "text drafted, amended or dropped"),
        ("status", "status changed"),
        ("position", "position stated"),
        ("meeting", "meeting held"),
    ];
    html! {
        div.legend {
            span.lh { "Status" }
            @for status in Status::ALL.iter().filter(|s| used.contains(s)) {
                span.key {
                    i.swatch style={ "background:" (status_colour(*status)) } {}
                    (status.as_str().replace('_', " "))
                }
            }
            span.lh { "Events" }
            @for (kind, label) in kinds {
                span.key {
                    svg width="18" height="18" class={ "m k-" (kind) } aria-hidden="true" { (marker_shape(kind, 9.0, 9.0)) }
                    (label)
                }
            }
            span.key {
                svg width="18" height="18" class="m k-statement removed" aria-hidden="true" { (marker_shape("statement", 9.0, 9.0)) }
                "retracted or superseded"
            }
            span.key {
                svg width="18" height="18" class="legend-mark k-statement inferred" aria-hidden="true" {
                    (marker_shape("statement", 8.0, 10.0))
                    (inference_dot(8.0, 10.0))
                }
                "inference (the recorder's reading)"
            }
            span.key {
                svg width="18" height="18" class="cf" aria-hidden="true" {
                    rect x="2" y="2" width="14" height="14" rx="2" {}
                }
                "conflicting reports that day"
            }
        }
    }
}

fn svg(timeline: &Timeline, l: &Layout) -> Markup {
    let f = |v: f64| format!("{v:.1}");
    let (w, h) = (f(l.width), f(l.height));
    html! {
        div.plot {
            svg #timeline xmlns="http://www.w3.org/2000/svg" width=(w) height=(h)
                viewBox={ "0 0 " (w) " " (h) } role="img" aria-label="Provision status over valid time" {
                // Rows' backgrounds and titles, wrapped.
                @for (i, (line, row)) in timeline.provisions.iter().zip(&l.rows).enumerate() {
                    rect class=(if i % 2 == 0 { "row even" } else { "row" }) x="0" y=(f(row.y)) width=(w) height=(f(row.h)) {}
                    text.label x="12" y=(f(row.y + 18.0)) {
                        @for (k, part) in row.title.iter().enumerate() {
                            tspan x="12" dy=(if k == 0 { "0" } else { "17" }) { (part) }
                        }
                        title { (line.title) " (" (line.provision) ")" }
                    }
                    text.slug x="12" y=(f(row.y + 18.0 + 17.0 * row.title.len() as f64 - 2.0)) {
                        @for (k, part) in row.slug.iter().enumerate() {
                            tspan x="12" dy=(if k == 0 { "0" } else { "14" }) { (part) }
                        }
                    }
                }
                // Grid and axis.
                @for x in &l.grid {
                    @let x = *x;
                    line.grid x1=(f(x)) y1=(f(l.top - 8.0)) x2=(f(x)) y2=(h) {}
                }
                @for tick in &l.ticks {
                    text.tick x=(f(tick.x)) y=(f(l.top - 2.0 * TICK_SIZE - 4.0)) {
                        (tick.text)
                        @if let Some(year) = tick.year {
                            tspan.year x=(f(tick.x)) dy="13" { (year) }
                        }
                    }
                }
                // Meetings: a shaded day and a line at its centre; labels above.
                @for m in &l.meetings {
                    @let meeting = &timeline.meetings[m.meeting];
                    g class=(if m.held { "meeting held" } else { "meeting planned" }) {
                        rect x=(f(m.x - l.day_w / 2.0)) y=(f(l.top)) width=(f(l.day_w)) height=(f(l.height - l.top)) {}
                        line x1=(f(m.x)) y1=(f(l.top - 8.0)) x2=(f(m.x)) y2=(h) {}
                        title {
                            (meeting.title) " (" (meeting.meeting) "): "
                            (if m.held { "held" } else { "planned for" }) " "
                            (render::when(&meeting.day)) ", " (meeting.place)
                        }
                    }
                }
                @for label in &l.meeting_labels {
                    text.meeting-label x=(f(label.x)) y=(f(label.y)) { (label.text) }
                }
                // Bands and markers.
                @for (line, row) in timeline.provisions.iter().zip(&l.rows) {
                    @for band in &row.bands {
                        g.band {
                            rect x=(f(band.x)) y=(f(row.band_y)) width=(f(band.w)) height=(f(row.band_h)) rx="4" fill=(status_colour(band.status)) {}
                            @if let Some(label) = &band.label {
                                text x=(f(band.x + 4.0)) y=(f(row.band_y + row.band_h + 12.0)) { (label) }
                            }
                            title { (band.status.as_str().replace('_', " ")) }
                        }
                    }
                    @for (n, (conflict, (x, w))) in line.conflicts.iter().zip(&row.conflicts).enumerate() {
                        g.cf data-ref=(conflict_ref(&line.provision, n)) tabindex="0" role="button" aria-label=(conflict_headline(conflict)) {
                            rect x=(f(*x)) y=(f(row.band_y - 4.0)) width=(f(*w)) height=(f(row.band_h + 8.0)) rx="3" {}
                            title { (conflict_headline(conflict)) " (click for the sides)" }
                        }
                    }
                    @for (marker, (x, y)) in line.markers.iter().zip(&row.marks) {
                        @let kind = marker_kind(marker.event.type_name);
                        @let inferred = marker.event.basis == crate::event::Basis::Inference;
                        g class={ "m k-" (kind) @if marker.removed_by.is_some() { " removed" } @if inferred { " inferred" } }
                            data-ref=(marker_ref(&line.provision, marker)) tabindex="0" role="button" aria-label=(marker.headline) {
                            (marker_shape(kind, *x, *y))
                            @if inferred {
                                (inference_dot(*x, *y))
                            }
                            title { (tooltip(marker)) }
                        }
                    }
                }
            }
        }
    }
}

/// The mark of an inference: a small dot at the top right of its marker, inside the
/// marker's box.
fn inference_dot(x: f64, y: f64) -> Markup {
    html! { circle.inf cx=(format!("{:.1}", x + 5.0)) cy=(format!("{:.1}", y - 5.0)) r="2.75" {} }
}

/// Every marker's event, grouped by provision: the detail panel shows copies of these.
fn event_list(timeline: &Timeline, n_events: usize) -> Markup {
    html! {
        details.events {
            summary { "All " (super::count(n_events as u64, "event", "events")) ", by provision" }
            @for line in &timeline.provisions {
                section {
                    h2 { (line.title) " " code { (line.provision) } }
                    ol {
                        @for (n, conflict) in line.conflicts.iter().enumerate() {
                            (conflict_item(line, n, conflict))
                        }
                        @for marker in &line.markers {
                            (event_item(line, marker))
                        }
                    }
                }
            }
        }
    }
}

fn event_item(line: &crate::timeline::ProvisionLine, marker: &Marker) -> Markup {
    let removed = marker.removed_by.is_some();
    html! {
        li class=(if removed { "event removed" } else { "event" }) id=(marker_ref(&line.provision, marker)) {
            p.head {
                span.date { (marker.day.format("%Y-%m-%d")) }
                " " b { (marker.headline) }
            }
            @if let Some(detail) = &marker.detail {
                blockquote class=(if marker.event.type_name == "statement_made" { "quote" } else { "text" }) { (detail) }
            }
            @if let Some(who) = &marker.speaker {
                p.who { "— " (who) }
            }
            (render::provenance_html(&marker.event))
            p.meta {
                (marker.event.type_name) " · " (marker.event.basis) " · happened " (render::when(&marker.event.occurred_at))
                " · recorded " (render::recorded(&marker.event.recorded_at))
                @if let Some(by) = &marker.event.recorded_by { " by " (by) }
                " · seq " (marker.event.seq) " · event " code { (marker.event.id) }
            }
            @if let Some(by) = marker.removed_by {
                p.removal { "Retracted or superseded by event " code { (by) } ": it no longer counts." }
            }
        }
    }
}

/// A conflict's entry: the field and day, then each side with its value, event and
/// every source with its grade.
fn conflict_item(line: &crate::timeline::ProvisionLine, n: usize, conflict: &Conflict) -> Markup {
    let event_of = |id: &uuid::Uuid| line.markers.iter().find(|m| &m.event.id == id);
    html! {
        li.event.conflict id=(conflict_ref(&line.provision, n)) {
            p.head {
                span.date { (conflict.day.format("%Y-%m-%d")) }
                " " b { "⚠ Conflicting reports: " (conflict.field) }
            }
            p { "Shown, not settled: the field holds the later record's value until a later-dated event or a correction of one side resolves it." }
            ol.sides {
                @for side in &conflict.sides {
                    li {
                        b { (render::value(&side.value, &crate::names::Names::none())) }
                        @if let Some(marker) = event_of(&side.event) {
                            " — " (marker.headline)
                            @if let Some(who) = &marker.speaker { " (" (who) ")" }
                        }
                        p.source { "Sources: " (render::sources_cell(&side.sources).replace('\n', "; ")) }
                        p.meta { "event " code { (side.event) } }
                    }
                }
            }
        }
    }
}

const STYLE: &str = r#"
:root{--ink:#1d2733;--muted:#5b6775;--line:#d5dbe1;--bg:#f7f8fa;--accent:#1f5f99;--font:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 var(--font);color:var(--ink);background:var(--bg);overflow-wrap:anywhere}
header{padding:16px 24px 8px;background:#fff;border-bottom:1px solid var(--line)}
h1{font-size:21px;margin:0 0 4px}
.cuts{margin:0 0 6px;color:var(--muted)}.cuts b{color:var(--ink);font-weight:600}
.asked{margin:0 0 6px;color:var(--muted);font-size:12.5px}
.known{margin:0 0 8px;padding:6px 10px;background:#fff6d6;border-left:4px solid #f0a202}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center;font-size:12.5px;color:var(--muted);margin:4px 0 6px}
.lh{font-weight:600;color:var(--ink);margin-left:6px}.lh:first-child{margin-left:0}
.key{display:inline-flex;align-items:center;gap:5px}
.swatch{display:inline-block;width:22px;height:12px;border-radius:3px}
main{padding:14px 24px;display:grid;grid-template-columns:minmax(0,1fr) 320px;gap:16px;align-items:start;max-width:1800px}
.plot{min-width:0;overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:6px}
#timeline{display:block;width:100%;height:auto;min-width:860px;font-family:var(--font)}
.row{fill:#fff}.row.even{fill:#f3f5f8}
.label{font-size:13px;font-weight:600;fill:var(--ink)}
.slug{font-size:11px;fill:var(--muted)}
.grid{stroke:#e6e9ed;stroke-width:1}
.tick{font-size:11px;fill:var(--muted);text-anchor:middle}.tick .year{font-weight:600;fill:var(--ink)}
.meeting rect{fill:#fff1b8;opacity:.55}
.meeting line{stroke:#b7791f;stroke-width:2}
.meeting.planned line{stroke-dasharray:5 4}
.meeting-label{font-size:12px;font-weight:600;fill:#8a5a0c}
.band rect{opacity:.85}
.band text{font-size:10.5px;fill:#33404d;pointer-events:none}
.m{cursor:pointer;stroke:#fff;stroke-width:1.5;outline:none}
.m:hover,.m:focus,.m.sel{stroke:#111;stroke-width:2.5}
.k-statement{fill:#1f5f99}.k-text{fill:#3c3c3c}.k-status{fill:#111}.k-position{fill:#7b3fa0}.k-meeting{fill:#b7791f}.k-other{fill:#888}
.m.removed{fill:#fff;stroke:#555;stroke-width:1.5;stroke-dasharray:2 2}
.inf{fill:#ffd21f;stroke:#5a3200;stroke-width:1;stroke-dasharray:none}.m.inferred{stroke-dasharray:3 2}
.cf{cursor:pointer;outline:none}.cf rect{fill:#e4572e;fill-opacity:.12;stroke:#c0262d;stroke-width:1.5;stroke-dasharray:4 2}
.cf:hover rect,.cf:focus rect,.cf.sel rect{stroke-width:2.5;fill-opacity:.22}
.event .grade{font-weight:600}.event .inference{color:#9a4d00;font-weight:600}
.event.conflict{border-color:#c0262d}.event .sides{padding-left:18px}.event .sides li{margin:4px 0}
#panel{position:sticky;top:12px;background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 14px;min-height:120px}
#panel .hint{color:var(--muted);margin:0}
#panel .event{list-style:none;margin:0;border:0;padding:0}
.event{margin:0 0 12px;padding:8px 10px;background:#fff;border:1px solid var(--line);border-radius:5px;list-style:none}
.event p{margin:2px 0}.event .date{color:var(--muted);font-variant-numeric:tabular-nums}
.event blockquote{margin:6px 0;padding:4px 10px;border-left:3px solid var(--accent);white-space:pre-wrap;font-family:var(--font)}
.event blockquote.text{border-left-color:#999}
.event .who{font-style:italic}.event .meta{font-size:11.5px;color:var(--muted)}
.event.removed{opacity:.75}.event.removed blockquote{text-decoration:line-through}
.removal{color:#8b1e3f;font-weight:600}
.events{grid-column:1/-1;background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 14px}
.events summary{cursor:pointer;font-weight:600}
.events h2{font-size:15px;margin:14px 0 6px}.events ol{padding-left:0;margin:0}
code{font-size:12px}
a{color:var(--accent)}
footer{padding:8px 24px 18px;color:var(--muted);font-size:12px}
.empty{grid-column:1/-1}
@media (max-width:1199px){main{grid-template-columns:minmax(0,1fr)}#panel{position:static}}
"#;

/// The page's only script. It never reads event text as code: it copies a rendered
/// list item into the panel (on a click, or for the event named in the URL's
/// fragment), then marks the page ready (the browser test looks for it).
const SCRIPT: &str = r##"
(function () {
  "use strict";
  var panel = document.getElementById("panel");
  function show(marker, scroll) {
    var source = document.getElementById(marker.getAttribute("data-ref"));
    if (!panel || !source) { return; }
    var selected = document.querySelectorAll("#timeline .sel");
    for (var i = 0; i < selected.length; i++) { selected[i].classList.remove("sel"); }
    marker.classList.add("sel");
    while (panel.firstChild) { panel.removeChild(panel.firstChild); }
    var copy = source.cloneNode(true);
    copy.removeAttribute("id");
    panel.appendChild(copy);
    if (scroll && panel.scrollIntoView) { panel.scrollIntoView({block: "nearest"}); }
  }
  var markers = document.querySelectorAll("#timeline [data-ref]");
  for (var i = 0; i < markers.length; i++) {
    (function (marker) {
      marker.addEventListener("click", function () { show(marker, true); });
      marker.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); show(marker, true); }
      });
    })(markers[i]);
  }
  // A link to `page.html#PROVISION/SEQ` opens with that event shown, and one to
  // `page.html#PROVISION/conflict-N` with the provision's Nth conflict.
  var fragment = decodeURIComponent(location.hash.slice(1));
  var conflict = /^(.*)\/conflict-([0-9]+)$/.exec(fragment);
  var wanted = conflict ? "cf-" + conflict[1] + "-" + conflict[2] : "ev-" + fragment.replace("/", "-");
  for (var j = 0; j < markers.length; j++) {
    if (markers[j].getAttribute("data-ref") === wanted) { show(markers[j], false); break; }
  }
  document.documentElement.setAttribute("data-ready", String(document.querySelectorAll("#timeline .m[data-ref]").length));
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;

    use crate::timeline::{Band, ProvisionLine};
    use uuid::Uuid;

    fn day(text: &str) -> Instant {
        time::parse_occurred_at(text).unwrap()
    }

    fn marker(seq: u64, at: &str) -> Marker {
        Marker {
            event: crate::provenance::EventRef {
                id: Uuid::from_u128(seq as u128),
                seq,
                type_name: "statement_made",
                occurred_at: day(at),
                recorded_at: day(at),
                actor: None,
                attribution: None,
                sources: Vec::new(),
                cited: Vec::new(),
                basis: crate::event::Basis::Reported,
                note: None,
                recorded_by: None,
            },
            day: day(at).date_naive(),
            who: None,
            speaker: None,
            headline: "Statement".into(),
            detail: None,
            removed_by: None,
        }
    }

    fn meeting(slug: &str, at: &str, place: &str, held: bool) -> MeetingMark {
        MeetingMark {
            meeting: Slug::parse(slug).unwrap(),
            title: slug.into(),
            place: place.into(),
            day: day(at),
            held,
            event: Uuid::nil(),
        }
    }

    /// A timeline over `days` days whose one provision has `crowd` markers on its
    /// second day and one on each later tenth day, with meetings sharing days.
    fn crowded(days: i64, crowd: u64) -> Timeline {
        let first = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let on = |d: i64| (first + TimeDelta::days(d)).format("%Y-%m-%d").to_string();
        let mut markers: Vec<Marker> = (0..crowd).map(|k| marker(k + 1, &on(1))).collect();
        markers.extend(
            (0..days)
                .step_by(10)
                .map(|d| marker(1000 + d as u64, &on(d))),
        );
        markers.push(marker(5000, &on(days - 1)));
        markers.sort_by_key(|m| (m.event.occurred_at, m.event.seq));
        Timeline {
            at: day(&on(days)),
            known_at: day(&on(days)),
            known_seq: None,
            last_record: None,
            provisions: vec![ProvisionLine {
                provision: Slug::parse("p").unwrap(),
                title: "A title long enough to wrap over more than one line of the column".into(),
                bands: vec![Band {
                    status: Status::Proposed,
                    from: day(&on(0)),
                    to: None,
                    event: Uuid::nil(),
                }],
                markers,
                conflicts: Vec::new(),
            }],
            meetings: vec![
                meeting("a", &on(1), "Geneva, Switzerland", true),
                meeting("b", &on(1), "Moscow", false),
                meeting("c", &on(2), "Paris", false),
                meeting("d", &on(2), "Abu Dhabi, United Arab Emirates", true),
                meeting("e", &on(days - 1), "Istanbul", true),
            ],
        }
    }

    fn apart(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
        a.1 <= b.0 || b.1 <= a.0 || a.3 <= b.2 || b.3 <= a.2
    }

    #[test]
    fn no_two_markers_or_labels_overlap_and_everything_is_inside() {
        for (days, crowd) in [(1, 1), (3, 12), (12, 40), (200, 30), (2000, 5)] {
            let timeline = crowded(days, crowd);
            let l = layout(&timeline).unwrap();
            let row = &l.rows[0];
            let half = MARK / 2.0;
            let boxes: Vec<_> = row
                .marks
                .iter()
                .map(|(x, y)| (x - half, x + half, y - half, y + half))
                .collect();
            for (i, a) in boxes.iter().enumerate() {
                assert!(a.0 >= PLOT_X - half && a.1 <= WIDTH, "{days} days: {a:?}");
                assert!(
                    a.2 >= row.y && a.3 <= row.y + row.h,
                    "{days} days: {a:?} in {row:?}"
                );
                for b in &boxes[i + 1..] {
                    assert!(apart(*a, *b), "{days} days, {crowd} on a day: {a:?} {b:?}");
                }
            }
            let labels: Vec<_> = l
                .meeting_labels
                .iter()
                .map(|m| {
                    (
                        m.x,
                        m.x + meeting_label_width(&m.text),
                        m.y - 12.0,
                        m.y + 2.0,
                    )
                })
                .collect();
            for (i, a) in labels.iter().enumerate() {
                assert!(a.0 >= 0.0 && a.1 <= WIDTH, "{a:?}");
                for b in &labels[i + 1..] {
                    assert!(apart(*a, *b), "{days} days: labels {a:?} {b:?}");
                }
            }
            let tick_w = 7.0 * CHAR_W * TICK_SIZE;
            for pair in l.ticks.windows(2) {
                assert!(
                    pair[1].x - pair[0].x >= tick_w,
                    "{days} days: ticks {pair:?}"
                );
            }
            assert!(l.ticks.iter().all(|t| t.x + tick_w / 2.0 <= WIDTH));
            assert_eq!(l.ticks[0].year, Some(2025));
            let mut years: Vec<i32> = l.ticks.iter().filter_map(|t| t.year).collect();
            let first_year_of_each = years.len();
            years.dedup();
            assert_eq!(years.len(), first_year_of_each, "{:?}", l.ticks);
            let last = l.ticks.iter().filter(|t| t.year.is_some()).count();
            assert!(
                last >= 1 && (days < 365 || last >= (days / 365) as usize),
                "{:?}",
                l.ticks
            );
            assert!(row.title.len() > 1, "the title wraps");
            assert_eq!(row.title.join(" "), timeline.provisions[0].title);
        }
    }

    #[test]
    fn ticks_and_grid_lines_are_bounded_whatever_the_span() {
        // 1900 to 2026 and 0001 to 2026 (as one misdated event makes them): columns of
        // years, labelled by their year, a few dozen lines at most.
        for (days, years) in [(46_356, 10), (739_000, 200)] {
            let l = layout(&crowded(days, 1)).unwrap();
            assert!(
                l.grid.len() <= 40,
                "{days} days: {} grid lines",
                l.grid.len()
            );
            assert!(l.ticks.len() >= 5 && l.ticks.len() <= 20, "{:?}", l.ticks);
            let labels: Vec<i32> = l.ticks.iter().map(|t| t.text.parse().unwrap()).collect();
            assert!(
                labels.windows(2).all(|w| w[1] - w[0] == years),
                "{labels:?}"
            );
            assert!(l.ticks.iter().all(|t| t.year.is_none()));
            let tick_w = 7.0 * CHAR_W * TICK_SIZE;
            assert!(l.ticks.windows(2).all(|w| w[1].x - w[0].x >= tick_w));
            assert!(l.grid.windows(2).all(|w| w[0] < w[1]), "{:?}", l.grid);
            assert!(*l.grid.last().unwrap() <= WIDTH);
        }
        // A few years: columns of months, the year under each January.
        let l = layout(&crowded(1200, 1)).unwrap();
        assert_eq!(l.ticks[0].text, "Jan");
        assert!(l.ticks.iter().all(|t| t.text.len() == 3), "{:?}", l.ticks);
        let years: Vec<i32> = l.ticks.iter().filter_map(|t| t.year).collect();
        assert_eq!(years, [2025, 2026, 2027, 2028], "{:?}", l.ticks);
    }

    #[test]
    fn wrap_keeps_every_character_and_the_width() {
        let text = "Russia's readmission to the G8 and a supercalifragilisticexpialidocious word";
        let lines = wrap(text, 12);
        assert!(lines.iter().all(|l| l.chars().count() <= 12), "{lines:?}");
        assert_eq!(lines.join(" ").replace(' ', ""), text.replace(' ', ""));
        assert_eq!(wrap("", 10), vec![String::new()]);
        assert_eq!(wrap("NATO membership", 26), vec!["NATO membership"]);
    }
}
