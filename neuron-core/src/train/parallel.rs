//! Parallel training (the `parallel` feature): each mini-batch's gradient
//! computed in blocks of samples on rayon's current thread pool and added
//! by a fixed pairwise tree, so that it is the same for any number of
//! threads.
//!
//! ```text
//! batch, blocks of 3:  s0 s1 s2 | s3 s4 s5 | s6 s7 s8 | s9 s10 s11 | s12
//! side by side:        g0 = 0 + s0 + s1 + s2,  g1,  g2,  g3,  g4 = 0 + s12
//! the tree:            ((g0 + g1) + (g2 + g3)) + g4
//! then, in order:      s0, s1, ..., s12 checked (output, loss) and counted
//! ```
//!
//! Each block adds its samples' gradients in order into a zeroed gradient
//! of its own, through the code serial training runs per sample. The
//! tree splits the blocks at the largest power of two below their number
//! and adds the right part's sum into the left's: the same tree as adding
//! neighbours pairwise, level by level (`g0 + g1`, `g2 + g3`, ..., then
//! those sums pairwise, ...). Its shape depends on the number of blocks
//! only; which thread computes what changes nothing, since every addition
//! has fixed operands.

use rayon::join;

use super::sealed::{Batch, Trained};
use super::{Divergence, Execution, Tally, TrainError};
use crate::dropout;
use crate::loss::Loss;
use crate::model::{Model, Parameters};

/// Parallel training, made by `Trainer::parallel`: each mini-batch split
/// into blocks of a fixed number of samples, computed side by side on
/// rayon's current thread pool and added by a fixed pairwise tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Parallel {
    /// Samples per block; the last block of a batch may hold fewer.
    block: usize,
}

impl Parallel {
    pub(super) fn new(block: usize) -> Self {
        Parallel { block }
    }
}

/// A block's gradient and what training on its samples gave, kept from
/// batch to batch.
pub struct Slot<P> {
    grads: P,
    trained: Vec<Trained>,
}

impl<M, L> Execution<M, L> for Parallel
where
    M: Model + Sync,
    M::Input: Sync,
    M::Params: Send,
    L: Loss<M::Real, M::Output> + Sync,
    L::Target: Sync,
{
    type Scratch = Vec<Slot<M::Params>>;

    fn validate(&self) -> Result<(), TrainError> {
        if self.block == 0 {
            Err(TrainError::ZeroBlockSize)
        } else {
            Ok(())
        }
    }

    fn scratch(&self, batch_size: usize) -> Self::Scratch {
        let block = self.block.max(1);
        (0..batch_size.div_ceil(block))
            .map(|_| Slot {
                grads: M::Params::zeros(),
                trained: Vec::with_capacity(block.min(batch_size)),
            })
            .collect()
    }

    fn gradient(
        &self,
        scratch: &mut Self::Scratch,
        batch: &Batch<'_, M, L>,
        grads: &mut M::Params,
        tally: &mut Tally,
    ) -> Result<(), Divergence> {
        let block = self.block.max(1);
        let blocks = batch.indices.len().div_ceil(block);
        // `scratch` was made for the longest batch; this only guards.
        if scratch.len() < blocks {
            scratch.resize_with(blocks, || Slot {
                grads: M::Params::zeros(),
                trained: Vec::with_capacity(block.min(batch.indices.len())),
            });
        }
        let slots = &mut scratch[..blocks];
        let leaf = |k: usize, slot: &mut Slot<M::Params>| {
            let start = k.saturating_mul(block);
            let end = start.saturating_add(block).min(batch.indices.len());
            let indices = batch.indices.get(start..end).unwrap_or_default();
            // Inference between samples, and this thread's own mode back
            // after the block.
            let _mode = dropout::Restore::set(None);
            slot.grads.set_zero();
            slot.trained.clear();
            for &sample in indices {
                let trained = batch.train(sample, &mut slot.grads);
                slot.trained.push(trained);
            }
        };
        let add = |sum: &mut Slot<M::Params>, other: &Slot<M::Params>| {
            sum.grads.zip_runs_mut(&other.grads, |_, gs, hs| {
                for (g, &h) in gs.iter_mut().zip(hs) {
                    *g += h;
                }
            });
        };
        pairwise(slots, 0, &leaf, &add);
        for (slot, indices) in slots.iter().zip(batch.indices.chunks(block)) {
            for (trained, &sample) in slot.trained.iter().zip(indices) {
                trained.check(sample)?;
                tally.add(trained);
            }
        }
        match slots.first_mut() {
            Some(sum) => core::mem::swap(grads, &mut sum.grads),
            None => grads.set_zero(),
        }
        Ok(())
    }
}

/// Runs `leaf(first + k, &mut slots[k])` for every slot, side by side on
/// rayon's current pool, and adds them all into `slots[0]` by the fixed
/// tree: split at the largest power of two below their number, each part
/// added up so, then `add(left[0], right[0])`.
fn pairwise<S, F, A>(slots: &mut [S], first: usize, leaf: &F, add: &A)
where
    S: Send,
    F: Fn(usize, &mut S) + Sync,
    A: Fn(&mut S, &S) + Sync,
{
    match slots {
        [] => {}
        [slot] => leaf(first, slot),
        _ => {
            let half = slots.len().next_power_of_two() / 2;
            let (left, right) = slots.split_at_mut(half);
            join(
                || pairwise(left, first, leaf, add),
                || pairwise(right, first + half, leaf, add),
            );
            if let (Some(sum), Some(other)) = (left.first_mut(), right.first()) {
                add(sum, other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree as a formula: leaves are block numbers.
    fn tree(blocks: usize) -> String {
        let mut slots = vec![String::new(); blocks];
        let leaf = |k: usize, s: &mut String| *s = k.to_string();
        let add = |sum: &mut String, other: &String| *sum = format!("({sum} + {other})");
        pairwise(&mut slots, 0, &leaf, &add);
        slots.into_iter().next().unwrap_or_default()
    }

    #[test]
    fn the_tree_adds_neighbours_then_their_sums() {
        assert_eq!(tree(1), "0");
        assert_eq!(tree(2), "(0 + 1)");
        assert_eq!(tree(3), "((0 + 1) + 2)");
        assert_eq!(tree(5), "(((0 + 1) + (2 + 3)) + 4)");
        assert_eq!(tree(6), "(((0 + 1) + (2 + 3)) + (4 + 5))");
        // Level by level, as written independently: neighbours pairwise,
        // an odd one out carried up, until one is left.
        for blocks in 1..=40 {
            let mut level: Vec<String> = (0..blocks).map(|k| k.to_string()).collect();
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|pair| match pair {
                        [a, b] => format!("({a} + {b})"),
                        [a] => a.clone(),
                        _ => unreachable!(),
                    })
                    .collect();
            }
            assert_eq!(tree(blocks), level[0], "{blocks} blocks");
        }
    }

    #[test]
    fn the_tree_is_the_same_on_any_pool() {
        for threads in 1..=4 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            assert_eq!(
                pool.install(|| tree(13)),
                "((((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7))) + (((8 + 9) + (10 + 11)) + 12))"
            );
        }
    }
}
