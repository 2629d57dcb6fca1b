//! `fix --write`: files replaced atomically.
//!
//! Each file is replaced by a temporary file written beside it (same directory,
//! the original's permissions and owner), flushed to disk, and renamed over it,
//! so a reader sees the old bytes or the new ones, never a mix. Right before its
//! rename each file is read again: one that changed since it was read is not
//! replaced. The directories of the renamed files are flushed last.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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

/// Replaces files ([`AtomicWriter::replace_all`]).
#[derive(Debug, Default)]
pub struct AtomicWriter;

impl AtomicWriter {
    pub fn new() -> AtomicWriter {
        AtomicWriter
    }

    /// Replaces the files of `batch`, on all cores. Per file, in order: `Ok`
    /// once it is replaced, or why it was left as it was.
    pub fn replace_all(&self, batch: &[Replacement<'_>]) -> Vec<Result<(), String>> {
        let replaced: Vec<Result<PathBuf, String>> = batch
            .par_iter()
            .map(|replacement| {
                let target = Target::of(replacement.source)?;
                commit(replacement.source, stage(replacement, target)?)
            })
            .collect();
        // Best effort: a rename is already durable on most file systems, and a
        // failure here does not undo it.
        let dirs: BTreeSet<&PathBuf> = replaced.iter().flatten().collect();
        dirs.into_par_iter().for_each(|dir| {
            if let Ok(dir) = fs::File::open(dir) {
                let _ = dir.sync_all();
            }
        });
        replaced.into_iter().map(|r| r.map(|_| ())).collect()
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
}

const READ_ONLY: &str = "the file is read-only; not written (make it writable to fix it)";

/// A new text written to a temporary file beside its target; the temporary
/// file is removed if it is dropped before [`commit`].
struct Staged {
    target: Target,
    temp: tempfile::TempPath,
}

/// Writes the new text to a temporary file beside the target, with the
/// original's permissions and owner. Refuses a file without write permission
/// (see also [`commit`]).
fn stage(replacement: &Replacement<'_>, target: Target) -> Result<Staged, String> {
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
        .and_then(|()| {
            if crate::failpoint::hit("flush-fails", &target.path) {
                return Err(std::io::Error::other("injected failure"));
            }
            temp.as_file().sync_all()
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
/// it was read. Returns the directory the file was renamed in.
fn commit(source: &SourceFile, staged: Staged) -> Result<PathBuf, String> {
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
    Ok(target.dir)
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

    /// Replaces each file with `new_text` in one batch.
    fn replace(sources: &[SourceFile], new_text: &str) -> Vec<Result<(), String>> {
        let batch: Vec<Replacement<'_>> = sources
            .iter()
            .map(|source| Replacement { source, new_text })
            .collect();
        AtomicWriter::new().replace_all(&batch)
    }

    #[test]
    fn files_in_several_directories_are_replaced_with_their_mode_and_bom() {
        {
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
            let outcomes = replace(&sources, "{ a = 1; }\n");
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
        {
            let dir = tempfile::tempdir().unwrap();
            let names = ["changed.nix", "removed.nix", "kept.nix"];
            for name in names {
                fs::write(dir.path().join(name), "{ }\n").unwrap();
            }
            let sources: Vec<SourceFile> =
                names.iter().map(|n| read(&dir.path().join(n))).collect();
            fs::write(dir.path().join("changed.nix"), "{ b = 2; }\n").unwrap();
            fs::remove_file(dir.path().join("removed.nix")).unwrap();
            let outcomes = replace(&sources, "{ a = 1; }\n");
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
        {
            let dir = tempfile::tempdir().unwrap();
            let read_only = dir.path().join("ro.nix");
            fs::write(&read_only, "{ }\n").unwrap();
            fs::set_permissions(&read_only, fs::Permissions::from_mode(0o444)).unwrap();
            let target = dir.path().join("target.nix");
            fs::write(&target, "{ }\n").unwrap();
            let link = dir.path().join("link.nix");
            std::os::unix::fs::symlink("target.nix", &link).unwrap();
            let outcomes = replace(&[read(&read_only), read(&link)], "{ a = 1; }\n");
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
        {
            assert!(replace(&[], "").is_empty());
        }
    }
}
