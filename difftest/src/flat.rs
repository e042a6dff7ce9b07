//! Values of the generated functions' types as flat vectors of `f64`, so
//! that one checker handles every signature: `take` builds an argument of
//! any type from the front of a vector, `put` flattens a result or a
//! partial. `f32` values convert exactly on the way out.

/// A type whose values the checks read from and write to flat `f64`s.
pub trait Flat: Sized {
    /// Reads a value from the front of `values` (rounding to `f32` for an
    /// `f32` element).
    fn read(values: &mut dyn Iterator<Item = f64>) -> Self;
    /// Appends the elements, in row order.
    fn write(&self, out: &mut Vec<f64>);
}

impl Flat for f64 {
    fn read(values: &mut dyn Iterator<Item = f64>) -> Self {
        values.next().expect("too few values for the arguments")
    }
    fn write(&self, out: &mut Vec<f64>) {
        out.push(*self);
    }
}

impl Flat for f32 {
    fn read(values: &mut dyn Iterator<Item = f64>) -> Self {
        // Points are rounded to f32 before they reach here; this keeps them.
        values.next().expect("too few values for the arguments") as f32
    }
    fn write(&self, out: &mut Vec<f64>) {
        out.push(f64::from(*self));
    }
}

impl<T: Flat, const N: usize> Flat for [T; N] {
    fn read(values: &mut dyn Iterator<Item = f64>) -> Self {
        std::array::from_fn(|_| T::read(values))
    }
    fn write(&self, out: &mut Vec<f64>) {
        for v in self {
            v.write(out);
        }
    }
}

/// The next value of type `T` from `values`.
pub fn take<T: Flat>(values: &mut dyn Iterator<Item = f64>) -> T {
    T::read(values)
}

/// The elements of `value`.
pub fn put<T: Flat>(value: &T) -> Vec<f64> {
    let mut out = Vec::new();
    value.write(&mut out);
    out
}

/// `x` rounded to the nearest `f32`, as an `f64`.
pub fn round_f32(x: f64) -> f64 {
    f64::from(x as f32)
}
