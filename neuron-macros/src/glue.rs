//! The runtime glue of the generated items: `Params` with its
//! `Parameters` impl, `Model` with its `Model` and `Differentiable` impls,
//! and `Model::forward_backward`, the one-pass training step. What these
//! implement is defined in `neuron_core::model`.

use crate::ast::{Dim, Function, RealType, count};
use crate::emit::Body;
use crate::expand::{TRAIN_GRADS, TRAIN_INPUT, TRAIN_LOSS_GRAD};
use crate::items::{Sig, real_import};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

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

/// `Params` and its `Parameters` impl.
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
    let strings: Vec<String> = names.iter().map(ToString::to_string).collect();
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
pub fn model(f: &Function, s: &Sig, train: Option<&Body>) -> TokenStream {
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
            let dims = a.shape.iter();
            quote!(&[#(#dims),*])
        })
        .collect();
    let sizes = f.args.iter().map(|a| size(&a.shape));
    let total = quote!((0 #(+ #sizes)*));
    let out_len = size(&f.ret_shape);
    let flat = quote!(::neuron_core::model);
    let forward_backward = train.map(|body| forward_backward(f, s, body));
    // The flat views bind each argument to a local of their own, named
    // apart from the user's names, which only appear as field names here.
    let locals: Vec<Ident> = (0..f.args.len())
        .map(|k| Ident::new(&format!("arg_{k}"), Span::call_site()))
        .collect();
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
                self::#name(#(#call_args),*)
            }

            fn backward(&self, input: &Self::Input, dy: &#ret, grads: &mut Self::Params) -> #ret {
                let (y, g) = self::backward(#(#call_args,)* *dy);
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
            const DECLARATIONS: &'static ::neuron_core::custom::Declarations = &self::DECLARATIONS;

            fn eval_flat(flat_args: &[#real], out: &mut [#real]) -> ::core::option::Option<()> {
                if flat_args.len() != #total || out.len() != #out_len {
                    return ::core::option::Option::None;
                }
                let mut offset = 0;
                #(let #locals: #tys = #flat::read_flat(flat_args, &mut offset)?;)*
                let y: #ret = self::#name(#(#locals),*);
                #flat::write_flat(&y, out, &mut 0)
            }

            fn backward_flat(flat_args: &[#real], dy: &[#real], grad: &mut [#real]) -> ::core::option::Option<()> {
                if flat_args.len() != #total || dy.len() != #out_len || grad.len() != #total {
                    return ::core::option::Option::None;
                }
                let mut offset = 0;
                #(let #locals: #tys = #flat::read_flat(flat_args, &mut offset)?;)*
                let dy: #ret = #flat::read_flat(dy, &mut 0)?;
                let (_, g) = self::backward(#(#locals,)* dy);
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
                let m = &a.shape[0];
                match a.shape.get(1) {
                    None => quote! {
                        for #i in 0..#m {
                            #grads.#n[#i] += #elem;
                        }
                    },
                    Some(cols) => {
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
