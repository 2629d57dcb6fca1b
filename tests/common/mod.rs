//! Helpers shared by the integration tests: run the real binary.

#![allow(dead_code)]

pub mod golden;
pub mod random;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clan-migrate"));
    cmd.current_dir(repo_root());
    cmd.env_remove("NO_COLOR");
    cmd
}

/// Runs the binary with `args` in `dir` (the repository root when `None`).
pub fn run_in(dir: Option<&Path>, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = bin();
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary starts");
    if let Some(input) = stdin {
        let written = child.stdin.take().expect("stdin is piped").write_all(input);
        // A binary that rejects its arguments exits without reading standard input.
        if let Err(err) = written {
            assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
        }
    }
    let out = child.wait_with_output().expect("the binary finishes");
    Run {
        code: out.status.code().expect("the binary exits normally"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

pub fn run(args: &[&str]) -> Run {
    run_in(None, args, None)
}

/// The fixture units of `testdata/before`: each top-level file or directory.
pub fn before_units() -> Vec<String> {
    let mut units: Vec<String> = std::fs::read_dir(repo_root().join("testdata/before"))
        .expect("testdata/before exists")
        .map(|e| {
            e.expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    units.sort();
    units
}

/// Whether `nix-instantiate` runs here; with `CI` set its absence is a failure.
pub fn nix_available() -> bool {
    let found = Command::new("nix-instantiate")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "nix-instantiate is required in CI (.ci/run installs nix-bin)"
        );
        eprintln!("nix-instantiate not found; skipping the Nix checks");
    }
    found
}

/// A fresh scratch directory inside the repository's target dir, so the nearest
/// `.git` above it is this repository's (the `flake.nix` search stops there).
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory can be created");
    dir
}

/// A services file that mentions neither `inventory` nor `clan-migrate`, and
/// the `clan.nix` whose import alone makes it an inventory.
pub fn write_imported_services(root: &Path) {
    std::fs::write(
        root.join("clan.nix"),
        "{ inventory.services = import ./services.nix; }\n",
    )
    .expect("clan.nix is written");
    std::fs::write(
        root.join("services.nix"),
        "{ borgbackup.main.roles.server.machines = [ \"nas\" ]; }\n",
    )
    .expect("services.nix is written");
}

/// The clan-core trees of `CLAN_CORE_TREES` (`.ci/run` sets it to
/// `../shared/clan-core-trees`), or `None`, after saying so, when the real
/// evaluations cannot run; under `CI` that is a failure.
pub fn clan_core_trees() -> Option<PathBuf> {
    let trees = std::env::var_os("CLAN_CORE_TREES").map(PathBuf::from);
    let usable = trees
        .as_ref()
        .is_some_and(|t| t.join("clan-head").is_dir() && t.join("clan-legacy").is_dir());
    if usable && nix_available() {
        return trees;
    }
    let why = match &trees {
        None => "CLAN_CORE_TREES is not set".to_owned(),
        Some(t) if !usable => format!("{} holds no clan-head/ and clan-legacy/", t.display()),
        Some(_) => "nix-instantiate is not available".to_owned(),
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "the clan-core evaluation must run in CI: {why}"
    );
    eprintln!("the clan-core evaluation did not run: {why}");
    None
}

/// An empty clan directory: the evaluations read nothing from it.
pub fn empty_clan_directory() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("clan-core-empty-directory");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
