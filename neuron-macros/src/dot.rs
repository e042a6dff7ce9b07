//! `NAME::DOT`: the forward and backward graph as Graphviz text.
//!
//! The graph is the one `gradient` (for a scalar output; `backward` for an
//! array output) is emitted from, simplified. Forward nodes (those the
//! output depends on) sit in one cluster, adjoint nodes in another and are
//! filled; edges go from an operand to its user; every label is in the
//! user's terms (`trace::Labels`). Constants are written into the labels
//! of their users rather than drawn. Each partial derivative ends in a box
//! `∂NAME/∂arg`, the output in a double octagon.
//!
//! ```text
//! digraph unit {
//!   subgraph cluster_forward { label="forward"; n0 [label="x", shape=box]; ... }
//!   subgraph cluster_backward { label="backward"; n9 [label="d_sum = if sum > 0.0 …"]; ... }
//!   n0 -> n3; ...
//!   output [label="unit", shape=doubleoctagon]; n8 -> output;
//!   partial_0 [label="∂unit/∂x", shape=box]; n12 -> partial_0;
//! }
//! ```

use crate::ast::{Function, RealType};
use crate::diff;
use crate::ir::{Graph, NodeId, Op};
use crate::simplify;
use crate::trace::Labels;
use std::fmt::Write as _;

/// The longest label drawn whole.
const LABEL: usize = 64;

/// The Graphviz text of `f`'s forward and backward graph.
pub fn text(f: &Function, g: &Graph, output: NodeId) -> Result<String, String> {
    let mut bg = g.clone();
    let dy = if f.ret_shape.is_empty() {
        bg.konst(1.0)
    } else {
        bg.intern(Op::Arg(f.args.len()), f.ret_shape.clone())
    };
    let adjoints = diff::differentiate(&mut bg, output, dy)?;
    let mut roots = vec![output];
    roots.extend(adjoints);
    let (sg, roots) = simplify::simplify(&bg, &roots);

    let n = sg.nodes.len();
    let mut forward = vec![false; n];
    forward[roots[0]] = true;
    for id in (0..n).rev() {
        if forward[id] {
            for o in sg.nodes[id].op.operands() {
                forward[o] = true;
            }
        }
    }
    let drawn = |id: NodeId| !matches!(sg.nodes[id].op, Op::Const(_) | Op::Count(_));
    let real = RealType::F64;
    let mut labels = Labels::new(&sg, &real);
    let mut label = |id: NodeId| {
        let node = &sg.nodes[id];
        let text = match (&node.op, &node.name) {
            (Op::Arg(_) | Op::Index(..), _) => labels.definition(id, LABEL),
            (_, Some(name)) => format!("{name} = {}", labels.definition(id, LABEL)),
            (_, None) => labels.definition(id, LABEL),
        };
        escape(&text)
    };

    let name = f.name.to_string();
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quoted(&name));
    out.push_str("  rankdir=TB;\n  node [fontname=\"monospace\", shape=ellipse];\n");
    for (cluster, title, is_forward) in [
        ("cluster_forward", "forward", true),
        ("cluster_backward", "backward", false),
    ] {
        let _ = writeln!(out, "  subgraph {cluster} {{");
        let _ = writeln!(out, "    label=\"{title}\";");
        for id in (0..n).filter(|&id| drawn(id) && forward[id] == is_forward) {
            let style = match (&sg.nodes[id].op, is_forward) {
                (Op::Arg(_), _) => ", shape=box",
                (_, false) => ", style=filled, fillcolor=\"#fde2c8\"",
                _ => "",
            };
            let text = label(id);
            let _ = writeln!(out, "    n{id} [label=\"{text}\"{style}];");
        }
        out.push_str("  }\n");
    }
    for id in (0..n).filter(|&id| drawn(id)) {
        let mut operands = sg.nodes[id].op.operands();
        operands.dedup();
        for o in operands.into_iter().filter(|&o| drawn(o)) {
            let _ = writeln!(out, "  n{o} -> n{id};");
        }
    }
    let _ = writeln!(
        out,
        "  output [label=\"{}\", shape=doubleoctagon];",
        escape(&name)
    );
    if drawn(roots[0]) {
        let _ = writeln!(out, "  n{} -> output;", roots[0]);
    }
    for (k, &r) in roots[1..].iter().enumerate() {
        let arg = &f.args[k].name;
        let _ = writeln!(
            out,
            "  partial_{k} [label=\"{}\", shape=box, style=filled, fillcolor=\"#fde2c8\"];",
            escape(&format!("∂{name}/∂{arg}"))
        );
        if drawn(r) {
            let _ = writeln!(out, "  n{r} -> partial_{k};");
        }
    }
    out.push_str("}\n");
    Ok(out)
}

/// `"name"`, a Graphviz ID.
fn quoted(name: &str) -> String {
    format!("\"{}\"", escape(name))
}

/// Text inside a Graphviz double-quoted string.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `pub const DOT: &str`, empty in a stub.
pub fn item(f: &Function, text: Option<&str>) -> proc_macro2::TokenStream {
    let text = text.unwrap_or_default();
    let doc = format!(
        " The forward and backward graph of [`{}`](fn@self::{}) in Graphviz's language: forward \
         values in one cluster, adjoints in another, edges from operand to user. \
         `dot -Tsvg` draws it.",
        f.name, f.name
    );
    quote::quote! {
        #[doc = #doc]
        pub const DOT: &str = #text;
    }
}
