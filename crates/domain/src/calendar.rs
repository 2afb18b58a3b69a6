//! The calendar of the measures: months, working days and the monthly
//! submission deadline (DESIGN.md §2 "Calendar", Asia/Shanghai).
//!
//! - Art. 10: last month's flows are entered "before the 10th" (每月10日前).
//!   Read strictly that is the end of the 9th; administrative usage often
//!   means the 10th. The default here: late after 24:00 on the 10th, a
//!   reminder aimed at the 9th, and a deadline that falls on a day off rolls
//!   over to the next working day. The cutoff day and the rollover are
//!   configuration ([`SubmissionRule`]).
//! - Art. 6: a group files its sub-allocation within 10 working days of the
//!   allocation ([`WorkingDays::add`]).
//!
//! Working days are Monday to Friday, less the public holidays and plus the
//! weekend days worked in exchange (调休), from the embedded
//! `data/holidays.csv` — dated data to be kept up to date each year.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Duration, Month, OffsetDateTime, Time, Weekday};

use crate::project::SHANGHAI;
use crate::region::table::{self, TableError};

const HOLIDAYS_CSV: &str = include_str!("../data/holidays.csv");

static EMBEDDED: LazyLock<WorkingDays> = LazyLock::new(|| {
    WorkingDays::from_csv("holidays.csv", HOLIDAYS_CSV).unwrap_or_else(|e| {
        panic!("the embedded holiday table (data/holidays.csv) is malformed: {e}")
    })
});

/// A calendar month, the period flows are submitted and reported by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: i32,
    month: Month,
}

/// A text that is not a `YYYY-MM` month.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a month: write YYYY-MM")]
pub struct YearMonthError(pub String);

impl YearMonth {
    /// # Errors
    /// [`YearMonthError`] for a year outside 2000–2999 (records of the
    /// measures) or a month outside 1–12.
    pub fn new(year: i32, month: u8) -> Result<YearMonth, YearMonthError> {
        let bad = || YearMonthError(format!("{year:04}-{month:02}"));
        if !(2000..=2999).contains(&year) {
            return Err(bad());
        }
        let month = Month::try_from(month).map_err(|_| bad())?;
        Ok(YearMonth { year, month })
    }

    /// The month a day falls in.
    #[must_use]
    pub fn of(day: Date) -> YearMonth {
        YearMonth {
            year: day.year(),
            month: day.month(),
        }
    }

    /// The month of a moment, in Asia/Shanghai.
    #[must_use]
    pub fn at(moment: OffsetDateTime) -> YearMonth {
        YearMonth::of(moment.to_offset(SHANGHAI).date())
    }

    #[must_use]
    pub fn year(self) -> i32 {
        self.year
    }

    #[must_use]
    pub fn month(self) -> Month {
        self.month
    }

    /// The first day of the month.
    #[must_use]
    pub fn first_day(self) -> Date {
        Date::from_calendar_date(self.year, self.month, 1).unwrap_or(Date::MIN)
    }

    /// The month after.
    #[must_use]
    pub fn next(self) -> YearMonth {
        match self.month {
            Month::December => YearMonth {
                year: self.year + 1,
                month: Month::January,
            },
            m => YearMonth {
                year: self.year,
                month: m.next(),
            },
        }
    }

    /// The moment the month ends (00:00 of the next month's first day,
    /// Asia/Shanghai).
    #[must_use]
    pub fn end(self) -> OffsetDateTime {
        self.next()
            .first_day()
            .with_time(Time::MIDNIGHT)
            .assume_offset(SHANGHAI)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, u8::from(self.month))
    }
}

impl FromStr for YearMonth {
    type Err = YearMonthError;

    fn from_str(s: &str) -> Result<YearMonth, YearMonthError> {
        let bad = || YearMonthError(s.to_owned());
        let (year, month) = s.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: u8 = month.parse().map_err(|_| bad())?;
        YearMonth::new(year, month).map_err(|_| bad())
    }
}

impl Serialize for YearMonth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<YearMonth, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a listed day is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Listed {
    /// A weekday off.
    Holiday,
    /// A weekend day worked in exchange.
    Workday,
}

/// Which days are working days.
#[derive(Debug, Clone, Default)]
pub struct WorkingDays {
    listed: BTreeMap<Date, Listed>,
}

impl WorkingDays {
    /// The embedded calendar.
    #[must_use]
    pub fn standard() -> &'static WorkingDays {
        &EMBEDDED
    }

    fn from_csv(name: &'static str, text: &'static str) -> Result<WorkingDays, TableError> {
        let mut listed = BTreeMap::new();
        for record in table::read(name, text, ["date", "kind", "note"])? {
            let day = table::date(&record, "date", record.fields[0])?;
            let kind = match record.fields[1] {
                "holiday" => Listed::Holiday,
                "workday" => Listed::Workday,
                other => {
                    return Err(record.invalid(
                        "kind",
                        format!("`{other}` is neither `holiday` nor `workday`"),
                    ));
                }
            };
            // A holiday on a weekend is a day off anyway, and the notices list
            // whole periods, so it may be listed; a weekday "worked in
            // exchange" is a mistake.
            let weekend = matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday);
            if kind == Listed::Workday && !weekend {
                return Err(record.invalid("kind", "a weekday is a working day already"));
            }
            if listed.insert(day, kind).is_some() {
                return Err(record.invalid("date", "listed twice"));
            }
        }
        Ok(WorkingDays { listed })
    }

    /// Whether people work on `day`.
    #[must_use]
    pub fn is_working_day(&self, day: Date) -> bool {
        match self.listed.get(&day) {
            Some(Listed::Holiday) => false,
            Some(Listed::Workday) => true,
            None => !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday),
        }
    }

    /// Whether the table covers `year` (lists at least one of its days), so
    /// that a count over an uncovered year can say it knew weekends only.
    #[must_use]
    pub fn covers(&self, year: i32) -> bool {
        self.listed.keys().any(|d| d.year() == year)
    }

    /// The `n`-th working day after `day` (`n` = 0: `day` itself if it is a
    /// working day, else the next one).
    #[must_use]
    pub fn add(&self, day: Date, n: u32) -> Date {
        let mut at = day;
        let mut left = n;
        if left == 0 {
            while !self.is_working_day(at) {
                at = at.next_day().unwrap_or(at);
            }
            return at;
        }
        while left > 0 {
            at = match at.next_day() {
                Some(d) => d,
                None => return at,
            };
            if self.is_working_day(at) {
                left -= 1;
            }
        }
        at
    }
}

/// When a month's submission is due (Art. 10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubmissionRule {
    /// The day of the next month whose end is the deadline (10: late after
    /// 24:00 on the 10th).
    pub cutoff_day: u8,
    /// Whether a cutoff day off rolls over to the next working day.
    pub rollover: bool,
    /// How many days before the cutoff day the reminder goes out (1: on the 9th).
    pub remind_days_before: u8,
}

impl Default for SubmissionRule {
    fn default() -> Self {
        SubmissionRule {
            cutoff_day: 10,
            rollover: true,
            remind_days_before: 1,
        }
    }
}

/// Where a month's submission stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MonthStatus {
    /// The month has not ended: flows are still being recorded.
    Open,
    /// Ended, not sealed, the deadline still ahead.
    Due,
    /// Sealed by the deadline.
    OnTime,
    /// Sealed after the deadline.
    Late,
    /// Not sealed, and the deadline has passed.
    Missing,
}

impl SubmissionRule {
    /// The last day of the submission of `month`: the cutoff day of the next
    /// month, rolled over to a working day when the rule says so.
    #[must_use]
    pub fn last_day(&self, month: YearMonth, days: &WorkingDays) -> Date {
        let next = month.next();
        let day = Date::from_calendar_date(next.year, next.month, self.cutoff_day.clamp(1, 28))
            .unwrap_or_else(|_| next.first_day());
        if self.rollover { days.add(day, 0) } else { day }
    }

    /// The moment the submission of `month` becomes late: 24:00 at the end
    /// of [`SubmissionRule::last_day`], Asia/Shanghai.
    #[must_use]
    pub fn deadline(&self, month: YearMonth, days: &WorkingDays) -> OffsetDateTime {
        let last = self.last_day(month, days);
        last.with_time(Time::MIDNIGHT).assume_offset(SHANGHAI) + Duration::days(1)
    }

    /// The moment the reminder for `month` goes out: 09:00 on the day
    /// `remind_days_before` the last day.
    #[must_use]
    pub fn reminder(&self, month: YearMonth, days: &WorkingDays) -> OffsetDateTime {
        let last = self.last_day(month, days);
        let day = last - Duration::days(i64::from(self.remind_days_before));
        day.with_time(Time::from_hms(9, 0, 0).unwrap_or(Time::MIDNIGHT))
            .assume_offset(SHANGHAI)
    }

    /// Where the submission of `month` stands at `now`, given when it was
    /// sealed (if it was).
    #[must_use]
    pub fn status(
        &self,
        month: YearMonth,
        sealed_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
        days: &WorkingDays,
    ) -> MonthStatus {
        let deadline = self.deadline(month, days);
        match sealed_at {
            Some(at) if at < deadline => MonthStatus::OnTime,
            Some(_) => MonthStatus::Late,
            None if now < month.end() => MonthStatus::Open,
            None if now < deadline => MonthStatus::Due,
            None => MonthStatus::Missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn month(text: &str) -> YearMonth {
        text.parse().unwrap()
    }

    #[test]
    fn months_parse_print_and_step() {
        assert_eq!(month("2025-12").next(), month("2026-01"));
        assert_eq!(month("2025-03").to_string(), "2025-03");
        for bad in ["2025-13", "2025-3", "25-03", "2025/03", "1999-01"] {
            assert!(bad.parse::<YearMonth>().is_err(), "{bad}");
        }
        assert_eq!(
            YearMonth::at(datetime!(2025-03-31 17:00 UTC)),
            month("2025-04"),
            "01:00 on 1 April in Shanghai"
        );
        assert_eq!(month("2025-03").end(), datetime!(2025-04-01 00:00 +08:00));
    }

    #[test]
    fn the_holiday_table_knows_the_2025_schedule() {
        let days = WorkingDays::standard();
        assert!(
            !days.is_working_day(date!(2025 - 10 - 08)),
            "National Day week"
        );
        assert!(
            days.is_working_day(date!(2025 - 10 - 11)),
            "a Saturday worked"
        );
        assert!(
            !days.is_working_day(date!(2025 - 10 - 12)),
            "a plain Sunday"
        );
        assert!(days.is_working_day(date!(2025 - 10 - 09)));
        assert!(days.covers(2025) && !days.covers(2031));
        // Ten working days after an allocation of Monday 29 September 2025:
        // 30 Sep, then 9, 10, 11 (Saturday worked), 13, 14, 15, 16, 17, 20 Oct.
        assert_eq!(days.add(date!(2025 - 09 - 29), 10), date!(2025 - 10 - 20));
        assert_eq!(days.add(date!(2025 - 10 - 04), 0), date!(2025 - 10 - 09));
    }

    #[test]
    fn the_deadline_is_the_end_of_the_tenth_rolled_to_a_working_day() {
        let rule = SubmissionRule::default();
        let days = WorkingDays::standard();
        // 10 March 2025 is a Monday.
        assert_eq!(
            rule.deadline(month("2025-02"), days),
            datetime!(2025-03-11 00:00 +08:00)
        );
        assert_eq!(
            rule.reminder(month("2025-02"), days),
            datetime!(2025-03-09 09:00 +08:00)
        );
        // 10 May 2025 is a Saturday: rolled to Monday the 12th.
        assert_eq!(
            rule.deadline(month("2025-04"), days),
            datetime!(2025-05-13 00:00 +08:00)
        );
        let strict = SubmissionRule {
            cutoff_day: 9,
            rollover: false,
            remind_days_before: 2,
        };
        assert_eq!(
            strict.deadline(month("2025-04"), days),
            datetime!(2025-05-10 00:00 +08:00)
        );
    }

    #[test]
    fn a_month_is_open_due_on_time_late_or_missing() {
        let rule = SubmissionRule::default();
        let days = WorkingDays::standard();
        let feb = month("2025-02");
        let status = |sealed, now| rule.status(feb, sealed, now, days);
        assert_eq!(
            status(None, datetime!(2025-02-20 10:00 +08:00)),
            MonthStatus::Open
        );
        assert_eq!(
            status(None, datetime!(2025-03-05 10:00 +08:00)),
            MonthStatus::Due
        );
        assert_eq!(
            status(
                Some(datetime!(2025-03-10 23:59 +08:00)),
                datetime!(2025-04-01 00:00 +08:00)
            ),
            MonthStatus::OnTime
        );
        assert_eq!(
            status(
                Some(datetime!(2025-03-11 00:00 +08:00)),
                datetime!(2025-04-01 00:00 +08:00)
            ),
            MonthStatus::Late
        );
        assert_eq!(
            status(None, datetime!(2025-03-11 00:00 +08:00)),
            MonthStatus::Missing
        );
    }
}
