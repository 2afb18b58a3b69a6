//! Export controls on rare earth content, as dated data.
//!
//! An export of a controlled item without a licence is recorded and flagged,
//! never refused (DESIGN.md §2 "Rules worth a clear flag"). The controls of
//! MOFCOM/GAC announcement 2025 No. 18 (in force 4 April 2025: Sm, Gd, Tb, Dy,
//! Lu, Sc, Y — their oxides, compounds and mixtures, Sm-Co magnets, Tb- or
//! Dy-bearing NdFeB) trigger on the *content* of an item, not on its product
//! kind, so the check asks which controlled elements a lot contains. Later
//! announcements (No. 57: Ho, Er, Tm, Eu, Yb) were suspended by No. 70; a
//! suspension is part of the data, so that a check on any past day gives the
//! answer of that day (DESIGN.md §3). The table is embedded from
//! `data/export_controls.csv`; its facts are marked (verify) in
//! `data/README.md`.

use std::sync::LazyLock;

use serde::Serialize;
use time::Date;

use crate::element::Element;
use crate::region::table::{self, Record, TableError};

const EXPORT_CONTROLS_CSV: &str = include_str!("../data/export_controls.csv");

const COLUMNS: [&str; 5] = [
    "announcement",
    "element",
    "effective_from",
    "suspended_from",
    "suspended_until",
];

static EMBEDDED: LazyLock<ExportControls> = LazyLock::new(|| {
    ExportControls::from_csv("export_controls.csv", EXPORT_CONTROLS_CSV).unwrap_or_else(|e| {
        panic!("the embedded export-control table (data/export_controls.csv) is malformed: {e}")
    })
});

/// A controlled element of a lot, and the announcement that controls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ControlHit {
    pub announcement: &'static str,
    pub element: Element,
}

/// The export-control table: which announcement controls which element, from
/// when, and when it was suspended.
#[derive(Debug)]
pub struct ExportControls {
    controls: Vec<Control>,
}

/// One row: an element controlled by an announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Control {
    announcement: &'static str,
    element: Element,
    effective_from: Date,
    /// First and last day of a suspension, both included.
    suspended: Option<(Date, Date)>,
}

impl Control {
    fn in_force(&self, on: Date) -> bool {
        let suspended = self
            .suspended
            .is_some_and(|(from, until)| from <= on && on <= until);
        self.effective_from <= on && !suspended
    }
}

impl ExportControls {
    /// The table embedded from `data/export_controls.csv`, parsed once on
    /// first use.
    ///
    /// # Panics
    /// If the embedded CSV is malformed, which the tests of this module rule
    /// out for the file shipped.
    pub fn embedded() -> &'static ExportControls {
        &EMBEDDED
    }

    /// Every element under control on `on` — in force and not suspended — in
    /// table order.
    pub fn controlled_elements(&self, on: Date) -> Vec<ControlHit> {
        self.controls
            .iter()
            .filter(|c| c.in_force(on))
            .map(|c| ControlHit {
                announcement: c.announcement,
                element: c.element,
            })
            .collect()
    }

    /// The controlled elements in force on `on` whose share of the lot's rare
    /// earth content (`share_ppm`, parts per million of TREO) is non-zero and
    /// reaches `threshold_ppm`. Product kind plays no part: No. 18 controls
    /// content, whatever the item is called.
    pub fn controlled_content(
        &self,
        on: Date,
        share_ppm: impl Fn(Element) -> u32,
        threshold_ppm: u32,
    ) -> Vec<ControlHit> {
        self.controlled_elements(on)
            .into_iter()
            .filter(|hit| {
                let share = share_ppm(hit.element);
                share > 0 && share >= threshold_ppm
            })
            .collect()
    }

    fn from_csv(name: &'static str, text: &'static str) -> Result<ExportControls, TableError> {
        let mut controls: Vec<Control> = Vec::new();
        for record in table::read(name, text, COLUMNS)? {
            let control = control_from(&record)?;
            let twice = controls
                .iter()
                .any(|c| c.announcement == control.announcement && c.element == control.element);
            if twice {
                return Err(record.invalid(
                    "element",
                    format!(
                        "{} is listed twice for {}",
                        control.element, control.announcement
                    ),
                ));
            }
            controls.push(control);
        }
        Ok(ExportControls { controls })
    }
}

/// Reads and checks one row.
fn control_from(record: &Record<5>) -> Result<Control, TableError> {
    let [
        announcement,
        element,
        effective_from,
        suspended_from,
        suspended_until,
    ] = record.fields;
    if announcement.trim().is_empty() {
        return Err(record.invalid("announcement", "the announcement is empty"));
    }
    let element = element
        .parse::<Element>()
        .map_err(|e| record.invalid("element", e.to_string()))?;
    let effective_from = table::date(record, "effective_from", effective_from)?;
    let suspended = match (suspended_from, suspended_until) {
        ("", "") => None,
        ("", _) | (_, "") => {
            return Err(record.invalid(
                "suspended_from",
                "a suspension needs both its first and its last day",
            ));
        }
        (from, until) => {
            let from = table::date(record, "suspended_from", from)?;
            let until = table::date(record, "suspended_until", until)?;
            if until < from {
                return Err(
                    record.invalid("suspended_until", "the suspension ends before it begins")
                );
            }
            Some((from, until))
        }
    };
    Ok(Control {
        announcement,
        element,
        effective_from,
        suspended,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const NO_18: &str = "MOFCOM/GAC 2025 No. 18";
    const NO_57: &str = "MOFCOM/GAC 2025 No. 57";

    /// A Tb- and Dy-bearing NdFeB magnet: shares of its rare earth content.
    fn magnet(e: Element) -> u32 {
        match e {
            Element::Nd => 700_000,
            Element::Pr => 230_000,
            Element::Dy => 50_000,
            Element::Tb => 20_000,
            _ => 0,
        }
    }

    #[test]
    fn the_embedded_table_loads() {
        let lines = EXPORT_CONTROLS_CSV
            .lines()
            .filter(|l| !l.is_empty())
            .count();
        assert_eq!(ExportControls::embedded().controls.len(), lines - 1);
    }

    #[test]
    fn a_terbium_bearing_magnet_hits_no_18() {
        let hits = ExportControls::embedded().controlled_content(date!(2025 - 06 - 01), magnet, 1);
        assert_eq!(
            hits,
            vec![
                ControlHit {
                    announcement: NO_18,
                    element: Element::Tb
                },
                ControlHit {
                    announcement: NO_18,
                    element: Element::Dy
                },
            ]
        );
        // Before No. 18 took effect, nothing was controlled.
        let before =
            ExportControls::embedded().controlled_content(date!(2025 - 04 - 03), magnet, 1);
        assert!(before.is_empty());
    }

    #[test]
    fn the_threshold_is_a_share_of_the_content() {
        let controls = ExportControls::embedded();
        let hits = controls.controlled_content(date!(2025 - 06 - 01), magnet, 30_000);
        assert_eq!(
            hits.iter().map(|h| h.element).collect::<Vec<_>>(),
            vec![Element::Dy]
        );
        let none = controls.controlled_content(date!(2025 - 06 - 01), magnet, 50_001);
        assert!(none.is_empty());
    }

    #[test]
    fn pure_lanthanum_oxide_hits_nothing() {
        let la = |e: Element| if e == Element::La { 1_000_000 } else { 0 };
        let controls = ExportControls::embedded();
        for on in [date!(2025 - 06 - 01), date!(2026 - 12 - 01)] {
            assert!(controls.controlled_content(on, la, 0).is_empty());
        }
    }

    #[test]
    fn holmium_is_free_while_no_57_is_suspended() {
        let ho = |e: Element| if e == Element::Ho { 1_000_000 } else { 0 };
        let controls = ExportControls::embedded();
        assert!(
            controls
                .controlled_content(date!(2025 - 12 - 01), ho, 1)
                .is_empty()
        );
        assert!(
            controls
                .controlled_content(date!(2026 - 11 - 10), ho, 1)
                .is_empty()
        );
        assert_eq!(
            controls.controlled_content(date!(2026 - 11 - 20), ho, 1),
            vec![ControlHit {
                announcement: NO_57,
                element: Element::Ho
            }]
        );
    }

    #[test]
    fn controlled_elements_follow_the_dates() {
        let controls = ExportControls::embedded();
        assert_eq!(controls.controlled_elements(date!(2025 - 06 - 01)).len(), 7);
        assert_eq!(
            controls.controlled_elements(date!(2026 - 11 - 11)).len(),
            12
        );
    }

    #[test]
    fn bad_rows_are_refused() {
        let header = "announcement,element,effective_from,suspended_from,suspended_until";
        let rows = [
            (",Sm,2025-04-04,,", "announcement"),
            ("No. 1,Pm,2025-04-04,,", "element"),
            ("No. 1,Sm,4 April 2025,,", "effective_from"),
            ("No. 1,Sm,2025-04-04,2025-05-01,", "suspended_from"),
            (
                "No. 1,Sm,2025-04-04,2025-05-01,2025-04-30",
                "suspended_until",
            ),
            ("No. 1,Sm,2025-04-04,,\nNo. 1,Sm,2025-05-04,,", "element"),
        ];
        for (row, column) in rows {
            let text: &'static str = Box::leak(format!("{header}\n{row}\n").into_boxed_str());
            match ExportControls::from_csv("test", text) {
                Err(TableError::Value { column: c, .. }) => assert_eq!(c, column, "{row}"),
                other => panic!("{row}: {other:?}"),
            }
        }
    }
}
