//! `port-module`: a clan.service module that wraps a legacy clanModule
//! (`generate.rs`), its registration in the clan's `modules` beside the old
//! `inventory.modules` entry (`register.rs`), and the `clan-migrate.toml`
//! entry with which `fix` then migrates the module's instances. Reading the
//! legacy directory is `legacy.rs`; what declarations read is `scope.rs`.

pub mod generate;
pub mod legacy;
mod register;
mod scope;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use legacy::{LegacyModule, Remark};

use crate::inventory::config::FILE_NAME as CONFIG_FILE;
use crate::text::SourceFile;
use crate::text::edit::{TextEdit, apply};

/// A file the port writes: its path, its text before (`None`: it is new) and after.
#[derive(Debug, Clone)]
pub struct FileChange {
    pub path: PathBuf,
    pub before: Option<SourceFile>,
    pub after: String,
}

/// What porting a directory gives.
#[derive(Debug, Clone)]
pub struct Port {
    pub module: LegacyModule,
    /// The generated module, the registration, the toml entry (those that change).
    pub changes: Vec<FileChange>,
    /// What a user should know that is not a property of the legacy files.
    pub notes: Vec<String>,
}

impl Port {
    /// Whether the module can be ported without a human.
    pub fn is_clean(&self) -> bool {
        self.module.blockers.is_empty()
    }
}

/// Why nothing can be ported at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortError(pub String);

impl std::fmt::Display for PortError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads the legacy module in `dir` and computes, verified, the files a port
/// writes. Nothing is written.
pub fn port(dir: &Path) -> Result<Port, PortError> {
    let dir = dir.canonicalize().map_err(|e| {
        PortError(format!(
            "{}: {}",
            dir.display(),
            crate::io::discover::describe_io_error(&e)
        ))
    })?;
    let root =
        register::flake_root(&dir).unwrap_or_else(|| dir.parent().unwrap_or(&dir).to_path_buf());
    let registrations = register::find(&root, &dir, generate::FILE_NAME);
    let mut notes = Vec::new();
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let service = match registrations.first() {
        Some(first) => {
            if let Some(other) = registrations.iter().find(|r| r.service != first.service) {
                return Err(PortError(format!(
                    "{} is registered under two names: `{}` ({}:{}) and `{}` ({}:{})",
                    dir.display(),
                    first.service,
                    first.source.path.display(),
                    first.line,
                    other.service,
                    other.source.path.display(),
                    other.line
                )));
            }
            first.service.clone()
        }
        None => {
            notes.push(format!(
                "no clan below {} registers this directory in `inventory.modules`: the service is named `{dir_name}` after it; register the generated module in your clan's `modules.{dir_name}` yourself",
                root.display()
            ));
            dir_name
        }
    };
    let module = legacy::read(&dir, &service).map_err(|e| PortError(e.0))?;
    let mut changes = Vec::new();

    // The generated module.
    let module_path = dir.join(generate::FILE_NAME);
    let text = generate::module_text(&module);
    verify_module(&module_path, &text)?;
    let existing = read_existing(&module_path)?;
    match &existing {
        Some(old) if old.text == text => {}
        Some(old) if !old.text.starts_with(generate::HEADER) => {
            return Err(PortError(format!(
                "{} exists and was not written by `clan-migrate port-module`: move it away first",
                module_path.display()
            )));
        }
        _ => changes.push(FileChange {
            path: module_path.clone(),
            before: existing,
            after: text,
        }),
    }

    // The registration in the clan's `modules`.
    for registration in &registrations {
        let path = &registration.source.path;
        match &registration.edit {
            Ok(None) => {}
            Ok(Some(edit)) => {
                let after = apply_edit(&registration.source, edit)?;
                verify_parses(path, &after)?;
                changes.push(FileChange {
                    path: path.clone(),
                    before: Some(registration.source.clone()),
                    after,
                });
            }
            Err(why) => notes.push(format!(
                "{}:{}: {why}: register {} in your clan's `modules.{service}` yourself",
                path.display(),
                registration.line,
                module_path.display()
            )),
        }
    }

    // The clan-migrate.toml entry.
    let config_dir = registrations
        .first()
        .and_then(|r| r.source.path.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| root.clone());
    let config_path = config_dir
        .ancestors()
        .take_while(|d| d.starts_with(&root))
        .map(|d| d.join(CONFIG_FILE))
        .find(|p| p.is_file())
        .unwrap_or_else(|| root.join(CONFIG_FILE));
    let before = read_existing(&config_path)?;
    let old_text = before.as_ref().map_or("", |s| s.text.as_str());
    let config =
        crate::inventory::modules::parse_user_config(old_text).map_err(|(_, message)| {
            PortError(format!(
                "{}: not a valid configuration: {message}",
                config_path.display()
            ))
        })?;
    let entry = toml_entry(&module, &dir, &root);
    let ours = crate::inventory::modules::parse_user_config(&entry)
        .ok()
        .and_then(|c| c.modules.get(&service).cloned());
    match config.modules.get(&service) {
        Some(existing) if Some(existing) == ours.as_ref() => {}
        Some(_) => notes.push(format!(
            "{} describes `{service}` already: kept as it is (the port would write:\n{})",
            config_path.display(),
            entry.trim_end()
        )),
        None => {
            let mut after = old_text.to_owned();
            if !after.is_empty() && !after.ends_with('\n') {
                after.push('\n');
            }
            if !after.is_empty() {
                after.push('\n');
            }
            after.push_str(&entry);
            verify_entry(&config_path, &after, &module)?;
            changes.push(FileChange {
                path: config_path,
                before,
                after,
            });
        }
    }
    Ok(Port {
        module,
        changes,
        notes,
    })
}

fn read_existing(path: &Path) -> Result<Option<SourceFile>, PortError> {
    match std::fs::read(path) {
        Ok(bytes) => SourceFile::from_bytes(
            path.to_path_buf(),
            bytes,
            crate::text::FileKind::of_path(path),
        )
        .map(Some)
        .map_err(|e| PortError(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PortError(format!(
            "{}: {}",
            path.display(),
            crate::io::discover::describe_io_error(&e)
        ))),
    }
}

fn apply_edit(source: &SourceFile, edit: &TextEdit) -> Result<String, PortError> {
    apply(&source.text, std::slice::from_ref(edit)).map_err(|_| {
        PortError(format!(
            "{}: the registration edit overlaps itself",
            source.path.display()
        ))
    })
}

fn verify_parses(path: &Path, text: &str) -> Result<(), PortError> {
    match rnix::Root::parse(text).errors().first() {
        None => Ok(()),
        Some(error) => Err(PortError(format!(
            "{}: the rewrite does not parse ({error}); nothing is written",
            path.display()
        ))),
    }
}

/// The generated module parses and the clan.service checks find no error in it.
fn verify_module(path: &Path, text: &str) -> Result<(), PortError> {
    verify_parses(path, text)?;
    let root = rnix::Root::parse(text).syntax();
    let errors: Vec<String> = crate::lints::service_checks::check(&root, text)
        .into_iter()
        .filter(|f| f.rule.severity == crate::lints::Severity::Error)
        .map(|f| format!("{} {}", f.rule.code, f.message))
        .collect();
    match errors.is_empty() {
        true => Ok(()),
        false => Err(PortError(format!(
            "{}: the generated module breaks clan.service rules ({}); nothing is written",
            path.display(),
            errors.join("; ")
        ))),
    }
}

/// The configuration with the entry loads, and says what the module declares.
fn verify_entry(path: &Path, text: &str, module: &LegacyModule) -> Result<(), PortError> {
    let config = crate::inventory::modules::parse_user_config(text).map_err(|(_, message)| {
        PortError(format!(
            "{}: the new entry does not load ({message}); nothing is written",
            path.display()
        ))
    })?;
    let info = config.modules.get(&module.service);
    let faithful = info.is_some_and(|info| {
        info.roles == module.roles
            && info.keys == module.declared_by()
            && info.input.as_deref() == Some("self")
            && info.target_name(&module.service) == module.service
    });
    match faithful {
        true => Ok(()),
        false => Err(PortError(format!(
            "{}: the new entry does not read back as the module's roles and settings; nothing is written",
            path.display()
        ))),
    }
}

fn toml_entry(module: &LegacyModule, dir: &Path, root: &Path) -> String {
    let relative = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let list = |items: &[String]| {
        format!(
            "[{}]",
            items
                .iter()
                .map(|i| quote(i))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# `{}`: the legacy clanModule in {relative}/, as the clan.service\n# {relative}/{} (written by `clan-migrate port-module`).",
        module.service,
        generate::FILE_NAME
    );
    let _ = writeln!(out, "[modules.{}]", toml_key(&module.service));
    out.push_str("status = \"migrated\"\ninput = \"self\"\n");
    let _ = writeln!(out, "roles = {}", list(&module.roles));
    let declared = module.declared_by();
    if !declared.is_empty() {
        let keys: Vec<String> = declared
            .iter()
            .map(|(k, roles)| format!("{} = {}", toml_key(k), list(roles)))
            .collect();
        let _ = writeln!(out, "keys = {{ {} }}", keys.join(", "));
    }
    out
}

fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_owned()
    } else {
        toml::Value::String(key.to_owned()).to_string()
    }
}

/// The services whose `clan.inventory.services.<service>` a module generated
/// by `port-module` fills for the legacy file at `path`: the generated module
/// is in the file's directory or the one above (as for `roles/<role>.nix`).
pub fn filled_inventory_services(path: &Path) -> Vec<String> {
    let mut services = Vec::new();
    for dir in path.ancestors().skip(1).take(2) {
        let Ok(text) = std::fs::read_to_string(dir.join(generate::FILE_NAME)) else {
            continue;
        };
        if !text.starts_with(generate::HEADER) {
            continue;
        }
        services.extend(text.lines().filter_map(|line| {
            let name = line
                .trim()
                .strip_prefix(generate::SHIM_PREFIX)?
                .strip_suffix(" = lib.mkOption {")?;
            Some(name.trim_matches('"').to_owned())
        }));
    }
    services
}

/// The service whose `clan.inventory.services.<service>` the expression
/// `read` (e.g. `config.clan.inventory.services.monitoring or { }`) reads.
pub fn inventory_service_read(read: &str) -> Option<String> {
    let at = read.find(generate::SHIM_READ)?;
    let rest = &read[at + generate::SHIM_READ.len()..];
    let service = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest
            .split(|c: char| !(c.is_ascii_alphanumeric() || "_-'".contains(c)))
            .next()?,
    };
    (!service.is_empty()).then(|| service.to_owned())
}

/// Writes a port's files: new files are created (never over a file that
/// appeared meanwhile), existing ones replaced atomically if unchanged since
/// they were read.
pub fn write(port: &Port) -> Result<(), String> {
    let replacements: Vec<crate::io::atomic_write::Replacement<'_>> = port
        .changes
        .iter()
        .filter_map(|c| {
            c.before
                .as_ref()
                .map(|source| crate::io::atomic_write::Replacement {
                    source,
                    new_text: &c.after,
                })
        })
        .collect();
    for change in port.changes.iter().filter(|c| c.before.is_none()) {
        create_new(&change.path, &change.after)?;
    }
    let results = crate::io::atomic_write::AtomicWriter::new().replace_all(&replacements);
    let failures: Vec<String> = results
        .into_iter()
        .zip(&replacements)
        .filter_map(|(r, rep)| {
            r.err()
                .map(|e| format!("{}: {e}", rep.source.path.display()))
        })
        .collect();
    match failures.is_empty() {
        true => Ok(()),
        false => Err(failures.join("\n")),
    }
}

fn create_new(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("{}: {e}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // A new source file, readable like the files beside it (a temporary file is 0600).
    file.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.as_file()
        .sync_all()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.persist_noclobber(path)
        .map(|_| ())
        .map_err(|e| format!("{}: {}", path.display(), e.error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_an_inventory_read_names() {
        let read = |s: &str| inventory_service_read(s);
        assert_eq!(
            read("config.clan.inventory.services.monitoring or { }").as_deref(),
            Some("monitoring")
        );
        assert_eq!(
            read("config.clan.inventory.services.\"my-svc\".x").as_deref(),
            Some("my-svc")
        );
        assert_eq!(
            read("config.clan.inventory.services.monitoringX").as_deref(),
            Some("monitoringX")
        );
        assert_eq!(read("config.clan.inventory.services"), None);
        assert_eq!(read("self.clan.inventory.services.${name}"), None);
    }
}
