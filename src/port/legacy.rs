//! Reading a legacy clanModule directory: its roles (`roles/<role>.nix`), the
//! files each role imports, their `options.clan.<service>` declarations (as
//! text that can move into an interface), the README front matter, and what
//! cannot be carried over mechanically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;

use super::scope::{self, FreeName};
use crate::syntax::nix::{attrpath_keys, binding_value, static_keys, strip_parens};
use crate::text::{FileKind, SourceFile, Span};

/// Something about the module, at a position of one of its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remark {
    pub path: PathBuf,
    /// 1-based line and column; `0` when the remark is about the whole file.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// One `options.clan.<service>…` declaration, ready to move.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// The path below `options.clan.<service>` (empty: the whole set).
    pub path: Vec<String>,
    /// The value, as written (indentation relative to its binding's line).
    pub text: String,
    /// The settings (top-level names) it declares.
    pub settings: Vec<String>,
}

/// A legacy file the module's roles import.
#[derive(Debug, Clone)]
pub struct ModuleFile {
    /// Relative to the module directory, with `/`.
    pub relative: String,
    pub declarations: Vec<Declaration>,
    /// `let` bindings (and `inherit`s) the declarations read, as written, in
    /// source order.
    pub lets: Vec<String>,
    /// `with` expressions around the declarations that they may read names from.
    pub withs: Vec<String>,
    /// Reads `clan.inventory.services`.
    pub reads_inventory: bool,
}

#[derive(Debug, Clone, Default)]
pub struct FrontMatter {
    pub description: Option<String>,
    pub categories: Vec<String>,
    pub features: Vec<String>,
}

/// What the directory holds.
#[derive(Debug, Clone)]
pub struct LegacyModule {
    pub dir: PathBuf,
    pub service: String,
    /// Role names (`roles/*.nix`), sorted.
    pub roles: Vec<String>,
    pub files: Vec<ModuleFile>,
    /// Per role, the indices in `files` of the files it imports (its own first).
    pub role_files: BTreeMap<String, Vec<usize>>,
    pub readme: bool,
    pub front_matter: FrontMatter,
    /// Reasons the module cannot be ported without a human.
    pub blockers: Vec<Remark>,
    /// What a user should know about the port.
    pub notes: Vec<Remark>,
}

impl LegacyModule {
    /// Settings name → roles whose interface declares it (sorted).
    pub fn declared_by(&self) -> BTreeMap<String, Vec<String>> {
        let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (role, files) in &self.role_files {
            for &file in files {
                for decl in &self.files[file].declarations {
                    for setting in &decl.settings {
                        let roles = owners.entry(setting.clone()).or_default();
                        if !roles.contains(role) {
                            roles.push(role.clone());
                        }
                    }
                }
            }
        }
        for roles in owners.values_mut() {
            roles.sort();
        }
        owners
    }

    pub fn reads_inventory(&self) -> bool {
        self.files.iter().any(|f| f.reads_inventory)
    }
}

/// Why a directory is not a legacy clanModule at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAModule(pub String);

/// clan-core options legacy modules used that current clan-core no longer has.
const REMOVED: &[(&str, &str)] = &[
    (
        "clan.core.facts",
        "`clan.core.facts` no longer exists in current clan-core: move the module to `clan.core.vars`",
    ),
    (
        "migrateFact",
        "`migrateFact` (of `clan.core.vars.generators`) no longer exists in current clan-core",
    ),
    (
        "clan.core.secretStore",
        "`clan.core.secretStore` was removed: use `clan.core.vars.settings.secretStore`",
    ),
    (
        "clan.core.secretsPrefix",
        "`clan.core.secretsPrefix` was removed",
    ),
    (
        "clan.core.secretsDirectory",
        "`clan.core.secretsDirectory` was removed",
    ),
    (
        "clan.core.secretsUploadDirectory",
        "`clan.core.secretsUploadDirectory` was removed: use `clan.core.vars.sops.secretUploadDirectory`",
    ),
    (
        "clan.core.clanName",
        "`clan.core.clanName` was removed: use `clan.core.settings.name`",
    ),
    (
        "clan.core.clanIcon",
        "`clan.core.clanIcon` was removed: use `clan.core.settings.icon`",
    ),
    (
        "clan.inventory.assertions",
        "`clan.inventory.assertions` was replaced by `clan.checks`",
    ),
];

/// Reads the legacy module in `dir`, whose settings live in `clan.<service>`.
pub fn read(dir: &Path, service: &str) -> Result<LegacyModule, NotAModule> {
    // Files are known by their real paths (`roles/../shared.nix` is `shared.nix`).
    let dir = &dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let roles_dir = dir.join("roles");
    let entries = std::fs::read_dir(&roles_dir).map_err(|e| {
        NotAModule(format!(
            "{}: {} (a legacy clanModule has one file per role in roles/)",
            roles_dir.display(),
            crate::io::discover::describe_io_error(&e)
        ))
    })?;
    let mut roles: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let role = name.strip_suffix(".nix")?;
            e.path().is_file().then(|| role.to_owned())
        })
        .collect();
    roles.sort();
    if roles.is_empty() {
        return Err(NotAModule(format!(
            "{}: no role file (roles/<role>.nix)",
            roles_dir.display()
        )));
    }
    let mut module = LegacyModule {
        dir: dir.to_path_buf(),
        service: service.to_owned(),
        roles: roles.clone(),
        files: Vec::new(),
        role_files: BTreeMap::new(),
        readme: false,
        front_matter: FrontMatter::default(),
        blockers: Vec::new(),
        notes: Vec::new(),
    };
    read_readme(&mut module);
    let mut reader = Reader {
        module: &mut module,
        by_path: BTreeMap::new(),
        imports: BTreeMap::new(),
    };
    for role in &roles {
        let mut closure = Vec::new();
        reader.visit(&roles_dir.join(format!("{role}.nix")), &mut closure);
        reader.module.role_files.insert(role.clone(), closure);
    }
    Ok(module)
}

fn read_readme(module: &mut LegacyModule) {
    let path = module.dir.join("README.md");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    module.readme = true;
    let Some(rest) = text.strip_prefix("---\n") else {
        return;
    };
    let Some(end) = rest.find("\n---") else {
        return;
    };
    match toml::from_str::<toml::Table>(&rest[..end]) {
        Ok(table) => {
            let strings = |key: &str| -> Vec<String> {
                table
                    .get(key)
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            module.front_matter = FrontMatter {
                description: table
                    .get("description")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                categories: strings("categories"),
                features: strings("features"),
            };
        }
        Err(e) => module.notes.push(Remark {
            path,
            line: 2,
            column: 1,
            message: format!(
                "the front matter is not TOML ({}); no description is carried",
                e.message()
            ),
        }),
    }
}

struct Reader<'a> {
    module: &'a mut LegacyModule,
    /// Canonical path → index in `module.files` (`None` while being read, or unreadable).
    by_path: BTreeMap<PathBuf, Option<usize>>,
    /// Index in `module.files` → the files it imports.
    imports: BTreeMap<usize, Vec<PathBuf>>,
}

impl Reader<'_> {
    /// Reads `path` and what it imports, adding their indices to `closure`.
    fn visit(&mut self, path: &Path, closure: &mut Vec<usize>) {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some(known) = self.by_path.get(&canonical) {
            if let Some(i) = known
                && !closure.contains(i)
            {
                closure.push(*i);
                let imports = self.imports.get(i).cloned().unwrap_or_default();
                for import in imports {
                    self.visit(&import, closure);
                }
            }
            return;
        }
        self.by_path.insert(canonical.clone(), None);
        let Some((file, imports)) = self.read_file(&canonical) else {
            return;
        };
        let index = self.module.files.len();
        self.module.files.push(file);
        self.imports.insert(index, imports.clone());
        self.by_path.insert(canonical, Some(index));
        closure.push(index);
        for import in imports {
            self.visit(&import, closure);
        }
    }
}

impl Reader<'_> {
    fn remark(&self, source: &SourceFile, span: Span, message: String) -> Remark {
        let position = source.position(span.start);
        Remark {
            path: source.path.clone(),
            line: position.line,
            column: position.column,
            message,
        }
    }

    fn block(&mut self, source: &SourceFile, span: Span, message: String) {
        let remark = self.remark(source, span, message);
        self.module.blockers.push(remark);
    }

    fn note(&mut self, source: &SourceFile, span: Span, message: String) {
        let remark = self.remark(source, span, message);
        self.module.notes.push(remark);
    }

    /// The file's declarations and the files it imports; `None` (with a
    /// blocker) when it cannot be read or parsed.
    fn read_file(&mut self, path: &Path) -> Option<(ModuleFile, Vec<PathBuf>)> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.module.blockers.push(Remark {
                    path: path.to_path_buf(),
                    line: 0,
                    column: 0,
                    message: format!(
                        "cannot read it: {}",
                        crate::io::discover::describe_io_error(&e)
                    ),
                });
                return None;
            }
        };
        let source = match SourceFile::from_bytes(path.to_path_buf(), bytes, FileKind::Nix) {
            Ok(source) => source,
            Err(e) => {
                self.module.blockers.push(Remark {
                    path: path.to_path_buf(),
                    line: e.line,
                    column: e.column,
                    message: e.to_string(),
                });
                return None;
            }
        };
        let parsed = rnix::Root::parse(&source.text);
        if let Some(error) = parsed.errors().first() {
            let eof = rnix::TextRange::empty(rnix::TextSize::from(source.text.len() as u32));
            let (range, message) = crate::lints::parse_error::describe(error, eof);
            let offset = usize::from(range.start());
            self.block(
                &source,
                Span::new(offset, offset),
                format!("does not parse: {message}"),
            );
            return None;
        }
        let root = parsed.syntax();
        let relative = path
            .strip_prefix(&self.module.dir)
            .map(|r| r.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| path.display().to_string());
        let mut file = ModuleFile {
            relative,
            declarations: Vec::new(),
            lets: Vec::new(),
            withs: Vec::new(),
            reads_inventory: false,
        };
        let mut imports = Vec::new();
        let mut carried: Vec<SyntaxNode> = Vec::new();
        let mut withs: Vec<SyntaxNode> = Vec::new();
        match root.first_child() {
            Some(top) => self.read_module(
                &source,
                &top,
                &mut file,
                &mut imports,
                &mut carried,
                &mut withs,
            ),
            None => self.block(&source, Span::new(0, 0), "the file is empty".to_owned()),
        }
        carried.sort_by_key(|n| n.text_range().start());
        carried.dedup();
        file.lets = carried.iter().map(|n| reindent(&source.text, n)).collect();
        withs.sort_by_key(|n| n.text_range().start());
        withs.dedup();
        file.withs = withs
            .iter()
            .filter_map(|n| ast::With::cast(n.clone())?.namespace())
            .map(|namespace| namespace.syntax().text().to_string())
            .collect();
        self.scan_reads(&source, &root, &mut file);
        Some((file, imports))
    }

    /// A module: a function (of the module arguments) or not, through `let`
    /// and `with`, to its attribute set.
    fn read_module(
        &mut self,
        source: &SourceFile,
        expr: &SyntaxNode,
        file: &mut ModuleFile,
        imports: &mut Vec<PathBuf>,
        carried: &mut Vec<SyntaxNode>,
        withs: &mut Vec<SyntaxNode>,
    ) {
        let Some(mut body) = ast::Expr::cast(expr.clone()).map(strip_parens) else {
            return;
        };
        let set = loop {
            body = match body {
                ast::Expr::Lambda(lambda) => {
                    if let Some(param) = lambda.param()
                        && let Some(name) = scope::param_names(&param)
                            .into_iter()
                            .find(|n| n == "instanceConfig")
                    {
                        let span = Span::from(param.syntax().text_range());
                        self.block(
                            source,
                            span,
                            format!("the module takes `{name}`, which only the legacy builder passed: it needs a human"),
                        );
                    }
                    match lambda.body() {
                        Some(b) => strip_parens(b),
                        None => return,
                    }
                }
                ast::Expr::LetIn(l) => match l.body() {
                    Some(b) => strip_parens(b),
                    None => return,
                },
                ast::Expr::With(w) => match w.body() {
                    Some(b) => strip_parens(b),
                    None => return,
                },
                ast::Expr::AttrSet(set) => break set,
                other => {
                    let span = Span::from(other.syntax().text_range());
                    self.block(
                        source,
                        span,
                        "the module is not an attribute set that can be read without evaluation"
                            .to_owned(),
                    );
                    return;
                }
            };
        };
        let dir = source
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for binding in set.attrpath_values() {
            let (Some(attrpath), Some(value)) = (binding.attrpath(), binding_value(&binding))
            else {
                continue;
            };
            let Some(keys) = static_keys(&attrpath) else {
                if attrpath_keys(&attrpath)
                    .first()
                    .is_some_and(|k| k.key.is("options"))
                {
                    let span = Span::from(attrpath.syntax().text_range());
                    self.block(
                        source,
                        span,
                        "an option declared under a computed name".to_owned(),
                    );
                }
                continue;
            };
            if keys == ["imports"] {
                self.read_imports(source, &value, &dir, file, imports, carried, withs);
            } else {
                let service = self.module.service.clone();
                let target = ["options", "clan", service.as_str()];
                self.read_options(source, &keys, &target, &value, file, carried, withs);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn read_imports(
        &mut self,
        source: &SourceFile,
        value: &ast::Expr,
        dir: &Path,
        file: &mut ModuleFile,
        imports: &mut Vec<PathBuf>,
        carried: &mut Vec<SyntaxNode>,
        withs: &mut Vec<SyntaxNode>,
    ) {
        let ast::Expr::List(list) = strip_parens(value.clone()) else {
            let span = Span::from(value.syntax().text_range());
            self.block(
                source,
                span,
                "`imports` is not a list that can be read without evaluation: the options it brings are unknown".to_owned(),
            );
            return;
        };
        for item in list.items() {
            let item = strip_parens(item);
            if let Some(relative) = crate::syntax::nix::literal_relative_path(&item) {
                let target = dir.join(relative);
                let target = if target.is_dir() {
                    target.join("default.nix")
                } else {
                    target
                };
                imports.push(target);
            } else if matches!(item, ast::Expr::AttrSet(_) | ast::Expr::Lambda(_)) {
                self.read_module(source, item.syntax(), file, imports, carried, withs);
            } else {
                let span = Span::from(item.syntax().text_range());
                self.note(
                    source,
                    span,
                    format!(
                        "this import is not a literal path: `options.clan.{}` declarations in it, if any, are not in the interface (settings for them would be rejected)",
                        self.module.service
                    ),
                );
            }
        }
    }

    /// A binding of the module's set at `keys`: a declaration below
    /// `options.clan.<service>`, or a set on the way there.
    #[allow(clippy::too_many_arguments)]
    fn read_options(
        &mut self,
        source: &SourceFile,
        keys: &[String],
        target: &[&str],
        value: &ast::Expr,
        file: &mut ModuleFile,
        carried: &mut Vec<SyntaxNode>,
        withs: &mut Vec<SyntaxNode>,
    ) {
        let common = keys.iter().zip(target).take_while(|(k, t)| k == *t).count();
        if common < keys.len() && common < target.len() {
            return;
        }
        if keys.len() < target.len() {
            // `options = { … }` or `options.clan = { … }`: read inside.
            match strip_parens(value.clone()) {
                ast::Expr::AttrSet(set) => {
                    for binding in set.attrpath_values() {
                        let (Some(attrpath), Some(inner)) =
                            (binding.attrpath(), binding_value(&binding))
                        else {
                            continue;
                        };
                        match static_keys(&attrpath) {
                            Some(more) => {
                                let mut path = keys.to_vec();
                                path.extend(more);
                                self.read_options(
                                    source, &path, target, &inner, file, carried, withs,
                                );
                            }
                            None => {
                                let span = Span::from(attrpath.syntax().text_range());
                                self.block(
                                    source,
                                    span,
                                    "an option declared under a computed name".to_owned(),
                                );
                            }
                        }
                    }
                }
                other => {
                    let span = Span::from(other.syntax().text_range());
                    self.block(
                        source,
                        span,
                        format!(
                            "`{}` is {}: which settings it declares is not known without evaluation",
                            keys.join("."),
                            crate::syntax::nix::describe_expr(&other)
                        ),
                    );
                }
            }
            return;
        }
        let path = keys[target.len()..].to_vec();
        let settings = match path.first() {
            Some(first) => vec![first.clone()],
            None => match scoped_body(value.clone()) {
                ast::Expr::AttrSet(set) => scope::entry_names(&set),
                _ => {
                    let span = Span::from(value.syntax().text_range());
                    self.block(
                        source,
                        span,
                        format!(
                            "`options.clan.{}` is not an attribute set: which settings it declares is not known without evaluation",
                            self.module.service
                        ),
                    );
                    return;
                }
            },
        };
        for (span, ty) in crate::lints::service_checks::non_serializable_types(value.syntax()) {
            self.block(
                source,
                span,
                format!("settings of type `{ty}` cannot be written in an inventory (settings are JSON): this option needs a human"),
            );
        }
        self.carry(source, value.syntax(), carried, withs);
        file.declarations.push(Declaration {
            path,
            text: reindent(&source.text, value.syntax()),
            settings,
        });
    }

    /// Finds what the names `node` reads from its file are bound to: the
    /// module's `lib`, `let` bindings (carried along), `with` (carried).
    /// Anything else (`config`, `pkgs`, another argument) blocks the port.
    fn carry(
        &mut self,
        source: &SourceFile,
        node: &SyntaxNode,
        carried: &mut Vec<SyntaxNode>,
        withs: &mut Vec<SyntaxNode>,
    ) {
        for FreeName {
            name,
            span,
            under_with,
        } in scope::free_names(node)
        {
            match binder(node, &name) {
                // A `with` inside the declaration provides it (a lexical
                // binding outside would still win, and is carried above).
                Binder::With(_) | Binder::Nothing if under_with => {}
                Binder::Let(statement) => {
                    if !carried.contains(&statement) {
                        carried.push(statement.clone());
                        self.carry(source, &statement, carried, withs);
                    }
                }
                Binder::Argument if name == "lib" => {}
                Binder::Argument => self.block(
                    source,
                    span,
                    format!(
                        "an option declaration reads `{name}`, which a clan.service interface does not have (it is evaluated without a machine)"
                    ),
                ),
                Binder::With(with) => {
                    if !withs.contains(&with) {
                        withs.push(with.clone());
                        if let Some(namespace) = ast::With::cast(with).and_then(|w| w.namespace()) {
                            self.carry(source, namespace.syntax(), carried, withs);
                        }
                    }
                }
                Binder::Unsupported(why) => self.block(source, span, format!("an option declaration reads `{name}`, {why}")),
                Binder::Nothing => self.block(
                    source,
                    span,
                    format!("an option declaration reads `{name}`, which nothing in the file binds"),
                ),
            }
        }
    }

    /// Reads of `clan.inventory.services` and uses of clan-core options that
    /// no longer exist.
    fn scan_reads(&mut self, source: &SourceFile, root: &SyntaxNode, file: &mut ModuleFile) {
        let mut reported: Vec<&str> = Vec::new();
        for node in root.descendants() {
            // A select's text without its `or` default; attribute paths of
            // bindings (`migrateFact = …;`).
            let text = match node.kind() {
                SyntaxKind::NODE_SELECT => {
                    if node
                        .parent()
                        .is_some_and(|p| p.kind() == SyntaxKind::NODE_SELECT)
                    {
                        continue;
                    }
                    let Some(select) = ast::Select::cast(node.clone()) else {
                        continue;
                    };
                    match (select.expr(), select.attrpath()) {
                        (Some(expr), Some(path)) => {
                            format!("{}.{}", compact(expr.syntax()), compact(path.syntax()))
                        }
                        _ => continue,
                    }
                }
                SyntaxKind::NODE_ATTRPATH
                    if node
                        .parent()
                        .is_some_and(|p| p.kind() == SyntaxKind::NODE_ATTRPATH_VALUE) =>
                {
                    compact(&node)
                }
                _ => continue,
            };
            for (pattern, message) in REMOVED {
                if text.contains(pattern) && !reported.contains(pattern) {
                    reported.push(pattern);
                    self.block(
                        source,
                        Span::from(node.text_range()),
                        format!("{message}: it needs a human"),
                    );
                }
            }
            if let Some(at) = text.find("inventory.services") {
                file.reads_inventory = true;
                let read = super::inventory_service_read(&text[at..]).unwrap_or_default();
                let service = self.module.service.clone();
                let message = if read == service {
                    format!(
                        "reads its peers from `clan.inventory.services.{service}`, which current clan-core no longer sets: the generated module fills it (members of each instance, under the instances' new names)"
                    )
                } else if read.is_empty() {
                    format!(
                        "reads `clan.inventory.services` whole: the generated module fills only `clan.inventory.services.{service}`"
                    )
                } else {
                    format!(
                        "reads `clan.inventory.services.{read}`, which only a port of `{read}` would fill"
                    )
                };
                self.note(source, Span::from(node.text_range()), message);
            }
        }
    }
}

/// What `let … in body` and `with e; body` give: the body (through
/// parentheses and nesting).
fn scoped_body(mut expr: ast::Expr) -> ast::Expr {
    loop {
        expr = match strip_parens(expr) {
            ast::Expr::LetIn(l) => match l.body() {
                Some(body) => body,
                None => return ast::Expr::LetIn(l),
            },
            ast::Expr::With(w) => match w.body() {
                Some(body) => body,
                None => return ast::Expr::With(w),
            },
            other => return other,
        };
    }
}

/// A node's text without whitespace.
fn compact(node: &SyntaxNode) -> String {
    node.text()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

enum Binder {
    /// A `let` binding or `inherit` statement.
    Let(SyntaxNode),
    /// A function argument (the module's arguments).
    Argument,
    With(SyntaxNode),
    Unsupported(&'static str),
    Nothing,
}

/// What binds `name` for `node`: the nearest lexical binder (which wins over
/// `with` in Nix), else the innermost `with` around it.
fn binder(node: &SyntaxNode, name: &str) -> Binder {
    let mut with = None;
    let mut child = node.clone();
    while let Some(parent) = child.parent() {
        match parent.kind() {
            SyntaxKind::NODE_LET_IN => {
                if let Some(statement) =
                    ast::LetIn::cast(parent.clone()).and_then(|l| statement_binding(&l, name))
                {
                    return Binder::Let(statement);
                }
            }
            SyntaxKind::NODE_ATTR_SET => {
                if let Some(set) = ast::AttrSet::cast(parent.clone())
                    && set.rec_token().is_some()
                    && scope::entry_names(&set).iter().any(|n| n == name)
                {
                    return Binder::Unsupported("which a `rec` set binds");
                }
            }
            SyntaxKind::NODE_LAMBDA
                if ast::Lambda::cast(parent.clone())
                    .and_then(|l| l.param())
                    .is_some_and(|p| scope::param_names(&p).iter().any(|n| n == name)) =>
            {
                return Binder::Argument;
            }
            SyntaxKind::NODE_WITH => {
                let in_body = ast::With::cast(parent.clone())
                    .and_then(|w| w.body())
                    .is_some_and(|b| *b.syntax() == child);
                if in_body && with.is_none() {
                    with = Some(parent.clone());
                }
            }
            _ => {}
        }
        child = parent;
    }
    with.map_or(Binder::Nothing, Binder::With)
}

/// The binding or `inherit` statement of `let` that binds `name`.
fn statement_binding(let_in: &ast::LetIn, name: &str) -> Option<SyntaxNode> {
    for binding in let_in.attrpath_values() {
        let first = binding.attrpath()?.attrs().next()?;
        if crate::syntax::nix::attr_key(&first).is(name) {
            return Some(binding.syntax().clone());
        }
    }
    for inherit in let_in.inherits() {
        if inherit
            .attrs()
            .any(|a| crate::syntax::nix::attr_key(&a).is(name))
        {
            return Some(inherit.syntax().clone());
        }
    }
    None
}

/// `node`'s text with the indentation of the line it starts on removed from
/// its other lines (kept as written when a line has less of it: the text of
/// an indented string would change).
pub fn reindent(text: &str, node: &SyntaxNode) -> String {
    let start = usize::from(node.text_range().start());
    let end = usize::from(node.text_range().end());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent = text[line_start..start]
        .chars()
        .take_while(|c| *c == ' ')
        .count();
    let own = &text[start..end];
    let mut lines = own.split('\n');
    let first = lines.next().unwrap_or("");
    let rest: Vec<&str> = lines.collect();
    let shiftable = rest
        .iter()
        .all(|l| l.trim().is_empty() || l.starts_with(&" ".repeat(indent)));
    if !shiftable {
        return own.to_owned();
    }
    let mut out = first.to_owned();
    for line in rest {
        out.push('\n');
        if line.trim().is_empty() {
            continue;
        }
        out.push_str(&line[indent..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(files: &[(&str, &str)]) -> LegacyModule {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
            std::fs::write(path, text).expect("a file");
        }
        read(dir.path(), "svc").expect("a legacy module")
    }

    #[test]
    fn declarations_carry_the_let_bindings_they_read() {
        let m = module(&[(
            "roles/a.nix",
            "{ lib, config, ... }:\nlet\n  t = lib.types;\n  cfg = config.clan.svc;\nin\n{\n  options.clan.svc.port = lib.mkOption {\n    type = t.port;\n  };\n  config.x = cfg.port;\n}\n",
        )]);
        assert!(m.blockers.is_empty(), "{:?}", m.blockers);
        let file = &m.files[0];
        assert_eq!(file.lets, ["t = lib.types;"]);
        assert_eq!(file.declarations[0].path, ["port"]);
        assert_eq!(
            file.declarations[0].text,
            "lib.mkOption {\n  type = t.port;\n}"
        );
        assert_eq!(m.declared_by()["port"], ["a"]);
    }

    #[test]
    fn shared_files_declare_for_every_role_that_imports_them() {
        let m = module(&[
            ("roles/a.nix", "{ imports = [ ../shared.nix ]; }"),
            (
                "roles/b.nix",
                "{ lib, ... }: { imports = [ ../shared.nix ]; options.clan.svc.only = lib.mkOption { }; }",
            ),
            (
                "shared.nix",
                "{ lib, ... }: { options = { clan.svc = let inherit (lib.types) str; in { x = lib.mkOption { type = str; }; }; }; }",
            ),
        ]);
        assert!(m.blockers.is_empty(), "{:?}", m.blockers);
        let owners = m.declared_by();
        assert_eq!(owners["x"], ["a", "b"]);
        assert_eq!(owners["only"], ["b"]);
    }

    #[test]
    fn what_an_interface_cannot_hold_blocks_the_port() {
        let blockers = |text: &str| {
            module(&[("roles/a.nix", text)])
                .blockers
                .into_iter()
                .map(|b| b.message)
                .collect::<Vec<_>>()
        };
        assert!(blockers("{ pkgs, lib, ... }: { options.clan.svc.p = lib.mkOption { default = pkgs.hello; }; }")[0]
            .contains("reads `pkgs`"));
        assert!(
            blockers(
                "{ lib, ... }: { options.clan.svc.p = lib.mkOption { type = lib.types.package; }; }"
            )[0]
            .contains("`package`")
        );
        assert!(
            blockers("{ lib, ... }: { options.clan.svc = lib.genAttrs [ \"a\" ] (_: { }); }")[0]
                .contains("not an attribute set")
        );
        assert!(
            blockers("{ config, ... }: { clan.core.facts.services.x = { }; }")[0]
                .contains("clan.core.facts")
        );
        assert!(blockers("{ instanceConfig, ... }: { }")[0].contains("instanceConfig"));
        assert!(
            blockers(
                "{ lib, ... }: { options.clan.svc.p = lib.mkOption { default = unknownName; }; }"
            )[0]
            .contains("nothing in the file binds")
        );
    }

    #[test]
    fn a_with_inside_a_declaration_provides_its_names() {
        let m = module(&[(
            "roles/a.nix",
            "{ lib, ... }:\nlet\n  t = lib.types;\nin\n{\n  options.clan.svc = with lib; { x = mkOption { type = t.int; }; };\n}\n",
        )]);
        assert!(m.blockers.is_empty(), "{:?}", m.blockers);
        assert_eq!(
            m.files[0].lets,
            ["t = lib.types;"],
            "a lexical binding wins over `with`"
        );
        assert!(m.files[0].withs.is_empty());
        let arguments_win = module(&[(
            "roles/a.nix",
            "{ lib, config, ... }: { options.clan.svc = with lib; { x = mkOption { default = config.a; }; }; }",
        )]);
        assert!(arguments_win.blockers[0].message.contains("reads `config`"));
    }
}
