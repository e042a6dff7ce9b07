//! Saving and loading parameters as JSON, one key per field in
//! declaration order, arrays nested as the field's shape says:
//!
//! ```json
//! {
//!   "w": [[0.5, -1.0], [2.0, 0.25]],
//!   "b": 0.5
//! }
//! ```
//!
//! Files are written atomically (a temporary file in the same directory,
//! then renamed over the target), so a crash never leaves half a file.
//! Loading checks the file against [`Parameters::FIELDS`] and reports a
//! missing, unknown or wrongly shaped field, or a value that is not a
//! number, as a [`ParamsError`].

use core::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::{Field, Parameters};
use crate::real::Real;

/// Why parameters could not be saved or loaded.
#[derive(Debug)]
pub enum ParamsError {
    /// The file could not be read or written.
    Io {
        /// `"read"` or `"write"`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The text is not valid JSON.
    Json {
        /// The line of the error, starting at 1.
        line: usize,
        /// The column of the error, starting at 1.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// The JSON is valid but not an object.
    NotAnObject {
        /// What kind of JSON value was found instead.
        found: &'static str,
    },
    /// A field of the parameters has no key in the file.
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// The file has a key that is not a field of the parameters.
    UnknownField {
        /// The key.
        field: String,
        /// The fields the parameters have.
        expected: Vec<&'static str>,
    },
    /// A field's value is not nested as its shape says.
    WrongShape {
        /// The field.
        field: &'static str,
        /// Its shape (`[]` for a scalar).
        expected: Vec<usize>,
        /// The value's shape, `None` for arrays of unequal lengths.
        found: Option<Vec<usize>>,
    },
    /// A value that is not a number (or overflows the float type).
    NotANumber {
        /// The field.
        field: &'static str,
        /// The element, e.g. `w[1][0]`.
        element: String,
        /// The JSON found there.
        found: String,
    },
    /// A parameter that is NaN or infinite, which JSON cannot hold.
    NonFinite {
        /// The field.
        field: &'static str,
        /// The element, e.g. `w[1][0]`.
        element: String,
        /// Its value.
        value: f64,
    },
}

/// `[2, 3]`, or `[] (a scalar)`.
fn shape_text(shape: &[usize]) -> String {
    if shape.is_empty() {
        "[] (a scalar)".to_string()
    } else {
        format!("{shape:?}")
    }
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamsError::Io {
                action,
                path,
                source,
            } => write!(f, "cannot {action} {}: {source}", path.display()),
            ParamsError::Json { message, .. } => write!(f, "invalid JSON: {message}"),
            ParamsError::NotAnObject { found } => write!(
                f,
                "expected a JSON object with one key per parameter field, found {found}"
            ),
            ParamsError::MissingField { field } => write!(f, "missing field \"{field}\""),
            ParamsError::UnknownField { field, expected } => {
                write!(f, "unknown field \"{field}\"; the fields are ")?;
                for (k, name) in expected.iter().enumerate() {
                    let sep = if k == 0 { "" } else { ", " };
                    write!(f, "{sep}\"{name}\"")?;
                }
                Ok(())
            }
            ParamsError::WrongShape {
                field,
                expected,
                found,
            } => {
                let found = match found {
                    Some(shape) => shape_text(shape),
                    None => "arrays of unequal lengths".to_string(),
                };
                write!(
                    f,
                    "field \"{field}\" should have shape {}, found {found}",
                    shape_text(expected)
                )
            }
            ParamsError::NotANumber {
                field,
                element,
                found,
            } => write!(f, "field \"{field}\": {element} is {found}, not a number"),
            ParamsError::NonFinite {
                field,
                element,
                value,
            } => write!(
                f,
                "field \"{field}\": {element} is {value}, which JSON cannot hold"
            ),
        }
    }
}

impl std::error::Error for ParamsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ParamsError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `w[1][0]` for the flat index 2 of a field `w` of shape `[2, 2]`.
pub(crate) fn element_name(field: &Field, mut index: usize) -> String {
    let mut name = field.name.to_string();
    for d in 0..field.shape.len() {
        let stride: usize = field.shape[d + 1..].iter().product();
        name.push_str(&format!("[{}]", index / stride));
        index %= stride;
    }
    name
}

/// Writes `values` nested as `shape` says.
fn write_nested(out: &mut String, shape: &[usize], values: &[f64]) {
    match shape.split_first() {
        None => out.push_str(&Value::from(values[0]).to_string()),
        Some((&n, inner)) => {
            let stride: usize = inner.iter().product();
            out.push('[');
            for k in 0..n {
                if k > 0 {
                    out.push_str(", ");
                }
                write_nested(out, inner, &values[k * stride..(k + 1) * stride]);
            }
            out.push(']');
        }
    }
}

/// The parameters as JSON text (see the module documentation).
///
/// # Errors
///
/// [`ParamsError::NonFinite`] for a NaN or infinite parameter.
pub fn params_to_json<T: Real, P: Parameters<T>>(params: &P) -> Result<String, ParamsError> {
    let values: Vec<f64> = params.to_vec().into_iter().map(T::to_f64_lossy).collect();
    let mut out = String::from("{");
    let mut start = 0;
    for (k, field) in P::FIELDS.iter().enumerate() {
        let own = &values[start..start + field.len()];
        if let Some(bad) = own.iter().position(|v| !v.is_finite()) {
            return Err(ParamsError::NonFinite {
                field: field.name,
                element: element_name(field, bad),
                value: own[bad],
            });
        }
        out.push_str(if k == 0 { "\n  " } else { ",\n  " });
        out.push_str(&Value::from(field.name).to_string());
        out.push_str(": ");
        write_nested(&mut out, field.shape, own);
        start += field.len();
    }
    out.push_str("\n}\n");
    Ok(out)
}

/// What kind of JSON value `v` is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The nesting of `v`: `[]` for a non-array, `[n, ...]` for an array
/// whose elements all have the same nesting, `None` otherwise.
fn shape_of(v: &Value) -> Option<Vec<usize>> {
    let Value::Array(items) = v else {
        return Some(Vec::new());
    };
    let mut inner = None;
    for item in items {
        let s = shape_of(item)?;
        match &inner {
            None => inner = Some(s),
            Some(first) if *first == s => {}
            Some(_) => return None,
        }
    }
    let mut shape = vec![items.len()];
    shape.extend(inner.unwrap_or_default());
    Some(shape)
}

/// Appends the leaves of `v` in row-major order.
fn leaves<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|item| leaves(item, out)),
        leaf => out.push(leaf),
    }
}

/// Parses parameters from JSON text (see the module documentation).
///
/// # Errors
///
/// A [`ParamsError`] for invalid JSON, a missing or unknown field, a
/// wrong shape or a value that is not a number.
pub fn params_from_json<T: Real, P: Parameters<T>>(text: &str) -> Result<P, ParamsError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ParamsError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let Value::Object(map) = &value else {
        return Err(ParamsError::NotAnObject {
            found: kind(&value),
        });
    };
    let mut values = Vec::with_capacity(P::LEN);
    for field in P::FIELDS {
        let Some(v) = map.get(field.name) else {
            return Err(ParamsError::MissingField { field: field.name });
        };
        let found = shape_of(v);
        if found.as_deref() != Some(field.shape) {
            return Err(ParamsError::WrongShape {
                field: field.name,
                expected: field.shape.to_vec(),
                found,
            });
        }
        let mut own = Vec::with_capacity(field.len());
        leaves(v, &mut own);
        for (k, leaf) in own.into_iter().enumerate() {
            let number = leaf.as_f64().map(T::lit).filter(|x| x.is_finite());
            let Some(number) = number else {
                return Err(ParamsError::NotANumber {
                    field: field.name,
                    element: element_name(field, k),
                    found: leaf.to_string(),
                });
            };
            values.push(number);
        }
    }
    if let Some(key) = map
        .keys()
        .find(|key| P::FIELDS.iter().all(|f| f.name != key.as_str()))
    {
        return Err(ParamsError::UnknownField {
            field: key.clone(),
            expected: P::FIELDS.iter().map(|f| f.name).collect(),
        });
    }
    // The shapes matched, so there are exactly `LEN` values unless `FIELDS`
    // and `LEN` disagree; report that as a shape error rather than panic.
    P::from_slice(&values).ok_or_else(|| ParamsError::WrongShape {
        field: P::FIELDS.first().map_or("?", |f| f.name),
        expected: vec![P::LEN],
        found: Some(vec![values.len()]),
    })
}

/// Saves `params` to `path` as JSON, atomically: the text goes to a
/// temporary file in the same directory, which then replaces `path`.
///
/// # Errors
///
/// [`ParamsError::NonFinite`] for a NaN or infinite parameter (nothing is
/// written), [`ParamsError::Io`] when the file cannot be written.
pub fn save_params<T: Real, P: Parameters<T>>(
    path: impl AsRef<Path>,
    params: &P,
) -> Result<(), ParamsError> {
    let path = path.as_ref();
    let text = params_to_json(params)?;
    let io_error = |source| ParamsError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io_error)?;
    file.write_all(text.as_bytes()).map_err(io_error)?;
    file.as_file().sync_all().map_err(io_error)?;
    file.persist(path).map_err(|e| io_error(e.error))?;
    Ok(())
}

/// Loads parameters saved by [`save_params`] (or written by hand).
///
/// # Errors
///
/// [`ParamsError::Io`] when the file cannot be read, and the errors of
/// [`params_from_json`].
pub fn load_params<T: Real, P: Parameters<T>>(path: impl AsRef<Path>) -> Result<P, ParamsError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| ParamsError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    params_from_json(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{DenseParams, LinearParams};

    fn linear() -> LinearParams {
        LinearParams {
            w: [1.0, -2.5],
            b: 0.5,
        }
    }

    fn load_linear(text: &str) -> Result<LinearParams, ParamsError> {
        params_from_json(text)
    }

    #[test]
    fn json_lists_fields_in_order_with_their_shapes() {
        assert_eq!(
            params_to_json(&linear()).unwrap(),
            "{\n  \"w\": [1.0, -2.5],\n  \"b\": 0.5\n}\n"
        );
        let dense = DenseParams {
            w: [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
            b: [0.1, 0.2, 0.3],
        };
        let text = params_to_json(&dense).unwrap();
        assert!(
            text.contains("\"w\": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]"),
            "{text}"
        );
        assert_eq!(params_from_json::<f64, DenseParams>(&text).unwrap(), dense);
    }

    #[test]
    fn save_then_load_round_trips_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("params.json");
        let params = LinearParams {
            w: [0.1 + 0.2, -1e-300],
            b: std::f64::consts::PI,
        };
        save_params(&path, &params).unwrap();
        assert_eq!(load_params::<f64, LinearParams>(&path).unwrap(), params);
        // Saving again replaces the file and leaves no temporary behind.
        save_params(&path, &linear()).unwrap();
        assert_eq!(load_params::<f64, LinearParams>(&path).unwrap(), linear());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["params.json"]);
    }

    #[test]
    fn integers_and_any_key_order_load() {
        let p = load_linear(r#"{"b": 2, "w": [1, -3]}"#).unwrap();
        assert_eq!(p.w, [1.0, -3.0]);
        assert_eq!(p.b, 2.0);
    }

    #[test]
    fn missing_field_is_an_error() {
        let err = load_linear(r#"{"w": [1, 2]}"#).unwrap_err();
        assert!(matches!(err, ParamsError::MissingField { field: "b" }));
        assert_eq!(err.to_string(), "missing field \"b\"");
    }

    #[test]
    fn unknown_field_is_an_error() {
        let err = load_linear(r#"{"w": [1, 2], "b": 0, "c": 1}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown field \"c\"; the fields are \"w\", \"b\""
        );
    }

    #[test]
    fn wrong_shapes_name_field_expected_and_found() {
        let err = load_linear(r#"{"w": [1, 2, 3], "b": 0}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field \"w\" should have shape [2], found [3]"
        );
        let err = load_linear(r#"{"w": [1, 2], "b": [0]}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field \"b\" should have shape [] (a scalar), found [1]"
        );
        let err = params_from_json::<f64, DenseParams>(
            r#"{"w": [[1, 2, 3], [4, 5, 6]], "b": [0, 0, 0]}"#,
        )
        .unwrap_err();
        assert!(matches!(
            &err,
            ParamsError::WrongShape { field: "w", expected, found: Some(found) }
                if expected == &[3, 2] && found == &[2, 3]
        ));
        let err =
            params_from_json::<f64, DenseParams>(r#"{"w": [[1, 2], [3], [5, 6]], "b": [0, 0, 0]}"#)
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "field \"w\" should have shape [3, 2], found arrays of unequal lengths"
        );
    }

    #[test]
    fn non_numbers_name_the_element() {
        let err = params_from_json::<f64, DenseParams>(
            r#"{"w": [[1, 2], [3, "x"], [5, 6]], "b": [0, 0, 0]}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "field \"w\": w[1][1] is \"x\", not a number"
        );
        let err = load_linear(r#"{"w": [1, null], "b": 0}"#).unwrap_err();
        assert_eq!(err.to_string(), "field \"w\": w[1] is null, not a number");
    }

    #[test]
    fn invalid_json_and_non_objects_are_errors() {
        let err = load_linear("{\"w\": [1, 2],\n \"b\": }").unwrap_err();
        assert!(matches!(err, ParamsError::Json { line: 2, .. }), "{err}");
        assert!(err.to_string().starts_with("invalid JSON: "));
        let err = load_linear("[1, 2, 3]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a JSON object with one key per parameter field, found an array"
        );
    }

    #[test]
    fn io_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let err = load_params::<f64, LinearParams>(&missing).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read {}: ", missing.display())),
            "{err}"
        );
        let nested = dir.path().join("no/such/dir/params.json");
        let err = save_params(&nested, &linear()).unwrap_err();
        assert!(
            matches!(
                err,
                ParamsError::Io {
                    action: "write",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_file_of_the_wrong_shape_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("linear.json");
        save_params(&path, &linear()).unwrap();
        let err = load_params::<f64, DenseParams>(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field \"w\" should have shape [3, 2], found [2]"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_finite_params_round_trip(
            w0 in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO,
            w1 in -1e6f64..1e6,
            b in proptest::num::f64::ANY,
        ) {
            let params = LinearParams { w: [w0, w1], b };
            match params_to_json(&params) {
                Ok(text) => {
                    let back: LinearParams = params_from_json(&text).unwrap();
                    proptest::prop_assert_eq!(back.w[0].to_bits(), w0.to_bits());
                    proptest::prop_assert_eq!(back.w[1].to_bits(), w1.to_bits());
                    proptest::prop_assert_eq!(back.b.to_bits(), b.to_bits());
                }
                Err(err) => {
                    proptest::prop_assert!(!b.is_finite());
                    let is_non_finite = matches!(err, ParamsError::NonFinite { field: "b", .. });
                    proptest::prop_assert!(is_non_finite);
                }
            }
        }
    }

    #[test]
    fn nan_params_are_not_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("params.json");
        let bad = LinearParams {
            w: [1.0, f64::NAN],
            b: 0.0,
        };
        let err = save_params(&path, &bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field \"w\": w[1] is NaN, which JSON cannot hold"
        );
        assert!(!path.exists());
    }
}
