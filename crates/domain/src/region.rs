//! Administrative divisions: the regions that enterprises and facilities lie
//! in and that regulators supervise.
//!
//! A regulator supervises an enterprise whose seat, or any of whose
//! facilities, lies in its region (DESIGN.md §2), and reports are summarised
//! county → prefecture → province → ministry (Art. 9, 12 of the measures), so
//! the system needs the division tree, not just a code format. The table is
//! embedded (`data/regions/`, see its README): National Bureau of Statistics
//! division codes from the china-division package 2.7.0 — close to GB/T 2260,
//! but with development zones (`150271`) and placeholder prefectures (`1101`
//! 市辖区) that GB/T 2260 does not have.
//!
//! A [`RegionCode`] can only be obtained from the table, so holding one proves
//! that the division exists.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use self::table::{Record, TableError};

const PROVINCES_CSV: &str = include_str!("../data/regions/provinces.csv");
const CITIES_CSV: &str = include_str!("../data/regions/cities.csv");
const AREAS_CSV: &str = include_str!("../data/regions/areas.csv");

/// The pseudo-code of the whole country. No GB/T 2260 code is `00`, so it
/// cannot collide with a real division.
const NATION_CODE: &str = "00";
const NATION_NAME: &str = "中华人民共和国";

static EMBEDDED: LazyLock<Regions> = LazyLock::new(|| {
    Regions::from_tables(PROVINCES_CSV, CITIES_CSV, AREAS_CSV)
        .unwrap_or_else(|e| panic!("the embedded region table (data/regions) is malformed: {e}"))
});

/// A division that exists in the embedded table: a province (`15`), a
/// prefecture (`1502`) or a county (`150206`), or the whole country
/// ([`RegionCode::nation`]).
///
/// Codes are kept in their shortest form; [`Regions::parse`] also accepts the
/// six-digit zero-padded GB/T 2260 forms `150000` and `150200`. Ordering is
/// by code text, which lists a region right before everything inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode(&'static str);

impl RegionCode {
    /// The whole country: a pseudo-region (code `00`, 中华人民共和国) that
    /// contains every region. It is the region of a ministry-level regulator
    /// (MIIT, MNR, NDRC — Art. 5 of the measures) and of a national auditor.
    pub const fn nation() -> RegionCode {
        RegionCode(NATION_CODE)
    }

    /// The code in its shortest form (`15`, `1502`, `150206`, or `00`).
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// Which level of the tree the region is on.
    pub fn level(&self) -> RegionLevel {
        match self.0.len() {
            2 if self.0 == NATION_CODE => RegionLevel::Nation,
            2 => RegionLevel::Province,
            4 => RegionLevel::Prefecture,
            _ => RegionLevel::County,
        }
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl FromStr for RegionCode {
    type Err = RegionError;

    /// Parses against the embedded table ([`Regions::parse`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Regions::embedded().parse(s)
    }
}

impl Serialize for RegionCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    /// Goes through [`Regions::parse`] on the embedded table, so a stored or
    /// submitted code that names no division is refused with its reason.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Regions::embedded()
            .parse(&text)
            .map_err(serde::de::Error::custom)
    }
}

/// The level of a region in the division tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    /// The whole country, where the ministry sits.
    Nation,
    /// 省级: province, autonomous region, municipality.
    Province,
    /// 地级: prefecture, including placeholder prefectures such as 市辖区.
    Prefecture,
    /// 县级: county, district, county-level city, development zone.
    County,
}

impl RegionLevel {
    /// The Chinese name of the level, as the UI shows it.
    pub fn name_zh(self) -> &'static str {
        match self {
            RegionLevel::Nation => "全国",
            RegionLevel::Province => "省级",
            RegionLevel::Prefecture => "地级",
            RegionLevel::County => "县级",
        }
    }
}

/// Why a text is not a region code. The messages reach a clerk through the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    #[error(
        "`{0}` is not a region code: write 2 digits for a province (15), 4 for a prefecture (1502) \
         or 6 for a county (150206)"
    )]
    Malformed(String),
    #[error(
        "region code `{0}` is not in the division table (National Bureau of Statistics codes, \
         china-division 2.7.0): check for a typing error, or use the current code if the division \
         has been abolished or renamed"
    )]
    Unknown(String),
}

/// The division table: every province, prefecture and county, with the whole
/// country above the provinces.
#[derive(Debug)]
pub struct Regions {
    entries: BTreeMap<&'static str, Entry>,
}

#[derive(Debug)]
struct Entry {
    name: &'static str,
    parent: Option<RegionCode>,
    children: Vec<RegionCode>,
}

impl Regions {
    /// The table embedded from `data/regions/`, parsed once on first use.
    ///
    /// # Panics
    /// If the embedded CSV files are malformed, which the tests of this module
    /// rule out for the files shipped.
    pub fn embedded() -> &'static Regions {
        &EMBEDDED
    }

    /// Parses a division code and checks that it exists.
    ///
    /// Accepts the shortest forms (`15`, `1502`, `150206`), the six-digit
    /// zero-padded forms of provinces and prefectures (`150000`, `150200`),
    /// which it normalises, and `00` for the whole country. A six-digit code
    /// that is itself a county row (东莞 `441900`) is that county.
    ///
    /// # Errors
    /// [`RegionError::Malformed`] if the text is not 2, 4 or 6 digits;
    /// [`RegionError::Unknown`] naming the code if no division has it.
    pub fn parse(&self, text: &str) -> Result<RegionCode, RegionError> {
        if !matches!(text.len(), 2 | 4 | 6) || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionError::Malformed(text.to_owned()));
        }
        let padded_province = text
            .strip_suffix("0000")
            .filter(|p| p.len() == 2 && *p != NATION_CODE);
        let padded_prefecture = text.strip_suffix("00").filter(|p| p.len() == 4);
        [Some(text), padded_province, padded_prefecture]
            .into_iter()
            .flatten()
            .find_map(|candidate| self.entries.get_key_value(candidate))
            .map(|(code, _)| RegionCode(code))
            .ok_or_else(|| RegionError::Unknown(text.to_owned()))
    }

    /// The Chinese name as the table gives it (`包头市`, `白云鄂博矿区`,
    /// `市辖区`); see [`Regions::full_name`] for one that stands alone.
    pub fn name(&self, code: &RegionCode) -> &'static str {
        self.entries.get(code.0).map_or("", |e| e.name)
    }

    /// The name with its ancestors' (`内蒙古自治区包头市白云鄂博矿区`), since a
    /// placeholder such as `市辖区` means nothing alone. The whole country is
    /// named as itself and left out of the others.
    pub fn full_name(&self, code: &RegionCode) -> String {
        if *code == RegionCode::nation() {
            return NATION_NAME.to_owned();
        }
        let mut chain = vec![*code];
        while let Some(parent) = chain.last().and_then(|c| self.parent(c)) {
            chain.push(parent);
        }
        chain
            .iter()
            .rev()
            .filter(|c| **c != RegionCode::nation())
            .map(|c| self.name(c))
            .collect()
    }

    /// The region one level up: a county's prefecture, a prefecture's
    /// province, a province's nation; `None` for the nation.
    pub fn parent(&self, code: &RegionCode) -> Option<RegionCode> {
        self.entries.get(code.0).and_then(|e| e.parent)
    }

    /// The regions one level down, in code order.
    pub fn children(&self, code: &RegionCode) -> &[RegionCode] {
        self.entries
            .get(code.0)
            .map_or(&[], |e| e.children.as_slice())
    }

    /// Whether `descendant` lies in `ancestor` — the test behind "a regulator
    /// supervises the enterprises and facilities in its region" (DESIGN.md
    /// §2): the regulator of `36` supervises `360702`. A region contains
    /// itself, and the nation contains every region.
    pub fn contains(&self, ancestor: &RegionCode, descendant: &RegionCode) -> bool {
        let mut current = Some(*descendant);
        while let Some(code) = current {
            if code == *ancestor {
                return true;
            }
            current = self.parent(&code);
        }
        false
    }

    /// The provinces, in code order.
    pub fn provinces(&self) -> &[RegionCode] {
        self.children(&RegionCode::nation())
    }

    /// Builds the tree from the three tables, checking that every code has
    /// the right length, appears once, and names a parent that exists and is
    /// its prefix (so that code order is tree order).
    fn from_tables(
        provinces: &'static str,
        cities: &'static str,
        areas: &'static str,
    ) -> Result<Regions, TableError> {
        let mut entries = BTreeMap::new();
        entries.insert(NATION_CODE, Entry::new(NATION_NAME, None));
        for r in table::read("regions/provinces.csv", provinces, ["code", "name"])? {
            let [code, name] = r.fields;
            insert(&mut entries, &r, code, 2, name, NATION_CODE)?;
        }
        for r in table::read(
            "regions/cities.csv",
            cities,
            ["code", "name", "provinceCode"],
        )? {
            let [code, name, province] = r.fields;
            insert(&mut entries, &r, code, 4, name, province)?;
        }
        let columns = ["code", "name", "cityCode", "provinceCode"];
        for r in table::read("regions/areas.csv", areas, columns)? {
            let [code, name, city, province] = r.fields;
            if !city.starts_with(province) {
                return Err(r.invalid(
                    "provinceCode",
                    format!("`{province}` is not the province of prefecture `{city}`"),
                ));
            }
            insert(&mut entries, &r, code, 6, name, city)?;
        }
        let links: Vec<(&'static str, RegionCode)> = entries
            .iter()
            .filter_map(|(code, e)| e.parent.map(|p| (p.0, RegionCode(code))))
            .collect();
        for (parent, child) in links {
            if let Some(e) = entries.get_mut(parent) {
                e.children.push(child);
            }
        }
        Ok(Regions { entries })
    }
}

impl Entry {
    fn new(name: &'static str, parent: Option<RegionCode>) -> Entry {
        Entry {
            name,
            parent,
            children: Vec::new(),
        }
    }
}

/// Adds one row to the tree after checking it (see [`Regions::from_tables`]).
fn insert<const N: usize>(
    entries: &mut BTreeMap<&'static str, Entry>,
    row: &Record<N>,
    code: &'static str,
    digits: usize,
    name: &'static str,
    parent: &'static str,
) -> Result<(), TableError> {
    if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(row.invalid("code", format!("`{code}` is not {digits} digits")));
    }
    if name.is_empty() {
        return Err(row.invalid("name", "the name is empty"));
    }
    let Some((parent, _)) = entries.get_key_value(parent) else {
        return Err(row.invalid(
            "code",
            format!("the parent `{parent}` of `{code}` is not listed"),
        ));
    };
    if *parent != NATION_CODE && !code.starts_with(parent) {
        return Err(row.invalid(
            "code",
            format!("`{code}` does not start with its parent `{parent}`"),
        ));
    }
    let parent = RegionCode(parent);
    if entries
        .insert(code, Entry::new(name, Some(parent)))
        .is_some()
    {
        return Err(row.invalid("code", format!("`{code}` is listed twice")));
    }
    Ok(())
}

/// A reader for the embedded CSV tables of this crate (regions, the product
/// catalogue, export controls). Their format is simple — a header, one record
/// a line, fields optionally in double quotes, never a quote inside a field —
/// so a few lines suffice and fields stay borrowed from the `'static` text.
pub(crate) mod table {
    use time::Date;
    use time::macros::format_description;

    /// A malformed embedded table: a bug in the shipped data, caught by tests.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub(crate) enum TableError {
        #[error("{table}: the header is `{found}`, expected `{expected}`")]
        Header {
            table: &'static str,
            expected: String,
            found: String,
        },
        #[error("{table} line {line}: {found} fields, expected {expected}")]
        FieldCount {
            table: &'static str,
            line: usize,
            expected: usize,
            found: usize,
        },
        #[error("{table} line {line}: a quoted field is not closed")]
        UnclosedQuote { table: &'static str, line: usize },
        #[error(
            "{table} line {line}: a quote inside a field (quoted fields may not contain quotes)"
        )]
        StrayQuote { table: &'static str, line: usize },
        #[error("{table} line {line}, column {column}: {message}")]
        Value {
            table: &'static str,
            line: usize,
            column: &'static str,
            message: String,
        },
    }

    /// One data line of a table with `N` columns.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct Record<const N: usize> {
        pub(crate) table: &'static str,
        /// 1-based line number in the file, for error messages.
        pub(crate) line: usize,
        pub(crate) fields: [&'static str; N],
    }

    impl<const N: usize> Record<N> {
        /// An error about the value in `column` of this record.
        pub(crate) fn invalid(
            &self,
            column: &'static str,
            message: impl Into<String>,
        ) -> TableError {
            TableError::Value {
                table: self.table,
                line: self.line,
                column,
                message: message.into(),
            }
        }
    }

    /// Reads `text`, checks its header against `columns`, and returns every
    /// non-empty line after it with exactly `N` fields.
    pub(crate) fn read<const N: usize>(
        table: &'static str,
        text: &'static str,
        columns: [&str; N],
    ) -> Result<Vec<Record<N>>, TableError> {
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.is_empty());
        let header = match lines.next() {
            Some((line, l)) => split(table, line, l)?,
            None => Vec::new(),
        };
        if header != columns {
            return Err(TableError::Header {
                table,
                expected: columns.join(","),
                found: header.join(","),
            });
        }
        lines
            .map(|(line, l)| {
                let fields = split(table, line, l)?;
                let found = fields.len();
                let fields =
                    <[&'static str; N]>::try_from(fields).map_err(|_| TableError::FieldCount {
                        table,
                        line,
                        expected: N,
                        found,
                    })?;
                Ok(Record {
                    table,
                    line,
                    fields,
                })
            })
            .collect()
    }

    /// A `YYYY-MM-DD` date in `column` of a dated table.
    pub(crate) fn date<const N: usize>(
        record: &Record<N>,
        column: &'static str,
        text: &str,
    ) -> Result<Date, TableError> {
        Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|e| {
            record.invalid(column, format!("`{text}` is not a date (YYYY-MM-DD): {e}"))
        })
    }

    /// Splits one line into its fields, unquoting quoted ones.
    fn split(
        table: &'static str,
        line: usize,
        text: &'static str,
    ) -> Result<Vec<&'static str>, TableError> {
        let stray = || TableError::StrayQuote { table, line };
        let mut fields = Vec::new();
        let mut rest = text;
        loop {
            let (field, after) = match rest.strip_prefix('"') {
                Some(quoted) => {
                    let end = quoted
                        .find('"')
                        .ok_or(TableError::UnclosedQuote { table, line })?;
                    (&quoted[..end], &quoted[end + 1..])
                }
                None => {
                    let end = rest.find(',').unwrap_or(rest.len());
                    if rest[..end].contains('"') {
                        return Err(stray());
                    }
                    (&rest[..end], &rest[end..])
                }
            };
            fields.push(field);
            if after.is_empty() {
                return Ok(fields);
            }
            rest = after.strip_prefix(',').ok_or_else(stray)?;
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_quoted_and_bare_fields() {
            let rows = read("t", "a,b,c\r\n1,\"x, y\",\n\n2,\"\",z\n", ["a", "b", "c"]).unwrap();
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0].fields, ["1", "x, y", ""]);
            assert_eq!(rows[0].line, 2);
            assert_eq!(rows[1].fields, ["2", "", "z"]);
            assert_eq!(rows[1].line, 4);
        }

        #[test]
        fn refuses_what_it_cannot_read() {
            let header = read("t", "a,c\n1,2\n", ["a", "b"]).unwrap_err();
            assert!(matches!(header, TableError::Header { .. }), "{header}");
            let count = read("t", "a,b\n1,2,3\n", ["a", "b"]).unwrap_err();
            assert_eq!(
                count,
                TableError::FieldCount {
                    table: "t",
                    line: 2,
                    expected: 2,
                    found: 3
                }
            );
            let open = read("t", "a,b\n1,\"2\n", ["a", "b"]).unwrap_err();
            assert_eq!(
                open,
                TableError::UnclosedQuote {
                    table: "t",
                    line: 2
                }
            );
            for bad in ["a,b\n1,\"x\"\"y\"\n", "a,b\n1,x\"y\n", "a,b\n\"1\"2,3\n"] {
                let e = read("t", bad, ["a", "b"]).unwrap_err();
                assert_eq!(
                    e,
                    TableError::StrayQuote {
                        table: "t",
                        line: 2
                    },
                    "{bad}"
                );
            }
            assert!(read("t", "", ["a"]).is_err());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> RegionCode {
        Regions::embedded().parse(text).unwrap()
    }

    #[test]
    fn the_embedded_table_loads_every_row() {
        let r = Regions::embedded();
        // 31 provinces, 342 prefectures, 2978 counties (the CSV line counts
        // less their headers), plus the nation.
        assert_eq!(r.entries.len(), 1 + 31 + 342 + 2978);
        assert_eq!(r.provinces().len(), 31);
        let counties = r.entries.keys().filter(|c| c.len() == 6).count();
        assert_eq!(counties, 2978);
    }

    #[test]
    fn demo_places_exist_with_their_parents() {
        let r = Regions::embedded();
        let places = [
            ("1502", "包头市", "15"),
            ("150206", "白云鄂博矿区", "1502"),
            ("150271", "包头稀土高新技术产业开发区", "1502"),
            ("5134", "凉山彝族自治州", "51"),
            ("3607", "赣州市", "36"),
            ("3508", "龙岩市", "35"),
            ("4414", "梅州市", "44"),
            ("4311", "永州市", "43"),
            ("5111", "乐山市", "51"),
            ("370826", "微山县", "3708"),
        ];
        for (c, name, parent) in places {
            let c = code(c);
            assert_eq!(r.name(&c), name);
            assert_eq!(r.parent(&c), Some(code(parent)), "{c}");
            assert!(r.children(&code(parent)).contains(&c), "{c}");
            assert!(r.contains(&code(parent), &c));
        }
        assert_eq!(
            r.full_name(&code("150206")),
            "内蒙古自治区包头市白云鄂博矿区"
        );
        assert_eq!(r.name(&code("15")), "内蒙古自治区");
    }

    #[test]
    fn levels_and_the_nation() {
        let r = Regions::embedded();
        let nation = RegionCode::nation();
        assert_eq!(nation.level(), RegionLevel::Nation);
        assert_eq!(code("15").level(), RegionLevel::Province);
        assert_eq!(code("1502").level(), RegionLevel::Prefecture);
        assert_eq!(code("150206").level(), RegionLevel::County);
        assert_eq!(r.name(&nation), "中华人民共和国");
        assert_eq!(r.full_name(&nation), "中华人民共和国");
        assert_eq!(r.parent(&code("15")), Some(nation));
        assert_eq!(r.parent(&nation), None);
        assert_eq!(code("00"), nation);
        for c in ["150206", "3607", "44", "370826"] {
            assert!(r.contains(&nation, &code(c)));
        }
    }

    #[test]
    fn a_regulator_supervises_what_lies_in_its_region() {
        let r = Regions::embedded();
        assert!(r.contains(&code("36"), &code("360702")));
        assert!(r.contains(&code("3607"), &code("360702")));
        assert!(r.contains(&code("360702"), &code("360702")));
        assert!(!r.contains(&code("360702"), &code("3607")));
        assert!(!r.contains(&code("15"), &code("360702")));
        assert!(!r.contains(&code("3608"), &code("360702")));
        assert!(!r.contains(&code("360702"), &RegionCode::nation()));
    }

    #[test]
    fn zero_padded_forms_normalise() {
        assert_eq!(code("150000").as_str(), "15");
        assert_eq!(code("150200").as_str(), "1502");
        assert_eq!(code("150206").as_str(), "150206");
        // 东莞 has no counties; the table lists it also as county 441900.
        assert_eq!(code("441900").level(), RegionLevel::County);
        assert_eq!(
            Regions::embedded().parent(&code("441900")),
            Some(code("4419"))
        );
    }

    #[test]
    fn malformed_and_made_up_codes_are_refused() {
        let r = Regions::embedded();
        for bad in ["", "1", "150", "15020", "1502066", "15a2", "１５", " 15"] {
            assert_eq!(
                r.parse(bad),
                Err(RegionError::Malformed(bad.to_owned())),
                "{bad}"
            );
        }
        for unknown in ["99", "1599", "150299", "159900", "000000", "0000", "1500"] {
            let e = r.parse(unknown).unwrap_err();
            assert_eq!(e, RegionError::Unknown(unknown.to_owned()));
            assert!(e.to_string().contains(unknown));
        }
    }

    #[test]
    fn codes_order_as_the_tree() {
        let r = Regions::embedded();
        for c in r.entries.keys() {
            let c = RegionCode(c);
            for child in r.children(&c) {
                assert!(*child > c);
                assert_eq!(r.parent(child), Some(c));
            }
        }
    }

    #[test]
    fn serde_uses_the_plain_code_and_checks_it() {
        let c = code("150200");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"1502\"");
        let back: RegionCode = serde_json::from_str("\"150271\"").unwrap();
        assert_eq!(back, code("150271"));
        let e = serde_json::from_str::<RegionCode>("\"159999\"").unwrap_err();
        assert!(e.to_string().contains("159999"), "{e}");
        assert_eq!("3607".parse::<RegionCode>().unwrap().to_string(), "3607");
    }

    #[test]
    fn broken_tables_are_refused() {
        let p = "code,name\n15,\"内蒙古自治区\"\n";
        let c = "code,name,provinceCode\n1502,\"包头市\",15\n";
        assert!(
            Regions::from_tables(
                p,
                c,
                "code,name,cityCode,provinceCode\n150206,\"白云鄂博矿区\",1502,15\n"
            )
            .is_ok()
        );
        let bad_areas = [
            "150206,\"白云鄂博矿区\",1503,15",
            "150206,\"白云鄂博矿区\",1502,16",
            "160206,\"x\",1502,15",
            "15020,\"x\",1502,15",
            "150206,\"\",1502,15",
            "150206,\"a\",1502,15\n150206,\"b\",1502,15",
        ];
        for rows in bad_areas {
            let a: &'static str =
                Box::leak(format!("code,name,cityCode,provinceCode\n{rows}\n").into_boxed_str());
            let e = Regions::from_tables(p, c, a).unwrap_err();
            assert!(matches!(e, TableError::Value { .. }), "{rows}: {e}");
        }
    }
}
