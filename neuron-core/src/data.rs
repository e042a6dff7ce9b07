//! Datasets: the toy sets of "Neural Networks from Scratch" (spiral,
//! vertical, sine), generated from a seed, and CSV files of feature
//! columns followed by a label column, loaded with errors that name the
//! line and the column.
//!
//! Every dataset is a `Vec<(input, target)>`, the shape
//! [`crate::Trainer::fit`] takes.

use core::fmt;
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

/// `n` evenly spaced numbers from `start` to `end` inclusive, as numpy's
/// `linspace` computes them (the last one is exactly `end`).
fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    match n {
        0 => return Vec::new(),
        1 => return vec![start],
        _ => {}
    }
    let step = (end - start) / (n - 1) as f64;
    (0..n)
        .map(|i| {
            if i + 1 == n {
                end
            } else {
                start + i as f64 * step
            }
        })
        .collect()
}

/// nnfs's `spiral_data`: `classes` interleaved spiral arms of
/// `points_per_class` points each, labelled `0..classes`, class by class.
///
/// For class `c`: `r = linspace(0, 1)`,
/// `t = linspace(4c, 4(c + 1)) + N(0, 1) * 0.2`,
/// point `(r sin(2.5 t), r cos(2.5 t))`.
pub fn spiral(points_per_class: usize, classes: usize, seed: u64) -> Vec<([f64; 2], usize)> {
    let mut normal = NormalSampler::new(seed);
    let mut data = Vec::with_capacity(points_per_class * classes);
    for class in 0..classes {
        let c = class as f64;
        let radii = linspace(0.0, 1.0, points_per_class);
        let angles = linspace(c * 4.0, (c + 1.0) * 4.0, points_per_class);
        for (r, t) in radii.into_iter().zip(angles) {
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
pub fn vertical(points_per_class: usize, classes: usize, seed: u64) -> Vec<([f64; 2], usize)> {
    let mut normal = NormalSampler::new(seed);
    let mut data = Vec::with_capacity(points_per_class * classes);
    for class in 0..classes {
        // nnfs draws the whole x column, then the whole y column.
        let xs: Vec<f64> = (0..points_per_class)
            .map(|_| normal.sample() * 0.1 + class as f64 / 3.0)
            .collect();
        for x in xs {
            let y = normal.sample() * 0.1 + 0.5;
            data.push(([x, y], class));
        }
    }
    data
}

/// nnfs's `sine_data`: `samples` points `(x, sin(2πx))` with
/// `x = i / samples`, for regression.
pub fn sine(samples: usize) -> Vec<(f64, f64)> {
    (0..samples)
        .map(|i| {
            let x = i as f64 / samples as f64;
            (x, (2.0 * core::f64::consts::PI * x).sin())
        })
        .collect()
}

/// Converts a dataset's `f64` features to another float type, e.g. to
/// train an `f32` model on [`spiral`].
pub fn cast_features<T: Real, const N: usize, L: Clone>(
    data: &[([f64; N], L)],
) -> Vec<([T; N], L)> {
    data.iter()
        .map(|(x, label)| (x.map(T::lit), label.clone()))
        .collect()
}

/// Why a CSV file could not be loaded.
#[derive(Debug)]
pub enum CsvError {
    /// The file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The file has no header line.
    Empty,
    /// The CSV itself is malformed (e.g. not UTF-8).
    Malformed {
        /// The line, when known.
        line: Option<u64>,
        /// What the CSV reader said.
        message: String,
    },
    /// A line with the wrong number of columns.
    ColumnCount {
        /// The line number, starting at 1 for the header.
        line: u64,
        /// Features plus the label.
        expected: usize,
        /// The columns found.
        found: usize,
    },
    /// A feature (or a float target) that is not a finite number.
    NotANumber {
        /// The line number, starting at 1 for the header.
        line: u64,
        /// The column's header.
        column: String,
        /// The text found.
        value: String,
    },
    /// A class label that is not a non-negative integer.
    NotAClass {
        /// The line number, starting at 1 for the header.
        line: u64,
        /// The column's header.
        column: String,
        /// The text found.
        value: String,
    },
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            CsvError::Empty => write!(f, "the CSV is empty; expected a header line"),
            CsvError::Malformed {
                line: Some(line),
                message,
            } => write!(f, "line {line}: malformed CSV: {message}"),
            CsvError::Malformed {
                line: None,
                message,
            } => write!(f, "malformed CSV: {message}"),
            CsvError::ColumnCount {
                line,
                expected,
                found,
            } => write!(
                f,
                "line {line}: expected {expected} columns ({} features and a label), found {found}",
                expected - 1
            ),
            CsvError::NotANumber {
                line,
                column,
                value,
            } => write!(
                f,
                "line {line}, column \"{column}\": cannot parse \"{value}\" as a number"
            ),
            CsvError::NotAClass {
                line,
                column,
                value,
            } => write!(
                f,
                "line {line}, column \"{column}\": cannot parse \"{value}\" as a class \
                 (a non-negative integer)"
            ),
        }
    }
}

impl std::error::Error for CsvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CsvError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Loads a CSV file whose header is followed by rows of `N` numeric
/// feature columns and a class label column (`0`, `1`, ...).
///
/// # Errors
///
/// A [`CsvError`] naming the line (and column) of the first bad value, a
/// wrong column count, or the file that cannot be read.
pub fn load_csv<T: Real, const N: usize>(
    path: impl AsRef<Path>,
) -> Result<Vec<([T; N], usize)>, CsvError> {
    read_csv(open(path.as_ref())?)
}

/// Loads a CSV file whose header is followed by rows of `N` numeric
/// feature columns and a numeric target column, for regression.
///
/// # Errors
///
/// As [`load_csv`].
pub fn load_csv_regression<T: Real, const N: usize>(
    path: impl AsRef<Path>,
) -> Result<Vec<([T; N], T)>, CsvError> {
    read_csv_regression(open(path.as_ref())?)
}

/// [`load_csv`] from any reader, e.g. a string's bytes.
///
/// # Errors
///
/// As [`load_csv`].
pub fn read_csv<T: Real, const N: usize>(
    reader: impl Read,
) -> Result<Vec<([T; N], usize)>, CsvError> {
    read_rows(reader, |line, column, value| {
        parse_class(value).ok_or_else(|| CsvError::NotAClass {
            line,
            column: column.to_string(),
            value: value.to_string(),
        })
    })
}

/// [`load_csv_regression`] from any reader.
///
/// # Errors
///
/// As [`load_csv`].
pub fn read_csv_regression<T: Real, const N: usize>(
    reader: impl Read,
) -> Result<Vec<([T; N], T)>, CsvError> {
    read_rows(reader, parse_number)
}

fn open(path: &Path) -> Result<BufReader<File>, CsvError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| CsvError::Io {
            path: path.to_path_buf(),
            source,
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

fn parse_number<T: Real>(line: u64, column: &str, value: &str) -> Result<T, CsvError> {
    match value.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(T::lit(x)),
        _ => Err(CsvError::NotANumber {
            line,
            column: column.to_string(),
            value: value.to_string(),
        }),
    }
}

fn malformed(error: csv::Error) -> CsvError {
    CsvError::Malformed {
        line: error.position().map(csv::Position::line),
        message: error.to_string(),
    }
}

/// Reads a header and rows of `N` features plus one label, parsing the
/// label with `label(line, column, text)`.
fn read_rows<T: Real, const N: usize, L>(
    reader: impl Read,
    label: impl Fn(u64, &str, &str) -> Result<L, CsvError>,
) -> Result<Vec<([T; N], L)>, CsvError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = csv.headers().map_err(malformed)?.clone();
    if header.is_empty() {
        return Err(CsvError::Empty);
    }
    let expected = N + 1;
    if header.len() != expected {
        return Err(CsvError::ColumnCount {
            line: 1,
            expected,
            found: header.len(),
        });
    }
    let mut rows = Vec::new();
    for record in csv.records() {
        let record = record.map_err(malformed)?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != expected {
            return Err(CsvError::ColumnCount {
                line,
                expected,
                found: record.len(),
            });
        }
        let mut features = [T::zero(); N];
        for (k, feature) in features.iter_mut().enumerate() {
            *feature = parse_number(line, &header[k], &record[k])?;
        }
        let target = label(line, &header[N], &record[N])?;
        rows.push((features, target));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn linspace_matches_numpy() {
        assert_eq!(linspace(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(linspace(4.0, 8.0, 1), vec![4.0]);
        assert!(linspace(0.0, 1.0, 0).is_empty());
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
        let radii = linspace(0.0, 1.0, 100);
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
        let small: Vec<([f32; 2], usize)> = cast_features(&vertical(2, 2, 0));
        assert_eq!(small.len(), 4);
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
