//! The two time axes and how users write points on them.
//!
//! Valid time (`occurred_at`) is written as a UTC day (`2025-11-23`, which sorts at
//! 00:00:00Z of that day) or an RFC 3339 instant with an offset. A query cut
//! (`--at`, `--known-at`) is written as a day (meaning the END of that UTC day), an
//! instant, `seq:N`, a meeting slug, which [`crate::query`] resolves against the
//! ledger, or `now`, which the caller (who holds the clock) resolves.

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, TimeDelta, Utc};

use crate::event::Slug;

/// An instant on either axis.
pub type Instant = DateTime<Utc>;

/// Parses a valid time as written in an event: a day or an RFC 3339 instant.
pub fn parse_occurred_at(text: &str) -> Result<Instant, String> {
    if let Some(day) = parse_day(text) {
        return Ok(start_of_day(day));
    }
    parse_instant(text).map_err(|e| explain_time(text, e))
}

/// How an instant is written, for messages.
pub const INSTANT_FORM: &str =
    "RFC 3339 with seconds and a UTC offset (such as 2025-11-23T14:00:00Z or 2025-11-23T16:00:00+02:00)";

/// A clearer message for a time whose date or time of day has the right shape but
/// names no day of the calendar (`2025-02-30`, `2025-13-01`) or no time of day
/// (`T25:00:00`); `message` otherwise. The parser's own words ("premature end of
/// input", "input is out of range") never reach the user.
fn explain_time(text: &str, message: String) -> String {
    if !date_shaped(text) {
        return message;
    }
    let clock = text.get(11..19).map(str::as_bytes);
    if let Some([h1, h2, b':', m1, m2, b':', s1, s2]) = clock {
        let digits = [h1, h2, m1, m2, s1, s2];
        if digits.iter().all(|d| d.is_ascii_digit()) {
            let two = |a: &u8, b: &u8| u32::from((a - b'0') * 10 + (b - b'0'));
            let (hour, minute, second) = (two(h1, h2), two(m1, m2), two(s1, s2));
            if hour > 23 || minute > 59 || second > 60 {
                return format!(
                    "`{}` is not an instant: {hour:02}:{minute:02}:{second:02} is not a time of day (00:00:00 to 23:59:59)",
                    text.escape_debug()
                );
            }
        }
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (number(0..4) as i32, number(5..7), number(8..10));
    if !(1..=12).contains(&month) {
        return format!(
            "`{}` is not a date: month {month} does not exist (01 to 12)",
            text.escape_debug()
        );
    }
    let days = (28..=31)
        .rev()
        .find(|&d| chrono::NaiveDate::from_ymd_opt(year, month, d).is_some())
        .unwrap_or(0);
    if day == 0 || day > days {
        return format!(
            "`{}` is not a date: {year:04}-{month:02} has days 01 to {days}, not {day:02}",
            text.escape_debug()
        );
    }
    message
}

/// Whether text starts like a date (`YYYY-MM-DD`): meant as a time, never a slug.
fn date_shaped(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// The first instant of a UTC day.
pub fn start_of_day(day: NaiveDate) -> Instant {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// The last representable instant of a UTC day (23:59:59.999999999).
pub fn end_of_day(day: NaiveDate) -> Instant {
    start_of_day(day) + TimeDelta::days(1) - TimeDelta::nanoseconds(1)
}

fn parse_day(text: &str) -> Option<NaiveDate> {
    // Only the strict ten-character form; chrono alone would take `2025-1-3`.
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Checks that a day is written as a user must write one: `YYYY-MM-DD`, digits
/// alone. chrono reads a year with a sign and fewer digits (`+025-11-23` as the
/// year 25), which [`parse_occurred_at`] keeps taking for records stored with one;
/// a new event or a cut is refused it. Anything that is not read as a day passes.
pub fn check_day_form(text: &str) -> Result<(), String> {
    match parse_day(text) {
        Some(day) if !date_shaped(text) => Err(format!(
            "`{}` is not a day as pactlog reads one: write the year in four digits, without a sign (`{}`)",
            text.escape_debug(),
            day.format("%Y-%m-%d")
        )),
        _ => Ok(()),
    }
}

/// The day a text of digits and dashes that is not a day (`2025-1-3`, `20251103`)
/// most likely meant, written as a day: `2025-01-03`, `2025-11-03`. `None` when it
/// names no day of the years 0000 to 9999 that way.
pub fn day_meant(text: &str) -> Option<String> {
    let parts: Vec<&str> = match text.len() {
        8 if !text.contains('-') => vec![&text[..4], &text[4..6], &text[6..]],
        _ => text.split('-').collect(),
    };
    let [year, month, day] = parts[..] else {
        return None;
    };
    let number = |part: &str, most: usize| {
        (!part.is_empty() && part.len() <= most && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(number(year, 4).filter(|_| year.len() == 4)?).ok()?,
        number(month, 2)?,
        number(day, 2)?,
    )?;
    Some(date.format("%Y-%m-%d").to_string())
}

/// Reads an RFC 3339 instant the one way pactlog reads instants (`occurred_at`,
/// `planned_for`, `published_at`, `recorded_at`, `--at`, `--known-at`,
/// `PACTLOG_NOW`), so that every instant it stores or prints reads back as the same
/// cut: a leap second (`:60`) is taken only as the last second of a UTC day and
/// counts within that day (as its last instant, 23:59:59.999999999Z); the instant
/// must fall in the years 0000 to 9999 in UTC. Errors are messages for the user.
pub fn parse_rfc3339(text: &str) -> Result<Instant, String> {
    let parsed = DateTime::parse_from_rfc3339(text).map_err(|_| {
        explain_time(
            text,
            format!(
                "`{}` is not an RFC 3339 instant: write it as {INSTANT_FORM}",
                text.escape_debug()
            ),
        )
    })?;
    let utc = parsed.with_timezone(&Utc);
    let utc = if utc.timestamp_subsec_nanos() >= 1_000_000_000 {
        // chrono keeps a leap second as a 59th second with more than 1e9 nanoseconds.
        use chrono::Timelike;
        let last_second = (utc.hour(), utc.minute(), utc.second()) == (23, 59, 59);
        if !last_second {
            return Err(format!(
                "`{}` has a leap second (`:60`) that is not the last second of a UTC day (23:59:60Z); no other second can be one",
                text.escape_debug()
            ));
        }
        end_of_day(utc.date_naive())
    } else {
        utc
    };
    use chrono::Datelike;
    if !(0..=9999).contains(&utc.year()) {
        return Err(format!(
            "`{}` is in the year {} in UTC; instants must fall in the years 0000 to 9999",
            text.escape_debug(),
            utc.year()
        ));
    }
    Ok(utc)
}

fn parse_instant(text: &str) -> Result<Instant, String> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(_) => parse_rfc3339(text),
        Err(_) if looks_like_datetime_without_offset(text) => Err(format!(
            "`{}` has no UTC offset: write it as `{}Z` or with an offset such as `+02:00`",
            text.escape_debug(),
            text.escape_debug()
        )),
        Err(_) => Err(format!(
            "`{}` is not a day or an instant: write a day as YYYY-MM-DD (such as 2025-11-23) or an instant as {INSTANT_FORM}",
            text.escape_debug()
        )),
    }
}

fn looks_like_datetime_without_offset(text: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").is_ok()
}

/// The `WHEN` that means the moment of the query (the caller's clock): the command
/// line reads it before [`When::parse`], which has no clock.
pub const NOW: &str = "now";

/// A point on a query axis as the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum When {
    Instant(Instant),
    /// The end of the UTC day on which this meeting was held.
    Meeting(Slug),
    /// The record time of the record with this seq (`seq:N`): what the ledger knew
    /// right after it was appended.
    Record(u64),
}

impl When {
    /// Parses `YYYY-MM-DD` (end of that day; also as shown, `end of YYYY-MM-DD`), an
    /// RFC 3339 instant, `seq:N`, or a meeting slug. Anything that parses as a day or
    /// an instant is one.
    pub fn parse(text: &str) -> Result<When, String> {
        if let Some(day) = text.strip_prefix("end of ") {
            check_day_form(day)?;
            if let Some(day) = parse_day(day) {
                return Ok(When::Instant(end_of_day(day)));
            }
        }
        if let Some(seq) = crate::chain::parse_seq_form(text) {
            return seq.map(When::Record);
        }
        check_day_form(text)?;
        if let Some(day) = parse_day(text) {
            return Ok(When::Instant(end_of_day(day)));
        }
        if DateTime::parse_from_rfc3339(text).is_ok() {
            return parse_rfc3339(text).map(When::Instant);
        }
        if date_shaped(text) {
            return Err(parse_occurred_at(text).err().unwrap_or_default());
        }
        match Slug::parse(text) {
            Ok(slug) => Ok(When::Meeting(slug)),
            Err(_) => Err(format!(
                "`{}` is not a day (YYYY-MM-DD), an RFC 3339 instant, `seq:N`, `now` or a meeting slug",
                text.escape_debug()
            )),
        }
    }
}

/// Checks that a meeting's slug reads back as that meeting wherever a `WHEN` is
/// taken: a slug shaped like a day (`2025-02-30`) would be read as a date and the
/// meeting could never be a cut; `now` is the moment of the query.
pub fn check_meeting_slug(slug: &Slug) -> Result<(), String> {
    if slug.as_str() == NOW {
        return Err(format!(
            "meeting slug `{NOW}` would be read as this moment in `--at` and `--known-at`, so the meeting could never be a cut; give it a name such as `talks-{NOW}`"
        ));
    }
    match When::parse(slug.as_str()) {
        Ok(When::Meeting(_)) => Ok(()),
        _ => Err(format!(
            "meeting slug `{slug}` would be read as a date in `--at` and `--known-at`, so the meeting could never be a cut; give it a name that does not start with YYYY-MM-DD, such as `summit-{slug}`"
        )),
    }
}

/// An instant as people read it in views and messages: a day when it is midnight
/// (`2025-11-23`), else to the second (`2025-11-23 14:05:00Z`).
pub fn readable(t: &Instant) -> String {
    if t.time() == chrono::NaiveTime::MIN {
        t.format("%Y-%m-%d").to_string()
    } else {
        instant_label(t)
    }
}

/// A cut's instant as people read it: a whole day is shown as the day it ends
/// (`end of 2025-11-23`), anything else to the second (`2025-11-23 00:00:00Z`), never
/// as a bare day, which typed back as a cut would mean the end of that day.
pub fn cut_label(t: &Instant) -> String {
    if *t == end_of_day(t.date_naive()) {
        format!("end of {}", t.format("%Y-%m-%d"))
    } else {
        instant_label(t)
    }
}

/// An instant to the second (`2025-11-23 00:00:00Z`), midnight included, and with
/// the fraction of a second it has (`14:45:26.125705366Z`): how record times are
/// shown. Typed back as a cut it names the same instant (a bare day would mean that
/// day's end, a time cut to the second would leave out a record made within it).
pub fn instant_label(t: &Instant) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.fZ").to_string()
}

/// Formats an instant the one way pactlog writes instants: RFC 3339, UTC, `Z`,
/// with as many fractional digits as it has (0, 3, 6 or 9).
pub fn format(t: &Instant) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Checks a date-or-instant field such as `planned_for` or `source.published_at`.
pub fn check_date_or_instant(text: &str) -> Result<(), String> {
    parse_occurred_at(text).map(|_| ())
}

/// Serde helpers that write instants with [`format`].
pub mod serde_instant {
    use super::{format, Instant};

    pub fn serialize<S: serde::Serializer>(t: &Instant, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    pub fn option<S: serde::Serializer>(t: &Option<Instant>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(t)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_sorts_at_its_start_and_cuts_at_its_end() {
        assert_eq!(
            format(&parse_occurred_at("2025-11-23").unwrap()),
            "2025-11-23T00:00:00Z"
        );
        let When::Instant(cut) = When::parse("2025-11-30").unwrap() else {
            panic!()
        };
        assert_eq!(format(&cut), "2025-11-30T23:59:59.999999999Z");
    }

    /// A cut label typed back as a cut means the same instant: a whole day is the
    /// day's end, midnight is never shown as a bare day (found by a tester: a cut at
    /// `2025-01-10T00:00:00Z` read "2025-01-10", which means the day's end), and a
    /// fraction of a second is shown.
    #[test]
    fn a_cut_label_reads_back_as_the_same_cut() {
        for (typed, label) in [
            ("2025-01-10", "end of 2025-01-10"),
            ("2025-01-10T00:00:00Z", "2025-01-10 00:00:00Z"),
            ("2025-01-10T13:05:09+01:00", "2025-01-10 12:05:09Z"),
            // A fraction of a second is kept (a tester's `--at` lost it in a message).
            ("2024-12-12T14:05:47.500949Z", "2024-12-12 14:05:47.500949Z"),
            ("2024-12-12T14:05:47.5Z", "2024-12-12 14:05:47.500Z"),
        ] {
            let When::Instant(cut) = When::parse(typed).unwrap() else {
                panic!()
            };
            assert_eq!(cut_label(&cut), label);
            // Pasted back as shown (a tester found `end of DAY` refused).
            let When::Instant(again) = When::parse(label).unwrap() else {
                panic!()
            };
            assert_eq!(again, cut, "{label}");
        }
    }

    #[test]
    fn a_day_is_four_digits_of_year_without_a_sign() {
        assert!(check_day_form("2025-11-23").is_ok());
        assert!(check_day_form("seq:5").is_ok());
        let err = check_day_form("+025-11-23").unwrap_err();
        assert!(
            err.contains("write the year in four digits, without a sign (`0025-11-23`)"),
            "{err}"
        );
        assert!(When::parse("+025-11-23").is_err());
        assert!(When::parse("end of +025-11-23").is_err());
        // A record stored with one is still read.
        assert!(parse_occurred_at("+025-11-23").is_ok());
    }

    #[test]
    fn instants_keep_their_offset_meaning() {
        let t = parse_occurred_at("2025-11-30T18:00:00-05:00").unwrap();
        assert_eq!(format(&t), "2025-11-30T23:00:00Z");
    }

    #[test]
    fn an_instant_without_offset_is_refused_with_a_hint() {
        let err = parse_occurred_at("2025-11-30T18:00:00").unwrap_err();
        assert!(err.contains("no UTC offset"), "{err}");
        assert!(parse_occurred_at("2025-13-01").is_err());
        assert!(parse_occurred_at("2025-1-3").is_err());
    }

    #[test]
    fn a_slug_is_a_meeting_and_a_date_is_a_date() {
        assert_eq!(
            When::parse("geneva-2025-11-23").unwrap(),
            When::Meeting(Slug::parse("geneva-2025-11-23").unwrap())
        );
        assert!(matches!(
            When::parse("2025-11-23").unwrap(),
            When::Instant(_)
        ));
        assert!(When::parse("Not A Slug").is_err());
    }
}
