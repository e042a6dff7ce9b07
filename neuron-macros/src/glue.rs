//! The runtime glue of the generated items: `Params` with its
//! `Parameters` impl, `Model` with its `Model` and `Differentiable` impls,
//! and `Model::forward_backward`, the one-pass training step. What these
//! implement is defined in `neuron_core::model`.

use crate::ast::{Arg, Dim, Function, RealType, count};
use crate::emit::Body;
use crate::expand::{Derived, TRAIN_GRADS, TRAIN_INPUT, TRAIN_LOSS_GRAD, flat_arg};
use crate::items::{Sig, local, preamble};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;

/// Where a generated `Model` method finds each argument: `self.params.w`
/// for a parameter, `(*input)` for the one input, `input.k` for the `k`-th
/// of several.
pub fn arg_places(f: &Function, input: &Ident) -> Vec<TokenStream> {
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

/// The number of scalars of `shape`, as an expression: `12`, or `(M * N)`
/// where a length is a const parameter.
pub fn size(shape: &[Dim]) -> TokenStream {
    match count(shape) {
        Some(n) => {
            let n = Literal::usize_unsuffixed(n);
            quote!(#n)
        }
        None => quote!((1 #(* #shape)*)),
    }
}

/// The hidden field that keeps a generic `Params<T>` without parameters
/// well-formed, and its initializer; nothing otherwise.
pub fn phantom(f: &Function, real: &TokenStream) -> (TokenStream, TokenStream) {
    if f.args.iter().all(|a| !a.param) && matches!(f.real, RealType::Generic(_)) {
        (
            quote!(#[doc(hidden)] pub _real: ::core::marker::PhantomData<#real>,),
            quote!(_real: ::core::marker::PhantomData,),
        )
    } else {
        (quote!(), quote!())
    }
}

/// `Params` and its `Parameters` impl. Array parameters live on the heap
/// (`Box<[[T; I]; O]>`), built there by `Tensor::boxed_zeros`, so that a
/// model of millions of parameters never passes through the stack; scalar
/// parameters are plain fields.
///
/// ```text
/// pub struct Params { pub w: Box<[f64; 3]>, pub b: f64 }
/// impl Params { pub fn new(w: [f64; 3], b: f64) -> Self }
/// impl Parameters<f64> for Params { FIELDS, LEN, zeros, for_each, for_each_mut, zip_mut }
/// ```
pub fn params(f: &Function, s: &Sig) -> TokenStream {
    let Sig {
        real,
        generics,
        ty_args,
        ..
    } = s;
    let params: Vec<_> = f.args.iter().filter(|a| a.param).collect();
    let names: Vec<&Ident> = params.iter().map(|a| &a.name).collect();
    let tys: Vec<&syn::Type> = params.iter().map(|a| &a.ty).collect();
    let field_tys: Vec<TokenStream> = params.iter().map(|a| param_field_ty(a)).collect();
    let strings: Vec<String> = names.iter().map(|n| n.unraw().to_string()).collect();
    let shapes: Vec<TokenStream> = params
        .iter()
        .map(|a| {
            let dims = a.shape.iter();
            quote!(&[#(#dims),*])
        })
        .collect();
    let lens: Vec<TokenStream> = params.iter().map(|a| size(&a.shape)).collect();
    let (marker, marker_init) = phantom(f, real);
    let flat = quote!(::neuron_core::Tensor::<#real>);
    let zeros: Vec<TokenStream> = params
        .iter()
        .zip(&tys)
        .map(|(a, t)| {
            if a.shape.is_empty() {
                quote!(<#real as ::neuron_core::Tensor<#real>>::zeros())
            } else {
                quote!(<#t as ::neuron_core::Tensor<#real>>::boxed_zeros())
            }
        })
        .collect();
    let boxed: Vec<TokenStream> = params
        .iter()
        .map(|a| {
            let n = &a.name;
            if a.shape.is_empty() {
                quote!(#n)
            } else {
                quote!(::neuron_core::model::Box::new(#n))
            }
        })
        .collect();
    // A field as a value of its written type, to read or write in place.
    let place = |a: &&crate::ast::Arg, object: TokenStream| {
        let n = &a.name;
        if a.shape.is_empty() {
            quote!(#object.#n)
        } else {
            quote!((*#object.#n))
        }
    };
    let own: Vec<TokenStream> = params.iter().map(|a| place(a, quote!(self))).collect();
    let other: Vec<TokenStream> = params
        .iter()
        .map(|a| place(a, quote!(neuron_other)))
        .collect();
    let docs: Vec<String> = strings
        .iter()
        .map(|n| format!("The trainable parameter `{n}`."))
        .collect();
    quote! {
        /// The trainable (`#[param]`) arguments; arrays live on the heap.
        #[derive(Clone, Debug, PartialEq)]
        pub struct Params #generics { #(#[doc = #docs] pub #names: #field_tys,)* #marker }

        impl #generics Params #ty_args {
            /// Parameters with the given values, arrays moved to the heap.
            #[allow(clippy::too_many_arguments)]
            pub fn new(#(#names: #tys),*) -> Self {
                Params { #(#names: #boxed,)* #marker_init }
            }
        }

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
                Params { #(#names: #zeros,)* #marker_init }
            }

            fn for_each(&self, mut neuron_f: impl FnMut(usize, #real)) {
                let mut neuron_k = 0;
                #(
                    for &neuron_v in #flat::as_slice(&#own) {
                        neuron_f(neuron_k, neuron_v);
                        neuron_k += 1;
                    }
                )*
                let _ = (neuron_k, &mut neuron_f);
            }

            fn for_each_run(&self, mut neuron_f: impl FnMut(usize, &[#real])) {
                let mut neuron_k = 0;
                #(
                    neuron_f(neuron_k, #flat::as_slice(&#own));
                    neuron_k += #flat::as_slice(&#own).len();
                )*
                let _ = (neuron_k, &mut neuron_f);
            }

            fn for_each_mut(&mut self, mut neuron_f: impl FnMut(usize, &mut #real)) {
                let mut neuron_k = 0;
                #(
                    for neuron_v in #flat::as_mut_slice(&mut #own) {
                        neuron_f(neuron_k, neuron_v);
                        neuron_k += 1;
                    }
                )*
                let _ = (neuron_k, &mut neuron_f);
            }

            fn zip_mut(&mut self, neuron_other: &Self, mut neuron_f: impl FnMut(usize, &mut #real, #real)) {
                let mut neuron_k = 0;
                #(
                    for (neuron_v, &neuron_o) in #flat::as_mut_slice(&mut #own).iter_mut().zip(#flat::as_slice(&#other)) {
                        neuron_f(neuron_k, neuron_v, neuron_o);
                        neuron_k += 1;
                    }
                )*
                let _ = (neuron_k, &mut neuron_f, neuron_other);
            }

            fn zip_runs_mut(&mut self, neuron_other: &Self, mut neuron_f: impl FnMut(usize, &mut [#real], &[#real])) {
                let mut neuron_k = 0;
                #(
                    neuron_f(neuron_k, #flat::as_mut_slice(&mut #own), #flat::as_slice(&#other));
                    neuron_k += #flat::as_slice(&#other).len();
                )*
                let _ = (neuron_k, &mut neuron_f, neuron_other);
            }
        }
    }
}

/// The type of a parameter's field: the written type for a scalar, a box
/// of it for an array.
fn param_field_ty(a: &crate::ast::Arg) -> TokenStream {
    let t = &a.ty;
    if a.shape.is_empty() {
        quote!(#t)
    } else {
        quote!(::neuron_core::model::Box<#t>)
    }
}

/// `Model` and its `Model` and `Differentiable` impls. Every method reads
/// the arguments in place (arrays by reference), so a large model is never
/// copied: `forward` calls `forward_ref`, `backward` is the training step
/// with a given `dy`, and the flat views read their arguments onto the
/// heap and add the adjoints straight into the flat gradient.
pub fn model(f: &Function, s: &Sig, d: Option<&Derived>) -> TokenStream {
    let Sig {
        real,
        generics,
        ty_args,
        tys,
        ret,
        ..
    } = s;
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
    // Each argument, read from `neuron_input` or `self.params`, as the `_ref`
    // functions take it: arrays by reference, scalars by value.
    let by_ref: Vec<TokenStream> = f
        .args
        .iter()
        .zip(arg_places(
            f,
            &Ident::new("neuron_input", Span::call_site()),
        ))
        .map(|(a, place)| {
            if a.shape.is_empty() {
                quote!(#place)
            } else {
                quote!(&#place)
            }
        })
        .collect();
    let field_names: Vec<String> = f.args.iter().map(|a| a.name.unraw().to_string()).collect();
    let field_shapes: Vec<TokenStream> = f
        .args
        .iter()
        .map(|a| {
            let dims = a.shape.iter();
            quote!(&[#(#dims),*])
        })
        .collect();
    let sizes: Vec<TokenStream> = f.args.iter().map(|a| size(&a.shape)).collect();
    let total = quote!((0 #(+ #sizes)*));
    let out_len = size(&f.ret_shape);
    let flat = quote!(::neuron_core::model);
    let forward_backward = d.map(|d| forward_backward(f, s, &d.train));
    // The flat views read each argument into a local of their own (arrays
    // onto the heap), named apart from the user's names.
    let locals: Vec<Ident> = (0..f.args.len())
        .map(|k| Ident::new(&flat_arg(k), Span::call_site()))
        .collect();
    let reads: Vec<TokenStream> = f
        .args
        .iter()
        .zip(&locals)
        .zip(tys)
        .map(|((a, l), t)| {
            if a.shape.is_empty() {
                quote!(let #l: #t = #flat::read_flat(neuron_args, &mut neuron_offset)?;)
            } else {
                quote!(let #l: ::neuron_core::model::Box<#t> = #flat::read_boxed(neuron_args, &mut neuron_offset)?;)
            }
        })
        .collect();
    let local_args: Vec<TokenStream> = f
        .args
        .iter()
        .zip(&locals)
        .map(|(a, l)| {
            if a.shape.is_empty() {
                quote!(#l)
            } else {
                quote!(&#l)
            }
        })
        .collect();
    let backward_flat = d.map_or_else(
        || quote!(::core::option::Option::None),
        |d| {
            let body = &d.flat;
            let bindings: Vec<TokenStream> = f
                .args
                .iter()
                .zip(&locals)
                .map(|(a, l)| {
                    if a.shape.is_empty() {
                        bind(a, quote!(#l))
                    } else {
                        bind(a, quote!(*#l))
                    }
                })
                .collect();
            let args: Vec<&Arg> = f.args.iter().collect();
            let targets: Vec<Target> = sizes
                .iter()
                .scan(quote!(0), |offset, len| {
                    let target = Target::Flat {
                        slice: Ident::new("neuron_grad", Span::call_site()),
                        offset: offset.clone(),
                    };
                    *offset = quote!((#offset + #len));
                    Some(target)
                })
                .collect();
            let accumulate = accumulate(real, body, &args, &targets);
            let stmts = &body.stmts;
            let import = preamble(body, f);
            quote! {
                let mut neuron_offset = 0;
                #(#reads)*
                let dy: #ret = #flat::read_flat(neuron_dy, &mut 0)?;
                for neuron_acc in neuron_grad.iter_mut() {
                    *neuron_acc = <#real as ::neuron_core::Tensor<#real>>::zeros();
                }
                {
                    #import
                    #(#bindings)*
                    #stmts
                    #(#accumulate)*
                }
                ::core::option::Option::Some(())
            }
        },
    );
    // `Model::new(params)`, unless a length is named `params`.
    let params_arg = local(f, "params");
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
            pub fn new(#params_arg: Params #ty_args) -> Self {
                Model { params: #params_arg }
            }
        }

        impl #generics ::core::convert::From<Params #ty_args> for Model #ty_args {
            fn from(#params_arg: Params #ty_args) -> Self {
                Model { params: #params_arg }
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

            fn forward(&self, neuron_input: &Self::Input) -> #ret {
                self::forward_ref(#(#by_ref),*)
            }

            fn backward(&self, neuron_input: &Self::Input, neuron_dy: &#ret, neuron_grads: &mut Self::Params) -> #ret {
                ::neuron_core::Model::forward_backward(self, neuron_input, |_| *neuron_dy, neuron_grads)
            }

            #forward_backward
        }

        impl #generics ::neuron_core::Differentiable for Model #ty_args {
            type Real = #real;
            const ARGS: &'static [::neuron_core::Field] = &[
                #(::neuron_core::Field { name: #field_names, shape: #field_shapes },)*
            ];
            const OUTPUT_LEN: usize = #out_len;
            const DECLARATIONS: &'static ::neuron_core::custom::Declarations = &self::DECLARATIONS;

            fn eval_flat(neuron_args: &[#real], neuron_out: &mut [#real]) -> ::core::option::Option<()> {
                if neuron_args.len() != #total || neuron_out.len() != #out_len {
                    return ::core::option::Option::None;
                }
                let mut neuron_offset = 0;
                #(#reads)*
                let neuron_y: #ret = self::forward_ref(#(#local_args),*);
                #flat::write_flat(&neuron_y, neuron_out, &mut 0)
            }

            fn backward_flat(neuron_args: &[#real], neuron_dy: &[#real], neuron_grad: &mut [#real]) -> ::core::option::Option<()> {
                if neuron_args.len() != #total || neuron_dy.len() != #out_len || neuron_grad.len() != #total {
                    return ::core::option::Option::None;
                }
                #backward_flat
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
///     for (neuron_acc, neuron_part) in Tensor::as_mut_slice(&mut neuron_grads.w).iter_mut().zip(Tensor::as_slice(&d_w)) { *neuron_acc += *neuron_part; }
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
        .map(|(a, place)| bind(a, place))
        .collect();
    let params: Vec<&Arg> = f.args.iter().filter(|a| a.param).collect();
    let targets: Vec<Target> = params
        .iter()
        .map(|a| {
            let n = &a.name;
            Target::Field(quote!(#grads.#n))
        })
        .collect();
    let accumulate = accumulate(real, body, &params, &targets);
    let stmts = &body.stmts;
    let y = &body.roots[0];
    let import = preamble(body, f);
    // The closure's type parameter, named apart from the user's.
    let user_params: Vec<String> = f
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            syn::GenericParam::Type(t) => Some(t.ident.to_string()),
            syn::GenericParam::Const(c) => Some(c.ident.to_string()),
            syn::GenericParam::Lifetime(_) => None,
        })
        .collect();
    let mut closure = String::from("F");
    while user_params.contains(&closure) {
        closure.push('_');
    }
    let closure = Ident::new(&closure, Span::call_site());
    quote! {
        fn forward_backward<#closure: ::core::ops::FnOnce(&#ret) -> #ret>(
            &self,
            #input: &Self::Input,
            #loss_grad: #closure,
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

/// `let x = place;` for a scalar argument, `let x: &[T; N] = &place;` for
/// an array, which a body emitted with `args_by_ref` indexes in place (a
/// parameter's `Box` derefs to the array).
fn bind(a: &Arg, place: TokenStream) -> TokenStream {
    let (n, t) = (&a.name, &a.ty);
    if a.shape.is_empty() {
        quote!(let #n = #place;)
    } else {
        quote!(let #n: &#t = &#place;)
    }
}

/// Where an argument's adjoint is added: a field of a parameter struct
/// (`neuron_grads.w`), or a run of a flat slice starting at `offset`.
pub(crate) enum Target {
    Field(TokenStream),
    Flat { slice: Ident, offset: TokenStream },
}

/// The statements adding each root after the first of an `accumulate`
/// body to its argument's target: in place, element by element, where the
/// body left the adjoint's element unmaterialized, else from the array it
/// computed.
///
/// ```text
/// for i in 0..4 { for j in 0..2 { neuron_grads.w[i][j] += d_sum[i] * x[j]; } }
/// neuron_grad[8 + i] += d_h[i];          // a flat target
/// ```
pub(crate) fn accumulate(
    real: &TokenStream,
    body: &Body,
    args: &[&Arg],
    targets: &[Target],
) -> Vec<TokenStream> {
    let flat = quote!(::neuron_core::Tensor::<#real>);
    let [i, j] = &body.loop_vars;
    args.iter()
        .zip(targets)
        .zip(body.roots[1..].iter().zip(&body.root_elems[1..]))
        .zip(body.delivered[1..].iter())
        // A called neuron's partial added into its target by the callee.
        .filter(|(_, delivered)| !**delivered)
        .map(|(((a, target), (d, elem)), _)| {
            // The element at `index` (`[i][j]`, or a flat position).
            let at = |rank: usize| -> TokenStream {
                match target {
                    Target::Field(place) => match rank {
                        0 => quote!(#place),
                        1 => quote!(#place[#i]),
                        _ => quote!(#place[#i][#j]),
                    },
                    Target::Flat { slice, offset } => match rank {
                        0 => quote!(#slice[#offset]),
                        1 => quote!(#slice[#offset + #i]),
                        _ => {
                            let cols = &a.shape[1];
                            quote!(#slice[#offset + #i * #cols + #j])
                        }
                    },
                }
            };
            if a.shape.is_empty() {
                let place = at(0);
                return quote!(#place += #d;);
            }
            if let Some(elem) = elem {
                // The adjoint's elements are added where they are computed.
                let m = &a.shape[0];
                let place = at(a.shape.len());
                return match a.shape.get(1) {
                    None => quote! {
                        for #i in 0..#m {
                            #place += #elem;
                        }
                    },
                    Some(cols) => quote! {
                        for #i in 0..#m {
                            for #j in 0..#cols {
                                #place += #elem;
                            }
                        }
                    },
                };
            }
            let run = match target {
                Target::Field(place) => quote!(#flat::as_mut_slice(&mut *#place)),
                Target::Flat { slice, offset } => {
                    let len = size(&a.shape);
                    quote!(#slice[#offset..#offset + #len])
                }
            };
            quote! {
                for (neuron_acc, neuron_part) in #run.iter_mut().zip(#flat::as_slice(&#d)) {
                    *neuron_acc += *neuron_part;
                }
            }
        })
        .collect()
}
