//! A lot's backward trace drawn as a graph, in SVG on the server: the lot on
//! the right, what it was made from to its left, back to the mines, imports
//! and declared stock. Edges attributed over a plant's pool (mass balance,
//! DESIGN.md §2) are dashed; places outside the caller's scope are shown as
//! undisclosed, as the trace answers them.

use std::collections::BTreeMap;
use std::fmt::Write;

use retrace_store::trace::{EdgeBasis, TraceEdge, TraceNode};

use super::i18n::Tr;
use super::view::lot_path;

/// The most nodes drawn; a larger trace says how many were left out.
const MAX_NODES: usize = 48;
const COLUMN: i64 = 230;
const ROW: i64 = 58;
const BOX_W: i64 = 190;
const BOX_H: i64 = 42;
const MARGIN: i64 = 16;

/// Text for SVG and HTML: `&`, `<`, `>` and quotes escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A drawn graph: its SVG and how many nodes were left out.
#[derive(Debug)]
pub(crate) struct Graph {
    pub svg: String,
    pub left_out: usize,
}

/// Two lines of a node's box and where it links to.
fn describe(t: Tr, node: &TraceNode) -> (String, String, Option<String>) {
    match node {
        TraceNode::Lot { lot } => (
            lot.number().to_owned(),
            t.s("graph.lot").to_owned(),
            Some(format!("/lots/{}", lot_path(lot.as_str()))),
        ),
        TraceNode::Mine {
            facility,
            enterprise,
        } => (
            facility.to_string(),
            format!("{} · {}", t.s("graph.mine"), short(enterprise.as_str())),
            Some(format!("/enterprises/{enterprise}")),
        ),
        TraceNode::Import {
            country,
            enterprise,
        } => (
            format!("{} {country}", t.s("graph.import")),
            short(enterprise.as_str()),
            Some(format!("/enterprises/{enterprise}")),
        ),
        TraceNode::Opening { enterprise } => (
            t.s("graph.opening").to_owned(),
            short(enterprise.as_str()),
            Some(format!("/enterprises/{enterprise}")),
        ),
        TraceNode::Holder { enterprise } => (
            t.s("graph.holder").to_owned(),
            short(enterprise.as_str()),
            Some(format!("/enterprises/{enterprise}")),
        ),
        TraceNode::Abroad { country } => (
            format!("{} {country}", t.s("graph.abroad")),
            String::new(),
            None,
        ),
        TraceNode::Undisclosed => (t.s("graph.undisclosed").to_owned(), String::new(), None),
    }
}

/// The last six characters of a USCC, enough to tell enterprises apart on a graph.
fn short(uscc: &str) -> String {
    format!("…{}", &uscc[uscc.len().saturating_sub(6)..])
}

/// Draws the backward trace of `root`, whose edges lead from a source to
/// what it became.
pub(crate) fn backward(t: Tr, root: &TraceNode, edges: &[TraceEdge]) -> Graph {
    // Depth: the lot is 0, what it was made from 1, and so on.
    let mut depth: BTreeMap<&TraceNode, usize> = BTreeMap::new();
    let mut order: Vec<&TraceNode> = vec![root];
    depth.insert(root, 0);
    let mut changed = true;
    while changed {
        changed = false;
        for e in edges {
            let Some(&d) = depth.get(&e.to) else { continue };
            if !depth.contains_key(&e.from) {
                if order.len() == MAX_NODES {
                    continue;
                }
                depth.insert(&e.from, d + 1);
                order.push(&e.from);
                changed = true;
            }
        }
    }
    let mut seen: Vec<&TraceNode> = Vec::new();
    for e in edges {
        for n in [&e.from, &e.to] {
            if !seen.contains(&n) {
                seen.push(n);
            }
        }
    }
    let left_out = seen.iter().filter(|n| !depth.contains_key(*n)).count();
    let deepest = depth.values().copied().max().unwrap_or(0);
    let mut rows_in: BTreeMap<usize, i64> = BTreeMap::new();
    let mut place: BTreeMap<&TraceNode, (i64, i64)> = BTreeMap::new();
    for node in &order {
        let d = depth[node];
        let row = rows_in.entry(d).or_insert(0);
        let x = MARGIN + i64::try_from(deepest - d).unwrap_or(0) * COLUMN;
        let y = MARGIN + *row * ROW;
        *row += 1;
        place.insert(node, (x, y));
    }
    let tallest = rows_in.values().copied().max().unwrap_or(1);
    let width = MARGIN * 2 + i64::try_from(deepest).unwrap_or(0) * COLUMN + BOX_W;
    let height = MARGIN * 2 + (tallest - 1).max(0) * ROW + BOX_H;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"group\" aria-label=\"{}\">",
        escape(t.s("graph.title"))
    );
    let mut drawn = std::collections::BTreeSet::new();
    for e in edges {
        let (Some(&(fx, fy)), Some(&(tx, ty))) = (place.get(&e.from), place.get(&e.to)) else {
            continue;
        };
        if !drawn.insert((fx, fy, tx, ty, e.basis == EdgeBasis::Attributed)) {
            continue;
        }
        let (x1, y1, x2, y2) = (fx + BOX_W, fy + BOX_H / 2, tx, ty + BOX_H / 2);
        let mid = (x1 + x2) / 2;
        let class = if e.basis == EdgeBasis::Attributed {
            "edge attributed"
        } else {
            "edge"
        };
        let _ = write!(
            svg,
            "<path class=\"{class}\" d=\"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}\"/>"
        );
    }
    for node in &order {
        let (x, y) = place[node];
        let (top, bottom, href) = describe(t, node);
        let class = match node {
            TraceNode::Lot { .. } if *node == root => "node root",
            TraceNode::Lot { .. } => "node lot",
            TraceNode::Undisclosed => "node hidden",
            _ => "node source",
        };
        let body = format!(
            "<rect class=\"{class}\" x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\"/>\
             <text x=\"{}\" y=\"{}\" class=\"node-top\">{}</text>\
             <text x=\"{}\" y=\"{}\" class=\"node-bottom\">{}</text>",
            x + 10,
            y + 18,
            escape(&top),
            x + 10,
            y + 34,
            escape(&bottom)
        );
        match href {
            Some(href) => {
                let _ = write!(
                    svg,
                    "<a href=\"{}\" aria-label=\"{} {}\">{body}</a>",
                    escape(&href),
                    escape(&top),
                    escape(&bottom)
                );
            }
            None => svg.push_str(&body),
        }
    }
    svg.push_str("</svg>");
    Graph { svg, left_out }
}

#[cfg(test)]
mod tests {
    use retrace_domain::facility::FacilityId;
    use retrace_domain::flow::FlowKind;
    use retrace_domain::lot::LotId;
    use retrace_domain::uscc::Uscc;

    use super::*;

    fn edge(from: TraceNode, to: TraceNode, basis: EdgeBasis) -> TraceEdge {
        TraceEdge {
            from,
            to,
            entry: 1,
            enterprise: Uscc::synthesize("150206", 7),
            kind: FlowKind::Transform,
            basis,
            lot: None,
            mass: None,
            reo: None,
            disclosed: true,
            pool: None,
        }
    }

    #[test]
    fn sources_are_drawn_left_of_what_they_became() {
        let uscc = Uscc::synthesize("150206", 7);
        let lot = |n: &str| TraceNode::Lot {
            lot: LotId::under_uscc(&uscc, n).unwrap(),
        };
        let mine = TraceNode::Mine {
            facility: FacilityId::parse("MINE-1").unwrap(),
            enterprise: uscc.clone(),
        };
        let edges = vec![
            edge(lot("ORE-1"), lot("OXIDE-1"), EdgeBasis::Attributed),
            edge(mine, lot("ORE-1"), EdgeBasis::Recorded),
        ];
        let graph = backward(
            Tr::new(retrace_access::Language::En),
            &lot("OXIDE-1"),
            &edges,
        );
        assert_eq!(graph.left_out, 0);
        assert!(graph.svg.contains("edge attributed"));
        let ore = graph.svg.find(">ORE-1<").unwrap();
        let mine = graph.svg.find(">MINE-1<").unwrap();
        assert!(ore < mine, "nodes are drawn in order of depth");
        assert!(graph.svg.contains("x=\"16\" y=\"16\" width=\"190\""));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<a & 'b'>"), "&lt;a &amp; &#39;b&#39;&gt;");
    }
}
