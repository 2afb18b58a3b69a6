//! Facilities — mines and plants — with their licences and permits.
//!
//! A regulator supervises an enterprise whose seat or any of whose facilities
//! lies in its region (DESIGN.md §2), so a facility's region is its own, never
//! taken from the operator's USCC.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::Date;

use crate::product::OreType;
use crate::quantity::Mass;
use crate::region::RegionCode;
use crate::uscc::Uscc;

/// A facility's identifier on the register: 2–40 of `A–Z 0–9 -`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FacilityId(String);

/// A facility identifier that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a facility identifier: 2 to 40 characters of A–Z, 0–9 and `-`")]
pub struct FacilityIdError(pub String);

impl FacilityId {
    /// # Errors
    /// [`FacilityIdError`] when the text is not 2–40 of `A–Z 0–9 -`.
    pub fn parse(text: &str) -> Result<FacilityId, FacilityIdError> {
        let ok = (2..=40).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(FacilityId(text.to_owned()))
        } else {
            Err(FacilityIdError(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FacilityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for FacilityId {
    type Err = FacilityIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FacilityId::parse(s)
    }
}

impl Serialize for FacilityId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FacilityId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FacilityId, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        FacilityId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What a transformation does. Recovery bands are kept per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Process {
    /// Ore dressing: crude ore to concentrate.
    OreDressing,
    /// Concentrate to mixed rare earth compounds (the first smelting stage).
    Cracking,
    /// Mixed compounds to single oxides by solvent extraction.
    Separation,
    /// Oxides or salts to metals and alloys.
    MetalSmelting,
    /// Scrap to mixed or single compounds (comprehensive utilisation).
    Recycling,
    /// Metals and alloys to magnets.
    MagnetMaking,
}

impl Process {
    /// Whether the plant blends feed continuously, so that genealogy through it
    /// is a mass-balance attribution over a pool rather than batch-exact
    /// (DESIGN.md §2, last paragraph of "Rules worth a clear flag").
    pub fn pools_feed(self) -> bool {
        matches!(
            self,
            Process::Cracking | Process::Separation | Process::Recycling
        )
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Process::OreDressing => "选矿",
            Process::Cracking => "冶炼（分解）",
            Process::Separation => "分离",
            Process::MetalSmelting => "金属冶炼",
            Process::Recycling => "综合利用",
            Process::MagnetMaking => "磁材制造",
        }
    }
}

/// What kind of facility, with the particulars of each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", from = "KindFields")]
pub enum FacilityKind {
    Mine {
        licence: String,
        licence_valid_to: Date,
        ore_type: OreType,
        /// Licensed area in hectares.
        area_ha: u32,
        /// Licensed capacity, REO per year.
        capacity_per_year: Mass,
    },
    Plant {
        processes: Vec<Process>,
        /// Capacity, REO per year of output.
        capacity_per_year: Mass,
    },
    Warehouse,
}

/// [`FacilityKind`] as it is read. Serde refuses an unknown field of a struct
/// variant but lets any field through a unit variant, so a warehouse is read
/// as a variant without fields: `{"type": "warehouse", "permit": […]}` — a
/// misspelt `permits` — is refused instead of registering a warehouse
/// without its permits.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum KindFields {
    Mine {
        licence: String,
        licence_valid_to: Date,
        ore_type: OreType,
        area_ha: u32,
        capacity_per_year: Mass,
    },
    Plant {
        processes: Vec<Process>,
        capacity_per_year: Mass,
    },
    Warehouse {},
}

impl From<KindFields> for FacilityKind {
    fn from(read: KindFields) -> FacilityKind {
        match read {
            KindFields::Mine {
                licence,
                licence_valid_to,
                ore_type,
                area_ha,
                capacity_per_year,
            } => FacilityKind::Mine {
                licence,
                licence_valid_to,
                ore_type,
                area_ha,
                capacity_per_year,
            },
            KindFields::Plant {
                processes,
                capacity_per_year,
            } => FacilityKind::Plant {
                processes,
                capacity_per_year,
            },
            KindFields::Warehouse {} => FacilityKind::Warehouse,
        }
    }
}

/// A permit a facility must hold: safety, discharge, radiation (for monazite).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Permit {
    pub kind: String,
    pub number: String,
    pub valid_to: Date,
}

/// A facility on the register. (Unknown fields are refused by the flattened
/// [`FacilityKind`], since serde cannot deny them on a struct that flattens.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facility {
    pub id: FacilityId,
    pub operator: Uscc,
    pub name_zh: String,
    pub region: RegionCode,
    #[serde(flatten)]
    pub kind: FacilityKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permits: Vec<Permit>,
}

impl Facility {
    /// The ore type of a mine.
    pub fn ore_type(&self) -> Option<OreType> {
        match &self.kind {
            FacilityKind::Mine { ore_type, .. } => Some(*ore_type),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(kind: &str) -> Result<Facility, serde_json::Error> {
        serde_json::from_str(&format!(
            r#"{{"id": "F-1", "operator": "91150206000000019W", "name_zh": "x", "region": "150206", {kind}}}"#
        ))
    }

    #[test]
    fn unknown_fields_are_refused_for_every_kind() {
        let mine = r#""type": "mine", "licence": "C1", "licence_valid_to": "2030-12-31", "ore_type": "rock", "area_ha": 1, "capacity_per_year": "1 t""#;
        let plant = r#""type": "plant", "processes": ["separation"], "capacity_per_year": "1 t""#;
        for kind in [mine, plant, r#""type": "warehouse""#] {
            let facility = read(kind).unwrap();
            let json = serde_json::to_value(&facility).unwrap();
            assert_eq!(serde_json::from_value::<Facility>(json).unwrap(), facility);
            let e = read(&format!(r#"{kind}, "permit": []"#)).unwrap_err();
            assert!(
                e.to_string().contains("unknown field `permit`"),
                "{kind}: {e}"
            );
        }
        assert_eq!(
            read(r#""type": "warehouse""#).unwrap().kind,
            FacilityKind::Warehouse
        );
        let e = read(r#""type": "warehouse", "licence": "C1""#).unwrap_err();
        assert!(e.to_string().contains("licence"), "{e}");
    }
}
