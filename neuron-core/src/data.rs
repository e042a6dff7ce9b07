//! Datasets: the toy sets of "Neural Networks from Scratch" (spiral,
//! vertical, sine), generated from a seed, and CSV files of feature
//! columns followed by a label column, with or without a header line,
//! loaded with errors that name the file, the physical line and the
//! column. Every number is parsed straight into the float type being
//! loaded; one beyond its range is an error, never an infinity.
//!
//! Every dataset is a `Vec<(input, target)>`, the shape
//! [`crate::Trainer::fit`] takes.

use core::fmt;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::real::Real;

/// Standard normal numbers from a seeded ChaCha8 stream, drawn with
/// `rand_distr`'s [`StandardNormal`].
#[derive(Clone, Debug)]
pub struct NormalSampler {
    rng: ChaCha8Rng,
}

impl NormalSampler {
    /// A sampler whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        NormalSampler {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The next number drawn from `N(0, 1)`.
    pub fn sample(&mut self) -> f64 {
        self.rng.sample(StandardNormal)
    }
}

/// The `i`-th of `n` evenly spaced numbers from `start` to `end`
/// inclusive, as numpy's `linspace` computes it (the last one is exactly
/// `end`, a single one is `start`).
fn linspace(start: f64, end: f64, n: usize, i: usize) -> f64 {
    if n < 2 {
        start
    } else if i + 1 == n {
        end
    } else {
        start + i as f64 * ((end - start) / (n - 1) as f64)
    }
}

/// An empty vector with room for `count` samples, where `count` is `None`
/// when computing it overflowed.
///
/// # Panics
///
/// When the samples cannot be held in memory, with a message naming the
/// size `size()` describes, rather than an arithmetic overflow or an
/// abort.
#[track_caller]
fn room_for<S>(count: Option<usize>, size: impl FnOnce() -> String) -> Vec<S> {
    let mut data = Vec::new();
    if count.is_none_or(|n| data.try_reserve_exact(n).is_err()) {
        panic!("{} is more samples than memory can hold", size());
    }
    data
}

/// nnfs's `spiral_data`: `classes` interleaved spiral arms of
/// `points_per_class` points each, labelled `0..classes`, class by class.
///
/// For class `c`: `r = linspace(0, 1)`,
/// `t = linspace(4c, 4(c + 1)) + N(0, 1) * 0.2`,
/// point `(r sin(2.5 t), r cos(2.5 t))`.
///
/// # Panics
///
/// When `points_per_class * classes` points do not fit in memory, with a
/// message naming both numbers.
#[track_caller]
pub fn spiral(points_per_class: usize, classes: usize, seed: u64) -> Vec<([f64; 2], usize)> {
    let mut data = room_for(points_per_class.checked_mul(classes), || {
        format!("spiral: {classes} classes of {points_per_class} points")
    });
    let mut normal = NormalSampler::new(seed);
    for class in 0..classes {
        let c = class as f64;
        for i in 0..points_per_class {
            let r = linspace(0.0, 1.0, points_per_class, i);
            let t = linspace(c * 4.0, (c + 1.0) * 4.0, points_per_class, i);
            let t = t + normal.sample() * 0.2;
            data.push(([r * (t * 2.5).sin(), r * (t * 2.5).cos()], class));
        }
    }
    data
}

/// nnfs's `vertical_data`: `classes` vertical clusters of
/// `points_per_class` points each, labelled `0..classes`.
///
/// For class `c`: `x = N(0, 1) * 0.1 + c / 3`, `y = N(0, 1) * 0.1 + 0.5`.
///
/// # Panics
///
/// When `points_per_class * classes` points do not fit in memory, with a
/// message naming both numbers.
#[track_caller]
pub fn vertical(points_per_class: usize, classes: usize, seed: u64) -> Vec<([f64; 2], usize)> {
    let mut data = room_for(points_per_class.checked_mul(classes), || {
        format!("vertical: {classes} classes of {points_per_class} points")
    });
    let mut normal = NormalSampler::new(seed);
    for class in 0..classes {
        // nnfs draws the class's whole x column, then its whole y column.
        let first = data.len();
        for _ in 0..points_per_class {
            let x = normal.sample() * 0.1 + class as f64 / 3.0;
            data.push(([x, 0.0], class));
        }
        for (point, _) in &mut data[first..] {
            point[1] = normal.sample() * 0.1 + 0.5;
        }
    }
    data
}

/// nnfs's `sine_data`: `samples` points `(x, sin(2πx))` with
/// `x = i / samples`, for regression.
///
/// # Panics
///
/// When `samples` points do not fit in memory, with a message naming the
/// number.
#[track_caller]
pub fn sine(samples: usize) -> Vec<(f64, f64)> {
    let mut data = room_for(Some(samples), || format!("sine: {samples} samples"));
    data.extend((0..samples).map(|i| {
        let x = i as f64 / samples as f64;
        (x, (2.0 * core::f64::consts::PI * x).sin())
    }));
    data
}

/// Splits `data` in two at random, reproducibly from `seed`: the samples
/// are shuffled (ChaCha8) and the last `round(len * fraction)` go to the
/// second part, the rest, in shuffled order, to the first. As scikit-learn's
/// `train_test_split(data, test_size=fraction)`:
///
/// ```
/// let data: Vec<(f64, usize)> = (0..10).map(|i| (i as f64, i % 2)).collect();
/// let (train, test) = neuron_core::split(&data, 0.2, 7)?;
/// assert_eq!((train.len(), test.len()), (8, 2));
/// # Ok::<(), neuron_core::SplitError>(())
/// ```
///
/// # Errors
///
/// [`SplitError`] when `fraction` is not in `[0, 1]`.
pub fn split<S: Clone>(
    data: &[S],
    fraction: f64,
    seed: u64,
) -> Result<(Vec<S>, Vec<S>), SplitError> {
    use rand::seq::SliceRandom;
    if !(0.0..=1.0).contains(&fraction) {
        return Err(SplitError { fraction });
    }
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    // `fraction` is in [0, 1], so the count is in 0..=len.
    let second = ((data.len() as f64) * fraction).round() as usize;
    let (first, rest) = order.split_at(data.len() - second.min(data.len()));
    let pick = |indices: &[usize]| indices.iter().map(|&k| data[k].clone()).collect();
    Ok((pick(first), pick(rest)))
}

/// A fraction given to [`split`] outside `[0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("cannot split off a fraction of {fraction}; it must be in [0, 1]")]
pub struct SplitError {
    /// The fraction given.
    pub fraction: f64,
}

/// Converts a dataset's `f64` features to another float type, e.g. to
/// train an `f32` model on [`spiral`].
///
/// # Errors
///
/// [`CastError`] for a finite feature beyond the range of `T` (NaN and
/// infinities stay what they are; training refuses them).
pub fn cast_features<T: Real, const N: usize, L: Clone>(
    data: &[([f64; N], L)],
) -> Result<Vec<([T; N], L)>, CastError> {
    let mut out = Vec::with_capacity(data.len());
    for (sample, (x, label)) in data.iter().enumerate() {
        let mut features = [T::zero(); N];
        for (feature, (to, &from)) in features.iter_mut().zip(x).enumerate() {
            *to = T::lit(from);
            if from.is_finite() && !to.is_finite() {
                return Err(CastError {
                    sample,
                    feature,
                    value: from,
                    ty: type_name::<T>(),
                });
            }
        }
        out.push((features, label.clone()));
    }
    Ok(out)
}

/// `"f32"` or `"f64"`: the float type's name, for messages.
pub(crate) fn type_name<T: Real>() -> &'static str {
    core::any::type_name::<T>()
}

/// A feature that [`cast_features`] cannot represent in the target type.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("sample {sample}, feature {feature}: {value:e} is out of range for {ty}")]
pub struct CastError {
    /// The sample's index in the dataset.
    pub sample: usize,
    /// The feature's index within the sample.
    pub feature: usize,
    /// The value.
    pub value: f64,
    /// The target type, `"f32"` or `"f64"`.
    pub ty: &'static str,
}

/// A column of a CSV file, by its header or, in a file without one, by
/// its number (starting at 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// The column's header.
    Named(String),
    /// The column's number, starting at 1.
    Numbered(usize),
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Named(name) => write!(f, "column \"{name}\""),
            Column::Numbered(number) => write!(f, "column {number}"),
        }
    }
}

/// Why a CSV file could not be loaded.
///
/// Lines are physical lines of the file, starting at 1, whatever the line
/// endings (`\n`, `\r\n` or `\r`), counting blank lines; a record that
/// spans lines (a quoted field holding a line break) is reported on its
/// first line.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The reader given to [`read_csv`] or [`read_csv_regression`] failed.
    #[error("cannot read the CSV: {source}")]
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
        source: Box<CsvError>,
    },
    /// The file holds neither a header nor a row.
    #[error("the CSV is empty; expected a header line or a row")]
    Empty,
    /// The CSV itself is malformed (e.g. not UTF-8).
    #[error("{}malformed CSV: {message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Malformed {
        /// The line, when known.
        line: Option<u64>,
        /// What the CSV reader said.
        message: String,
    },
    /// A line with the wrong number of columns.
    #[error("line {line}: expected {expected} columns ({} features and a label), found {found}", expected - 1)]
    ColumnCount {
        /// The line.
        line: u64,
        /// Features plus the label.
        expected: usize,
        /// The columns found.
        found: usize,
    },
    /// A feature (or a float target) that is not a finite number.
    #[error("line {line}, {column}: cannot parse \"{value}\" as a number")]
    NotANumber {
        /// The line.
        line: u64,
        /// The column.
        column: Column,
        /// The text found.
        value: String,
    },
    /// A number beyond the range of the float type being loaded.
    #[error("line {line}, {column}: {value} is out of range for {ty}")]
    OutOfRange {
        /// The line.
        line: u64,
        /// The column.
        column: Column,
        /// The text found.
        value: String,
        /// The float type, `"f32"` or `"f64"`.
        ty: &'static str,
    },
    /// A class label that is not a non-negative integer.
    #[error("line {line}, {column}: cannot parse \"{value}\" as a class (a non-negative integer)")]
    NotAClass {
        /// The line.
        line: u64,
        /// The column.
        column: Column,
        /// The text found.
        value: String,
    },
}

/// Loads a CSV file of rows of `N` numeric feature columns and a class
/// label column (`0`, `1`, ...), after a header line.
///
/// A first line whose every field is a number is taken as a row: the file
/// has no header, and errors name columns by number.
///
/// # Errors
///
/// [`CsvError::Io`] naming the file when it cannot be opened or read, and
/// otherwise a [`CsvError::InFile`] naming the file around the error of
/// [`read_csv`]: the line (and column) of the first bad value or wrong
/// column count.
pub fn load_csv<T: Real, const N: usize>(
    path: impl AsRef<Path>,
) -> Result<Vec<([T; N], usize)>, CsvError> {
    let path = path.as_ref();
    in_file(path, read_csv(open(path)?))
}

/// Loads a CSV file of rows of `N` numeric feature columns and a numeric
/// target column, for regression; the header is optional as for
/// [`load_csv`].
///
/// # Errors
///
/// As [`load_csv`].
pub fn load_csv_regression<T: Real, const N: usize>(
    path: impl AsRef<Path>,
) -> Result<Vec<([T; N], T)>, CsvError> {
    let path = path.as_ref();
    in_file(path, read_csv_regression(open(path)?))
}

/// [`load_csv`] from any reader, e.g. a string's bytes.
///
/// # Errors
///
/// A [`CsvError`] naming the line (and column) of the first bad value,
/// number out of range for `T` or wrong column count, or
/// [`CsvError::Read`] when the reader fails.
pub fn read_csv<T: Real, const N: usize>(
    reader: impl Read,
) -> Result<Vec<([T; N], usize)>, CsvError> {
    read_rows(reader, |line, column, value| {
        parse_class(value).ok_or_else(|| CsvError::NotAClass {
            line,
            column: column.clone(),
            value: value.to_string(),
        })
    })
}

/// [`load_csv_regression`] from any reader.
///
/// # Errors
///
/// As [`read_csv`].
pub fn read_csv_regression<T: Real, const N: usize>(
    reader: impl Read,
) -> Result<Vec<([T; N], T)>, CsvError> {
    read_rows(reader, parse_number)
}

/// Opens `path` for reading; a directory is refused here, naming it,
/// rather than failing on the first read.
fn open(path: &Path) -> Result<BufReader<File>, CsvError> {
    let io_error = |source| CsvError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    if file.metadata().map_err(io_error)?.is_dir() {
        return Err(io_error(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory, not a CSV file",
        )));
    }
    Ok(BufReader::new(file))
}

/// Names `path` in the error of reading it: a failed read becomes
/// [`CsvError::Io`], any other error is wrapped in [`CsvError::InFile`].
fn in_file<V>(path: &Path, result: Result<V, CsvError>) -> Result<V, CsvError> {
    result.map_err(|error| match error {
        CsvError::Read { source } => CsvError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => CsvError::InFile {
            path: path.to_path_buf(),
            source: Box::new(other),
        },
    })
}

/// `"2"` or `"2.0"`, but not `"-1"`, `"2.5"` or `"two"`.
fn parse_class(value: &str) -> Option<usize> {
    if let Ok(class) = value.parse::<usize>() {
        return Some(class);
    }
    let x = value.parse::<f64>().ok()?;
    let integral = x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < usize::MAX as f64;
    integral.then_some(x as usize)
}

/// Parses `value` straight into `T`, so that it is rounded once, to the
/// nearest `T`; a number beyond `T`'s range is an error rather than an
/// infinity.
fn parse_number<T: Real>(line: u64, column: &Column, value: &str) -> Result<T, CsvError> {
    match <T as num_traits::Num>::from_str_radix(value, 10) {
        Ok(x) if x.is_finite() => Ok(x),
        // Digits that overflowed; `inf` and `NaN` have none.
        Ok(x) if x.is_infinite() && value.bytes().any(|b| b.is_ascii_digit()) => {
            Err(CsvError::OutOfRange {
                line,
                column: column.clone(),
                value: value.to_string(),
                ty: type_name::<T>(),
            })
        }
        _ => Err(CsvError::NotANumber {
            line,
            column: column.clone(),
            value: value.to_string(),
        }),
    }
}

/// A reader that records on which physical line each line's content
/// starts, so that a byte offset reported by the CSV reader can be turned
/// into a line number.
///
/// The CSV reader may place a record at the line ending before it (the
/// `\n` of a `\r\n`, or blank lines it skips), so an offset is given the
/// line of the first byte at or after it that is not a line ending. Only
/// the lines not yet passed by a lookup are kept (those within the CSV
/// reader's buffer), since lookups come in file order.
struct LineCounter<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// The physical line of the next byte, starting at 1.
    line: u64,
    /// Whether that line already has a byte other than a line ending.
    line_has_content: bool,
    /// Whether the last byte read was a `\r`, which ends a line unless a
    /// `\n` follows.
    after_cr: bool,
    /// `(offset, line)` of the first content byte of each line.
    content_starts: VecDeque<(u64, u64)>,
}

impl<R: Read> LineCounter<R> {
    fn new(inner: R) -> Self {
        LineCounter {
            inner,
            offset: 0,
            line: 1,
            line_has_content: false,
            after_cr: false,
            content_starts: VecDeque::new(),
        }
    }

    /// The line of the first content byte at or after `offset`; offsets
    /// must come in order.
    fn line_of(&mut self, offset: u64) -> u64 {
        while self
            .content_starts
            .front()
            .is_some_and(|&(at, _)| at < offset)
        {
            self.content_starts.pop_front();
        }
        self.content_starts
            .front()
            .map_or(self.line, |&(_, line)| line)
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (at, &byte) in (self.offset..).zip(&buf[..n]) {
            if self.after_cr && byte != b'\n' {
                // A lone `\r` ended the line.
                self.line += 1;
                self.line_has_content = false;
            }
            self.after_cr = byte == b'\r';
            match byte {
                b'\n' => {
                    self.line += 1;
                    self.line_has_content = false;
                }
                b'\r' => {}
                _ if !self.line_has_content => {
                    self.content_starts.push_back((at, self.line));
                    self.line_has_content = true;
                }
                _ => {}
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Reads rows of `N` features plus one label, after an optional header,
/// parsing the label with `label(line, column, text)`.
fn read_rows<T: Real, const N: usize, L>(
    reader: impl Read,
    label: impl Fn(u64, &Column, &str) -> Result<L, CsvError>,
) -> Result<Vec<([T; N], L)>, CsvError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(LineCounter::new(reader));
    // Any error the CSV reader reports, on the line it is on.
    let fail = |csv: &mut csv::Reader<LineCounter<_>>, error: csv::Error| {
        let line = error.position().map(|p| csv.get_mut().line_of(p.byte()));
        match error.into_kind() {
            csv::ErrorKind::Io(source) => CsvError::Read { source },
            // The reader's own message names its own idea of the line.
            csv::ErrorKind::Utf8 { err, .. } => CsvError::Malformed {
                line,
                message: err.to_string(),
            },
            kind => CsvError::Malformed {
                line,
                message: format!("{kind:?}"),
            },
        }
    };
    let expected = N + 1;
    let mut record = csv::StringRecord::new();
    let mut rows = Vec::new();
    let mut columns: Option<Vec<Column>> = None;
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => return Err(fail(&mut csv, error)),
        }
        let line = record
            .position()
            .map_or(0, |p| csv.get_mut().line_of(p.byte()));
        if record.len() != expected {
            return Err(CsvError::ColumnCount {
                line,
                expected,
                found: record.len(),
            });
        }
        let columns = match &columns {
            Some(columns) => columns,
            None => {
                // A first line of numbers only is a row: the file has no
                // header.
                let header = !record.iter().all(|v| v.parse::<f64>().is_ok());
                let names = if header {
                    record
                        .iter()
                        .map(|v| Column::Named(v.to_string()))
                        .collect()
                } else {
                    (1..=expected).map(Column::Numbered).collect()
                };
                let columns = columns.insert(names);
                if header {
                    continue;
                }
                columns
            }
        };
        let mut features = [T::zero(); N];
        for (k, feature) in features.iter_mut().enumerate() {
            *feature = parse_number(line, &columns[k], &record[k])?;
        }
        let target = label(line, &columns[N], &record[N])?;
        rows.push((features, target));
    }
    if columns.is_none() {
        return Err(CsvError::Empty);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn linspace_matches_numpy() {
        let five: Vec<f64> = (0..5).map(|i| linspace(0.0, 1.0, 5, i)).collect();
        assert_eq!(five, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(linspace(4.0, 8.0, 1, 0), 4.0);
        // numpy's last point is exactly `end`, not `start + 99 * step`.
        assert_eq!(linspace(0.1, 0.7, 100, 99), 0.7);
    }

    #[test]
    fn normal_sampler_has_mean_zero_and_variance_one() {
        let mut normal = NormalSampler::new(9);
        let xs: Vec<f64> = (0..20_000).map(|_| normal.sample()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
    }

    #[test]
    fn spiral_follows_the_nnfs_formulas() {
        let data = spiral(100, 3, 0);
        assert_eq!(data.len(), 300);
        let radii: Vec<f64> = (0..100).map(|i| linspace(0.0, 1.0, 100, i)).collect();
        for (k, ([x, y], class)) in data.iter().enumerate() {
            assert_eq!(*class, k / 100);
            // r sin, r cos: the point's norm is the radius.
            let r = (x * x + y * y).sqrt();
            assert!((r - radii[k % 100]).abs() < 1e-12);
        }
        // The angle is t * 2.5 with t near linspace(4c, 4c + 4): check the
        // noise is small, about 0.2 * 2.5 in angle.
        let ([x, y], _) = data[150];
        let t = x.atan2(y) / 2.5;
        let expected = 4.0 + 4.0 * 50.0 / 99.0;
        let diff = ((t - expected) * 2.5).rem_euclid(2.0 * core::f64::consts::PI);
        let diff = diff.min(2.0 * core::f64::consts::PI - diff);
        assert!(diff < 2.0, "angle off by {diff}");
    }

    #[test]
    fn datasets_are_seeded() {
        assert_eq!(spiral(20, 3, 5), spiral(20, 3, 5));
        assert_ne!(spiral(20, 3, 5), spiral(20, 3, 6));
        assert_eq!(vertical(20, 3, 5), vertical(20, 3, 5));
        assert_ne!(vertical(20, 3, 5), vertical(20, 3, 6));
        assert!(spiral(0, 3, 0).is_empty());
        assert!(vertical(10, 0, 0).is_empty());
    }

    #[test]
    fn vertical_clusters_sit_at_class_over_three() {
        let data = vertical(2000, 3, 1);
        for class in 0..3 {
            let points: Vec<[f64; 2]> = data
                .iter()
                .filter(|(_, c)| *c == class)
                .map(|(x, _)| *x)
                .collect();
            assert_eq!(points.len(), 2000);
            let mean_x = points.iter().map(|p| p[0]).sum::<f64>() / 2000.0;
            let mean_y = points.iter().map(|p| p[1]).sum::<f64>() / 2000.0;
            assert!((mean_x - class as f64 / 3.0).abs() < 0.01, "{mean_x}");
            assert!((mean_y - 0.5).abs() < 0.01, "{mean_y}");
        }
    }

    #[test]
    fn sine_and_cast() {
        let data = sine(4);
        assert_eq!(data[1].0, 0.25);
        assert!((data[1].1 - 1.0).abs() < 1e-15);
        let small: Vec<([f32; 2], usize)> = cast_features(&vertical(2, 2, 0)).unwrap();
        assert_eq!(small.len(), 4);
        let err =
            cast_features::<f32, 2, usize>(&[([0.0, 0.0], 0), ([1.0, -1e39], 1)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sample 1, feature 1: -1e39 is out of range for f32"
        );
        let same: Vec<([f64; 2], usize)> = cast_features(&[([1.0, -1e39], 1)]).unwrap();
        assert_eq!(same, vec![([1.0, -1e39], 1)]);
    }

    #[test]
    fn reads_features_and_classes() {
        let text = "x1, x2, label\n0.5, -1, 0\n2e-3,4,2.0\n";
        let rows: Vec<([f64; 2], usize)> = read_csv(text.as_bytes()).unwrap();
        assert_eq!(rows, vec![([0.5, -1.0], 0), ([0.002, 4.0], 2)]);
        let rows: Vec<([f32; 1], f32)> = read_csv_regression("x,y\n1,2.5\n".as_bytes()).unwrap();
        assert_eq!(rows, vec![([1.0], 2.5)]);
    }

    #[test]
    fn bad_number_names_line_and_column() {
        let text = "x1,x2,label\n1,2,0\n3,abc,1\n";
        let err = read_csv::<f64, 2>(text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3, column \"x2\": cannot parse \"abc\" as a number"
        );
        let err = read_csv::<f64, 2>("x1,x2,label\n1,NaN,0\n".as_bytes()).unwrap_err();
        assert!(matches!(err, CsvError::NotANumber { line: 2, .. }), "{err}");
    }

    #[test]
    fn bad_class_names_line_and_column() {
        let err = read_csv::<f64, 1>("x,class\n1,0\n2,-1\n".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3, column \"class\": cannot parse \"-1\" as a class (a non-negative integer)"
        );
        let err = read_csv::<f64, 1>("x,class\n1,0.5\n".as_bytes()).unwrap_err();
        assert!(matches!(err, CsvError::NotAClass { line: 2, .. }));
    }

    #[test]
    fn wrong_column_counts_are_errors() {
        let err = read_csv::<f64, 2>("x1,x2,label\n1,2,0\n1,2\n".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: expected 3 columns (2 features and a label), found 2"
        );
        let err = read_csv::<f64, 2>("x1,label\n1,0\n".as_bytes()).unwrap_err();
        assert!(matches!(
            err,
            CsvError::ColumnCount {
                line: 1,
                expected: 3,
                found: 2
            }
        ));
        let err = read_csv::<f64, 2>("".as_bytes()).unwrap_err();
        assert!(matches!(err, CsvError::Empty));
    }

    #[test]
    fn non_utf8_is_malformed_not_a_panic() {
        let err = read_csv::<f64, 1>(&b"x,y\n\xff,1\n"[..]).unwrap_err();
        assert!(matches!(err, CsvError::Malformed { .. }), "{err}");
    }

    #[test]
    fn values_beyond_f32_are_out_of_range_not_infinite() {
        let err = read_csv::<f32, 2>("x1,x2,label\n1,1e39,0\n".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2, column \"x2\": 1e39 is out of range for f32"
        );
        let err = read_csv_regression::<f32, 1>("x,y\n1,-4e38\n".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2, column \"y\": -4e38 is out of range for f32"
        );
        // The same text is in range for f64, and is still read exactly there.
        let rows = read_csv::<f64, 2>("x1,x2,label\n1,1e39,0\n".as_bytes()).unwrap();
        assert_eq!(rows, vec![([1.0, 1e39], 0)]);
        // Each value is rounded once, straight to the target type.
        let rows = read_csv::<f32, 1>("x,label\n0.1,0\n3.4028235e38,1\n".as_bytes()).unwrap();
        assert_eq!(rows, vec![([0.1f32], 0), ([f32::MAX], 1)]);
        // Non-finite spellings are not numbers, in any type.
        let err = read_csv::<f32, 1>("x,label\ninf,0\n".as_bytes()).unwrap_err();
        assert!(matches!(err, CsvError::NotANumber { line: 2, .. }), "{err}");
    }

    /// The line `read_csv::<f64, 1>` reports for the bad value in `text`.
    fn bad_line(text: &str) -> u64 {
        match read_csv::<f64, 1>(text.as_bytes()) {
            Err(CsvError::NotANumber { line, .. }) => line,
            other => panic!("expected a bad number in {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn lines_are_physical_lines_for_every_line_ending() {
        let rows = ["x,label", "1,0", "2,1", "3,0", "4,1", "abc,0", "5,1"];
        for ending in ["\n", "\r\n", "\r"] {
            let text = rows.join(ending) + ending;
            assert_eq!(bad_line(&text), 6, "line ending {ending:?}");
            // A bad value right after the header is on line 2.
            let text = ["x,label", "abc,0", "1,1"].join(ending);
            assert_eq!(bad_line(&text), 2, "line ending {ending:?}");
        }
        // Blank lines count, wherever they are.
        assert_eq!(bad_line("\nx,label\n\n1,0\n\n\nabc,1\n"), 7);
        assert_eq!(bad_line("x,label\r\n\r\n1,0\r\n\r\nabc,1\r\n"), 5);
        assert_eq!(bad_line("x,label\r\r1,0\r\rabc,1\r"), 5);
        // A quoted field spanning lines moves the following lines down.
        assert_eq!(bad_line("x,label\n\"1\n\",0\nabc,1\n"), 4);
        // Column counts and the header are reported on their lines too.
        let err = read_csv::<f64, 1>("x,label\r\n1,0\r\n\r\n1,0,5\r\n".as_bytes()).unwrap_err();
        assert!(
            matches!(err, CsvError::ColumnCount { line: 4, .. }),
            "{err}"
        );
        let err = read_csv::<f64, 2>("\n\nx,label\n1,0\n".as_bytes()).unwrap_err();
        assert!(
            matches!(err, CsvError::ColumnCount { line: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_file_without_a_header_keeps_its_first_row() {
        let rows = read_csv::<f64, 2>("1,2,0\n3,4,1\n".as_bytes()).unwrap();
        assert_eq!(rows, vec![([1.0, 2.0], 0), ([3.0, 4.0], 1)]);
        let rows = read_csv_regression::<f32, 1>("0.5,2\n".as_bytes()).unwrap();
        assert_eq!(rows, vec![([0.5], 2.0)]);
        // Without a header, errors name columns by number.
        let err = read_csv::<f64, 2>("1,2,0\n3,x,1\n".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2, column 2: cannot parse \"x\" as a number"
        );
        // A first row with any non-number is a header, even if its label
        // column is numeric.
        let rows = read_csv::<f64, 1>("height,1\n2,0\n".as_bytes()).unwrap();
        assert_eq!(rows, vec![([2.0], 0)]);
        // A header and nothing else is an empty dataset.
        assert_eq!(read_csv::<f64, 1>("x,label\n".as_bytes()).unwrap(), vec![]);
    }

    #[test]
    fn a_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_csv::<f64, 1>(dir.path()).unwrap_err();
        assert!(matches!(err, CsvError::Io { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("cannot read {}: ", dir.path().display())),
            "{message}"
        );
    }

    #[test]
    fn errors_in_a_file_name_the_file() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        write!(file, "x,label\n1,0\nabc,1\n").unwrap();
        let err = load_csv::<f64, 1>(file.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: line 3, column \"x\": cannot parse \"abc\" as a number",
                file.path().display()
            )
        );
        let CsvError::InFile { source, .. } = &err else {
            panic!("expected an error naming the file, got {err:?}");
        };
        assert!(matches!(**source, CsvError::NotANumber { line: 3, .. }));
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn absurd_sizes_panic_naming_the_size() {
        let message = |f: fn()| {
            let payload = std::panic::catch_unwind(f).unwrap_err();
            payload
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default()
        };
        let spiral_message = message(|| drop(spiral(usize::MAX / 2, 3, 0)));
        assert_eq!(
            spiral_message,
            format!(
                "spiral: 3 classes of {} points is more samples than memory can hold",
                usize::MAX / 2
            )
        );
        let vertical_message = message(|| drop(vertical(usize::MAX / 64, 3, 0)));
        assert!(
            vertical_message.contains(&format!("3 classes of {} points", usize::MAX / 64)),
            "{vertical_message}"
        );
        let sine_message = message(|| drop(sine(usize::MAX / 2)));
        assert_eq!(
            sine_message,
            format!(
                "sine: {} samples is more samples than memory can hold",
                usize::MAX / 2
            )
        );
    }

    #[test]
    fn files_load_and_missing_files_are_errors() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "a,b,c,label\n1,2,3,1").unwrap();
        let rows: Vec<([f64; 3], usize)> = load_csv(file.path()).unwrap();
        assert_eq!(rows, vec![([1.0, 2.0, 3.0], 1)]);

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.csv");
        let err = load_csv::<f64, 3>(&missing).unwrap_err();
        assert!(matches!(err, CsvError::Io { .. }));
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("cannot read {}: ", missing.display())),
            "{message}"
        );
        assert!(std::error::Error::source(&err).is_some());
        assert!(load_csv_regression::<f64, 3>(&missing).is_err());
    }
}
