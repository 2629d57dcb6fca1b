//! `fix --write`: files replaced atomically, a batch at a time.
//!
//! Each file is replaced by a temporary file written beside it (same directory,
//! the original's permissions and owner) and renamed over it, so a reader sees
//! the old bytes or the new ones, never a mix. The new bytes are on disk before
//! any rename: on Linux the temporary files of a batch of 64 files or more are
//! flushed together, with one `syncfs` per file system, instead of one `fsync`
//! per file, whose journal commits and cache flushes cost more than the whole
//! analysis (see `docs/performance.md`). A smaller batch, and any batch
//! elsewhere, is flushed file by file. Right before its rename each file is
//! read again: one that changed since it was read is not replaced. The renames
//! are flushed last: one more `syncfs` per file system, or one `fsync` per
//! directory.
//!
//! The replaced contents are freed on a thread of their own: the rename keeps
//! the old file open, and that thread closes it. Freeing a file's blocks can
//! wait on the disk (a file system mounted with `discard` trims them right
//! away, about 0.14 ms a file on the machine of `docs/performance.md`), and that
//! wait then overlaps with the analysis of the next batch.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use rayon::prelude::*;

use crate::io::discover::describe_io_error;
use crate::text::source::{BOM, SourceFile};

/// One file to replace: the file as it was read, and its new text (the
/// byte-order mark, if it had one, is kept).
#[derive(Debug, Clone, Copy)]
pub struct Replacement<'a> {
    pub source: &'a SourceFile,
    pub new_text: &'a str,
}

/// Replaces files a batch at a time ([`AtomicWriter::replace_all`]).
pub struct AtomicWriter {
    /// Replaced files, still open, on their way to the closing thread; `None`
    /// when there is none (they are closed where they are).
    retired: Option<SyncSender<fs::File>>,
    closer: Option<JoinHandle<()>>,
}

/// How many replaced files may wait to be closed (past it a rename waits): a
/// quarter of the process's limit on open files, at most 256. None elsewhere
/// than on Linux, where they are closed right after their rename.
fn retired_files_open() -> usize {
    #[cfg(target_os = "linux")]
    {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        limit.map_or(256, |open| {
            usize::try_from(open / 4).unwrap_or(256).min(256)
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

impl AtomicWriter {
    pub fn new() -> AtomicWriter {
        let waiting = retired_files_open();
        let closing = (waiting > 0)
            .then(|| {
                let (sender, receiver) = sync_channel::<fs::File>(waiting);
                std::thread::Builder::new()
                    .name("close-replaced".into())
                    .spawn(move || receiver.into_iter().for_each(drop))
                    .ok()
                    .map(|closer| (sender, closer))
            })
            .flatten();
        let (retired, closer) = closing.unzip();
        AtomicWriter { retired, closer }
    }

    /// Replaces the files of `batch`, on all cores. Per file, in order: `Ok`
    /// once it is replaced, or why it was left as it was.
    pub fn replace_all(&self, batch: &[Replacement<'_>]) -> Vec<Result<(), String>> {
        self.replace_all_flushing(batch, Flush::for_batch(batch.len()))
    }

    fn replace_all_flushing(
        &self,
        batch: &[Replacement<'_>],
        flush: Flush,
    ) -> Vec<Result<(), String>> {
        let targets: Vec<Result<Target, String>> =
            batch.par_iter().map(|r| Target::of(r.source)).collect();
        // Opened before any temporary file is written: `syncfs` reports the
        // write-back errors that happened since its descriptor was opened.
        let mut devices: BTreeMap<u64, Device> = BTreeMap::new();
        if flush == Flush::FileSystem {
            for target in targets.iter().flatten() {
                devices
                    .entry(target.device())
                    .or_insert_with(|| Device::open(&target.dir));
            }
        }
        let staged: Vec<Result<Staged, String>> = batch
            .par_iter()
            .zip(targets)
            .map(|(replacement, target)| stage(replacement, target?, flush))
            .collect();
        // The devices a temporary file was written to, and whether a test asked
        // for the flush of one of them to fail (failpoint `flush-fails`).
        let mut used: BTreeMap<u64, bool> = BTreeMap::new();
        for staged in staged.iter().flatten() {
            let injected = crate::failpoint::hit("flush-fails", &staged.target.path);
            *used.entry(staged.target.device()).or_default() |= injected;
        }
        // On this thread: the flushes wait on the disk, not on the processor.
        let flushed: BTreeMap<u64, Device> = devices
            .into_iter()
            .filter_map(|(id, device)| Some((id, device.flushed(*used.get(&id)?))))
            .collect();
        let replaced: Vec<Result<PathBuf, String>> = batch
            .par_iter()
            .zip(staged)
            .map(|(replacement, staged)| {
                let staged = staged?;
                match flushed.get(&staged.target.device()).map(Device::failure) {
                    Some(Some(reason)) => Err(reason.to_string()),
                    _ => commit(replacement.source, staged).map(|(dir, old)| {
                        self.retire(old);
                        dir
                    }),
                }
            })
            .collect();
        // Best effort: a rename is already durable on most file systems, and a
        // failure here does not undo it.
        match flush {
            Flush::FileSystem => {
                for device in flushed.into_values() {
                    if let Ok(handle) = device.handle {
                        let _ = flush_file_system(&handle);
                    }
                }
            }
            Flush::EachFile => {
                let dirs: BTreeSet<&PathBuf> = replaced.iter().flatten().collect();
                dirs.into_par_iter().for_each(|dir| {
                    if let Ok(dir) = fs::File::open(dir) {
                        let _ = dir.sync_all();
                    }
                });
            }
        }
        replaced.into_iter().map(|r| r.map(|_| ())).collect()
    }

    /// Hands a replaced file, still open, to the closing thread.
    fn retire(&self, old: fs::File) {
        if let Some(retired) = &self.retired {
            // If the thread is gone, the file comes back in the error and is
            // closed here.
            let _ = retired.send(old);
        }
    }
}

impl Default for AtomicWriter {
    fn default() -> Self {
        AtomicWriter::new()
    }
}

impl Drop for AtomicWriter {
    /// Waits until every replaced file is closed.
    fn drop(&mut self) {
        self.retired = None;
        if let Some(closer) = self.closer.take() {
            let _ = closer.join();
        }
    }
}

/// Whether `bytes` are the file's bytes as they were read.
fn as_read(source: &SourceFile, bytes: &[u8]) -> bool {
    let text = match source.bom {
        true => bytes.strip_prefix(BOM.as_bytes()),
        false => Some(bytes),
    };
    text == Some(source.text.as_bytes())
}

/// `text` as bytes, with the byte-order mark the file was read with.
pub fn with_bom(source: &SourceFile, text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 3);
    if source.bom {
        bytes.extend_from_slice(BOM.as_bytes());
    }
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// The file a replacement goes to, and where.
struct Target {
    path: PathBuf,
    dir: PathBuf,
    /// The file's metadata, read once (its device is the one its directory is on).
    metadata: fs::Metadata,
}

impl Target {
    /// A symbolic link named explicitly is written through: its target is replaced.
    fn of(source: &SourceFile) -> Result<Target, String> {
        let gone = |e: std::io::Error| {
            format!(
                "cannot read it again before writing: {}",
                describe_io_error(&e)
            )
        };
        let link = fs::symlink_metadata(&source.path).map_err(gone)?;
        let (path, metadata) = if link.file_type().is_symlink() {
            let path = fs::canonicalize(&source.path).unwrap_or_else(|_| source.path.clone());
            let metadata = fs::metadata(&path).map_err(gone)?;
            (path, metadata)
        } else {
            (source.path.clone(), link)
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Ok(Target {
            path,
            dir,
            metadata,
        })
    }

    /// The file system that holds the file (and its directory).
    fn device(&self) -> u64 {
        self.metadata.dev()
    }
}

/// How the new files of a batch reach the disk before their renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    /// Each temporary file on its own (`fsync`); after the renames, each
    /// directory once.
    EachFile,
    /// Everything written to the file system at once (`syncfs`), before the
    /// renames and again after them.
    FileSystem,
}

/// Batches of at least this many files are flushed with `syncfs`. A smaller
/// one (one file from a pre-commit hook) is flushed file by file: `syncfs`
/// also writes out what other programs wrote and the kernel has not yet, which
/// for a few files can cost more than their own flushes.
pub const FLUSH_FILE_SYSTEM_FROM: usize = 64;

impl Flush {
    fn for_batch(files: usize) -> Flush {
        if cfg!(target_os = "linux") && files >= FLUSH_FILE_SYSTEM_FROM {
            Flush::FileSystem
        } else {
            Flush::EachFile
        }
    }
}

const READ_ONLY: &str = "the file is read-only; not written (make it writable to fix it)";

/// A file system that temporary files were written to.
struct Device {
    /// A directory on it, open; `Err` when it could not be opened, or when the
    /// file system could not be flushed (then nothing on it is replaced).
    handle: Result<fs::File, String>,
}

impl Device {
    fn open(dir: &Path) -> Device {
        Device {
            handle: fs::File::open(dir)
                .map_err(|e| format!("cannot open {}: {}", dir.display(), describe_io_error(&e))),
        }
    }

    /// The device once everything written to it is on disk.
    /// `injected`: a test asked for the flush to fail (failpoint `flush-fails`).
    fn flushed(self, injected: bool) -> Device {
        let not_written =
            |e: String| format!("cannot flush the new file to disk: {e}; not written");
        let flush = |handle: &fs::File| match injected {
            true => Err("injected failure".to_string()),
            false => flush_file_system(handle),
        };
        Device {
            handle: self
                .handle
                .and_then(|handle| flush(&handle).map(|()| handle))
                .map_err(not_written),
        }
    }

    /// Why nothing on this device may be replaced, if so.
    fn failure(&self) -> Option<&str> {
        self.handle.as_ref().err().map(String::as_str)
    }
}

/// Writes everything written to the file system of `handle` to disk.
#[cfg(target_os = "linux")]
fn flush_file_system(handle: &fs::File) -> Result<(), String> {
    rustix::fs::syncfs(handle).map_err(|e| describe_io_error(&std::io::Error::from(e)))
}

/// Not used: elsewhere than on Linux every batch is flushed file by file.
#[cfg(not(target_os = "linux"))]
fn flush_file_system(_: &fs::File) -> Result<(), String> {
    Ok(())
}

/// A new text written to a temporary file beside its target; the temporary
/// file is removed if it is dropped before [`commit`].
struct Staged {
    target: Target,
    temp: tempfile::TempPath,
}

/// Writes the new text to a temporary file beside the target, with the
/// original's permissions and owner. Refuses a file without write permission
/// (see also [`commit`]).
fn stage(replacement: &Replacement<'_>, target: Target, flush: Flush) -> Result<Staged, String> {
    let permissions = target.metadata.permissions();
    if permissions.readonly() {
        return Err(READ_ONLY.into());
    }
    let mut temp = tempfile::Builder::new()
        .prefix(".clan-migrate-")
        .tempfile_in(&target.dir)
        .map_err(|e| {
            format!(
                "cannot create a temporary file in {}: {}",
                target.dir.display(),
                describe_io_error(&e)
            )
        })?;
    temp.write_all(&with_bom(replacement.source, replacement.new_text))
        .and_then(|()| match flush {
            Flush::EachFile if crate::failpoint::hit("flush-fails", &target.path) => {
                Err(std::io::Error::other("injected failure"))
            }
            Flush::EachFile => temp.as_file().sync_all(),
            Flush::FileSystem => Ok(()),
        })
        .map_err(|e| format!("cannot write the temporary file: {}", describe_io_error(&e)))?;
    temp.as_file()
        .set_permissions(permissions)
        .map_err(|e| describe_io_error(&e))?;
    keep_owner(&temp, &target.metadata)?;
    Ok(Staged {
        target,
        temp: temp.into_temp_path(),
    })
}

/// Renames the temporary file over its target, unless the target changed since
/// it was read. Returns the directory the file was renamed in and the replaced
/// file, still open.
fn commit(source: &SourceFile, staged: Staged) -> Result<(PathBuf, fs::File), String> {
    let Staged { target, temp } = staged;
    crate::failpoint::change_file("changed-before-write", &target.path);
    // Opened for writing, though nothing is written to it: a read-only file is
    // a decision of its owner, which replacing it by rename would sidestep (and
    // root ignores the mode bits altogether, not a read-only file system or
    // attribute).
    let mut old = match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&target.path)
    {
        Ok(old) => old,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            return Err(READ_ONLY.into());
        }
        Err(e) => {
            return Err(format!(
                "cannot read it again before writing: {}",
                describe_io_error(&e)
            ));
        }
    };
    let mut current = Vec::with_capacity(source.text.len() + 3);
    old.read_to_end(&mut current).map_err(|e| {
        format!(
            "cannot read it again before writing: {}",
            describe_io_error(&e)
        )
    })?;
    if !as_read(source, &current) {
        return Err("the file changed since it was read; not written (run the fix again)".into());
    }
    if crate::failpoint::hit("fail-before-rename", &target.path) {
        return Err("cannot replace the file: injected failure".into());
    }
    if crate::failpoint::hit("abort-before-rename", &target.path) {
        std::process::abort();
    }
    temp.persist(&target.path)
        .map_err(|e| format!("cannot replace the file: {}", describe_io_error(&e.error)))?;
    Ok((target.dir, old))
}

/// Gives the temporary file the original's owner and group (the rename would
/// otherwise hand the file to whoever runs the fix, e.g. root).
fn keep_owner(temp: &tempfile::NamedTempFile, original: &fs::Metadata) -> Result<(), String> {
    let current = temp
        .as_file()
        .metadata()
        .map_err(|e| describe_io_error(&e))?;
    if current.uid() == original.uid() && current.gid() == original.gid() {
        return Ok(());
    }
    std::os::unix::fs::fchown(temp.as_file(), Some(original.uid()), Some(original.gid())).map_err(
        |e| {
            format!(
                "cannot give the new file the original's owner {}:{}: {}; not written",
                original.uid(),
                original.gid(),
                describe_io_error(&e)
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::source::FileKind;
    use std::os::unix::fs::PermissionsExt;

    /// The file at `path` as `clan-migrate` reads it.
    fn read(path: &Path) -> SourceFile {
        let bytes = fs::read(path).unwrap();
        SourceFile::from_bytes(path.to_path_buf(), bytes, FileKind::Nix).unwrap()
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        walkdir::WalkDir::new(dir)
            .into_iter()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".clan-migrate-"))
            .collect()
    }

    /// Both ways of flushing (`syncfs` only on Linux).
    const FLUSHES: &[Flush] = if cfg!(target_os = "linux") {
        &[Flush::EachFile, Flush::FileSystem]
    } else {
        &[Flush::EachFile]
    };

    /// Replaces each file with `new_text` in one batch.
    fn replace(sources: &[SourceFile], new_text: &str, flush: Flush) -> Vec<Result<(), String>> {
        let batch: Vec<Replacement<'_>> = sources
            .iter()
            .map(|source| Replacement { source, new_text })
            .collect();
        AtomicWriter::new().replace_all_flushing(&batch, flush)
    }

    #[test]
    fn large_batches_are_flushed_at_once_small_ones_file_by_file() {
        assert_eq!(Flush::for_batch(1), Flush::EachFile);
        assert_eq!(
            Flush::for_batch(FLUSH_FILE_SYSTEM_FROM - 1),
            Flush::EachFile
        );
        let large = Flush::for_batch(FLUSH_FILE_SYSTEM_FROM);
        assert_eq!(large == Flush::FileSystem, cfg!(target_os = "linux"));
    }

    #[test]
    fn files_in_several_directories_are_replaced_with_their_mode_and_bom() {
        for &flush in FLUSHES {
            let dir = tempfile::tempdir().unwrap();
            let mut paths = Vec::new();
            for (i, sub) in ["a", "b", "b/c"].iter().enumerate() {
                fs::create_dir_all(dir.path().join(sub)).unwrap();
                let path = dir.path().join(sub).join("x.nix");
                let bom = if i == 1 { "\u{feff}" } else { "" };
                fs::write(&path, format!("{bom}{{ }}\n")).unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(0o640 + i as u32)).unwrap();
                paths.push(path);
            }
            let sources: Vec<SourceFile> = paths.iter().map(|p| read(p)).collect();
            let outcomes = replace(&sources, "{ a = 1; }\n", flush);
            assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
            for (i, path) in paths.iter().enumerate() {
                let bom = if i == 1 { "\u{feff}" } else { "" };
                assert_eq!(
                    fs::read_to_string(path).unwrap(),
                    format!("{bom}{{ a = 1; }}\n")
                );
                let mode = fs::metadata(path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o640 + i as u32, "{}", path.display());
            }
            assert!(
                leftovers(dir.path()).is_empty(),
                "{:?}",
                leftovers(dir.path())
            );
        }
    }

    #[test]
    fn a_file_changed_or_removed_since_it_was_read_is_left_alone() {
        for &flush in FLUSHES {
            let dir = tempfile::tempdir().unwrap();
            let names = ["changed.nix", "removed.nix", "kept.nix"];
            for name in names {
                fs::write(dir.path().join(name), "{ }\n").unwrap();
            }
            let sources: Vec<SourceFile> =
                names.iter().map(|n| read(&dir.path().join(n))).collect();
            fs::write(dir.path().join("changed.nix"), "{ b = 2; }\n").unwrap();
            fs::remove_file(dir.path().join("removed.nix")).unwrap();
            let outcomes = replace(&sources, "{ a = 1; }\n", flush);
            let changed = outcomes[0].as_ref().unwrap_err();
            assert!(changed.contains("changed since it was read"), "{changed}");
            let removed = outcomes[1].as_ref().unwrap_err();
            assert!(
                removed.starts_with("cannot read it again before writing"),
                "{removed}"
            );
            assert_eq!(outcomes[2], Ok(()));
            assert_eq!(
                fs::read_to_string(dir.path().join("changed.nix")).unwrap(),
                "{ b = 2; }\n"
            );
            assert!(!dir.path().join("removed.nix").exists());
            assert_eq!(
                fs::read_to_string(dir.path().join("kept.nix")).unwrap(),
                "{ a = 1; }\n"
            );
            assert!(
                leftovers(dir.path()).is_empty(),
                "{:?}",
                leftovers(dir.path())
            );
        }
    }

    #[test]
    fn a_read_only_file_is_refused_and_a_link_is_written_through() {
        for &flush in FLUSHES {
            let dir = tempfile::tempdir().unwrap();
            let read_only = dir.path().join("ro.nix");
            fs::write(&read_only, "{ }\n").unwrap();
            fs::set_permissions(&read_only, fs::Permissions::from_mode(0o444)).unwrap();
            let target = dir.path().join("target.nix");
            fs::write(&target, "{ }\n").unwrap();
            let link = dir.path().join("link.nix");
            std::os::unix::fs::symlink("target.nix", &link).unwrap();
            let outcomes = replace(&[read(&read_only), read(&link)], "{ a = 1; }\n", flush);
            let refused = outcomes[0].as_ref().unwrap_err();
            assert!(refused.contains("read-only"), "{refused}");
            assert_eq!(fs::read_to_string(&read_only).unwrap(), "{ }\n");
            assert_eq!(outcomes[1], Ok(()));
            assert!(
                fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(fs::read_to_string(&target).unwrap(), "{ a = 1; }\n");
            assert!(
                leftovers(dir.path()).is_empty(),
                "{:?}",
                leftovers(dir.path())
            );
        }
    }

    #[test]
    fn an_empty_batch_writes_nothing() {
        for &flush in FLUSHES {
            assert!(replace(&[], "", flush).is_empty());
        }
    }
}
