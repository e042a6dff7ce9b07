//! Fault injection for parameter files: saves killed with SIGKILL at
//! random moments, concurrent savers, read-only and missing targets, a
//! full disk, and the memory a large load takes.
//!
//! Some faults need a process of their own (one to kill, one inside a
//! namespace with a tiny filesystem), so this file has its own `main`
//! (`harness = false`): run with `NEURON_FAULTS_ROLE` set, the binary plays
//! that child's part instead of running the tests. A fault the machine
//! cannot produce is skipped with a message saying why; the rest is still
//! asserted.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use neuron_core::{Field, Parameters, ParamsError, load_params, save_params};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Parameters held on the heap, `{ w: [f64; N] }`, the size of a small
/// network's.
#[derive(Clone, Debug, PartialEq)]
struct Weights<const N: usize> {
    w: Vec<f64>,
}

impl<const N: usize> Weights<N> {
    /// Values that differ from one `seed` to another in every element.
    fn seeded(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Weights {
            w: (0..N).map(|_| rng.random::<f64>() - 0.5).collect(),
        }
    }
}

impl<const N: usize> Parameters<f64> for Weights<N> {
    const FIELDS: &'static [Field] = &[Field {
        name: "w",
        shape: &[N],
    }];
    const LEN: usize = N;

    fn zeros() -> Self {
        Weights { w: vec![0.0; N] }
    }

    fn for_each(&self, mut f: impl FnMut(usize, f64)) {
        for (k, &v) in self.w.iter().enumerate() {
            f(k, v);
        }
    }

    fn for_each_mut(&mut self, mut f: impl FnMut(usize, &mut f64)) {
        for (k, v) in self.w.iter_mut().enumerate() {
            f(k, v);
        }
    }

    fn zip_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut f64, f64)) {
        for (k, (v, &o)) in self.w.iter_mut().zip(&other.w).enumerate() {
            f(k, v, o);
        }
    }
}

/// About 200 kB of JSON: a save takes a while.
type Medium = Weights<10_000>;
/// A few hundred bytes of JSON.
type Small = Weights<16>;
/// About 10 MB of JSON, 4 MB of values.
type Large = Weights<500_000>;

/// The variable that makes this binary play a child's part.
const ROLE: &str = "NEURON_FAULTS_ROLE";
/// The directory the child works in.
const DIR: &str = "NEURON_FAULTS_DIR";

fn main() -> ExitCode {
    if let Ok(role) = std::env::var(ROLE) {
        let dir = PathBuf::from(std::env::var_os(DIR).expect("the child's directory"));
        return child(&role, &dir);
    }
    let tests: [(&str, fn()); 6] = [
        (
            "sigkill_during_saves_leaves_a_complete_file",
            sigkill_during_saves_leaves_a_complete_file,
        ),
        (
            "concurrent_savers_never_expose_a_partial_file",
            concurrent_savers_never_expose_a_partial_file,
        ),
        (
            "missing_targets_are_errors_naming_them",
            missing_targets_are_errors_naming_them,
        ),
        (
            "a_read_only_target_keeps_the_old_file",
            a_read_only_target_keeps_the_old_file,
        ),
        (
            "a_full_disk_keeps_the_old_file",
            a_full_disk_keeps_the_old_file,
        ),
        (
            "loading_a_large_file_takes_memory_for_the_parameters_only",
            loading_a_large_file_takes_memory_for_the_parameters_only,
        ),
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in tests {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let chosen: Vec<_> = tests
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", chosen.len());
    let started = Instant::now();
    let mut failed = Vec::new();
    for (name, test) in chosen {
        println!("test {name} ...");
        let start = Instant::now();
        let outcome = std::panic::catch_unwind(test);
        let took = start.elapsed();
        match outcome {
            Ok(()) => println!("test {name} ... ok ({took:.2?})"),
            Err(_) => {
                println!("test {name} ... FAILED ({took:.2?})");
                failed.push(*name);
            }
        }
    }
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {} failed: {failed:?}; finished in {:.2?}\n",
        failed.len(),
        started.elapsed()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Plays the child's part named `role`, in `dir`.
fn child(role: &str, dir: &Path) -> ExitCode {
    match role {
        "saver" => saver(dir),
        "full-disk" => fill_the_disk_then_save(dir),
        "read-only" => save_into_a_read_only_directory(dir),
        "load" => load_and_report_memory(dir),
        _ => {
            eprintln!("unknown role {role}");
            ExitCode::FAILURE
        }
    }
}

/// The temporary files a save left in `dir`, if any: whatever their
/// naming, they are hidden files, and no test makes one of its own.
fn temporaries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// The child killed by `sigkill_during_saves_leaves_a_complete_file`:
/// saves two parameter sets in turn, forever, saying `ready` after the
/// first.
fn saver(dir: &Path) -> ExitCode {
    let path = dir.join("params.json");
    let sets = [Medium::seeded(1), Medium::seeded(2)];
    for k in 0.. {
        if let Err(e) = save_params(&path, &sets[k % 2]) {
            eprintln!("save failed: {e}");
            return ExitCode::FAILURE;
        }
        if k == 0 {
            println!("ready");
            std::io::stdout().flush().unwrap();
        }
    }
    ExitCode::SUCCESS
}

/// This binary, run as the child `role` in `dir`.
fn child_command(role: &str, dir: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.env(ROLE, role).env(DIR, dir);
    command
}

/// Waits until a temporary file of a save in progress appears in `dir`
/// (for at most a second).
fn wait_for_a_temporary(dir: &Path) {
    let start = Instant::now();
    while temporaries(dir).is_empty() && start.elapsed() < Duration::from_secs(1) {
        std::thread::yield_now();
    }
}

#[cfg(unix)]
fn sigkill_during_saves_leaves_a_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.json");
    let sets = [Medium::seeded(1), Medium::seeded(2)];
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let (mut runs_with_stale, mut stale_files) = (0, 0);
    const RUNS: usize = 50;
    for run in 0..RUNS {
        let mut saver = child_command("saver", dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        BufReader::new(saver.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready, "ready\n", "run {run}: the saver did not start");
        // Half the kills land anywhere in the saving loop; the other half
        // while a temporary file is being written, most of the time spent
        // before it being the formatting of the JSON.
        if run % 2 == 1 {
            wait_for_a_temporary(dir.path());
            std::thread::sleep(Duration::from_micros(rng.random_range(0..500)));
        } else {
            std::thread::sleep(Duration::from_micros(rng.random_range(0..30_000)));
        }
        saver.kill().unwrap(); // SIGKILL
        saver.wait().unwrap();

        let loaded: Medium = load_params(&path)
            .unwrap_or_else(|e| panic!("run {run}: the file is damaged after SIGKILL: {e}"));
        assert!(
            sets.contains(&loaded),
            "run {run}: the file holds neither parameter set"
        );
        let stale = temporaries(dir.path());
        if !stale.is_empty() {
            runs_with_stale += 1;
            stale_files += stale.len();
        }
        // The next save removes what the killed one left.
        save_params(&path, &sets[run % 2]).unwrap();
        assert_eq!(temporaries(dir.path()), Vec::<String>::new(), "run {run}");
    }
    println!(
        "    {RUNS} kills: the file was complete every time; {runs_with_stale} left \
         {stale_files} temporary files, all removed by the next save"
    );
}

#[cfg(not(unix))]
fn sigkill_during_saves_leaves_a_complete_file() {
    println!("    skipped: SIGKILL is a Unix signal");
}

fn concurrent_savers_never_expose_a_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.json");
    const SAVERS: u64 = 4;
    let sets: Vec<Medium> = (0..=SAVERS).map(Medium::seeded).collect();
    save_params(&path, &sets[0]).unwrap();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let loads = std::thread::scope(|scope| {
        for saver in 1..=SAVERS {
            let (path, set, done) = (&path, &sets[saver as usize], &done);
            scope.spawn(move || {
                for k in 0..20 {
                    save_params(path, set)
                        .unwrap_or_else(|e| panic!("saver {saver}, save {k}: {e}"));
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let reader = scope.spawn(|| {
            let mut loads = 0;
            while done.load(std::sync::atomic::Ordering::SeqCst) < SAVERS as usize {
                let loaded: Medium = load_params(&path).unwrap();
                assert!(sets.contains(&loaded), "load {loads} saw a mixed file");
                loads += 1;
            }
            loads
        });
        reader.join().unwrap()
    });
    assert!(sets.contains(&load_params::<f64, Medium>(&path).unwrap()));
    assert_eq!(temporaries(dir.path()), Vec::<String>::new());
    println!("    {SAVERS} savers, 20 saves each, {loads} loads meanwhile: every load complete");
}

fn missing_targets_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("no/such/dir/params.json");
    let err = save_params(&nowhere, &Small::seeded(1)).unwrap_err();
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
    assert!(
        err.to_string().contains(&nowhere.display().to_string()),
        "{err}"
    );
    assert!(!dir.path().join("no").exists());
    let missing = dir.path().join("missing.json");
    let err = load_params::<f64, Small>(&missing).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {}: ", missing.display())),
        "{err}"
    );
    // A directory where the file should be is left alone.
    let taken = dir.path().join("taken.json");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("inside"), "keep").unwrap();
    let err = save_params(&taken, &Small::seeded(1)).unwrap_err();
    assert!(matches!(err, ParamsError::Io { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(taken.join("inside")).unwrap(),
        "keep"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Whether a file can still be created in `dir`.
fn writable(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let created = std::fs::write(&probe, "x").is_ok();
    let _ = std::fs::remove_file(&probe);
    created
}

/// The child of `a_read_only_target_keeps_the_old_file` run where
/// permissions do not stop it (as root): `dir` is a read-only mount.
fn save_into_a_read_only_directory(dir: &Path) -> ExitCode {
    println!("child:");
    let path = dir.join("params.json");
    match save_params(&path, &Small::seeded(2)) {
        Ok(()) => {
            eprintln!("a save into a read-only directory succeeded");
            ExitCode::FAILURE
        }
        Err(e) => {
            println!("{e}");
            ExitCode::SUCCESS
        }
    }
}

fn a_read_only_target_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.json");
    let old = Small::seeded(1);
    save_params(&path, &old).unwrap();

    // A read-only file is not replaced.
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&path, permissions.clone()).unwrap();
    let err = save_params(&path, &Small::seeded(2)).unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(load_params::<f64, Small>(&path).unwrap(), old);
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&path, permissions).unwrap();

    // A read-only directory: by its permissions where they bind, else by
    // a read-only mount in a namespace of its own.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        if writable(dir.path()) {
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let script = "mount --bind \"$NEURON_FAULTS_DIR\" \"$NEURON_FAULTS_DIR\" && \
                          mount -o remount,bind,ro \"$NEURON_FAULTS_DIR\" && exec \"$0\"";
            match in_namespace(script, "read-only", dir.path()) {
                Some(output) => println!(
                    "    read-only mount (permissions do not bind here): {}",
                    output.trim()
                ),
                None => println!(
                    "    skipped the read-only directory: permissions do not bind here \
                     (running as root) and no mount namespace is available"
                ),
            }
        } else {
            let err = save_params(&path, &Small::seeded(2)).unwrap_err();
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            assert!(matches!(err, ParamsError::Io { .. }), "{err}");
            println!("    read-only directory: {err}");
        }
        assert_eq!(load_params::<f64, Small>(&path).unwrap(), old);
        assert_eq!(temporaries(dir.path()), Vec::<String>::new());
    }
}

/// Runs this binary as the child `role` in `dir` through `sh -c script`
/// inside new user and mount namespaces (where an unprivileged user may
/// mount); the child's output if it succeeded, `None` if the namespaces
/// are not available. A child that ran and failed fails the test.
fn in_namespace(script: &str, role: &str, dir: &Path) -> Option<String> {
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .arg(&exe)
        .env(ROLE, role)
        .env(DIR, dir)
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    // The child says `child:` first thing; without it the namespace or the
    // mount failed before the child ran.
    if !stdout.starts_with("child:") {
        println!("    (namespace unavailable: {})", stderr.trim());
        return None;
    }
    assert!(
        output.status.success(),
        "the child failed: {stdout}{stderr}"
    );
    Some(stdout.trim_start_matches("child:").to_string())
}

/// The child of `a_full_disk_keeps_the_old_file`: `dir` is a tiny
/// filesystem of its own.
fn fill_the_disk_then_save(dir: &Path) -> ExitCode {
    println!("child:");
    let path = dir.join("params.json");
    let (old, new) = (Small::seeded(1), Small::seeded(2));
    save_params(&path, &old).unwrap();
    // Fill every byte left.
    let filler_path = dir.join("filler");
    let mut filler = std::fs::File::create(&filler_path).unwrap();
    let chunk = vec![0u8; 4096];
    while filler.write_all(&chunk).is_ok() {}
    while filler.write_all(&chunk[..1]).is_ok() {}
    let _ = filler.sync_all();
    let err = match save_params(&path, &new) {
        Ok(()) => {
            println!("a save on a full disk succeeded");
            return ExitCode::FAILURE;
        }
        Err(e) => e,
    };
    let kept: Small = load_params(&path).unwrap();
    let clean = temporaries(dir).is_empty();
    drop(filler);
    std::fs::remove_file(&filler_path).unwrap();
    save_params(&path, &new).unwrap();
    let after: Small = load_params(&path).unwrap();
    if kept == old && clean && after == new {
        println!("{err}; the old file was kept and no temporary file left");
        ExitCode::SUCCESS
    } else {
        println!("kept the old file: {}, clean: {clean}", kept == old);
        ExitCode::FAILURE
    }
}

fn a_full_disk_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let script = "mount -t tmpfs -o size=64k tmpfs \"$NEURON_FAULTS_DIR\" && exec \"$0\"";
    match in_namespace(script, "full-disk", dir.path()) {
        Some(output) => println!("    full 64 KiB tmpfs: {}", output.trim()),
        None => println!(
            "    skipped: no filesystem can be filled here (a tmpfs needs a mount namespace)"
        ),
    }
}

/// Peak resident memory of this process, in bytes, from
/// `/proc/self/status`.
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The child of `loading_a_large_file_takes_memory_for_the_parameters_only`:
/// loads `large.json` and prints the peak memory before and after.
fn load_and_report_memory(dir: &Path) -> ExitCode {
    let before = peak_memory().unwrap();
    let loaded: Large = load_params(dir.join("large.json")).unwrap();
    let after = peak_memory().unwrap();
    println!("{before} {after} {}", loaded.w.len());
    ExitCode::SUCCESS
}

fn loading_a_large_file_takes_memory_for_the_parameters_only() {
    if peak_memory().is_none() {
        println!("    skipped: no /proc/self/status to read peak memory from");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.json");
    let params = Large::seeded(3);
    save_params(&path, &params).unwrap();
    let file_size = std::fs::metadata(&path).unwrap().len();
    let output = child_command("load", dir.path()).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let numbers: Vec<u64> = text
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let [before, after, len] = numbers[..] else {
        panic!("unexpected child output {text:?}");
    };
    assert_eq!(len, Large::LEN as u64);
    let grown = after.saturating_sub(before);
    // The values read and the parameters built from them, 4 MB each; the
    // file is not held, nor a tree of it.
    let values = 8 * Large::LEN as u64;
    println!(
        "    a {:.1} MB file of {:.1} MB of parameters: peak memory grew {:.1} MB",
        file_size as f64 / 1e6,
        values as f64 / 1e6,
        grown as f64 / 1e6
    );
    assert!(
        grown < 3 * values,
        "loading grew the peak memory by {grown} bytes for {values} bytes of parameters"
    );
    assert!(
        grown < file_size,
        "loading took more memory than the file's size"
    );
}
