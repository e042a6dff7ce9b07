//! `#[neuron::derivative(..)]` and `#[neuron::surrogate(..)]`: a plain Rust
//! function of reals, with its derivative declared, becomes callable from
//! `#[neuron]` functions.
//!
//! The attribute names one derivative function per argument, in order,
//! each taking the function's arguments. It leaves the function as it is
//! (appending a line to its documentation) and adds a hidden module of the
//! same name, whose items rustc checks like any code (the derivatives'
//! arity and float type), and which the code `#[neuron]` generates reads
//! (see `neuron_core::custom` and `declared`):
//!
//! ```text
//! #[neuron::surrogate(fast_sigmoid)]
//! pub fn heaviside(x: f64) -> f64 { .. }                // as written
//! pub mod heaviside {
//!     use super::*;
//!     pub enum Marker {}
//!     impl Declared for Marker { const DECLARATION = Declaration { function: "heaviside", derivatives: &["fast_sigmoid"], surrogate: true } }
//!     impl Partials<f64, (f64,)> for Marker { fn partial(k, (x,)) -> f64 { match k { _ => super::fast_sigmoid(x) } } }
//!     pub const DECLARATIONS: Declarations = ..;      // these, as the module of a #[neuron] function has them
//!     pub struct Grad { pub x: f64 }                  // and its `backward`, for calls whose result type is written
//!     pub fn backward(x: f64, dy: f64) -> (f64, Grad) { (super::heaviside(x), Grad { x: safe_mul(dy, super::fast_sigmoid(x)) }) }
//! }
//! ```

use crate::ctxt::Ctxt;
use crate::declared::RESERVED;
use crate::ops::{self, MAX_CUSTOM_ARITY};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;

/// Which attribute: the derivative itself, or a surrogate for it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Derivative,
    Surrogate,
}

impl Kind {
    fn attribute(self) -> &'static str {
        match self {
            Kind::Derivative => "#[neuron::derivative]",
            Kind::Surrogate => "#[neuron::surrogate]",
        }
    }
}

/// The attribute's output: the function and its module, or the errors
/// next to the function as it was written, so that its other uses compile.
pub fn expand(attr: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    match derivative(attr, item.clone(), kind) {
        Ok(tokens) => tokens,
        Err(error) => {
            let mut tokens = error.into_compile_error();
            tokens.extend(item);
            tokens
        }
    }
}

fn derivative(attr: TokenStream, item: TokenStream, kind: Kind) -> syn::Result<TokenStream> {
    let what = kind.attribute();
    let mut f: syn::ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("{what} applies to a function of reals: {e}"),
        )
    })?;
    let paths = syn::parse::Parser::parse2(
        Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        attr.clone(),
    )?;
    let mut cx = Ctxt::default();
    let sig = &f.sig;
    let name = sig.ident.unraw().to_string();

    if sig.asyncness.is_some() || sig.abi.is_some() || sig.variadic.is_some() {
        cx.push(syn::Error::new_spanned(
            &sig.ident,
            format!("{what} applies to a plain function of reals, not to an `async`, `extern` or variadic one"),
        ));
    }
    if !matches!(sig.safety, syn::Safety::Default) {
        cx.push(syn::Error::new_spanned(
            &sig.safety,
            format!(
                "{what} applies to a safe function: `#[neuron]` functions call it without `unsafe`"
            ),
        ));
    }
    for param in &sig.generics.params {
        if !matches!(param, syn::GenericParam::Type(_)) {
            cx.push(syn::Error::new_spanned(
                param,
                format!("{what} applies to a function generic over its float type only, such as `fn {name}<T: Real>(x: T) -> T`"),
            ));
        }
    }
    if !ops::lookup(&name, false).is_empty() {
        cx.push(syn::Error::new_spanned(
            &sig.ident,
            format!(
                "`{name}` is the name of a library function: inside #[neuron] functions `{name}(..)` means the library's\nhelp: rename the function"
            ),
        ));
    }
    if RESERVED.contains(&name.as_str()) {
        cx.push(syn::Error::new_spanned(
            &sig.ident,
            format!("a function called in #[neuron] functions cannot be named `{name}`, a type their generated modules define\nhelp: rename the function"),
        ));
    }
    let ret = match &sig.output {
        syn::ReturnType::Type(_, ty) => Some((**ty).clone()),
        syn::ReturnType::Default => {
            cx.push(syn::Error::new_spanned(
                &sig.ident,
                format!("{what} applies to a function that returns a real, such as `fn {name}(x: f64) -> f64`"),
            ));
            None
        }
    };
    let ret_text = ret.as_ref().map(|t| t.to_token_stream().to_string());
    // Each argument: a plain name, of the type the function returns.
    let mut args: Vec<Ident> = Vec::new();
    for (k, input) in sig.inputs.iter().enumerate() {
        let syn::FnArg::Typed(pt) = input else {
            cx.push(syn::Error::new_spanned(
                input,
                format!("{what} applies to a free function; it cannot take `self`"),
            ));
            continue;
        };
        match &*pt.pat {
            syn::Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                args.push(pi.ident.clone());
            }
            syn::Pat::Wild(w) => {
                args.push(Ident::new(&format!("arg_{k}"), w.underscore_token.span))
            }
            other => cx.push(syn::Error::new_spanned(
                other,
                format!("an argument of a function with {what} must be a plain name, such as `x`"),
            )),
        }
        if let Some(ret) = &ret_text
            && pt.ty.to_token_stream().to_string() != *ret
        {
            cx.push(syn::Error::new_spanned(
                &pt.ty,
                format!(
                    "every argument of a function with {what} is a real of the type it returns, `{ret}`"
                ),
            ));
        }
    }
    let arity = sig.inputs.len();
    if arity == 0 || arity > MAX_CUSTOM_ARITY {
        cx.push(syn::Error::new_spanned(
            &sig.ident,
            format!(
                "{what} applies to a function of 1 to {MAX_CUSTOM_ARITY} real arguments; `{name}` takes {arity}"
            ),
        ));
    } else if paths.len() != arity {
        let example: Vec<String> = args.iter().map(|a| format!("d_{}", a.unraw())).collect();
        // At the first derivative too many, or the last one there is.
        let at = paths.iter().nth(arity).or_else(|| paths.iter().last());
        let span = at.map_or_else(Span::call_site, syn::spanned::Spanned::span);
        cx.push(syn::Error::new(
            span,
            format!(
                "`{name}` takes {arity} argument{}, so {what} names {arity} derivative function{}, \
                 one per argument in order, each taking the arguments of `{name}`; found {}\n\
                 help: such as `{}({})]`",
                if arity == 1 { "" } else { "s" },
                if arity == 1 { "" } else { "s" },
                paths.len(),
                what.trim_end_matches(']'),
                example.join(", ")
            ),
        ));
    }
    cx.finish(())?;
    let Some(ret) = ret else {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            "internal error: no return type",
        ));
    };

    let module = marker_module(&f, &ret, &args, &paths, kind);
    // The documentation says how #[neuron] differentiates the function.
    let names: Vec<String> = paths.iter().map(path_text).collect();
    let names = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let line = match kind {
        Kind::Derivative => {
            format!(
                " In `#[neuron]` functions, differentiated through its declared derivative: {names}."
            )
        }
        Kind::Surrogate => format!(
            " In `#[neuron]` functions, trained through the surrogate derivative {names}: a stand-in \
             for its own, so gradient checks skip the functions that call it."
        ),
    };
    if f.attrs.iter().any(|a| a.path().is_ident("doc")) {
        f.attrs.push(syn::parse_quote!(#[doc = ""]));
    }
    f.attrs.push(syn::parse_quote!(#[doc = #line]));
    Ok(quote! {
        #f
        #module
    })
}

/// `crate::act::d_x`, as the declaration lists it.
fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|s| s.ident.unraw().to_string())
        .collect();
    let lead = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{lead}{}", segments.join("::"))
}

/// `path` as written in the function's module, seen from the module one
/// level below it: `super::d_x` for `d_x`, `super::act::d_x` for
/// `act::d_x` and `self::d_x`, `super::super::d_x` for `super::d_x`; an
/// absolute path stays. The new tokens carry the path's span, so that
/// rustc's errors about the call point at the attribute.
fn from_below(path: &syn::Path) -> TokenStream {
    let span = syn::spanned::Spanned::span(path);
    let first = path.segments.first().map(|s| s.ident.to_string());
    match first.as_deref() {
        _ if path.leading_colon.is_some() => quote!(#path),
        Some("crate") => quote!(#path),
        Some("self") => {
            let rest = path.segments.iter().skip(1);
            quote_spanned!(span=> super #(:: #rest)*)
        }
        _ => quote_spanned!(span=> super:: #path),
    }
}

/// The hidden module next to the function.
fn marker_module(
    f: &syn::ItemFn,
    ret: &syn::Type,
    args: &[Ident],
    paths: &Punctuated<syn::Path, syn::Token![,]>,
    kind: Kind,
) -> TokenStream {
    let vis = &f.vis;
    let name = &f.sig.ident;
    let text = name.unraw().to_string();
    let (impl_generics, ty_generics, where_clause) = f.sig.generics.split_for_impl();
    let generics = &f.sig.generics;
    let tys: Vec<&syn::Type> = args.iter().map(|_| ret).collect();
    let derivatives: Vec<String> = paths.iter().map(path_text).collect();
    let surrogate = kind == Kind::Surrogate;
    // Each derivative called with the function's arguments, with the span
    // of its name in the attribute.
    let calls: Vec<TokenStream> = paths
        .iter()
        .map(|p| {
            let span = syn::spanned::Spanned::span(p);
            let callee = from_below(p);
            quote_spanned!(span=> #callee(#(#args),*))
        })
        .collect();
    // Names the generated functions bind besides the arguments.
    let fresh = |base: &str| {
        let mut candidate = base.to_string();
        while args.iter().any(|a| a.unraw() == candidate) {
            candidate.push('_');
        }
        Ident::new(&candidate, Span::call_site())
    };
    let which = fresh("which");
    let dy = fresh("dy");
    let accumulators: Vec<Ident> = args.iter().map(crate::expand::call_accumulator).collect();
    let positions = (0..args.len()).map(proc_macro2::Literal::usize_unsuffixed);
    let last = calls.len().saturating_sub(1);
    let arms = calls.iter().enumerate().map(|(k, call)| {
        if k == last {
            quote!(_ => #call,)
        } else {
            let k = proc_macro2::Literal::usize_unsuffixed(k);
            quote!(#k => #call,)
        }
    });
    let partials = calls
        .iter()
        .map(|call| quote!(::neuron_core::custom::safe_mul(#dy, #call)));
    let doc = format!(
        "`{text}` has a declared {}derivative: what `#[neuron]` functions that call it rely on.",
        if surrogate { "surrogate " } else { "" }
    );
    let call_fn = syn::Ident::new("call", name.span());
    let grad_docs = args
        .iter()
        .map(|a| format!("∂{text}/∂{} as declared, times `dy`.", a.unraw()));
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[allow(non_snake_case, non_camel_case_types, dead_code, unreachable_pub, clippy::all)]
        #vis mod #name {
            #[allow(unused_imports)]
            use super::*;

            /// Marks the function as declared.
            pub enum Marker {}

            impl ::neuron_core::custom::Declared for Marker {
                const DECLARATION: ::neuron_core::custom::Declaration = ::neuron_core::custom::Declaration {
                    function: #text,
                    derivatives: &[#(#derivatives),*],
                    surrogate: #surrogate,
                };
            }

            impl #impl_generics ::neuron_core::custom::Partials<#ret, (#(#tys,)*)> for Marker #where_clause {
                #[inline]
                fn partial(#which: usize, (#(#args,)*): (#(#tys,)*)) -> #ret {
                    match #which {
                        #(#arms)*
                    }
                }
            }

            /// The declaration, as the module of a `#[neuron]` function
            /// lists those it goes through.
            pub const DECLARATIONS: ::neuron_core::custom::Declarations = ::neuron_core::custom::Declarations {
                direct: &[&<Marker as ::neuron_core::custom::Declared>::DECLARATION],
                callees: &[],
            };

            /// The partial derivatives, as the `Grad` of a `#[neuron]` function.
            #[derive(Clone, Copy, Debug, PartialEq)]
            pub struct Grad #generics #where_clause { #(#[doc = #grad_docs] pub #args: #tys,)* }

            impl #impl_generics Grad #ty_generics #where_clause {
                /// The fields in argument order, as a tuple.
                pub fn into_parts(self) -> (#(#tys,)*) {
                    (#(self.#args,)*)
                }
            }

            /// The value and the partial derivatives times `dy`, as the
            /// `backward` of a `#[neuron]` function, for calls whose result
            /// type is written.
            #[inline]
            pub fn backward #impl_generics (#(#args: #tys,)* #dy: #ret) -> (#ret, Grad #ty_generics) #where_clause {
                (super::#name(#(#args),*), Grad { #(#args: #partials,)* })
            }

            /// A call from a `#[neuron]` function whose result type is
            /// written, as the `Call` of a `#[neuron]` function.
            #[derive(Clone, Copy, Debug)]
            pub struct Call #generics #where_clause { #(#args: #tys,)* }

            /// The call of `Call` with these arguments.
            #[inline]
            pub fn #call_fn #impl_generics (#(#args: #tys),*) -> Call #ty_generics #where_clause {
                Call { #(#args),* }
            }

            impl #impl_generics Call #ty_generics #where_clause {
                /// The value of the call, and the call itself, for `backward`.
                #[inline]
                pub fn forward(self) -> (#ret, Self) {
                    (super::#name(#(self.#args),*), self)
                }

                /// The partial derivatives times the upstream derivative.
                #[inline]
                pub fn backward(&self, #dy: #ret) -> Grad #ty_generics {
                    self::backward(#(self.#args,)* #dy).1
                }

                /// Adds the partial derivatives times the upstream
                /// derivative into `accumulators`, one per argument in
                /// order, as the `Called` of a `#[neuron]` function; `None`
                /// leaves one out.
                #[inline]
                pub fn backward_add(&self, #dy: #ret, neuron_accumulators: &mut [::core::option::Option<&mut [#ret]>]) {
                    let partials = self.backward(#dy);
                    #(
                        if let ::core::option::Option::Some([#accumulators]) = neuron_accumulators
                            .get_mut(#positions)
                            .and_then(::core::option::Option::as_deref_mut)
                        {
                            *#accumulators += partials.#args;
                        }
                    )*
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(attr: TokenStream, item: TokenStream, kind: Kind) -> Result<String, String> {
        let tokens = derivative(attr, item, kind).map_err(|e| {
            e.into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n---\n")
        })?;
        let file: syn::File = syn::parse2(tokens).map_err(|e| e.to_string())?;
        Ok(prettyplease::unparse(&file))
    }

    #[test]
    fn the_function_stays_and_its_module_records_the_declaration() {
        let text = expanded(
            quote!(fast_sigmoid),
            quote! {
                /// A step.
                pub fn heaviside(x: f64) -> f64 { if x > 0.0 { 1.0 } else { 0.0 } }
            },
            Kind::Surrogate,
        )
        .unwrap();
        for line in [
            "pub fn heaviside(x: f64) -> f64 {",
            "pub mod heaviside {",
            "function: \"heaviside\",",
            "derivatives: &[\"fast_sigmoid\"],",
            "surrogate: true,",
            "impl ::neuron_core::custom::Partials<f64, (f64,)> for Marker {",
            "_ => super::fast_sigmoid(x),",
            "pub fn backward(x: f64, dy: f64) -> (f64, Grad) {",
            "trained through the surrogate derivative `fast_sigmoid`",
        ] {
            assert!(text.contains(line), "no {line:?} in\n{text}");
        }
    }

    #[test]
    fn derivatives_are_reached_from_the_module_below() {
        let text = expanded(
            quote!(self::d_x, super::d_y, crate::d::d_z),
            quote! {
                fn f<T: Real>(x: T, y: T, dy: T) -> T where T: Copy { x + y + dy }
            },
            Kind::Derivative,
        )
        .unwrap();
        for line in [
            "0 => super::d_x(x, y, dy),",
            "1 => super::super::d_y(x, y, dy),",
            "_ => crate::d::d_z(x, y, dy),",
            "derivatives: &[\"self::d_x\", \"super::d_y\", \"crate::d::d_z\"],",
            "impl<T: Real> ::neuron_core::custom::Partials<T, (T, T, T)> for Marker",
            // An argument named `dy` moves `backward`'s own aside.
            "pub fn backward<T: Real>(x: T, y: T, dy: T, dy_: T) -> (T, Grad<T>)",
        ] {
            assert!(text.contains(line), "no {line:?} in\n{text}");
        }
    }

    #[test]
    fn mistakes_are_reported_at_once() {
        let error = expanded(
            quote!(d_a),
            quote! { unsafe fn relu<const N: usize>(a: f64, (b, c): (f64, f64), n: i32) -> f64 { a } },
            Kind::Derivative,
        )
        .unwrap_err();
        for part in [
            "applies to a safe function",
            "generic over its float type only",
            "`relu` is the name of a library function",
            "must be a plain name",
            "every argument of a function with #[neuron::derivative] is a real of the type it returns, `f64`",
            "`relu` takes 3 arguments, so #[neuron::derivative] names 3 derivative functions",
        ] {
            assert!(error.contains(part), "no {part:?} in\n{error}");
        }
        let error =
            expanded(quote!(), quote! { fn f() -> f64 { 1.0 } }, Kind::Surrogate).unwrap_err();
        assert!(
            error.contains("a function of 1 to 8 real arguments"),
            "{error}"
        );
        let error = expanded(quote!(d), quote! { fn f(x: f64) {} }, Kind::Derivative).unwrap_err();
        assert!(error.contains("returns a real"), "{error}");
        let error = expanded(quote!(d), quote! { struct S; }, Kind::Derivative).unwrap_err();
        assert!(error.contains("applies to a function of reals"), "{error}");
    }

    #[test]
    fn an_error_keeps_the_function() {
        let out = expand(
            quote!(d_a, d_b),
            quote! { fn f(a: f64) -> f64 { a } },
            Kind::Derivative,
        )
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("fn f (a : f64) -> f64"), "{out}");
    }
}
