//! The product catalogue: every kind of rare earth product a flow can move,
//! from ore concentrate to magnet scrap.
//!
//! The catalogue is dated data (DESIGN.md §3: rule tables are dated, and
//! checks are evaluated as of the event's date, so that any past report can be
//! reproduced). It is retrace's own, synthetic and correctable, embedded from
//! `data/products.csv` (see `data/README.md`); a row applies on the days
//! `valid_from..=valid_to`, and a code may have several rows whose intervals
//! do not overlap.
//!
//! What the catalogue decides for the rest of the system:
//! - [`ProductKind`] — ore products count against the mining quota by
//!   [`OreType`] (Art. 5 of the measures); smelting outputs against the
//!   separation quota;
//! - [`ContentBasis`] — whether a grade is REO or metal, which decides how REO
//!   is computed (DESIGN.md §2 "Quantities and measurement");
//! - `distribution_required` — separation outputs always carry their element
//!   distribution (DESIGN.md §2), and metal-basis products need one to convert
//!   to REO.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::Date;

use crate::element::Element;
use crate::region::table::{self, Record, TableError};

const PRODUCTS_CSV: &str = include_str!("../data/products.csv");

const COLUMNS: [&str; 11] = [
    "code",
    "name_zh",
    "name_en",
    "kind",
    "ore_type",
    "content",
    "main_element",
    "distribution_required",
    "hs_code",
    "valid_from",
    "valid_to",
];

static EMBEDDED: LazyLock<Catalogue> = LazyLock::new(|| {
    Catalogue::from_csv("products.csv", PRODUCTS_CSV).unwrap_or_else(|e| {
        panic!("the embedded product catalogue (data/products.csv) is malformed: {e}")
    })
});

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// A catalogue code: 2 to 40 capital letters, digits and hyphens
/// (`OXI-ND`, `ORE-BAOTOU-MIX50`), parsed once and trusted after.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductCode(String);

/// Why a text is not a product code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductCodeError {
    #[error("a product code has 2 to 40 characters; `{text}` has {found}")]
    Length { text: String, found: usize },
    #[error(
        "character {position} (`{found}`) of product code `{text}` is not allowed: product codes \
         use capital letters A–Z, digits and hyphens"
    )]
    Character {
        text: String,
        position: usize,
        found: char,
    },
}

impl ProductCode {
    /// Checks the token format. Whether the code is in the catalogue on a
    /// given day is [`Catalogue::get`]'s question.
    ///
    /// # Errors
    /// [`ProductCodeError`] naming the length or the first bad character.
    pub fn parse(text: &str) -> Result<ProductCode, ProductCodeError> {
        let found = text.chars().count();
        if !(2..=40).contains(&found) {
            return Err(ProductCodeError::Length {
                text: text.to_owned(),
                found,
            });
        }
        let bad = text
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-'));
        if let Some((i, found)) = bad {
            return Err(ProductCodeError::Character {
                text: text.to_owned(),
                position: i + 1,
                found,
            });
        }
        Ok(ProductCode(text.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProductCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ProductCode {
    type Err = ProductCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProductCode::parse(s)
    }
}

impl Serialize for ProductCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProductCode {
    /// Goes through [`ProductCode::parse`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ProductCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The kind of a product, along the chain from mine to magnet and back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// 稀土矿产品: concentrates and the mixed carbonate or oxide of ionic
    /// clays — what a mine produces and the mining quota counts.
    OreProduct,
    /// 混合稀土化合物: cracking outputs (mixed chloride, carbonate) and
    /// partly separated group products.
    MixedCompound,
    /// 单一稀土氧化物 (and PrNd oxide, an output of the separation line).
    SeparatedOxide,
    /// 稀土盐类: chlorides, nitrates, fluorides.
    Salt,
    /// 稀土金属.
    Metal,
    /// 稀土合金.
    Alloy,
    /// 稀土永磁体.
    Magnet,
    /// 稀土废料: the feed of comprehensive utilisation (recycling).
    Scrap,
}

impl ProductKind {
    /// Every kind, from mine to scrap.
    pub const ALL: [ProductKind; 8] = [
        ProductKind::OreProduct,
        ProductKind::MixedCompound,
        ProductKind::SeparatedOxide,
        ProductKind::Salt,
        ProductKind::Metal,
        ProductKind::Alloy,
        ProductKind::Magnet,
        ProductKind::Scrap,
    ];

    /// The snake_case name used in data and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::OreProduct => "ore_product",
            ProductKind::MixedCompound => "mixed_compound",
            ProductKind::SeparatedOxide => "separated_oxide",
            ProductKind::Salt => "salt",
            ProductKind::Metal => "metal",
            ProductKind::Alloy => "alloy",
            ProductKind::Magnet => "magnet",
            ProductKind::Scrap => "scrap",
        }
    }

    /// The Chinese name, as the UI shows it first.
    pub fn name_zh(self) -> &'static str {
        match self {
            ProductKind::OreProduct => "稀土矿产品",
            ProductKind::MixedCompound => "混合稀土化合物",
            ProductKind::SeparatedOxide => "单一稀土氧化物",
            ProductKind::Salt => "稀土盐类",
            ProductKind::Metal => "稀土金属",
            ProductKind::Alloy => "稀土合金",
            ProductKind::Magnet => "稀土永磁体",
            ProductKind::Scrap => "稀土废料",
        }
    }
}

/// The ore type of an ore product: the two mining quota categories (Art. 5 of
/// the measures; DESIGN.md §2 岩矿型 / 离子型) and monazite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OreType {
    /// 岩矿型: hard-rock ore (Bayan Obo, Mianning, Weishan), mined and dressed
    /// into concentrate.
    Rock,
    /// 离子型: ion-adsorption clay, leached in situ; the output is the
    /// precipitated carbonate or the calcined mixed oxide.
    Ionic,
    /// 独居石 and the other rare earth phosphates of placer sands (xenotime):
    /// never mined domestically as a single mineral, so it arrives imported or
    /// as a by-product of other minerals, counts against no mining quota, and
    /// is radioactive (Th, U).
    Monazite,
}

impl OreType {
    /// Every ore type.
    pub const ALL: [OreType; 3] = [OreType::Rock, OreType::Ionic, OreType::Monazite];

    /// The snake_case name used in data and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OreType::Rock => "rock",
            OreType::Ionic => "ionic",
            OreType::Monazite => "monazite",
        }
    }

    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            OreType::Rock => "岩矿型",
            OreType::Ionic => "离子型",
            OreType::Monazite => "独居石",
        }
    }
}

/// What a product's grade is stated as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentBasis {
    /// As REO / TREO: ores, compounds, oxides, salts and oxide scrap.
    Oxide,
    /// As rare earth metal: metals, alloys, magnets and magnet scrap, which
    /// convert to REO through each element's oxide factor (DESIGN.md §2).
    Metal,
}

impl ContentBasis {
    /// Both bases.
    pub const ALL: [ContentBasis; 2] = [ContentBasis::Oxide, ContentBasis::Metal];

    /// The snake_case name used in data and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentBasis::Oxide => "oxide",
            ContentBasis::Metal => "metal",
        }
    }
}

/// One version of a catalogue entry, in force on `valid_from..=valid_to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Product {
    pub code: ProductCode,
    pub name_zh: String,
    pub name_en: String,
    pub kind: ProductKind,
    /// The ore type of an ore product; `None` for everything downstream of
    /// the mine.
    pub ore_type: Option<OreType>,
    pub content: ContentBasis,
    /// The element that names the product (Nd for PrNd oxide and NdFeB, Ce
    /// for misch metal); `None` for mixtures named by no element.
    pub main_element: Option<Element>,
    /// Whether a lot must carry its element distribution.
    pub distribution_required: bool,
    /// The six-digit Harmonized System heading, where one applies.
    pub hs_code: Option<String>,
    #[serde(with = "iso_date")]
    pub valid_from: Date,
    /// The last day in force; `None` while the entry is current.
    #[serde(with = "iso_date::option")]
    pub valid_to: Option<Date>,
}

impl Product {
    /// Whether this version is in force on `on`.
    pub fn in_force(&self, on: Date) -> bool {
        self.valid_from <= on && self.valid_to.is_none_or(|end| on <= end)
    }
}

/// The catalogue: every version of every product.
#[derive(Debug)]
pub struct Catalogue {
    /// Versions of each code, in `valid_from` order, never overlapping.
    by_code: BTreeMap<ProductCode, Vec<Product>>,
}

impl Catalogue {
    /// The catalogue embedded from `data/products.csv`, parsed once on first
    /// use.
    ///
    /// # Panics
    /// If the embedded CSV is malformed, which the tests of this module rule
    /// out for the file shipped.
    pub fn embedded() -> &'static Catalogue {
        &EMBEDDED
    }

    /// The version of `code` in force on `on`, if any.
    pub fn get(&self, code: &ProductCode, on: Date) -> Option<&Product> {
        self.by_code.get(code)?.iter().find(|p| p.in_force(on))
    }

    /// Every version of every product, in code order, then date order.
    pub fn all(&self) -> impl Iterator<Item = &Product> {
        self.by_code.values().flatten()
    }

    fn from_csv(name: &'static str, text: &'static str) -> Result<Catalogue, TableError> {
        let mut by_code: BTreeMap<ProductCode, Vec<Product>> = BTreeMap::new();
        for record in table::read(name, text, COLUMNS)? {
            let product = product_from(&record)?;
            let versions = by_code.entry(product.code.clone()).or_default();
            if let Some(other) = versions.iter().find(|v| overlap(v, &product)) {
                return Err(record.invalid(
                    "valid_from",
                    format!(
                        "`{}` is already in force on some of these days (the version from {})",
                        product.code, other.valid_from
                    ),
                ));
            }
            versions.push(product);
            versions.sort_by_key(|v| v.valid_from);
        }
        Ok(Catalogue { by_code })
    }
}

fn overlap(a: &Product, b: &Product) -> bool {
    let starts_before_end =
        |x: &Product, y: &Product| y.valid_to.is_none_or(|end| x.valid_from <= end);
    starts_before_end(a, b) && starts_before_end(b, a)
}

/// Reads and checks one catalogue row.
fn product_from(record: &Record<11>) -> Result<Product, TableError> {
    let [
        code,
        name_zh,
        name_en,
        kind,
        ore_type,
        content,
        main_element,
        distribution,
        hs,
        from,
        to,
    ] = record.fields;
    let code = ProductCode::parse(code).map_err(|e| record.invalid("code", e.to_string()))?;
    for (column, name) in [("name_zh", name_zh), ("name_en", name_en)] {
        if name.trim().is_empty() {
            return Err(record.invalid(column, "the name is empty"));
        }
    }
    let kind = one_of(record, "kind", kind, &ProductKind::ALL, |k| k.as_str())?;
    let ore_type = optional(ore_type)
        .map(|t| one_of(record, "ore_type", t, &OreType::ALL, |o| o.as_str()))
        .transpose()?;
    if ore_type.is_some() != (kind == ProductKind::OreProduct) {
        return Err(record.invalid(
            "ore_type",
            "an ore product needs an ore type, and only an ore product has one",
        ));
    }
    let content = one_of(record, "content", content, &ContentBasis::ALL, |c| {
        c.as_str()
    })?;
    let main_element = optional(main_element)
        .map(|e| Element::from_str(e).map_err(|e| record.invalid("main_element", e.to_string())))
        .transpose()?;
    let distribution_required = match distribution {
        "true" => true,
        "false" => false,
        other => {
            return Err(record.invalid(
                "distribution_required",
                format!("`{other}` is not true or false"),
            ));
        }
    };
    if content == ContentBasis::Metal && !distribution_required {
        return Err(record.invalid(
            "distribution_required",
            "a metal-basis product converts to REO element by element, so it needs a distribution",
        ));
    }
    let hs_code = optional(hs).map(str::to_owned);
    if let Some(hs) = &hs_code {
        let b = hs.as_bytes();
        let well_formed = b.len() == 7
            && b[4] == b'.'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit());
        if !well_formed {
            return Err(record.invalid(
                "hs_code",
                format!("`{hs}` is not a six-digit HS heading such as 2846.90"),
            ));
        }
    }
    let valid_from = table::date(record, "valid_from", from)?;
    let valid_to = optional(to)
        .map(|t| table::date(record, "valid_to", t))
        .transpose()?;
    if valid_to.is_some_and(|end| end < valid_from) {
        return Err(record.invalid("valid_to", "the entry ends before it begins"));
    }
    Ok(Product {
        code,
        name_zh: name_zh.to_owned(),
        name_en: name_en.to_owned(),
        kind,
        ore_type,
        content,
        main_element,
        distribution_required,
        hs_code,
        valid_from,
        valid_to,
    })
}

fn optional(field: &str) -> Option<&str> {
    Some(field).filter(|f| !f.is_empty())
}

fn one_of<T: Copy>(
    record: &Record<11>,
    column: &'static str,
    text: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, TableError> {
    all.iter()
        .copied()
        .find(|v| name(*v) == text)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            record.invalid(
                column,
                format!("`{text}` is not one of {}", names.join(", ")),
            )
        })
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn code(text: &str) -> ProductCode {
        ProductCode::parse(text).unwrap()
    }

    #[test]
    fn every_row_parses() {
        let lines = PRODUCTS_CSV.lines().filter(|l| !l.is_empty()).count();
        assert_eq!(Catalogue::embedded().all().count(), lines - 1);
    }

    #[test]
    fn versions_of_a_code_never_overlap() {
        for versions in Catalogue::embedded().by_code.values() {
            for (i, a) in versions.iter().enumerate() {
                for b in &versions[i + 1..] {
                    assert!(
                        !overlap(a, b),
                        "{} {} {}",
                        a.code,
                        a.valid_from,
                        b.valid_from
                    );
                }
            }
        }
    }

    #[test]
    fn an_entry_with_an_end_is_gone_after_it() {
        let c = Catalogue::embedded();
        let scrap = code("SCR-MIXED");
        assert!(c.get(&scrap, date!(2024 - 12 - 31)).is_some());
        assert_eq!(c.get(&scrap, date!(2025 - 01 - 01)), None);
        assert_eq!(c.get(&scrap, date!(2019 - 12 - 31)), None);
        assert!(c.get(&code("OXI-ND"), date!(2030 - 06 - 01)).is_some());
        assert_eq!(c.get(&code("NO-SUCH-PRODUCT"), date!(2025 - 06 - 01)), None);
    }

    #[test]
    fn the_version_in_force_is_chosen() {
        let csv = "code,name_zh,name_en,kind,ore_type,content,main_element,distribution_required,hs_code,valid_from,valid_to\n\
            OXI-ND,\"氧化钕\",\"old\",separated_oxide,,oxide,Nd,true,2846.90,2020-01-01,2024-06-30\n\
            OXI-ND,\"氧化钕\",\"new\",separated_oxide,,oxide,Nd,true,2846.90,2024-07-01,\n";
        let c = Catalogue::from_csv("test", csv).unwrap();
        assert_eq!(
            c.get(&code("OXI-ND"), date!(2024 - 06 - 30))
                .unwrap()
                .name_en,
            "old"
        );
        assert_eq!(
            c.get(&code("OXI-ND"), date!(2024 - 07 - 01))
                .unwrap()
                .name_en,
            "new"
        );
        assert_eq!(c.all().count(), 2);
    }

    #[test]
    fn bad_rows_are_refused() {
        let header = "code,name_zh,name_en,kind,ore_type,content,main_element,distribution_required,hs_code,valid_from,valid_to";
        let rows = [
            ("x,a,b,metal,,metal,Nd,true,,2020-01-01,", "code"),
            ("M,a,b,metal,,metal,Nd,true,,2020-01-01,", "code"),
            ("MET-X,,b,metal,,metal,Nd,true,,2020-01-01,", "name_zh"),
            ("MET-X,a,b,metals,,metal,Nd,true,,2020-01-01,", "kind"),
            (
                "MET-X,a,b,metal,rock,metal,Nd,true,,2020-01-01,",
                "ore_type",
            ),
            (
                "ORE-X,a,b,ore_product,,oxide,,false,,2020-01-01,",
                "ore_type",
            ),
            ("MET-X,a,b,metal,,metallic,Nd,true,,2020-01-01,", "content"),
            (
                "MET-X,a,b,metal,,metal,Pm,true,,2020-01-01,",
                "main_element",
            ),
            (
                "MET-X,a,b,metal,,metal,Nd,yes,,2020-01-01,",
                "distribution_required",
            ),
            (
                "MET-X,a,b,metal,,metal,Nd,false,,2020-01-01,",
                "distribution_required",
            ),
            (
                "MET-X,a,b,metal,,metal,Nd,true,280530,2020-01-01,",
                "hs_code",
            ),
            ("MET-X,a,b,metal,,metal,Nd,true,,2020-13-01,", "valid_from"),
            (
                "MET-X,a,b,metal,,metal,Nd,true,,2020-01-01,2019-01-01",
                "valid_to",
            ),
            (
                "MET-X,a,b,metal,,metal,Nd,true,,2020-01-01,2024-12-31\nMET-X,a,b,metal,,metal,Nd,true,,2024-12-31,",
                "valid_from",
            ),
        ];
        for (row, column) in rows {
            let text: &'static str = Box::leak(format!("{header}\n{row}\n").into_boxed_str());
            match Catalogue::from_csv("test", text) {
                Err(TableError::Value { column: c, .. }) => assert_eq!(c, column, "{row}"),
                other => panic!("{row}: {other:?}"),
            }
        }
    }

    #[test]
    fn separation_outputs_carry_distributions() {
        let c = Catalogue::embedded();
        for p in c.all() {
            if matches!(
                p.kind,
                ProductKind::SeparatedOxide | ProductKind::Metal | ProductKind::Alloy
            ) {
                assert!(p.distribution_required, "{}", p.code);
            }
        }
        let oxides: Vec<Element> = c
            .all()
            .filter(|p| p.kind == ProductKind::SeparatedOxide && p.code.as_str() != "OXI-PRND")
            .filter_map(|p| p.main_element)
            .collect();
        assert_eq!(oxides.len(), 16);
        for e in Element::ALL {
            assert!(oxides.contains(&e), "no separated oxide of {e}");
        }
    }

    #[test]
    fn ore_products_cover_both_quota_categories_and_monazite() {
        let on = date!(2025 - 06 - 01);
        let c = Catalogue::embedded();
        for t in OreType::ALL {
            assert!(
                c.all().any(|p| p.ore_type == Some(t) && p.in_force(on)),
                "{t:?}"
            );
        }
        let baotou = c.get(&code("ORE-BAOTOU-MIX50"), on).unwrap();
        assert_eq!(baotou.ore_type, Some(OreType::Rock));
        assert_eq!(baotou.kind.name_zh(), "稀土矿产品");
    }

    #[test]
    fn product_codes_are_checked() {
        assert_eq!(code("OXI-ND").to_string(), "OXI-ND");
        assert_eq!(
            ProductCode::parse("oxi-nd"),
            Err(ProductCodeError::Character {
                text: "oxi-nd".to_owned(),
                position: 1,
                found: 'o'
            })
        );
        assert!(matches!(
            ProductCode::parse("X"),
            Err(ProductCodeError::Length { found: 1, .. })
        ));
        assert!(ProductCode::parse(&"A".repeat(41)).is_err());
        assert!(ProductCode::parse(&"A".repeat(40)).is_ok());
        let json = serde_json::to_string(&code("MAG-SMCO")).unwrap();
        assert_eq!(json, "\"MAG-SMCO\"");
        assert!(serde_json::from_str::<ProductCode>("\"mag smco\"").is_err());
    }

    #[test]
    fn products_serialise_with_iso_dates() {
        let p = Catalogue::embedded()
            .get(&code("SCR-MIXED"), date!(2024 - 01 - 01))
            .unwrap();
        let json = serde_json::to_value(p).unwrap();
        assert_eq!(json["valid_from"], "2020-01-01");
        assert_eq!(json["valid_to"], "2024-12-31");
        assert_eq!(json["kind"], "scrap");
        assert_eq!(json["ore_type"], serde_json::Value::Null);
    }
}
