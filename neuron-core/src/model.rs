//! The traits that `#[neuron]` implements for the items it generates, so
//! that optimizers, the training loop and `gradcheck` work with any of them.
//!
//! A hand-written [`Parameters`] may contradict itself (`FIELDS` and `LEN`
//! disagreeing, indices out of order); the runtime checks before relying on
//! it and reports a [`LayoutError`] instead of panicking.
//!
//! Each parameter field is a weight or a bias ([`Role`]), which decides how
//! [`crate::Init`] draws it and which of [`crate::Regularizer`]'s λs apply:
//! by [`Field::role`]'s rule, or by name with [`Roles`]. [`Summary`] lists
//! the fields with their shapes and counts.

use crate::custom::Declarations;
use crate::real::{Real, Tensor};
/// The box of a generated `Params`' array fields, re-exported so that
/// generated code names it without `std` (it is `std::boxed::Box`).
#[doc(no_inline)]
pub use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The name and shape of one argument or parameter field.
///
/// `shape` is empty for a scalar, `[n]` for `[T; n]` and `[m, n]` for
/// `[[T; n]; m]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The argument's name as written in the function.
    pub name: &'static str,
    /// Its dimensions, outermost first.
    pub shape: &'static [usize],
}

impl Field {
    /// How many scalars the field holds; `usize::MAX` for a shape whose
    /// product overflows (which no value can have).
    pub fn len(&self) -> usize {
        shape_len(self.shape)
    }

    /// Whether the field holds no scalar at all (an array of length 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the field is a weight or a bias, by default:
    ///
    /// - a matrix (`[[T; I]; O]`, or any rank of 2 or more) is a weight;
    /// - a vector or a scalar is a bias when its name is `b`, `b`
    ///   followed by digits or by `_` and anything (`b1`, `b_out`), or
    ///   begins with `bias` (`bias`, `biases`, `bias2`);
    /// - any other vector or scalar is a weight (the `w` of
    ///   `dot(w, x) + b`).
    ///
    /// [`Roles`] overrides the rule field by field.
    pub fn role(&self) -> Role {
        let name = self.name.strip_prefix("r#").unwrap_or(self.name);
        let after_b = name.strip_prefix('b');
        let bias_name = name.starts_with("bias")
            || after_b.is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('_') || rest.bytes().all(|c| c.is_ascii_digit())
            });
        if self.shape.len() < 2 && bias_name {
            Role::Bias
        } else {
            Role::Weight
        }
    }

    /// The field's fan-in and fan-out, as a weight: a matrix `[[T; I]; O]`
    /// maps `I` inputs to `O` outputs, so `(I, O)` (for a higher rank, the
    /// product of the inner dimensions and the outermost one); a vector
    /// `[T; N]` is one unit's `N` input weights, `(N, 1)`; a scalar is
    /// `(1, 1)`. Overflow saturates at `usize::MAX`.
    pub fn fans(&self) -> (usize, usize) {
        match self.shape {
            [] => (1, 1),
            [n] => (*n, 1),
            [outer, inner @ ..] => (shape_len(inner), *outer),
        }
    }
}

/// What a parameter field is for: it decides how [`crate::Init`] draws it
/// (a weight from its distribution, a bias as zeros) and which of
/// [`crate::Regularizer`]'s λs apply to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A weight: multiplies an input.
    Weight,
    /// A bias: added.
    Bias,
}

impl core::fmt::Display for Role {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Role::Weight => "weight",
            Role::Bias => "bias",
        })
    }
}

/// The role of each parameter field: [`Field::role`]'s rule, overridden
/// by name.
///
/// ```
/// use neuron_core::{Field, Role, Roles};
///
/// let gamma = Field { name: "gamma", shape: &[4] };
/// assert_eq!(gamma.role(), Role::Weight);
/// assert_eq!(Roles::new().bias("gamma").role(&gamma), Role::Bias);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    overrides: Vec<(String, Role)>,
}

impl Roles {
    /// The default rule, without overrides.
    pub fn new() -> Self {
        Roles::default()
    }

    /// Makes the field `name` a weight.
    pub fn weight(self, name: &str) -> Self {
        self.with(name, Role::Weight)
    }

    /// Makes the field `name` a bias.
    pub fn bias(self, name: &str) -> Self {
        self.with(name, Role::Bias)
    }

    /// Gives the field `name` the role `role`; a later call for the same
    /// name wins.
    pub fn with(mut self, name: &str, role: Role) -> Self {
        self.overrides.retain(|(n, _)| n != name);
        self.overrides.push((name.to_string(), role));
        self
    }

    /// The role of `field`: its override, else [`Field::role`].
    pub fn role(&self, field: &Field) -> Role {
        self.overrides
            .iter()
            .find(|(name, _)| name == field.name)
            .map_or_else(|| field.role(), |&(_, role)| role)
    }

    /// Checks that every overridden name is one of `fields`.
    ///
    /// # Errors
    ///
    /// [`UnknownParameter`] naming the first that is not, and the fields
    /// there are.
    pub fn check(&self, fields: &[Field]) -> Result<(), UnknownParameter> {
        match self
            .overrides
            .iter()
            .find(|(name, _)| fields.iter().all(|f| f.name != name))
        {
            Some((name, _)) => Err(UnknownParameter {
                name: name.clone(),
                known: fields.iter().map(|f| f.name).collect(),
            }),
            None => Ok(()),
        }
    }

    /// The role of each scalar's field, in flat order: for each field, the
    /// index one past its last scalar, and its role.
    pub(crate) fn ranges(&self, fields: &[Field]) -> Vec<(usize, Role)> {
        let mut end = 0usize;
        fields
            .iter()
            .map(|field| {
                end = end.saturating_add(field.len());
                (end, self.role(field))
            })
            .collect()
    }
}

/// A name given to [`Roles`] (through [`crate::Init`] or
/// [`crate::Regularizer`]) that is not a parameter of the model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "there is no parameter named `{name}`; the parameters are {}",
    known_list(known)
)]
pub struct UnknownParameter {
    /// The name given.
    pub name: String,
    /// The parameters' names.
    pub known: Vec<&'static str>,
}

/// `` `w`, `b` `` or `none`.
fn known_list(known: &[&str]) -> String {
    if known.is_empty() {
        "none".to_string()
    } else {
        let names: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
        names.join(", ")
    }
}

/// The parameters of a model, field by field, like Keras' `summary()`:
/// each field's name, shape, number of scalars and role, and the total.
///
/// ```
/// use neuron_core::{Field, Summary};
///
/// let summary = Summary::of_fields(&[
///     Field { name: "w1", shape: &[32, 64] },
///     Field { name: "b1", shape: &[32] },
/// ]);
/// assert_eq!(summary.total, 2080);
/// assert_eq!(
///     summary.to_string(),
///     "parameter  shape     count  role\n\
///      w1         [32, 64]  2,048  weight\n\
///      b1         [32]         32  bias\n\
///      total                2,080\n"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// One row per field, in declaration order.
    pub rows: Vec<SummaryRow>,
    /// The number of scalars of all fields (saturating).
    pub total: usize,
}

/// One field of a [`Summary`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// The field's name.
    pub name: &'static str,
    /// Its dimensions, outermost first.
    pub shape: &'static [usize],
    /// How many scalars it holds.
    pub count: usize,
    /// Its role by the default rule ([`Field::role`]).
    pub role: Role,
}

impl Summary {
    /// The summary of `fields`, with roles by the default rule.
    pub fn of_fields(fields: &'static [Field]) -> Self {
        Summary::with_roles(fields, &Roles::new())
    }

    /// The summary of `fields`, with roles by `roles`.
    pub fn with_roles(fields: &'static [Field], roles: &Roles) -> Self {
        let rows: Vec<SummaryRow> = fields
            .iter()
            .map(|field| SummaryRow {
                name: field.name,
                shape: field.shape,
                count: field.len(),
                role: roles.role(field),
            })
            .collect();
        let total = rows.iter().fold(0usize, |n, r| n.saturating_add(r.count));
        Summary { rows, total }
    }

    /// The summary of a parameter type's fields.
    pub fn of<T: Real, P: Parameters<T>>() -> Self {
        Summary::of_fields(P::FIELDS)
    }
}

/// The summary of `model`'s parameters: `println!("{}", summary(&model))`.
pub fn summary<M: Model>(model: &M) -> Summary {
    let _ = model;
    Summary::of::<M::Real, M::Params>()
}

/// `4096` as `4,096`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl core::fmt::Display for Summary {
    /// A table: a header, one line per field and the total, columns
    /// aligned, names and shapes to the left and counts to the right.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let shape = |s: &[usize]| {
            let dims: Vec<String> = s.iter().map(ToString::to_string).collect();
            format!("[{}]", dims.join(", "))
        };
        let cells: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.name.to_string(),
                    shape(r.shape),
                    grouped(r.count),
                    r.role.to_string(),
                ]
            })
            .collect();
        let total = grouped(self.total);
        let width = |k: usize, header: &str, extra: &str| {
            cells
                .iter()
                .map(|c| c[k].chars().count())
                .chain([header.chars().count(), extra.chars().count()])
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2) = (
            width(0, "parameter", "total"),
            width(1, "shape", ""),
            width(2, "count", &total),
        );
        writeln!(
            f,
            "{:<w0$}  {:<w1$}  {:>w2$}  role",
            "parameter", "shape", "count"
        )?;
        for [name, shape, count, role] in &cells {
            writeln!(f, "{name:<w0$}  {shape:<w1$}  {count:>w2$}  {role}")?;
        }
        writeln!(f, "{:<w0$}  {:<w1$}  {total:>w2$}", "total", "")
    }
}

/// A struct of trainable parameters (a generated `Params`), seen as one flat
/// sequence of scalars: fields in declaration order, arrays row-major.
///
/// The gradient of a model with respect to its parameters has the same type,
/// so optimizers walk the two side by side with [`Parameters::zip_mut`].
pub trait Parameters<T: Real>: Clone + core::fmt::Debug {
    /// Each field's name and shape, in declaration order.
    const FIELDS: &'static [Field];
    /// The total number of scalars.
    const LEN: usize;

    /// All parameters zero.
    fn zeros() -> Self;

    /// Calls `f(k, value)` for the `k`-th scalar, in flat order.
    fn for_each(&self, f: impl FnMut(usize, T));

    /// Calls `f(k, &mut value)` for the `k`-th scalar, in flat order.
    fn for_each_mut(&mut self, f: impl FnMut(usize, &mut T));

    /// Calls `f(k, &mut self_k, other_k)` for every scalar pair.
    fn zip_mut(&mut self, other: &Self, f: impl FnMut(usize, &mut T, T));

    /// Calls `f(k, run)` for runs of scalars that lie side by side, `k`
    /// being the flat index of the run's first scalar; the runs cover every
    /// scalar once, in the order of [`Parameters::for_each`].
    ///
    /// The default gives runs of one scalar, through `for_each`. Generated
    /// parameters give one run per field, so that a pass over every scalar
    /// (a copy, a check that each is finite) is a loop over slices.
    fn for_each_run(&self, mut f: impl FnMut(usize, &[T])) {
        self.for_each(|k, v| f(k, core::slice::from_ref(&v)));
    }

    /// Calls `f(k, run, other_run)` for runs of scalars that lie side by
    /// side in both: `run` and `other_run` have the same length, `k` is
    /// the flat index of their first scalar, and the runs cover every
    /// scalar once, in the order of [`Parameters::zip_mut`].
    ///
    /// The default gives runs of one scalar, through `zip_mut`. Generated
    /// parameters give one run per field, so that an element-wise update
    /// (an optimizer's step, a sum of gradients) is one loop over slices
    /// that vectorizes.
    fn zip_runs_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut [T], &[T])) {
        self.zip_mut(other, |k, w, o| {
            f(k, core::slice::from_mut(w), core::slice::from_ref(&o));
        });
    }

    /// The scalars in flat order.
    fn to_vec(&self) -> Vec<T> {
        let mut out = Vec::with_capacity(Self::LEN);
        self.for_each(|_, v| out.push(v));
        out
    }

    /// Builds parameters from scalars in flat order, or `None` if `values`
    /// does not hold exactly [`Parameters::LEN`] of them, or if
    /// [`Parameters::for_each_mut`] does not visit exactly `LEN` scalars
    /// numbered `0, 1, 2, ...` (an inconsistent implementation).
    fn from_slice(values: &[T]) -> Option<Self> {
        if values.len() != Self::LEN {
            return None;
        }
        filled(values).ok()
    }

    /// Sets every scalar to zero.
    fn set_zero(&mut self) {
        self.for_each_mut(|_, v| *v = T::zero());
    }

    /// Parameters drawn independently from a normal distribution with mean
    /// zero and standard deviation `scale`, reproducibly from `seed`: the
    /// usual starting point for training (the "Neural Networks from
    /// Scratch" book uses `0.01 * randn` for weights). This and the
    /// initializations below need the `std` feature.
    #[cfg(feature = "std")]
    fn random(scale: f64, seed: u64) -> Self {
        let mut normal = crate::data::NormalSampler::new(seed);
        let mut params = Self::zeros();
        params.for_each_mut(|_, v| *v = T::lit(scale * normal.sample()));
        params
    }

    /// Glorot (Xavier) uniform weights and zero biases, reproducibly from
    /// `seed` (see [`crate::init`]); for `tanh` and `sigmoid` layers.
    #[cfg(feature = "std")]
    fn glorot_uniform(seed: u64) -> Self {
        initialized(crate::init::Scheme::GlorotUniform, seed)
    }

    /// Glorot (Xavier) normal weights and zero biases (see
    /// [`crate::init`]).
    #[cfg(feature = "std")]
    fn glorot_normal(seed: u64) -> Self {
        initialized(crate::init::Scheme::GlorotNormal, seed)
    }

    /// He uniform weights and zero biases (see [`crate::init`]).
    #[cfg(feature = "std")]
    fn he_uniform(seed: u64) -> Self {
        initialized(crate::init::Scheme::HeUniform, seed)
    }

    /// He normal weights and zero biases, reproducibly from `seed` (see
    /// [`crate::init`]); for `relu` layers.
    #[cfg(feature = "std")]
    fn he_normal(seed: u64) -> Self {
        initialized(crate::init::Scheme::HeNormal, seed)
    }
}

/// Parameters drawn by `scheme` with the default roles.
#[cfg(feature = "std")]
fn initialized<T: Real, P: Parameters<T>>(scheme: crate::init::Scheme, seed: u64) -> P {
    let mut params = P::zeros();
    // Without overrides no name can be unknown.
    let _ = crate::init::Init::new(scheme).fill(&mut params, seed);
    params
}

/// How many scalars a value of `shape` holds; `usize::MAX` when the
/// product overflows.
pub(crate) fn shape_len(shape: &[usize]) -> usize {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .unwrap_or(usize::MAX)
}

/// The sum of the fields' lengths, `None` if it overflows.
// Used by the `std` modules (gradient checks, params files, training).
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) fn fields_len(fields: &[Field]) -> Option<usize> {
    fields
        .iter()
        .try_fold(0usize, |n, field| n.checked_add(field.len()))
}

/// How a hand-written [`Parameters`] implementation contradicts itself.
/// Generated ones never do; the runtime checks before it relies on it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// `FIELDS` and `LEN` count different numbers of scalars.
    #[error(
        "inconsistent parameters: FIELDS hold {} scalars but LEN is {len}",
        fields.map_or_else(|| "more than usize::MAX".to_string(), |n| n.to_string())
    )]
    FieldsAndLen {
        /// The sum of the fields' lengths, `None` when it overflows.
        fields: Option<usize>,
        /// `LEN`.
        len: usize,
    },
    /// A method visits the scalars out of order or not `LEN` of them.
    #[error(
        "inconsistent parameters: {method} visits {} where LEN is {len}",
        match misnumbered {
            Some((position, index)) => format!("scalar {position} as index {index}"),
            None => format!("{visited} scalars"),
        }
    )]
    Visits {
        /// `for_each`, `for_each_run`, `for_each_mut`, `zip_mut` or
        /// `zip_runs_mut`.
        method: &'static str,
        /// How many scalars it visited.
        visited: usize,
        /// The first visit whose index was not its position, as
        /// `(position, index)`.
        misnumbered: Option<(usize, usize)>,
        /// `LEN`.
        len: usize,
    },
}

/// Counts the indices a `for_each`-like method passes, checking that they
/// are `0, 1, 2, ...`.
#[derive(Default)]
pub(crate) struct Visits {
    visited: usize,
    misnumbered: Option<(usize, usize)>,
}

impl Visits {
    /// Records a visit of index `k`; whether it is the expected one.
    pub(crate) fn next(&mut self, k: usize) -> bool {
        let expected = k == self.visited;
        if !expected && self.misnumbered.is_none() {
            self.misnumbered = Some((self.visited, k));
        }
        self.visited = self.visited.saturating_add(1);
        expected
    }

    /// Whether the visits numbered exactly `0..len`.
    pub(crate) fn check(self, method: &'static str, len: usize) -> Result<(), LayoutError> {
        if self.misnumbered.is_none() && self.visited == len {
            Ok(())
        } else {
            Err(LayoutError::Visits {
                method,
                visited: self.visited,
                misnumbered: self.misnumbered,
                len,
            })
        }
    }
}

/// Parameters holding `values` (`P::LEN` of them) in flat order, or the
/// error of a [`Parameters::for_each_mut`] that does not visit exactly the
/// indices `0..LEN` in order.
pub(crate) fn filled<T: Real, P: Parameters<T>>(values: &[T]) -> Result<P, LayoutError> {
    let mut params = P::zeros();
    let mut visits = Visits::default();
    params.for_each_mut(|k, v| {
        if visits.next(k)
            && let Some(&value) = values.get(k)
        {
            *v = value;
        }
    });
    visits.check("for_each_mut", P::LEN)?;
    Ok(params)
}

/// Checks that `P::FIELDS` and `P::LEN` agree and that
/// [`Parameters::for_each`] visits `LEN` scalars in order.
// Used by the `std` modules (gradient checks, params files, training).
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) fn check_fields<T: Real, P: Parameters<T>>(params: &P) -> Result<(), LayoutError> {
    let fields = fields_len(P::FIELDS);
    if fields != Some(P::LEN) {
        return Err(LayoutError::FieldsAndLen {
            fields,
            len: P::LEN,
        });
    }
    let mut visits = Visits::default();
    params.for_each(|k, _| {
        visits.next(k);
    });
    visits.check("for_each", P::LEN)?;
    let mut visits = Visits::default();
    params.for_each_run(|k, run| {
        for i in 0..run.len() {
            visits.next(k.saturating_add(i));
        }
    });
    visits.check("for_each_run", P::LEN)
}

/// [`check_fields`], and the same of [`Parameters::for_each_mut`] and
/// [`Parameters::zip_mut`] (which leave `params` and `other` unchanged
/// here), so that everything an optimizer calls is known to agree.
// Used by the `std` modules (gradient checks, params files, training).
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) fn check_layout<T: Real, P: Parameters<T>>(
    params: &mut P,
    other: &P,
) -> Result<(), LayoutError> {
    check_fields(params)?;
    let mut visits = Visits::default();
    params.for_each_mut(|k, _| {
        visits.next(k);
    });
    visits.check("for_each_mut", P::LEN)?;
    let mut visits = Visits::default();
    params.zip_mut(other, |k, _, _| {
        visits.next(k);
    });
    visits.check("zip_mut", P::LEN)?;
    let mut visits = Visits::default();
    params.zip_runs_mut(other, |k, run, other_run| {
        // A run whose two sides differ in length is misnumbered where the
        // shorter one ends.
        let common = run.len().min(other_run.len());
        for i in 0..run.len().max(other_run.len()) {
            visits.next(if i < common {
                k.saturating_add(i)
            } else {
                usize::MAX
            });
        }
    });
    visits.check("zip_runs_mut", P::LEN)
}

/// A model that can be trained: a generated `Model` type.
///
/// `Input` is the one non-parameter argument's type, or a tuple of them in
/// declaration order when there are several (`()` when there are none).
pub trait Model {
    /// The float type.
    type Real: Real;
    /// The non-parameter arguments.
    type Input;
    /// The function's return type: a scalar or `[T; K]`.
    type Output: Tensor<Self::Real>;
    /// The trainable parameters.
    type Params: Parameters<Self::Real>;

    /// The current parameters.
    fn params(&self) -> &Self::Params;

    /// The current parameters, for an optimizer to update.
    fn params_mut(&mut self) -> &mut Self::Params;

    /// The function's value at `input` with the current parameters.
    fn forward(&self, input: &Self::Input) -> Self::Output;

    /// Returns the forward value and adds `dy`-weighted parameter gradients
    /// (the vector-Jacobian product) into `grads`, so a mini-batch
    /// accumulates by calling this once per sample.
    fn backward(
        &self,
        input: &Self::Input,
        dy: &Self::Output,
        grads: &mut Self::Params,
    ) -> Self::Output;

    /// One training sample in one pass: computes the output, asks
    /// `loss_grad` for the derivative of the loss with respect to it, and
    /// adds the parameter gradients that follow into `grads`. Returns the
    /// output.
    ///
    /// The default calls [`Model::forward`] then [`Model::backward`];
    /// generated models run the forward pass once and skip the gradients of
    /// the inputs, which training does not need.
    fn forward_backward<F: FnOnce(&Self::Output) -> Self::Output>(
        &self,
        input: &Self::Input,
        loss_grad: F,
        grads: &mut Self::Params,
    ) -> Self::Output {
        let y = self.forward(input);
        let dy = loss_grad(&y);
        self.backward(input, &dy, grads);
        y
    }
}

/// Every generated neuron, seen as a function of one flat vector of all its
/// arguments (inputs and parameters alike, in declaration order), so that
/// [`crate::gradcheck()`] can perturb any argument.
pub trait Differentiable {
    /// The float type.
    type Real: Real;
    /// Every argument's name and shape, in declaration order.
    const ARGS: &'static [Field];
    /// How many scalars the output holds.
    const OUTPUT_LEN: usize;
    /// The functions with declared derivatives (`#[neuron::derivative]`,
    /// `#[neuron::surrogate]`) the gradient goes through, directly or
    /// through the `#[neuron]` functions it calls. A gradient that goes
    /// through a surrogate is by design not the function's, and
    /// [`crate::gradcheck()`] reports it as not checked.
    const DECLARATIONS: &'static Declarations = &Declarations::NONE;

    /// Evaluates the function: `args` holds every argument flattened,
    /// `out` receives the output flattened.
    ///
    /// Returns `None`, touching nothing, when a slice has the wrong length.
    fn eval_flat(args: &[Self::Real], out: &mut [Self::Real]) -> Option<()>;

    /// The vector-Jacobian product: writes into `grad` (shaped like `args`)
    /// the derivative of `dot(dy, f(args))` with respect to every argument.
    ///
    /// Returns `None`, touching nothing, when a slice has the wrong length.
    fn backward_flat(args: &[Self::Real], dy: &[Self::Real], grad: &mut [Self::Real])
    -> Option<()>;
}

/// Refuses an array length of 0, as `#[neuron]` refuses a literal
/// `[T; 0]`: each generated body of a neuron with const-generic lengths
/// evaluates `const { nonzero_length(N) }` for each of them, so that an
/// instantiation at 0 is a compile error at that `N` (reported by `cargo
/// build`, which instantiates generic code, not by `cargo check`).
///
/// # Panics
///
/// When `n` is 0, during compilation.
pub const fn nonzero_length(n: usize) {
    assert!(
        n > 0,
        "an array in a #[neuron] function must have at least one element: this length is 0"
    );
}

/// Reads a value of type `V` from `src` starting at `*offset`, and moves the
/// offset past it; `None` if `src` is too short.
pub fn read_flat<T: Real, V: Tensor<T>>(src: &[T], offset: &mut usize) -> Option<V> {
    let mut value = V::zeros();
    let n = value.as_slice().len();
    let part = src.get(*offset..offset.checked_add(n)?)?;
    value.as_mut_slice().copy_from_slice(part);
    *offset += n;
    Some(value)
}

/// [`read_flat`] onto the heap: the value is built there, so a large
/// argument does not pass through the stack.
pub fn read_boxed<T: Real, V: Tensor<T>>(src: &[T], offset: &mut usize) -> Option<Box<V>> {
    let mut value = V::boxed_zeros();
    let n = value.as_slice().len();
    let part = src.get(*offset..offset.checked_add(n)?)?;
    value.as_mut_slice().copy_from_slice(part);
    *offset += n;
    Some(value)
}

/// Writes `value` into `dst` starting at `*offset`, and moves the offset
/// past it; `None` if `dst` is too short.
pub fn write_flat<T: Real, V: Tensor<T>>(
    value: &V,
    dst: &mut [T],
    offset: &mut usize,
) -> Option<()> {
    let part = value.as_slice();
    dst.get_mut(*offset..offset.checked_add(part.len())?)?
        .copy_from_slice(part);
    *offset += part.len();
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three scalars whose `zip_runs_mut` and `for_each_run` give the runs
    /// they are built with; every other method is consistent.
    #[derive(Clone, Debug)]
    struct Runs {
        v: [f64; 3],
        /// Each run of `zip_runs_mut`: its `k`, the length of `self`'s side
        /// and of `other`'s.
        runs: &'static [(usize, usize, usize)],
        /// Each run of `for_each_run`: its `k` and length.
        own_runs: &'static [(usize, usize)],
    }

    impl Parameters<f64> for Runs {
        const FIELDS: &'static [Field] = &[Field {
            name: "v",
            shape: &[3],
        }];
        const LEN: usize = 3;

        fn zeros() -> Self {
            Runs {
                v: [0.0; 3],
                runs: &[(0, 3, 3)],
                own_runs: &[(0, 3)],
            }
        }

        fn for_each(&self, mut f: impl FnMut(usize, f64)) {
            for (k, &v) in self.v.iter().enumerate() {
                f(k, v);
            }
        }

        fn for_each_mut(&mut self, mut f: impl FnMut(usize, &mut f64)) {
            for (k, v) in self.v.iter_mut().enumerate() {
                f(k, v);
            }
        }

        fn zip_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut f64, f64)) {
            for (k, (v, &o)) in self.v.iter_mut().zip(&other.v).enumerate() {
                f(k, v, o);
            }
        }

        fn for_each_run(&self, mut f: impl FnMut(usize, &[f64])) {
            let mut start = 0;
            for &(k, len) in self.own_runs {
                let end = (start + len).min(3);
                f(k, &self.v[start..end]);
                start = end;
            }
        }

        fn zip_runs_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut [f64], &[f64])) {
            let mut start = 0;
            for &(k, mine, theirs) in self.runs {
                let end = (start + mine).min(3);
                f(
                    k,
                    &mut self.v[start..end],
                    &other.v[start..(start + theirs).min(3)],
                );
                start = end;
            }
        }
    }

    #[test]
    fn runs_that_do_not_cover_the_scalars_in_order_are_layout_errors() {
        let check = |runs: &'static [(usize, usize, usize)]| {
            let mut params = Runs {
                v: [0.0; 3],
                runs,
                own_runs: &[(0, 3)],
            };
            let other = params.clone();
            check_layout(&mut params, &other)
        };
        assert_eq!(check(&[(0, 3, 3)]), Ok(()));
        assert_eq!(check(&[(0, 1, 1), (1, 2, 2)]), Ok(()));
        // A run numbered from the wrong scalar.
        assert_eq!(
            check(&[(0, 1, 1), (2, 2, 2)]),
            Err(LayoutError::Visits {
                method: "zip_runs_mut",
                visited: 3,
                misnumbered: Some((1, 2)),
                len: 3,
            })
        );
        // Two sides of different lengths.
        assert_eq!(
            check(&[(0, 2, 1), (2, 1, 1)]),
            Err(LayoutError::Visits {
                method: "zip_runs_mut",
                visited: 3,
                misnumbered: Some((1, usize::MAX)),
                len: 3,
            })
        );
        // Scalars left out.
        let err = check(&[(0, 2, 2)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "inconsistent parameters: zip_runs_mut visits 2 scalars where LEN is 3"
        );
        // `for_each_run`, which `check_fields` checks.
        let fields = |own_runs: &'static [(usize, usize)]| {
            check_fields(&Runs {
                v: [0.0; 3],
                runs: &[(0, 3, 3)],
                own_runs,
            })
        };
        assert_eq!(fields(&[(0, 1), (1, 2)]), Ok(()));
        let err = fields(&[(0, 1), (2, 2)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "inconsistent parameters: for_each_run visits scalar 1 as index 2 where LEN is 3"
        );
    }

    #[test]
    fn flat_reads_and_writes_past_the_end_are_none_not_panics() {
        let src = [1.0, 2.0, 3.0];
        let mut offset = usize::MAX;
        assert_eq!(read_flat::<f64, [f64; 2]>(&src, &mut offset), None);
        let mut dst = [0.0; 3];
        assert_eq!(write_flat(&[1.0f64, 2.0], &mut dst, &mut offset), None);
        let mut offset = 1;
        assert_eq!(
            read_flat::<f64, [f64; 2]>(&src, &mut offset),
            Some([2.0, 3.0])
        );
        assert_eq!(offset, 3);
    }

    #[test]
    fn absurd_shapes_saturate_instead_of_overflowing() {
        let field = Field {
            name: "w",
            shape: &[usize::MAX, 2],
        };
        assert_eq!(field.len(), usize::MAX);
        assert_eq!(fields_len(&[field, field]), None);
        assert_eq!(crate::params_io::element_name(&field, 5), "w[2][1]");
        let huge = Field {
            name: "h",
            shape: &[2, usize::MAX, 2],
        };
        assert_eq!(crate::params_io::element_name(&huge, 5), "h[0][2][1]");
    }
}
