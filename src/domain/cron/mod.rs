//! Crontab expressions with crontab's meaning, evaluated by the `cron` crate.
//!
//! The `cron` crate needs a seconds field, numbers weekdays 1 = Sunday … 7 = Saturday, and ANDs
//! day-of-month with day-of-week. Users write crontab: 5 fields (or 6 with leading seconds),
//! weekdays 0–7 with 0 and 7 = Sunday, and a day matching *either* restricted day field fires.
//! So every field is parsed and range-checked here, expanded to an explicit list (weekdays as
//! names), and handed to the crate in its own syntax; OR semantics are two crate schedules merged.
//! Evaluation runs over local wall-clock time (see [`CronSchedule::next_local_after`]); time
//! zones and DST are applied by the caller ([`super::schedule`]). Day rules the crate does not
//! know (`L`, `W`, `#`) are evaluated day by day in [`days`].

mod days;

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};

use days::{Days, MonthDay, WeekdayOfMonth};

/// How far ahead a day-by-day search looks before it says "never": nine years cover the
/// longest gap between two February 29ths (2096 → 2104).
const SEARCH_DAYS: u32 = 9 * 366;

const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// One field's rules: name for messages, allowed range, optional names for values.
struct FieldRule {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// First value `names[0]` stands for.
    names_base: u32,
}

const SECOND: FieldRule = FieldRule {
    name: "second",
    min: 0,
    max: 59,
    names: &[],
    names_base: 0,
};
const MINUTE: FieldRule = FieldRule {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
    names_base: 0,
};
const HOUR: FieldRule = FieldRule {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
    names_base: 0,
};
const DAY_OF_MONTH: FieldRule = FieldRule {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    names_base: 0,
};
const MONTH: FieldRule = FieldRule {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTHS,
    names_base: 1,
};
// 7 is accepted as Sunday and folded to 0 after parsing.
const DAY_OF_WEEK: FieldRule = FieldRule {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &WEEKDAYS,
    names_base: 0,
};

/// A parsed field: the matching values, and whether it was written as `*`/`?` (unrestricted,
/// which decides crontab's day-of-month/day-of-week OR rule, as in Vixie cron).
#[derive(Debug, Clone)]
struct Field {
    values: BTreeSet<u32>,
    star: bool,
}

/// A validated crontab expression, ready to evaluate.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    eval: Eval,
}

#[derive(Debug, Clone)]
enum Eval {
    /// One crate schedule, or two (day-of-month only, day-of-week only) for the OR rule.
    Crate(Vec<cron::Schedule>),
    /// Month-dependent day rules: days are matched here, the crate finds the time of day.
    ByDay(Box<ByDay>),
}

#[derive(Debug, Clone)]
struct ByDay {
    time: cron::Schedule,
    months: BTreeSet<u32>,
    days: Days,
}

impl CronSchedule {
    /// Parses a 5-field (minute resolution) or 6-field (leading seconds) crontab expression, or
    /// a macro (`@hourly`, `@daily`/`@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually`).
    pub fn parse(expression: &str) -> Result<CronSchedule, String> {
        let expanded = expand_macro(expression.trim())?;
        let raw: Vec<&str> = expanded.split_whitespace().collect();
        let (sec, rest): (&str, &[&str]) = match raw.len() {
            5 => ("0", &raw[..]),
            6 => (raw[0], &raw[1..]),
            n => {
                return Err(format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got {n}"
                ))
            }
        };
        let second = parse_field(sec, &SECOND)?;
        let minute = parse_field(rest[0], &MINUTE)?;
        let hour = parse_field(rest[1], &HOUR)?;
        let mut month_rules = Vec::new();
        let dom = parse_field_with(rest[2], &DAY_OF_MONTH, |item| {
            MonthDay::parse(item).map(|r| r.map(|rule| month_rules.push(rule)))
        })?;
        let month = parse_field(rest[3], &MONTH)?;
        let mut weekday_rules = Vec::new();
        let mut dow = parse_field_with(rest[4], &DAY_OF_WEEK, |item| {
            WeekdayOfMonth::parse(item, |d| value(d, &DAY_OF_WEEK))
                .map(|r| r.map(|rule| weekday_rules.push(rule)))
        })?;
        if dow.values.remove(&7) {
            dow.values.insert(0);
        }

        let head = format!(
            "{} {} {}",
            render(&second, &SECOND),
            render(&minute, &MINUTE),
            render(&hour, &HOUR)
        );
        let evaluate =
            |s: &str| cron::Schedule::from_str(s).map_err(|e| format!("cannot be evaluated ({e})"));
        let days = Days {
            month_star: dom.star,
            month_days: dom.values.clone(),
            month_rules,
            weekday_star: dow.star,
            weekdays: dow.values.clone(),
            weekday_rules,
        };
        if days.has_rules() {
            return Ok(CronSchedule {
                eval: Eval::ByDay(Box::new(ByDay {
                    time: evaluate(&format!("{head} * * *"))?,
                    months: month.values,
                    days,
                })),
            });
        }
        let month_s = render(&month, &MONTH);
        let dom_s = render(&dom, &DAY_OF_MONTH);
        let dow_s = render_weekdays(&dow);
        let sources = if !dom.star && !dow.star {
            // crontab: either day field may match.
            vec![
                format!("{head} {dom_s} {month_s} *"),
                format!("{head} * {month_s} {dow_s}"),
            ]
        } else {
            vec![format!("{head} {dom_s} {month_s} {dow_s}")]
        };
        let parts = sources
            .iter()
            .map(|s| evaluate(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CronSchedule {
            eval: Eval::Crate(parts),
        })
    }

    /// The first matching wall-clock time strictly after `after` (both naive local times).
    pub fn next_local_after(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        // The crate iterates over a calendar; UTC has no DST, so it serves as a plain
        // wall-clock calendar here.
        let start: DateTime<Utc> = after.and_utc();
        match &self.eval {
            Eval::Crate(parts) => parts
                .iter()
                .filter_map(|p| p.after(&start).next())
                .min()
                .map(|t| t.naive_utc()),
            Eval::ByDay(by_day) => {
                let mut date = after.date();
                for _ in 0..SEARCH_DAYS {
                    if by_day.months.contains(&date.month()) && by_day.days.matches(date) {
                        if let Some(t) = first_time_on(&by_day.time, date, after) {
                            return Some(t);
                        }
                    }
                    date = date.succ_opt()?;
                }
                None
            }
        }
    }
}

/// The first time of day of `time` on `date` strictly after `after`.
fn first_time_on(
    time: &cron::Schedule,
    date: NaiveDate,
    after: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let day_start = date.and_hms_opt(0, 0, 0)?;
    let from = if after >= day_start {
        after
    } else {
        day_start - chrono::Duration::seconds(1)
    };
    time.after(&from.and_utc())
        .next()
        .map(|t| t.naive_utc())
        .filter(|t| t.date() == date)
}

fn expand_macro(expr: &str) -> Result<String, String> {
    if !expr.starts_with('@') {
        return Ok(expr.to_string());
    }
    let fields = match expr.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other => {
            return Err(format!(
                "unknown macro `{other}` (use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)"
            ))
        }
    };
    Ok(fields.to_string())
}

fn parse_field(text: &str, rule: &FieldRule) -> Result<Field, String> {
    parse_field_with(text, rule, |_| None)
}

/// Parses a field whose list items may also be rules of their own: `special` answers None for
/// an ordinary item, or the outcome of taking it.
fn parse_field_with(
    text: &str,
    rule: &FieldRule,
    mut special: impl FnMut(&str) -> Option<Result<(), String>>,
) -> Result<Field, String> {
    let bad = |why: String| format!("{} field `{text}`: {why}", rule.name);
    if text == "*" || text == "?" {
        return Ok(Field {
            values: (rule.min..=rule.max).collect(),
            star: true,
        });
    }
    let mut values = BTreeSet::new();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(bad("empty list item".into()));
        }
        if let Some(taken) = special(item) {
            taken.map_err(&bad)?;
            continue;
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| bad(format!("step `{s}` is not a number")))?;
                if step == 0 {
                    return Err(bad("step must be at least 1".into()));
                }
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (rule.min, rule.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a, rule).map_err(&bad)?, value(b, rule).map_err(&bad)?);
            if a > b {
                return Err(bad(format!("range {a}-{b} goes backwards")));
            }
            (a, b)
        } else {
            let v = value(range, rule).map_err(&bad)?;
            // `5/15` means "from 5 to the end, every 15" (as in Vixie cron and Quartz).
            if item.contains('/') {
                (v, rule.max)
            } else {
                (v, v)
            }
        };
        values.extend((lo..=hi).step_by(step as usize));
    }
    Ok(Field {
        values,
        star: text.starts_with('*') || text.starts_with('?'),
    })
}

fn value(text: &str, rule: &FieldRule) -> Result<u32, String> {
    if let Some(i) = rule.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(rule.names_base + u32::try_from(i).unwrap_or(u32::MAX));
    }
    let v: u32 = text.parse().map_err(|_| {
        if rule.names.is_empty() {
            format!("`{text}` is not a number")
        } else {
            format!(
                "`{text}` is not a number or a name ({})",
                rule.names.join(", ")
            )
        }
    })?;
    if v < rule.min || v > rule.max {
        return Err(format!("{v} is outside {}-{}", rule.min, rule.max));
    }
    Ok(v)
}

fn render(field: &Field, rule: &FieldRule) -> String {
    if u32::try_from(field.values.len()).is_ok_and(|n| n == rule.max - rule.min + 1) {
        return "*".into();
    }
    field
        .values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn render_weekdays(field: &Field) -> String {
    if field.values.len() == 7 {
        return "*".into();
    }
    field
        .values
        .iter()
        .filter_map(|d| WEEKDAYS.get(*d as usize).copied())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests;
