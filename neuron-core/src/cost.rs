//! What the generated code costs: `NAME::COST` (or `NAME::cost::<..>()`
//! for a generic neuron), counted by `#[neuron]` from the code it emits.
//!
//! The forward pass is the body of the forward function; the backward pass
//! is what `gradient` (for a scalar output; `backward` for an array output)
//! computes beyond it. Arrays are loops in the generated code, so an
//! operation inside a loop counts once per trip, and an element-wise array
//! once per element.

use core::fmt;

/// Operations of one pass, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ops {
    /// Additions, subtractions and negations.
    pub adds: u64,
    /// Multiplications.
    pub multiplies: u64,
    /// Divisions.
    pub divisions: u64,
    /// Calls of math functions: `exp`, `ln`, `tanh`, `sigmoid`, `sqrt`,
    /// `powi`, functions with declared derivatives, and the like.
    pub calls: u64,
    /// Comparisons and the selects built on them (`relu`, `max`, `abs`,
    /// the kinks' derivatives).
    pub comparisons: u64,
    /// Additions of a product (`a * b + c`, `s += a * b`), which a fused
    /// multiply-add could compute; each is also counted among `adds` and
    /// `multiplies`.
    pub multiply_adds: u64,
    /// Calls of other neurons, whose own work is their `COST`.
    pub neuron_calls: u64,
}

impl Ops {
    /// Every arithmetic operation: adds, multiplies, divisions, calls and
    /// comparisons.
    pub const fn total(&self) -> u64 {
        self.adds + self.multiplies + self.divisions + self.calls + self.comparisons
    }
}

/// The operations of the forward and backward passes, and the memory their
/// temporaries take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// The forward function's operations.
    pub forward: Ops,
    /// What the gradient's function computes beyond the forward pass.
    pub backward: Ops,
    /// Bytes of the forward function's `let` bindings, each counted once
    /// (a binding inside a loop reuses its place).
    pub forward_bytes: u64,
    /// Bytes of the bindings of the function computing the gradient, the
    /// forward values it keeps included.
    pub gradient_bytes: u64,
}

impl Cost {
    /// Operations of the backward pass per operation of the forward pass;
    /// infinite when the forward pass computes nothing.
    pub fn ratio(&self) -> f64 {
        self.backward.total() as f64 / self.forward.total() as f64
    }
}

impl fmt::Display for Ops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "adds {}, multiplies {}, divisions {}, calls {}, comparisons {}; total {} (multiply-adds {}",
            self.adds,
            self.multiplies,
            self.divisions,
            self.calls,
            self.comparisons,
            self.total(),
            self.multiply_adds
        )?;
        if self.neuron_calls > 0 {
            write!(f, ", calls of other neurons {}", self.neuron_calls)?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "forward:  {}", self.forward)?;
        writeln!(f, "backward: {}", self.backward)?;
        writeln!(f, "backward/forward: {:.2}", self.ratio())?;
        write!(
            f,
            "temporaries: {} bytes forward, {} bytes for the gradient",
            self.forward_bytes, self.gradient_bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_compares_totals() {
        let forward = Ops {
            adds: 3,
            multiplies: 3,
            comparisons: 1,
            ..Ops::default()
        };
        let backward = Ops {
            multiplies: 6,
            comparisons: 1,
            ..Ops::default()
        };
        let cost = Cost {
            forward,
            backward,
            forward_bytes: 8,
            gradient_bytes: 64,
        };
        assert_eq!(forward.total(), 7);
        assert_eq!(cost.ratio(), 1.0);
        let text = cost.to_string();
        assert!(text.contains("backward/forward: 1.00"), "{text}");
        assert!(
            text.contains(
                "forward:  adds 3, multiplies 3, divisions 0, calls 0, comparisons 1; total 7"
            ),
            "{text}"
        );
    }
}
