//! Enterprises, the groups that own every mine and separation plant, and the
//! designations that allow production (Art. 6, 7 of the measures).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::region::RegionCode;
use crate::uscc::Uscc;

/// What an enterprise does; an enterprise may do several things. The 2024
/// Rare Earth Management Regulations oblige mining, smelting-separation, metal
/// smelting, comprehensive utilisation and export enterprises to record flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EnterpriseKind {
    Mining,
    Separation,
    MetalSmelting,
    Recycling,
    Importer,
    MagnetMaker,
    Trader,
    Exporter,
}

impl EnterpriseKind {
    pub fn name_zh(self) -> &'static str {
        match self {
            EnterpriseKind::Mining => "开采",
            EnterpriseKind::Separation => "冶炼分离",
            EnterpriseKind::MetalSmelting => "金属冶炼",
            EnterpriseKind::Recycling => "综合利用",
            EnterpriseKind::Importer => "进口",
            EnterpriseKind::MagnetMaker => "磁材",
            EnterpriseKind::Trader => "贸易",
            EnterpriseKind::Exporter => "出口",
        }
    }
}

/// The two state groups to which all quota is allocated since 2024 (Art. 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// China Northern Rare Earth (Group) High-Tech Co., Ltd.
    NorthernRareEarth,
    /// China Rare Earth Group Co., Ltd.
    ChinaRareEarth,
}

impl Group {
    pub fn name_zh(self) -> &'static str {
        match self {
            Group::NorthernRareEarth => "北方稀土集团",
            Group::ChinaRareEarth => "中国稀土集团",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Group::NorthernRareEarth => "China Northern Rare Earth Group",
            Group::ChinaRareEarth => "China Rare Earth Group",
        }
    }
}

/// The three total control indicator categories (Art. 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QuotaCategory {
    /// 岩矿型稀土开采
    MiningRock,
    /// 离子型稀土开采
    MiningIonic,
    /// 稀土冶炼分离
    Separation,
}

impl QuotaCategory {
    pub fn name_zh(self) -> &'static str {
        match self {
            QuotaCategory::MiningRock => "岩矿型稀土开采",
            QuotaCategory::MiningIonic => "离子型稀土开采",
            QuotaCategory::Separation => "稀土冶炼分离",
        }
    }
}

impl fmt::Display for QuotaCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuotaCategory::MiningRock => "mining_rock",
            QuotaCategory::MiningIonic => "mining_ionic",
            QuotaCategory::Separation => "separation",
        })
    }
}

/// An enterprise on the register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Enterprise {
    pub uscc: Uscc,
    pub name_zh: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub kinds: BTreeSet<EnterpriseKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    /// Where the enterprise is seated — its current location, which need not be
    /// the region in its USCC.
    pub seat: RegionCode,
}

/// A designation as a rare earth production enterprise for one category
/// (Art. 6, 7), valid on the days `valid_from..=valid_to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Designation {
    pub enterprise: Uscc,
    pub category: QuotaCategory,
    pub valid_from: Date,
    pub valid_to: Date,
    pub document: String,
}

impl Designation {
    /// Whether the designation covers `day` for `category`.
    pub fn covers(&self, category: QuotaCategory, day: Date) -> bool {
        self.category == category && self.valid_from <= day && day <= self.valid_to
    }
}
