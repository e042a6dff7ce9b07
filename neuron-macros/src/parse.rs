//! Parsing: from `syn`'s syntax tree to our typed AST.
//!
//! This stage knows the grammar of the language (which Rust syntax may
//! appear at all) and nothing about names, functions or shapes; `check`
//! does that. Every unsupported construct is reported at its own tokens and
//! parsing goes on, so one compile lists every mistake.

use crate::ast::{Arg, BinOp, Declared, Dim, Expr, Function, Let, Options, RealType, Shape, Sp};
use crate::ctxt::Ctxt;
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// Parses the attribute's arguments: nothing, `gradcheck`, or
/// `gradcheck(points = 100, range = 3.0, tolerance = 1e-5)` with any of
/// the three, where `range` is a number `r > 0` (for `-r..=r`) or a range
/// of two numbers `lo..=hi`.
pub fn options(attr: TokenStream) -> syn::Result<Options> {
    let mut options = Options::default();
    if attr.is_empty() {
        return Ok(options);
    }
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("gradcheck") {
            if options.gradcheck {
                return Err(meta.error("`gradcheck` is given twice"));
            }
            options.gradcheck = true;
            if meta.input.peek(syn::token::Paren) {
                let gradcheck = &mut options.gradcheck_options;
                meta.parse_nested_meta(|option| gradcheck_option(gradcheck, &option))?;
            }
            Ok(())
        } else if meta.path.is_ident("hvp") || meta.path.is_ident("hessian") {
            let which = if meta.path.is_ident("hvp") {
                &mut options.hvp
            } else {
                &mut options.hessian
            };
            if which
                .replace(syn::spanned::Spanned::span(&meta.path))
                .is_some()
            {
                return Err(meta.error("this option is given twice"));
            }
            Ok(())
        } else {
            Err(meta.error(
                "unknown #[neuron] option\nhelp: the options are `gradcheck`, `hvp` and `hessian`: #[neuron(gradcheck)], \
                 #[neuron(gradcheck(points = 64, range = 2.0, tolerance = 1e-6))], #[neuron(hvp, hessian)]",
            ))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(options)
}

/// One `name = value` of `gradcheck(..)`.
fn gradcheck_option(
    options: &mut crate::ast::GradcheckOptions,
    meta: &syn::meta::ParseNestedMeta<'_>,
) -> syn::Result<()> {
    let name = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    let twice = || meta.error(format!("`{name}` is given twice"));
    match name.as_str() {
        "points" => {
            let lit: syn::LitInt = meta.value()?.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`points` takes a whole number of at least 1, e.g. `points = 100`",
                )
            })?;
            let points = lit
                .base10_parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    syn::Error::new(
                        lit.span(),
                        "`points` takes a whole number of at least 1, e.g. `points = 100`",
                    )
                })?;
            if options.points.replace(points).is_some() {
                return Err(twice());
            }
        }
        "tolerance" => {
            let expr: syn::Expr = meta.value()?.parse()?;
            let tolerance = number(&expr)
                .filter(|t| t.is_finite() && *t > 0.0)
                .ok_or_else(|| {
                    syn::Error::new_spanned(
                        &expr,
                        "`tolerance` takes a number > 0, e.g. `tolerance = 1e-5`",
                    )
                })?;
            if options.tolerance.replace(tolerance).is_some() {
                return Err(twice());
            }
        }
        "range" => {
            let expr: syn::Expr = meta.value()?.parse()?;
            let range = match &expr {
                syn::Expr::Range(range) => match (&range.start, &range.end) {
                    (Some(lo), Some(hi)) => number(lo).zip(number(hi)),
                    _ => None,
                },
                other => number(other).map(|r| (-r, r)),
            };
            let range = range
                .filter(|&(lo, hi)| lo.is_finite() && hi.is_finite() && lo < hi)
                .ok_or_else(|| {
                    syn::Error::new_spanned(
                        &expr,
                        "`range` takes a number r > 0, for arguments drawn from -r..=r, or a \
                         range of two numbers lo..=hi with lo < hi, e.g. `range = 3.0` or \
                         `range = 0.1..=2.0`",
                    )
                })?;
            if options.range.replace(range).is_some() {
                return Err(twice());
            }
        }
        _ => {
            return Err(meta.error(
                "unknown gradcheck option\nhelp: the options are `points`, `range` and \
                 `tolerance`: gradcheck(points = 64, range = 2.0, tolerance = 1e-6)",
            ));
        }
    }
    Ok(())
}

/// The value of a numeric literal, possibly negated: `3`, `1e-5`, `-2.0`.
fn number(expr: &syn::Expr) -> Option<f64> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Float(f),
            ..
        }) => f.base10_parse().ok(),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_parse().ok(),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => number(expr).map(|x| -x),
        syn::Expr::Paren(paren) => number(&paren.expr),
        syn::Expr::Group(group) => number(&group.expr),
        _ => None,
    }
}

/// Parses the annotated item into a [`Function`], reporting every
/// unsupported construct at once.
#[cfg(test)]
pub fn function(item: TokenStream) -> syn::Result<Function> {
    match partial(item)? {
        (function, None) => complete(function),
        (_, Some(errors)) => Err(errors),
    }
}

/// A function that parsed without errors, with every shape known.
pub fn complete(f: Function<Declared>) -> syn::Result<Function> {
    let span = f.name.span();
    f.known().ok_or_else(|| {
        syn::Error::new(
            span,
            "internal error in #[neuron]: a part that failed to parse was not reported",
        )
    })
}

/// Parses the annotated item as far as it goes: the function, in which
/// whatever failed to parse is poisoned (see [`Declared`] and [`Expr::Poison`]), and the parse
/// errors, if any. `check` can then run on the rest, so that one compile
/// reports the unknown names and shape mismatches together with the
/// unsupported syntax. `Err` only when the item is not a function at all.
pub fn partial(item: TokenStream) -> syn::Result<(Function<Declared>, Option<syn::Error>)> {
    let item: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(item) => item,
        // A function without a body is a trait's.
        Err(_) if syn::parse2::<syn::TraitItemFn>(item.clone()).is_ok() => {
            let f = syn::parse2::<syn::TraitItemFn>(item)?;
            return Err(syn::Error::new_spanned(
                &f.sig.ident,
                "#[neuron] applies to a free function, not to a trait's: its gradient is generated as a module, which a trait cannot hold\nhelp: write a free function and call it from the trait's implementations",
            ));
        }
        Err(e) => {
            return Err(syn::Error::new(
                e.span(),
                format!("#[neuron] applies to a free function: {e}"),
            ));
        }
    };
    let mut cx = Ctxt::default();
    let sig = &item.sig;

    if let Some(token) = &sig.constness {
        cx.push(syn::Error::new(
            token.span,
            "a #[neuron] function cannot be `const`",
        ));
    }
    if let Some(token) = &sig.asyncness {
        cx.push(syn::Error::new(
            token.span,
            "a #[neuron] function cannot be `async`",
        ));
    }
    if !matches!(sig.safety, syn::Safety::Default) {
        cx.push(syn::Error::new_spanned(
            &sig.safety,
            "a #[neuron] function cannot be `unsafe`",
        ));
    }
    if let Some(abi) = &sig.abi {
        cx.push(syn::Error::new_spanned(
            abi,
            "a #[neuron] function cannot have an `extern` ABI",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        cx.push(syn::Error::new_spanned(
            variadic,
            "a #[neuron] function cannot be variadic",
        ));
    }

    let (real, consts) = generic_params(&mut cx, &sig.generics);
    let real = real.unwrap_or_else(|| infer_real(&item));
    let mut args = Vec::new();
    for input in &sig.inputs {
        if let Some(arg) = argument(&mut cx, input, &real, &consts) {
            args.push(arg);
        }
    }
    if sig.inputs.is_empty() {
        cx.push(syn::Error::new(
            sig.paren_token.span.join(),
            "a #[neuron] function needs at least one argument to differentiate",
        ));
    }

    let (ret, ret_shape) = match &sig.output {
        syn::ReturnType::Default => {
            cx.push(syn::Error::new(
                sig.paren_token.span.close(),
                "a #[neuron] function must return a real number or an array of them\nhelp: add a return type such as `-> f64` or `-> [f64; 3]`",
            ));
            (syn::parse_quote!(f64), Declared::Poisoned)
        }
        syn::ReturnType::Type(_, ty) => {
            let mut shape = shape_of(&mut cx, ty, &real, &consts, "return");
            if let Some(s) = &shape
                && s.len() > 1
            {
                cx.push(syn::Error::new_spanned(
                    ty,
                    "a #[neuron] function returns a real number or a one-dimensional array\nhelp: return `[T; K]`, and take matrices as arguments",
                ));
                shape = None;
            }
            (
                (**ty).clone(),
                shape.map_or(Declared::Poisoned, Declared::Shape),
            )
        }
    };

    let (lets, result) = body(&mut cx, &item.block, &real, &consts);

    let attrs = item
        .attrs
        .iter()
        .filter(|a| !a.path().is_ident("neuron"))
        .cloned()
        .collect();
    let function = Function {
        attrs,
        vis: item.vis.clone(),
        name: sig.ident.clone(),
        generics: sig.generics.clone(),
        real,
        consts,
        args,
        ret,
        ret_shape,
        lets,
        result: result.unwrap_or(Expr::Poison(Sp::single(Span::call_site()))),
    };
    Ok(match cx.finish(()) {
        Ok(()) => (function, None),
        Err(errors) => (function, Some(errors)),
    })
}

/// The generic parameters: the float type, when it is a type parameter
/// (which must be bounded by `Real`), and the const parameters, which are
/// array lengths (`const N: usize`).
fn generic_params(cx: &mut Ctxt, generics: &syn::Generics) -> (Option<RealType>, Vec<syn::Ident>) {
    let mut found = None;
    let mut consts = Vec::new();
    for param in &generics.params {
        match param {
            syn::GenericParam::Type(tp) if found.is_none() => {
                let bounded = tp.bounds.iter().any(|b| match b {
                    syn::TypeParamBound::Trait(t) => {
                        t.path.segments.last().is_some_and(|s| s.ident == "Real")
                    }
                    _ => false,
                });
                if !bounded {
                    cx.push(syn::Error::new_spanned(
                        tp,
                        format!(
                            "the type parameter of a #[neuron] function must be bounded by `Real`\nhelp: write `{}: Real`",
                            tp.ident
                        ),
                    ));
                }
                found = Some(RealType::Generic(tp.ident.clone()));
            }
            syn::GenericParam::Const(c) => {
                let is_usize = matches!(&c.ty, syn::Type::Path(p) if p.path.is_ident("usize"));
                if !is_usize {
                    cx.push(syn::Error::new_spanned(
                        &c.ty,
                        format!(
                            "a const parameter of a #[neuron] function is an array length\nhelp: write `const {}: usize`",
                            c.ident
                        ),
                    ));
                } else if c.default.is_some() {
                    cx.push(syn::Error::new_spanned(
                        c,
                        "a const parameter of a #[neuron] function cannot have a default",
                    ));
                }
                consts.push(c.ident.clone());
            }
            other => cx.push(syn::Error::new_spanned(
                other,
                "a #[neuron] function takes one float type parameter `T: Real` and array lengths `const N: usize`",
            )),
        }
    }
    if let Some(where_clause) = &generics.where_clause {
        cx.push(syn::Error::new_spanned(
            where_clause,
            "`where` clauses are not supported in a #[neuron] function\nhelp: write the bound inline: `<T: Real>`",
        ));
    }
    // Without a type parameter the float type is read off the arguments.
    (found, consts)
}

fn argument(
    cx: &mut Ctxt,
    input: &syn::FnArg,
    real: &RealType,
    consts: &[syn::Ident],
) -> Option<Arg<Declared>> {
    let pat_type = match input {
        syn::FnArg::Receiver(receiver) => {
            cx.push(syn::Error::new_spanned(
                receiver,
                "a #[neuron] function is a free function; it cannot take `self`\nhelp: write a free function of the fields it needs and call it from the method",
            ));
            return None;
        }
        syn::FnArg::Typed(pat_type) => pat_type,
    };
    let mut param = false;
    for attr in &pat_type.attrs {
        if attr.path().is_ident("param") && matches!(attr.meta, syn::Meta::Path(_)) {
            param = true;
        } else {
            cx.push(syn::Error::new_spanned(
                attr,
                "unknown argument attribute\nhelp: the only argument attribute is `#[param]`, which marks a trainable parameter",
            ));
        }
    }
    let name = match &*pat_type.pat {
        syn::Pat::Ident(pi)
            if pi.by_ref.is_none() && pi.mutability.is_none() && pi.subpat.is_none() =>
        {
            pi.ident.clone()
        }
        other => {
            cx.push(syn::Error::new_spanned(
                other,
                "an argument of a #[neuron] function must be a plain name, such as `x`",
            ));
            return None;
        }
    };
    // An argument whose type is unsupported keeps its name, poisoned, so that
    // its uses in the body are not reported as unknown names.
    let shape = shape_of(cx, &pat_type.ty, real, consts, "argument")
        .map_or(Declared::Poisoned, Declared::Shape);
    Some(Arg {
        name,
        shape,
        param,
        ty: (*pat_type.ty).clone(),
    })
}

const TYPE_HELP: &str = "help: the accepted types are `f32`, `f64`, a type parameter `T: Real`, `[T; N]` and `[[T; N]; M]`, all with the same float type";

/// The shape of a written type, checking that its scalar is the function's
/// float type. `what` names the position, for the message.
/// The most elements one argument, binding or result may have: `[f64; N]`
/// lives on the stack, and element counts must not overflow.
pub const MAX_ELEMENTS: usize = 1 << 24;

fn shape_of(
    cx: &mut Ctxt,
    ty: &syn::Type,
    real: &RealType,
    consts: &[syn::Ident],
    what: &str,
) -> Option<Shape> {
    let whole = ty;
    let mut dims = Vec::new();
    let mut ty = ty;
    loop {
        match ty {
            syn::Type::Paren(p) => ty = &p.elem,
            syn::Type::Group(g) => ty = &g.elem,
            syn::Type::Array(array) => {
                match array_len(&array.len, consts) {
                    Some(Dim::Fixed(0)) => {
                        cx.push(syn::Error::new_spanned(
                            &array.len,
                            "an array in a #[neuron] function must have at least one element",
                        ));
                        return None;
                    }
                    Some(n) => dims.push(n),
                    None => {
                        cx.push(syn::Error::new_spanned(
                            &array.len,
                            "the length of an array in a #[neuron] function must be an integer literal or a const parameter of the function, such as `[f64; 3]` or `[T; N]`",
                        ));
                        return None;
                    }
                }
                ty = &array.elem;
            }
            syn::Type::Path(path) if path.qself.is_none() => {
                let ok = match (path.path.get_ident(), real) {
                    (Some(ident), RealType::F64) => ident == "f64",
                    (Some(ident), RealType::F32) => ident == "f32",
                    (Some(ident), RealType::Generic(t)) => ident == t,
                    (None, _) => false,
                };
                if !ok {
                    let expected = match real {
                        RealType::F64 => "f64".to_string(),
                        RealType::F32 => "f32".to_string(),
                        RealType::Generic(t) => t.to_string(),
                    };
                    let written = path.to_token_stream().to_string().replace(' ', "");
                    let ident = path.path.get_ident().map(ToString::to_string);
                    let message = match ident.as_deref() {
                        // The other float type: the function mixes f32 and f64.
                        Some(float @ ("f32" | "f64")) => {
                            let why = match real {
                                RealType::Generic(_) => format!("the type parameter `{expected}`"),
                                _ => format!("`{expected}`, the float type of its first argument"),
                            };
                            format!(
                                "mixed float types: every real in this #[neuron] function is {why}, but this {what} type uses `{float}`\nhelp: write `{expected}` here; for a function that works with both, make it generic: `fn f<T: Real>(x: [T; 3]) -> T`"
                            )
                        }
                        Some(
                            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32"
                            | "u64" | "u128" | "usize" | "bool",
                        ) => format!(
                            "unsupported {what} type `{written}`: every argument of a #[neuron] function is differentiated, so it must be real\n{TYPE_HELP}"
                        ),
                        _ if path.path.segments.last().is_some_and(|s| s.ident == "Vec") => {
                            format!(
                                "unsupported {what} type `{written}`: shapes are fixed at compile time\nhelp: use an array with its length, such as `[{expected}; 3]`"
                            )
                        }
                        _ => format!("unsupported {what} type `{written}`\n{TYPE_HELP}"),
                    };
                    cx.push(syn::Error::new_spanned(path, message));
                    return None;
                }
                if dims.len() > 2 {
                    cx.push(syn::Error::new_spanned(
                        ty,
                        format!(
                            "arrays nest at most two deep in a #[neuron] function\n{TYPE_HELP}"
                        ),
                    ));
                    return None;
                }
                // Literal lengths only: a const parameter's value is the
                // caller's to choose.
                let literal = dims.iter().filter_map(Dim::fixed);
                let count = literal.clone().try_fold(1usize, |n, d| n.checked_mul(d));
                if count.is_none_or(|n| n > MAX_ELEMENTS) {
                    cx.push(syn::Error::new_spanned(
                        whole,
                        format!(
                            "this array is too large for a #[neuron] function: at most {MAX_ELEMENTS} elements fit, and arrays live on the stack\nhelp: split the work over several smaller arrays"
                        ),
                    ));
                    return None;
                }
                return Some(dims);
            }
            other => {
                let written = other
                    .to_token_stream()
                    .to_string()
                    .replace(" ;", ";")
                    .replace("& ", "&");
                let help = match other {
                    // `&[f64]`, `&f64`, `[f64]`: pass by value, with the length.
                    syn::Type::Reference(_) | syn::Type::Slice(_) => {
                        let scalar = match real {
                            RealType::F64 => "f64".to_string(),
                            RealType::F32 => "f32".to_string(),
                            RealType::Generic(t) => t.to_string(),
                        };
                        format!(
                            ": values are passed by value, with their length fixed at compile time\nhelp: write `{scalar}` or an array such as `[{scalar}; 3]`"
                        )
                    }
                    _ => format!("\n{TYPE_HELP}"),
                };
                cx.push(syn::Error::new_spanned(
                    other,
                    format!("unsupported {what} type `{written}`{help}"),
                ));
                return None;
            }
        }
    }
}

/// An array length: an integer literal, or one of the function's const
/// parameters (written `N`, or `{ N }`).
fn array_len(len: &syn::Expr, consts: &[syn::Ident]) -> Option<Dim> {
    match len {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int.base10_parse().ok().map(Dim::Fixed),
        syn::Expr::Path(p) => p
            .path
            .get_ident()
            .filter(|i| consts.contains(i))
            .map(|i| Dim::Param(i.to_string())),
        syn::Expr::Block(b) => match b.block.stmts.as_slice() {
            [syn::Stmt::Expr(e, None)] => array_len(e, consts),
            _ => None,
        },
        syn::Expr::Group(g) => array_len(&g.expr, consts),
        syn::Expr::Paren(p) => array_len(&p.expr, consts),
        _ => None,
    }
}

/// Fixes the float type from the first scalar type written in the signature,
/// when the function is not generic.
pub fn infer_real(item: &syn::ItemFn) -> RealType {
    fn scalar(ty: &syn::Type) -> Option<&syn::Ident> {
        match ty {
            syn::Type::Array(a) => scalar(&a.elem),
            syn::Type::Paren(p) => scalar(&p.elem),
            syn::Type::Group(g) => scalar(&g.elem),
            syn::Type::Path(p) => p.path.get_ident(),
            _ => None,
        }
    }
    let tys = item.sig.inputs.iter().filter_map(|i| match i {
        syn::FnArg::Typed(t) => Some(&*t.ty),
        syn::FnArg::Receiver(_) => None,
    });
    for ty in tys {
        match scalar(ty) {
            Some(i) if i == "f32" => return RealType::F32,
            Some(i) if i == "f64" => return RealType::F64,
            _ => {}
        }
    }
    RealType::F64
}

fn body(
    cx: &mut Ctxt,
    block: &syn::Block,
    real: &RealType,
    consts: &[syn::Ident],
) -> (Vec<Let<Declared>>, Option<Expr>) {
    let mut lets = Vec::new();
    let mut result = None;
    let count = block.stmts.len();
    for (i, stmt) in block.stmts.iter().enumerate() {
        let last = i + 1 == count;
        match stmt {
            syn::Stmt::Local(local) => {
                binding(cx, local, real, consts, &mut lets);
                if last {
                    cx.push(syn::Error::new_spanned(
                        local,
                        "the body of a #[neuron] function must end with the result expression\nhelp: write the result after the last `let`, without a semicolon",
                    ));
                }
            }
            syn::Stmt::Expr(expr, None) if last => result = Some(self::expr(cx, real, expr)),
            syn::Stmt::Expr(expr, semi) => {
                // Report the construct itself when it is unsupported anyway.
                let parsed = self::expr(cx, real, expr);
                if semi.is_some() && last {
                    cx.push(syn::Error::new_spanned(
                        semi,
                        "the result expression of a #[neuron] function must not end with `;`\nhelp: remove the semicolon",
                    ));
                    result = Some(parsed);
                } else if !cx.has_errors() {
                    cx.push(syn::Error::new_spanned(
                        expr,
                        "a #[neuron] body holds only `let` bindings followed by the result expression",
                    ));
                }
            }
            syn::Stmt::Item(item) => cx.push(syn::Error::new_spanned(
                item,
                "items cannot be declared inside a #[neuron] function\nhelp: declare it outside the function",
            )),
            syn::Stmt::Macro(mac) => cx.push(syn::Error::new_spanned(
                &mac.mac.path,
                "macros are not supported in a #[neuron] function",
            )),
        }
    }
    if count == 0 {
        cx.push(syn::Error::new(
            block.brace_token.span.join(),
            "the body of a #[neuron] function is empty\nhelp: write the expression to differentiate",
        ));
    }
    (lets, result)
}

fn binding(
    cx: &mut Ctxt,
    local: &syn::Local,
    real: &RealType,
    consts: &[syn::Ident],
    lets: &mut Vec<Let<Declared>>,
) {
    let (pat, ty) = match &local.pat {
        syn::Pat::Type(pt) => (&*pt.pat, Some(&*pt.ty)),
        other => (other, None),
    };
    let name = match pat {
        syn::Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
            if let Some(m) = &pi.mutability {
                cx.push(syn::Error::new_spanned(
                    m,
                    "bindings in a #[neuron] function cannot be mutable\nhelp: bind each new value to a new name",
                ));
            }
            pi.ident.clone()
        }
        other => {
            cx.push(syn::Error::new_spanned(
                other,
                "a `let` in a #[neuron] function binds a single name, such as `let z = ...;`",
            ));
            // The names it would bind are poisoned, so that their uses are
            // not reported as unknown.
            let mut names = Vec::new();
            pattern_names(other, &mut names);
            for name in names {
                lets.push(Let {
                    name,
                    shape: Some((Declared::Poisoned, Sp::of(other))),
                    value: Expr::Poison(Sp::of(other)),
                });
            }
            return;
        }
    };
    // A written type that is unsupported poisons the binding.
    let shape = ty.map(|ty| {
        (
            shape_of(cx, ty, real, consts, "binding").map_or(Declared::Poisoned, Declared::Shape),
            Sp::of(ty),
        )
    });
    let Some(init) = &local.init else {
        cx.push(syn::Error::new_spanned(
            local,
            "a `let` in a #[neuron] function needs a value\nhelp: write `let name = expression;`",
        ));
        lets.push(Let {
            name,
            shape,
            value: Expr::Poison(Sp::of(local)),
        });
        return;
    };
    if let Some((else_token, _)) = &init.diverge {
        cx.push(syn::Error::new_spanned(
            else_token,
            "`let ... else` is not supported in a #[neuron] function",
        ));
    }
    let value = expr(cx, real, &init.expr);
    lets.push(Let { name, shape, value });
}

/// The names a pattern binds, for poisoning them after it was rejected.
fn pattern_names(pat: &syn::Pat, names: &mut Vec<syn::Ident>) {
    match pat {
        syn::Pat::Ident(pi) => {
            names.push(pi.ident.clone());
            if let Some((_, sub)) = &pi.subpat {
                pattern_names(sub, names);
            }
        }
        syn::Pat::Tuple(t) => t.elems.iter().for_each(|p| pattern_names(p, names)),
        syn::Pat::TupleStruct(t) => t.elems.iter().for_each(|p| pattern_names(p, names)),
        syn::Pat::Slice(s) => s.elems.iter().for_each(|p| pattern_names(p, names)),
        syn::Pat::Struct(s) => s.fields.iter().for_each(|f| pattern_names(&f.pat, names)),
        syn::Pat::Or(o) => o.cases.iter().for_each(|p| pattern_names(p, names)),
        syn::Pat::Paren(p) => pattern_names(&p.pat, names),
        syn::Pat::Reference(r) => pattern_names(&r.pat, names),
        syn::Pat::Type(t) => pattern_names(&t.pat, names),
        _ => {}
    }
}

/// Parses one expression; on an unsupported construct it reports the error
/// and returns a placeholder literal so parsing can go on.
///
/// Spans of compound expressions are built from their parts' spans (the
/// first token of the left operand, the closing bracket, ...), never by
/// walking the whole expression again: a sum of `n` terms parses in `O(n)`.
fn expr(cx: &mut Ctxt, real: &RealType, e: &syn::Expr) -> Expr {
    let unsupported = |cx: &mut Ctxt, tokens: &dyn ToTokens, message: &str| {
        cx.push(syn::Error::new_spanned(tokens.to_token_stream(), message));
        Expr::Poison(Sp::of(e))
    };
    match e {
        syn::Expr::Lit(lit) => literal(cx, &lit.lit, Sp::of(lit)),
        syn::Expr::Paren(p) => expr(cx, real, &p.expr),
        syn::Expr::Group(g) => expr(cx, real, &g.expr),
        syn::Expr::Path(path) => match path.path.get_ident() {
            Some(ident) if path.qself.is_none() => Expr::Var(ident.clone()),
            _ => match consts_path(path) {
                Some((float, name)) => constant(cx, real, path, float, name),
                None => unsupported(
                    cx,
                    path,
                    "paths are not supported in a #[neuron] function\nhelp: use an argument, a `let` binding, a literal or a constant such as `std::f64::consts::PI`",
                ),
            },
        },
        syn::Expr::Unary(u) => match u.op {
            syn::UnOp::Neg(minus) => match expr(cx, real, &u.expr) {
                // `-2` is one literal, so that `powi(x, -2)` has an integer
                // literal exponent.
                Expr::Lit {
                    value,
                    int,
                    suffix,
                    sp,
                } => Expr::Lit {
                    value: -value,
                    int: int.map(|i| -i),
                    suffix,
                    sp: Sp {
                        first: minus.span,
                        last: sp.last,
                    },
                },
                inner => {
                    let sp = Sp {
                        first: minus.span,
                        last: inner.sp().last,
                    };
                    Expr::Neg {
                        expr: Box::new(inner),
                        sp,
                    }
                }
            },
            syn::UnOp::Deref(token) => unsupported(
                cx,
                &token,
                "dereferencing is not supported in a #[neuron] function: arguments are passed by value",
            ),
            _ => unsupported(
                cx,
                &u.op,
                "`!` is not supported in a #[neuron] function: every value is a real number",
            ),
        },
        syn::Expr::Binary(b) => {
            let lhs = expr(cx, real, &b.left);
            // `x ** 2` is `x * (*2)` to Rust: a power written as in Python.
            if let (syn::BinOp::Mul(star), syn::Expr::Unary(u)) = (&b.op, &*b.right)
                && let syn::UnOp::Deref(second) = u.op
            {
                let exponent = expr(cx, real, &u.expr);
                let sp = Sp {
                    first: star.span,
                    last: second.span,
                };
                cx.push(sp.error(
                    "Rust has no `**` operator: this multiplies by a dereference\nhelp: for a power write `powi(x, 2)` with an integer exponent, or `powf(x, y)` with a real one",
                ));
                return rejected(lhs, exponent);
            }
            let rhs = expr(cx, real, &b.right);
            let op = match b.op {
                syn::BinOp::Add(_) => BinOp::Add,
                syn::BinOp::Sub(_) => BinOp::Sub,
                syn::BinOp::Mul(_) => BinOp::Mul,
                syn::BinOp::Div(_) => BinOp::Div,
                syn::BinOp::Lt(_)
                | syn::BinOp::Le(_)
                | syn::BinOp::Gt(_)
                | syn::BinOp::Ge(_)
                | syn::BinOp::Eq(_)
                | syn::BinOp::Ne(_) => {
                    cx.push(syn::Error::new_spanned(
                        b.op,
                        "comparisons are not supported in a #[neuron] function\nhelp: write `max(a, b)`, `min(a, b)` or `relu(x)` instead of a branch",
                    ));
                    return rejected(lhs, rhs);
                }
                syn::BinOp::BitXor(_) => {
                    cx.push(syn::Error::new_spanned(
                        b.op,
                        "`^` is the bitwise exclusive or in Rust, not a power\nhelp: for a power write `powi(x, 2)` with an integer exponent, or `powf(x, y)` with a real one",
                    ));
                    return rejected(lhs, rhs);
                }
                _ => {
                    cx.push(syn::Error::new_spanned(
                        b.op,
                        "unsupported operator in a #[neuron] function\nhelp: the operators are `+`, `-`, `*`, `/` and unary `-`",
                    ));
                    return rejected(lhs, rhs);
                }
            };
            let sp = Sp {
                first: lhs.sp().first,
                last: rhs.sp().last,
            };
            Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                sp,
            }
        }
        syn::Expr::Index(ix) => {
            let base = expr(cx, real, &ix.expr);
            let sp = Sp {
                first: base.sp().first,
                last: ix.bracket_token.span.close(),
            };
            match literal_index(&ix.index) {
                Some(index) => Expr::Index {
                    expr: Box::new(base),
                    index,
                    index_sp: Sp::of(&ix.index),
                    sp,
                },
                None => unsupported(
                    cx,
                    &ix.index,
                    "an index in a #[neuron] function must be an integer literal, such as `x[0]`\nhelp: for a sum over all elements write `sum(x)` or `dot(w, x)`",
                ),
            }
        }
        syn::Expr::Call(call) => {
            let args = call.args.iter().map(|a| expr(cx, real, a)).collect();
            match &*call.func {
                syn::Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                    let sp = Sp {
                        first: Sp::of(p).first,
                        last: call.paren_token.span.close(),
                    };
                    let name = p
                        .path
                        .get_ident()
                        .cloned()
                        .unwrap_or_else(|| syn::Ident::new("_", sp.first));
                    Expr::Call {
                        name,
                        args,
                        method: false,
                        sp,
                    }
                }
                other => unsupported(
                    cx,
                    other,
                    "only functions called by a plain name are supported in a #[neuron] function, such as `relu(z)`",
                ),
            }
        }
        syn::Expr::MethodCall(mc) => {
            if let Some(turbofish) = &mc.turbofish {
                cx.push(syn::Error::new_spanned(
                    turbofish,
                    "turbofish is not supported in a #[neuron] function",
                ));
            }
            let receiver = expr(cx, real, &mc.receiver);
            let sp = Sp {
                first: receiver.sp().first,
                last: mc.paren_token.span.close(),
            };
            let mut args = vec![receiver];
            args.extend(mc.args.iter().map(|a| expr(cx, real, a)));
            Expr::Call {
                name: mc.method.clone(),
                args,
                method: true,
                sp,
            }
        }
        syn::Expr::Array(array) => Expr::Array {
            elems: array.elems.iter().map(|e| expr(cx, real, e)).collect(),
            sp: Sp {
                first: array.bracket_token.span.open(),
                last: array.bracket_token.span.close(),
            },
        },
        syn::Expr::If(x) => unsupported(
            cx,
            &x.if_token,
            "`if` is not supported in a #[neuron] function: its derivative would depend on the branch taken\nhelp: write `max(a, b)`, `min(a, b)`, `relu(x)` or `abs(x)`, whose kinks have fixed derivatives",
        ),
        syn::Expr::Match(x) => unsupported(
            cx,
            &x.match_token,
            "`match` is not supported in a #[neuron] function\nhelp: write `max(a, b)`, `min(a, b)`, `relu(x)` or `abs(x)`",
        ),
        syn::Expr::ForLoop(x) => unsupported(
            cx,
            &x.for_token,
            "loops are not supported in a #[neuron] function\nhelp: use `sum(v)`, `dot(a, b)` or `matvec(m, v)`, which stay loops in the generated code",
        ),
        syn::Expr::While(x) => unsupported(
            cx,
            &x.while_token,
            "loops are not supported in a #[neuron] function\nhelp: use `sum(v)`, `dot(a, b)` or `matvec(m, v)`, which stay loops in the generated code",
        ),
        syn::Expr::Loop(x) => unsupported(
            cx,
            &x.loop_token,
            "loops are not supported in a #[neuron] function\nhelp: use `sum(v)`, `dot(a, b)` or `matvec(m, v)`, which stay loops in the generated code",
        ),
        syn::Expr::Closure(x) => unsupported(
            cx,
            &x.inputs_begin,
            "closures are not supported in a #[neuron] function\nhelp: write the expression inline, or make it another #[neuron] function and call it",
        ),
        syn::Expr::Reference(x) => unsupported(
            cx,
            &x.and_token,
            "references are not supported in a #[neuron] function: every value is passed by value\nhelp: remove the `&`",
        ),
        syn::Expr::Cast(x) => unsupported(
            cx,
            &x.as_token,
            "casts are not supported in a #[neuron] function: every value already has the function's float type",
        ),
        syn::Expr::Field(x) => unsupported(
            cx,
            &x.member,
            "field access is not supported in a #[neuron] function",
        ),
        syn::Expr::Tuple(x) => unsupported(
            cx,
            x,
            "tuples are not supported in a #[neuron] function\nhelp: use an array `[a, b]`",
        ),
        syn::Expr::Block(x) => unsupported(
            cx,
            x,
            "blocks are not supported in a #[neuron] function\nhelp: use `let` bindings in the function body",
        ),
        syn::Expr::Unsafe(x) => unsupported(
            cx,
            &x.unsafe_token,
            "`unsafe` is not supported in a #[neuron] function",
        ),
        syn::Expr::Macro(x) => unsupported(
            cx,
            &x.mac.path,
            "macros are not supported in a #[neuron] function",
        ),
        syn::Expr::Return(x) => unsupported(
            cx,
            &x.return_token,
            "`return` is not supported in a #[neuron] function\nhelp: end the body with the result expression",
        ),
        syn::Expr::Assign(x) => unsupported(
            cx,
            &x.eq_token,
            "assignment is not supported in a #[neuron] function\nhelp: bind each new value with `let`",
        ),
        syn::Expr::Repeat(x) => unsupported(
            cx,
            x,
            "array repetition is not supported in a #[neuron] function\nhelp: write the elements out, or take the array as an argument",
        ),
        syn::Expr::Range(x) => {
            unsupported(cx, x, "ranges are not supported in a #[neuron] function")
        }
        syn::Expr::Try(x) => unsupported(
            cx,
            &x.question_token,
            "`?` is not supported in a #[neuron] function",
        ),
        other => unsupported(
            cx,
            other,
            "this expression is not supported in a #[neuron] function",
        ),
    }
}

/// A binary operation whose operator was rejected: its operands stay, to be
/// checked for their own mistakes.
fn rejected(lhs: Expr, rhs: Expr) -> Expr {
    let sp = Sp {
        first: lhs.sp().first,
        last: rhs.sp().last,
    };
    Expr::Rejected {
        parts: vec![lhs, rhs],
        sp,
    }
}

/// Every constant of `core::f64::consts` (and of `core::f32::consts`,
/// which has the same names), with its `f64` value. An `f32` neuron's
/// literal is written with these digits and rounds to the `f32` constant
/// (a test checks each one).
const CONSTS: &[(&str, f64)] = {
    use std::f64::consts::*;
    &[
        ("E", E),
        ("EULER_GAMMA", EULER_GAMMA),
        ("FRAC_1_PI", FRAC_1_PI),
        ("FRAC_1_SQRT_2", FRAC_1_SQRT_2),
        ("FRAC_2_PI", FRAC_2_PI),
        ("FRAC_2_SQRT_PI", FRAC_2_SQRT_PI),
        ("FRAC_PI_2", FRAC_PI_2),
        ("FRAC_PI_3", FRAC_PI_3),
        ("FRAC_PI_4", FRAC_PI_4),
        ("FRAC_PI_6", FRAC_PI_6),
        ("FRAC_PI_8", FRAC_PI_8),
        ("GOLDEN_RATIO", GOLDEN_RATIO),
        ("LN_10", LN_10),
        ("LN_2", LN_2),
        ("LOG10_2", LOG10_2),
        ("LOG10_E", LOG10_E),
        ("LOG2_10", LOG2_10),
        ("LOG2_E", LOG2_E),
        ("PI", PI),
        ("SQRT_2", SQRT_2),
        ("TAU", TAU),
    ]
};

/// The float segment and the name of a path into the constants modules:
/// `std::f64::consts::PI`, `core::f32::consts::E`, `f64::consts::TAU`
/// (with or without a leading `::`).
fn consts_path(path: &syn::ExprPath) -> Option<(&syn::Ident, &syn::Ident)> {
    if path.qself.is_some() {
        return None;
    }
    let segments: Vec<&syn::PathSegment> = path.path.segments.iter().collect();
    if segments.iter().any(|s| !s.arguments.is_none()) {
        return None;
    }
    let idents: Vec<&syn::Ident> = segments.iter().map(|s| &s.ident).collect();
    match idents.as_slice() {
        [root, float, consts, name]
            if (*root == "std" || *root == "core") && *consts == "consts" =>
        {
            (*float == "f64" || *float == "f32").then_some((*float, *name))
        }
        [float, consts, name] if path.path.leading_colon.is_none() && *consts == "consts" => {
            (*float == "f64" || *float == "f32").then_some((*float, *name))
        }
        _ => None,
    }
}

/// A constant of `core::f64::consts` or `core::f32::consts` as a literal:
/// the module must be the neuron's float type (`f64` in a generic neuron,
/// whose literals are converted), and the name one of [`CONSTS`].
fn constant(
    cx: &mut Ctxt,
    real: &RealType,
    path: &syn::ExprPath,
    float: &syn::Ident,
    name: &syn::Ident,
) -> Expr {
    let sp = Sp::of(path);
    let written = path.to_token_stream().to_string().replace(' ', "");
    let module = written.rsplit_once("::").map_or("", |(m, _)| m).to_string();
    let expected = match real {
        RealType::F32 => "f32",
        RealType::F64 | RealType::Generic(_) => "f64",
    };
    if *float != expected {
        let corrected = written.replacen(&float.to_string(), expected, 1);
        let message = match real {
            RealType::Generic(t) => format!(
                "mixed float types: every real in this #[neuron] function is the type parameter `{t}`, but this constant is an `{float}`\nhelp: write `{corrected}`: an `f64` constant is converted to `{t}` as a literal is"
            ),
            _ => format!(
                "mixed float types: every real in this #[neuron] function is `{expected}`, the float type of its first argument, but this constant is an `{float}`\nhelp: write `{corrected}`"
            ),
        };
        cx.push(syn::Error::new(float.span(), message));
        return Expr::Poison(sp);
    }
    let text = name.to_string();
    match CONSTS.iter().find(|(n, _)| *n == text) {
        Some(&(_, value)) => Expr::Lit {
            value,
            int: None,
            suffix: None,
            sp,
        },
        None => {
            let names = CONSTS.iter().map(|(n, _)| *n);
            let help = match crate::check::nearest(&text, names.clone()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "the constants are {}",
                    names
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            cx.push(syn::Error::new(
                name.span(),
                format!("unknown constant `{text}` in `{module}`\nhelp: {help}"),
            ));
            Expr::Poison(sp)
        }
    }
}

fn literal_index(e: &syn::Expr) -> Option<usize> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) if int.suffix().is_empty() || int.suffix() == "usize" => int.base10_parse().ok(),
        syn::Expr::Paren(p) => literal_index(&p.expr),
        syn::Expr::Group(g) => literal_index(&g.expr),
        _ => None,
    }
}

fn literal(cx: &mut Ctxt, lit: &syn::Lit, sp: Sp) -> Expr {
    match lit {
        syn::Lit::Int(int) if int.suffix().is_empty() => match int.base10_parse::<i64>() {
            Ok(i) => Expr::Lit {
                value: i as f64,
                int: Some(i),
                suffix: None,
                sp,
            },
            Err(e) => {
                cx.push(e);
                Expr::Poison(sp)
            }
        },
        syn::Lit::Int(int) => {
            cx.push(syn::Error::new_spanned(
                int,
                format!(
                    "integer arithmetic is not supported in a #[neuron] function: `{}` has type `{}`\nhelp: write the literal without a suffix, such as `{}`; it is then a real",
                    int,
                    int.suffix(),
                    int.base10_digits()
                ),
            ));
            Expr::Poison(sp)
        }
        syn::Lit::Float(float) if matches!(float.suffix(), "" | "f32" | "f64") => {
            match float.base10_parse::<f64>() {
                Ok(v) if v.is_finite() => Expr::Lit {
                    value: v,
                    int: None,
                    suffix: match float.suffix() {
                        "f32" => Some("f32"),
                        "f64" => Some("f64"),
                        _ => None,
                    },
                    sp,
                },
                _ => {
                    cx.push(syn::Error::new_spanned(
                        float,
                        "this literal is not a finite real number",
                    ));
                    Expr::Poison(sp)
                }
            }
        }
        other => {
            cx.push(syn::Error::new_spanned(
                other,
                "only numeric literals are supported in a #[neuron] function",
            ));
            Expr::Poison(sp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    /// Every error one compile reports: parsing, then checking what parsed.
    fn errors(item: TokenStream) -> Vec<String> {
        match crate::expand::neuron(TokenStream::new(), item) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn reserved_argument_names_are_refused() {
        for item in [
            quote! { fn f(x: f64, dy: f64) -> f64 { x * dy } },
            quote! { fn f(neuron_grads: f64) -> f64 { neuron_grads } },
        ] {
            let errs = errors(item);
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert!(
                errs[0].contains("is reserved in a #[neuron] function"),
                "{errs:?}"
            );
        }
    }

    #[test]
    fn parses_the_running_example() {
        let f = function(quote! {
            pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
                relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
            }
        })
        .unwrap();
        assert_eq!(f.name, "unit");
        assert_eq!(f.args.len(), 3);
        assert_eq!(f.args[0].shape, crate::ast::fixed(&[3]));
        assert!(!f.args[0].param && f.args[1].param && f.args[2].param);
        assert!(f.args[2].shape.is_empty());
        assert!(matches!(f.result, Expr::Call { ref name, .. } if name == "relu"));
    }

    #[test]
    fn method_calls_become_calls_with_the_receiver_first() {
        let f = function(quote! { fn f(x: f64) -> f64 { x.powi(2) } }).unwrap();
        match f.result {
            Expr::Call {
                name, args, method, ..
            } => {
                assert_eq!(name, "powi");
                assert!(method);
                assert!(matches!(args[1], Expr::Lit { int: Some(2), .. }));
            }
            other => panic!("expected a call, got {other:?}"),
        }
    }

    #[test]
    fn reports_every_unsupported_construct_at_once() {
        let errs = errors(quote! {
            fn f(x: &f64, y: f64) -> f64 {
                let a = if y > 0.0 { y } else { 0.0 };
                let b = |t: f64| t;
                x[y] + a % 2.0
            }
        });
        assert_eq!(errs.len(), 5, "{errs:#?}");
        assert!(errs[0].starts_with("unsupported argument type `&f64`"));
        assert!(errs[1].starts_with("`if` is not supported"));
        assert!(errs[2].starts_with("closures are not supported"));
        assert!(errs[3].starts_with("an index in a #[neuron] function must be an integer literal"));
        assert!(errs[4].starts_with("unsupported operator"));
    }

    #[test]
    fn syntax_and_name_errors_are_reported_in_one_compile() {
        let errs = errors(quote! {
            fn f(x: [f64; 3], weight: f64) -> f64 {
                let y = if x[0] > 0.0 { x[0] } else { 0.0 };
                y.relux() + x[3] + wieght
            }
        });
        assert_eq!(errs.len(), 4, "{errs:#?}");
        assert!(errs[0].starts_with("`if` is not supported"));
        assert!(errs[1].contains("unknown method `relux`"));
        assert!(errs[2].starts_with("index 3 is out of bounds"));
        assert!(errs[3].contains("cannot find `wieght`") && errs[3].contains("`weight`"));
    }

    #[test]
    fn what_failed_to_parse_causes_no_follow_on_errors() {
        // Each name below failed to parse in some way; its uses stay silent,
        // and so does the result, whose shape is unknown.
        let errs = errors(quote! {
            fn f(x: &f64, y: f64) -> [f64; 2] {
                let (a, b) = (y, y);
                let c: Vec<f64> = y;
                let d = if y > 0.0 { y } else { 0.0 };
                let e = y.powi(2i32);
                relu(x) * a + b + c + d + e
            }
        });
        assert_eq!(errs.len(), 5, "{errs:#?}");
        assert!(errs[0].starts_with("unsupported argument type `&f64`"));
        assert!(errs[1].starts_with("a `let` in a #[neuron] function binds a single name"));
        assert!(errs[2].starts_with("unsupported binding type `Vec<f64>`"));
        assert!(errs[3].starts_with("`if` is not supported"));
        assert!(errs[4].starts_with("integer arithmetic is not supported"));
    }

    #[test]
    fn a_rejected_closure_is_not_also_an_unknown_function() {
        let errs = errors(quote! {
            fn f(x: f64) -> f64 {
                let double = |t: f64| 2.0 * t;
                double(x)
            }
        });
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0].starts_with("closures are not supported"));
    }

    #[test]
    fn mixed_float_types_name_the_function_float_type() {
        let errs = errors(quote! { fn f(x: [f32; 3], w: [f64; 3]) -> f32 { dot(w, x) } });
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(
            errs[0]
                .starts_with("mixed float types: every real in this #[neuron] function is `f32`"),
            "{errs:?}"
        );
        let errs = errors(quote! { fn f<T: Real>(x: [T; 3], w: f64) -> T { sum(x) * w } });
        assert!(
            errs[0].contains("is the type parameter `T`, but this argument type uses `f64`"),
            "{errs:?}"
        );
    }

    #[test]
    fn constants_become_literals_of_their_value() {
        let value = |item: TokenStream| match function(item).map(|f| f.result) {
            Ok(Expr::Lit {
                value, int: None, ..
            }) => value,
            other => panic!("{other:?}"),
        };
        use std::f64::consts::{E, PI, TAU};
        assert_eq!(
            value(quote! { fn f(x: f64) -> f64 { std::f64::consts::PI } }),
            PI
        );
        assert_eq!(
            value(quote! { fn f(x: f64) -> f64 { ::core::f64::consts::E } }),
            E
        );
        assert_eq!(
            value(quote! { fn f(x: f64) -> f64 { f64::consts::TAU } }),
            TAU
        );
        assert_eq!(
            value(quote! { fn f(x: f32) -> f32 { core::f32::consts::PI } }),
            PI
        );
        assert_eq!(
            value(quote! { fn f<T: Real>(x: T) -> T { std::f64::consts::PI } }),
            PI
        );
    }

    #[test]
    fn every_constant_rounds_to_its_f32_twin() {
        // An f32 neuron writes the f64 digits; rustc rounds them to f32.
        let f32_consts = {
            use std::f32::consts::*;
            [
                E,
                EULER_GAMMA,
                FRAC_1_PI,
                FRAC_1_SQRT_2,
                FRAC_2_PI,
                FRAC_2_SQRT_PI,
                FRAC_PI_2,
                FRAC_PI_3,
                FRAC_PI_4,
                FRAC_PI_6,
                FRAC_PI_8,
                GOLDEN_RATIO,
                LN_10,
                LN_2,
                LOG10_2,
                LOG10_E,
                LOG2_10,
                LOG2_E,
                PI,
                SQRT_2,
                TAU,
            ]
        };
        assert_eq!(CONSTS.len(), f32_consts.len());
        for (&(name, value), single) in CONSTS.iter().zip(f32_consts) {
            let digits: f32 = format!("{value}").parse().unwrap();
            assert_eq!(digits, single, "{name}");
        }
    }

    #[test]
    fn constants_of_the_other_float_type_or_unknown_are_errors() {
        let errs = errors(quote! { fn f(x: f64) -> f64 { x * std::f32::consts::PI } });
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with(
                "mixed float types: every real in this #[neuron] function is `f64`, the float type of its first argument, but this constant is an `f32`"
            ) && errs[0].contains("help: write `std::f64::consts::PI`"),
            "{errs:?}"
        );
        let errs = errors(quote! { fn f(x: f32) -> f32 { x * f64::consts::E } });
        assert!(errs[0].contains("help: write `f32::consts::E`"), "{errs:?}");
        let errs = errors(quote! { fn f<T: Real>(x: T) -> T { x * core::f32::consts::E } });
        assert!(
            errs[0].contains("is the type parameter `T`, but this constant is an `f32`")
                && errs[0].contains("help: write `core::f64::consts::E`"),
            "{errs:?}"
        );
        let errs = errors(quote! { fn f(x: f64) -> f64 { x * std::f64::consts::PIE } });
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(
            errs[0],
            "unknown constant `PIE` in `std::f64::consts`\nhelp: did you mean `PI`?"
        );
        let errs = errors(quote! { fn f(x: f64) -> f64 { x * f64::consts::ZETA_OF_THREE } });
        assert!(
            errs[0].contains("help: the constants are `E`, `EULER_GAMMA`"),
            "{errs:?}"
        );
        // Other paths are no constants.
        let errs =
            errors(quote! { fn f(x: f64) -> f64 { x * f64::EPSILON + std::f16::consts::PI } });
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(
            errs.iter()
                .all(|e| e.starts_with("paths are not supported")),
            "{errs:?}"
        );
    }

    #[test]
    fn missing_return_type_is_an_error() {
        let errs = errors(quote! { fn f(x: f64) { x } });
        assert_eq!(errs.len(), 1);
        assert!(errs[0].contains("must return a real number"));
    }

    #[test]
    fn generic_functions_need_the_real_bound() {
        assert!(function(quote! { fn f<T: Real>(x: T) -> T { x } }).is_ok());
        let errs = errors(quote! { fn f<T: Copy>(x: T) -> T { x } });
        assert!(errs[0].contains("bounded by `Real`"), "{errs:?}");
    }

    #[test]
    fn options_accept_gradcheck_only() {
        assert!(options(quote!(gradcheck)).unwrap().gradcheck);
        assert!(!options(quote!()).unwrap().gradcheck);
        assert!(options(quote!(fast)).is_err());
    }

    #[test]
    fn gradcheck_takes_points_range_and_tolerance() {
        use crate::ast::GradcheckOptions;
        let parsed = |tokens| options(tokens).map(|o| (o.gradcheck, o.gradcheck_options));
        assert_eq!(
            parsed(quote!(gradcheck(
                points = 100,
                range = 3.0,
                tolerance = 1e-5
            )))
            .unwrap(),
            (
                true,
                GradcheckOptions {
                    points: Some(100),
                    range: Some((-3.0, 3.0)),
                    tolerance: Some(1e-5),
                }
            )
        );
        assert_eq!(
            parsed(quote!(gradcheck(range = -1..=2))).unwrap().1.range,
            Some((-1.0, 2.0))
        );
        assert_eq!(
            parsed(quote!(gradcheck(range = 0.1..3.0))).unwrap().1.range,
            Some((0.1, 3.0))
        );
        let message = |tokens| options(tokens).unwrap_err().to_string();
        assert!(message(quote!(gradcheck(points = 0))).contains("at least 1"));
        assert!(message(quote!(gradcheck(points = 2.5))).contains("whole number"));
        assert!(message(quote!(gradcheck(tolerance = 0))).contains("number > 0"));
        assert!(message(quote!(gradcheck(tolerance = x))).contains("number > 0"));
        assert!(message(quote!(gradcheck(range = -3.0))).contains("lo < hi"));
        assert!(message(quote!(gradcheck(range = 2..=1))).contains("lo < hi"));
        assert!(message(quote!(gradcheck(range = ..1))).contains("lo < hi"));
        assert!(message(quote!(gradcheck(points = 1, points = 2))).contains("given twice"));
        assert!(message(quote!(gradcheck, gradcheck)).contains("given twice"));
        assert!(message(quote!(gradcheck(seed = 1))).starts_with("unknown gradcheck option"));
    }
}
