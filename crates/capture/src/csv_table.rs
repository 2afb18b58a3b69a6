//! CSV files of flows, as enterprises keep them in spreadsheets.
//!
//! # Format
//!
//! UTF-8 text (a byte-order mark is allowed; save from a spreadsheet as "CSV UTF-8"), comma
//! separated, with a header line naming the columns. `kind` is required; every other column is
//! optional and columns may come in any order. Blank cells mean absent, and rows whose cells are
//! all blank are skipped. One row is one flow, except for transformations (below).
//!
//! | column | meaning | written |
//! |---|---|---|
//! | `kind` | the flow | `opening`, `extract`, `import`, `transform_input`, `transform_output`, `ship`, `receive`, `transfer`, `export`, `adjust`, `correction` |
//! | `event_time` | when it happened | RFC 3339 with offset: `2025-03-04T09:30:00+08:00` |
//! | `enterprise` | the recording enterprise | its 18-character USCC |
//! | `facility`, `reference` | where, and the enterprise's own document number | text |
//! | `lot` | the lot made, moved or consumed | `uscc/<USCC>/10/<lot>` or `01/<GTIN-14>/10/<lot>` |
//! | `product` | catalogue code of a new lot | `ORE-BAOTOU-MIX50`, `OXI-PRND`, … |
//! | `wet_mass`, `mass` | weighed mass | `32.5 t`, `830 kg`, `500 g` |
//! | `moisture`, `grade`, `purity` | shares | `8%`, `50.2%`, `99.5%` |
//! | `basis` | basis of the grade | `dry` (default) or `wet` |
//! | `distribution` | element shares of the TREO | `Nd:75%;Pr:24.9%` |
//! | `feed_origin` | origin of a new lot or a transformation input | `domestic_ore`, `imported_ore`, `monazite`, `by_product`, `recycled_scrap`, `declared` |
//! | `to`, `from`, `holder` | counterparties | USCC |
//! | `shipment`, `contract`, `invoice`, `document`, `customs_declaration`, `commodity_code`, `licence`, `supplier` | documents | text; `document` of an `opening` may list several, separated by `;` |
//! | `origin_country`, `destination_country` | abroad | ISO 3166-1 alpha-2: `MM`, `JP` |
//! | `process` | of a transformation | `ore_dressing`, `cracking`, `separation`, `metal_smelting`, `recycling`, `magnet_making` |
//! | `change`, `reason` | of an `adjust`: signed mass and why | `-1.2 t`; `stock_take`, `circuit_hold_up`, `loss`, `destruction`, `assay_revision` |
//! | `corrects`, `reason` | of a `correction`: the ledger index declared wrong, and why | `42`; text |
//! | `group` | ties the rows of one transformation | any text |
//!
//! A column that does not apply to a row's kind must be blank there, so that nothing typed is
//! silently dropped.
//!
//! **Transformations.** A transformation consumes inputs and makes outputs, so it takes several
//! rows: one `transform_input` row per input (`lot`, `mass`, `feed_origin`) and one
//! `transform_output` row per new lot (`lot`, `product`, measurement columns, `distribution`).
//! The rows share a `group` value and repeat the same `event_time`, `enterprise`, `facility`,
//! `reference` and `process`; they become one `transform` record, placed where the group's first
//! row was.
//!
//! **Errors** name the data row — row 1 is the first line below the header (a spreadsheet's row
//! 2) — and the column, in [`CaptureError::row`] and [`CaptureError::field`].
//!
//! # Example
//!
//! A mine extracts concentrate and ships it; the separation plant receives it and separates it
//! into praseodymium-neodymium oxide and lanthanum-cerium carbonate (`examples/flows.csv` in
//! this crate is a longer file):
//!
//! ```
//! let csv = "\
//! kind,event_time,enterprise,facility,lot,product,wet_mass,moisture,grade,distribution,feed_origin,mass,to,from,shipment,process,group
//! extract,2025-03-03T08:00:00+08:00,91150206000000019W,BYO-MINE-1,uscc/91150206000000019W/10/C2503-01,ORE-BAOTOU-MIX50,120 t,8%,50.2%,,,,,,,,
//! ship,2025-03-04T10:00:00+08:00,91150206000000019W,,uscc/91150206000000019W/10/C2503-01,,,,,,,60 t,91150271000000027U,,WB-2503-0007,,
//! receive,2025-03-05T15:20:00+08:00,91150271000000027U,BT-SEP-1,uscc/91150206000000019W/10/C2503-01,,,,,,,59.8 t,,91150206000000019W,WB-2503-0007,,
//! transform_input,2025-03-20T18:00:00+08:00,91150271000000027U,BT-SEP-1,uscc/91150206000000019W/10/C2503-01,,,,,,domestic_ore,59.8 t,,,,separation,S-0320
//! transform_output,2025-03-20T18:00:00+08:00,91150271000000027U,BT-SEP-1,uscc/91150271000000027U/10/PN2503-01,OXI-PRND,5.3 t,,99.5%,Nd:75%;Pr:25%,,,,,,separation,S-0320
//! transform_output,2025-03-20T18:00:00+08:00,91150271000000027U,BT-SEP-1,uscc/91150271000000027U/10/LC2503-01,MIX-LACE-CARB,46 t,,45%,La:34%;Ce:66%,,,,,,separation,S-0320
//! ";
//! let records = retrace_capture::parse_csv(csv.as_bytes()).unwrap();
//! assert_eq!(records.len(), 4);
//! assert_eq!(records[3].kind_token(), "flow.transform");
//! ```

use std::collections::HashMap;
use std::io::Read;

use retrace_domain::facility::Process;
use retrace_domain::flow::{Flow, FlowKind, NewLot, Transform, TransformInput};
use retrace_domain::record::Record;
use serde_json::{Map, Value};

use crate::json::{FieldError, FlowHead, check_count, flow_body, from_value};
use crate::{CaptureError, MAX_RECORDS};

/// A record read from CSV, with the rows it came from, so that a refusal the store names by
/// record and field can be shown to the clerk by row and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvRecord {
    pub record: Record,
    /// The first data row of the record, counted from 1 below the header.
    pub row: usize,
    /// The row of each part of the record: the record itself, or each input and output of a
    /// transformation.
    parts: Vec<Part>,
}

/// A part of a record and the row it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Part {
    /// The path of the part in the record: empty for the whole record, `inputs[1]`,
    /// `outputs[0]`.
    path: String,
    row: usize,
    kind: RowKind,
}

impl CsvRecord {
    /// The data row and the column a field of the record came from, for a `field` path as the
    /// store's refusals give it (`inputs[1].mass`, `output.measurement.grade`). The column is
    /// `None` when the field has none of its own.
    pub fn locate(&self, field: &str) -> (usize, Option<&'static str>) {
        for part in &self.parts {
            let rest = if part.path.is_empty() {
                Some(field)
            } else if field == part.path {
                Some("")
            } else {
                field
                    .strip_prefix(part.path.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
            };
            if let Some(rest) = rest {
                return (
                    part.row,
                    column_at(&part.kind.fields(), rest).map(Column::name),
                );
            }
        }
        let column = match field.split(['.', '[']).next().unwrap_or_default() {
            "process" => Some(Column::Process),
            "inputs" | "outputs" => Some(Column::Group),
            top => HEAD_COLUMNS.into_iter().find(|c| c.name() == top),
        };
        (self.row, column.map(Column::name))
    }
}

/// Parses a CSV file of flows (see the [module documentation](self) for the format).
///
/// # Errors
/// A [`CaptureError`] naming the data row (from 1) and the column; with `line` as well when the
/// file is not well-formed CSV (a row with more or fewer cells than the header, text that is not
/// UTF-8).
pub fn parse_csv<R: Read>(reader: R) -> Result<Vec<Record>, CaptureError> {
    Ok(parse_csv_rows(reader)?
        .into_iter()
        .map(|r| r.record)
        .collect())
}

/// Like [`parse_csv`], keeping the row each record starts on.
///
/// # Errors
/// As [`parse_csv`].
pub fn parse_csv_rows<R: Read>(reader: R) -> Result<Vec<CsvRecord>, CaptureError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = Header::read(&mut reader)?;
    let mut batch = Batch::default();
    let mut cells = csv::StringRecord::new();
    let mut row = 0;
    loop {
        match reader.read_record(&mut cells) {
            Ok(true) => row += 1,
            Ok(false) => break,
            Err(e) => return Err(csv_error(&e, Some(row + 1))),
        }
        let cells: Vec<(Column, &str)> = header
            .columns
            .iter()
            .zip(cells.iter())
            .filter(|(_, cell)| !cell.is_empty())
            .map(|(column, cell)| (*column, cell))
            .collect();
        if !cells.is_empty() {
            batch.add(row, &cells)?;
        }
    }
    batch.finish()
}

/// The columns of the format, in the order of the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Kind,
    EventTime,
    Enterprise,
    Facility,
    Reference,
    Lot,
    Product,
    WetMass,
    Moisture,
    Grade,
    Basis,
    Purity,
    Distribution,
    FeedOrigin,
    Mass,
    To,
    From,
    Shipment,
    Contract,
    Invoice,
    Document,
    Holder,
    OriginCountry,
    DestinationCountry,
    CustomsDeclaration,
    CommodityCode,
    Licence,
    Supplier,
    Process,
    Change,
    Reason,
    Corrects,
    Group,
}

impl Column {
    const ALL: [Column; 33] = [
        Column::Kind,
        Column::EventTime,
        Column::Enterprise,
        Column::Facility,
        Column::Reference,
        Column::Lot,
        Column::Product,
        Column::WetMass,
        Column::Moisture,
        Column::Grade,
        Column::Basis,
        Column::Purity,
        Column::Distribution,
        Column::FeedOrigin,
        Column::Mass,
        Column::To,
        Column::From,
        Column::Shipment,
        Column::Contract,
        Column::Invoice,
        Column::Document,
        Column::Holder,
        Column::OriginCountry,
        Column::DestinationCountry,
        Column::CustomsDeclaration,
        Column::CommodityCode,
        Column::Licence,
        Column::Supplier,
        Column::Process,
        Column::Change,
        Column::Reason,
        Column::Corrects,
        Column::Group,
    ];

    fn name(self) -> &'static str {
        match self {
            Column::Kind => "kind",
            Column::EventTime => "event_time",
            Column::Enterprise => "enterprise",
            Column::Facility => "facility",
            Column::Reference => "reference",
            Column::Lot => "lot",
            Column::Product => "product",
            Column::WetMass => "wet_mass",
            Column::Moisture => "moisture",
            Column::Grade => "grade",
            Column::Basis => "basis",
            Column::Purity => "purity",
            Column::Distribution => "distribution",
            Column::FeedOrigin => "feed_origin",
            Column::Mass => "mass",
            Column::To => "to",
            Column::From => "from",
            Column::Shipment => "shipment",
            Column::Contract => "contract",
            Column::Invoice => "invoice",
            Column::Document => "document",
            Column::Holder => "holder",
            Column::OriginCountry => "origin_country",
            Column::DestinationCountry => "destination_country",
            Column::CustomsDeclaration => "customs_declaration",
            Column::CommodityCode => "commodity_code",
            Column::Licence => "licence",
            Column::Supplier => "supplier",
            Column::Process => "process",
            Column::Change => "change",
            Column::Reason => "reason",
            Column::Corrects => "corrects",
            Column::Group => "group",
        }
    }
}

/// The envelope columns every row may carry, named as the fields of the flow envelope.
const HEAD_COLUMNS: [Column; 4] = [
    Column::EventTime,
    Column::Enterprise,
    Column::Facility,
    Column::Reference,
];

struct Header {
    columns: Vec<Column>,
}

impl Header {
    fn read<R: Read>(reader: &mut csv::Reader<R>) -> Result<Header, CaptureError> {
        let names = reader.headers().map_err(|e| csv_error(&e, None))?;
        if names.iter().all(str::is_empty) {
            return Err(CaptureError::batch(
                "the file is empty: its first line is the header naming the columns",
            ));
        }
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let name = name.trim_start_matches('\u{feff}').to_ascii_lowercase();
            let column_error = |message: String| CaptureError {
                field: Some(name.clone()),
                ..CaptureError::batch(message)
            };
            let Some(column) = Column::ALL.into_iter().find(|c| c.name() == name) else {
                let known: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
                return Err(column_error(format!(
                    "the header names an unknown column `{name}`; the columns are {}",
                    known.join(", ")
                )));
            };
            if columns.contains(&column) {
                return Err(column_error(format!(
                    "the header names the column `{name}` twice"
                )));
            }
            columns.push(column);
        }
        if !columns.contains(&Column::Kind) {
            return Err(CaptureError {
                field: Some("kind".into()),
                ..CaptureError::batch("the header has no `kind` column, which every row needs")
            });
        }
        Ok(Header { columns })
    }
}

fn csv_error(e: &csv::Error, row: Option<usize>) -> CaptureError {
    let line = e.position().and_then(|p| usize::try_from(p.line()).ok());
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "cell {} is not UTF-8 text: save the file as \"CSV UTF-8\"",
            err.field() + 1
        ),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} cells where the header has {expected_len}"),
        csv::ErrorKind::Io(io) => format!("the file cannot be read: {io}"),
        _ => e.to_string(),
    };
    CaptureError {
        row,
        line: Some(line.unwrap_or(0).max(1)),
        ..CaptureError::batch(message)
    }
}

/// What a row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowKind {
    Flow(FlowKind),
    TransformInput,
    TransformOutput,
}

impl RowKind {
    fn parse(text: &str) -> Result<RowKind, String> {
        match text {
            "transform_input" => Ok(RowKind::TransformInput),
            "transform_output" => Ok(RowKind::TransformOutput),
            "transform" => Err(
                "a transformation takes one `transform_input` row per input and one \
                 `transform_output` row per output, tied together by `group`"
                    .into(),
            ),
            _ => FlowKind::ALL
                .into_iter()
                .find(|k| k.as_str() == text)
                .map(RowKind::Flow)
                .ok_or_else(|| {
                    format!(
                        "`{text}` is not a kind of row: write opening, extract, import, \
                         transform_input, transform_output, ship, receive, transfer, export, \
                         adjust or correction"
                    )
                }),
        }
    }

    fn name(self) -> &'static str {
        match self {
            RowKind::Flow(kind) => kind.as_str(),
            RowKind::TransformInput => "transform_input",
            RowKind::TransformOutput => "transform_output",
        }
    }

    /// The columns of the kind's particulars and where each goes in the record's JSON form.
    fn fields(self) -> Vec<Field> {
        let mut fields = Vec::new();
        let text = |column, path: &str| Field {
            column,
            path: path.to_owned(),
            cell: Cell::Text,
        };
        match self {
            RowKind::Flow(FlowKind::Opening) => {
                fields.extend(new_lot("output."));
                fields.push(Field {
                    column: Column::Document,
                    path: "documents".into(),
                    cell: Cell::List,
                });
            }
            RowKind::Flow(FlowKind::Extract) => fields.extend(new_lot("output.")),
            RowKind::Flow(FlowKind::Import) => {
                fields.extend(new_lot("output."));
                fields.push(text(Column::CustomsDeclaration, "customs_declaration"));
                fields.push(text(Column::OriginCountry, "origin_country"));
                fields.push(text(Column::Supplier, "supplier"));
            }
            RowKind::TransformInput => {
                fields.push(text(Column::Lot, "lot"));
                fields.push(text(Column::Mass, "mass"));
                fields.push(text(Column::FeedOrigin, "feed_origin"));
            }
            RowKind::TransformOutput => fields.extend(new_lot("")),
            RowKind::Flow(FlowKind::Ship) => {
                for (column, path) in [
                    (Column::Lot, "lot"),
                    (Column::Mass, "mass"),
                    (Column::To, "to"),
                    (Column::Shipment, "shipment"),
                    (Column::Contract, "contract"),
                    (Column::Invoice, "invoice"),
                ] {
                    fields.push(text(column, path));
                }
            }
            RowKind::Flow(FlowKind::Receive) => {
                for (column, path) in [
                    (Column::Lot, "lot"),
                    (Column::From, "from"),
                    (Column::Shipment, "shipment"),
                    (Column::Mass, "mass"),
                    (Column::Grade, "grade"),
                ] {
                    fields.push(text(column, path));
                }
            }
            RowKind::Flow(FlowKind::Transfer) => {
                for (column, path) in [
                    (Column::Lot, "lot"),
                    (Column::Mass, "mass"),
                    (Column::To, "to"),
                    (Column::Holder, "holder"),
                    (Column::Document, "document"),
                ] {
                    fields.push(text(column, path));
                }
            }
            RowKind::Flow(FlowKind::Export) => {
                for (column, path) in [
                    (Column::Lot, "lot"),
                    (Column::Mass, "mass"),
                    (Column::DestinationCountry, "destination_country"),
                    (Column::CommodityCode, "commodity_code"),
                    (Column::CustomsDeclaration, "customs_declaration"),
                    (Column::Licence, "licence"),
                ] {
                    fields.push(text(column, path));
                }
            }
            RowKind::Flow(FlowKind::Adjust) => {
                for (column, path) in [
                    (Column::Lot, "lot"),
                    (Column::Change, "change"),
                    (Column::Reason, "reason"),
                    (Column::Grade, "grade"),
                ] {
                    fields.push(text(column, path));
                }
            }
            RowKind::Flow(FlowKind::Correction) => {
                fields.push(Field {
                    column: Column::Corrects,
                    path: "corrects".into(),
                    cell: Cell::Index,
                });
                fields.push(text(Column::Reason, "reason"));
            }
            // `RowKind::parse` answers `transform` with the two row kinds above.
            RowKind::Flow(FlowKind::Transform) => {}
        }
        fields
    }
}

/// The columns of a new lot, under `prefix` (`output.` or nothing).
fn new_lot(prefix: &str) -> Vec<Field> {
    [
        (Column::Lot, "lot", Cell::Text),
        (Column::Product, "product", Cell::Text),
        (Column::WetMass, "measurement.wet_mass", Cell::Text),
        (Column::Moisture, "measurement.moisture", Cell::Text),
        (Column::Grade, "measurement.grade", Cell::Text),
        (Column::Basis, "measurement.basis", Cell::Text),
        (Column::Purity, "measurement.purity", Cell::Text),
        (Column::Distribution, "distribution", Cell::Distribution),
        (Column::FeedOrigin, "feed_origin", Cell::Text),
    ]
    .into_iter()
    .map(|(column, path, cell)| Field {
        column,
        path: format!("{prefix}{path}"),
        cell,
    })
    .collect()
}

/// Where a column's cell goes in the record's JSON form, and how it is written there.
struct Field {
    column: Column,
    /// A dotted path: `output.measurement.grade`.
    path: String,
    cell: Cell,
}

#[derive(Clone, Copy)]
enum Cell {
    Text,
    /// `;`-separated texts.
    List,
    /// `Nd:75%;Pr:24.9%`.
    Distribution,
    /// A ledger index.
    Index,
}

/// One data row: its number and its non-blank cells.
struct Row<'a> {
    number: usize,
    kind: RowKind,
    cells: &'a [(Column, &'a str)],
}

impl Row<'_> {
    fn get(&self, column: Column) -> Option<&str> {
        self.cells
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, cell)| *cell)
    }

    fn error(&self, column: Option<Column>, message: impl Into<String>) -> CaptureError {
        row_error(self.number, column, message)
    }

    /// The row's error for a field error of the record built from `fields`: the column is the
    /// one whose path holds the field at fault (or, for a missing object, the first column
    /// inside it).
    fn field_error(&self, fields: &[Field], e: FieldError) -> CaptureError {
        let column = column_at(fields, &e.path);
        let message = match column {
            Some(column) if e.message.starts_with("missing field") => format!(
                "the `{}` column is required for a {} row",
                column.name(),
                self.kind.name()
            ),
            _ => e.message,
        };
        self.error(column, message)
    }

    /// The flow envelope of the row.
    fn head(&self) -> Result<FlowHead, CaptureError> {
        let head = HEAD_COLUMNS
            .iter()
            .filter_map(|c| {
                self.get(*c)
                    .map(|cell| (c.name().to_owned(), Value::String(cell.to_owned())))
            })
            .collect();
        from_value(Value::Object(head)).map_err(|e| self.field_error(&[], e))
    }

    /// The record's JSON form of the row's particulars, refusing cells in columns the kind has
    /// no use for.
    fn body(&self, fields: &[Field]) -> Result<Value, CaptureError> {
        let mut body = Map::new();
        for field in fields {
            let value = match self.get(field.column) {
                Some(cell) => Some(self.cell(field, cell)?),
                None => None,
            };
            place(&mut body, &field.path, value);
        }
        for (column, _) in self.cells {
            let used = *column == Column::Kind
                || HEAD_COLUMNS.contains(column)
                || fields.iter().any(|f| f.column == *column)
                || (matches!(
                    self.kind,
                    RowKind::TransformInput | RowKind::TransformOutput
                ) && matches!(column, Column::Group | Column::Process));
            if !used {
                return Err(self.error(
                    Some(*column),
                    format!(
                        "the `{}` column does not apply to a {} row: leave it blank",
                        column.name(),
                        self.kind.name()
                    ),
                ));
            }
        }
        Ok(Value::Object(body))
    }

    fn cell(&self, field: &Field, cell: &str) -> Result<Value, CaptureError> {
        let column = Some(field.column);
        Ok(match field.cell {
            Cell::Text => Value::String(cell.to_owned()),
            Cell::List => Value::Array(
                cell.split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
            Cell::Index => Value::from(cell.parse::<u64>().map_err(|_| {
                self.error(
                    column,
                    format!("`{cell}` is not a ledger index: write a whole number such as 42"),
                )
            })?),
            Cell::Distribution => {
                let mut shares = Map::new();
                for part in cell.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    let Some((element, share)) = part.split_once(':') else {
                        return Err(self.error(
                            column,
                            format!(
                                "`{part}` is not an element share: write the distribution as \
                                 `Nd:75%;Pr:24.9%`"
                            ),
                        ));
                    };
                    shares.insert(
                        element.trim().to_owned(),
                        Value::String(share.trim().to_owned()),
                    );
                }
                Value::Object(shares)
            }
        })
    }
}

fn row_error(row: usize, column: Option<Column>, message: impl Into<String>) -> CaptureError {
    CaptureError {
        row: Some(row),
        field: column.map(|c| c.name().to_owned()),
        ..CaptureError::batch(message)
    }
}

/// Sets the value at a dotted `path` of `map`, making the objects on the way; with no value, makes
/// only the objects, so that a missing field is reported inside them, where its column is known.
fn place(map: &mut Map<String, Value>, path: &str, value: Option<Value>) {
    match path.split_once('.') {
        None => {
            if let Some(value) = value {
                map.insert(path.to_owned(), value);
            }
        }
        Some((first, rest)) => {
            let inner = map
                .entry(first)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = inner {
                place(inner, rest, value);
            }
        }
    }
}

/// The column a field `path` of a row's record comes from: the column whose path holds it (or,
/// for a whole object such as `measurement`, the first column inside it), or an envelope column.
fn column_at(fields: &[Field], path: &str) -> Option<Column> {
    HEAD_COLUMNS
        .into_iter()
        .find(|c| c.name() == path)
        .or_else(|| {
            fields
                .iter()
                .find(|f| within(path, &f.path))
                .or_else(|| fields.iter().find(|f| within(&f.path, path)))
                .map(|f| f.column)
        })
}

/// Whether `path` is `ancestor` or lies inside it.
fn within(path: &str, ancestor: &str) -> bool {
    path == ancestor
        || ancestor.is_empty()
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with(['.', '[']))
}

/// The records of a file as they are read: ready ones, and places held for transformations
/// whose rows are still coming.
#[derive(Default)]
struct Batch {
    slots: Vec<Option<CsvRecord>>,
    groups: Vec<Group>,
    by_name: HashMap<String, usize>,
}

/// The rows of one transformation so far.
struct Group {
    name: String,
    /// Where in the batch the transformation goes: the place of its first row.
    slot: usize,
    first_row: usize,
    head: FlowHead,
    process: Process,
    inputs: Vec<TransformInput>,
    outputs: Vec<NewLot>,
    /// The row of each input, then of each output.
    input_rows: Vec<usize>,
    output_rows: Vec<usize>,
}

impl Batch {
    fn add(&mut self, number: usize, cells: &[(Column, &str)]) -> Result<(), CaptureError> {
        let kind = cells
            .iter()
            .find(|(c, _)| *c == Column::Kind)
            .ok_or_else(|| row_error(number, Some(Column::Kind), "every row needs a `kind`"))?;
        let kind = RowKind::parse(kind.1).map_err(|m| row_error(number, Some(Column::Kind), m))?;
        let row = Row {
            number,
            kind,
            cells,
        };
        let fields = row.kind.fields();
        let head = row.head()?;
        let body = row.body(&fields)?;
        match row.kind {
            RowKind::Flow(kind) => {
                let flow = flow_body(kind, body).map_err(|e| row.field_error(&fields, e))?;
                self.hold(&row)?;
                self.slots.push(Some(CsvRecord {
                    record: Record::Flow(head.with(flow)),
                    row: number,
                    parts: vec![Part {
                        path: String::new(),
                        row: number,
                        kind: row.kind,
                    }],
                }));
                Ok(())
            }
            RowKind::TransformInput => {
                let input = from_value(body).map_err(|e| row.field_error(&fields, e))?;
                let group = self.group(&row, head)?;
                group.inputs.push(input);
                group.input_rows.push(number);
                Ok(())
            }
            RowKind::TransformOutput => {
                let output = from_value(body).map_err(|e| row.field_error(&fields, e))?;
                let group = self.group(&row, head)?;
                group.outputs.push(output);
                group.output_rows.push(number);
                Ok(())
            }
        }
    }

    /// Checks that one more record fits in a batch.
    fn hold(&self, row: &Row<'_>) -> Result<(), CaptureError> {
        if self.slots.len() == MAX_RECORDS {
            return Err(row.error(
                None,
                format!("the file holds more than {MAX_RECORDS} records: split it"),
            ));
        }
        Ok(())
    }

    /// The group a transformation row belongs to, opened at this row if it is the first,
    /// checking that the row repeats the group's envelope and process.
    fn group(&mut self, row: &Row<'_>, head: FlowHead) -> Result<&mut Group, CaptureError> {
        let Some(name) = row.get(Column::Group) else {
            return Err(row.error(
                Some(Column::Group),
                "a transformation row needs a `group`: the rows with the same group become one \
                 transformation",
            ));
        };
        let Some(process) = row.get(Column::Process) else {
            return Err(row.error(
                Some(Column::Process),
                format!(
                    "the `process` column is required for a {} row",
                    row.kind.name()
                ),
            ));
        };
        let process: Process = from_value(Value::String(process.to_owned()))
            .map_err(|e| row.error(Some(Column::Process), e.message))?;
        if let Some(&at) = self.by_name.get(name) {
            let group = &self.groups[at];
            let differs = [
                (Column::EventTime, group.head.event_time != head.event_time),
                (Column::Enterprise, group.head.enterprise != head.enterprise),
                (Column::Facility, group.head.facility != head.facility),
                (Column::Reference, group.head.reference != head.reference),
                (Column::Process, group.process != process),
            ]
            .into_iter()
            .find(|(_, differs)| *differs);
            if let Some((column, _)) = differs {
                return Err(row.error(
                    Some(column),
                    format!(
                        "the `{}` differs from row {} of group `{name}`: every row of a \
                         transformation repeats its event_time, enterprise, facility, reference \
                         and process",
                        column.name(),
                        group.first_row
                    ),
                ));
            }
            return Ok(&mut self.groups[at]);
        }
        self.hold(row)?;
        self.by_name.insert(name.to_owned(), self.groups.len());
        self.groups.push(Group {
            name: name.to_owned(),
            slot: self.slots.len(),
            first_row: row.number,
            head,
            process,
            inputs: Vec::new(),
            outputs: Vec::new(),
            input_rows: Vec::new(),
            output_rows: Vec::new(),
        });
        self.slots.push(None);
        let at = self.groups.len() - 1;
        Ok(&mut self.groups[at])
    }

    fn finish(mut self) -> Result<Vec<CsvRecord>, CaptureError> {
        check_count(self.slots.len())?;
        for group in self.groups {
            let slot = group.slot;
            self.slots[slot] = Some(transformation(group)?);
        }
        Ok(self.slots.into_iter().flatten().collect())
    }
}

fn transformation(group: Group) -> Result<CsvRecord, CaptureError> {
    let missing = if group.inputs.is_empty() {
        Some("transform_input")
    } else if group.outputs.is_empty() {
        Some("transform_output")
    } else {
        None
    };
    if let Some(kind) = missing {
        return Err(row_error(
            group.first_row,
            Some(Column::Group),
            format!("the transformation `{}` has no {kind} row", group.name),
        ));
    }
    let parts = [
        ("inputs", RowKind::TransformInput, &group.input_rows),
        ("outputs", RowKind::TransformOutput, &group.output_rows),
    ]
    .into_iter()
    .flat_map(|(side, kind, rows)| {
        rows.iter().enumerate().map(move |(i, row)| Part {
            path: format!("{side}[{i}]"),
            row: *row,
            kind,
        })
    })
    .collect();
    let flow = Flow::Transform(Transform {
        process: group.process,
        inputs: group.inputs,
        outputs: group.outputs,
        toll_owner: None,
    });
    Ok(CsvRecord {
        record: Record::Flow(group.head.with(flow)),
        row: group.first_row,
        parts,
    })
}
