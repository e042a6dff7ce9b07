//! Constants of `core::f64::consts` and `core::f32::consts` written by
//! path (`std::f64::consts::PI`, `core::f32::consts::E`, `f64::consts::TAU`)
//! are literals of exactly the constant's value, in f64, f32 and generic
//! neurons (a generic neuron takes the f64 path, converted as a literal is);
//! every name of the modules is accepted.

use neuron_core::prelude::*;

/// The area of a circle.
#[neuron]
pub fn circle(r: f64) -> f64 {
    std::f64::consts::PI * r * r
}

/// A wave, with the three spellings of the path.
#[neuron]
pub fn wave(x: f64) -> f64 {
    sin(x * core::f64::consts::TAU) + f64::consts::E * x - ::std::f64::consts::FRAC_PI_2
}

/// The same in f32.
#[neuron]
pub fn wave_f32(x: f32) -> f32 {
    sin(x * core::f32::consts::TAU) + f32::consts::E * x - ::std::f32::consts::FRAC_PI_2
}

/// The same, generic, from the f64 paths.
#[neuron]
pub fn wave_generic<T: Real>(x: T) -> T {
    sin(x * core::f64::consts::TAU) + f64::consts::E * x - ::std::f64::consts::FRAC_PI_2
}

/// Constants as bounds of `clamp`, and inside a method call.
#[neuron]
pub fn bounded(x: f64) -> f64 {
    x.clamp(-std::f64::consts::FRAC_PI_2, std::f64::consts::FRAC_PI_2)
        * std::f64::consts::LN_2.exp()
}

/// Every constant of `f64::consts`, each times `x`.
#[neuron]
pub fn every_f64(x: f64) -> [f64; 21] {
    [
        x * std::f64::consts::E,
        x * std::f64::consts::EULER_GAMMA,
        x * std::f64::consts::FRAC_1_PI,
        x * std::f64::consts::FRAC_1_SQRT_2,
        x * std::f64::consts::FRAC_2_PI,
        x * std::f64::consts::FRAC_2_SQRT_PI,
        x * std::f64::consts::FRAC_PI_2,
        x * std::f64::consts::FRAC_PI_3,
        x * std::f64::consts::FRAC_PI_4,
        x * std::f64::consts::FRAC_PI_6,
        x * std::f64::consts::FRAC_PI_8,
        x * std::f64::consts::GOLDEN_RATIO,
        x * std::f64::consts::LN_10,
        x * std::f64::consts::LN_2,
        x * std::f64::consts::LOG10_2,
        x * std::f64::consts::LOG10_E,
        x * std::f64::consts::LOG2_10,
        x * std::f64::consts::LOG2_E,
        x * std::f64::consts::PI,
        x * std::f64::consts::SQRT_2,
        x * std::f64::consts::TAU,
    ]
}

/// Every constant of `f32::consts`, each times `x`.
#[neuron]
pub fn every_f32(x: f32) -> [f32; 21] {
    [
        x * core::f32::consts::E,
        x * core::f32::consts::EULER_GAMMA,
        x * core::f32::consts::FRAC_1_PI,
        x * core::f32::consts::FRAC_1_SQRT_2,
        x * core::f32::consts::FRAC_2_PI,
        x * core::f32::consts::FRAC_2_SQRT_PI,
        x * core::f32::consts::FRAC_PI_2,
        x * core::f32::consts::FRAC_PI_3,
        x * core::f32::consts::FRAC_PI_4,
        x * core::f32::consts::FRAC_PI_6,
        x * core::f32::consts::FRAC_PI_8,
        x * core::f32::consts::GOLDEN_RATIO,
        x * core::f32::consts::LN_10,
        x * core::f32::consts::LN_2,
        x * core::f32::consts::LOG10_2,
        x * core::f32::consts::LOG10_E,
        x * core::f32::consts::LOG2_10,
        x * core::f32::consts::LOG2_E,
        x * core::f32::consts::PI,
        x * core::f32::consts::SQRT_2,
        x * core::f32::consts::TAU,
    ]
}

const F64: [f64; 21] = {
    use std::f64::consts::*;
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

const F32: [f32; 21] = {
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

#[test]
fn every_constant_has_its_exact_value() {
    assert_eq!(every_f64(1.0), F64);
    assert_eq!(every_f32(1.0), F32);
    // d/dx (x c) = c: the backward pass reads the same literal.
    for (k, (&c64, &c32)) in F64.iter().zip(&F32).enumerate() {
        let mut dy = [0.0; 21];
        dy[k] = 1.0;
        assert_eq!(every_f64::backward(0.5, dy).1.x, c64, "{k}");
        let mut dy = [0.0f32; 21];
        dy[k] = 1.0;
        assert_eq!(every_f32::backward(0.5, dy).1.x, c32, "{k}");
    }
}

#[test]
fn constants_in_expressions() {
    use std::f64::consts::{E, FRAC_PI_2, LN_2, PI, TAU};
    let (y, g) = circle::gradient(2.0);
    assert_eq!((y, g.r), (PI * 2.0 * 2.0, PI * 2.0 + PI * 2.0));
    let (y, g) = wave::gradient(0.3);
    assert_eq!(y, (0.3 * TAU).sin() + E * 0.3 - FRAC_PI_2);
    assert!((g.x - ((0.3 * TAU).cos() * TAU + E)).abs() < 1e-14);
    let (y, g) = wave_generic::gradient(0.3);
    assert_eq!((y, g.x), (wave(0.3), wave::gradient(0.3).1.x));
    // f32: the f32 constants; the generic neuron converts the f64 paths to
    // the same f32 values.
    use std::f32::consts as c32;
    let (y, g) = wave_f32::gradient(0.3);
    assert_eq!(y, (0.3 * c32::TAU).sin() + c32::E * 0.3 - c32::FRAC_PI_2);
    assert!((g.x - ((0.3 * c32::TAU).cos() * c32::TAU + c32::E)).abs() < 1e-5);
    let (yg, gg) = wave_generic::gradient(0.3f32);
    assert_eq!((yg, gg.x), (y, g.x));
    // Bounds of a clamp, and a method of a constant.
    assert_eq!(bounded(3.0), FRAC_PI_2 * 2.0);
    assert_eq!(bounded::gradient(3.0).1.x, 0.0);
    assert_eq!(
        bounded::gradient(0.5),
        (1.0, bounded::Grad { x: LN_2.exp() })
    );
}
