//! The items a `#[neuron]` function generates for the functions with
//! declared derivatives it calls (`Prim::Custom`), and the record of what
//! its gradient goes through.
//!
//! The macro sees the name of such a function, not its declaration, which
//! is another item that another invocation of a macro (`#[neuron::derivative]`,
//! `#[neuron::surrogate]`) expanded. So the declaration is found by rustc:
//! for each function `f` it calls, the generated module holds a module `f`
//! whose items look up `f::Marker` among the items of the module the
//! `#[neuron]` function is in. A glob import in an inner block shadows a
//! fallback defined in the block around it, so the lookup finds the
//! declaration's marker when there is one and `Undeclared` when there is
//! not; the generated code type-checks either way, and the constant
//! `DECLARATION` reports the missing declaration once, at the call, with a
//! message of its own.
//!
//! ```text
//! mod f {                                                   // in `mod net`
//!     pub const DECLARATION: &Declaration = {
//!         mod f { pub use ::neuron_core::custom::Undeclared as Marker; }   // fallback
//!         { use super::super::*;                            // the user's `f`, if declared
//!           trait Declared { .. }                           // the message if not
//!           <f::Marker as Declared>::DECLARATION }
//!     };
//!     pub fn derivative(x0: f64) -> f64 {                   // `partial_0`, `partial_1`, .. for several arguments
//!         let partial = { mod f { .. } { use super::super::*; <f::Marker as Partials<_, _>>::partial } };
//!         partial(0, (x0,))
//!     }
//! }
//! pub const DECLARATIONS: Declarations = Declarations { direct: &[f::DECLARATION], callees: &[&super::layer::DECLARATIONS] };
//! pub use ::neuron_core::custom::Neuron as Marker;          // what callers find for this function
//! ```
//!
//! `SOURCE` ends with what was declared, which rustc alone knows: its text
//! is assembled from constants at compile time.

use crate::ast::{Function, RealType};
use crate::check::suggestion;
use crate::emit::ident;
use crate::ir::{Graph, Op};
use crate::items::Sig;
use crate::ops::{Custom, Prim};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

/// Names a function with a declared derivative cannot have, as the module
/// generated for it would clash with a type of the generated module.
pub const RESERVED: &[&str] = &["Grad", "Params", "Model", "Marker"];

/// The functions a `#[neuron]` function calls that are not its own body:
/// with declared derivatives, and other `#[neuron]` functions.
#[derive(Default)]
pub struct Calls {
    /// Each declared function once, in the order first called, with the
    /// span of that call's name.
    pub declared: Vec<(Custom, Span)>,
    /// Each `#[neuron]` function called, once, with the span of the call.
    pub neurons: Vec<(String, Span)>,
}

impl Calls {
    /// The calls of the forward graph `g`.
    pub fn of(g: &Graph) -> Calls {
        let mut calls = Calls::default();
        for node in &g.nodes {
            let span = node.origin.map_or_else(Span::call_site, |(sp, _)| sp.first);
            match &node.op {
                Op::Apply(Prim::Custom(c), _)
                    if !calls.declared.iter().any(|(d, _)| d.name == c.name) =>
                {
                    calls.declared.push((*c, span));
                }
                Op::Call { func, .. } if !calls.neurons.iter().any(|(n, _)| n == func) => {
                    calls.neurons.push((func.clone(), span));
                }
                _ => {}
            }
        }
        calls
    }
}

/// The items for `calls` in the generated module: a module per declared
/// function, `DECLARATIONS`, and the module's own `Marker`.
pub fn items(f: &Function, s: &Sig, calls: &Calls) -> TokenStream {
    let modules = calls
        .declared
        .iter()
        .map(|(c, span)| module(f, s, *c, *span));
    let direct = calls.declared.iter().map(|(c, span)| {
        let m = ident(c.name, *span);
        quote!(#m::DECLARATION)
    });
    let callees = calls.neurons.iter().map(|(n, span)| {
        let n = ident(n, *span);
        quote_spanned!(*span=> &super::#n::DECLARATIONS)
    });
    let name = &f.name;
    let doc = format!(
        "The functions with declared derivatives the gradient of [`{name}`](fn@self::{name}) goes \
         through, directly or through the `#[neuron]` functions it calls; `gradcheck` skips a \
         gradient that goes through a surrogate."
    );
    quote! {
        #(#modules)*

        #[doc = #doc]
        pub const DECLARATIONS: ::neuron_core::custom::Declarations = ::neuron_core::custom::Declarations {
            direct: &[#(#direct),*],
            callees: &[#(#callees),*],
        };

        /// What a `#[neuron]` function that calls this one without its
        /// result type written finds: not a declared derivative.
        #[doc(hidden)]
        pub use ::neuron_core::custom::Neuron as Marker;
    }
}

/// The items of a stub (next to a compile error): no calls.
pub fn stub_items(f: &Function, s: &Sig) -> TokenStream {
    items(f, s, &Calls::default())
}

/// The fallback and the glob import that find the marker of `c` among the
/// items of the module of the `#[neuron]` function, from an item of the
/// module generated for `c` (two levels below); `body` uses `c::Marker`.
fn lookup(c: Custom, span: Span, body: TokenStream) -> TokenStream {
    let m = ident(c.name, span);
    quote! {
        {
            #[allow(non_camel_case_types, non_snake_case, dead_code)]
            mod #m {
                pub use ::neuron_core::custom::Undeclared as Marker;
            }
            {
                #[allow(unused_imports)]
                use super::super::*;
                #body
            }
        }
    }
}

/// The module generated for the declared function `c`, first called at
/// `span`.
fn module(f: &Function, s: &Sig, c: Custom, span: Span) -> TokenStream {
    let m = ident(c.name, span);
    let real = &s.real;
    let generics = match &f.real {
        RealType::Generic(t) => quote!(<#t: ::neuron_core::Real>),
        _ => quote!(),
    };
    let marker = quote_spanned!(span=> #m::Marker);
    let declaration = lookup(c, span, {
        let attributes = message(c, &f.real);
        quote! {
            #attributes
            trait Declared {
                const DECLARATION: &'static ::neuron_core::custom::Declaration;
            }
            impl<M: ::neuron_core::custom::Declared> Declared for M {
                const DECLARATION: &'static ::neuron_core::custom::Declaration =
                    &<M as ::neuron_core::custom::Declared>::DECLARATION;
            }
            <#marker as Declared>::DECLARATION
        }
    });
    let partials = (0..c.arity).map(|k| {
        let name = Ident::new(&c.partial_name(k), span);
        let args: Vec<Ident> = (0..c.arity).map(|i| format_ident!("x{}", i)).collect();
        let k_lit = Literal::usize_unsuffixed(usize::from(k));
        let lookup = lookup(
            c,
            span,
            quote!(<#marker as ::neuron_core::custom::Partials<_, _>>::partial),
        );
        let doc = format!(
            "The partial derivative of `{}` with respect to argument {k}, as declared.",
            c.name
        );
        quote! {
            #[doc = #doc]
            #[inline]
            pub fn #name #generics (#(#args: #real),*) -> #real {
                let partial = #lookup;
                partial(#k_lit, (#(#args,)*))
            }
        }
    });
    let doc = format!(
        "`{}`, a function with a declared derivative called by [`{}`](fn@super::{}).",
        c.name, f.name, f.name
    );
    quote! {
        #[doc = #doc]
        #[allow(non_snake_case, non_camel_case_types, dead_code)]
        mod #m {
            /// What `#[neuron::derivative]` or `#[neuron::surrogate]` declared.
            pub const DECLARATION: &'static ::neuron_core::custom::Declaration = #declaration;
            #(#partials)*
        }
    }
}

/// The `#[diagnostic::on_unimplemented]` of the trait that reports a
/// missing declaration of `c`: what is missing and how to declare it, the
/// library's function a typo may have meant, and how to call a `#[neuron]`
/// function instead.
fn message(c: Custom, real: &RealType) -> TokenStream {
    let name = c.name;
    let message = format!("`{name}` has no declared derivative");
    let label =
        "#[neuron] cannot differentiate through a function whose derivative is not declared";
    let declare = if c.arity == 1 {
        format!(
            "declare its derivative with `#[neuron::derivative(d_{name})]` on `fn {name}`, naming the \
             function that computes it, or a surrogate one with `#[neuron::surrogate(..)]`"
        )
    } else {
        let derivatives: Vec<String> = (0..c.arity).map(|k| format!("d{k}_{name}")).collect();
        format!(
            "declare its derivatives with `#[neuron::derivative({})]` on `fn {name}`, one function \
             per argument, each taking the arguments of `{name}`, or surrogate ones with \
             `#[neuron::surrogate(..)]`",
            derivatives.join(", ")
        )
    };
    let real = crate::check::type_name(&[], real);
    let neuron = format!(
        "if `{name}` is another #[neuron] function, bind its result with its type written, \
         such as `let h: [{real}; N] = {name}(..);`"
    );
    let typo = suggestion(name).map(|near| {
        let note = format!("or did you mean the library's `{near}`?");
        quote!(note = #note,)
    });
    quote! {
        #[diagnostic::on_unimplemented(
            message = #message,
            label = #label,
            note = #declare,
            #typo
            note = #neuron,
        )]
    }
}

/// The value of `SOURCE`: the pretty-printed code, and after it, for a
/// function that calls declared ones, what each declaration says, read
/// from the declarations at compile time.
///
/// ```text
/// // Functions with declared derivatives, which #[neuron] calls and does not derive:
/// // `heaviside`, declared with #[neuron::surrogate]:
/// //     heaviside::derivative calls `fast_sigmoid`
/// //     a surrogate: a stand-in for the function's own derivative, ..
/// ```
pub fn source(text: &str, calls: &Calls) -> TokenStream {
    if calls.declared.is_empty() {
        return quote!(#text);
    }
    let custom = quote!(::neuron_core::custom);
    let mut parts = vec![
        quote!(#text),
        quote!(
            "\n// Functions with declared derivatives, which #[neuron] calls and does not derive:\n"
        ),
    ];
    for (c, span) in &calls.declared {
        let m = ident(c.name, *span);
        let decl = quote!(#m::DECLARATION);
        let head = format!("// `{}`, declared with ", c.name);
        parts.push(quote!(#head));
        parts.push(quote!(#custom::attribute(#decl)));
        parts.push(quote!(":\n"));
        for k in 0..c.arity {
            let line = format!("//     {}::{} calls `", c.name, c.partial_name(k));
            let k = Literal::usize_unsuffixed(usize::from(k));
            parts.push(quote!(#line));
            parts.push(quote!(#custom::derivative_name(#decl, #k)));
            parts.push(quote!("`\n"));
        }
        parts.push(quote!(#custom::surrogate_note(#decl)));
    }
    quote! {{
        const PARTS: &[&str] = &[#(#parts),*];
        const LEN: usize = #custom::concat_len(PARTS);
        const BYTES: [u8; LEN] = #custom::concat_bytes::<LEN>(PARTS);
        #custom::utf8(&BYTES)
    }}
}

/// The lines the formulas in the rustdoc of `gradient` end with, for a
/// function that calls declared ones: which calls are declared rather than
/// derived. Whether a declaration is a surrogate only rustc knows, after
/// this text is written; `SOURCE` and `DECLARATIONS` say it.
pub fn doc(calls: &[Custom]) -> String {
    if calls.is_empty() {
        return String::new();
    }
    let mut doc = String::from(
        "\nDeclared, not derived: `#[neuron]` calls these as `#[neuron::derivative]` declared them, \
         or, where `#[neuron::surrogate]` did, as the smooth stand-ins they are (`SOURCE` ends \
         with which, and `DECLARATIONS` holds it):\n\n",
    );
    for c in calls {
        let partials: Vec<String> = (0..c.arity)
            .map(|k| format!("`{}::{}`", c.name, c.partial_name(k)))
            .collect();
        doc.push_str(&format!(
            "- {}: the declared derivative of `{}`\n",
            partials.join(", "),
            c.name
        ));
    }
    doc
}

#[cfg(test)]
mod tests {
    use crate::expand::neuron;
    use quote::quote;

    fn expanded(item: proc_macro2::TokenStream) -> String {
        let out = neuron(proc_macro2::TokenStream::new(), item).unwrap();
        let file: syn::File = syn::parse2(out).unwrap();
        prettyplease::unparse(&file)
    }

    #[test]
    fn a_module_per_declared_function_and_the_record_of_them() {
        let text = expanded(quote! {
            pub fn net(x: [f64; 3], s: f64, #[param] w: [f64; 3]) -> f64 {
                let h: f64 = layer(x, w);
                dot(w, heaviside(x)) + hypot(h, s) + heaviside(s)
            }
        });
        for line in [
            // One module per function, once however often it is called.
            "mod heaviside {",
            "pub fn derivative(x0: f64) -> f64 {",
            "mod hypot {",
            "pub fn partial_1(x0: f64, x1: f64) -> f64 {",
            "<hypot::Marker as ::neuron_core::custom::Partials<_, _>>::partial",
            "partial(1, (x0, x1))",
            "pub use ::neuron_core::custom::Undeclared as Marker;",
            "use super::super::*;",
            "<heaviside::Marker as Declared>::DECLARATION",
            "direct: &[heaviside::DECLARATION, hypot::DECLARATION],",
            "callees: &[&super::layer::DECLARATIONS],",
            "pub use ::neuron_core::custom::Neuron as Marker;",
            "const DECLARATIONS: &'static ::neuron_core::custom::Declarations = &self::DECLARATIONS;",
            "::neuron_core::custom::attribute(heaviside::DECLARATION),",
        ] {
            assert!(text.contains(line), "no {line:?} in\n{text}");
        }
        // `heaviside` is called twice, once for each kind of argument.
        assert_eq!(
            text.matches("pub const DECLARATION: &'static").count(),
            2,
            "{text}"
        );
    }

    #[test]
    fn generic_neurons_get_generic_partials_and_a_plain_source() {
        let text = expanded(quote! {
            pub fn g<T: Real>(x: T) -> T {
                let y = softclip(x);
                y
            }
        });
        assert!(
            text.contains("pub fn derivative<T: ::neuron_core::Real>(x0: T) -> T {"),
            "{text}"
        );
        let text = expanded(quote! {
            pub fn plain(x: f64) -> f64 {
                tanh(x)
            }
        });
        assert!(text.contains("pub const SOURCE: &str = \""), "{text}");
        assert!(text.contains("direct: &[],"), "{text}");
    }
}
