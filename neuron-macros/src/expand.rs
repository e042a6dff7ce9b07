//! The pipeline end to end, and the items it generates around the emitted
//! bodies: the forward function and `mod <name>` with `Grad`, `gradient`,
//! `backward`, `Params`, `Model` and `SOURCE`.
//!
//! ```text
//! pub fn unit(x: [f64; 3], w: [f64; 3], b: f64) -> f64 { ... }   // forward
//! pub mod unit {
//!     pub struct Grad { pub x: [f64; 3], pub w: [f64; 3], pub b: f64 }
//!     pub fn gradient(x, w, b) -> (f64, Grad) { ... }              // dy = 1
//!     pub fn backward(x, w, b, dy: f64) -> (f64, Grad) { ... }     // any dy
//!     pub struct Params { pub w: [f64; 3], pub b: f64 }
//!     pub struct Model { pub params: Params }                      // + trait impls
//!     pub const SOURCE: &str = "...";
//! }
//! ```

use crate::ast::{Function, Options, RealType};
use crate::ctxt::Ctxt;
use crate::emit::{self, Body};
use crate::ir::{Graph, NodeId, Op};
use crate::{check, diff, lower, parse, simplify};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

/// The macro's output for any input: the generated items, or every error
/// found together with stubs of the items, so that one mistake does not
/// cascade into errors at every use of the function.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    match neuron(attr, item.clone()) {
        Ok(tokens) => tokens,
        Err(error) => {
            let mut tokens = error.into_compile_error();
            tokens.extend(stub(item));
            tokens
        }
    }
}

/// The items with their signatures and unreachable bodies, when at least
/// the signature is sound: uses of `f`, `f::gradient` or `f::Model` then
/// compile, and the only errors shown are the macro's own.
fn stub(item: TokenStream) -> TokenStream {
    let Ok(mut f) = syn::parse2::<syn::ItemFn>(item) else {
        return TokenStream::new();
    };
    // Parse the signature alone: the body is what had the error.
    *f.block = syn::parse_quote!({ 0 });
    let Ok(function) = parse::function(quote!(#f)) else {
        return TokenStream::new();
    };
    items(&function, &Options::default(), None)
}

/// Runs the whole pipeline on the attribute's arguments and the item.
pub fn neuron(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = parse::options(attr)?;
    let (f, parse_errors) = parse::partial(item)?;
    // Check what did parse even after a syntax error: its unknown names and
    // shape mismatches belong in the same compile.
    let mut cx = Ctxt::default();
    if let Some(errors) = parse_errors {
        cx.push(errors);
    }
    if let Err(errors) = check::check(&f) {
        cx.push(errors);
    }
    cx.finish(())?;
    let (g, output) = lower::lower(&f)?;
    let derived = derive(&f, &g, output)?;
    Ok(items(&f, &options, Some(&derived)))
}

/// The emitted bodies.
struct Derived {
    forward: Body,
    gradient: Option<Body>,
    backward: Body,
    /// The body of `Model::forward_backward`: one forward pass, `dy` from
    /// the loss, then the parameters' adjoints only.
    train: Body,
}

/// The parameter names of `Model::forward_backward`, chosen so that no
/// argument or generated binding shadows them.
const TRAIN_INPUT: &str = "neuron_input";
const TRAIN_LOSS_GRAD: &str = "neuron_loss_grad";
const TRAIN_GRADS: &str = "neuron_grads";

fn derive(f: &Function, g: &Graph, output: NodeId) -> syn::Result<Derived> {
    let arg_names: Vec<Ident> = f.args.iter().map(|a| a.name.clone()).collect();
    let internal = |message: String| {
        syn::Error::new(
            f.name.span(),
            format!("internal error in #[neuron]: {message}"),
        )
    };

    let (fg, roots) = simplify::simplify(g, &[output]);
    let forward = emit::body(&fg, &roots, &arg_names, &f.real);

    // backward: the upstream derivative is an extra argument, `dy`.
    let mut bg = g.clone();
    let dy = bg.add(Op::Arg(f.args.len()), f.ret_shape.clone());
    let adjoints = diff::differentiate(&mut bg, output, dy).map_err(internal)?;
    let mut roots = vec![output];
    roots.extend(&adjoints);
    let (sg, roots) = simplify::simplify(&bg, &roots);
    let mut names = arg_names.clone();
    names.push(Ident::new("dy", Span::call_site()));
    let backward = emit::body(&sg, &roots, &names, &f.real);

    // gradient: the same with dy = 1, so that the simplifier removes every
    // multiplication by it.
    let gradient = if f.ret_shape.is_empty() {
        let mut gg = g.clone();
        let one = gg.konst(1.0);
        let adjoints = diff::differentiate(&mut gg, output, one).map_err(internal)?;
        let mut roots = vec![output];
        roots.extend(adjoints);
        let (sg, roots) = simplify::simplify(&gg, &roots);
        Some(emit::body(&sg, &roots, &arg_names, &f.real))
    } else {
        None
    };
    // Training: the same graph as `backward`, but the inputs' adjoints are
    // not needed, so they are not roots and pruning removes their work.
    let mut roots = vec![output];
    roots.extend(
        f.args
            .iter()
            .zip(adjoints)
            .filter(|(a, _)| a.param)
            .map(|(_, d)| d),
    );
    let (tg, roots) = simplify::simplify(&bg, &roots);
    let options = emit::Options {
        args_by_ref: true,
        dy_from: Some(Ident::new(TRAIN_LOSS_GRAD, Span::call_site())),
        reserved: [TRAIN_INPUT, TRAIN_LOSS_GRAD, TRAIN_GRADS]
            .map(String::from)
            .to_vec(),
        accumulate: true,
    };
    let train = emit::body_with(&tg, &roots, &names, &f.real, &options);

    Ok(Derived {
        forward,
        gradient,
        backward,
        train,
    })
}

/// Everything the signature determines, as tokens.
struct Sig {
    real: TokenStream,
    /// `<T: ::neuron_core::Real>` or nothing.
    generics: TokenStream,
    /// `<T>` or nothing.
    ty_args: TokenStream,
    args: Vec<Ident>,
    tys: Vec<syn::Type>,
    ret: syn::Type,
}

fn signature(f: &Function) -> Sig {
    let (real, generics, ty_args) = match &f.real {
        RealType::F32 => (quote!(f32), quote!(), quote!()),
        RealType::F64 => (quote!(f64), quote!(), quote!()),
        RealType::Generic(t) => (quote!(#t), quote!(<#t: ::neuron_core::Real>), quote!(<#t>)),
    };
    Sig {
        real,
        generics,
        ty_args,
        args: f.args.iter().map(|a| a.name.clone()).collect(),
        tys: f.args.iter().map(|a| a.ty.clone()).collect(),
        ret: f.ret.clone(),
    }
}

/// `use ::neuron_core::Real as _;` when the body calls one of its methods
/// on a concrete float type (a generic `T: Real` has them through its bound).
fn real_import(body: &Body, real: &RealType) -> TokenStream {
    if body.uses_real_trait && !matches!(real, RealType::Generic(_)) {
        quote!(
            use ::neuron_core::Real as _;
        )
    } else {
        quote!()
    }
}

fn function_body(body: &Body, root: TokenStream, real: &RealType) -> TokenStream {
    let stmts = &body.stmts;
    let import = real_import(body, real);
    quote!({ #import #stmts #root })
}

/// Where a generated `Model` method finds each argument: `self.params.w`
/// for a parameter, `(*input)` for the one input, `input.k` for the `k`-th
/// of several.
fn arg_places(f: &Function, input: &Ident) -> Vec<TokenStream> {
    let inputs = f.args.iter().filter(|a| !a.param).count();
    let mut k = 0;
    f.args
        .iter()
        .map(|a| {
            let n = &a.name;
            if a.param {
                quote!(self.params.#n)
            } else if inputs == 1 {
                quote!((*#input))
            } else {
                let i = Literal::usize_unsuffixed(k);
                k += 1;
                quote!(#input.#i)
            }
        })
        .collect()
}

/// The hidden field that keeps a generic `Params<T>` without parameters
/// well-formed, and its initializer; nothing otherwise.
fn phantom(f: &Function, real: &TokenStream) -> (TokenStream, TokenStream) {
    if f.args.iter().all(|a| !a.param) && matches!(f.real, RealType::Generic(_)) {
        (
            quote!(#[doc(hidden)] pub _real: ::core::marker::PhantomData<#real>,),
            quote!(_real: ::core::marker::PhantomData,),
        )
    } else {
        (quote!(), quote!())
    }
}

/// The generated items; with `d` absent, stubs whose bodies are
/// unreachable, emitted next to an error.
fn items(f: &Function, options: &Options, d: Option<&Derived>) -> TokenStream {
    let s = signature(f);
    let Sig {
        generics,
        ty_args,
        args,
        tys,
        ret,
        ..
    } = &s;
    let name = &f.name;
    let vis = &f.vis;
    let attrs = &f.attrs;
    let user_generics = &f.generics;

    // A stub's bodies never run: the compile error stops the build.
    let unreachable =
        quote!({ ::core::unreachable!("#[neuron] reported a compile error for this function") });

    // The forward function, as written but with its body generated.
    let forward_body = match d {
        Some(d) => function_body(&d.forward, d.forward.roots[0].clone(), &f.real),
        None => unreachable.clone(),
    };
    let forward = quote! {
        #vis fn #name #user_generics (#(#args: #tys),*) -> #ret #forward_body
    };

    // Grad: one field per argument.
    let grad_fields: Vec<TokenStream> = args
        .iter()
        .zip(tys)
        .map(|(a, t)| {
            let doc = format!(
                "∂{name}/∂{a}: the derivative of the output with respect to `{a}`, shaped like it."
            );
            quote!(#[doc = #doc] pub #a: #t)
        })
        .collect();
    // `(y, Grad { .. })` at the end of a body whose roots are the output
    // and then each argument's adjoint.
    let value_and_grad = |body: &Body| {
        let y = &body.roots[0];
        let parts = &body.roots[1..];
        function_body(body, quote!((#y, Grad { #(#args: #parts),* })), &f.real)
    };

    let gradient_body = match d {
        Some(d) => d.gradient.as_ref().map(value_and_grad),
        None if f.ret_shape.is_empty() => Some(unreachable.clone()),
        None => None,
    };
    let gradient = gradient_body.map(|fn_body| {
        quote! {
            pub fn gradient #generics (#(#args: #tys),*) -> (#ret, Grad #ty_args) #fn_body
        }
    });
    let backward_body = match d {
        Some(d) => value_and_grad(&d.backward),
        None => unreachable,
    };
    let backward = quote! {
        pub fn backward #generics (#(#args: #tys,)* dy: #ret) -> (#ret, Grad #ty_args) #backward_body
    };

    // The formulas document `gradient` both in rustdoc and in `SOURCE`,
    // one `///` line each.
    let gradient = gradient.map(|g| {
        let lines = formulas(f, &g);
        let lines = lines.lines().map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!(" {l}")
            }
        });
        quote!(#(#[doc = #lines])* #g)
    });
    let source = source_text(&forward, gradient.as_ref(), &backward);
    let gradient = gradient.map(|g| {
        let summary = format!(
            " The value of [`{name}`](fn@super::{name}) and its derivative with respect to every argument."
        );
        quote! {
            #[doc = #summary]
            #[doc = ""]
            #[must_use]
            #g
        }
    });
    let backward_doc = format!(
        "The value of [`{name}`](fn@super::{name}) and the vector-Jacobian product: `dy` is the derivative of \
         what follows with respect to the output, and each field of the returned [`Grad`] is `dy` carried back \
         to that argument by the chain rule."
    );

    let params = params(f, &s);
    let model = model(f, &s, d.map(|d| &d.train));
    // `gradient` exists for scalar outputs only; a link to it otherwise
    // would be a broken intra-doc link in the user's documentation.
    let gradient_link = if f.ret_shape.is_empty() {
        "[`gradient`](fn@self::gradient), "
    } else {
        ""
    };
    let mod_doc = format!(
        "The gradient of [`{name}`](fn@{name}), generated by `#[neuron]`: {gradient_link}\
         [`backward`], [`Grad`], [`Params`], [`Model`] and the generated [`SOURCE`]."
    );
    let gradcheck = options.gradcheck.then(|| {
        let test = format_ident!("{}_gradcheck", name);
        // A generic neuron is checked in f64; f32 gets a looser tolerance,
        // as its finite differences carry about 1e-3 of rounding.
        let (ty, tolerance) = match &f.real {
            RealType::Generic(_) => (quote!(#name::Model<f64>), 1e-6),
            RealType::F64 => (quote!(#name::Model), 1e-6),
            RealType::F32 => (quote!(#name::Model), 1e-2),
        };
        quote! {
            #[cfg(test)]
            #[test]
            fn #test() {
                if let ::core::result::Result::Err(error) = ::neuron_core::gradcheck::gradcheck_random::<#ty>(64, 0x5eed, #tolerance) {
                    ::core::panic!("gradcheck of `{}`: {}", ::core::stringify!(#name), error);
                }
            }
        }
    });

    quote! {
        #(#attrs)*
        // An argument the result does not depend on (`a` in `[a, b][1]`)
        // is unused after simplification; that is not the user's mistake.
        #[allow(clippy::all, clippy::pedantic, unused_variables)]
        #forward

        #[doc = #mod_doc]
        #[allow(clippy::all, clippy::pedantic, unused_variables)]
        #vis mod #name {
            #[allow(unused_imports)]
            use super::*;

            /// The derivative of the output with respect to each argument,
            /// one field per argument, with the same name and type.
            #[derive(Clone, Copy, Debug, PartialEq)]
            pub struct Grad #generics { #(#grad_fields,)* }

            impl #generics Grad #ty_args {
                /// The fields in argument order, as a tuple.
                pub fn into_parts(self) -> (#(#tys,)*) {
                    (#(self.#args,)*)
                }
            }

            #gradient

            #[doc = #backward_doc]
            #[must_use]
            #backward

            #params
            #model

            /// The generated forward, gradient and backward functions, pretty-printed.
            pub const SOURCE: &str = #source;
        }

        #gradcheck
    }
}

/// `Params` and its `Parameters` impl.
fn params(f: &Function, s: &Sig) -> TokenStream {
    let Sig {
        real,
        generics,
        ty_args,
        ..
    } = s;
    let params: Vec<_> = f.args.iter().filter(|a| a.param).collect();
    let names: Vec<&Ident> = params.iter().map(|a| &a.name).collect();
    let tys: Vec<&syn::Type> = params.iter().map(|a| &a.ty).collect();
    let strings: Vec<String> = names.iter().map(ToString::to_string).collect();
    let shapes: Vec<TokenStream> = params
        .iter()
        .map(|a| {
            let dims = a.shape.iter().map(|d| Literal::usize_unsuffixed(*d));
            quote!(&[#(#dims),*])
        })
        .collect();
    let lens: Vec<Literal> = params
        .iter()
        .map(|a| Literal::usize_unsuffixed(a.shape.iter().product::<usize>()))
        .collect();
    let (marker, marker_init) = phantom(f, real);
    let flat = quote!(::neuron_core::Tensor::<#real>);
    let docs: Vec<String> = strings
        .iter()
        .map(|n| format!("The trainable parameter `{n}`."))
        .collect();
    quote! {
        /// The trainable (`#[param]`) arguments.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct Params #generics { #(#[doc = #docs] pub #names: #tys,)* #marker }

        impl #generics ::core::default::Default for Params #ty_args {
            fn default() -> Self {
                <Self as ::neuron_core::Parameters<#real>>::zeros()
            }
        }

        impl #generics ::neuron_core::Parameters<#real> for Params #ty_args {
            const FIELDS: &'static [::neuron_core::Field] = &[
                #(::neuron_core::Field { name: #strings, shape: #shapes },)*
            ];
            const LEN: usize = 0 #(+ #lens)*;

            fn zeros() -> Self {
                Params { #(#names: #flat::zeros(),)* #marker_init }
            }

            fn for_each(&self, mut f: impl FnMut(usize, #real)) {
                let mut k = 0;
                #(
                    for &v in #flat::as_slice(&self.#names) {
                        f(k, v);
                        k += 1;
                    }
                )*
                let _ = (k, &mut f);
            }

            fn for_each_mut(&mut self, mut f: impl FnMut(usize, &mut #real)) {
                let mut k = 0;
                #(
                    for v in #flat::as_mut_slice(&mut self.#names) {
                        f(k, v);
                        k += 1;
                    }
                )*
                let _ = (k, &mut f);
            }

            fn zip_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut #real, #real)) {
                let mut k = 0;
                #(
                    for (v, &o) in #flat::as_mut_slice(&mut self.#names).iter_mut().zip(#flat::as_slice(&other.#names)) {
                        f(k, v, o);
                        k += 1;
                    }
                )*
                let _ = (k, &mut f, other);
            }
        }
    }
}

/// `Model` and its `Model` and `Differentiable` impls.
fn model(f: &Function, s: &Sig, train: Option<&Body>) -> TokenStream {
    let Sig {
        real,
        generics,
        ty_args,
        args,
        tys,
        ret,
    } = s;
    let name = &f.name;
    let inputs: Vec<_> = f.args.iter().filter(|a| !a.param).collect();
    let input_ty = match inputs.as_slice() {
        [] => quote!(()),
        [one] => {
            let t = &one.ty;
            quote!(#t)
        }
        many => {
            let t = many.iter().map(|a| &a.ty);
            quote!((#(#t,)*))
        }
    };
    // Each argument, read from `input` or `self.params`.
    let call_args = arg_places(f, &Ident::new("input", Span::call_site()));
    let param_names: Vec<&Ident> = f.args.iter().filter(|a| a.param).map(|a| &a.name).collect();
    let (_, marker_init) = phantom(f, real);
    let field_names: Vec<String> = args.iter().map(ToString::to_string).collect();
    let field_shapes: Vec<TokenStream> = f
        .args
        .iter()
        .map(|a| {
            let dims = a.shape.iter().map(|d| Literal::usize_unsuffixed(*d));
            quote!(&[#(#dims),*])
        })
        .collect();
    let total = Literal::usize_unsuffixed(
        f.args
            .iter()
            .map(|a| a.shape.iter().product::<usize>())
            .sum(),
    );
    let out_len = Literal::usize_unsuffixed(f.ret_shape.iter().product());
    let flat = quote!(::neuron_core::model);
    let forward_backward = train.map(|body| forward_backward(f, s, body));
    quote! {
        /// A trainable model: the parameters of [`Params`], with the
        /// function's other arguments as its input.
        #[derive(Clone, Debug, PartialEq, Default)]
        pub struct Model #generics {
            /// The current parameters.
            pub params: Params #ty_args,
        }

        impl #generics Model #ty_args {
            /// A model with the given parameters.
            pub fn new(params: Params #ty_args) -> Self {
                Model { params }
            }
        }

        impl #generics ::core::convert::From<Params #ty_args> for Model #ty_args {
            fn from(params: Params #ty_args) -> Self {
                Model { params }
            }
        }

        impl #generics ::neuron_core::Model for Model #ty_args {
            type Real = #real;
            type Input = #input_ty;
            type Output = #ret;
            type Params = Params #ty_args;

            fn params(&self) -> &Self::Params {
                &self.params
            }

            fn params_mut(&mut self) -> &mut Self::Params {
                &mut self.params
            }

            fn forward(&self, input: &Self::Input) -> #ret {
                super::#name(#(#call_args),*)
            }

            fn backward(&self, input: &Self::Input, dy: &#ret, grads: &mut Self::Params) -> #ret {
                let (y, g) = backward(#(#call_args,)* *dy);
                let g = Params { #(#param_names: g.#param_names,)* #marker_init };
                ::neuron_core::Parameters::zip_mut(grads, &g, |_, acc, d| *acc += d);
                y
            }

            #forward_backward
        }

        impl #generics ::neuron_core::Differentiable for Model #ty_args {
            type Real = #real;
            const ARGS: &'static [::neuron_core::Field] = &[
                #(::neuron_core::Field { name: #field_names, shape: #field_shapes },)*
            ];
            const OUTPUT_LEN: usize = #out_len;

            fn eval_flat(flat_args: &[#real], out: &mut [#real]) -> ::core::option::Option<()> {
                if flat_args.len() != #total || out.len() != #out_len {
                    return ::core::option::Option::None;
                }
                let mut offset = 0;
                #(let #args: #tys = #flat::read_flat(flat_args, &mut offset)?;)*
                let y: #ret = super::#name(#(#args),*);
                #flat::write_flat(&y, out, &mut 0)
            }

            fn backward_flat(flat_args: &[#real], dy: &[#real], grad: &mut [#real]) -> ::core::option::Option<()> {
                if flat_args.len() != #total || dy.len() != #out_len || grad.len() != #total {
                    return ::core::option::Option::None;
                }
                let mut offset = 0;
                #(let #args: #tys = #flat::read_flat(flat_args, &mut offset)?;)*
                let dy: #ret = #flat::read_flat(dy, &mut 0)?;
                let (_, g) = backward(#(#args,)* dy);
                let mut offset = 0;
                #(#flat::write_flat(&g.#args, grad, &mut offset)?;)*
                ::core::option::Option::Some(())
            }
        }
    }
}

/// `Model::forward_backward`: the training step's body, reading the
/// arguments in place (`let w = &self.params.w;`) and adding each
/// parameter's adjoint into the accumulator.
///
/// ```text
/// fn forward_backward<F>(&self, neuron_input, neuron_loss_grad: F, neuron_grads) -> f64 {
///     let x = neuron_input;
///     let w = &self.params.w;
///     let b = self.params.b;
///     let sum = ...;
///     let y = sum.max(0.0);
///     let dy: f64 = neuron_loss_grad(&y);
///     ...
///     for (g, d) in Tensor::as_mut_slice(&mut neuron_grads.w).iter_mut().zip(Tensor::as_slice(&d_w)) { *g += *d; }
///     neuron_grads.b += d_sum;
///     y
/// }
/// ```
fn forward_backward(f: &Function, s: &Sig, body: &Body) -> TokenStream {
    let Sig { real, ret, .. } = s;
    let input = Ident::new(TRAIN_INPUT, Span::call_site());
    let loss_grad = Ident::new(TRAIN_LOSS_GRAD, Span::call_site());
    let grads = Ident::new(TRAIN_GRADS, Span::call_site());
    let bindings: Vec<TokenStream> = f
        .args
        .iter()
        .zip(arg_places(f, &input))
        .map(|(a, place)| {
            let n = &a.name;
            if a.shape.is_empty() {
                quote!(let #n = #place;)
            } else {
                quote!(let #n = &#place;)
            }
        })
        .collect();
    let flat = quote!(::neuron_core::Tensor::<#real>);
    let params = f.args.iter().filter(|a| a.param);
    let [i, j] = &body.loop_vars;
    let accumulate: Vec<TokenStream> = params
        .zip(body.roots[1..].iter().zip(&body.root_elems[1..]))
        .map(|(a, (d, elem))| {
            let n = &a.name;
            if a.shape.is_empty() {
                quote!(#grads.#n += #d;)
            } else if let Some(elem) = elem {
                // The adjoint's elements are added where they are computed.
                let m = Literal::usize_unsuffixed(a.shape[0]);
                match a.shape.get(1) {
                    None => quote! {
                        for #i in 0..#m {
                            #grads.#n[#i] += #elem;
                        }
                    },
                    Some(cols) => {
                        let cols = Literal::usize_unsuffixed(*cols);
                        quote! {
                            for #i in 0..#m {
                                for #j in 0..#cols {
                                    #grads.#n[#i][#j] += #elem;
                                }
                            }
                        }
                    }
                }
            } else {
                quote! {
                    for (g, d) in #flat::as_mut_slice(&mut #grads.#n).iter_mut().zip(#flat::as_slice(&#d)) {
                        *g += *d;
                    }
                }
            }
        })
        .collect();
    let stmts = &body.stmts;
    let y = &body.roots[0];
    let import = real_import(body, &f.real);
    quote! {
        fn forward_backward<F: ::core::ops::FnOnce(&#ret) -> #ret>(
            &self,
            #input: &Self::Input,
            #loss_grad: F,
            #grads: &mut Self::Params,
        ) -> #ret {
            #import
            #(#bindings)*
            #stmts
            #(#accumulate)*
            #y
        }
    }
}

/// The pretty-printed generated functions.
fn source_text(
    forward: &TokenStream,
    gradient: Option<&TokenStream>,
    backward: &TokenStream,
) -> String {
    let file = quote!(#forward #gradient #backward);
    match syn::parse2::<syn::File>(file.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => file.to_string(),
    }
}

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
fn formulas(f: &Function, gradient: &TokenStream) -> String {
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

fn pretty_expr(expr: &syn::Expr) -> String {
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

    #[test]
    fn expands_the_running_example() {
        let out = neuron(
            TokenStream::new(),
            quote! {
                pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
                    relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
                }
            },
        )
        .unwrap();
        let file: syn::File = syn::parse2(out).unwrap();
        let text = prettyplease::unparse(&file);
        assert!(
            text.contains("pub fn unit(x: [f64; 3], w: [f64; 3], b: f64) -> f64"),
            "{text}"
        );
        assert!(text.contains("pub mod unit"));
        assert!(text.contains("pub fn gradient("));
        assert!(text.contains("pub fn backward("));
        assert!(
            text.contains("∂unit/∂x = [d_sum * w[0], d_sum * w[1], d_sum * w[2]]"),
            "{text}"
        );
        assert!(text.contains("∂unit/∂b = d_sum"), "{text}");
        assert!(
            text.contains("d_sum = if sum > 0.0 { 1.0 } else { 0.0 }"),
            "{text}"
        );
    }

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
        let d = derive(&f, &g, out).unwrap();
        let body = d.gradient.as_ref().unwrap();
        let (y, parts, args) = (&body.roots[0], &body.roots[1..], signature(&f).args);
        let fn_body = function_body(body, quote!((#y, Grad { #(#args: #parts),* })), &f.real);
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
