//! Hygiene of const-generic lengths: every name that generated code
//! introduces (`__emitted_names!()`), as the name of a neuron's length, in
//! a program that trybuild compiles and runs. A length is in scope in every
//! generated body and impl, where a local, a loop variable or a closure
//! parameter of the same name would not compile (a let binding cannot
//! shadow a const parameter) or, as a loop bound, would stand for another
//! number. Each neuron, and a neuron calling it, passes `gradcheck_random`
//! at a length of 3 and of 20 (where `matvec` and `dot` keep partial sums).
//!
//! A raw identifier (`r#in`) names a length too.
//!
//! The names the macro refuses for a generic parameter (the generated
//! items, `dy`, `neuron_*`) are left out; `ui/generic-parameter-reserved.rs`
//! checks that they are refused.

use std::fmt::Write;

#[test]
fn every_generated_name_can_name_a_length() {
    let (items, consts) = neuron_macros::__generated_items!();
    let names: Vec<&str> = neuron_macros::__emitted_names!()
        .iter()
        .copied()
        .filter(|n| !n.contains('*'))
        .filter(|n| !items.contains(n) && !consts.contains(n))
        .filter(|n| *n != "dy" && !n.starts_with("neuron_"))
        .collect();
    assert!(names.len() > 90, "{names:?}");
    for must in [
        "i", "j", "k", "l", "f", "v", "o", "g", "d", "y", "other", "params", "input",
    ] {
        assert!(
            names.contains(&must),
            "`{must}` is not among the names tried"
        );
    }

    // No `use`: the program's own scope brings no type named like a
    // length, so each name stands for the length alone.
    let mut program =
        String::from("#![allow(non_upper_case_globals, non_snake_case, dead_code)]\n\n");
    let mut checks = String::new();
    for (k, name) in names.iter().enumerate() {
        write!(
            program,
            "#[neuron_core::neuron]\n\
             pub fn layer{k}<const {name}: usize>(x: [f64; {name}], #[param] w: [[f64; {name}]; 2], #[param] b: f64) -> f64 {{\n\
             \x20   let h = tanh(matvec(w, x));\n\
             \x20   logsumexp(h) + max(x) * b + sum(softmax(x)) + dot(x, x)\n\
             }}\n\n\
             #[neuron_core::neuron]\n\
             pub fn caller{k}<const {name}: usize>(x: [f64; {name}], #[param] w: [[f64; {name}]; 2], #[param] b: f64) -> f64 {{\n\
             \x20   let y: f64 = layer{k}(x, w, b);\n\
             \x20   y * y\n\
             }}\n\n"
        )
        .unwrap();
        for n in [3, 20] {
            writeln!(
                checks,
                "    neuron_core::gradcheck_random::<layer{k}::Model<{n}>>(4, 1, 1e-6).expect(\"`{name}` = {n}\");\n\
                 \x20   neuron_core::gradcheck_random::<caller{k}::Model<{n}>>(4, 1, 1e-6).expect(\"`{name}` = {n}, called\");"
            )
            .unwrap();
        }
    }
    // A raw identifier as a length, written back as it was written.
    program.push_str(
        "#[neuron_core::neuron]\n\
         pub fn raw_length<const r#in: usize>(x: [f64; r#in], #[param] w: [[f64; r#in]; 2]) -> f64 {\n\
         \x20   logsumexp(matvec(w, x)) + max(x)\n\
         }\n\n",
    );
    for n in [3, 20] {
        writeln!(
            checks,
            "    neuron_core::gradcheck_random::<raw_length::Model<{n}>>(4, 1, 1e-6).expect(\"`r#in` = {n}\");"
        )
        .unwrap();
    }
    write!(program, "fn main() {{\n{checks}}}\n").unwrap();

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("length_names");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lengths_named_like_generated_code.rs");
    std::fs::write(&path, program).unwrap();
    trybuild::TestCases::new().pass(&path);
}
