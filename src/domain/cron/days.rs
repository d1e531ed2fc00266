//! Day rules that depend on the month, as Quartz, Hangfire's Cronos and Rundeck write them:
//! day-of-month `L`, `L-n`, `nW`, `LW`, and day-of-week `d#n`, `dL`. The `cron` crate knows none
//! of them, so a schedule that uses one is evaluated day by day here (see [`Days::matches`]),
//! with the crate left to find the time of day.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};

/// A day-of-month rule beyond plain numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MonthDay {
    /// `L` (before = 0) or `L-n`: n days before the last day of the month.
    Last { before: u32 },
    /// `nW`: the weekday (Monday–Friday) nearest day n, without leaving the month.
    NearestWeekday(u32),
    /// `LW`: the last weekday of the month.
    LastWeekday,
}

/// A day-of-week rule that depends on the month; weekdays 0 = Sunday … 6 = Saturday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WeekdayOfMonth {
    /// `d#n`: the n-th weekday d of the month (n 1–5).
    Nth { weekday: u32, n: u32 },
    /// `dL`: the last weekday d of the month.
    Last { weekday: u32 },
}

/// The two day fields of an expression, with crontab's rule: when both are restricted a day
/// matching either fires; when either starts with `*` both must match (`*` itself matches
/// every day, `*/2` only its values).
#[derive(Debug, Clone)]
pub(super) struct Days {
    pub(super) month_days: BTreeSet<u32>,
    pub(super) month_rules: Vec<MonthDay>,
    pub(super) month_star: bool,
    pub(super) weekdays: BTreeSet<u32>,
    pub(super) weekday_rules: Vec<WeekdayOfMonth>,
    pub(super) weekday_star: bool,
}

impl Days {
    /// Whether any rule needs this module (otherwise the crate evaluates the whole expression).
    pub(super) fn has_rules(&self) -> bool {
        !self.month_rules.is_empty() || !self.weekday_rules.is_empty()
    }

    pub(super) fn matches(&self, date: NaiveDate) -> bool {
        let by_month = self.month_days.contains(&date.day())
            || self.month_rules.iter().any(|r| r.matches(date));
        let by_week = self
            .weekdays
            .contains(&date.weekday().num_days_from_sunday())
            || self.weekday_rules.iter().any(|r| r.matches(date));
        if self.month_star || self.weekday_star {
            by_month && by_week
        } else {
            by_month || by_week
        }
    }
}

impl MonthDay {
    /// Reads `L`, `L-n` (n 0–30), `nW` (n 1–31) or `LW`; None when `item` is none of them.
    pub(super) fn parse(item: &str) -> Option<Result<MonthDay, String>> {
        let upper = item.to_ascii_uppercase();
        if upper == "L" {
            return Some(Ok(MonthDay::Last { before: 0 }));
        }
        if upper == "LW" {
            return Some(Ok(MonthDay::LastWeekday));
        }
        if let Some(n) = upper.strip_prefix("L-") {
            return Some(match n.parse::<u32>() {
                Ok(before) if before <= 30 => Ok(MonthDay::Last { before }),
                Ok(_) => Err("`L-n` counts at most 30 days before the last".into()),
                Err(_) => Err("`L-` takes a number of days (0-30)".into()),
            });
        }
        let n = upper.strip_suffix('W')?;
        Some(match n.parse::<u32>() {
            Ok(day) if (1..=31).contains(&day) => Ok(MonthDay::NearestWeekday(day)),
            Ok(_) => Err("the day before `W` must be 1-31".into()),
            Err(_) => Err("`W` follows a day number (1-31) or `L`".into()),
        })
    }

    fn matches(self, date: NaiveDate) -> bool {
        let last = last_day(date);
        match self {
            MonthDay::Last { before } => last.checked_sub(before) == Some(date.day()),
            MonthDay::NearestWeekday(day) => {
                day <= last && nearest_weekday(date.with_day(day)) == Some(date)
            }
            MonthDay::LastWeekday => nearest_weekday(date.with_day(last)) == Some(date),
        }
    }
}

impl WeekdayOfMonth {
    /// Reads `d#n` or `dL`, `d` a weekday number (0–7, 7 = Sunday) or name; None when `item`
    /// is neither. `weekday` turns the `d` part into 0–6.
    pub(super) fn parse(
        item: &str,
        weekday: impl Fn(&str) -> Result<u32, String>,
    ) -> Option<Result<WeekdayOfMonth, String>> {
        let sunday_folded = |d: &str| weekday(d).map(|w| w % 7);
        if let Some((d, n)) = item.split_once('#') {
            return Some(sunday_folded(d).and_then(|weekday| match n.parse::<u32>() {
                Ok(n) if (1..=5).contains(&n) => Ok(WeekdayOfMonth::Nth { weekday, n }),
                _ => Err("the week after `#` must be 1-5".into()),
            }));
        }
        let d = item.strip_suffix('L').or_else(|| item.strip_suffix('l'))?;
        if d.is_empty() {
            return Some(Err(
                "`L` alone is a day-of-month rule; in day-of-week write `dL` (e.g. 5L, FRIL)"
                    .into(),
            ));
        }
        Some(sunday_folded(d).map(|weekday| WeekdayOfMonth::Last { weekday }))
    }

    fn matches(self, date: NaiveDate) -> bool {
        let on = |weekday: u32| date.weekday().num_days_from_sunday() == weekday;
        match self {
            WeekdayOfMonth::Nth { weekday, n } => on(weekday) && (date.day() - 1) / 7 + 1 == n,
            WeekdayOfMonth::Last { weekday } => on(weekday) && date.day() + 7 > last_day(date),
        }
    }
}

/// The last day of `date`'s month (28–31).
pub(super) fn last_day(date: NaiveDate) -> u32 {
    (28..=31)
        .rev()
        .find(|d| date.with_day(*d).is_some())
        .unwrap_or(28)
}

/// The Monday–Friday nearest `day` in its own month: Saturday moves to Friday unless that is
/// in the month before (then Monday), Sunday to Monday unless that is in the next (then Friday).
fn nearest_weekday(day: Option<NaiveDate>) -> Option<NaiveDate> {
    let day = day?;
    let same_month = |d: NaiveDate| d.month() == day.month();
    let candidate = match day.weekday() {
        Weekday::Sat => day
            .pred_opt()
            .filter(|d| same_month(*d))
            .or_else(|| day.checked_add_days(chrono::Days::new(2))),
        Weekday::Sun => day
            .succ_opt()
            .filter(|d| same_month(*d))
            .or_else(|| day.checked_sub_days(chrono::Days::new(2))),
        _ => Some(day),
    };
    candidate.filter(|d| same_month(*d))
}
