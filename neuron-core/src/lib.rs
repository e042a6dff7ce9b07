//! Runtime for `#[neuron]`: the float trait, the traits generated code
//! implements, and what trains and checks it.
//!
//! Users depend on this crate alone; it re-exports the macro.
//!
//! | module | job |
//! | --- | --- |
//! | [`real`] | [`Real`] (f32, f64), [`Tensor`] (a scalar or array output) and [`Scalars`] (any input) |
//! | [`model`] | [`Parameters`], [`Model`], [`Differentiable`]: what the macro implements; [`LayoutError`]; weights and biases ([`Role`], [`Roles`]); [`Summary`] |
//! | [`init`] | [`Init`]: Glorot (Xavier) and He initialization |
//! | [`optim`] | [`Sgd`], [`Adagrad`], [`RmsProp`], [`Adam`] behind [`Optimizer`]; learning-rate [`Schedule`]s; [`HyperparameterError`] |
//! | [`loss`] | [`Output`], [`MeanSquaredError`], [`BinaryCrossEntropy`], [`SoftmaxCrossEntropy`] behind [`Loss`] |
//! | [`regularize`] | [`Regularizer`]: L1 and L2 of weights and biases |
//! | [`dropout`] | training and inference modes, and the masks dropout draws |
//! | [`train`] | [`Trainer`]: checked inputs, epochs of seeded mini-batches, validation, [`EarlyStopping`], callbacks, clipping, [`History`], [`TrainError`]; with the `parallel` feature, `Trainer::parallel`: mini-batches on several threads, bit-identical for any number of them |
//! | [`gradcheck`](mod@gradcheck) | [`gradcheck()`] and [`gradcheck_random`]: gradients against finite differences |
//! | [`trace`] | [`Trace`]: the chain rule at one point, step by step, as `NAME::trace` returns it |
//! | [`cost`] | [`Cost`]: the operations of the forward and backward passes, `NAME::COST` |
//! | [`custom`] | [`Declaration`], [`Declarations`]: functions whose derivatives are declared with [`derivative`] or [`surrogate`] |
//! | [`data`] | [`spiral`], [`vertical`], [`sine`] toy sets, [`load_csv`] and [`split`] |
//! | [`params_io`] | [`save_params`] (atomic) and [`load_params`] (streaming) as JSON |
//!
//! The default `std` feature gives every module. Without it the crate is
//! `#![no_std]` (with `alloc`): `#[neuron]` and everything it generates,
//! [`real`], [`model`], [`custom`], [`optim`], [`loss`] and [`regularize`];
//! [`dropout`]'s masks (always inference: no thread is training); `init`,
//! `train`, `gradcheck`, `data` and `params_io` need `std`, as do
//! dropout's training mode and the random initializations. The
//! `parallel` feature (which turns `std` on) adds `Trainer::parallel`:
//! mini-batches trained on rayon's threads, with gradients bit-identical
//! for any number of them.
//!
//! Every error is a typed `enum` or `struct` whose message names the file,
//! line, sample or parameter it is about, and no function panics on
//! well-typed arguments (the toy datasets panic, naming the size, only
//! when asked for more samples than memory holds).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod cost;
pub mod custom;
#[cfg(feature = "std")]
pub mod data;
pub mod dropout;
#[cfg(feature = "std")]
pub mod gradcheck;
#[cfg(feature = "std")]
pub mod init;
pub mod loss;
pub mod model;
pub mod optim;
#[cfg(feature = "std")]
pub mod params_io;
pub mod real;
pub mod regularize;
pub mod trace;
#[cfg(feature = "std")]
pub mod train;

#[cfg(test)]
mod testing;

pub use cost::{Cost, Ops};
pub use custom::{Declaration, Declarations};
#[cfg(feature = "std")]
pub use data::{
    CastError, Column, CsvError, NormalSampler, SplitError, cast_features, load_csv,
    load_csv_regression, read_csv, read_csv_regression, sine, spiral, split, vertical,
};
#[cfg(feature = "std")]
pub use gradcheck::{
    GradcheckError, GradcheckReport, NotChecked, Partial, gradcheck, gradcheck_random,
    gradcheck_random_in, gradcheck_random_sampled,
};
#[cfg(feature = "std")]
pub use init::{Init, Scheme};
pub use loss::{
    BinaryCrossEntropy, Loss, MeanSquaredError, Output, SoftmaxCrossEntropy, TargetError,
};
pub use model::{
    Differentiable, Field, LayoutError, Model, Parameters, Role, Roles, Summary, SummaryRow,
    UnknownParameter, summary,
};
pub use neuron_macros::{derivative, neuron, surrogate};
pub use optim::{Adagrad, Adam, HyperparameterError, Optimizer, RmsProp, Schedule, Sgd};
#[cfg(feature = "std")]
pub use params_io::{
    ParamsError, load_params, params_from_json, params_to_json, read_params, save_params,
};
pub use real::{Real, Scalars, Tensor};
pub use regularize::Regularizer;
pub use trace::Trace;
#[cfg(feature = "parallel")]
pub use train::Parallel;
#[cfg(feature = "std")]
pub use train::{
    BoxError, CallbackError, Control, Divergence, EarlyStopping, EpochEnd, EpochStats, Evaluation,
    Execution, History, Monitor, Serial, StoppedBy, TrainError, Trainer, evaluate,
};

/// The test of `#[neuron(gradcheck)]`, passed through: gradient checks
/// need the `std` feature.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __gradcheck_test {
    ($($item:tt)*) => {
        $($item)*
    };
}

/// Without the `std` feature, the test of `#[neuron(gradcheck)]` is an
/// error saying which feature it needs.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __gradcheck_test {
    ($($item:tt)*) => {
        ::core::compile_error!(
            "`#[neuron(gradcheck)]` needs the `std` feature of `neuron-core` in test builds"
        );
    };
}

/// The attributes of functions used inside `#[neuron]` functions, as
/// `#[neuron::derivative(..)]` and `#[neuron::surrogate(..)]` (this module
/// shares its name with the `#[neuron]` attribute, which
/// `use neuron_core::prelude::*` brings in with it).
pub mod neuron {
    pub use neuron_macros::{derivative, surrogate};
}

/// Everything a file that defines neurons needs: `use neuron_core::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "std")]
    pub use crate::data::{
        cast_features, load_csv, load_csv_regression, read_csv, read_csv_regression, sine, spiral,
        split, vertical,
    };
    #[cfg(feature = "std")]
    pub use crate::gradcheck::{gradcheck, gradcheck_random};
    #[cfg(feature = "std")]
    pub use crate::init::Init;
    pub use crate::loss::{
        BinaryCrossEntropy, Loss, MeanSquaredError, Output, SoftmaxCrossEntropy,
    };
    pub use crate::model::{Differentiable, Model, Parameters, summary};
    pub use crate::neuron;
    pub use crate::optim::{Adagrad, Adam, Optimizer, RmsProp, Schedule, Sgd};
    #[cfg(feature = "std")]
    pub use crate::params_io::{load_params, save_params};
    pub use crate::real::{Real, Tensor};
    pub use crate::regularize::Regularizer;
    #[cfg(feature = "std")]
    pub use crate::train::{
        Control, EarlyStopping, EpochEnd, History, Monitor, TrainError, Trainer, evaluate,
    };
}
