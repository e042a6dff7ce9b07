//! Which classes of programs the generator writes. Each class below once
//! broke the macro, as its comment records; all are on, and switching one
//! off narrows the test (to bisect a failure, say). The one class that is
//! off, reserved argument names, is refused by the macro with a compile
//! error (a UI case), so valid programs never use it.

/// One boolean per class of programs that once broke the macro.
pub struct Features {
    /// A constant as the receiver of a method of `f32`/`f64` that the macro
    /// emits, in `f32` and `f64` neurons: the first operand of `max`, `min`
    /// or `powf` (`max(0.5, x)`, `max(0, x)`, `2.0_f64.powf(x)`,
    /// `min(exp(1.0), x)`, `max(x * 0.0, y)`), or an array operand that
    /// simplifies to constants under an element-wise function or a softmax
    /// (`exp(v * 0.0)`, `softmax(v * 0.0)`).
    /// Before the fix: error[E0689]: can't call method `max` on ambiguous numeric
    /// type `{float}` (the literal is emitted untyped, `0.5.max(x)`).
    pub constant_receivers: bool,
    /// Arguments and bindings named as in [`CAPTURED_ARGUMENT_NAMES`] and
    /// [`CAPTURED_BINDING_NAMES`]. Before the fix: wrong values (an argument `s_max`
    /// next to `let s = softmax(x)` is overwritten by the softmax's running
    /// maximum) or compile errors in the generated items (E0308, E0618,
    /// E0277).
    pub captured_names: bool,
    /// Called neurons named as in [`CAPTURED_CALLEE_NAMES`]. Before the fix: the
    /// call resolves to a local of the caller's generated code or to one of
    /// its generated items (E0618 "expected function, found `[f64; 2]`",
    /// E0308, E0061).
    pub captured_callee_names: bool,
    /// Arguments named `dy` or `neuron_*`. Refused: "`dy` is reserved
    /// in a #[neuron] function: generated code uses `dy` for the derivative
    /// passed to `backward` and names starting with `neuron_` for its own".
    pub reserved_argument_names: bool,
    /// The type parameter of a generic neuron named as in
    /// [`CAPTURED_TYPE_PARAMETERS`]. Before the fix: E0403 "the name `F` is already
    /// used for a generic parameter" (`forward_backward<F>`), E0574
    /// "expected struct, variant or union type, found type parameter
    /// `Grad`".
    pub type_parameter_names: bool,
    /// One more point per neuron with a NaN argument: the result must be
    /// NaN wherever the reference's is. Before the fix: `relu`, `max` and `min`
    /// swallow NaN (`relu(NaN) = 0`, `max(NaN, 1) = 1`), and the
    /// `mul-zero` simplification turns `x * 0.0` into `0` (`NaN * 0.0 + 1`
    /// gives 1).
    pub nan_propagation: bool,
}

/// What `build.rs` generates by default: every class of valid programs.
pub const FEATURES: Features = Features {
    constant_receivers: true,
    captured_names: true,
    captured_callee_names: true,
    reserved_argument_names: false,
    type_parameter_names: true,
    nan_propagation: true,
};

/// Argument names that capture or are captured by generated code (`*`
/// stands for any name): the helpers of a softmax `*` (an argument `s_max`
/// is overwritten by the running maximum of `let s = softmax(x)`: 0.2701
/// where 0.0810 is right), the generated constant `SOURCE` (E0308: "`SOURCE`
/// is interpreted as a constant, not a new binding"), and the locals of the
/// generated `Differentiable` impl (`out`, `grad`, `offset`, `flat_args`:
/// E0308; `backward`: E0618 "expected function, found `f64`").
pub const CAPTURED_ARGUMENT_NAMES: &[&str] = &[
    "*_max",
    "*_exp",
    "*_total",
    "*_log_total",
    "out",
    "grad",
    "offset",
    "flat_args",
    "backward",
];

/// Binding names that capture or are captured by generated code: the
/// helpers of a softmax `*` computed after the binding (`let softmax_max =
/// ...` before an unbound `softmax(x)`: wrong values), and `SOURCE` (E0308).
pub const CAPTURED_BINDING_NAMES: &[&str] = &["*_max", "*_exp", "*_total", "*_log_total", "SOURCE"];

/// Names of called neurons that generated code captures: the names it gives
/// values in the caller's bodies (a neuron `prod` called where the caller
/// materializes a product: E0618 "expected function, found `[f64; 2]`"),
/// `dy` and the training step's parameters `neuron_*` (E0618, E0057), and
/// the caller's own generated `gradient` and `backward` (E0308, E0061).
pub const CAPTURED_CALLEE_NAMES: &[&str] = &[
    "c",
    "fill",
    "neg",
    "pow",
    "diff",
    "prod",
    "quot",
    "mask",
    "array",
    "total",
    "matvec_t",
    "partial",
    "*_0",
    "*_1",
    "*_2",
    "*_3",
    "d_*",
    "*_max",
    "*_exp",
    "*_total",
    "*_log_total",
    "grads_*",
    "dy",
    "neuron_input",
    "neuron_loss_grad",
    "neuron_grads",
];

/// Type parameter names that clash with generated items or their generic
/// parameters.
pub const CAPTURED_TYPE_PARAMETERS: &[&str] = &["F", "F_"];

/// Names the macro refuses with a compile error at the name (each class
/// has a UI case in `tests/ui`), so valid programs do not use them: an
/// argument named `dy` or `neuron_*`. The items of a neuron's generated
/// module, which it refuses as a neuron's or generic parameter's name, and
/// its constants, refused as arguments, come from
/// `neuron_macros::__generated_items!()`.
pub const REFUSED_ARGUMENT_NAMES: &[&str] = &["dy", "neuron_*"];
