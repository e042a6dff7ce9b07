//! The generated items around the emitted bodies: the forward function,
//! `mod <name>` with `Grad`, `gradient`, `backward` and `SOURCE`, and the
//! `#[test]` of `#[neuron(gradcheck)]`. `Params` and `Model` come from
//! `glue`, the formulas in the rustdoc of `gradient` from `docs`, `trace`,
//! `DOT` and `COST` from `trace`, `dot` and `cost`.

use crate::ast::{Function, Options, RealType};
use crate::declared;
use crate::docs::formulas;
use crate::emit::Body;
use crate::expand::{DIRECTION, Derived};
use crate::glue::{model, params};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;

/// Everything the signature determines, as tokens.
pub struct Sig {
    pub real: TokenStream,
    /// `<T: ::neuron_core::Real, const N: usize>`, or nothing.
    pub generics: TokenStream,
    /// `<T, N>`, or nothing.
    pub ty_args: TokenStream,
    pub args: Vec<Ident>,
    pub tys: Vec<syn::Type>,
    pub ret: syn::Type,
    /// [`Sig::generics`] with the lifetime `'neuron` first, for the types
    /// that borrow the array arguments (`Call`), when there is one.
    pub lt_generics: TokenStream,
    /// [`Sig::ty_args`] with `'neuron` first.
    pub lt_ty_args: TokenStream,
}

pub fn signature(f: &Function) -> Sig {
    let real = match &f.real {
        RealType::F32 => quote!(f32),
        RealType::F64 => quote!(f64),
        RealType::Generic(t) => quote!(#t),
    };
    // The generic parameters in the user's order: the float type bounded
    // by `Real` by its absolute path, and the array lengths.
    let mut params = Vec::new();
    let mut args = Vec::new();
    for param in &f.generics.params {
        match param {
            syn::GenericParam::Type(tp) => {
                let t = &tp.ident;
                params.push(quote!(#t: ::neuron_core::Real));
                args.push(quote!(#t));
            }
            syn::GenericParam::Const(c) => {
                let n = &c.ident;
                params.push(quote!(const #n: usize));
                args.push(quote!(#n));
            }
            syn::GenericParam::Lifetime(_) => {}
        }
    }
    let (generics, ty_args) = if params.is_empty() {
        (quote!(), quote!())
    } else {
        (quote!(<#(#params),*>), quote!(<#(#args),*>))
    };
    // Only a neuron with an array argument borrows one.
    let (lt_generics, lt_ty_args) = if f.args.iter().any(|a| !a.shape.is_empty()) {
        (
            quote!(<'neuron #(, #params)*>),
            quote!(<'neuron #(, #args)*>),
        )
    } else {
        (generics.clone(), ty_args.clone())
    };
    Sig {
        real,
        generics,
        ty_args,
        lt_generics,
        lt_ty_args,
        args: f.args.iter().map(|a| a.name.clone()).collect(),
        tys: f.args.iter().map(|a| a.ty.clone()).collect(),
        ret: f.ret.clone(),
    }
}

/// What every emitted body starts with: `use ::neuron_core::Real as _;`
/// when the body calls one of its methods on a concrete float type (a
/// generic `T: Real` has them through its bound), and the check of the
/// array lengths ([`nonzero_lengths`]).
pub fn preamble(body: &Body, f: &Function) -> TokenStream {
    let import = if body.uses_real_trait && !matches!(f.real, RealType::Generic(_)) {
        quote!(
            use ::neuron_core::Real as _;
        )
    } else {
        quote!()
    };
    let lengths = nonzero_lengths(f);
    quote!(#import #lengths)
}

/// For each const parameter `N`, an array length, a check evaluated when
/// the body is instantiated: `N = 0` is then a compile error at the user's
/// `N`, as the macro refuses a literal `[T; 0]`, instead of a body whose
/// `max(v)` or `softmax(v)` would read an element that is not there.
fn nonzero_lengths(f: &Function) -> TokenStream {
    f.consts
        .iter()
        .map(|n| quote_spanned!(n.span()=> const { ::neuron_core::model::nonzero_length(#n) };))
        .collect()
}

pub fn function_body(body: &Body, root: TokenStream, f: &Function) -> TokenStream {
    let stmts = &body.stmts;
    let preamble = preamble(body, f);
    quote!({ #preamble #stmts #root })
}

/// The generated items; with `d` absent, stubs whose bodies are
/// unreachable, emitted next to an error.
///
/// The forward function is defined inside the module and re-exported next
/// to it, so that every generated item reaches it by a sibling path: that
/// works wherever the attribute stands, a function body included.
///
/// ```text
/// #vis mod unit {
///     pub fn unit(..) -> f64 { .. }
///     pub struct Grad { .. }  pub fn gradient(..)  pub fn backward(..)  ...
/// }
/// #vis use unit::unit;
/// ```
pub fn items(f: &Function, options: &Options, d: Option<&Derived>) -> TokenStream {
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
    // Lint levels and `cfg` apply to everything generated; the rest (docs,
    // `#[inline]`, ...) to the function alone.
    let (shared, own): (Vec<&syn::Attribute>, Vec<&syn::Attribute>) =
        f.attrs.iter().partition(|a| {
            ["allow", "warn", "deny", "forbid", "expect", "cfg"]
                .iter()
                .any(|l| a.path().is_ident(l))
        });
    let cfgs: Vec<&&syn::Attribute> = shared.iter().filter(|a| a.path().is_ident("cfg")).collect();

    // The generated items name `::neuron_core::Real` by its path; the
    // bound as the user wrote it (`T: Real`) is resolved here, where it
    // was written, so that its import counts as used.
    let bounds = (!f.generics.params.is_empty()).then(|| {
        let params = &f.generics.params;
        quote! {
            #(#cfgs)*
            const _: () = {
                #[allow(dead_code)]
                fn bounds<#params>() {}
            };
        }
    });

    // A stub's bodies never run: the compile error stops the build.
    let unreachable =
        quote!({ ::core::unreachable!("#[neuron] reported a compile error for this function") });

    // The borrowing forms take arrays by reference and scalars by value;
    // the by-value functions lend them their arguments, so each body is
    // emitted once and a large argument is never copied.
    let ref_params: Vec<TokenStream> = f
        .args
        .iter()
        .map(|a| {
            let (n, t) = (&a.name, &a.ty);
            if a.shape.is_empty() {
                quote!(#n: #t)
            } else {
                quote!(#n: &#t)
            }
        })
        .collect();
    // Each argument as the borrowing forms take it, read from `owner`
    // (`x`, or `self.x`): arrays by reference, reals by value.
    let lend_from = |owner: TokenStream| -> Vec<TokenStream> {
        f.args
            .iter()
            .map(|a| {
                let n = &a.name;
                if a.shape.is_empty() {
                    quote!(#owner #n)
                } else {
                    quote!(&#owner #n)
                }
            })
            .collect()
    };
    let lend = lend_from(TokenStream::new());

    // The forward function, as written, and its borrowing form.
    let forward_ref_body = match d {
        Some(d) => function_body(&d.forward, d.forward.roots[0].clone(), f),
        None => unreachable.clone(),
    };
    let forward = quote! {
        pub fn #name #generics (#(#args: #tys),*) -> #ret {
            self::forward_ref(#(#lend),*)
        }
    };
    let forward_ref = quote! {
        pub fn forward_ref #generics (#(#ref_params),*) -> #ret #forward_ref_body
    };

    // A call of this neuron from another: `call` has the borrowing form's
    // signature, spans included, so that rustc's errors about a wrong call
    // read as errors about the function itself.
    let call_fn = Ident::new("call", name.span());
    let (lt_generics, lt_ty_args) = (&s.lt_generics, &s.lt_ty_args);
    // Arrays are borrowed for the call's lifetime, scalars copied.
    let lent_tys: Vec<TokenStream> = f
        .args
        .iter()
        .map(|a| {
            let t = &a.ty;
            if a.shape.is_empty() {
                quote!(#t)
            } else {
                quote!(&'neuron #t)
            }
        })
        .collect();
    let call_doc = format!(
        "A call of [`{name}`](fn@self::{name}) from another `#[neuron]` function: its arguments, borrowed for the backward pass."
    );
    // `backward_add` takes its accumulators as one slice of flat views
    // (`&mut [Option<&mut [T]>]`), whatever the arguments' count and
    // shapes, so a wrong call (swapped or missing arguments) is rustc's one
    // error at the call and no more in the caller's training step.
    let accumulators: Vec<Ident> = f
        .args
        .iter()
        .map(|a| crate::expand::call_accumulator(&a.name))
        .collect();
    // The values the forward pass keeps for the backward pass.
    let saved: Vec<(Ident, TokenStream)> = d
        .map(|d| {
            d.call
                .saved
                .iter()
                .map(|(n, shape)| {
                    let ty = shape
                        .iter()
                        .rev()
                        .fold(s.real.clone(), |inner, d| quote!([#inner; #d]));
                    (n.clone(), ty)
                })
                .collect()
        })
        .unwrap_or_default();
    let saved_names: Vec<&Ident> = saved.iter().map(|(n, _)| n).collect();
    let saved_tys: Vec<&TokenStream> = saved.iter().map(|(_, t)| t).collect();
    // `let x = self.x;` for each argument (a reference or a scalar), and
    // `let z = &self.z;` for each kept array (a kept scalar is copied).
    let read_self: Vec<TokenStream> = args
        .iter()
        .map(|a| quote!(let #a = self.#a;))
        .chain(d.iter().flat_map(|d| {
            d.call.saved.iter().map(|(n, shape)| {
                if shape.is_empty() {
                    quote!(let #n = self.#n;)
                } else {
                    quote!(let #n = &self.#n;)
                }
            })
        }))
        .collect();
    let dy_ref = if f.ret_shape.is_empty() {
        quote!()
    } else {
        quote!(let dy = &dy;)
    };
    let (called_forward, called_backward, called_add) = match d {
        Some(d) => {
            let forward = &d.call.forward;
            let (y, kept) = (&forward.roots[0], &forward.roots[1..]);
            // `sum` rather than `sum: sum` where the kept value is bound
            // under its field's name.
            let kept = saved_names.iter().zip(kept).map(|(n, v)| {
                if v.to_string() == n.to_string() {
                    quote!(#n)
                } else {
                    quote!(#n: #v)
                }
            });
            let forward = function_body(forward, quote!((#y, Called { #(#args,)* #(#kept,)* })), f);
            // A pass of `Called`: the arguments and kept values read from
            // `self`, `dy` lent, the statements, then `tail`.
            let called_body = |body: &Body, tail: TokenStream| {
                let stmts = &body.stmts;
                let import = preamble(body, f);
                quote!({
                    #import
                    #(#read_self)*
                    #dy_ref
                    #stmts
                    #tail
                })
            };
            let parts = &d.call.backward.roots;
            let backward = called_body(&d.call.backward, quote!(Grad { #(#args: #parts),* }));
            let body = &d.call.add;
            let params: Vec<&crate::ast::Arg> = f.args.iter().collect();
            // An array accumulator is indexed and lent through the
            // reference; a scalar one is written through `*`.
            let targets: Vec<crate::glue::Target> = accumulators
                .iter()
                .zip(&f.args)
                .map(|(acc, a)| {
                    crate::glue::Target::Field(if a.shape.is_empty() {
                        quote!((*#acc))
                    } else {
                        quote!(#acc)
                    })
                })
                .collect();
            let real = &s.real;
            let adds = crate::glue::accumulate(&s.real, body, &params, &targets);
            // Accumulator `k` comes flat and is seen in its argument's shape.
            let adds = accumulators
                .iter()
                .zip(adds)
                .zip(&body.root_stmts[1..])
                .zip(tys)
                .enumerate()
                .map(|(k, (((acc, add), own), ty))| {
                    let k = Literal::usize_unsuffixed(k);
                    quote! {
                        if let ::core::option::Option::Some(#acc) = neuron_accumulators
                            .get_mut(#k)
                            .and_then(::core::option::Option::as_deref_mut)
                            .and_then(<#ty as ::neuron_core::Tensor<#real>>::from_flat_mut)
                        {
                            #own
                            #add
                        }
                    }
                });
            let add = called_body(body, quote!(#(#adds)*));
            (
                quote!({ let Call { #(#args),* } = self; #forward }),
                backward,
                add,
            )
        }
        None => (
            unreachable.clone(),
            unreachable.clone(),
            unreachable.clone(),
        ),
    };
    let scalar = &s.real;
    let called_doc = format!(
        "A call of [`{name}`](fn@self::{name}) after its forward pass: its arguments and the forward values its backward pass reads."
    );
    let call_items = quote! {
        #[doc = #call_doc]
        #[derive(Clone, Copy, Debug)]
        pub struct Call #lt_generics { #(#args: #lent_tys,)* }

        /// The call of [`Call`] with these arguments.
        #[inline]
        pub fn #call_fn #lt_generics (#(#args: #lent_tys),*) -> Call #lt_ty_args {
            Call { #(#args),* }
        }

        impl #lt_generics Call #lt_ty_args {
            /// The value of the call, and what its backward pass needs.
            #[inline]
            #[allow(unused_variables)]
            pub fn forward(self) -> (#ret, Called #lt_ty_args) #called_forward
        }

        #[doc = #called_doc]
        #[derive(Clone, Copy, Debug)]
        pub struct Called #lt_generics {
            #(#args: #lent_tys,)*
            #(#saved_names: #saved_tys,)*
        }

        // Every argument and kept value is bound by name; a pass may not
        // read them all.
        #[allow(unused_variables)]
        impl #lt_generics Called #lt_ty_args {
            /// The partial derivatives of the call for the upstream derivative `dy`.
            #[inline]
            pub fn backward(&self, dy: #ret) -> Grad #ty_args #called_backward

            /// Adds the partial derivatives of the call for the upstream
            /// derivative `dy` into `accumulators`, one per argument in
            /// order, each as its scalars in row-major order; a partial
            /// whose accumulator is `None`, missing or of another length
            /// is not computed.
            #[inline]
            pub fn backward_add(
                &self,
                dy: #ret,
                neuron_accumulators: &mut [::core::option::Option<&mut [#scalar]>],
            ) #called_add
        }
    };

    // Grad: one field per argument.
    let grad_fields: Vec<TokenStream> = args
        .iter()
        .zip(tys)
        .map(|(a, t)| {
            let plain = a.unraw();
            let doc = format!(
                "∂{name}/∂{plain}: the derivative of the output with respect to `{plain}`, shaped like it."
            );
            quote!(#[doc = #doc] pub #a: #t)
        })
        .collect();
    // `(y, Grad { .. })` at the end of a body whose roots are the output
    // and then each argument's adjoint.
    let value_and_grad = |body: &Body| {
        let y = &body.roots[0];
        let parts = &body.roots[1..];
        function_body(body, quote!((#y, Grad { #(#args: #parts),* })), f)
    };

    let gradient_body = match d {
        Some(d) => d.gradient.as_ref().map(value_and_grad),
        None if f.ret_shape.is_empty() => Some(unreachable.clone()),
        None => None,
    };
    let gradient_ref = gradient_body.map(|fn_body| {
        quote! {
            pub fn gradient_ref #generics (#(#ref_params),*) -> (#ret, Grad #ty_args) #fn_body
        }
    });
    let gradient = gradient_ref.as_ref().map(|_| {
        quote! {
            pub fn gradient #generics (#(#args: #tys),*) -> (#ret, Grad #ty_args) {
                self::gradient_ref(#(#lend),*)
            }
        }
    });
    // For a scalar output the vector-Jacobian product is the gradient
    // times `dy`; for an array output it is its own backward pass.
    let backward_ref_body = match d {
        _ if f.ret_shape.is_empty() => {
            let scaled = f
                .args
                .iter()
                .zip(args)
                .map(|(a, n)| scale(f, n, a.shape.len()));
            let (y, g) = (local(f, "y"), local(f, "g"));
            quote!({
                let (#y, #g) = self::gradient_ref(#(#args),*);
                (#y, Grad { #(#args: #scaled),* })
            })
        }
        Some(d) => d
            .backward
            .as_ref()
            .map_or_else(|| unreachable.clone(), value_and_grad),
        None => unreachable.clone(),
    };
    let backward = quote! {
        pub fn backward #generics (#(#args: #tys,)* dy: #ret) -> (#ret, Grad #ty_args) {
            self::backward_ref(#(#lend,)* dy)
        }
    };
    let backward_ref = quote! {
        pub fn backward_ref #generics (#(#ref_params,)* dy: #ret) -> (#ret, Grad #ty_args) #backward_ref_body
    };

    // Second order, asked for by `#[neuron(hvp)]` or `#[neuron(hessian)]`
    // (which `expand` refused where `hvp_rule` or `hessian_rule` says
    // why): `hvp_ref` is one emitted body, `hvp` lends it its arguments,
    // `hessian` stacks `hvp_ref` of unit vectors.
    //
    // ```text
    // pub fn hvp_ref(x: &[f64; 3], b: f64, neuron_v: &Grad) -> (f64, Grad, Grad) {
    //     let neuron_v_x = &neuron_v.x;
    //     let neuron_v_b = neuron_v.b;
    //     ...
    //     (y, Grad { x: d_x, b: d_b }, Grad { x: d_d_x, b: d_d_b })
    // }
    // ```
    let asked = options.hvp.is_some() || options.hessian.is_some();
    let has_hvp = match d {
        Some(d) => d.hvp.is_some(),
        None => asked && f.ret_shape.is_empty(),
    };
    let direction = Ident::new(DIRECTION, Span::call_site());
    let hvp_ref = has_hvp.then(|| {
        let body = match d.and_then(|d| d.hvp.as_ref()) {
            Some(body) => {
                let bind = f.args.iter().map(|a| {
                    let (n, v) = (&a.name, crate::expand::direction(&a.name));
                    if a.shape.is_empty() {
                        quote!(let #v = #direction.#n;)
                    } else {
                        quote!(let #v = &#direction.#n;)
                    }
                });
                let count = args.len();
                let y = &body.roots[0];
                let grad = &body.roots[1..=count];
                let hv = &body.roots[1 + count..];
                let inner = function_body(
                    body,
                    quote!((#y, Grad { #(#args: #grad),* }, Grad { #(#args: #hv),* })), f);
                quote!({ #(#bind)* #inner })
            }
            None => unreachable.clone(),
        };
        quote! {
            pub fn hvp_ref #generics (#(#ref_params,)* #direction: &Grad #ty_args) -> (#ret, Grad #ty_args, Grad #ty_args) #body
        }
    });
    let hvp = has_hvp.then(|| {
        quote! {
            pub fn hvp #generics (#(#args: #tys,)* #direction: Grad #ty_args) -> (#ret, Grad #ty_args, Grad #ty_args) {
                self::hvp_ref(#(#lend,)* &#direction)
            }
        }
    });
    let hessian = (has_hvp && options.hessian.is_some())
        .then(|| hessian(f, &s, &lend))
        .flatten();

    // The formulas document `gradient` both in rustdoc and in `SOURCE`,
    // one `///` line each; they are read off the body of `gradient_ref`.
    let declared_calls: Vec<_> = d
        .map(|d| d.calls.declared.iter().map(|(c, _)| *c).collect())
        .unwrap_or_default();
    // `trace`, `DOT` and `COST` (`trace.rs`, `dot.rs`, `cost.rs`).
    let cost = d.and_then(|d| {
        let gradient = d.gradient.as_ref().or(d.backward.as_ref())?;
        Some(crate::cost::cost(f, &d.forward, gradient))
    });
    let cost_doc = cost
        .as_ref()
        .map(|c| crate::cost::doc(f, c))
        .unwrap_or_default();
    let seeing = [
        crate::trace::item(f, &s, d.and_then(|d| d.trace.as_ref())),
        crate::dot::item(f, d.map(|d| d.dot.as_str())),
        crate::cost::items(f, &s, cost.as_ref()),
    ];
    // The cost is in the rustdoc only: `SOURCE` is the code.
    let documented = |cost: &str| {
        gradient.as_ref().map(|g| {
            let lines = gradient_ref
                .as_ref()
                .map(|r| formulas(f, r))
                .unwrap_or_default()
                + &declared::doc(&declared_calls)
                + cost;
            let lines = lines.lines().map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!(" {l}")
                }
            });
            quote!(#(#[doc = #lines])* #g)
        })
    };
    let gradient_source = documented("");
    let gradient = documented(&cost_doc);
    let source = source_text(&[
        Some(&forward),
        Some(&forward_ref),
        gradient_source.as_ref(),
        gradient_ref.as_ref(),
        Some(&backward),
        Some(&backward_ref),
        hvp.as_ref(),
        hvp_ref.as_ref(),
        hessian.as_ref(),
    ]);
    // Functions with declared derivatives: a module each, `DECLARATIONS`,
    // and `SOURCE` completed with what was declared.
    let (declared, source) = match d {
        Some(d) => (
            declared::items(f, &s, &d.calls),
            declared::source(&source, &d.calls),
        ),
        None => (declared::stub_items(f, &s), quote!(#source)),
    };
    let gradient = gradient.map(|g| {
        let summary = format!(
            " The value of [`{name}`](fn@self::{name}) and its derivative with respect to every argument."
        );
        quote! {
            #[doc = #summary]
            #[doc = ""]
            #[must_use]
            #g
        }
    });
    let gradient_ref = gradient_ref.map(|g| {
        quote! {
            /// [`gradient`] borrowing the arrays: nothing is copied.
            #[must_use]
            #g
        }
    });
    let hvp = hvp.map(|h| {
        let doc = format!(
            " The value of [`{name}`](fn@self::{name}), its gradient, and the Hessian-vector product `H·v`: \
             the derivative of the gradient in the direction `v`, shaped like the arguments.\n\n\
             The direction `v` (the parameter `neuron_v`, a name no argument can take) is a \
             [`Grad`], one field per argument; so is `H·v`, whose field `x` is \
             `Σₐ ∂²{name}/∂x∂a · v.a`. Derived at compile time by differentiating the generated \
             gradient once more (reverse over reverse); at a kink the second derivative follows \
             the first's one-sided rule (`relu'' = 0`)."
        );
        quote! {
            #[doc = #doc]
            #[must_use]
            #h
        }
    });
    let hvp_ref = hvp_ref.map(|h| {
        quote! {
            /// [`hvp`] borrowing the arrays and the direction: nothing is copied.
            #[must_use]
            #h
        }
    });
    let hessian = hessian.map(|h| {
        let doc = format!(
            " The value of [`{name}`](fn@self::{name}), its gradient, and its Hessian over the \
             arguments flattened in [`Grad`] field order (argument order, arrays row-major): \
             `H[i][j] = ∂²{name}/∂zᵢ∂zⱼ`. Row `i` is [`hvp`] of the `i`-th unit vector. \
             Asked for by `#[neuron(hessian)]`, for at most {MAX_HESSIAN} scalars in all, with \
             every length known."
        );
        quote! {
            #[doc = #doc]
            #[must_use]
            #h
        }
    });
    let backward_doc = format!(
        "The value of [`{name}`](fn@self::{name}) and the vector-Jacobian product: `dy` is the derivative of \
         what follows with respect to the output, and each field of the returned [`Grad`] is `dy` carried back \
         to that argument by the chain rule."
    );

    let params = params(f, &s);
    let model = model(f, &s, d);
    // `gradient` exists for scalar outputs only; a link to it otherwise
    // would be a broken intra-doc link in the user's documentation.
    let gradient_link = if f.ret_shape.is_empty() {
        "[`gradient`](fn@self::gradient), "
    } else {
        ""
    };
    // `trace` with `gradient`; `COST` in the module where nothing is generic.
    let trace_link = if f.ret_shape.is_empty() {
        "[`trace`](fn@self::trace), "
    } else {
        ""
    };
    let cost_link = if f.generics.params.is_empty() {
        "[`COST`]"
    } else {
        "`Model::<..>::COST`"
    };
    let hvp_link = if has_hvp {
        "[`hvp`](fn@self::hvp), "
    } else {
        ""
    };
    let mod_doc = format!(
        "The gradient of [`{name}`](fn@self::{name}), generated by `#[neuron]`: {gradient_link}\
         [`backward`], {hvp_link}[`Grad`], [`Params`], [`Model`] and the generated [`SOURCE`]; \
         {trace_link}the graph [`DOT`] and the cost {cost_link}."
    );
    let gradcheck_test = Ident::new(GRADCHECK_TEST, Span::call_site());
    let gradcheck = options.gradcheck.then(|| {
        // A generic neuron is checked in f64; f32 gets a looser tolerance,
        // as its finite differences carry about 1e-3 of rounding.
        let (ty, default_tolerance) = match &f.real {
            RealType::Generic(_) => (quote!(Model<f64>), 1e-6),
            RealType::F64 => (quote!(Model), 1e-6),
            RealType::F32 => (quote!(Model), 1e-2),
        };
        let o = &options.gradcheck_options;
        let points = Literal::usize_suffixed(o.points.unwrap_or(64));
        let (lo, hi) = o.range.unwrap_or((-2.0, 2.0));
        let (lo, hi) = (Literal::f64_suffixed(lo), Literal::f64_suffixed(hi));
        let tolerance = Literal::f64_suffixed(o.tolerance.unwrap_or(default_tolerance));
        let doc = format!(
            "`#[neuron(gradcheck)]`: the generated gradient against central finite differences \
             at {points} random points drawn from `{lo}..={hi}`, with tolerance {tolerance}.",
            points = o.points.unwrap_or(64),
            lo = o.range.map_or(-2.0, |r| r.0),
            hi = o.range.map_or(2.0, |r| r.1),
            tolerance = o.tolerance.unwrap_or(default_tolerance),
        );
        // Gradient checks need `neuron-core`'s `std` feature, which this
        // macro cannot see: `__gradcheck_test!` passes the test through
        // with it, and is a compile error naming the feature without it.
        quote! {
            #[cfg(test)]
            ::neuron_core::__gradcheck_test! {
                #[doc = #doc]
                #[test]
                pub fn #gradcheck_test() {
                    ::neuron_core::gradcheck::conclude(
                        ::core::stringify!(#name),
                        ::neuron_core::gradcheck::gradcheck_random_in::<#ty>(#lo..=#hi, #points, 0x5eed, #tolerance),
                    );
                }
            }
        }
    });

    quote! {
        #[doc = #mod_doc]
        #(#shared)*
        // An argument the result does not depend on (`a` in `[a, b][1]`)
        // is unused after simplification; that is not the user's mistake.
        #[allow(clippy::all, clippy::pedantic, unused_variables)]
        #vis mod #name {
            #[allow(unused_imports)]
            use super::*;
            // Float methods (`x.exp()`) of `f32` and `f64` are inherent
            // with `std` only; this makes them resolve without it too.
            #[allow(unused_imports)]
            use ::neuron_core::real::Float as _;

            #(#own)*
            #[inline]
            #forward

            /// The value of the function, reading its arrays in place.
            #[inline]
            #forward_ref

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

            #gradient_ref

            #[doc = #backward_doc]
            #[must_use]
            #backward

            #call_items

            /// [`backward`] borrowing the arrays: nothing is copied.
            #[must_use]
            #backward_ref

            #hvp

            #hvp_ref

            #hessian

            #params
            #model

            /// The generated forward, gradient and backward functions, pretty-printed.
            pub const SOURCE: &str = #source;

            #declared

            #(#seeing)*

            #gradcheck
        }

        #(#cfgs)*
        #[doc(inline)]
        #vis use #name::#name;

        #bounds
    }
}

/// The name of the `#[test]` that `#[neuron(gradcheck)]` adds to the module.
pub const GRADCHECK_TEST: &str = "gradient_matches_finite_differences";

/// Every item the generated module defines besides the forward function.
pub const ITEMS: &[&str] = &[
    "Grad",
    "gradient",
    "backward",
    "Call",
    "Called",
    "call",
    "forward_ref",
    "gradient_ref",
    "backward_ref",
    "Params",
    "Model",
    "SOURCE",
    "DECLARATIONS",
    "Marker",
    GRADCHECK_TEST,
    "trace",
    "DOT",
    "COST",
    "hvp",
    "hvp_ref",
    "hessian",
];

/// The most scalars, all arguments together, that `hessian` is generated
/// for: its result is `[[T; N]; N]`, on the stack, computed by `N` calls
/// of `hvp_ref`.
pub const MAX_HESSIAN: usize = 64;

/// Why `hessian` cannot be generated for a function that has `hvp`: a
/// length is a const generic, or the arguments hold more than
/// [`MAX_HESSIAN`] scalars (or none). `None` when it can.
pub fn hessian_rule(f: &Function) -> Option<String> {
    if let Some(n) = f.consts.first() {
        return Some(format!("the length `{n}` is a const generic"));
    }
    let total: usize = f
        .args
        .iter()
        .map(|a| crate::ast::count(&a.shape).unwrap_or(usize::MAX))
        .fold(0, usize::saturating_add);
    if total > MAX_HESSIAN {
        Some(format!(
            "its arguments hold {total} scalars, more than the {MAX_HESSIAN} a Hessian is built for\n\
             help: `hvp` gives the product of the Hessian with any direction"
        ))
    } else if total == 0 {
        Some("it has no arguments".into())
    } else {
        None
    }
}

/// `hessian`, when [`hessian_rule`] allows it.
///
/// ```text
/// pub fn hessian(x: [f64; 2], b: f64) -> (f64, Grad, [[f64; 3]; 3]) {
///     let mut neuron_v: Grad = Grad { x: zeros, b: zeros };
///     let mut neuron_h = [[0.0; 3]; 3];
///     let (mut neuron_y, mut neuron_g) = (0.0, Grad { x: zeros, b: zeros });
///     for neuron_i in 0..2 {
///         as_mut_slice(&mut neuron_v.x)[neuron_i] = 1.0;
///         let neuron_hv;
///         (neuron_y, neuron_g, neuron_hv) = self::hvp_ref(&x, b, &neuron_v);
///         as_mut_slice(&mut neuron_v.x)[neuron_i] = 0.0;
///         neuron_h[0 + neuron_i][0..2].copy_from_slice(as_slice(&neuron_hv.x));
///         neuron_h[0 + neuron_i][2..3].copy_from_slice(as_slice(&neuron_hv.b));
///     }
///     for neuron_i in 0..1 { .. b, row 2 + neuron_i .. }
///     (neuron_y, neuron_g, neuron_h)
/// }
/// ```
fn hessian(f: &Function, s: &Sig, lend: &[TokenStream]) -> Option<TokenStream> {
    if hessian_rule(f).is_some() {
        return None;
    }
    let lens: Vec<usize> = f
        .args
        .iter()
        .map(|a| crate::ast::count(&a.shape))
        .collect::<Option<_>>()?;
    let total: usize = lens.iter().sum();
    let Sig {
        real,
        generics,
        ty_args,
        args,
        tys,
        ret,
        ..
    } = s;
    let n = Literal::usize_unsuffixed(total);
    let names = [
        "neuron_v",
        "neuron_h",
        "neuron_i",
        "neuron_hv",
        "neuron_y",
        "neuron_g",
    ]
    .map(|n| Ident::new(n, Span::call_site()));
    let [v, h, i, hv, y, g] = &names;
    let tensor = |ty: &syn::Type| quote!(<#ty as ::neuron_core::Tensor<#real>>);
    let zero = quote!(<#real as ::neuron_core::Real>::lit(0.0));
    let one = quote!(<#real as ::neuron_core::Real>::lit(1.0));
    let offsets: Vec<usize> = lens
        .iter()
        .scan(0, |at, &l| {
            let o = *at;
            *at += l;
            Some(o)
        })
        .collect();
    let columns: Vec<TokenStream> = args
        .iter()
        .zip(tys)
        .zip(lens.iter().zip(&offsets))
        .map(|((a, t), (&l, &o))| {
            let tensor = tensor(t);
            let (lo, hi) = (
                Literal::usize_unsuffixed(o),
                Literal::usize_unsuffixed(o + l),
            );
            quote!(#h[#i][#lo..#hi].copy_from_slice(#tensor::as_slice(&#hv.#a));)
        })
        .collect();
    let rows = args
        .iter()
        .zip(tys)
        .zip(lens.iter().zip(&offsets))
        .map(|((a, t), (&l, &o))| {
            let tensor = tensor(t);
            let (len, at) = (Literal::usize_unsuffixed(l), Literal::usize_unsuffixed(o));
            quote! {
                for #i in 0..#len {
                    #tensor::as_mut_slice(&mut #v.#a)[#i] = #one;
                    let #hv;
                    (#y, #g, #hv) = self::hvp_ref(#(#lend,)* &#v);
                    #tensor::as_mut_slice(&mut #v.#a)[#i] = #zero;
                    let #i = #at + #i;
                    #(#columns)*
                }
            }
        });
    let zeros = args.iter().zip(tys).map(|(a, t)| {
        let tensor = tensor(t);
        quote!(#a: #tensor::zeros())
    });
    // Every `hvp_ref` returns the value and the gradient too: the last
    // one's are the result's, so nothing is computed twice.
    let zeros: Vec<TokenStream> = zeros.collect();
    Some(quote! {
        // The first values of `y` and `g` are overwritten by the first row.
        #[allow(unused_assignments)]
        pub fn hessian #generics (#(#args: #tys),*) -> (#ret, Grad #ty_args, [[#real; #n]; #n]) {
            let mut #v: Grad #ty_args = Grad { #(#zeros),* };
            let mut #h = [[#zero; #n]; #n];
            let mut #y = #zero;
            let mut #g: Grad #ty_args = Grad { #(#zeros),* };
            #(#rows)*
            (#y, #g, #h)
        }
    })
}

/// The constants among [`ITEMS`]: an argument named like one would be a
/// constant pattern, not a binding.
pub const CONSTS: &[&str] = &["SOURCE", "DECLARATIONS", "DOT", "COST"];

/// `dy` times the partial `g.<arg>` of rank `rank`, element by element.
fn scale(f: &Function, arg: &Ident, rank: usize) -> TokenStream {
    let (g, i, j) = (local(f, "g"), local(f, "i"), local(f, "j"));
    match rank {
        0 => quote!(dy * #g.#arg),
        1 => quote!(::core::array::from_fn(|#i| dy * #g.#arg[#i])),
        _ => quote!(::core::array::from_fn(|#i| ::core::array::from_fn(|#j| dy * #g.#arg[#i][#j]))),
    }
}

/// A local or parameter of generated code where no argument is in scope
/// (`backward`'s scaling of the gradient, `Model::new`): `name`, short to
/// read, unless a length (a const parameter, in scope there) has that
/// name, and then `neuron_name`, which no length may take.
pub fn local(f: &Function, name: &str) -> Ident {
    if f.consts.iter().any(|c| c.unraw() == name) {
        format_ident!("neuron_{}", name)
    } else {
        format_ident!("{}", name)
    }
}

/// The pretty-printed generated functions.
fn source_text(items: &[Option<&TokenStream>]) -> String {
    let file: TokenStream = items.iter().flatten().map(|&t| t.clone()).collect();
    match syn::parse2::<syn::File>(file.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => file.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::neuron;

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
            text.contains("d_sum = if sum > 0.0 { 1.0 } else if sum <= 0.0 { 0.0 } else { sum }"),
            "{text}"
        );
    }
}
