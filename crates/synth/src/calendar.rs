//! The working calendar of the synthetic year: which days enterprises record
//! flows on, and the times of day they record them at.
//!
//! Every flow is stamped in Asia/Shanghai (+08:00) during working hours on a
//! weekday, so that the data looks like what enterprises enter and so that no
//! event falls on or after the stroke of the new year (DESIGN.md §2 "Calendar").

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use retrace_domain::project::SHANGHAI;
use time::{Date, Duration, Month, OffsetDateTime, Time, Weekday};

/// The working day starts at 08:30 …
const DAY_START: Time = time_of(8, 30);
/// … the register's acts are entered first thing on the first day, and that
/// day's flows start at 09:00 …
const FIRST_DAY_FLOWS: Time = time_of(9, 0);
/// … and the day ends at 17:30.
const DAY_END: Time = time_of(17, 30);

const fn time_of(hour: u8, minute: u8) -> Time {
    match Time::from_hms(hour, minute, 0) {
        Ok(t) => t,
        Err(_) => Time::MIDNIGHT,
    }
}

/// The weekdays of one year, indexed from 0.
#[derive(Clone, Debug)]
pub(crate) struct Calendar {
    days: Vec<Date>,
}

impl Calendar {
    /// # Panics
    /// If `year` lies outside the range the `time` crate represents.
    pub(crate) fn new(year: i32) -> Calendar {
        let mut day = Date::from_calendar_date(year, Month::January, 1)
            .unwrap_or_else(|e| panic!("the synthetic year {year} is not a calendar year: {e}"));
        let mut days = Vec::with_capacity(262);
        while day.year() == year {
            if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
                days.push(day);
            }
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        Calendar { days }
    }

    pub(crate) fn len(&self) -> usize {
        self.days.len()
    }

    pub(crate) fn date(&self, day: usize) -> Date {
        self.days[day]
    }

    /// The month (1–12) of a working day.
    pub(crate) fn month(&self, day: usize) -> u8 {
        u8::from(self.days[day].month())
    }

    /// The first working day of `month` (1–12).
    pub(crate) fn first_of_month(&self, month: u8) -> usize {
        self.days
            .iter()
            .position(|d| u8::from(d.month()) >= month)
            .unwrap_or(self.days.len() - 1)
    }

    /// The moment the register's acts take effect: the first working day at
    /// 08:30, one second apart so that they keep their order.
    pub(crate) fn act_time(&self, index: usize) -> OffsetDateTime {
        let second = i64::try_from(index).unwrap_or(i64::MAX);
        self.days[0].with_time(DAY_START).assume_offset(SHANGHAI) + Duration::seconds(second)
    }

    /// `n` strictly increasing moments within the working hours of `day`, in
    /// the order the day's flows were generated, so that event-time order is
    /// causal order. Whole seconds while the day has room for them,
    /// milliseconds when the stream is dense (millions of events a year).
    pub(crate) fn stamps(&self, day: usize, n: usize, rng: &mut ChaCha8Rng) -> Vec<OffsetDateTime> {
        let start = if day == 0 { FIRST_DAY_FLOWS } else { DAY_START };
        let origin = self.days[day].with_time(start).assume_offset(SHANGHAI);
        let span_seconds = (DAY_END - start).whole_seconds().unsigned_abs();
        let count = u64::try_from(n.max(1)).unwrap_or(u64::MAX);
        let (span, unit_ms) = if span_seconds / count >= 2 {
            (span_seconds, 1_000)
        } else {
            (span_seconds * 1_000, 1)
        };
        let slot = (span / count).max(2);
        (0..count)
            .map(|i| {
                let jitter = rng.random_range(0..slot / 2);
                let units = i * slot + jitter;
                origin + Duration::milliseconds(i64::try_from(units * unit_ms).unwrap_or(i64::MAX))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_year_has_only_weekdays() {
        let cal = Calendar::new(2025);
        assert_eq!(cal.len(), 261);
        assert_eq!(cal.date(0), time::macros::date!(2025 - 01 - 01));
        assert_eq!(cal.month(cal.first_of_month(4)), 4);
    }

    #[test]
    fn stamps_rise_strictly_within_working_hours() {
        let cal = Calendar::new(2025);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for n in [1, 300, 40_000] {
            let stamps = cal.stamps(cal.len() - 1, n, &mut rng);
            assert!(stamps.windows(2).all(|w| w[0] < w[1]));
            assert!(stamps[0].time() >= DAY_START);
            assert!(stamps[n - 1].time() < DAY_END);
            assert_eq!(stamps[n - 1].year(), 2025);
        }
    }
}
