//! Mass-balance attribution through plants that pool their feed.
//!
//! Separation and recycling plants blend feed from many sources continuously,
//! so batch-exact genealogy stops there (DESIGN.md §2; ISO 22095's mass-balance
//! model). Trace goes on by attributing, element by element over the pool of
//! one facility and month, each output's content to the inputs in proportion
//! to what they brought. The answer says these edges are attributed, not
//! recorded.
//!
//! Attribution never creates material: for every element, what is attributed
//! from an input is at most what that input brought, and what is attributed to
//! an output is at most what the output holds. When a pool puts out more of an
//! element than went in (a flagged recovery above 100 %), the excess is left
//! unattributed — it came from nowhere, and the trace shows it as a gap.

use crate::distribution::ElementMasses;
use crate::lot::LotId;
use crate::quantity::Mass;

/// One lot's part in a pool: the REO it brought in or took out, per element where known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolLot {
    pub lot: LotId,
    pub entry: u64,
    pub mass: Mass,
    pub reo: Mass,
    pub elements: Option<ElementMasses>,
}

/// REO of one input attributed to one output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributed {
    pub input: usize,
    pub output: usize,
    pub reo: Mass,
    /// Wet mass of the input that the attributed REO stands for.
    pub mass: Mass,
}

/// The pool of one facility and month, ready to attribute.
#[derive(Debug)]
pub struct Pool<'a> {
    inputs: &'a [PoolLot],
    outputs: &'a [PoolLot],
    /// Buckets: 16 elements, or one bucket of total REO when any lot lacks a distribution.
    in_totals: Vec<u128>,
    out_totals: Vec<u128>,
}

impl<'a> Pool<'a> {
    pub fn new(inputs: &'a [PoolLot], outputs: &'a [PoolLot]) -> Pool<'a> {
        let per_element = inputs.iter().chain(outputs).all(|l| l.elements.is_some());
        let width = if per_element { 16 } else { 1 };
        let mut pool = Pool {
            inputs,
            outputs,
            in_totals: vec![0; width],
            out_totals: vec![0; width],
        };
        for l in inputs {
            let buckets = pool.buckets(l);
            for (t, v) in pool.in_totals.iter_mut().zip(buckets) {
                *t += u128::from(v);
            }
        }
        for l in outputs {
            let buckets = pool.buckets(l);
            for (t, v) in pool.out_totals.iter_mut().zip(buckets) {
                *t += u128::from(v);
            }
        }
        pool
    }

    fn buckets(&self, lot: &PoolLot) -> Vec<u64> {
        match (self.in_totals.len(), lot.elements) {
            (16, Some(e)) => e.to_vec(),
            _ => vec![lot.reo.grams()],
        }
    }

    /// REO of `input` attributed to `output`: per bucket, the input's part
    /// times the output's part over the larger of the two pool totals, rounded down.
    pub fn attribute(&self, input: usize, output: usize) -> Attributed {
        let i = &self.inputs[input];
        let o = &self.outputs[output];
        let (ib, ob) = (self.buckets(i), self.buckets(o));
        let mut reo: u128 = 0;
        for k in 0..self.in_totals.len() {
            let denominator = self.in_totals[k].max(self.out_totals[k]);
            if let Some(part) = (u128::from(ib[k]) * u128::from(ob[k])).checked_div(denominator) {
                reo += part;
            }
        }
        let reo = Mass::from_grams(u64::try_from(reo).unwrap_or(u64::MAX));
        Attributed {
            input,
            output,
            reo,
            mass: i.mass.scale(reo.grams(), i.reo.grams()),
        }
    }

    /// Every input's share of one output, skipping empty ones.
    pub fn sources_of(&self, output: usize) -> Vec<Attributed> {
        (0..self.inputs.len())
            .map(|i| self.attribute(i, output))
            .filter(|a| !a.reo.is_zero())
            .collect()
    }

    /// Every output's share of one input, skipping empty ones.
    pub fn uses_of(&self, input: usize) -> Vec<Attributed> {
        (0..self.outputs.len())
            .map(|o| self.attribute(input, o))
            .filter(|a| !a.reo.is_zero())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lot(n: usize, elements: Option<ElementMasses>, reo: u64) -> PoolLot {
        let uscc = crate::uscc::Uscc::synthesize("360702", 1);
        PoolLot {
            lot: LotId::under_uscc(&uscc, &format!("P{n}")).unwrap(),
            entry: n as u64,
            mass: Mass::from_grams(reo * 2),
            reo: Mass::from_grams(elements.map_or(reo, |e| e.iter().sum())),
            elements,
        }
    }

    fn elements() -> impl Strategy<Value = Option<ElementMasses>> {
        prop_oneof![
            4 => proptest::array::uniform16(0u64..5_000_000).prop_map(Some),
            1 => Just(None),
        ]
    }

    proptest! {
        /// The property the issue asks for: attributed mass never exceeds what went in —
        /// per input, and per output never more than it holds.
        #[test]
        fn attribution_never_creates_material(
            ins in proptest::collection::vec((elements(), 1u64..10_000_000), 1..8),
            outs in proptest::collection::vec((elements(), 1u64..10_000_000), 1..8),
        ) {
            let inputs: Vec<PoolLot> = ins.iter().enumerate().map(|(n, (e, r))| lot(n, *e, *r)).collect();
            let outputs: Vec<PoolLot> = outs.iter().enumerate().map(|(n, (e, r))| lot(100 + n, *e, *r)).collect();
            let pool = Pool::new(&inputs, &outputs);
            for (i, input) in inputs.iter().enumerate() {
                let given: u64 = pool.uses_of(i).iter().map(|a| a.reo.grams()).sum();
                prop_assert!(given <= input.reo.grams(), "input {i} gave {given} > {}", input.reo.grams());
                let wet: u64 = pool.uses_of(i).iter().map(|a| a.mass.grams()).sum();
                prop_assert!(wet <= input.mass.grams() + pool.uses_of(i).len() as u64);
            }
            for (o, output) in outputs.iter().enumerate() {
                let got: u64 = pool.sources_of(o).iter().map(|a| a.reo.grams()).sum();
                prop_assert!(got <= output.reo.grams());
            }
        }
    }

    #[test]
    fn a_balanced_pool_attributes_everything_but_rounding() {
        let mut a = [0u64; 16];
        a[5] = 600;
        a[4] = 400;
        let mut b = [0u64; 16];
        b[5] = 300;
        b[4] = 100;
        let inputs = [lot(0, Some(a), 0), lot(1, Some(b), 0)];
        let mut out = [0u64; 16];
        out[5] = 900;
        out[4] = 500;
        let outputs = [lot(2, Some(out), 0)];
        let pool = Pool::new(&inputs, &outputs);
        let sources = pool.sources_of(0);
        assert_eq!(sources[0].reo.grams(), 1000);
        assert_eq!(sources[1].reo.grams(), 400);
    }

    #[test]
    fn excess_output_stays_unattributed() {
        let mut a = [0u64; 16];
        a[10] = 100;
        let mut out = [0u64; 16];
        out[10] = 200;
        let inputs = [lot(0, Some(a), 0)];
        let outputs = [lot(1, Some(out), 0)];
        let pool = Pool::new(&inputs, &outputs);
        assert_eq!(pool.attribute(0, 0).reo.grams(), 100);
    }
}
