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
//! Saving is atomic: the text goes to a temporary file next to the target
//! (`.NAME.XXXXXXXXXXXXXXXX.tmp`, locked while it is written), which is
//! flushed to disk, given the permissions of the file it replaces, and
//! renamed over the target; then the directory is flushed too. A crash
//! leaves either the old file or the new one, never half a file, and the
//! next save of the same target removes temporary files that no save holds
//! any more. A symbolic link is followed: its target is replaced, the link
//! stays. A read-only target is refused, not replaced.
//!
//! Loading streams the JSON, checking it against [`Parameters::FIELDS`] as
//! it goes, so memory grows with the parameters, not with the file: a
//! missing, unknown or repeated field, a wrong shape, a value that is not a
//! number or is out of range for the float type is a [`ParamsError`] that
//! names the field and element (and the file, from [`load_params`]).

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::ser::{CompactFormatter, Formatter};

use crate::data::type_name;
use crate::model::{Field, LayoutError, Parameters, check_fields, fields_len, filled, shape_len};
use crate::real::Real;

/// Why parameters could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    /// The file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `"read"` or `"write"`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The reader given to [`read_params`] failed.
    #[error("cannot read the parameters: {source}")]
    Read {
        /// What the reader said.
        source: io::Error,
    },
    /// An error in the content of a file, naming the file.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        source: Box<ParamsError>,
    },
    /// The text is not valid JSON.
    #[error("invalid JSON: {message}")]
    Json {
        /// The line of the error, starting at 1.
        line: usize,
        /// The column of the error, starting at 1.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// The JSON is valid but not an object.
    #[error("expected a JSON object with one key per parameter field, found {found}")]
    NotAnObject {
        /// What kind of JSON value was found instead.
        found: &'static str,
    },
    /// A field of the parameters has no key in the file.
    #[error("missing field \"{field}\"")]
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// The file has a key that is not a field of the parameters.
    #[error("unknown field \"{field}\"; the fields are {}", quoted(expected))]
    UnknownField {
        /// The key.
        field: String,
        /// The fields the parameters have.
        expected: Vec<&'static str>,
    },
    /// The file has a key twice.
    #[error("field \"{field}\" appears twice")]
    DuplicateField {
        /// The field.
        field: &'static str,
    },
    /// A field's value is not nested as its shape says.
    #[error(
        "field \"{field}\" should have shape {}, found {}",
        shape_text(expected),
        found.as_deref().map_or_else(|| "arrays of unequal lengths".to_string(), shape_text)
    )]
    WrongShape {
        /// The field.
        field: &'static str,
        /// Its shape (`[]` for a scalar).
        expected: Vec<usize>,
        /// The value's shape, `None` for arrays of unequal lengths.
        found: Option<Vec<usize>>,
    },
    /// A value that is not a number.
    #[error("field \"{field}\": {element} is {found}, not a number")]
    NotANumber {
        /// The field.
        field: &'static str,
        /// The element, e.g. `w[1][0]`.
        element: String,
        /// The JSON found there.
        found: String,
    },
    /// A number beyond the range of the float type being loaded.
    #[error("field \"{field}\": {element} is {value:e}, out of range for {ty}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The element, e.g. `w[1][0]`.
        element: String,
        /// The number.
        value: f64,
        /// The float type, `"f32"` or `"f64"`.
        ty: &'static str,
    },
    /// A parameter that is NaN or infinite, which JSON cannot hold.
    #[error("field \"{field}\": {element} is {value}, which JSON cannot hold")]
    NonFinite {
        /// The field.
        field: &'static str,
        /// The element, e.g. `w[1][0]`.
        element: String,
        /// Its value.
        value: f64,
    },
    /// A hand-written [`Parameters`] implementation contradicts itself.
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

/// `"w", "b"`.
fn quoted(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    quoted.join(", ")
}

/// `[2, 3]`, or `[] (a scalar)`.
fn shape_text(shape: &[usize]) -> String {
    if shape.is_empty() {
        "[] (a scalar)".to_string()
    } else {
        format!("{shape:?}")
    }
}

/// `w[1][0]` for the flat index 2 of a field `w` of shape `[2, 2]`.
pub(crate) fn element_name(field: &Field, mut index: usize) -> String {
    let mut name = field.name.to_string();
    for d in 0..field.shape.len() {
        let stride = shape_len(&field.shape[d + 1..]);
        let (at, rest) = match (index.checked_div(stride), index.checked_rem(stride)) {
            (Some(at), Some(rest)) => (at, rest),
            _ => (0, index),
        };
        name.push_str(&format!("[{at}]"));
        index = rest;
    }
    name
}

/// The element of `fields` holding the flat index `k`, e.g. `w1[3][0]`;
/// `parameter k` past the last field.
pub(crate) fn parameter_name(fields: &[Field], mut k: usize) -> String {
    for field in fields {
        if k < field.len() {
            return element_name(field, k);
        }
        k -= field.len();
    }
    format!("parameter {k}")
}

/// The parameters' values, once they are known to be writable: a
/// consistent layout and every value finite.
fn writable_values<T: Real, P: Parameters<T>>(params: &P) -> Result<Vec<f64>, ParamsError> {
    check_fields(params)?;
    let values: Vec<f64> = params.to_vec().into_iter().map(T::to_f64_lossy).collect();
    let mut rest = values.as_slice();
    for field in P::FIELDS {
        let (own, tail) = rest.split_at(field.len());
        rest = tail;
        if let Some(bad) = own.iter().position(|v| !v.is_finite()) {
            return Err(ParamsError::NonFinite {
                field: field.name,
                element: element_name(field, bad),
                value: own[bad],
            });
        }
    }
    Ok(values)
}

/// Writes `values` as the JSON of the module documentation, one key per
/// field, a piece at a time.
fn write_json(fields: &[Field], values: &[f64], out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"{")?;
    let mut rest = values;
    for (k, field) in fields.iter().enumerate() {
        let (own, tail) = rest.split_at(field.len().min(rest.len()));
        rest = tail;
        out.write_all(if k == 0 { b"\n  " } else { b",\n  " })?;
        serde_json::to_writer(&mut *out, field.name)?;
        out.write_all(b": ")?;
        write_nested(out, field.shape, own)?;
    }
    out.write_all(b"\n}\n")
}

/// Writes `values` nested as `shape` says, each number in its shortest
/// form that reads back to the same `f64`.
fn write_nested(out: &mut impl Write, shape: &[usize], values: &[f64]) -> io::Result<()> {
    match shape.split_first() {
        None => {
            let value = values.first().copied().unwrap_or(f64::NAN);
            CompactFormatter.write_f64(out, value)
        }
        Some((&n, inner)) => {
            let stride = shape_len(inner);
            out.write_all(b"[")?;
            for k in 0..n {
                if k > 0 {
                    out.write_all(b", ")?;
                }
                let part = k
                    .checked_mul(stride)
                    .and_then(|start| values.get(start..start.checked_add(stride)?))
                    .unwrap_or(&[]);
                write_nested(out, inner, part)?;
            }
            out.write_all(b"]")
        }
    }
}

/// The parameters as JSON text (see the module documentation).
///
/// # Errors
///
/// [`ParamsError::NonFinite`] for a NaN or infinite parameter and
/// [`ParamsError::Layout`] for a [`Parameters`] implementation whose
/// `FIELDS`, `LEN` and `for_each` disagree.
pub fn params_to_json<T: Real, P: Parameters<T>>(params: &P) -> Result<String, ParamsError> {
    let values = writable_values(params)?;
    let mut out = Vec::new();
    // Writing to memory cannot fail; the error is kept typed all the same.
    write_json(P::FIELDS, &values, &mut out).map_err(|source| ParamsError::Io {
        action: "write",
        path: PathBuf::from("(memory)"),
        source,
    })?;
    // Field names are `str` and numbers ASCII, so this never loses a byte.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Parses parameters from JSON text (see the module documentation).
///
/// # Errors
///
/// A [`ParamsError`] for invalid JSON, a missing, unknown or repeated
/// field, a wrong shape, a value that is not a number or is out of range
/// for `T`, or an inconsistent [`Parameters`] implementation.
pub fn params_from_json<T: Real, P: Parameters<T>>(text: &str) -> Result<P, ParamsError> {
    load(&mut serde_json::Deserializer::from_str(text))
}

/// Reads parameters as JSON from `reader`, streaming: the text is checked
/// as it arrives and never held whole, and reading stops at the first
/// problem.
///
/// # Errors
///
/// As [`params_from_json`], and [`ParamsError::Read`] when the reader
/// fails.
pub fn read_params<T: Real, P: Parameters<T>>(reader: impl Read) -> Result<P, ParamsError> {
    load(&mut serde_json::Deserializer::from_reader(reader))
}

/// Loads parameters saved by [`save_params`] (or written by hand),
/// streaming the file as [`read_params`] does.
///
/// # Errors
///
/// [`ParamsError::Io`] naming the file when it cannot be opened or read,
/// and otherwise the errors of [`params_from_json`] inside a
/// [`ParamsError::InFile`] that names the file.
pub fn load_params<T: Real, P: Parameters<T>>(path: impl AsRef<Path>) -> Result<P, ParamsError> {
    let path = path.as_ref();
    let io_error = |source| ParamsError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    if file.metadata().map_err(io_error)?.is_dir() {
        return Err(io_error(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory, not a parameters file",
        )));
    }
    read_params(BufReader::new(file)).map_err(|error| match error {
        ParamsError::Read { source } => io_error(source),
        other => ParamsError::InFile {
            path: path.to_path_buf(),
            source: Box::new(other),
        },
    })
}

/// Runs the streaming check over a whole JSON document.
fn load<'de, T: Real, P: Parameters<T>, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
) -> Result<P, ParamsError> {
    // Checked first, since `LEN` sizes the buffer and `FIELDS` cut it.
    if fields_len(P::FIELDS) != Some(P::LEN) {
        return Err(LayoutError::FieldsAndLen {
            fields: fields_len(P::FIELDS),
            len: P::LEN,
        }
        .into());
    }
    let mut values = Vec::new();
    values
        .try_reserve_exact(P::LEN)
        .map_err(|e| ParamsError::Read {
            source: io::Error::new(io::ErrorKind::OutOfMemory, e),
        })?;
    values.resize(P::LEN, T::zero());
    let mut problem = None;
    let document = Document {
        fields: P::FIELDS,
        values: &mut values,
        problem: &mut problem,
    };
    let parsed = document.deserialize(&mut *de).and_then(|()| de.end());
    if let Some(problem) = problem {
        return Err(problem);
    }
    if let Err(error) = parsed {
        return Err(if error.is_io() {
            ParamsError::Read {
                source: error.into(),
            }
        } else {
            ParamsError::Json {
                line: error.line(),
                column: error.column(),
                message: error.to_string(),
            }
        });
    }
    Ok(filled(&values)?)
}

/// Stops the parser after recording `problem`; the caller reports the
/// problem rather than the parser's error.
fn stop<E: de::Error>(slot: &mut Option<ParamsError>, problem: ParamsError) -> E {
    *slot = Some(problem);
    E::custom("stopped at a problem with the parameters")
}

/// The whole document: an object with one key per field.
struct Document<'a, T> {
    fields: &'static [Field],
    values: &'a mut [T],
    problem: &'a mut Option<ParamsError>,
}

impl<'de, T: Real> DeserializeSeed<'de> for Document<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<T: Real> Document<'_, T> {
    fn not_an_object<E: de::Error>(self, found: &'static str) -> Result<(), E> {
        Err(stop(self.problem, ParamsError::NotAnObject { found }))
    }
}

impl<'de, T: Real> Visitor<'de> for Document<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "a JSON object with one key per parameter field")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = vec![false; self.fields.len()];
        while let Some(key) = map.next_key_seed(Key(self.fields))? {
            let k = match key {
                Ok(k) => k,
                Err(field) => {
                    let expected = self.fields.iter().map(|f| f.name).collect();
                    let problem = ParamsError::UnknownField { field, expected };
                    return Err(stop(self.problem, problem));
                }
            };
            let field = &self.fields[k];
            if std::mem::replace(&mut seen[k], true) {
                let problem = ParamsError::DuplicateField { field: field.name };
                return Err(stop(self.problem, problem));
            }
            let start = fields_len(&self.fields[..k]).unwrap_or(0);
            let own = self
                .values
                .get_mut(start..start + field.len())
                .unwrap_or(&mut []);
            let mut leaves = Leaves {
                values: own,
                count: 0,
                bad: None,
            };
            let found = map.next_value_seed(Walk(&mut leaves))?;
            if found.as_deref() != Some(field.shape) {
                let problem = ParamsError::WrongShape {
                    field: field.name,
                    expected: field.shape.to_vec(),
                    found,
                };
                return Err(stop(self.problem, problem));
            }
            if let Some((index, leaf)) = leaves.bad {
                let element = element_name(field, index);
                let problem = match leaf {
                    BadLeaf::NotANumber(found) => ParamsError::NotANumber {
                        field: field.name,
                        element,
                        found,
                    },
                    BadLeaf::OutOfRange(value) => ParamsError::OutOfRange {
                        field: field.name,
                        element,
                        value,
                        ty: type_name::<T>(),
                    },
                };
                return Err(stop(self.problem, problem));
            }
        }
        if let Some(k) = seen.iter().position(|&seen| !seen) {
            let problem = ParamsError::MissingField {
                field: self.fields[k].name,
            };
            return Err(stop(self.problem, problem));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_an_object("an array")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object("a string")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object("null")
    }
}

/// A key: the index of the field it names, or the key itself when it
/// names none.
struct Key(&'static [Field]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Result<usize, String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Result<usize, String>;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self
            .0
            .iter()
            .position(|f| f.name == key)
            .ok_or_else(|| key.to_string()))
    }
}

/// Why a leaf is not a parameter value.
enum BadLeaf {
    /// The JSON found instead of a number.
    NotANumber(String),
    /// A number beyond the float type's range.
    OutOfRange(f64),
}

/// The leaves of one field's value in row-major order, written into the
/// field's part of the parameters while they fit; the first bad one is
/// kept to report once the shape is known to be right.
struct Leaves<'a, T> {
    values: &'a mut [T],
    count: usize,
    bad: Option<(usize, BadLeaf)>,
}

impl<T: Real> Leaves<'_, T> {
    fn number(&mut self, x: f64) {
        let value = T::lit(x);
        if value.is_finite() {
            if let Some(slot) = self.values.get_mut(self.count) {
                *slot = value;
            }
        } else {
            self.bad_leaf(BadLeaf::OutOfRange(x));
        }
        self.count = self.count.saturating_add(1);
    }

    fn other(&mut self, found: String) {
        self.bad_leaf(BadLeaf::NotANumber(found));
        self.count = self.count.saturating_add(1);
    }

    fn bad_leaf(&mut self, leaf: BadLeaf) {
        if self.bad.is_none() {
            self.bad = Some((self.count, leaf));
        }
    }
}

/// Walks one value, storing its leaves and returning its shape: `[]` for a
/// non-array, `[n, ...]` for an array whose elements all have the same
/// shape, `None` otherwise. Memory grows with the nesting depth only.
struct Walk<'a, 'b, T>(&'a mut Leaves<'b, T>);

impl<'de, T: Real> DeserializeSeed<'de> for Walk<'_, '_, T> {
    type Value = Option<Vec<usize>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: Real> Visitor<'de> for Walk<'_, '_, T> {
    type Value = Option<Vec<usize>>;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "a number or an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut n = 0usize;
        let mut inner: Option<Option<Vec<usize>>> = None;
        while let Some(shape) = seq.next_element_seed(Walk(&mut *self.0))? {
            n += 1;
            match &inner {
                None => inner = Some(shape),
                Some(first) if *first == shape => {}
                Some(_) => inner = Some(None),
            }
        }
        Ok(match inner {
            None => Some(vec![0]),
            Some(None) => None,
            Some(Some(inner)) => Some([vec![n], inner].concat()),
        })
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Self::Value, E> {
        self.0.number(x);
        Ok(Some(Vec::new()))
    }
    fn visit_i64<E: de::Error>(self, x: i64) -> Result<Self::Value, E> {
        self.visit_f64(x as f64)
    }
    fn visit_u64<E: de::Error>(self, x: u64) -> Result<Self::Value, E> {
        self.visit_f64(x as f64)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        self.0.other(b.to_string());
        Ok(Some(Vec::new()))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        self.0.other(Value::from(s).to_string());
        Ok(Some(Vec::new()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.other("null".to_string());
        Ok(Some(Vec::new()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.0.other("an object".to_string());
        Ok(Some(Vec::new()))
    }
}

/// Saves `params` to `path` as JSON, atomically (see the module
/// documentation): the file at `path` is either left as it was or
/// replaced by a complete new one with the same permissions.
///
/// # Errors
///
/// [`ParamsError::NonFinite`] for a NaN or infinite parameter and
/// [`ParamsError::Layout`] for an inconsistent [`Parameters`]
/// implementation (nothing is written), [`ParamsError::Io`] when the file
/// cannot be written or is read-only.
pub fn save_params<T: Real, P: Parameters<T>>(
    path: impl AsRef<Path>,
    params: &P,
) -> Result<(), ParamsError> {
    let path = path.as_ref();
    let values = writable_values(params)?;
    let io_error = |source| ParamsError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let target = follow_links(path).map_err(io_error)?;
    let write = |file: &mut File| {
        let mut out = BufWriter::new(file);
        write_json(P::FIELDS, &values, &mut out)?;
        out.flush()
    };
    write_atomically(&target, write).map_err(io_error)
}

/// `path` with symbolic links followed to the file they name (which may
/// not exist yet).
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut target = path.to_path_buf();
    // As many links as Linux follows before giving up with ELOOP.
    for _ in 0..40 {
        match fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&target)?;
                target = match target.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            Ok(_) => return Ok(target),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(target),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Replaces `target` (not a link) by a file that `write` fills,
/// atomically.
fn write_atomically(
    target: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let existing = match fs::metadata(target) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(meta) = &existing {
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        }
        if meta.permissions().readonly() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the file is read-only; make it writable to replace it",
            ));
        }
    }
    remove_stale_temporaries(dir, name);
    let (mut file, temporary) = create_temporary(dir, name)?;
    let written = (|| {
        write(&mut file)?;
        if let Some(meta) = &existing {
            keep_owner(&file, meta);
            file.set_permissions(meta.permissions())?;
        }
        file.sync_all()
    })();
    if let Err(e) = written.and_then(|()| fs::rename(&temporary, target)) {
        let _ = fs::remove_file(&temporary);
        return Err(e);
    }
    // The rename is durable once the directory is; the lock on the file
    // (now the target) goes when it is closed.
    sync_directory(dir)
}

/// Whether `file_name` is one of our temporary files for the target `name`:
/// `.NAME.` followed by 16 hexadecimal digits and `.tmp`.
fn is_temporary_of(file_name: &OsStr, name: &OsStr) -> bool {
    let (file_name, name) = (file_name.as_encoded_bytes(), name.as_encoded_bytes());
    file_name
        .strip_prefix(b".")
        .and_then(|rest| rest.strip_prefix(name))
        .and_then(|rest| rest.strip_prefix(b"."))
        .and_then(|rest| rest.strip_suffix(b".tmp"))
        .is_some_and(|id| id.len() == 16 && id.iter().all(u8::is_ascii_hexdigit))
}

/// Creates a new temporary file for `name` in `dir` and locks it, so that
/// no other save takes it for stale while it is written.
fn create_temporary(dir: &Path, name: &OsStr) -> io::Result<(File, PathBuf)> {
    for _ in 0..100 {
        let mut temporary = OsString::from(".");
        temporary.push(name);
        temporary.push(format!(".{:016x}.tmp", rand::random::<u64>()));
        let path = dir.join(temporary);
        // Created like `File::create` creates, so a new target gets the
        // usual permissions (0666 less the umask on Unix).
        let file = match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        file.lock()?;
        // Another save may have taken it for stale between its creation
        // and the lock, and removed it: then try another name.
        if is_same_file(&file, &path) {
            return Ok((file, path));
        }
    }
    Err(io::Error::other("cannot create a temporary file"))
}

/// Gives the new `file` the owner and group of the file it replaces, as
/// far as this process may: only root gives a file away, and a user may
/// pick a group they belong to. Otherwise the new file is the saver's, as
/// any new file is.
#[cfg(unix)]
fn keep_owner(file: &File, existing: &fs::Metadata) {
    use std::os::unix::fs::{MetadataExt, fchown};
    let Ok(new) = file.metadata() else {
        return;
    };
    if (new.uid(), new.gid()) == (existing.uid(), existing.gid()) {
        return;
    }
    if fchown(file, Some(existing.uid()), Some(existing.gid())).is_err() {
        let _ = fchown(file, None, Some(existing.gid()));
    }
}

/// Ownership is not carried over here.
#[cfg(not(unix))]
fn keep_owner(_: &File, _: &fs::Metadata) {}

/// Removes the temporary files for `name` in `dir` that no save holds: those
/// a killed or crashed save left behind. Failures are ignored; a stale file
/// only costs space.
fn remove_stale_temporaries(dir: &Path, name: &OsStr) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !is_temporary_of(&entry.file_name(), name) {
            continue;
        }
        let path = entry.path();
        // Opened for writing, which every temporary file allows its owner
        // (read-only targets are refused before one is made), to take the
        // lock; nothing is written.
        let Ok(file) = OpenOptions::new().write(true).open(&path) else {
            continue;
        };
        // A save holds its file locked from creation to rename; a lock we
        // get means nobody does. Checking the name still leads to the file
        // we locked guards against a save that renamed it meanwhile.
        if file.try_lock().is_ok() && is_same_file(&file, &path) {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Whether `path` still names the open `file`.
#[cfg(unix)]
fn is_same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether `path` still names the open `file`.
#[cfg(not(unix))]
fn is_same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

/// Flushes `dir` itself to disk, so that a rename inside it survives a
/// power cut.
#[cfg(unix)]
fn sync_directory(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened for flushing here; the rename is as
/// durable as the system makes it.
#[cfg(not(unix))]
fn sync_directory(_: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{DenseParams, LinearParams, Mismatched, PairF32};

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
            format!(
                "{}: field \"w\" should have shape [3, 2], found [2]",
                path.display()
            )
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = load_linear(r#"{"w": [1, 2], "b": 0, "w": [3, 4]}"#).unwrap_err();
        assert!(matches!(err, ParamsError::DuplicateField { field: "w" }));
        assert_eq!(err.to_string(), "field \"w\" appears twice");
    }

    #[test]
    fn values_beyond_f32_are_out_of_range() {
        let err = params_from_json::<f32, PairF32>(r#"{"w": [1, 1e39]}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field \"w\": w[1] is 1e39, out of range for f32"
        );
        let p: PairF32 = params_from_json(r#"{"w": [0.1, -3.4028235e38]}"#).unwrap();
        assert_eq!(p.w, [0.1, -f32::MAX]);
        // f32 parameters round-trip exactly through their f64 text.
        let p = PairF32 {
            w: [f32::MIN_POSITIVE / 3.0, 1.0 / 3.0],
        };
        let back: PairF32 = params_from_json(&params_to_json(&p).unwrap()).unwrap();
        assert_eq!(back.w.map(f32::to_bits), p.w.map(f32::to_bits));
    }

    #[test]
    fn content_errors_of_a_file_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("linear.json");
        std::fs::write(&path, r#"{"w": [1, 2]}"#).unwrap();
        let err = load_params::<f64, LinearParams>(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: missing field \"b\"", path.display())
        );
        let ParamsError::InFile { source, .. } = &err else {
            panic!("expected an error naming the file, got {err:?}");
        };
        assert!(matches!(**source, ParamsError::MissingField { field: "b" }));
        std::fs::write(&path, "{\"w\": [1, 2],\n \"b\": }").unwrap();
        let err = load_params::<f64, LinearParams>(&path).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: invalid JSON: ", path.display())),
            "{err}"
        );
        // A directory is named too.
        let err = load_params::<f64, LinearParams>(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read {}: ", dir.path().display())),
            "{err}"
        );
    }

    /// A reader of `prefix` followed by `0, ` forever, counting what it
    /// served.
    struct Endless {
        prefix: &'static [u8],
        served: usize,
    }

    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(4096);
            for (k, b) in buf[..n].iter_mut().enumerate() {
                let at = self.served + k;
                *b = match self.prefix.get(at) {
                    Some(&b) => b,
                    None => b"0, "[(at - self.prefix.len()) % 3],
                };
            }
            self.served += n;
            Ok(n)
        }
    }

    #[test]
    fn loading_streams_and_stops_at_the_first_unknown_or_repeated_key() {
        let mut unknown = Endless {
            prefix: br#"{"w": [1, 2], "junk": [0, "#,
            served: 0,
        };
        let err = read_params::<f64, LinearParams>(&mut unknown).unwrap_err();
        assert!(matches!(err, ParamsError::UnknownField { .. }), "{err}");
        assert!(unknown.served <= 8192, "read {} bytes", unknown.served);
        let mut repeated = Endless {
            prefix: br#"{"b": 1, "b": [0, "#,
            served: 0,
        };
        let err = read_params::<f64, LinearParams>(&mut repeated).unwrap_err();
        assert!(
            matches!(err, ParamsError::DuplicateField { field: "b" }),
            "{err}"
        );
        assert!(repeated.served <= 8192, "read {} bytes", repeated.served);
    }

    #[test]
    fn inconsistent_parameters_are_errors_not_panics() {
        let p = Mismatched { v: [1.0, 2.0, 3.0] };
        let err = params_to_json(&p).unwrap_err();
        assert_eq!(
            err.to_string(),
            "inconsistent parameters: FIELDS hold 4 scalars but LEN is 2"
        );
        assert_eq!(Mismatched::from_slice(&[1.0, 2.0]), None);
        let err = params_from_json::<f64, Mismatched>(r#"{"v": [1, 2, 3, 4]}"#).unwrap_err();
        assert!(matches!(err, ParamsError::Layout(_)), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.json");
        assert!(matches!(
            save_params(&path, &p),
            Err(ParamsError::Layout(_))
        ));
        assert!(!path.exists());
    }

    #[test]
    fn a_read_only_file_is_kept_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("params.json");
        save_params(&path, &linear()).unwrap();
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        permissions.set_readonly(true);
        std::fs::set_permissions(&path, permissions).unwrap();
        let other = LinearParams {
            w: [9.0, 9.0],
            b: 9.0,
        };
        let err = save_params(&path, &other).unwrap_err();
        let ParamsError::Io { source, .. } = &err else {
            panic!("expected an I/O error, got {err:?}");
        };
        assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("read-only"), "{err}");
        assert_eq!(load_params::<f64, LinearParams>(&path).unwrap(), linear());
    }

    #[test]
    fn stale_temporary_files_are_removed_by_the_next_save() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("params.json");
        let stale = dir.path().join(".params.json.0123456789abcdef.tmp");
        std::fs::write(&stale, "{\"w\": [1,").unwrap();
        // Files that only look alike are left alone: another target's
        // temporary file, and names of other forms.
        let others = [
            ".other.json.0123456789abcdef.tmp",
            ".params.json.notes",
            ".params.json.0123456789abcdeg.tmp",
            "params.json.0123456789abcdef.tmp",
        ];
        for name in others {
            std::fs::write(dir.path().join(name), "keep").unwrap();
        }
        save_params(&path, &linear()).unwrap();
        assert!(!stale.exists());
        for name in others {
            assert!(dir.path().join(name).exists(), "{name} was removed");
        }
        // A temporary file that a save in progress holds is left alone.
        let busy = dir.path().join(".params.json.fedcba9876543210.tmp");
        let file = std::fs::File::create(&busy).unwrap();
        file.lock().unwrap();
        save_params(&path, &linear()).unwrap();
        assert!(busy.exists());
        drop(file);
        save_params(&path, &linear()).unwrap();
        assert!(!busy.exists());
    }

    #[cfg(unix)]
    #[test]
    fn saving_keeps_the_permissions_of_the_file_it_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("params.json");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        for wanted in [0o644, 0o640, 0o664, 0o600, 0o666] {
            std::fs::write(&path, "{}").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wanted)).unwrap();
            save_params(&path, &linear()).unwrap();
            assert_eq!(mode(&path), wanted, "{wanted:o} became {:o}", mode(&path));
        }
        // A new file gets the permissions `File::create` gives, the umask
        // applied.
        let reference = dir.path().join("reference");
        std::fs::File::create(&reference).unwrap();
        let fresh = dir.path().join("fresh.json");
        save_params(&fresh, &linear()).unwrap();
        assert_eq!(mode(&fresh), mode(&reference));
    }

    #[cfg(unix)]
    #[test]
    fn file_names_need_not_be_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(OsStr::from_bytes(b"params-\xff.json"));
        save_params(&path, &linear()).unwrap();
        save_params(&path, &linear()).unwrap();
        assert_eq!(load_params::<f64, LinearParams>(&path).unwrap(), linear());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn saving_keeps_the_owner_of_the_file_it_replaces() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("params.json");
        save_params(&path, &linear()).unwrap();
        let owner = |p: &Path| {
            let meta = std::fs::metadata(p).unwrap();
            (meta.uid(), meta.gid())
        };
        let mine = owner(&path);
        save_params(&path, &linear()).unwrap();
        assert_eq!(owner(&path), mine);
        // Giving a file to someone else takes root; elsewhere only the
        // part above can be checked.
        if std::os::unix::fs::chown(&path, Some(4321), Some(4321)).is_ok() {
            save_params(&path, &linear()).unwrap();
            assert_eq!(owner(&path), (4321, 4321));
        } else {
            eprintln!("not root: a file of another owner cannot be made to check");
        }
    }

    #[cfg(unix)]
    #[test]
    fn saving_through_a_symlink_writes_its_target() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        let chain = dir.path().join("chain.json");
        save_params(&real, &linear()).unwrap();
        symlink("real.json", &link).unwrap();
        symlink(&link, &chain).unwrap();
        let other = LinearParams {
            w: [4.0, 5.0],
            b: 6.0,
        };
        save_params(&chain, &other).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            std::fs::symlink_metadata(&chain)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(load_params::<f64, LinearParams>(&real).unwrap(), other);
        // A link to a file that does not exist yet creates the file.
        let dangling = dir.path().join("dangling.json");
        symlink("sub/new.json", &dangling).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        save_params(&dangling, &other).unwrap();
        assert!(
            std::fs::symlink_metadata(&dangling)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let new = dir.path().join("sub/new.json");
        assert_eq!(load_params::<f64, LinearParams>(&new).unwrap(), other);
        // The temporary file went next to the target, and is gone.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["new.json"]);
        // A loop of links is an error, not a hang.
        let a = dir.path().join("a.json");
        symlink("b.json", &a).unwrap();
        symlink("a.json", dir.path().join("b.json")).unwrap();
        assert!(matches!(
            save_params(&a, &other),
            Err(ParamsError::Io { .. })
        ));
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
