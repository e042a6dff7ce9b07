//! An evaluator for the IR, so tests can check lowering, differentiation and
//! simplification numerically without compiling any generated code.
//!
//! Every value is a flat row-major `Vec<f64>`; a scalar has one element.

use crate::ast::Dim;
use crate::ir::{Graph, NodeId, Op, Shape};
use crate::ops::Eval;

/// Evaluates every node up to and including the last one, given each
/// argument's flat value (and `dy` after them, when the graph uses it).
pub fn eval(g: &Graph, args: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, String> {
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(g.nodes.len());
    let concrete = |shape: &Shape| -> Result<Vec<usize>, String> {
        shape
            .iter()
            .map(Dim::fixed)
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| format!("the shape {shape:?} has a length that is a parameter"))
    };
    for (id, node) in g.nodes.iter().enumerate() {
        let dims = concrete(&node.shape)?;
        let len: usize = dims.iter().product();
        let v = |n: NodeId| -> &Vec<f64> { &values[n] };
        // Element `i` of an element-wise operand, broadcasting scalars.
        let at = |n: NodeId, i: usize| -> f64 {
            let x = &values[n];
            if x.len() == 1 { x[0] } else { x[i] }
        };
        let value = match &node.op {
            Op::Arg(k) => {
                let a = args.get(*k).ok_or(format!("no value for argument {k}"))?;
                if a.len() != len {
                    return Err(format!(
                        "argument {k} has {} values, its shape needs {len}",
                        a.len()
                    ));
                }
                a.clone()
            }
            Op::Const(c) => vec![c.get()],
            Op::Count(shape) => vec![concrete(shape)?.iter().product::<usize>() as f64],
            Op::Fill(a) => vec![at(*a, 0); len],
            Op::Apply(p, operands) => match p.def().eval {
                Eval::Opaque => {
                    return Err(format!(
                        "node {id}: `{}` is the user's function, which cannot be evaluated without compiling it",
                        p.value_name()
                    ));
                }
                // Dropout in inference.
                Eval::Map(f) | Eval::Inference(f) => {
                    let mut elems = vec![0.0; operands.len()];
                    (0..len)
                        .map(|i| {
                            for (e, &o) in elems.iter_mut().zip(operands) {
                                *e = at(o, i);
                            }
                            f(&elems)
                        })
                        .collect()
                }
                Eval::Array(f) => {
                    let xs: Vec<&[f64]> = operands.iter().map(|&o| v(o).as_slice()).collect();
                    let shapes = operands
                        .iter()
                        .map(|&o| concrete(g.shape(o)))
                        .collect::<Result<Vec<_>, _>>()?;
                    let shapes: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
                    f(&xs, &shapes, &dims)
                }
            },
            Op::Index(a, path) => {
                let shape = concrete(g.shape(*a))?;
                let mut offset = 0;
                let mut stride: usize = shape.iter().product();
                for (d, &i) in path.iter().enumerate() {
                    stride /= shape[d];
                    offset += i * stride;
                }
                v(*a)
                    .get(offset..offset + len)
                    .ok_or("index out of bounds")?
                    .to_vec()
            }
            Op::Pack(entries) => {
                let mut out = vec![0.0; len];
                for (path, n) in entries {
                    let mut offset = 0;
                    let mut stride = len;
                    for (d, &i) in path.iter().enumerate() {
                        stride /= dims[d];
                        offset += i * stride;
                    }
                    for (k, x) in v(*n).iter().enumerate() {
                        *out.get_mut(offset + k).ok_or("pack entry out of bounds")? += x;
                    }
                }
                out
            }
            Op::Call { func, .. } => {
                return Err(format!(
                    "node {id}: a call of `{func}` cannot be evaluated without compiling it"
                ));
            }
            Op::CallGrad { .. } => {
                return Err(format!(
                    "node {id}: the gradient of a call cannot be evaluated without compiling it"
                ));
            }
        };
        values.push(value);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::graph;

    fn value(args: &str, text: &str, values: &[Vec<f64>]) -> Vec<f64> {
        let mut g = graph(args);
        let root = g.parse(text).unwrap();
        eval(&g, values).unwrap().swap_remove(root)
    }

    #[test]
    fn the_running_example_is_six() {
        let y = value(
            "x:3 w:3 b",
            "(relu (+ (+ (+ (* (index w 0) (index x 0)) (* (index w 1) (index x 1))) (* (index w 2) (index x 2))) b))",
            &[vec![1.0, -2.0, 3.0], vec![-3.0, -1.0, 2.0], vec![1.0]],
        );
        assert_eq!(y, vec![6.0]);
    }

    #[test]
    fn array_ops_compute_what_they_say() {
        let m = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let x = vec![1.0, 0.0, -1.0];
        assert_eq!(
            value("m:2x3 x:3", "(matvec m x)", &[m.clone(), x.clone()]),
            vec![-2.0, -2.0]
        );
        assert_eq!(
            value("m:2x3 u:2", "(matvec_t m u)", &[m.clone(), vec![1.0, 1.0]]),
            vec![5.0, 7.0, 9.0]
        );
        assert_eq!(
            value("a:2 x:3", "(outer a x)", &[vec![1.0, 2.0], x.clone()]),
            vec![1.0, 0.0, -1.0, 2.0, 0.0, -2.0]
        );
        assert_eq!(
            value("x:3", "(sum (* x 2))", std::slice::from_ref(&x)),
            vec![0.0]
        );
        assert_eq!(
            value("m:2x3", "(index m 1 2)", std::slice::from_ref(&m)),
            vec![6.0]
        );
        assert_eq!(value("m:2x3", "(index m 1)", &[m]), vec![4.0, 5.0, 6.0]);
        let s = value("x:3", "(softmax x)", &[vec![1000.0, 0.0, -1000.0]]);
        assert_eq!(s, vec![1.0, 0.0, 0.0]);
        let l = value("x:2", "(log_softmax x)", &[vec![0.0, 0.0]]);
        assert!((l[0] - 0.5f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn pack_places_entries_and_zeros_the_rest() {
        assert_eq!(
            value("b", "(pack [3] (0 b) (2 (neg b)))", &[vec![2.0]]),
            vec![2.0, 0.0, -2.0]
        );
    }

    #[test]
    fn wrong_argument_sizes_are_errors() {
        let mut g = graph("x:3");
        g.parse("(sum x)").unwrap();
        assert!(eval(&g, &[vec![1.0]]).is_err());
        assert!(eval(&g, &[]).is_err());
    }
}
