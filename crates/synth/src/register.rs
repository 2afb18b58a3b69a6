//! The register of the synthetic industry: enterprises, their facilities,
//! and the year's production plan of each.
//!
//! The shape follows DESIGN.md §2: the two groups own every mine and
//! separation plant (Northern Rare Earth at Bayan Obo and Baotou, China Rare
//! Earth Group in the ionic-clay south and at Mianning and Weishan);
//! independents smelt metal, recycle, import, make magnets, trade and export.
//! Tonnage is that of the 2024 public quota (mining 270,000 t REO, separation
//! 254,000 t), whatever the number of events.
//!
//! Names, codes and licences are invented and say so: every name carries
//! "（合成）" / "(synthetic)" and every USCC comes from `Uscc::synthesize`
//! over a real division code. Who is on the register — names, codes, places —
//! does not depend on the seed, so that two seeds describe the same
//! enterprises and differ in their flows, capacities, ore signatures and in
//! where anomalies are planted.

use std::collections::BTreeSet;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use retrace_domain::distribution::ElementMasses;
use retrace_domain::enterprise::{Enterprise, EnterpriseKind, Group, QuotaCategory};
use retrace_domain::facility::{Facility, FacilityId, FacilityKind, Permit, Process};
use retrace_domain::product::OreType;
use retrace_domain::quantity::Mass;
use retrace_domain::region::{RegionCode, Regions};
use retrace_domain::uscc::Uscc;
use time::{Date, Month};

use crate::chem::{self, Signature};

/// One tonne in grams.
pub(crate) const TONNE: u64 = 1_000_000;

/// Rock-type mining of Northern Rare Earth at Bayan Obo, t REO a year: about
/// 70 % of the 2024 total, as in the first batch (94,580 of 135,000).
const NORTHERN_ROCK_T: u64 = 189_000;
/// China Rare Earth Group's rock-type mining at Mianning and at Weishan.
const MIANNING_T: u64 = 48_000;
const WEISHAN_T: u64 = 13_000;
/// Ionic-type mining, all China Rare Earth Group (2 × 10,140 t in 2024).
const IONIC_T: u64 = 20_000;
/// Imports a year, t REO: ionic ore from Myanmar and Laos, and monazite.
const MYANMAR_T: u64 = 7_000;
const LAOS_T: u64 = 3_000;
const MONAZITE_T: u64 = 5_000;

/// Share of the concentrate received that rock plants crack in the year (ppm);
/// the rest builds up as stock, which is what brings separation output to
/// about 254,000 t REO out of 270,000 t mined.
const CRACK_SHARE_PPM: u64 = 952_000;
/// Expected recoveries the separation plan is sized with (mid-band, ppm).
const CRACK_RECOVERY_PPM: u64 = 947_500;
/// Separation draws slightly less than its feed arrives at, so that it never
/// waits for feed.
const SEPARATION_DRAW_PPM: u64 = 985_000;
const IONIC_DRAW_PPM: u64 = 970_000;
/// Recycled mixed oxide the monazite-and-recycling plant expects to separate
/// in a year, t REO.
pub(crate) const RECYCLED_FEED_T: u64 = 4_500;
/// Scrap feed the recyclers plan to process in a year, t REO.
pub(crate) const RECYCLING_T: u64 = 5_500;

/// The account that entered the register.
pub(crate) const OFFICIAL: &str = "miit-registrar (synthetic account)";

/// Which ore feeds a separation plant, and so its recovery band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PlantFeed {
    /// Bastnäsite concentrate: cracked, then separated.
    Rock,
    /// Ionic-clay mixed carbonate or oxide: separated directly.
    Ionic,
    /// Imported monazite (cracked, then separated) and recycled mixed oxide.
    MonaziteAndRecycled,
}

/// How a plant's separation splits its feed into products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SepStyle {
    /// La, Ce, PrNd (or Pr and Nd apart), SEG and heavy concentrates — the
    /// Baotou and Sichuan practice.
    Grouped { split_prnd: bool },
    /// Every element to its own oxide, Pr and Nd together.
    Pure,
}

/// Where a mine's or importer's ore goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Basin {
    BayanObo,
    Sichuan,
    Weishan,
    Ganzhou,
    Longyan,
    Meizhou,
    Yongzhou,
    Monazite,
}

/// A group mine's year.
#[derive(Debug)]
pub(crate) struct Miner {
    pub product: &'static str,
    pub signature: ElementMasses,
    pub grade: (u32, u32),
    pub moisture: (u32, u32),
    pub annual: u64,
    /// Plants it ships to, with weights.
    pub plants: Vec<(usize, u64)>,
}

/// A group separation plant's year.
#[derive(Debug)]
pub(crate) struct Separator {
    pub feed: PlantFeed,
    pub style: SepStyle,
    /// REO to crack and to separate in the year.
    pub crack_annual: u64,
    pub sep_annual: u64,
    /// Its usual feed, and that feed's signature, for its opening stock.
    pub ore: &'static str,
    pub signature: ElementMasses,
    weight: u64,
    basin: Basin,
}

/// An importer's year.
#[derive(Debug)]
pub(crate) struct Importer {
    pub product: &'static str,
    pub country: &'static str,
    pub signature: ElementMasses,
    pub grade: (u32, u32),
    pub moisture: (u32, u32),
    pub annual: u64,
    pub plants: Vec<(usize, u64)>,
}

/// What an enterprise does in the synthetic industry.
#[derive(Debug)]
pub(crate) enum Role {
    Miner(Miner),
    Separator(Separator),
    /// Metal smelter; heavy ones also take Dy and Tb oxide.
    Smelter {
        heavy: bool,
    },
    Recycler,
    Importer(Importer),
    /// Magnet maker; `hree` ones make Dy/Tb-bearing grades.
    MagnetMaker {
        hree: bool,
    },
    Trader,
    /// Holds goods for traders and releases them on their order.
    Warehouse,
    /// Exporter; `magnets` ones also export magnets.
    Exporter {
        magnets: bool,
    },
}

/// One enterprise, its facility and its role.
#[derive(Debug)]
pub(crate) struct Actor {
    pub enterprise: Enterprise,
    pub facility: Option<Facility>,
    pub role: Role,
}

impl Actor {
    pub(crate) fn uscc(&self) -> &Uscc {
        &self.enterprise.uscc
    }

    pub(crate) fn facility_id(&self) -> Option<&FacilityId> {
        self.facility.as_ref().map(|f| &f.id)
    }

    /// The quota category it must be designated for, if any.
    pub(crate) fn designation_category(&self) -> Option<QuotaCategory> {
        match &self.role {
            Role::Miner(_) => match self.facility.as_ref().and_then(Facility::ore_type) {
                Some(OreType::Ionic) => Some(QuotaCategory::MiningIonic),
                _ => Some(QuotaCategory::MiningRock),
            },
            Role::Separator(_) => Some(QuotaCategory::Separation),
            _ => None,
        }
    }
}

/// The whole register.
#[derive(Debug)]
pub(crate) struct Register {
    pub actors: Vec<Actor>,
}

/// A place: division code, short Chinese and English names.
type Place = (&'static str, &'static str, &'static str);

const BAYAN_OBO: Place = ("150206", "白云鄂博", "Bayan Obo");
const MIANNING: Place = ("513433", "冕宁", "Mianning");
const WEISHAN: Place = ("370826", "微山", "Weishan");

/// Ionic mines: place, signature, product, basin.
const IONIC_MINES: &[(Place, Signature, &str, Basin)] = &[
    (
        ("360783", "龙南", "Longnan"),
        chem::IONIC_HIGH_Y,
        "ORE-IONIC-OXIDE",
        Basin::Ganzhou,
    ),
    (
        ("360729", "全南", "Quannan"),
        chem::IONIC_HIGH_Y,
        "ORE-IONIC-CARB",
        Basin::Ganzhou,
    ),
    (
        ("360728", "定南", "Dingnan"),
        chem::IONIC_HIGH_Y,
        "ORE-IONIC-CARB",
        Basin::Ganzhou,
    ),
    (
        ("360734", "寻乌", "Xunwu"),
        chem::IONIC_MEDIUM_Y,
        "ORE-IONIC-OXIDE",
        Basin::Ganzhou,
    ),
    (
        ("360726", "安远", "Anyuan"),
        chem::IONIC_MEDIUM_Y,
        "ORE-IONIC-CARB",
        Basin::Ganzhou,
    ),
    (
        ("360730", "宁都", "Ningdu"),
        chem::IONIC_MEDIUM_Y,
        "ORE-IONIC-CARB",
        Basin::Ganzhou,
    ),
    (
        ("350821", "长汀", "Changting"),
        chem::IONIC_MID_HEAVY,
        "ORE-IONIC-OXIDE",
        Basin::Longyan,
    ),
    (
        ("350824", "武平", "Wuping"),
        chem::IONIC_MID_HEAVY,
        "ORE-IONIC-CARB",
        Basin::Longyan,
    ),
    (
        ("441426", "平远", "Pingyuan"),
        chem::IONIC_MID_HEAVY,
        "ORE-IONIC-OXIDE",
        Basin::Meizhou,
    ),
    (
        ("441481", "兴宁", "Xingning"),
        chem::IONIC_MID_HEAVY,
        "ORE-IONIC-CARB",
        Basin::Meizhou,
    ),
    (
        ("431129", "江华", "Jianghua"),
        chem::IONIC_MID_HEAVY,
        "ORE-IONIC-OXIDE",
        Basin::Yongzhou,
    ),
    (
        ("431125", "江永", "Jiangyong"),
        chem::IONIC_MID_HEAVY,
        "ORE-IONIC-CARB",
        Basin::Yongzhou,
    ),
];

/// Separation plants: place, group, feed, style, basin.
const PLANTS: &[(Place, Group, PlantFeed, SepStyle, Basin)] = &[
    (
        HI_TECH,
        Group::NorthernRareEarth,
        PlantFeed::Rock,
        GROUPED,
        Basin::BayanObo,
    ),
    (
        HI_TECH,
        Group::NorthernRareEarth,
        PlantFeed::Rock,
        SPLIT,
        Basin::BayanObo,
    ),
    (
        HI_TECH,
        Group::NorthernRareEarth,
        PlantFeed::Rock,
        GROUPED,
        Basin::BayanObo,
    ),
    (
        HI_TECH,
        Group::NorthernRareEarth,
        PlantFeed::Rock,
        GROUPED,
        Basin::BayanObo,
    ),
    (
        ("150207", "九原", "Jiuyuan"),
        Group::NorthernRareEarth,
        PlantFeed::Rock,
        SPLIT,
        Basin::BayanObo,
    ),
    (
        ("150203", "昆都仑", "Kundulun"),
        Group::NorthernRareEarth,
        PlantFeed::Rock,
        GROUPED,
        Basin::BayanObo,
    ),
    (
        ("511112", "乐山五通桥", "Leshan Wutongqiao"),
        Group::ChinaRareEarth,
        PlantFeed::Rock,
        GROUPED,
        Basin::Sichuan,
    ),
    (
        ("511111", "乐山沙湾", "Leshan Shawan"),
        Group::ChinaRareEarth,
        PlantFeed::Rock,
        SPLIT,
        Basin::Sichuan,
    ),
    (
        MIANNING,
        Group::ChinaRareEarth,
        PlantFeed::Rock,
        GROUPED,
        Basin::Sichuan,
    ),
    (
        WEISHAN,
        Group::ChinaRareEarth,
        PlantFeed::Rock,
        GROUPED,
        Basin::Weishan,
    ),
    (
        ("360783", "龙南", "Longnan"),
        Group::ChinaRareEarth,
        PlantFeed::Ionic,
        SepStyle::Pure,
        Basin::Ganzhou,
    ),
    (
        ("360730", "宁都", "Ningdu"),
        Group::ChinaRareEarth,
        PlantFeed::Ionic,
        SepStyle::Pure,
        Basin::Ganzhou,
    ),
    (
        ("350821", "长汀", "Changting"),
        Group::ChinaRareEarth,
        PlantFeed::Ionic,
        SepStyle::Pure,
        Basin::Longyan,
    ),
    (
        ("441426", "平远", "Pingyuan"),
        Group::ChinaRareEarth,
        PlantFeed::Ionic,
        SepStyle::Pure,
        Basin::Meizhou,
    ),
    (
        ("431129", "江华", "Jianghua"),
        Group::ChinaRareEarth,
        PlantFeed::Ionic,
        SepStyle::Pure,
        Basin::Yongzhou,
    ),
    (
        GANZHOU,
        Group::ChinaRareEarth,
        PlantFeed::MonaziteAndRecycled,
        SepStyle::Pure,
        Basin::Monazite,
    ),
];

const HI_TECH: Place = ("150271", "包头稀土高新区", "Baotou Rare Earth Hi-Tech Zone");
const GANZHOU: Place = ("360702", "赣州章贡", "Ganzhou Zhanggong");
const GROUPED: SepStyle = SepStyle::Grouped { split_prnd: false };
const SPLIT: SepStyle = SepStyle::Grouped { split_prnd: true };

/// Importers: place, product, origin country, signature, grade, moisture, t REO, basin.
type ImporterSpec = (
    Place,
    &'static str,
    &'static str,
    Signature,
    (u32, u32),
    (u32, u32),
    u64,
    Basin,
);
const IMPORTERS: &[ImporterSpec] = &[
    (
        ("530581", "腾冲", "Tengchong"),
        "ORE-IONIC-CARB",
        "MM",
        chem::MYANMAR_IONIC,
        (420_000, 460_000),
        (300_000, 380_000),
        MYANMAR_T * 4 / 7,
        Basin::Ganzhou,
    ),
    (
        ("533102", "瑞丽", "Ruili"),
        "ORE-IONIC-OXIDE",
        "MM",
        chem::MYANMAR_IONIC,
        (920_000, 940_000),
        (2_000, 8_000),
        MYANMAR_T * 3 / 7,
        Basin::Ganzhou,
    ),
    (
        ("532823", "勐腊", "Mengla"),
        "ORE-IONIC-CARB",
        "LA",
        chem::LAOS_IONIC,
        (420_000, 460_000),
        (300_000, 380_000),
        LAOS_T,
        Basin::Ganzhou,
    ),
    (
        ("450602", "防城港", "Fangchenggang"),
        "ORE-MONAZITE",
        "MG",
        chem::MONAZITE,
        (550_000, 620_000),
        (10_000, 30_000),
        MONAZITE_T / 2,
        Basin::Monazite,
    ),
    (
        ("310115", "上海浦东", "Shanghai Pudong"),
        "ORE-MONAZITE",
        "NG",
        chem::MONAZITE,
        (550_000, 620_000),
        (10_000, 30_000),
        MONAZITE_T / 2,
        Basin::Monazite,
    ),
];

const SMELTER_PLACES: &[Place] = &[
    HI_TECH,
    ("360703", "赣州南康", "Ganzhou Nankang"),
    ("360704", "赣州赣县", "Ganzhou Ganxian"),
    ("350802", "龙岩新罗", "Longyan Xinluo"),
    GANZHOU,
    HI_TECH,
    HI_TECH,
    HI_TECH,
    ("150207", "包头九原", "Baotou Jiuyuan"),
    ("360781", "瑞金", "Ruijin"),
    ("511112", "乐山五通桥", "Leshan Wutongqiao"),
    ("511102", "乐山市中", "Leshan Shizhong"),
    ("350821", "长汀", "Changting"),
    ("330206", "宁波北仑", "Ningbo Beilun"),
    ("320412", "常州武进", "Changzhou Wujin"),
    ("320282", "宜兴", "Yixing"),
    ("513401", "西昌", "Xichang"),
    ("340104", "合肥蜀山", "Hefei Shushan"),
    ("410102", "郑州中原", "Zhengzhou Zhongyuan"),
    ("430104", "长沙岳麓", "Changsha Yuelu"),
];
/// The first this many smelters also smelt Dy and Tb.
const HEAVY_SMELTERS: usize = 5;

const RECYCLER_PLACES: &[Place] = &[
    ("360704", "赣州赣县", "Ganzhou Ganxian"),
    ("360703", "赣州南康", "Ganzhou Nankang"),
    ("360781", "瑞金", "Ruijin"),
    HI_TECH,
    ("330282", "慈溪", "Cixi"),
    ("330381", "瑞安", "Rui'an"),
    ("440306", "深圳宝安", "Shenzhen Bao'an"),
    ("320583", "昆山", "Kunshan"),
];

const MAGNET_PLACES: &[Place] = &[
    ("330206", "宁波北仑", "Ningbo Beilun"),
    ("330212", "宁波鄞州", "Ningbo Yinzhou"),
    ("330282", "慈溪", "Cixi"),
    ("330110", "杭州余杭", "Hangzhou Yuhang"),
    HI_TECH,
    HI_TECH,
    HI_TECH,
    HI_TECH,
    HI_TECH,
    GANZHOU,
    ("360703", "赣州南康", "Ganzhou Nankang"),
    ("360704", "赣州赣县", "Ganzhou Ganxian"),
    ("140109", "太原万柏林", "Taiyuan Wanbailin"),
    ("140109", "太原万柏林", "Taiyuan Wanbailin"),
    ("120116", "天津滨海", "Tianjin Binhai"),
    ("110105", "北京朝阳", "Beijing Chaoyang"),
    ("440306", "深圳宝安", "Shenzhen Bao'an"),
    ("440305", "深圳南山", "Shenzhen Nanshan"),
    ("370611", "烟台福山", "Yantai Fushan"),
    ("370611", "烟台福山", "Yantai Fushan"),
    ("320412", "常州武进", "Changzhou Wujin"),
    ("320583", "昆山", "Kunshan"),
    ("340104", "合肥蜀山", "Hefei Shushan"),
    ("340104", "合肥蜀山", "Hefei Shushan"),
    ("410102", "郑州中原", "Zhengzhou Zhongyuan"),
    ("430104", "长沙岳麓", "Changsha Yuelu"),
    ("420102", "武汉江岸", "Wuhan Jiang'an"),
    ("510107", "成都武侯", "Chengdu Wuhou"),
    ("610113", "西安雁塔", "Xi'an Yanta"),
    ("350206", "厦门湖里", "Xiamen Huli"),
    ("513401", "西昌", "Xichang"),
    ("511102", "乐山市中", "Leshan Shizhong"),
    ("320282", "宜兴", "Yixing"),
    ("330381", "瑞安", "Rui'an"),
];

const TRADER_PLACES: &[Place] = &[
    ("110105", "北京朝阳", "Beijing Chaoyang"),
    ("310115", "上海浦东", "Shanghai Pudong"),
    ("440305", "深圳南山", "Shenzhen Nanshan"),
    HI_TECH,
    GANZHOU,
    ("330212", "宁波鄞州", "Ningbo Yinzhou"),
    ("120116", "天津滨海", "Tianjin Binhai"),
    ("350206", "厦门湖里", "Xiamen Huli"),
    ("510107", "成都武侯", "Chengdu Wuhou"),
    ("420102", "武汉江岸", "Wuhan Jiang'an"),
    ("430104", "长沙岳麓", "Changsha Yuelu"),
    ("610113", "西安雁塔", "Xi'an Yanta"),
    ("370211", "青岛黄岛", "Qingdao Huangdao"),
    ("210213", "大连金州", "Dalian Jinzhou"),
    ("440112", "广州黄埔", "Guangzhou Huangpu"),
];

const WAREHOUSE_PLACE: Place = HI_TECH;

const EXPORTER_PLACES: &[Place] = &[
    ("310115", "上海浦东", "Shanghai Pudong"),
    ("120116", "天津滨海", "Tianjin Binhai"),
    ("440305", "深圳南山", "Shenzhen Nanshan"),
    ("330206", "宁波北仑", "Ningbo Beilun"),
    ("370211", "青岛黄岛", "Qingdao Huangdao"),
    HI_TECH,
    GANZHOU,
    ("350206", "厦门湖里", "Xiamen Huli"),
    ("440112", "广州黄埔", "Guangzhou Huangpu"),
    ("210213", "大连金州", "Dalian Jinzhou"),
];
/// The first this many exporters also export magnets.
const MAGNET_EXPORTERS: usize = 4;

/// Invented trade names for independents: Chinese and pinyin.
const BRANDS: &[(&str, &str)] = &[
    ("鑫源", "Xinyuan"),
    ("华瑞", "Huarui"),
    ("恒达", "Hengda"),
    ("金泰", "Jintai"),
    ("瑞丰", "Ruifeng"),
    ("宏远", "Hongyuan"),
    ("天成", "Tiancheng"),
    ("永盛", "Yongsheng"),
    ("博润", "Borun"),
    ("嘉和", "Jiahe"),
    ("锦程", "Jincheng"),
    ("东升", "Dongsheng"),
    ("汇通", "Huitong"),
    ("德益", "Deyi"),
    ("长青", "Changqing"),
    ("广合", "Guanghe"),
    ("明达", "Mingda"),
    ("安泰", "Antai"),
    ("润禾", "Runhe"),
    ("宝丰", "Baofeng"),
    ("正弘", "Zhenghong"),
    ("联升", "Liansheng"),
    ("启航", "Qihang"),
];

const ORDINALS_ZH: &[&str] = &["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

/// Builds the register for `year`, drawing capacities, weights and mine
/// signatures from `rng`.
pub(crate) fn build(year: i32, rng: &mut ChaCha8Rng) -> Register {
    let mut b = Builder {
        year,
        actors: Vec::new(),
        serial: 0,
        facility_serials: Vec::new(),
    };
    let plants = b.separators(rng);
    b.miners(&plants, rng);
    b.importers(&plants, rng);
    b.plan_separation(&plants);
    b.independents(rng);
    Register { actors: b.actors }
}

/// One group mine to register.
struct MineSpec {
    place: Place,
    group: Group,
    signature: Signature,
    product: &'static str,
    basin: Basin,
    grade: (u32, u32),
    moisture: (u32, u32),
    annual: u64,
}

struct Builder {
    year: i32,
    actors: Vec<Actor>,
    serial: u32,
    facility_serials: Vec<(String, u32)>,
}

/// Parses a division code the tables above name.
///
/// # Panics
/// If the embedded region table lacks it — a bug in the tables.
fn region(code: &str) -> RegionCode {
    Regions::embedded()
        .parse(code)
        .unwrap_or_else(|e| panic!("the synthetic register names division {code}: {e}"))
}

fn date(year: i32, month: Month, day: u8) -> Date {
    Date::from_calendar_date(year, month, day)
        .or_else(|_| Date::from_calendar_date(year, month, 28))
        .unwrap_or(Date::MIN)
}

impl Builder {
    fn next_uscc(&mut self, place: &str) -> Uscc {
        self.serial += 1;
        Uscc::synthesize(place, 1_000 + self.serial * 37)
    }

    fn facility_id(&mut self, prefix: &str, place: &str) -> FacilityId {
        let key = format!("{prefix}-{place}");
        let n = match self.facility_serials.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.facility_serials.push((key.clone(), 1));
                1
            }
        };
        FacilityId::parse(&format!("{key}-{n:02}")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn permits(&self, place: &str, kinds: &[&str], rng: &mut ChaCha8Rng) -> Vec<Permit> {
        kinds
            .iter()
            .map(|kind| Permit {
                kind: (*kind).to_owned(),
                number: format!(
                    "{}-{place}-{:06}（合成）",
                    kind.to_uppercase(),
                    rng.random_range(1..1_000_000)
                ),
                valid_to: date(self.year + rng.random_range(1..=4), Month::December, 31),
            })
            .collect()
    }

    fn push(&mut self, enterprise: Enterprise, facility: Option<Facility>, role: Role) -> usize {
        self.actors.push(Actor {
            enterprise,
            facility,
            role,
        });
        self.actors.len() - 1
    }

    fn enterprise(
        &mut self,
        place: &Place,
        name_zh: String,
        name_en: String,
        kinds: &[EnterpriseKind],
        group: Option<Group>,
    ) -> Enterprise {
        Enterprise {
            uscc: self.next_uscc(place.0),
            name_zh,
            name_en: Some(name_en),
            kinds: kinds.iter().copied().collect::<BTreeSet<_>>(),
            group,
            seat: region(place.0),
        }
    }

    fn plant(
        &mut self,
        operator: &Uscc,
        place: &Place,
        name_zh: String,
        processes: Vec<Process>,
        capacity_t: u64,
        permits: Vec<Permit>,
    ) -> Facility {
        Facility {
            id: self.facility_id("PL", place.0),
            operator: operator.clone(),
            name_zh,
            region: region(place.0),
            kind: FacilityKind::Plant {
                processes,
                capacity_per_year: Mass::from_tonnes(capacity_t),
            },
            permits,
        }
    }

    /// The group separation plants, with seeded weights for sharing their basin's ore.
    fn separators(&mut self, rng: &mut ChaCha8Rng) -> Vec<usize> {
        let mut made = Vec::new();
        for (i, (place, group, feed, style, basin)) in PLANTS.iter().enumerate() {
            let n = PLANTS[..i].iter().filter(|p| p.0.0 == place.0).count() + 1;
            let (zh, en) = match group {
                Group::NorthernRareEarth => (
                    format!(
                        "北方稀土{}冶炼分离第{}厂有限公司（合成）",
                        place.1,
                        ORDINALS_ZH[n - 1]
                    ),
                    format!(
                        "Northern Rare Earth {} Separation Plant No. {n} Co., Ltd. (synthetic)",
                        place.2
                    ),
                ),
                Group::ChinaRareEarth => (
                    format!("中国稀土{}冶炼分离有限公司（合成）", place.1),
                    format!(
                        "China Rare Earth {} Smelting and Separation Co., Ltd. (synthetic)",
                        place.2
                    ),
                ),
            };
            let enterprise = self.enterprise(
                place,
                zh.clone(),
                en,
                &[EnterpriseKind::Separation],
                Some(*group),
            );
            let processes = match feed {
                PlantFeed::Ionic => vec![Process::Separation],
                PlantFeed::Rock | PlantFeed::MonaziteAndRecycled => {
                    vec![Process::Cracking, Process::Separation]
                }
            };
            let permits: &[&str] = match (feed, group) {
                (PlantFeed::MonaziteAndRecycled, _)
                | (PlantFeed::Rock, Group::NorthernRareEarth) => {
                    &["safety", "discharge", "radiation"]
                }
                _ => &["safety", "discharge"],
            };
            let weight = rng.random_range(2..=5);
            let plant_name = match group {
                Group::NorthernRareEarth => zh.replace("有限公司", ""),
                Group::ChinaRareEarth => zh.replace("有限公司", "厂"),
            };
            let facility = self.plant(
                &enterprise.uscc,
                place,
                plant_name,
                processes,
                0,
                self.permits(place.0, permits, rng),
            );
            let role = Role::Separator(Separator {
                feed: *feed,
                style: *style,
                crack_annual: 0,
                sep_annual: 0,
                ore: match basin {
                    Basin::BayanObo => "ORE-BAOTOU-MIX50",
                    Basin::Sichuan => "ORE-MIANNING-BAST",
                    Basin::Weishan => "ORE-WEISHAN-BAST",
                    Basin::Monazite => "ORE-MONAZITE",
                    Basin::Ganzhou | Basin::Longyan | Basin::Meizhou | Basin::Yongzhou => {
                        "ORE-IONIC-CARB"
                    }
                },
                signature: [0; 16],
                weight,
                basin: *basin,
            });
            made.push(self.push(enterprise, Some(facility), role));
        }
        made
    }

    fn plants_of(&self, plants: &[usize], basin: Basin) -> Vec<(usize, u64)> {
        plants
            .iter()
            .filter_map(|p| match &self.actors[*p].role {
                Role::Separator(s) if s.basin == basin => Some((*p, s.weight)),
                _ => None,
            })
            .collect()
    }

    fn miners(&mut self, plants: &[usize], rng: &mut ChaCha8Rng) {
        let mut mines: Vec<MineSpec> = Vec::new();
        let rock = [
            (
                BAYAN_OBO,
                Group::NorthernRareEarth,
                chem::BAYAN_OBO,
                "ORE-BAOTOU-MIX50",
                Basin::BayanObo,
                5,
                NORTHERN_ROCK_T,
                (490_000, 510_000),
            ),
            (
                MIANNING,
                Group::ChinaRareEarth,
                chem::MIANNING,
                "ORE-MIANNING-BAST",
                Basin::Sichuan,
                2,
                MIANNING_T,
                (580_000, 620_000),
            ),
            (
                WEISHAN,
                Group::ChinaRareEarth,
                chem::WEISHAN,
                "ORE-WEISHAN-BAST",
                Basin::Weishan,
                1,
                WEISHAN_T,
                (550_000, 600_000),
            ),
        ];
        for (place, group, signature, product, basin, count, total_t, grade) in rock {
            for annual in split_total(total_t * TONNE, count, rng) {
                mines.push(MineSpec {
                    place,
                    group,
                    signature,
                    product,
                    basin,
                    grade,
                    moisture: (60_000, 90_000),
                    annual,
                });
            }
        }
        let ionic = split_total(IONIC_T * TONNE, IONIC_MINES.len(), rng);
        for ((place, signature, product, basin), annual) in IONIC_MINES.iter().zip(ionic) {
            let (grade, moisture) = if *product == "ORE-IONIC-OXIDE" {
                ((920_000, 945_000), (2_000, 8_000))
            } else {
                ((430_000, 470_000), (350_000, 450_000))
            };
            mines.push(MineSpec {
                place: *place,
                group: Group::ChinaRareEarth,
                signature,
                product,
                basin: *basin,
                grade,
                moisture,
                annual,
            });
        }
        for MineSpec {
            place,
            group,
            signature,
            product,
            basin,
            grade,
            moisture,
            annual,
        } in mines
        {
            let n = self
                .actors
                .iter()
                .filter(|a| {
                    matches!(a.role, Role::Miner(_)) && a.enterprise.seat.as_str() == place.0
                })
                .count()
                + 1;
            let many = matches!(basin, Basin::BayanObo | Basin::Sichuan);
            let (zh, en) = match (group, many) {
                (Group::NorthernRareEarth, _) => (
                    format!(
                        "北方稀土{}第{}矿业有限公司（合成）",
                        place.1,
                        ORDINALS_ZH[n - 1]
                    ),
                    format!(
                        "Northern Rare Earth {} Mining No. {n} Co., Ltd. (synthetic)",
                        place.2
                    ),
                ),
                (Group::ChinaRareEarth, true) => (
                    format!(
                        "中国稀土{}第{}矿业有限公司（合成）",
                        place.1,
                        ORDINALS_ZH[n - 1]
                    ),
                    format!(
                        "China Rare Earth {} Mining No. {n} Co., Ltd. (synthetic)",
                        place.2
                    ),
                ),
                (Group::ChinaRareEarth, false) => (
                    format!("中国稀土{}矿业有限公司（合成）", place.1),
                    format!("China Rare Earth {} Mining Co., Ltd. (synthetic)", place.2),
                ),
            };
            let enterprise = self.enterprise(
                &place,
                zh.clone(),
                en,
                &[EnterpriseKind::Mining],
                Some(group),
            );
            let ore_type =
                if basin == Basin::BayanObo || basin == Basin::Sichuan || basin == Basin::Weishan {
                    OreType::Rock
                } else {
                    OreType::Ionic
                };
            let area_ha = match ore_type {
                OreType::Rock => rng.random_range(300..=4_800),
                _ => rng.random_range(60..=900),
            };
            let id = self.facility_id("MN", place.0);
            let facility = Facility {
                operator: enterprise.uscc.clone(),
                name_zh: format!("{}稀土矿第{}采区（合成）", place.1, ORDINALS_ZH[n - 1]),
                region: region(place.0),
                kind: FacilityKind::Mine {
                    licence: format!(
                        "C{}00{}{:010}",
                        place.0,
                        self.year - rng.random_range(3..=12),
                        rng.random_range(0..10_000_000_000u64)
                    ),
                    licence_valid_to: date(
                        self.year + rng.random_range(2..=8),
                        Month::December,
                        31,
                    ),
                    ore_type,
                    area_ha,
                    capacity_per_year: Mass::from_grams(annual)
                        .scale(rng.random_range(125..=140), 100),
                },
                permits: self.permits(place.0, &["safety"], rng),
                id,
            };
            let role = Role::Miner(Miner {
                product,
                signature: chem::vary(signature, 50_000, rng),
                grade,
                moisture,
                annual,
                plants: self.plants_of(plants, basin),
            });
            self.push(enterprise, Some(facility), role);
        }
    }

    fn importers(&mut self, plants: &[usize], rng: &mut ChaCha8Rng) {
        for (i, (place, product, country, signature, grade, moisture, t, basin)) in
            IMPORTERS.iter().enumerate()
        {
            let brand = BRANDS[(i + 7) % BRANDS.len()];
            let enterprise = self.enterprise(
                place,
                format!("{}{}矿产进口有限公司（合成）", place.1, brand.0),
                format!(
                    "{} {} Mineral Import Co., Ltd. (synthetic)",
                    place.2, brand.1
                ),
                &[EnterpriseKind::Importer],
                None,
            );
            let targets = if *basin == Basin::Ganzhou {
                plants
                    .iter()
                    .filter_map(|p| match &self.actors[*p].role {
                        Role::Separator(s) if s.feed == PlantFeed::Ionic => Some((
                            *p,
                            if s.basin == Basin::Ganzhou {
                                s.weight * 3
                            } else {
                                s.weight
                            },
                        )),
                        _ => None,
                    })
                    .collect()
            } else {
                self.plants_of(plants, *basin)
            };
            let role = Role::Importer(Importer {
                product,
                country,
                signature: chem::vary(signature, 30_000, rng),
                grade: *grade,
                moisture: *moisture,
                annual: t * TONNE,
                plants: targets,
            });
            self.push(enterprise, None, role);
        }
    }

    /// Sizes each plant's year from the ore its mines and importers send it.
    fn plan_separation(&mut self, plants: &[usize]) {
        for p in plants {
            let mut receipts = 0u64;
            let mut signature = [0u64; 16];
            for a in &self.actors {
                let (annual, targets, sig) = match &a.role {
                    Role::Miner(m) => (m.annual, &m.plants, &m.signature),
                    Role::Importer(i) => (i.annual, &i.plants, &i.signature),
                    _ => continue,
                };
                let total: u64 = targets.iter().map(|(_, w)| w).sum();
                if let Some((_, w)) = targets.iter().find(|(t, _)| t == p) {
                    let share = Mass::from_grams(annual).scale(*w, total).grams();
                    receipts += share;
                    for (s, v) in signature.iter_mut().zip(sig) {
                        *s += v * (share / TONNE).max(1);
                    }
                }
            }
            let Role::Separator(s) = &mut self.actors[*p].role else {
                continue;
            };
            s.signature = retrace_domain::distribution::apportion(1_000_000, &signature);
            match s.feed {
                PlantFeed::Rock => {
                    s.crack_annual = chem::ppm_of(receipts, CRACK_SHARE_PPM);
                    s.sep_annual = chem::ppm_of(
                        chem::ppm_of(s.crack_annual, CRACK_RECOVERY_PPM),
                        SEPARATION_DRAW_PPM,
                    );
                }
                PlantFeed::Ionic => {
                    s.sep_annual = chem::ppm_of(receipts, IONIC_DRAW_PPM);
                }
                PlantFeed::MonaziteAndRecycled => {
                    s.crack_annual = chem::ppm_of(receipts, 950_000);
                    s.sep_annual = chem::ppm_of(
                        chem::ppm_of(s.crack_annual, CRACK_RECOVERY_PPM),
                        SEPARATION_DRAW_PPM,
                    ) + RECYCLED_FEED_T * TONNE;
                }
            }
            let capacity = (s.sep_annual / TONNE) * 13 / 10 + 100;
            if let Some(FacilityKind::Plant {
                capacity_per_year, ..
            }) = self.actors[*p].facility.as_mut().map(|f| &mut f.kind)
            {
                *capacity_per_year = Mass::from_tonnes(capacity);
            }
        }
    }

    fn independents(&mut self, rng: &mut ChaCha8Rng) {
        let mut brand = 0usize;
        let mut next_brand = || {
            brand += 1;
            BRANDS[brand % BRANDS.len()]
        };
        for (i, place) in SMELTER_PLACES.iter().enumerate() {
            let b = next_brand();
            let zh = format!("{}{}稀土金属材料有限公司（合成）", place.1, b.0);
            let e = self.enterprise(
                place,
                zh.clone(),
                format!(
                    "{} {} Rare Earth Metals Co., Ltd. (synthetic)",
                    place.2, b.1
                ),
                &[EnterpriseKind::MetalSmelting],
                None,
            );
            let f = self.plant(
                &e.uscc,
                place,
                zh.replace("有限公司（合成）", "冶炼厂（合成）"),
                vec![Process::MetalSmelting],
                rng.random_range(1_500..=4_000),
                self.permits(place.0, &["safety", "discharge"], rng),
            );
            self.push(
                e,
                Some(f),
                Role::Smelter {
                    heavy: i < HEAVY_SMELTERS,
                },
            );
        }
        for place in RECYCLER_PLACES {
            let b = next_brand();
            let zh = format!("{}{}稀土资源再生有限公司（合成）", place.1, b.0);
            let e = self.enterprise(
                place,
                zh.clone(),
                format!(
                    "{} {} Rare Earth Recycling Co., Ltd. (synthetic)",
                    place.2, b.1
                ),
                &[EnterpriseKind::Recycling],
                None,
            );
            let f = self.plant(
                &e.uscc,
                place,
                zh.replace("有限公司（合成）", "综合利用厂（合成）"),
                vec![Process::Recycling],
                rng.random_range(800..=1_600),
                self.permits(place.0, &["safety", "discharge"], rng),
            );
            self.push(e, Some(f), Role::Recycler);
        }
        for (i, place) in MAGNET_PLACES.iter().enumerate() {
            let b = next_brand();
            let zh = format!("{}{}磁业有限公司（合成）", place.1, b.0);
            let e = self.enterprise(
                place,
                zh.clone(),
                format!("{} {} Magnetics Co., Ltd. (synthetic)", place.2, b.1),
                &[EnterpriseKind::MagnetMaker],
                None,
            );
            let f = self.plant(
                &e.uscc,
                place,
                zh.replace("有限公司（合成）", "磁材厂（合成）"),
                vec![Process::MagnetMaking],
                rng.random_range(1_000..=3_000),
                self.permits(place.0, &["safety"], rng),
            );
            self.push(e, Some(f), Role::MagnetMaker { hree: i % 2 == 0 });
        }
        for place in TRADER_PLACES {
            let b = next_brand();
            let e = self.enterprise(
                place,
                format!("{}{}稀土贸易有限公司（合成）", place.1, b.0),
                format!(
                    "{} {} Rare Earth Trading Co., Ltd. (synthetic)",
                    place.2, b.1
                ),
                &[EnterpriseKind::Trader],
                None,
            );
            self.push(e, None, Role::Trader);
        }
        let place = WAREHOUSE_PLACE;
        let b = next_brand();
        let zh = format!("{}{}稀土仓储物流有限公司（合成）", place.1, b.0);
        let e = self.enterprise(
            &place,
            zh.clone(),
            format!(
                "{} {} Rare Earth Warehousing and Logistics Co., Ltd. (synthetic)",
                place.2, b.1
            ),
            &[EnterpriseKind::Trader],
            None,
        );
        let id = self.facility_id("WH", place.0);
        let f = Facility {
            id,
            operator: e.uscc.clone(),
            name_zh: zh.replace("有限公司（合成）", "交割仓库（合成）"),
            region: region(place.0),
            kind: FacilityKind::Warehouse,
            permits: self.permits(place.0, &["safety"], rng),
        };
        self.push(e, Some(f), Role::Warehouse);
        for (i, place) in EXPORTER_PLACES.iter().enumerate() {
            let b = next_brand();
            let e = self.enterprise(
                place,
                format!("{}{}稀土进出口有限公司（合成）", place.1, b.0),
                format!(
                    "{} {} Rare Earth Import and Export Co., Ltd. (synthetic)",
                    place.2, b.1
                ),
                &[EnterpriseKind::Exporter, EnterpriseKind::Trader],
                None,
            );
            self.push(
                e,
                None,
                Role::Exporter {
                    magnets: i < MAGNET_EXPORTERS,
                },
            );
        }
    }
}

/// Splits `total` into `n` parts with seeded weights of 3 to 7, adding up exactly.
fn split_total(total: u64, n: usize, rng: &mut ChaCha8Rng) -> Vec<u64> {
    let weights: Vec<u64> = (0..n).map(|_| rng.random_range(3..=7)).collect();
    let sum: u64 = weights.iter().sum();
    let mut parts: Vec<u64> = weights
        .iter()
        .map(|w| Mass::from_grams(total).scale(*w, sum).grams())
        .collect();
    let given: u64 = parts.iter().sum();
    if let Some(first) = parts.first_mut() {
        *first = (*first + total).saturating_sub(given);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_register_has_the_shape_of_the_industry() {
        let reg = build(2025, &mut ChaCha8Rng::seed_from_u64(1));
        let count = |f: fn(&Role) -> bool| reg.actors.iter().filter(|a| f(&a.role)).count();
        assert_eq!(count(|r| matches!(r, Role::Miner(_))), 20);
        assert_eq!(count(|r| matches!(r, Role::Separator(_))), 16);
        assert_eq!(count(|r| matches!(r, Role::Smelter { .. })), 20);
        assert_eq!(count(|r| matches!(r, Role::Recycler)), 8);
        assert_eq!(
            count(|r| matches!(r, Role::MagnetMaker { .. } | Role::Trader | Role::Warehouse)),
            50
        );
        assert_eq!(count(|r| matches!(r, Role::Exporter { .. })), 10);
        let mined: u64 = reg
            .actors
            .iter()
            .filter_map(|a| {
                if let Role::Miner(m) = &a.role {
                    Some(m.annual)
                } else {
                    None
                }
            })
            .sum();
        assert_eq!(mined, 270_000 * TONNE);
        for a in &reg.actors {
            assert!(a.enterprise.name_zh.ends_with("（合成）"));
            assert!(
                a.enterprise
                    .name_en
                    .as_deref()
                    .is_some_and(|n| n.ends_with("(synthetic)"))
            );
            assert_eq!(
                a.enterprise.group.is_some(),
                a.designation_category().is_some()
            );
        }
        let usccs: BTreeSet<_> = reg.actors.iter().map(|a| a.uscc().clone()).collect();
        assert_eq!(usccs.len(), reg.actors.len());
    }
}
