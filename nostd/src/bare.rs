//! What `std` provides and a `no_std` final artifact must provide itself:
//! the panic handler and the global allocator. Defining the handler here
//! makes any `std` in the dependency graph a duplicate lang item. Also the
//! entry points of `nostd/run.c`, which runs the crate built as a static
//! library.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Stops on a panic: there is nothing to unwind to or print on.
#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// The bytes the allocator hands out.
const ARENA_SIZE: usize = 1 << 20;

/// A bump allocator over a static array: `alloc` takes the next aligned
/// run of bytes, `dealloc` frees nothing. Enough for the optimizers'
/// state, which is allocated once.
struct Bump {
    arena: UnsafeCell<[u8; ARENA_SIZE]>,
    /// The offset of the first free byte.
    next: AtomicUsize,
}

// SAFETY: `next` is claimed atomically, so threads never share a byte.
#[allow(unsafe_code)]
unsafe impl Sync for Bump {}

// SAFETY: each allocation is a distinct, in-bounds, suitably aligned run
// of the arena (claimed by compare-exchange on `next`), or null when the
// arena is exhausted, as `GlobalAlloc` requires.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.arena.get().cast::<u8>();
        let mut next = self.next.load(Ordering::Relaxed);
        loop {
            // Align the address, not the offset: the arena itself is
            // aligned to 1 only.
            let address = base as usize + next;
            let Some(start) = address
                .checked_next_multiple_of(layout.align())
                .map(|a| a - base as usize)
            else {
                return core::ptr::null_mut();
            };
            let Some(end) = start.checked_add(layout.size()) else {
                return core::ptr::null_mut();
            };
            if end > ARENA_SIZE {
                return core::ptr::null_mut();
            }
            match self
                .next
                .compare_exchange_weak(next, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return base.wrapping_add(start),
                Err(current) => next = current,
            }
        }
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump {
    arena: UnsafeCell::new([0; ARENA_SIZE]),
    next: AtomicUsize::new(0),
};

/// For a C program linked against this crate built as a static library
/// (`nostd/run.c`, in `.ci/run`): trains `net` on XOR for 500 epochs with
/// Adam, on `core`, `alloc`, this allocator and `libm` alone, and returns
/// the loss.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn neuron_nostd_xor_loss() -> f32 {
    crate::xor_loss(&crate::train_xor(500))
}

/// For `nostd/run.c`: the running example's output after one SGD step,
/// 5.985 in the notes.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn neuron_nostd_running_example() -> f64 {
    crate::running_example_step().2
}

/// The personality routine that unwinding tables name. `core` and the
/// dependencies come compiled for unwinding, but the static library is
/// built with `-C panic=abort` (a panic ends in the handler above), so
/// nothing unwinds and this is never called; `std` would define it.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}
