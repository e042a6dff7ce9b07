//! Checking: names, functions, arity and shapes, before anything is lowered.
//!
//! The checker walks the AST with the shape of every name in scope and
//! computes the shape of every expression. Each mistake is reported at the
//! offending token, with the nearest known name where one is close, and the
//! walk goes on so that one compile lists them all. After a clean check,
//! lowering can trust every name, arity and shape.
//!
//! A call of a function that is neither the library's nor a value is a
//! call of another `#[neuron]` function where its result type is written
//! (`let h: [f64; 3] = layer(w, x);`, or the function's result, whose type
//! is the return type), and otherwise a call of a function with a declared
//! derivative, applied element-wise. Whether that function exists and has
//! its derivative declared only rustc can tell: see `declared`.

use crate::ast::{BinOp, Declared, Dim, Expr, Function, RealType, Shape, Sp};
use crate::ctxt::Ctxt;
use crate::declared::RESERVED;
use crate::items::{CONSTS, ITEMS};
use crate::ops::{self, Custom, Eval, MAX_CUSTOM_ARITY, Param, Prim, ShapeCx};
use std::collections::HashMap;
use syn::ext::IdentExt;

/// The op an operator stands for.
pub fn operator(op: BinOp) -> Prim {
    match op {
        BinOp::Add => Prim::Add,
        BinOp::Sub => Prim::Sub,
        BinOp::Mul => Prim::Mul,
        BinOp::Div => Prim::Div,
    }
}

/// Whether `name(..)` (or, with `method`, `x.name(..)`) is in the library;
/// any other function call is a call of another `#[neuron]` function or of
/// a function with a declared derivative.
pub fn is_builtin(name: &str, method: bool) -> bool {
    !ops::lookup(name, method).is_empty()
}

/// Whether a call of `name` as the result is a call of another `#[neuron]`
/// function, whose type the return type gives: any name but one within a
/// typo of the library's, which is taken for a function with a declared
/// derivative, whose error, if it has none, suggests the library's.
pub fn is_tail_callee(name: &syn::Ident) -> bool {
    suggestion(&name.to_string()).is_none()
}

/// Whether a call of `name` as the result, with arguments of shapes
/// `args` and the return type's shape `ret`, is a call of another
/// `#[neuron]` function: when its name is nobody's typo, or when, applied
/// element-wise as a declared function would be, it could not have that
/// shape (a neuron named `pow` taking a matrix and a vector).
pub fn tail_calls_neuron(name: &syn::Ident, args: &[Shape], ret: &Shape) -> bool {
    let element_wise = args.iter().all(|a| a.is_empty() || a == ret)
        && (ret.is_empty() || args.iter().any(|a| a == ret));
    is_tail_callee(name) || !element_wise
}

/// The op that `name` with `count` operands (the receiver included for a
/// method) stands for.
pub fn resolve(name: &str, method: bool, count: usize) -> Option<Prim> {
    ops::lookup(name, method)
        .into_iter()
        .find(|p| p.def().arity() == count)
}

/// The value of `e` when it is a constant: a literal (a named constant
/// such as `std::f64::consts::PI` is one), a binding whose value is a
/// constant (`var` gives their values), or the library's scalar functions
/// and operators of constants, computed by their `f64` meaning. Dropout is
/// never a constant, nor is anything that reads an argument.
pub fn constant(e: &Expr, var: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
    match e {
        Expr::Lit { value, .. } => Some(*value),
        Expr::Var(ident) => var(&ident.to_string()),
        Expr::Neg { expr, .. } => constant(expr, var).map(|x| -x),
        Expr::Binary { op, lhs, rhs, .. } => {
            let values = [constant(lhs, var)?, constant(rhs, var)?];
            match operator(*op).def().eval {
                Eval::Map(f) => Some(f(&values)),
                _ => None,
            }
        }
        Expr::Call {
            name, args, method, ..
        } => {
            let p = resolve(&name.to_string(), *method, args.len())?;
            let Eval::Map(f) = p.def().eval else {
                return None;
            };
            let values = args
                .iter()
                .map(|a| constant(a, var))
                .collect::<Option<Vec<f64>>>()?;
            Some(f(&values))
        }
        Expr::Index { .. } | Expr::Array { .. } | Expr::Poison(_) | Expr::Rejected { .. } => None,
    }
}

/// The type a shape is written as, such as `[f64; 3]`.
pub fn type_name(shape: &[Dim], real: &RealType) -> String {
    let scalar = match real {
        RealType::F32 => "f32".to_string(),
        RealType::F64 => "f64".to_string(),
        RealType::Generic(t) => t.to_string(),
    };
    shape
        .iter()
        .rev()
        .fold(scalar, |inner, n| format!("[{inner}; {n}]"))
}

struct Checker<'a> {
    cx: Ctxt,
    real: &'a RealType,
    scope: HashMap<String, Declared>,
    /// The values of the bindings in scope that are constants.
    constants: HashMap<String, f64>,
    /// The function's own name, which its body cannot call.
    name: String,
}

/// Checks the names the generated code gives meaning to alone: the
/// function's and the arguments'.
pub fn names(f: &Function<Declared>) -> syn::Result<()> {
    let mut checker = Checker {
        cx: Ctxt::default(),
        real: &f.real,
        scope: HashMap::new(),
        constants: HashMap::new(),
        name: f.name.unraw().to_string(),
    };
    checker.names(f);
    checker.cx.finish(())
}

/// Checks the whole function.
pub fn check(f: &Function<Declared>) -> syn::Result<()> {
    let mut checker = Checker {
        cx: Ctxt::default(),
        real: &f.real,
        scope: HashMap::new(),
        constants: HashMap::new(),
        name: f.name.unraw().to_string(),
    };
    checker.names(f);
    for arg in &f.args {
        checker
            .scope
            .insert(arg.name.to_string(), arg.shape.clone());
    }
    for binding in &f.lets {
        // A written type that failed to parse was reported already; the
        // value is still checked.
        let declared = binding.shape.as_ref();
        let shape = match (&binding.value, declared) {
            // A call of another #[neuron] function: its result is the type
            // written on the binding, which rustc checks against the callee.
            (
                Expr::Call {
                    name,
                    args,
                    method: false,
                    ..
                },
                Some((written, _)),
            ) if checker.is_callee(name) => {
                checker.callee(name, args);
                written.shape().cloned()
            }
            _ => checker.shape(&binding.value),
        };
        if let (Some(found), Some((Declared::Shape(want), sp))) = (&shape, declared)
            && found != want
        {
            checker.cx.push(sp.error(format!(
                "`{}` is declared as `{}` but its value has type `{}`",
                binding.name,
                type_name(want, checker.real),
                type_name(found, checker.real)
            )));
        }
        // The written type is what the user meant, so later uses are checked
        // against it even when the value disagrees. A binding without one
        // whose value had an error is poisoned, so that its uses do not
        // report the same mistake again.
        let shape = match declared {
            Some((written, _)) => written.clone(),
            None => shape.map_or(Declared::Poisoned, Declared::Shape),
        };
        let name = binding.name.to_string();
        match constant(&binding.value, &|n| checker.constants.get(n).copied()) {
            Some(value) => checker.constants.insert(name.clone(), value),
            None => checker.constants.remove(&name),
        };
        checker.scope.insert(name, shape);
    }
    // A call of another #[neuron] function as the result has the return
    // type, which rustc checks against the callee.
    let result = match &f.result {
        Expr::Call {
            name,
            args,
            method: false,
            ..
        } if checker.is_callee(name) && checker.tail_calls_neuron(name, args, &f.ret_shape) => {
            checker.callee(name, args);
            f.ret_shape.shape().cloned()
        }
        other => checker.shape(other),
    };
    // A return type that failed to parse was reported already.
    if let Some(found) = result
        && let Declared::Shape(ret) = &f.ret_shape
        && found != *ret
    {
        checker.cx.push(f.result.sp().error(format!(
            "the result has type `{}` but the function returns `{}`",
            type_name(&found, checker.real),
            type_name(ret, checker.real)
        )));
    }
    checker.cx.finish(())
}

impl Checker<'_> {
    /// The names the generated code gives meaning to: the function's, which
    /// names its module, and the arguments'.
    fn names(&mut self, f: &Function<Declared>) {
        let name = &self.name;
        if is_builtin(name, false) {
            self.cx.push(syn::Error::new(
                f.name.span(),
                format!(
                    "a #[neuron] function cannot be named `{name}`, the name of a library function: \
                     inside other #[neuron] functions `{name}(..)` means the library's\nhelp: rename the function"
                ),
            ));
        } else if ITEMS.contains(&name.as_str()) {
            self.cx.push(syn::Error::new(
                f.name.span(),
                format!(
                    "a #[neuron] function cannot be named `{name}`: its generated module `{name}` defines an item of that name\n\
                     help: rename the function"
                ),
            ));
        }
        for param in &f.generics.params {
            let ident = match param {
                syn::GenericParam::Type(t) => &t.ident,
                syn::GenericParam::Const(c) => &c.ident,
                syn::GenericParam::Lifetime(_) => continue,
            };
            let text = ident.unraw().to_string();
            if ITEMS.contains(&text.as_str()) {
                self.cx.push(syn::Error::new(
                    ident.span(),
                    format!(
                        "a generic parameter of a #[neuron] function cannot be named `{text}`: the generated module defines an item of that name\nhelp: rename the parameter"
                    ),
                ));
            } else if let Some(why) = generated_own(&text) {
                // A const parameter is in scope in every generated body,
                // where these names are the generated code's own.
                self.cx.push(syn::Error::new(
                    ident.span(),
                    format!(
                        "`{text}` is reserved in a #[neuron] function: {why}\nhelp: rename the parameter"
                    ),
                ));
            }
        }
        for arg in &f.args {
            let text = arg.name.unraw().to_string();
            let why = if let Some(why) = generated_own(&text) {
                why
            } else if CONSTS.contains(&text.as_str()) {
                "the generated module defines a constant of that name, which an argument pattern cannot shadow"
            } else {
                continue;
            };
            self.cx.push(syn::Error::new(
                arg.name.span(),
                format!(
                    "`{text}` is reserved in a #[neuron] function: {why}\nhelp: rename the argument"
                ),
            ));
        }
    }

    /// Whether `name(..)` calls another `#[neuron]` function: a name that is
    /// neither the library's nor a value in scope.
    fn is_callee(&self, name: &syn::Ident) -> bool {
        let text = name.to_string();
        !is_builtin(&text, false) && !self.scope.contains_key(&text)
    }

    /// A call of another `#[neuron]` function: its arguments are checked
    /// here and its types by rustc; it must not be the function itself.
    /// [`tail_calls_neuron`] for a call as the result, with its
    /// arguments' shapes found quietly: whichever reading is taken checks
    /// them again and reports what is wrong with them.
    fn tail_calls_neuron(&mut self, name: &syn::Ident, args: &[Expr], ret: &Declared) -> bool {
        if is_tail_callee(name) {
            return true;
        }
        let Some(ret) = ret.shape() else {
            return false;
        };
        let errors = std::mem::take(&mut self.cx);
        let shapes: Option<Vec<Shape>> = args.iter().map(|a| self.shape(a)).collect();
        self.cx = errors;
        shapes.is_some_and(|shapes| tail_calls_neuron(name, &shapes, ret))
    }

    fn callee(&mut self, name: &syn::Ident, args: &[Expr]) {
        if is_path_keyword(&name.to_string()) {
            self.cx.push(syn::Error::new(
                name.span(),
                format!("`{name}` is not a function: a #[neuron] function calls functions by their plain name"),
            ));
        } else if name.unraw() == self.name {
            self.cx.push(syn::Error::new(
                name.span(),
                format!(
                    "`{}` calls itself: a #[neuron] function cannot be recursive, as its gradient is built from a fixed graph",
                    self.name
                ),
            ));
        }
        for a in args {
            self.shape(a);
        }
    }

    /// A call of a function with a declared derivative: one real argument
    /// or more, broadcast element-wise. That the function exists, takes
    /// these arguments and has its derivative declared, rustc checks.
    fn declared(&mut self, name: &syn::Ident, args: &[Expr], sp: Sp) -> Option<Shape> {
        let text = name.unraw().to_string();
        let shapes: Vec<Option<Shape>> = args.iter().map(|a| self.shape(a)).collect();
        if is_path_keyword(&text) {
            self.cx.push(syn::Error::new(
                name.span(),
                format!("`{text}` is not a function: a #[neuron] function calls functions by their plain name"),
            ));
            return None;
        }
        if args.is_empty() || args.len() > MAX_CUSTOM_ARITY {
            self.cx.push(sp.error(format!(
                "`{text}` is called with {} arguments, but a function with a declared derivative \
                 takes from 1 to {MAX_CUSTOM_ARITY} real arguments",
                args.len()
            )));
            return None;
        }
        if RESERVED.contains(&text.as_str()) {
            self.cx.push(syn::Error::new(
                name.span(),
                format!(
                    "a function called in a #[neuron] function cannot be named `{text}`: \
                     the generated module defines a type of that name\nhelp: rename the function"
                ),
            ));
            return None;
        }
        let shapes: Vec<Shape> = shapes.into_iter().collect::<Option<_>>()?;
        let real = self.real;
        let describe = |s: &Shape| type_name(s, real);
        let cx = ShapeCx {
            describe: &describe,
            spelling: &text,
        };
        let p = Prim::Custom(Custom::new(&text, args.len()));
        match (p.def().shape)(&cx, &shapes) {
            Ok(shape) => Some(shape),
            Err(_) => {
                // Arguments of different shapes: most likely another
                // #[neuron] function, called without its result type.
                let types: Vec<String> = shapes.iter().map(|s| self.describe(s)).collect();
                let (last, rest) = types
                    .split_last()
                    .map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
                self.cx.push(syn::Error::new(
                    name.span(),
                    format!(
                        "cannot apply `{text}` element-wise to {} and {last}: a call whose result type \
                         is not written is of a function with a declared derivative, which applies to \
                         arrays of one shape or reals\n\
                         help: to call another #[neuron] function, bind its result with its type \
                         written, such as `let h: [{}; N] = {text}(...);`",
                        rest.join(", "),
                        type_name(&[], self.real)
                    ),
                ));
                None
            }
        }
    }

    fn describe(&self, shape: &[Dim]) -> String {
        format!("`{}`", type_name(shape, self.real))
    }

    /// The shape of `e`, or `None` after reporting why it has none.
    fn shape(&mut self, e: &Expr) -> Option<Shape> {
        match e {
            // Failed to parse: already reported.
            Expr::Poison(_) => None,
            Expr::Rejected { parts, .. } => {
                for part in parts {
                    self.shape(part);
                }
                None
            }
            Expr::Lit {
                suffix: Some(suffix),
                sp,
                ..
            } => {
                let clash = match self.real {
                    RealType::F64 => *suffix == "f32",
                    RealType::F32 => *suffix == "f64",
                    RealType::Generic(_) => *suffix == "f32",
                };
                if clash {
                    let ty = type_name(&[], self.real);
                    self.cx.push(sp.error(format!(
                        "mixed float types: this literal is `{suffix}` but the reals of this #[neuron] function are `{ty}`, \
                         and converting it would change its value\nhelp: write the literal without a suffix; it then has type `{ty}`"
                    )));
                    return None;
                }
                Some(Vec::new())
            }
            Expr::Lit { .. } => Some(Vec::new()),
            Expr::Var(ident) => {
                let name = ident.to_string();
                match self.scope.get(&name) {
                    // A name whose type or value had an error: already reported.
                    Some(Declared::Poisoned) => None,
                    Some(Declared::Shape(s)) => Some(s.clone()),
                    None => {
                        let known: Vec<String> = self.scope.keys().cloned().collect();
                        let mut message =
                            format!("cannot find `{name}` in this #[neuron] function");
                        if let Some(near) = nearest(&name, known.iter().map(String::as_str)) {
                            message.push_str(&format!(
                                "\nhelp: a binding with a similar name exists: `{near}`"
                            ));
                        }
                        self.cx.push(syn::Error::new(ident.span(), message));
                        None
                    }
                }
            }
            Expr::Neg { expr, .. } => self.shape(expr),
            Expr::Binary {
                op, lhs, rhs, sp, ..
            } => {
                let (a, b) = (self.shape(lhs), self.shape(rhs));
                let p = operator(*op);
                self.apply(p, p.def().name, &[a?, b?], &[lhs, rhs], *sp)
            }
            Expr::Index {
                expr,
                index,
                index_sp,
                ..
            } => {
                let base = self.shape(expr)?;
                match base.first() {
                    None => {
                        self.cx.push(index_sp.error(format!(
                            "cannot index a {}: only arrays can be indexed",
                            self.describe(&base)
                        )));
                        None
                    }
                    Some(Dim::Fixed(len)) if *index >= *len => {
                        self.cx.push(index_sp.error(format!(
                            "index {index} is out of bounds for an array of type {}: the last index is {}",
                            self.describe(&base),
                            len - 1
                        )));
                        None
                    }
                    Some(_) => Some(base[1..].to_vec()),
                }
            }
            Expr::Array { elems, sp } => {
                let shapes: Vec<Option<Shape>> = elems.iter().map(|e| self.shape(e)).collect();
                if elems.is_empty() {
                    self.cx.push(
                        sp.error("an array in a #[neuron] function must have at least one element"),
                    );
                    return None;
                }
                let shapes: Vec<Shape> = shapes.into_iter().collect::<Option<_>>()?;
                let first = shapes[0].clone();
                for (e, s) in elems.iter().zip(&shapes).skip(1) {
                    if *s != first {
                        self.cx.push(e.sp().error(format!(
                            "array elements must have the same type: the first is {}, this one {}",
                            self.describe(&first),
                            self.describe(s)
                        )));
                        return None;
                    }
                }
                if first.len() >= 2 {
                    self.cx
                        .push(sp.error("arrays nest at most two deep in a #[neuron] function"));
                    return None;
                }
                let mut shape = vec![Dim::Fixed(elems.len())];
                shape.extend(first);
                Some(shape)
            }
            Expr::Call {
                name,
                args,
                method,
                sp,
            } => self.call(name, args, *method, *sp),
        }
    }

    /// The shape of op `p` on operands of `shapes`, by the op's own rule.
    fn apply(
        &mut self,
        p: Prim,
        spelling: &str,
        shapes: &[Shape],
        operands: &[&Expr],
        sp: Sp,
    ) -> Option<Shape> {
        let real = self.real;
        let describe = |s: &Shape| type_name(s, real);
        let cx = ShapeCx {
            describe: &describe,
            spelling,
        };
        match (p.def().shape)(&cx, shapes) {
            Ok(shape) => Some(shape),
            Err(error) => {
                let at = error
                    .at
                    .and_then(|k| operands.get(k))
                    .map_or(sp, |e| e.sp());
                self.cx.push(at.error(error.message));
                None
            }
        }
    }

    fn call(&mut self, name: &syn::Ident, args: &[Expr], method: bool, sp: Sp) -> Option<Shape> {
        let text = name.to_string();
        let candidates = ops::lookup(&text, method);
        if candidates.is_empty() {
            if !method && name.unraw() == self.name {
                self.callee(name, args);
                return None;
            }
            if !method && !self.scope.contains_key(&text) {
                return self.declared(name, args, sp);
            }
            for a in args {
                self.shape(a);
            }
            if !method && let Some(declared) = self.scope.get(&text) {
                // A closure or other binding that failed to parse: already
                // reported. Any other name in scope is a value.
                if let Declared::Shape(shape) = declared {
                    self.cx.push(syn::Error::new(
                        name.span(),
                        format!(
                            "`{text}` is a value of type `{}`, not a function",
                            type_name(shape, self.real)
                        ),
                    ));
                }
                return None;
            }
            let mut message = format!("unknown method `{text}` in a #[neuron] function");
            if let Some(near) = suggestion(&text) {
                message.push_str(&format!("\nhelp: did you mean `{near}`?"));
            }
            message.push_str(&format!(
                "\nnote: the library's methods are {}",
                ops::library().join(", ")
            ));
            self.cx.push(syn::Error::new(name.span(), message));
            return None;
        }
        let Some(p) = candidates
            .iter()
            .copied()
            .find(|p| p.def().arity() == args.len())
        else {
            // The receiver of a method is not counted as an argument.
            let skip = usize::from(method);
            let counted = args.len().saturating_sub(skip);
            let mut arities: Vec<usize> = candidates
                .iter()
                .map(|p| p.def().arity().saturating_sub(skip))
                .collect();
            arities.sort_unstable();
            arities.dedup();
            let expected = arities
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" or ");
            let plural = arities.len() > 1 || arities.last().is_some_and(|&n| n != 1);
            self.cx.push(syn::Error::new(
                name.span(),
                format!(
                    "`{text}` takes {expected} argument{} but {counted} {} given",
                    if plural { "s" } else { "" },
                    if counted == 1 { "was" } else { "were" }
                ),
            ));
            for a in args {
                self.shape(a);
            }
            return None;
        };
        let mut shapes = Vec::with_capacity(args.len());
        let mut ok = true;
        for (param, arg) in p.def().params.iter().zip(args) {
            match param {
                Param::Real => match self.shape(arg) {
                    Some(s) => shapes.push(s),
                    None => ok = false,
                },
                Param::IntLiteral => {
                    match arg {
                        Expr::Lit { int: Some(n), .. } if i32::try_from(*n).is_ok() => {}
                        Expr::Lit {
                            int: Some(n), sp, ..
                        } => {
                            self.cx.push(sp.error(format!(
                                "the exponent {n} is out of range: `{text}` takes an `i32`, from {} to {}",
                                i32::MIN,
                                i32::MAX
                            )));
                            ok = false;
                        }
                        // A literal that failed to parse, such as `2i32`:
                        // already reported.
                        Expr::Poison(_) | Expr::Rejected { .. } => ok = false,
                        other => {
                            // Answer in the spelling the user chose.
                            let (example, real) = if method {
                                (format!("`x.{text}(2)`"), "`x.powf(y)`")
                            } else {
                                (format!("`{text}(x, 2)`"), "`powf(x, y)`")
                            };
                            self.cx.push(other.sp().error(format!(
                                "the exponent of `{text}` must be an integer literal, such as {example}\nhelp: for a real exponent write {real}"
                            )));
                            ok = false;
                        }
                    }
                    shapes.push(Vec::new());
                }
                Param::Probability => match self.probability(&text, arg) {
                    Some(s) => shapes.push(s),
                    None => ok = false,
                },
            }
        }
        if !ok {
            return None;
        }
        let operands: Vec<&Expr> = args.iter().collect();
        self.apply(p, &text, &shapes, &operands, sp)
    }
}

impl Checker<'_> {
    /// Dropout's `p`: a real known at compile time, in `[0, 1)` (and below
    /// 1 once rounded to `f32`, where the reals are `f32` or may be).
    /// Reported at `p`.
    fn probability(&mut self, op: &str, arg: &Expr) -> Option<Shape> {
        let shape = self.shape(arg)?;
        if !shape.is_empty() {
            self.cx.push(arg.sp().error(format!(
                "the drop probability of `{op}` is one real for every element, found {}",
                self.describe(&shape)
            )));
            return None;
        }
        let Some(p) = constant(arg, &|n| self.constants.get(n).copied()) else {
            self.cx.push(arg.sp().error(format!(
                "the drop probability of `{op}` must be a constant: a literal such as `0.5`, \
                 or computed from literals and `let` bindings of them\n\
                 help: the probability is fixed when the neuron is compiled; whether \
                 elements are dropped at all is the thread's mode (see `neuron_core::dropout`)"
            )));
            return None;
        };
        let single = !matches!(self.real, RealType::F64);
        let rounds_to_one = single && (p as f32) >= 1.0;
        if !(0.0..1.0).contains(&p) || rounds_to_one {
            let why = if p.is_nan() {
                "it is NaN".to_string()
            } else if rounds_to_one && p < 1.0 {
                format!("{p} is 1 in `f32`, which would drop every element")
            } else if p >= 1.0 {
                format!("{p} would drop every element")
            } else {
                format!("it is {p}")
            };
            self.cx.push(arg.sp().error(format!(
                "the drop probability of `{op}` must be at least 0 and less than 1, but {why}"
            )));
            return None;
        }
        Some(shape)
    }
}

/// Whether `name` is a keyword of paths, which syn parses as a name.
fn is_path_keyword(name: &str) -> bool {
    matches!(name, "self" | "super" | "crate" | "Self")
}

/// The known name closest to `name`, if one is close enough to be a typo:
/// an edit distance (a swap of two neighbours counts as one edit, so
/// `rleu` is one edit from `relu`) of at most a third of the name's length.
pub fn nearest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    // One edit per three characters: a name of one or two characters is
    // nobody's typo (`l` is not `ln`, and a neuron named `l` called as the
    // result is a call of that neuron).
    let limit = name.chars().count() / 3;
    known
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, k)| k)
}

/// What users of other libraries write for the library's functions.
const ALIASES: &[(&str, &str)] = &[
    ("log", "ln"),
    ("pow", "powf"),
    ("logistic", "sigmoid"),
    ("maximum", "max"),
    ("minimum", "min"),
    ("fabs", "abs"),
    ("sqr", "square"),
];

/// The library function `name` likely means: a typo of one, or another
/// library's name for one.
pub fn suggestion(name: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, ours)| *ours)
        .or_else(|| nearest(name, ops::library().into_iter()))
}

/// The optimal string alignment distance: insertions, deletions,
/// substitutions and transpositions of neighbours, one edit each.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Why `name` is the generated code's own, which neither an argument nor a
/// length (in scope in every generated body) may take.
fn generated_own(name: &str) -> Option<&'static str> {
    if name == "dy" {
        Some("generated code uses `dy` for the derivative passed to `backward`")
    } else if name.starts_with("neuron_") {
        Some("generated code uses names starting with `neuron_` for its own")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;
    use quote::quote;

    fn errors(item: proc_macro2::TokenStream) -> Vec<String> {
        let (f, parse_errors) = parse::partial(item).unwrap();
        assert!(parse_errors.is_none());
        match check(&f) {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_the_running_example() {
        let errs = errors(quote! {
            fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
                relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
            }
        });
        assert!(errs.is_empty(), "{errs:?}");
    }

    #[test]
    fn suggests_the_nearest_function_and_binding() {
        let errs = errors(quote! { fn f(x: f64, weight: f64) -> f64 { x.relux() * wieght } });
        assert_eq!(errs.len(), 2);
        assert!(
            errs[0].contains("unknown method `relux`") && errs[0].contains("did you mean `relu`?")
        );
        assert!(errs[1].contains("cannot find `wieght`") && errs[1].contains("`weight`"));
    }

    /// A function that is not the library's, called without its result
    /// type written, has a declared derivative: rustc checks that it does,
    /// with the nearest library function in its message (`relux` may be a
    /// typo, or a function of the user's).
    #[test]
    fn other_functions_are_declared_ones_applied_element_wise() {
        let errs = errors(quote! {
            fn f(x: [f64; 3], y: f64) -> f64 {
                let a = relux(x);
                let b = hypot(x, y);
                sum(a + b)
            }
        });
        assert!(errs.is_empty(), "{errs:?}");
        let errs = errors(quote! {
            fn f(x: [f64; 3], m: [[f64; 3]; 2], y: f64) -> f64 {
                let a = layer(m, x);
                let b = constant();
                let c = wide(y, y, y, y, y, y, y, y, y);
                let d = Model(y);
                self(y) + super(y)
            }
        });
        assert_eq!(errs.len(), 6, "{errs:#?}");
        assert!(
            errs[0]
                .starts_with("cannot apply `layer` element-wise to `[[f64; 3]; 2]` and `[f64; 3]`")
        );
        assert!(errs[0].contains("help: to call another #[neuron] function, bind its result"));
        assert!(errs[1].starts_with("`constant` is called with 0 arguments"));
        assert!(errs[2].starts_with("`wide` is called with 9 arguments"));
        assert!(errs[3].contains("cannot be named `Model`"));
        assert!(errs[4].starts_with("`self` is not a function"));
        assert!(errs[5].starts_with("`super` is not a function"));
    }

    #[test]
    fn shapes_are_checked() {
        let errs = errors(quote! {
            fn f(a: [f64; 3], b: [f64; 4], m: [[f64; 3]; 2]) -> f64 {
                let p = dot(a, b);
                let q = matvec(m, b);
                let r = a + b;
                a[3]
            }
        });
        assert_eq!(errs.len(), 4, "{errs:#?}");
        assert!(errs[0].contains("`[f64; 3]` and `[f64; 4]`"));
        assert!(errs[1].contains("`[[f64; 3]; 2]` and `[f64; 4]`"));
        assert!(errs[2].contains("cannot add `[f64; 3]` and `[f64; 4]`"));
        assert!(errs[3].contains("index 3 is out of bounds"));
    }

    #[test]
    fn arity_and_powi_exponent() {
        let errs = errors(
            quote! { fn f(x: f64, y: f64) -> f64 { relu(x, y) + powi(x, y) + x.max(y, y) } },
        );
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(errs[0].contains("`relu` takes 1 argument but 2 were given"));
        assert!(errs[1].contains("exponent of `powi` must be an integer literal"));
        // `x.max()` reduces an array, `x.max(y)` compares two reals.
        assert!(errs[2].contains("`max` takes 0 or 1 arguments but 2 were given"));
    }

    #[test]
    fn annotated_calls_of_other_neurons_are_accepted() {
        let errs = errors(quote! {
            fn f(x: [f64; 2], #[param] w: [[f64; 2]; 3]) -> f64 {
                let h: [f64; 3] = layer(w, x);
                sum(h)
            }
        });
        assert!(errs.is_empty(), "{errs:?}");
    }

    #[test]
    fn a_binding_keeps_its_written_type_after_a_mismatch() {
        // `sum(z)` is checked against the written `[f64; 3]`, so the one
        // mistake is reported once.
        let errs = errors(quote! {
            fn f(x: [f64; 3], w: [f64; 3]) -> f64 {
                let z: [f64; 3] = dot(w, x);
                sum(z)
            }
        });
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0].contains("`z` is declared as `[f64; 3]` but its value has type `f64`"));
    }

    #[test]
    fn calling_a_value_is_an_error() {
        let errs = errors(quote! { fn f(x: f64, w: [f64; 2]) -> f64 { w(x) } });
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0].contains("`w` is a value of type `[f64; 2]`, not a function"));
    }

    #[test]
    fn result_type_must_match() {
        let errs = errors(quote! { fn f(x: [f64; 2]) -> f64 { x } });
        assert!(errs[0].contains("the result has type `[f64; 2]` but the function returns `f64`"));
    }

    /// Dropout's probability is a constant in `[0, 1)`: literals, named
    /// constants, bindings of them and the library's functions of them;
    /// not an argument, nor dropout itself.
    #[test]
    fn drop_probabilities_are_constants_in_the_unit_interval() {
        let errs = errors(quote! {
            fn f(x: [f64; 3], #[param] w: [f64; 3]) -> f64 {
                let rate = 0.25;
                let r2 = rate * 2.0;
                let a = dropout(x, 0.5) + x.dropout(1.0 / 3.0) + dropout(x, r2 - 0.25);
                let b = dropout(x, sqrt(0.04)) + dropout(x, std::f64::consts::FRAC_1_PI);
                let c = dropout(x, 0) + dropout(x, rate.max(0.1));
                dot(w, a + b + c)
            }
        });
        assert!(errs.is_empty(), "{errs:?}");
        let errs = errors(quote! {
            fn f(x: [f64; 3], #[param] w: [f64; 3], p: f64) -> f64 {
                let q = p;
                let rate = 0.5;
                let rate = sigmoid(q);
                let a = dropout(x, p) + dropout(x, q * 0.5) + dropout(x, rate);
                let b = dropout(x, dropout(0.5, 0.1)) + dropout(x, w[0]);
                let c = dropout(x, 1) + dropout(x, 2.0 - 3.0);
                dot(w, a + b + c)
            }
        });
        assert_eq!(errs.len(), 7, "{errs:#?}");
        for e in &errs[..5] {
            assert!(e.contains("must be a constant"), "{e}");
        }
        assert!(
            errs[5].contains("but 1 would drop every element"),
            "{}",
            errs[5]
        );
        assert!(errs[6].contains("but it is -1"), "{}", errs[6]);
    }

    #[test]
    fn nearest_needs_a_close_name() {
        assert_eq!(
            nearest("sigmod", ops::library().into_iter()),
            Some("sigmoid")
        );
        assert_eq!(nearest("frobnicate", ops::library().into_iter()), None);
    }
}
