//! Login throttling and lockout (issue 3 §3; Art. 11 network and data
//! security): a pure state machine per account name and per source address,
//! after NIST SP 800-63B §3.2.2 (rev. 4; rate limiting, at most 100
//! consecutive failures per account) and the OWASP Authentication Cheat
//! Sheet (throttling and temporary lockout).
//!
//! For each key the store keeps a [`ThrottleState`]. Within a window, the
//! first failures are free; then each further attempt must wait, twice as
//! long after each failure (exponential back-off); after more failures the
//! key is locked for a period. A refused attempt is not an attempt: it is
//! answered without checking the password and does not count. A successful
//! login clears its account's state, not its source's, so that an attacker
//! with one valid account cannot clear the address they guess from.
//!
//! The account key is the name as typed, whether or not such an account
//! exists, so an unknown name is throttled exactly like a known one and the
//! answers never tell them apart.

use std::net::IpAddr;

use time::macros::{format_description, offset};
use time::{Duration, OffsetDateTime};

/// The limits for one kind of key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures are counted from the first one for this long, then forgotten.
    pub window: Duration,
    /// Failures within the window before any waiting.
    pub free_failures: u32,
    /// The wait after the last free failure; it doubles with every failure
    /// after that.
    pub first_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
    /// Failures within the window that lock the key.
    pub lockout_after: u32,
    /// How long a lock lasts.
    pub lockout: Duration,
}

impl ThrottlePolicy {
    /// Per account name: 5 free failures in 15 minutes, then waits of 1, 2,
    /// 4, 8, 16 s, and a 15-minute lock at the 10th failure — about 40
    /// guesses an hour at most, far under NIST's ceiling of 100, while a
    /// person who mistypes a few times is barely slowed.
    pub const ACCOUNT: ThrottlePolicy = ThrottlePolicy {
        window: Duration::minutes(15),
        free_failures: 5,
        first_delay: Duration::seconds(1),
        max_delay: Duration::seconds(30),
        lockout_after: 10,
        lockout: Duration::minutes(15),
    };

    /// Per source address (an IPv6 /64): looser, because an enterprise
    /// office or a regulator's network puts many people behind one address —
    /// 20 free failures an hour, waits growing to 30 s, and a one-hour lock
    /// at 100, which a password-spraying run reaches in under 40 minutes.
    pub const SOURCE: ThrottlePolicy = ThrottlePolicy {
        window: Duration::hours(1),
        free_failures: 20,
        first_delay: Duration::seconds(1),
        max_delay: Duration::seconds(30),
        lockout_after: 100,
        lockout: Duration::hours(1),
    };

    /// The wait after `failures` failures, if any.
    fn delay(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.free_failures)?;
        let factor = (over < 30).then(|| 1i32 << over);
        Some(
            factor
                .and_then(|f| self.first_delay.checked_mul(f))
                .map_or(self.max_delay, |d| d.min(self.max_delay)),
        )
    }
}

/// What the store keys throttle state by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThrottleKey(String);

impl ThrottleKey {
    /// The key of an account name as typed — trimmed, lowercased as
    /// [`crate::AccountName::parse`] does, and cut to 64 characters — whether
    /// or not the account exists.
    pub fn account(typed: &str) -> ThrottleKey {
        let name: String = typed.trim().to_ascii_lowercase().chars().take(64).collect();
        ThrottleKey(format!("account:{name}"))
    }

    /// The key of a source address: the address for IPv4 (and IPv4-mapped
    /// IPv6), the /64 prefix for IPv6, since one subscriber usually holds a
    /// whole /64.
    pub fn source(address: IpAddr) -> ThrottleKey {
        match address.to_canonical() {
            IpAddr::V4(v4) => ThrottleKey(format!("source:{v4}")),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                ThrottleKey(format!("source:{prefix}/64"))
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The throttle state of one key, as the store keeps it. The default is a
/// key with no failures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThrottleState {
    /// Failures in the current window.
    pub failures: u32,
    /// The first failure of the current window.
    pub window_start: Option<OffsetDateTime>,
    pub last_failure: Option<OffsetDateTime>,
    pub locked_until: Option<OffsetDateTime>,
}

/// The answer to a login attempt before the password is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password.
    Allowed,
    /// Refuse without checking: too many recent failures; try again at the time.
    WaitUntil(OffsetDateTime),
    /// Refuse without checking: locked until the time.
    LockedUntil(OffsetDateTime),
}

impl Verdict {
    /// When the refusal ends, if it is one.
    pub fn until(self) -> Option<OffsetDateTime> {
        match self {
            Verdict::Allowed => None,
            Verdict::WaitUntil(t) | Verdict::LockedUntil(t) => Some(t),
        }
    }

    /// The stricter of two verdicts: the refusal that lasts longer, a lock
    /// over a wait when they end together.
    pub fn stricter(self, other: Verdict) -> Verdict {
        match (self.until(), other.until()) {
            (None, _) => other,
            (_, None) => self,
            (Some(a), Some(b)) if a > b => self,
            (Some(a), Some(b)) if b > a => other,
            _ if matches!(self, Verdict::LockedUntil(_)) => self,
            _ => other,
        }
    }

    /// The message for a user who reads Chinese, with the time in Beijing
    /// time (UTC+8); `None` when allowed.
    pub fn message_zh(self) -> Option<String> {
        Some(match self {
            Verdict::Allowed => return None,
            Verdict::WaitUntil(t) => {
                format!("登录失败次数过多，请于{}（北京时间）后再试。", beijing(t))
            }
            Verdict::LockedUntil(t) => format!(
                "登录失败次数过多，已暂时锁定至{}（北京时间）。如非本人操作，请联系管理员。",
                beijing(t)
            ),
        })
    }

    /// The message for a user who reads English; `None` when allowed.
    pub fn message_en(self) -> Option<String> {
        Some(match self {
            Verdict::Allowed => return None,
            Verdict::WaitUntil(t) => format!(
                "Too many failed logins; try again after {} Beijing time.",
                beijing(t)
            ),
            Verdict::LockedUntil(t) => format!(
                "Too many failed logins; logins are locked until {} Beijing time. If this was \
                 not you, tell the administrator.",
                beijing(t)
            ),
        })
    }
}

/// `t` as Beijing time (Asia/Shanghai has been UTC+8 without daylight saving
/// since 1991).
fn beijing(t: OffsetDateTime) -> String {
    t.to_offset(offset!(+8))
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_else(|_| t.to_string())
}

impl ThrottleState {
    /// The verdict for an attempt at `now`.
    pub fn verdict(&self, policy: &ThrottlePolicy, now: OffsetDateTime) -> Verdict {
        if let Some(until) = self.locked_until {
            return if now < until {
                Verdict::LockedUntil(until)
            } else {
                Verdict::Allowed
            };
        }
        let (Some(start), Some(last)) = (self.window_start, self.last_failure) else {
            return Verdict::Allowed;
        };
        if now >= start + policy.window {
            return Verdict::Allowed;
        }
        match policy.delay(self.failures) {
            Some(delay) if now < last + delay => Verdict::WaitUntil(last + delay),
            _ => Verdict::Allowed,
        }
    }

    /// Whether the state has run out — window passed, lock over — so that
    /// the next failure starts afresh and the store may delete it.
    pub fn is_spent(&self, policy: &ThrottlePolicy, now: OffsetDateTime) -> bool {
        match (self.locked_until, self.window_start) {
            (Some(until), _) => now >= until,
            (None, Some(start)) => now >= start + policy.window,
            (None, None) => true,
        }
    }

    /// Records a failed password check at `now`. A failure at a time the
    /// verdict refused is not recorded: such an attempt is never checked.
    pub fn record_failure(&mut self, policy: &ThrottlePolicy, now: OffsetDateTime) {
        if self.verdict(policy, now) != Verdict::Allowed {
            return;
        }
        if self.is_spent(policy, now) {
            *self = ThrottleState::default();
        }
        self.failures = self.failures.saturating_add(1);
        self.window_start.get_or_insert(now);
        self.last_failure = Some(now);
        if self.failures >= policy.lockout_after {
            self.locked_until = Some(now + policy.lockout);
        }
    }
}

/// The throttle of a login endpoint: one policy per account name, one per
/// source address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    pub account: ThrottlePolicy,
    pub source: ThrottlePolicy,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            account: ThrottlePolicy::ACCOUNT,
            source: ThrottlePolicy::SOURCE,
        }
    }
}

impl Throttle {
    /// The verdict for an attempt on `account` from `source` at `now`: the
    /// stricter of the two.
    pub fn check(
        &self,
        account: &ThrottleState,
        source: &ThrottleState,
        now: OffsetDateTime,
    ) -> Verdict {
        account
            .verdict(&self.account, now)
            .stricter(source.verdict(&self.source, now))
    }

    /// Records a failed login — a wrong password or an unknown account
    /// alike — against both keys.
    pub fn failed(
        &self,
        account: &mut ThrottleState,
        source: &mut ThrottleState,
        now: OffsetDateTime,
    ) {
        account.record_failure(&self.account, now);
        source.record_failure(&self.source, now);
    }

    /// Records a successful login: the account starts afresh; the source
    /// keeps its count.
    pub fn succeeded(&self, account: &mut ThrottleState) {
        *account = ThrottleState::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-03-09 09:00 +08:00);

    fn s(n: i64) -> Duration {
        Duration::seconds(n)
    }

    #[test]
    fn an_account_backs_off_then_locks() {
        let p = ThrottlePolicy::ACCOUNT;
        let mut st = ThrottleState::default();
        let mut now = T0;
        for _ in 0..4 {
            assert_eq!(st.verdict(&p, now), Verdict::Allowed);
            st.record_failure(&p, now);
        }
        assert_eq!(
            st.verdict(&p, now),
            Verdict::Allowed,
            "four failures are free"
        );
        st.record_failure(&p, now);
        // After the fifth: 1 s, then 2, 4, 8, 16.
        for (failure, wait) in [(5, 1), (6, 2), (7, 4), (8, 8), (9, 16)] {
            assert_eq!(st.failures, failure);
            let until = now + s(wait);
            assert_eq!(st.verdict(&p, now), Verdict::WaitUntil(until));
            assert_eq!(
                st.verdict(&p, until - Duration::milliseconds(1)),
                Verdict::WaitUntil(until)
            );
            // Attempts while waiting are refused and not counted.
            let before = st;
            st.record_failure(&p, until - Duration::milliseconds(1));
            assert_eq!(st, before);
            now = until;
            assert_eq!(st.verdict(&p, now), Verdict::Allowed);
            st.record_failure(&p, now);
        }
        assert_eq!(st.failures, 10);
        let lock_end = now + Duration::minutes(15);
        assert_eq!(st.verdict(&p, now), Verdict::LockedUntil(lock_end));
        assert_eq!(
            st.verdict(&p, lock_end - s(1)),
            Verdict::LockedUntil(lock_end)
        );
        assert!(!st.is_spent(&p, lock_end - s(1)));
        assert_eq!(st.verdict(&p, lock_end), Verdict::Allowed);
        assert!(st.is_spent(&p, lock_end));
        st.record_failure(&p, lock_end);
        assert_eq!(st.failures, 1, "a lock that has run out is forgotten");
        assert_eq!(st.locked_until, None);
    }

    #[test]
    fn the_window_forgets_old_failures() {
        let p = ThrottlePolicy::ACCOUNT;
        let mut st = ThrottleState::default();
        for i in 0..5 {
            st.record_failure(&p, T0 + s(i));
        }
        assert_eq!(st.verdict(&p, T0 + s(4)), Verdict::WaitUntil(T0 + s(5)));
        let end = T0 + Duration::minutes(15);
        assert!(!st.is_spent(&p, end - s(1)));
        assert!(st.is_spent(&p, end));
        st.record_failure(&p, end);
        assert_eq!(st.failures, 1);
        assert_eq!(st.window_start, Some(end));
        assert_eq!(st.verdict(&p, end), Verdict::Allowed);
    }

    #[test]
    fn success_clears_the_account_not_the_source() {
        let throttle = Throttle::default();
        let (mut account, mut source) = (ThrottleState::default(), ThrottleState::default());
        for i in 0..5 {
            throttle.failed(&mut account, &mut source, T0 + s(i));
        }
        assert_eq!(
            throttle.check(&account, &source, T0 + s(4)),
            Verdict::WaitUntil(T0 + s(5))
        );
        throttle.succeeded(&mut account);
        assert_eq!(account, ThrottleState::default());
        assert_eq!(source.failures, 5);
        assert_eq!(
            throttle.check(&account, &source, T0 + s(5)),
            Verdict::Allowed
        );
    }

    #[test]
    fn a_source_spraying_many_accounts_is_stopped() {
        let throttle = Throttle::default();
        let mut source = ThrottleState::default();
        let mut now = T0;
        let mut tries = 0;
        while source.locked_until.is_none() {
            // A fresh account name every time, so only the source counts.
            let mut account = ThrottleState::default();
            match throttle.check(&account, &source, now) {
                Verdict::Allowed => {
                    throttle.failed(&mut account, &mut source, now);
                    tries += 1;
                }
                Verdict::WaitUntil(t) => now = t,
                Verdict::LockedUntil(_) => unreachable!("the loop ends at the lock"),
            }
        }
        assert_eq!(tries, 100);
        assert!(now - T0 < Duration::minutes(40), "{}", now - T0);
        assert_eq!(
            throttle.check(&ThrottleState::default(), &source, now),
            Verdict::LockedUntil(now + Duration::hours(1))
        );
    }

    #[test]
    fn unknown_and_known_accounts_get_the_same_answers() {
        // The store keeps state under the typed name; nothing here knows
        // whether an account exists, and both run the same course.
        let throttle = Throttle::default();
        let mut known = ThrottleState::default();
        let mut ghost = ThrottleState::default();
        let (mut src_a, mut src_b) = (ThrottleState::default(), ThrottleState::default());
        for i in 0..12 {
            let now = T0 + s(40 * i);
            assert_eq!(
                throttle.check(&known, &src_a, now),
                throttle.check(&ghost, &src_b, now)
            );
            throttle.failed(&mut known, &mut src_a, now);
            throttle.failed(&mut ghost, &mut src_b, now);
            assert_eq!(known, ghost);
        }
        assert_eq!(
            ThrottleKey::account(" Zhang.Wei "),
            ThrottleKey::account("zhang.wei")
        );
        assert_eq!(
            ThrottleKey::account("no-such-user").as_str(),
            "account:no-such-user"
        );
        assert_eq!(
            ThrottleKey::account(&"x".repeat(1000)),
            ThrottleKey::account(&"x".repeat(64))
        );
    }

    #[test]
    fn source_keys() {
        let key = |a: &str| ThrottleKey::source(a.parse().unwrap());
        assert_eq!(key("203.0.113.7").as_str(), "source:203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_eq!(
            key("2001:db8:1:2:aaaa::1").as_str(),
            "source:2001:db8:1:2::/64"
        );
        assert_eq!(key("2001:db8:1:2:ffff::9"), key("2001:db8:1:2::1"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }

    #[test]
    fn verdicts_combine_and_explain_themselves() {
        let wait = Verdict::WaitUntil(T0 + s(10));
        let lock = Verdict::LockedUntil(T0 + s(5));
        assert_eq!(
            Verdict::Allowed.stricter(Verdict::Allowed),
            Verdict::Allowed
        );
        assert_eq!(Verdict::Allowed.stricter(wait), wait);
        assert_eq!(wait.stricter(Verdict::Allowed), wait);
        assert_eq!(wait.stricter(lock), wait, "the longer refusal");
        assert_eq!(lock.stricter(wait), wait);
        let lock_same = Verdict::LockedUntil(T0 + s(10));
        assert_eq!(wait.stricter(lock_same), lock_same);
        assert_eq!(lock_same.stricter(wait), lock_same);

        assert_eq!(Verdict::Allowed.message_en(), None);
        assert_eq!(Verdict::Allowed.message_zh(), None);
        let utc = Verdict::LockedUntil(datetime!(2025-03-09 02:15 UTC));
        assert!(
            utc.message_zh()
                .unwrap()
                .contains("2025-03-09 10:15:00（北京时间）")
        );
        assert!(
            utc.message_en()
                .unwrap()
                .contains("locked until 2025-03-09 10:15:00")
        );
        assert!(
            wait.message_en()
                .unwrap()
                .contains("try again after 2025-03-09 09:00:10")
        );
        assert!(
            wait.message_zh()
                .unwrap()
                .contains("请于2025-03-09 09:00:10")
        );
    }

    proptest! {
        /// Whatever the attempts, waits never exceed the cap, locks never
        /// exceed their length, and the state never panics or overflows.
        #[test]
        fn refusals_stay_within_the_policy(gaps in proptest::collection::vec(0i64..400, 1..300)) {
            for p in [ThrottlePolicy::ACCOUNT, ThrottlePolicy::SOURCE] {
                let mut st = ThrottleState::default();
                let mut now = T0;
                for gap in &gaps {
                    now += Duration::seconds(*gap);
                    match st.verdict(&p, now) {
                        Verdict::Allowed => st.record_failure(&p, now),
                        Verdict::WaitUntil(t) => prop_assert!(t > now && t - now <= p.max_delay),
                        Verdict::LockedUntil(t) => prop_assert!(t > now && t - now <= p.lockout),
                    }
                    prop_assert!(st.failures <= p.lockout_after);
                }
            }
        }
    }
}
