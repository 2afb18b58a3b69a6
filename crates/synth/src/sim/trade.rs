//! Flows that move lots between holders and out of the country: shipments and
//! their receipts, title transfers (one of them through a warehouse), exports,
//! and the stock-takes that adjust what a holder has.

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use retrace_domain::export_control::ExportControls;
use retrace_domain::flow::{Adjust, AdjustReason, Export, Flow, Receive, Ship, Transfer};
use retrace_domain::product::{OreType, ProductKind};
use retrace_domain::quantity::{Mass, MassChange};
use retrace_domain::rules::Rule;

use super::{Holding, SLOTS, Sim, Slot, Transit};
use crate::anomaly::PlantedCase;
use crate::chem::{self, LotInfo};
use crate::register::Role;

/// Receivers weigh within ±0.1 % of what was shipped — well inside the
/// 0.2 % the tests and the rules allow.
const WEIGHING_PPM: u32 = 1_000;
/// The planted short receipt: 1.2 % less than shipped.
const SHORT_PPM: u64 = 988_000;
/// A day has one stock-take or circuit hold-up for about this many of its
/// flows (fewer where the enterprise drawn holds nothing to count).
const ADJUST_EVERY: usize = 120;

/// What a product is for a buyer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goods {
    Ore,
    PrNdOxide,
    DyOxide,
    TbOxide,
    PrNdMetal,
    DyMetal,
    TbMetal,
    Magnet,
    Scrap,
    Other,
}

fn goods(lot: &LotInfo) -> Goods {
    match lot.product.code.as_str() {
        "OXI-PRND" | "OXI-PR" | "OXI-ND" => Goods::PrNdOxide,
        "OXI-DY" => Goods::DyOxide,
        "OXI-TB" => Goods::TbOxide,
        "MET-PRND" | "MET-PR" | "MET-ND" => Goods::PrNdMetal,
        "ALY-DYFE" => Goods::DyMetal,
        "MET-TB" => Goods::TbMetal,
        _ => match lot.product.kind {
            ProductKind::OreProduct => Goods::Ore,
            ProductKind::Magnet => Goods::Magnet,
            ProductKind::Scrap => Goods::Scrap,
            _ => Goods::Other,
        },
    }
}

/// Where export goods go.
const OXIDE_MARKETS: &[&str] = &["JP", "US", "NL", "KR", "FR", "DE", "MY", "IN"];
const MAGNET_MARKETS: &[&str] = &["DE", "US", "JP", "KR", "VN", "IN", "IT", "TH", "MX"];

impl Sim<'_> {
    /// Receipts of the shipments arriving today, weighed by the receiver.
    pub(super) fn receive(&mut self) {
        let ind = self.ind;
        let arrivals = self.transit.remove(&self.day).unwrap_or_default();
        for t in arrivals {
            let delta = chem::ppm_of(
                t.shipped,
                u64::from(self.rng.random_range(0..=WEIGHING_PPM)),
            );
            let mut received = if self.rng.random_range(0..2) == 0 {
                t.shipped + delta
            } else {
                (t.shipped - delta).max(1)
            };
            if let Some(plan) = &ind.plan {
                let (receiver, from) = plan.short_receipt;
                let peers = if self.buyers.smelters.contains(&receiver) {
                    &self.buyers.smelters
                } else {
                    &self.buyers.magnet_makers
                };
                if self.falls_on(Rule::TransferMismatch, t.to, receiver, from, peers) {
                    received = chem::ppm_of(t.shipped, SHORT_PPM).max(1);
                    let a = &ind.register.actors[t.to];
                    let case = PlantedCase {
                        rule: Rule::TransferMismatch,
                        enterprise: a.uscc().clone(),
                        facility: None,
                        lot: Some(t.lot.id.clone()),
                        month: Some(self.month_text()),
                        description: format!(
                            "[transfer_mismatch] {} received shipment {} of {} from {} as {}, 1.2 % short of the {} shipped",
                            a.enterprise.name_zh,
                            t.shipment,
                            t.lot.id,
                            ind.register.actors[t.from].enterprise.name_zh,
                            Mass::from_grams(received),
                            Mass::from_grams(t.shipped)
                        ),
                    };
                    self.plant(case);
                }
            }
            let grade = (t.lot.product.kind == ProductKind::OreProduct).then_some(t.lot.grade);
            self.emit(
                t.to,
                true,
                None,
                Flow::Receive(Receive {
                    lot: t.lot.id.clone(),
                    from: ind.register.actors[t.from].uscc().clone(),
                    shipment: t.shipment,
                    mass: Mass::from_grams(received),
                    grade,
                }),
            );
            if let Some(slot) = self.slot_for(t.to, &t.lot) {
                self.states[t.to].slots[slot as usize].push_back(Holding {
                    lot: t.lot,
                    mass: received,
                    ready: self.day,
                    custody: t.custody,
                });
            }
        }
    }

    /// What the receiver does with a lot; `None` for goods sold on to users
    /// who record nothing further, which stay in the ledger as its stock.
    fn slot_for(&mut self, receiver: usize, lot: &LotInfo) -> Option<Slot> {
        let g = goods(lot);
        match &self.ind.register.actors[receiver].role {
            Role::Separator(_) => match (g, lot.product.ore_type) {
                (Goods::Ore, Some(OreType::Ionic)) => Some(Slot::SepFeed),
                (Goods::Ore, _) => Some(Slot::Concentrate),
                _ => Some(Slot::SepFeed),
            },
            Role::Smelter { .. } => match g {
                Goods::DyOxide => Some(Slot::DyOxide),
                Goods::TbOxide => Some(Slot::TbOxide),
                _ => Some(Slot::PrNdOxide),
            },
            Role::MagnetMaker { .. } => match g {
                Goods::DyMetal => Some(Slot::DyMetal),
                Goods::TbMetal => Some(Slot::TbMetal),
                _ => Some(Slot::PrNdMetal),
            },
            Role::Recycler => Some(Slot::Scrap),
            Role::Trader => {
                let resold = match g {
                    Goods::PrNdOxide
                    | Goods::DyOxide
                    | Goods::TbOxide
                    | Goods::PrNdMetal
                    | Goods::DyMetal
                    | Goods::TbMetal => 75,
                    _ => 35,
                };
                (self.rng.random_range(0..100) < resold).then_some(Slot::Sale)
            }
            Role::Warehouse | Role::Exporter { .. } => Some(Slot::Sale),
            Role::Miner(_) | Role::Importer(_) => None,
        }
    }

    /// Ships, transfers and exports what is ready to leave each holder.
    pub(super) fn dispatch(&mut self) {
        for actor in 0..self.ind.register.actors.len() {
            let queue = std::mem::take(&mut self.states[actor].slots[Slot::Sale as usize]);
            let mut kept = std::collections::VecDeque::new();
            for holding in queue {
                if holding.ready > self.day {
                    kept.push_back(holding);
                } else if let Err(back) = self.sell(actor, holding) {
                    kept.push_back(back);
                }
            }
            self.states[actor].slots[Slot::Sale as usize] = kept;
        }
    }

    /// One holding leaves its holder; `Err` gives it back when it must wait
    /// (no shipment can arrive before the year ends).
    fn sell(&mut self, actor: usize, holding: Holding) -> Result<(), Holding> {
        let ind = self.ind;
        match &ind.register.actors[actor].role {
            Role::Exporter { .. } => {
                self.export(actor, &holding);
                Ok(())
            }
            Role::Warehouse => {
                let Some(buyer) = self.resale_buyer(&holding.lot) else {
                    return Ok(());
                };
                if !self.can_ship() {
                    return Err(holding);
                }
                if let Some(owner) = holding.custody {
                    let other = self.other_trader(owner);
                    let holder = Some(ind.register.actors[actor].uscc().clone());
                    self.transfer(owner, &holding, other, holder);
                }
                self.ship(actor, holding, buyer, None)
            }
            Role::Trader => {
                let Some(buyer) = self.resale_buyer(&holding.lot) else {
                    return Ok(());
                };
                if !self.can_ship() {
                    return Err(holding);
                }
                let roll = self.rng.random_range(0..100);
                match self.buyers.warehouses.first().copied() {
                    Some(warehouse) if roll < 10 => {
                        self.ship(actor, holding, warehouse, Some(actor))
                    }
                    _ => {
                        if roll < 25 {
                            let other = self.other_trader(actor);
                            self.transfer(actor, &holding, other, None);
                        }
                        self.ship(actor, holding, buyer, None)
                    }
                }
            }
            _ => match self.buyer(actor, &holding.lot) {
                Some(buyer) => self.ship(actor, holding, buyer, None),
                None => Ok(()),
            },
        }
    }

    /// The buyer of a producer's goods; `None` when they go to users who
    /// record nothing further.
    fn buyer(&mut self, seller: usize, lot: &LotInfo) -> Option<usize> {
        let ind = self.ind;
        let roll = self.rng.random_range(0..100);
        let g = goods(lot);
        match &ind.register.actors[seller].role {
            Role::Miner(m) => weighted(&mut self.rng, &m.plants),
            Role::Importer(i) => weighted(&mut self.rng, &i.plants),
            Role::Separator(_) => {
                let b = &self.buyers;
                let list: &[usize] = match (g, roll) {
                    (Goods::PrNdOxide, 0..70) => &b.smelters,
                    (Goods::DyOxide | Goods::TbOxide, 0..70) => &b.heavy_smelters,
                    (Goods::PrNdOxide, 70..90)
                    | (Goods::DyOxide | Goods::TbOxide, 70..85)
                    | (_, 0..80) => &b.traders,
                    _ => &b.exporters,
                };
                pick(&mut self.rng, list)
            }
            Role::Smelter { .. } => {
                let b = &self.buyers;
                let list: &[usize] = match (g, roll) {
                    (Goods::PrNdMetal, 0..80) => &b.magnet_makers,
                    (_, 0..80) => &b.hree_magnet_makers,
                    (_, 80..95) => &b.traders,
                    _ => &b.exporters,
                };
                pick(&mut self.rng, list)
            }
            Role::MagnetMaker { .. } => {
                let list: &[usize] = if g == Goods::Scrap {
                    &self.buyers.recyclers
                } else {
                    &self.buyers.magnet_exporters
                };
                pick(&mut self.rng, list)
            }
            Role::Recycler => pick(&mut self.rng, &self.buyers.recycled_feed_plants),
            Role::Trader | Role::Warehouse => self.resale_buyer(lot),
            Role::Exporter { .. } => None,
        }
    }

    /// Who a trader (or the warehouse, on a trader's order) sells to.
    fn resale_buyer(&mut self, lot: &LotInfo) -> Option<usize> {
        let b = &self.buyers;
        let list: &[usize] = match goods(lot) {
            Goods::PrNdMetal => &b.magnet_makers,
            Goods::DyMetal | Goods::TbMetal => &b.hree_magnet_makers,
            Goods::PrNdOxide => &b.smelters,
            Goods::DyOxide | Goods::TbOxide => &b.heavy_smelters,
            Goods::Magnet => &b.magnet_exporters,
            Goods::Ore | Goods::Scrap | Goods::Other => &b.exporters,
        };
        pick(&mut self.rng, list)
    }

    fn other_trader(&mut self, not: usize) -> usize {
        let traders = &self.buyers.traders;
        let n = traders.len();
        if n < 2 {
            return traders.first().copied().unwrap_or(not);
        }
        let i = self.rng.random_range(0..n - 1);
        let other = traders[i];
        if other == not { traders[n - 1] } else { other }
    }

    /// Whether a shipment sent today can be received before the year ends.
    fn can_ship(&self) -> bool {
        self.day + 1 < self.days()
    }

    /// Ships a whole holding; it arrives one to three working days later.
    fn ship(
        &mut self,
        from: usize,
        holding: Holding,
        to: usize,
        custody: Option<usize>,
    ) -> Result<(), Holding> {
        if !self.can_ship() || from == to {
            return Err(holding);
        }
        let transit = self.rng.random_range(1..=3);
        let arrival = (self.day + transit).min(self.days() - 1);
        let shipment = {
            let yy = self.yy();
            let n = &mut self.states[from].numbers.shipment;
            *n += 1;
            format!("SH{yy:02}-{:07}", *n)
        };
        let contract = Some(self.document(from, "HT"));
        let to_uscc = self.ind.register.actors[to].uscc().clone();
        self.emit(
            from,
            true,
            None,
            Flow::Ship(Ship {
                lot: holding.lot.id.clone(),
                mass: Mass::from_grams(holding.mass),
                to: to_uscc,
                shipment: shipment.clone(),
                contract,
                invoice: None,
            }),
        );
        self.transit.entry(arrival).or_default().push(Transit {
            from,
            to,
            lot: holding.lot,
            shipped: holding.mass,
            shipment,
            custody,
        });
        Ok(())
    }

    /// Title passes from `owner` to `to` without the goods moving; `holder`
    /// names the warehouse when the owner does not hold them itself.
    fn transfer(
        &mut self,
        owner: usize,
        holding: &Holding,
        to: usize,
        holder: Option<retrace_domain::uscc::Uscc>,
    ) {
        let document = self.document(owner, "TR");
        let to = self.ind.register.actors[to].uscc().clone();
        self.emit(
            owner,
            false,
            None,
            Flow::Transfer(Transfer {
                lot: holding.lot.id.clone(),
                mass: Mass::from_grams(holding.mass),
                to,
                holder,
                document,
            }),
        );
    }

    /// Exports a whole holding, with a licence whenever its content is
    /// controlled on the day — except the one planted unlicensed export.
    fn export(&mut self, actor: usize, holding: &Holding) {
        let ind = self.ind;
        let lot = &holding.lot;
        let date = ind.calendar.date(self.day);
        let threshold = self.rules.in_force(date).control_threshold_ppm;
        let controlled =
            ExportControls::embedded().controlled_content(date, |e| lot.share_ppm(e), threshold);
        let planted = ind
            .plan
            .as_ref()
            .and_then(|p| p.unlicensed_export)
            .is_some_and(|(exporter, from)| {
                self.falls_on(
                    Rule::ExportWithoutLicence,
                    actor,
                    exporter,
                    from,
                    &self.buyers.magnet_exporters,
                ) && lot.product.kind == ProductKind::Magnet
                    && lot.share_ppm(retrace_domain::element::Element::Tb) > 0
                    && !controlled.is_empty()
            });
        let licence = if controlled.is_empty() || planted {
            None
        } else {
            self.licences += 1;
            Some(format!("{:02}AA{:06}", self.yy(), self.licences))
        };
        let remark = licence.as_ref().map(|_| {
            let elements: Vec<String> = controlled.iter().map(|h| h.element.to_string()).collect();
            format!(
                "两用物项 {} ({})",
                elements.join("/"),
                controlled[0].announcement
            )
        });
        let markets = if lot.product.kind == ProductKind::Magnet {
            MAGNET_MARKETS
        } else {
            OXIDE_MARKETS
        };
        let destination = markets[self.rng.random_range(0..markets.len())].to_owned();
        let declaration = (self.rng.random_range(0..10) > 0).then(|| self.declaration());
        self.emit(
            actor,
            false,
            None,
            Flow::Export(Export {
                lot: lot.id.clone(),
                mass: Mass::from_grams(holding.mass),
                destination_country: destination.clone(),
                commodity_code: lot
                    .product
                    .hs_code
                    .clone()
                    .unwrap_or_else(|| "2846.90".to_owned()),
                customs_declaration: declaration,
                licence,
                controlled_remark: remark,
            }),
        );
        if planted {
            let a = &ind.register.actors[actor];
            let tb = lot.share_ppm(retrace_domain::element::Element::Tb);
            let case = PlantedCase {
                rule: Rule::ExportWithoutLicence,
                enterprise: a.uscc().clone(),
                facility: None,
                lot: Some(lot.id.clone()),
                month: Some(self.month_text()),
                description: format!(
                    "[export_without_licence] {} exported {} of {} ({} % Tb) to {destination} with no export licence",
                    a.enterprise.name_zh,
                    Mass::from_grams(holding.mass),
                    lot.id,
                    format_args!("{}.{:02}", tb / 10_000, tb % 10_000 / 100)
                ),
            };
            self.plant(case);
        }
    }

    /// Stock-takes everywhere, and solvent-extraction hold-up at separation
    /// plants: small changes that never take a holding below zero.
    pub(super) fn adjust(&mut self) {
        let n = (self.out.len() + self.rng.random_range(0..ADJUST_EVERY)) / ADJUST_EVERY;
        for _ in 0..n {
            let actor = self.rng.random_range(0..self.states.len());
            let day = self.day;
            let slots: Vec<usize> = (0..SLOTS)
                .filter(|s| {
                    self.states[actor].slots[*s]
                        .iter()
                        .any(|h| h.ready <= day && h.mass > 1)
                })
                .collect();
            let Some(slot) = slots
                .get(self.rng.random_range(0..slots.len().max(1)))
                .copied()
            else {
                continue;
            };
            let candidates: Vec<usize> = self.states[actor].slots[slot]
                .iter()
                .enumerate()
                .filter(|(_, h)| h.ready <= day && h.mass > 1)
                .map(|(i, _)| i)
                .collect();
            let index = candidates[self.rng.random_range(0..candidates.len())];
            let hold_up = slot == Slot::SepFeed as usize && self.rng.random_range(0..5) < 2;
            let (reason, ppm, gain) = if hold_up {
                (
                    AdjustReason::CircuitHoldUp,
                    self.rng.random_range(1_000..=4_000),
                    false,
                )
            } else {
                (
                    AdjustReason::StockTake,
                    self.rng.random_range(100..=1_500),
                    self.rng.random_range(0..2) == 0,
                )
            };
            let holding = &mut self.states[actor].slots[slot][index];
            let size = chem::ppm_of(holding.mass, ppm).clamp(1, holding.mass - 1);
            let lot = holding.lot.id.clone();
            let change = if gain {
                holding.mass += size;
                i64::try_from(size).unwrap_or(i64::MAX)
            } else {
                holding.mass -= size;
                -i64::try_from(size).unwrap_or(i64::MAX)
            };
            let note = match reason {
                AdjustReason::CircuitHoldUp => "萃取槽存量",
                _ => "月度盘点差异",
            };
            let reference = Some(self.document(actor, "PD"));
            self.emit(
                actor,
                true,
                reference,
                Flow::Adjust(Adjust {
                    lot,
                    change: MassChange::from_grams(change),
                    reason,
                    grade: None,
                    note: Some(note.to_owned()),
                }),
            );
        }
    }
}

/// One of `list`, uniformly.
fn pick(rng: &mut ChaCha8Rng, list: &[usize]) -> Option<usize> {
    list.choose(rng).copied()
}

/// One of `options`, with probability proportional to its weight.
fn weighted(rng: &mut ChaCha8Rng, options: &[(usize, u64)]) -> Option<usize> {
    options
        .choose_weighted(rng, |(_, w)| *w)
        .ok()
        .map(|(i, _)| *i)
}
