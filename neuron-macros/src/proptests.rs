//! Property tests of the pipeline: random expressions differentiated on the
//! IR against finite differences, and random token streams that must never
//! make the macro panic.
