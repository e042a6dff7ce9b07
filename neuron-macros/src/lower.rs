//! Lowering: from the checked AST to the IR graph.
//!
//! Runs only after `check` succeeded, so every name, arity and shape is
//! known to be valid; anything unexpected is still reported as an error
//! rather than a panic.

use crate::ast::{Dim, Expr, Function, RealType};
use crate::check::{constant, is_builtin, operator, resolve, tail_calls_neuron};
use crate::ir::{Graph, NodeId, Op, Precision};
use crate::ops::{Custom, Param, Prim};
use std::collections::HashMap;
use syn::ext::IdentExt;

/// The forward graph of `f` and the node of its result.
pub fn lower(f: &Function) -> syn::Result<(Graph, NodeId)> {
    let args = f
        .args
        .iter()
        .map(|a| (a.name.unraw().to_string(), a.shape.clone()))
        .collect();
    let mut g = Graph::new(args);
    g.precision = match f.real {
        RealType::F64 => Precision::F64,
        RealType::F32 => Precision::F32,
        RealType::Generic(_) => Precision::Either,
    };
    g.neuron = f.name.unraw().to_string();
    g.lengths = f.consts.iter().map(|c| c.unraw().to_string()).collect();
    let mut lowering = Lowering {
        g,
        scope: HashMap::new(),
        constants: HashMap::new(),
        dropouts: 0,
    };
    for k in 0..f.args.len() {
        let id = lowering.g.arg(k);
        lowering.scope.insert(f.args[k].name.to_string(), id);
    }
    for binding in &f.lets {
        let id = match (&binding.value, &binding.shape) {
            (
                Expr::Call {
                    name,
                    args,
                    sp,
                    method: false,
                },
                Some((shape, ty_sp)),
            ) if lowering.is_callee(name) => {
                lowering.call(name, args, shape.clone(), *sp, *ty_sp)?
            }
            (value, _) => lowering.expr(value)?,
        };
        let node = &mut lowering.g.nodes[id];
        if node.name.is_none() && !matches!(node.op, Op::Arg(_) | Op::Const(_)) {
            node.name = Some(binding.name.unraw().to_string());
        }
        let name = binding.name.to_string();
        match constant(&binding.value, &|n| lowering.constants.get(n).copied()) {
            Some(value) => lowering.constants.insert(name.clone(), value),
            None => lowering.constants.remove(&name),
        };
        lowering.scope.insert(name, id);
    }
    // A call as the result has the return type.
    let output = match &f.result {
        Expr::Call {
            name,
            args,
            sp,
            method: false,
        } if lowering.is_callee(name) => {
            // The arguments once (a dropout among them is numbered once),
            // then the reading `check` took.
            let operands = args
                .iter()
                .map(|a| lowering.expr(a))
                .collect::<syn::Result<Vec<_>>>()?;
            let shapes: Vec<crate::ast::Shape> = operands
                .iter()
                .map(|&o| lowering.g.shape(o).clone())
                .collect();
            if tail_calls_neuron(name, &shapes, &f.ret_shape) {
                let ret_sp = crate::ast::Sp::of(&f.ret);
                let arg_spans = args.iter().map(Expr::sp).collect();
                lowering.call_of(name, operands, arg_spans, f.ret_shape.clone(), *sp, ret_sp)
            } else {
                lowering.declared_of(name, operands)
            }
        }
        other => lowering.expr(other)?,
    };
    if let Some(error) = lowering.g.internal_errors.first() {
        return Err(syn::Error::new(
            f.name.span(),
            format!("internal error in #[neuron]: {error}"),
        ));
    }
    Ok((lowering.g, output))
}

struct Lowering {
    g: Graph,
    scope: HashMap<String, NodeId>,
    /// The values of the bindings that are constants, as `check` computed
    /// them.
    constants: HashMap<String, f64>,
    /// How many dropout ops are lowered so far: the next one's ordinal.
    dropouts: u32,
}

impl Lowering {
    /// Whether `name(..)` calls another `#[neuron]` function, as `check`
    /// decided.
    fn is_callee(&self, name: &syn::Ident) -> bool {
        let text = name.to_string();
        !is_builtin(&text, false) && !self.scope.contains_key(&text)
    }

    /// A call of another `#[neuron]` function with result `shape`; `sp` is
    /// the call's source and `ty_sp` the type that gives its shape.
    fn call(
        &mut self,
        name: &syn::Ident,
        args: &[Expr],
        shape: crate::ast::Shape,
        sp: crate::ast::Sp,
        ty_sp: crate::ast::Sp,
    ) -> syn::Result<NodeId> {
        let arg_spans = args.iter().map(Expr::sp).collect();
        let args = args
            .iter()
            .map(|a| self.expr(a))
            .collect::<syn::Result<Vec<_>>>()?;
        Ok(self.call_of(name, args, arg_spans, shape, sp, ty_sp))
    }

    /// [`Self::call`] with its arguments lowered.
    fn call_of(
        &mut self,
        name: &syn::Ident,
        args: Vec<NodeId>,
        arg_spans: Vec<crate::ast::Sp>,
        shape: crate::ast::Shape,
        sp: crate::ast::Sp,
        ty_sp: crate::ast::Sp,
    ) -> NodeId {
        let id = self.g.intern(
            Op::Call {
                func: name.unraw().to_string(),
                args,
            },
            shape,
        );
        self.g.nodes[id].origin = Some((sp, ty_sp));
        self.g.nodes[id].arg_spans = arg_spans;
        id
    }

    /// A call of a function with a declared derivative, applied
    /// element-wise; the span of its name goes with the node, so that
    /// rustc's errors about the function point at the call.
    fn declared(&mut self, name: &syn::Ident, args: &[Expr]) -> syn::Result<NodeId> {
        let operands = args
            .iter()
            .map(|a| self.expr(a))
            .collect::<syn::Result<Vec<_>>>()?;
        Ok(self.declared_of(name, operands))
    }

    /// [`Self::declared`] with its arguments lowered.
    fn declared_of(&mut self, name: &syn::Ident, operands: Vec<NodeId>) -> NodeId {
        let f = Custom::new(&name.unraw().to_string(), operands.len());
        let id = self.g.apply(Prim::Custom(f), &operands);
        if self.g.nodes[id].origin.is_none() {
            let here = crate::ast::Sp::single(name.span());
            self.g.nodes[id].origin = Some((here, here));
        }
        id
    }

    fn expr(&mut self, e: &Expr) -> syn::Result<NodeId> {
        Ok(match e {
            Expr::Lit { value, .. } => self.g.konst(*value),
            Expr::Var(ident) => *self
                .scope
                .get(&ident.to_string())
                .ok_or_else(|| syn::Error::new(ident.span(), format!("cannot find `{ident}`")))?,
            Expr::Neg { expr, .. } => {
                let x = self.expr(expr)?;
                self.g.neg(x)
            }
            Expr::Binary { op, lhs, rhs, .. } => {
                let (a, b) = (self.expr(lhs)?, self.expr(rhs)?);
                self.g.apply(operator(*op), &[a, b])
            }
            Expr::Index { expr, index, .. } => {
                let a = self.expr(expr)?;
                self.g.index(a, vec![*index])
            }
            Expr::Array { elems, .. } => {
                let mut entries = Vec::with_capacity(elems.len());
                for (k, e) in elems.iter().enumerate() {
                    entries.push((vec![k], self.expr(e)?));
                }
                let mut shape = vec![Dim::Fixed(elems.len())];
                if let Some((_, first)) = entries.first() {
                    shape.extend(self.g.shape(*first).iter().cloned());
                }
                self.g.pack(entries, shape)
            }
            Expr::Call {
                name,
                args,
                method,
                sp,
            } => {
                let text = name.to_string();
                if !*method && !is_builtin(&text, false) {
                    return self.declared(name, args);
                }
                let mut p = resolve(&text, *method, args.len())
                    .ok_or_else(|| sp.error(format!("unknown function `{text}`")))?;
                let mut operands = Vec::with_capacity(args.len());
                for (param, arg) in p.def().params.iter().zip(args) {
                    operands.push(match (param, arg) {
                        (Param::Real, _) => self.expr(arg)?,
                        (Param::Probability, _) => {
                            let value = constant(arg, &|n| self.constants.get(n).copied())
                                .ok_or_else(|| {
                                    arg.sp().error(format!(
                                        "the drop probability of `{text}` must be a constant"
                                    ))
                                })?;
                            self.g.konst(value)
                        }
                        (Param::IntLiteral, Expr::Lit { int: Some(n), .. }) => {
                            let n = i32::try_from(*n)
                                .map_err(|_| arg.sp().error("this exponent is too large"))?;
                            self.g.konst(f64::from(n))
                        }
                        (Param::IntLiteral, _) => {
                            return Err(arg.sp().error(format!(
                                "the exponent of `{text}` must be an integer literal"
                            )));
                        }
                    });
                }
                // Each dropout op draws masks of its own: its ordinal, in
                // the order the body computes them, names them.
                if let Prim::Dropout(_) = p {
                    p = Prim::Dropout(self.dropouts);
                    self.dropouts += 1;
                }
                self.g.apply(p, &operands)
            }
            Expr::Poison(sp) | Expr::Rejected { sp, .. } => {
                return Err(sp.error(
                    "internal error in #[neuron]: a part that failed to parse reached lowering",
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;
    use quote::quote;

    fn lowered(item: proc_macro2::TokenStream) -> String {
        let (f, errors) = parse::partial(item).unwrap();
        assert!(errors.is_none());
        crate::check::check(&f).unwrap();
        let f = parse::complete(f).unwrap();
        let (g, out) = lower(&f).unwrap();
        g.print(out)
    }

    #[test]
    fn the_running_example() {
        assert_eq!(
            lowered(quote! {
                fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
                    relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
                }
            }),
            "(relu (+ (+ (+ (* (index w 0) (index x 0)) (* (index w 1) (index x 1))) (* (index w 2) (index x 2))) b))"
        );
    }

    #[test]
    fn methods_literals_and_bindings() {
        assert_eq!(
            lowered(quote! {
                fn f(x: f64) -> f64 {
                    let z = x.max(0) * 2.5;
                    z.powi(3) + square(z)
                }
            }),
            "(+ (powi (* (max x 0) 2.5) 3) (square (* (max x 0) 2.5)))"
        );
    }

    #[test]
    fn declared_functions_are_element_wise_ops() {
        assert_eq!(
            lowered(quote! {
                fn f(x: [f64; 3], s: f64) -> f64 {
                    let h = heaviside(x - s);
                    sum(h) + hypot(s, 2)
                }
            }),
            "(+ (sum (custom:heaviside (- x s))) (custom:hypot s 2))"
        );
    }

    #[test]
    fn layers_and_array_literals() {
        assert_eq!(
            lowered(quote! {
                fn net(x: [f64; 2], #[param] w1: [[f64; 2]; 3], #[param] b1: [f64; 3], #[param] w2: [f64; 3]) -> [f64; 2] {
                    let h = tanh(matvec(w1, x) + b1);
                    softmax([dot(w2, h), -sum(h)])
                }
            }),
            "(softmax (pack [2] (0 (dot w2 (tanh (+ (matvec w1 x) b1)))) (1 (neg (sum (tanh (+ (matvec w1 x) b1)))))))"
        );
    }
}
