//! OpenAPI schemas (feature `openapi`) of the domain values that travel as
//! text — codes, masses, shares — which their own `Serialize` writes as
//! strings and so cannot be derived: the API's OpenAPI document
//! (`/api/v1/openapi.json`) describes them as the strings they are, with the
//! rule each one is checked against.

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{RefOr, schema::AdditionalProperties};

use crate::distribution::ElementDistribution;
use crate::facility::FacilityId;
use crate::lot::LotId;
use crate::product::ProductCode;
use crate::quantity::{Mass, MassChange, Share};
use crate::region::RegionCode;
use crate::uscc::Uscc;

/// A string schema with its description, an optional pattern and an example.
#[must_use]
pub fn text(description: &str, pattern: Option<&str>, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some(description))
        .pattern(pattern)
        .examples([serde_json::Value::String(example.to_owned())])
        .into()
}

/// Implements `ToSchema` for a type that travels as text.
macro_rules! text_schema {
    ($ty:ty, $name:literal, $description:literal, $pattern:expr, $example:literal) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                text($description, $pattern, $example)
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }
    };
}

text_schema!(
    Uscc,
    "Uscc",
    "A unified social credit code (GB 32100-2015): 18 characters with both check characters right.",
    Some("^[0-9A-HJ-NPQRTUWXY]{18}$"),
    "91150206000000019W"
);
text_schema!(
    RegionCode,
    "RegionCode",
    "An administrative division code (NBS, close to GB/T 2260): 00 the nation, 2 digits a province, 4 a prefecture, 6 a county.",
    Some("^(00|[0-9]{2}|[0-9]{4}|[0-9]{6})$"),
    "150206"
);
text_schema!(
    LotId,
    "LotId",
    "A lot: a GS1 Digital Link path `01/<GTIN-14>/10/<lot>`, or `uscc/<USCC>/10/<lot>` for an enterprise without GS1 keys.",
    Some("^(01/[0-9]{14}|uscc/[0-9A-HJ-NPQRTUWXY]{18})/10/[!-~]{1,20}$"),
    "uscc/91150206000000019W/10/C2503-01"
);
text_schema!(
    FacilityId,
    "FacilityId",
    "A facility on the register: 2 to 40 of A–Z, 0–9 and `-`.",
    Some("^[A-Z0-9-]{2,40}$"),
    "BYO-MINE-1"
);
text_schema!(
    ProductCode,
    "ProductCode",
    "A product of the dated catalogue (crates/domain/data/products.csv).",
    None,
    "ORE-BAOTOU-MIX50"
);
text_schema!(
    Mass,
    "Mass",
    "An exact mass with its unit: g, kg or t (never a float: up to the gram).",
    Some("^[0-9]+(\\.[0-9]+)? ?(g|kg|t)$"),
    "12.5 t"
);
text_schema!(
    MassChange,
    "MassChange",
    "A signed exact mass change with its unit.",
    Some("^[+-]?[0-9]+(\\.[0-9]+)? ?(g|kg|t)$"),
    "-0.2 t"
);
text_schema!(
    Share,
    "Share",
    "A percentage, exact to 0.0001 %.",
    Some("^[0-9]+(\\.[0-9]+)?%$"),
    "50.2%"
);

impl utoipa::PartialSchema for ElementDistribution {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .description(Some(
                "The share of each oxide in the lot's TREO, by element symbol (Nd, Pr, Dy, …); the shares add up to 100 %.",
            ))
            .additional_properties(Some(AdditionalProperties::RefOr(Share::schema())))
            .examples([serde_json::json!({"Nd": "75%", "Pr": "25%"})])
            .into()
    }
}

impl utoipa::ToSchema for ElementDistribution {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("ElementDistribution")
    }
}
