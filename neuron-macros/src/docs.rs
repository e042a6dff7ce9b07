//! The rustdoc of `gradient` (and its copy in `SOURCE`): each partial
//! derivative as a formula, read off the emitted body, then the
//! intermediate values it is written in.

use crate::ast::Function;
use proc_macro2::TokenStream;

/// The doc text of `gradient`: one line per partial derivative, then the
/// intermediate values they are written in.
///
/// ```text
/// ∂unit/∂w = [d_sum * x[0], d_sum * x[1], d_sum * x[2]]
/// ∂unit/∂b = d_sum
///
/// where
///     sum = w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b
///     d_sum = if sum > 0.0 { 1.0 } else { 0.0 }
/// ```
pub fn formulas(f: &Function, gradient: &TokenStream) -> String {
    let Ok(item) = syn::parse2::<syn::ItemFn>(gradient.clone()) else {
        return String::new();
    };
    let stmts = &item.block.stmts;
    // The returned tuple `(y, Grad { x: .., w: .. })`.
    let mut partials: Vec<(String, syn::Expr)> = Vec::new();
    if let Some(syn::Stmt::Expr(syn::Expr::Tuple(tuple), None)) = stmts.last()
        && let Some(syn::Expr::Struct(grad)) = tuple.elems.iter().nth(1)
    {
        for field in &grad.fields {
            if let syn::Member::Named(name) = &field.member {
                partials.push((name.to_string(), field.expr.clone()));
            }
        }
    }
    // A binding that is exactly one partial is shown in its place.
    // The statements before the returned tuple, in order: `name = expr`
    // for a plain binding (`name` is `None` for loops and the like).
    let mut entries: Vec<(Option<String>, String)> = Vec::new();
    for stmt in &stmts[..stmts.len().saturating_sub(1)] {
        match stmt {
            syn::Stmt::Local(local) => {
                let pat = match &local.pat {
                    syn::Pat::Type(t) => &*t.pat,
                    other => other,
                };
                match (pat, &local.init) {
                    (syn::Pat::Ident(pi), Some(init)) if pi.mutability.is_none() => {
                        entries.push((Some(pi.ident.to_string()), equation(&init.expr)));
                    }
                    _ => entries.push((None, pretty_stmt(stmt))),
                }
            }
            syn::Stmt::Item(_) => {}
            other => entries.push((None, pretty_stmt(other))),
        }
    }
    let mut doc = format!(
        "# Partial derivatives\n\nDerived at compile time by the chain rule on the body of `{}`:\n\n```text\n",
        f.name
    );
    let written: Vec<String> = partials.iter().map(|(_, e)| pretty_expr(e)).collect();
    // A binding used by one partial alone, and by no other statement, is
    // shown in its place; decided on the whole body before anything moves.
    let inlined: Vec<Option<String>> = written
        .iter()
        .map(|name| {
            let alone = written.iter().filter(|w| mentions(w, name)).count() == 1;
            let unused_elsewhere = entries
                .iter()
                .all(|(n, text)| n.as_ref() == Some(name) || !mentions(text, name));
            let defined = entries.iter().find(|(n, _)| n.as_ref() == Some(name));
            defined
                .filter(|_| alone && unused_elsewhere)
                .map(|(_, text)| text.clone())
        })
        .collect();
    for ((arg, expr), formula) in partials.iter().zip(&inlined) {
        // `equation` gives ` = ...`, or `[i][j] = ...` for an element-wise
        // partial written per element.
        let formula = formula.clone().unwrap_or_else(|| equation(expr));
        doc.push_str(&format!("∂{}/∂{arg}{formula}\n", f.name));
    }
    entries.retain(|(n, _)| {
        n.as_ref().is_none_or(|n| {
            !written
                .iter()
                .zip(&inlined)
                .any(|(w, i)| w == n && i.is_some())
        })
    });
    if !entries.is_empty() {
        doc.push_str("\nwhere\n");
        // Bindings as equations; loops as the code that runs.
        for (name, text) in &entries {
            match name {
                Some(name) => doc.push_str(&format!("    {name}{text}\n")),
                None => {
                    for l in text.lines() {
                        doc.push_str(&format!("    {l}\n"));
                    }
                }
            }
        }
    }
    doc.push_str("```\n");
    doc
}

/// A binding's value as the documentation writes it after the name:
/// ` = expr`, or for an element-wise `::core::array::from_fn(|i| body)`
/// `[i] = body` (`[i][j] = body` when nested).
fn equation(expr: &syn::Expr) -> String {
    let mut indices = String::new();
    let mut body = expr;
    while let syn::Expr::Call(call) = body
        && let syn::Expr::Path(path) = &*call.func
        && path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "from_fn")
        && let Some(syn::Expr::Closure(closure)) = call.args.first()
        && let Some(syn::Pat::Ident(var)) = closure.inputs.first()
    {
        indices.push_str(&format!("[{}]", var.ident));
        body = &closure.body;
    }
    format!("{indices} = {}", pretty_expr(body))
}

/// Whether `text` uses the identifier `name`.
fn mentions(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// An expression as `prettyplease` writes it.
pub fn pretty_expr(expr: &syn::Expr) -> String {
    let text = pretty_stmt(&syn::parse_quote!(let _ = #expr;));
    let text = text.trim();
    text.strip_prefix("let _ = ")
        .and_then(|t| t.strip_suffix(';'))
        .unwrap_or(text)
        .to_string()
}

fn pretty_stmt(stmt: &syn::Stmt) -> String {
    let file: syn::File = syn::parse_quote!(fn f() { #stmt });
    let text = prettyplease::unparse(&file);
    let lines: Vec<&str> = text.lines().collect();
    let inner = &lines[1.min(lines.len())..lines.len().saturating_sub(1)];
    inner
        .iter()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::derive;
    use crate::items::{function_body, signature};
    use crate::{lower, parse};
    use quote::quote;

    #[test]
    fn formulas_of_a_layer_are_written_per_element() {
        let f = parse::function(quote! {
            fn tiny(x: [f64; 4], #[param] w1: [[f64; 4]; 8], #[param] b1: [f64; 8], #[param] w2: [f64; 8]) -> f64 {
                let h = tanh(matvec(w1, x) + b1);
                dot(w2, h)
            }
        })
        .unwrap();
        let (g, out) = lower::lower(&f).unwrap();
        let d = derive(&f, &g, out, false).unwrap();
        let body = d.gradient.as_ref().unwrap();
        let (y, parts, args) = (&body.roots[0], &body.roots[1..], signature(&f).args);
        let fn_body = function_body(body, quote!((#y, Grad { #(#args: #parts),* })), &f);
        let doc = formulas(&f, &quote!(pub fn gradient() -> f64 #fn_body));
        for line in [
            "∂tiny/∂x = d_x",
            "∂tiny/∂w1[i][j] = d_sum[i] * x[j]",
            "∂tiny/∂b1 = d_sum",
            "∂tiny/∂w2 = h",
            "    h[i] = (matvec[i] + b1[i]).tanh()",
            "    d_sum[i] = w2[i] * (1.0 - h[i] * h[i])",
        ] {
            assert!(doc.lines().any(|l| l == line), "no line {line:?} in\n{doc}");
        }
        // The loop computing `matvec` comes before `h`, which reads it.
        assert!(
            doc.find("matvec[i] +=").unwrap() < doc.find("h[i] =").unwrap(),
            "{doc}"
        );
    }
}
