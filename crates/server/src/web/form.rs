//! A flow typed into a web form is read by the same parser as a CSV upload:
//! the form's fields are the CSV columns of `retrace_capture::csv_table`,
//! and a form is written as a one-record CSV file — a transformation as its
//! input and output rows — and read back with
//! [`retrace_capture::parse_csv_rows`]. So a form accepts exactly what a
//! file does, and an error found in either is named the same way: by row
//! and column, which a form turns back into its field.

use retrace_capture::{CaptureError, CsvRecord, parse_csv_rows};
use retrace_domain::flow::FlowKind;
use retrace_domain::uscc::Uscc;
use retrace_store::StoreError;

use super::i18n::Tr;

/// How many inputs and outputs the transformation form offers.
pub(crate) const TRANSFORM_PARTS: usize = 3;

/// What a field takes, which decides its input element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    Text,
    Time,
    Product,
    /// One of the tokens, each labelled by `{prefix}.{token}`.
    Choice(&'static str, &'static [&'static str]),
}

/// A field of a flow form: its CSV column, whether the flow needs it, what it takes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    pub column: &'static str,
    pub required: bool,
    pub input: Input,
}

const fn f(column: &'static str, required: bool) -> Field {
    Field {
        column,
        required,
        input: Input::Text,
    }
}

const FEED_ORIGINS: &[&str] = &[
    "domestic_ore",
    "imported_ore",
    "monazite",
    "by_product",
    "recycled_scrap",
    "declared",
];
const PROCESSES: &[&str] = &[
    "ore_dressing",
    "cracking",
    "separation",
    "metal_smelting",
    "recycling",
    "magnet_making",
];
const ADJUST_REASONS: &[&str] = &[
    "stock_take",
    "circuit_hold_up",
    "loss",
    "destruction",
    "assay_revision",
];
const BASES: &[&str] = &["dry", "wet"];

const TIME: Field = Field {
    column: "event_time",
    required: true,
    input: Input::Time,
};
const PRODUCT: Field = Field {
    column: "product",
    required: true,
    input: Input::Product,
};
const BASIS: Field = Field {
    column: "basis",
    required: false,
    input: Input::Choice("basis", BASES),
};
const FEED_ORIGIN: Field = Field {
    column: "feed_origin",
    required: false,
    input: Input::Choice("origin", FEED_ORIGINS),
};

/// The fields of a new lot's measurement.
const NEW_LOT: [Field; 8] = [
    f("lot", true),
    PRODUCT,
    f("wet_mass", true),
    f("moisture", false),
    f("grade", true),
    BASIS,
    f("purity", false),
    f("distribution", false),
];

/// The fields of the flow's own row (for a transformation, those shared by
/// its rows), in the order the form shows them.
pub(crate) fn fields(kind: FlowKind) -> Vec<Field> {
    let head = [TIME, f("facility", false), f("reference", false)];
    let mut all: Vec<Field> = head.to_vec();
    match kind {
        FlowKind::Opening => {
            all.extend(NEW_LOT);
            all.push(Field {
                required: true,
                ..FEED_ORIGIN
            });
            all.push(f("document", false));
        }
        FlowKind::Extract => all.extend(NEW_LOT),
        FlowKind::Import => {
            all.extend(NEW_LOT);
            all.extend([
                f("customs_declaration", true),
                f("origin_country", true),
                f("supplier", false),
            ]);
        }
        FlowKind::Transform => all.push(Field {
            column: "process",
            required: true,
            input: Input::Choice("process", PROCESSES),
        }),
        FlowKind::Ship => all.extend([
            f("lot", true),
            f("mass", true),
            f("to", true),
            f("shipment", true),
            f("contract", false),
            f("invoice", false),
        ]),
        FlowKind::Receive => all.extend([
            f("lot", true),
            f("from", true),
            f("shipment", true),
            f("mass", true),
            f("grade", false),
        ]),
        FlowKind::Transfer => all.extend([
            f("lot", true),
            f("mass", true),
            f("to", true),
            f("holder", false),
            f("document", true),
        ]),
        FlowKind::Export => all.extend([
            f("lot", true),
            f("mass", true),
            f("destination_country", true),
            f("commodity_code", true),
            f("customs_declaration", false),
            f("licence", false),
        ]),
        FlowKind::Adjust => all.extend([
            f("lot", true),
            f("change", true),
            Field {
                column: "reason",
                required: true,
                input: Input::Choice("adjust", ADJUST_REASONS),
            },
            f("grade", false),
        ]),
        FlowKind::Correction => all.extend([f("corrects", true), f("reason", true)]),
    }
    all
}

/// The fields of one input of a transformation.
pub(crate) fn input_fields() -> [Field; 3] {
    [
        f("lot", true),
        f("mass", true),
        Field {
            required: true,
            ..FEED_ORIGIN
        },
    ]
}

/// The fields of one output of a transformation.
pub(crate) fn output_fields() -> Vec<Field> {
    NEW_LOT.to_vec()
}

/// The form name of a part's field: `in1_lot`, `out2_grade`.
pub(crate) fn part_name(part: Part, column: &str) -> String {
    match part {
        Part::Input(k) => format!("in{k}_{column}"),
        Part::Output(k) => format!("out{k}_{column}"),
    }
}

/// A row of a transformation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Input(usize),
    Output(usize),
}

/// A form as the browser sent it: field name to value.
pub(crate) type Values = Vec<(String, String)>;

fn value<'a>(values: &'a Values, name: &str) -> &'a str {
    values
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.trim())
}

/// The form written as a CSV file, and which form field each of its data
/// rows came from (`None` for a simple flow's one row).
pub(crate) struct Written {
    pub csv: Vec<u8>,
    rows: Vec<Option<Part>>,
}

/// A time as a `datetime-local` input gives it (`2025-07-01T10:30`), in
/// Asia/Shanghai, written as RFC 3339; anything else is passed on as typed,
/// for the parser to explain.
fn rfc3339(text: &str) -> String {
    let is_local = |t: &str| {
        let b = t.as_bytes();
        (t.len() == 16 || t.len() == 19) && b.get(10) == Some(&b'T') && !t.contains('+')
    };
    match text.len() {
        16 if is_local(text) => format!("{text}:00+08:00"),
        19 if is_local(text) => format!("{text}+08:00"),
        _ => text.to_owned(),
    }
}

/// Writes the form of a `kind` flow by `enterprise` as CSV.
///
/// # Errors
/// A CSV writer failure (it writes into memory, so none is expected).
pub(crate) fn write(
    kind: FlowKind,
    enterprise: &Uscc,
    values: &Values,
) -> Result<Written, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut rows = Vec::new();
    let head: Vec<Field> = fields(kind);
    if kind == FlowKind::Transform {
        let inputs = input_fields();
        let outputs = output_fields();
        let mut header = vec!["kind", "enterprise", "group"];
        header.extend(head.iter().map(|f| f.column));
        for c in inputs.iter().chain(outputs.iter()).map(|f| f.column) {
            if !header.contains(&c) {
                header.push(c);
            }
        }
        out.write_record(&header)?;
        let parts = (1..=TRANSFORM_PARTS)
            .map(Part::Input)
            .chain((1..=TRANSFORM_PARTS).map(Part::Output));
        for part in parts {
            let own: &[Field] = match part {
                Part::Input(_) => &inputs,
                Part::Output(_) => &outputs,
            };
            let blank = own
                .iter()
                .all(|f| value(values, &part_name(part, f.column)).is_empty());
            if blank {
                continue;
            }
            let row: Vec<String> = header
                .iter()
                .map(|column| match *column {
                    "kind" => match part {
                        Part::Input(_) => "transform_input".to_owned(),
                        Part::Output(_) => "transform_output".to_owned(),
                    },
                    "enterprise" => enterprise.to_string(),
                    "group" => "form".to_owned(),
                    "event_time" => rfc3339(value(values, "event_time")),
                    c if head.iter().any(|f| f.column == c) => value(values, c).to_owned(),
                    c if own.iter().any(|f| f.column == c) => {
                        value(values, &part_name(part, c)).to_owned()
                    }
                    _ => String::new(),
                })
                .collect();
            out.write_record(&row)?;
            rows.push(Some(part));
        }
    } else {
        let mut header = vec!["kind", "enterprise"];
        header.extend(head.iter().map(|f| f.column));
        out.write_record(&header)?;
        let row: Vec<String> = header
            .iter()
            .map(|column| match *column {
                "kind" => kind.as_str().to_owned(),
                "enterprise" => enterprise.to_string(),
                "event_time" => rfc3339(value(values, "event_time")),
                c => value(values, c).to_owned(),
            })
            .collect();
        out.write_record(&row)?;
        rows.push(None);
    }
    let csv = out.into_inner().map_err(|e| e.into_error())?;
    Ok(Written { csv, rows })
}

/// Where in a form a problem lies, and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The form field, when the problem names one the form has.
    pub field: Option<String>,
    /// The reason of a refusal (`malformed`, `unknown`, …), when the store refused.
    pub reason: Option<&'static str>,
    /// What the parser or the projector said, as it said it (English).
    pub detail: String,
}

impl Written {
    /// Reads the form back, as a CSV upload would be.
    ///
    /// # Errors
    /// The first problem, at its field.
    pub(crate) fn parse(&self) -> Result<Vec<CsvRecord>, Problem> {
        parse_csv_rows(self.csv.as_slice()).map_err(|e| self.capture_problem(&e))
    }

    fn field_of(&self, row: Option<usize>, column: Option<&str>) -> Option<String> {
        let column = column?;
        let part = row
            .and_then(|r| r.checked_sub(1))
            .and_then(|r| self.rows.get(r))
            .copied()
            .flatten();
        let shared = ["event_time", "facility", "reference", "process"];
        match part {
            Some(part) if !shared.contains(&column) => Some(part_name(part, column)),
            _ => Some(column.to_owned()),
        }
    }

    /// A capture error at its field.
    pub(crate) fn capture_problem(&self, e: &CaptureError) -> Problem {
        Problem {
            field: self.field_of(e.row, e.field.as_deref()),
            reason: None,
            detail: e.message.clone(),
        }
    }

    /// A store refusal of the form's one record at its field.
    pub(crate) fn store_problem(&self, rows: &[CsvRecord], e: &StoreError) -> Option<Problem> {
        let (path, reason, detail) = match e {
            StoreError::Refused { refusal, .. } => (
                refusal.field.as_str(),
                Some(reason_token(refusal.reason)),
                refusal.message.clone(),
            ),
            StoreError::Forbidden { field, why, .. } => (*field, None, why.clone()),
            _ => return None,
        };
        let (row, column) = rows.first().map_or((1, None), |r| r.locate(path));
        Some(Problem {
            field: self.field_of(Some(row), column),
            reason,
            detail,
        })
    }
}

/// The token of a refusal reason, as the catalogue labels it.
pub(crate) fn reason_token(reason: retrace_domain::project::RefusalReason) -> &'static str {
    use retrace_domain::project::RefusalReason;
    match reason {
        RefusalReason::Malformed => "malformed",
        RefusalReason::Unknown => "unknown",
        RefusalReason::Future => "future",
        RefusalReason::OutOfRange => "out_of_range",
    }
}

/// The label of a field by its column (`field.mass`).
pub(crate) fn label(t: Tr, column: &str) -> &'static str {
    t.of("field", column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uscc() -> Uscc {
        Uscc::synthesize("150206", 7)
    }

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_shipment_form_reads_as_a_record() {
        let own = uscc();
        let lot = format!("uscc/{own}/10/C-1");
        let form = values(&[
            ("event_time", "2025-07-01T10:30"),
            ("lot", &lot),
            ("mass", "12.5 t"),
            ("to", Uscc::synthesize("150271", 9).as_str()),
            ("shipment", "WB-1"),
        ]);
        let written = write(FlowKind::Ship, &own, &form).unwrap();
        let rows = written.parse().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].record.kind_token(), "flow.ship");
    }

    #[test]
    fn an_error_comes_back_at_its_field() {
        let own = uscc();
        let form = values(&[
            ("event_time", "2025-07-01T10:30"),
            ("lot", "not a lot"),
            ("mass", "12.5 t"),
        ]);
        let problem = write(FlowKind::Ship, &own, &form)
            .unwrap()
            .parse()
            .unwrap_err();
        assert_eq!(problem.field.as_deref(), Some("lot"));
        assert!(problem.detail.contains("lot"), "{}", problem.detail);
    }

    #[test]
    fn a_transformation_error_names_its_input() {
        let own = uscc();
        let lot = format!("uscc/{own}/10/C-1");
        let out = format!("uscc/{own}/10/P-1");
        let form = values(&[
            ("event_time", "2025-07-01T10:30"),
            ("process", "separation"),
            ("in1_lot", &lot),
            ("in1_mass", "10 t"),
            ("in1_feed_origin", "domestic_ore"),
            ("in2_lot", &lot),
            ("in2_mass", "ten tonnes"),
            ("in2_feed_origin", "domestic_ore"),
            ("out1_lot", &out),
            ("out1_product", "OXI-PRND"),
            ("out1_wet_mass", "1 t"),
            ("out1_grade", "99%"),
            ("out1_distribution", "Nd:75%;Pr:25%"),
        ]);
        let problem = write(FlowKind::Transform, &own, &form)
            .unwrap()
            .parse()
            .unwrap_err();
        assert_eq!(problem.field.as_deref(), Some("in2_mass"), "{problem:?}");
    }
}
