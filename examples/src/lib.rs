//! Runnable examples; each lives in its own file under `examples/`.
