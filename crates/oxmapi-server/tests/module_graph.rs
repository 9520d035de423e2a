//! The server's module graph has no cycle (issue 11): no module imports one that imports it
//! back, parent and child included.
//!
//! The checker reads every `.rs` file under `src/`, names its module (`a/b.rs` and
//! `a/b/mod.rs` are `a::b`; `lib.rs` is the crate root, which only declares modules and is left
//! out) and collects the modules each file refers to:
//!
//! * `crate::…` paths (and `$crate::…` in macros), anywhere in the code;
//! * `super::…` paths, resolved against the file's module (`super::super::…` too);
//! * `self::…` paths, and paths whose first segment is a child module of the file's module
//!   (`use child::Thing`, `child::f()`), the latter only where the segment is not itself
//!   preceded by `::`;
//! * inside `use` trees, every leaf (`use crate::a::{b::X, c}` refers to `a::b` and `a`).
//!
//! A visibility (`pub(in crate::a)`) is not a reference.
//!
//! Comments (`//`, `///`, `//!`, `/* */`, nested) and string, byte-string, raw-string and char
//! literals are dropped first, so doc text and messages do not count. A path refers to the
//! deepest existing module its prefix names: `crate::emsmdb::dispatch::run_buffer` is
//! `emsmdb::dispatch` when `emsmdb/dispatch.rs` exists, else `emsmdb`; a path naming no module
//! (an item of the crate root) is ignored. `mod x;` declarations are not references.
//!
//! Test-only code is skipped: the item after a `#[cfg(test)]` attribute (so `mod tests { … }`
//! blocks and `#[cfg(test)] mod x;` declarations), the files so declared, and every file
//! whose name ends in `tests.rs`. Inline modules other than test modules are not modelled
//! (the crate has none): their code counts for the file's module.
//!
//! Edge A → B when A refers to B and A ≠ B; a parent using its child's items and a child using
//! its parent's (`super::Thing`) are both edges, so a parent↔child loop is a cycle. The test
//! prints the graph and its strongly connected components of more than one module (Tarjan).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The module graph of one crate's `src/` tree; modules are `a::b` strings, the root is left
/// out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Graph {
    /// Every non-test module.
    modules: BTreeSet<String>,
    /// `from → {to}`.
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    /// Reads the tree under `src`.
    fn read(src: &Path) -> std::io::Result<Self> {
        let mut files = Vec::new();
        collect_rs(src, src, &mut files)?;
        let mut parsed = Vec::new();
        for (module, path) in files {
            let text = std::fs::read_to_string(&path)?;
            let tokens = lex(&text);
            let (tokens, test_children) = drop_test_items(&tokens);
            parsed.push((module, path, tokens, test_children));
        }
        // Every module (test ones too: a path may name them) for the resolution.
        let known: BTreeSet<Vec<String>> = parsed.iter().map(|(m, ..)| m.clone()).collect();
        let mut test_only: BTreeSet<Vec<String>> = BTreeSet::new();
        for (module, path, _, test_children) in &parsed {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if stem.ends_with("tests") {
                test_only.insert(module.clone());
            }
            for child in test_children {
                let mut c = module.clone();
                c.push(child.clone());
                test_only.insert(c);
            }
        }
        let mut graph = Self::default();
        for (module, _, tokens, _) in &parsed {
            if module.is_empty() || test_only.iter().any(|t| module.starts_with(t)) {
                continue;
            }
            let from = module.join("::");
            graph.modules.insert(from.clone());
            let targets = graph.edges.entry(from).or_default();
            for path in references(tokens) {
                let Some(abs) = absolute(module, &path, &known) else {
                    continue;
                };
                let to = deepest_module(&abs, &known);
                if to.is_empty() || to == *module || test_only.contains(&to) {
                    continue;
                }
                targets.insert(to.join("::"));
            }
        }
        Ok(graph)
    }

    /// Strongly connected components of more than one module, each sorted, in order.
    fn cycles(&self) -> Vec<Vec<String>> {
        let nodes: Vec<&String> = self.modules.iter().collect();
        let index: BTreeMap<&String, usize> =
            nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let adj: Vec<Vec<usize>> = nodes
            .iter()
            .map(|n| {
                self.edges
                    .get(*n)
                    .into_iter()
                    .flatten()
                    .filter_map(|t| index.get(t).copied())
                    .collect()
            })
            .collect();
        let mut t = Tarjan {
            adj: &adj,
            index: vec![None; nodes.len()],
            low: vec![0; nodes.len()],
            on_stack: vec![false; nodes.len()],
            stack: Vec::new(),
            next: 0,
            out: Vec::new(),
        };
        for v in 0..nodes.len() {
            if t.index[v].is_none() {
                t.visit(v);
            }
        }
        let mut out: Vec<Vec<String>> = t
            .out
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let mut names: Vec<String> = c.into_iter().map(|i| nodes[i].clone()).collect();
                names.sort();
                names
            })
            .collect();
        out.sort();
        out
    }

    fn print(&self) {
        println!("module graph ({} modules):", self.modules.len());
        for m in &self.modules {
            let tos: Vec<&str> = self
                .edges
                .get(m)
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            println!("  {m} -> {}", tos.join(", "));
        }
    }
}

/// Tarjan's strongly connected components.
struct Tarjan<'a> {
    adj: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    out: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in &self.adj[v] {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.out.push(component);
        }
    }
}

/// `(module path, file)` of every `.rs` file under `dir`.
fn collect_rs(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(Vec<String>, PathBuf)>,
) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_rs(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
            let mut module: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|l| l == "mod") || module == ["lib"] || module == ["main"]
            {
                module.pop();
            }
            out.push((module, path));
        }
    }
    Ok(())
}

/// A token of the stripped source.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
    /// A literal or lifetime (its text is irrelevant).
    Other,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokens of `text` without comments; literals become [`Tok::Other`].
fn lex(text: &str) -> Vec<Tok> {
    let s: Vec<char> = text.chars().collect();
    let at = |i: usize| s.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(&s, i) {
            out.push(Tok::Other);
            i = end;
        } else if c == '"' || ((c == 'b' || c == 'c') && at(i + 1) == '"') {
            i += if c == '"' { 1 } else { 2 };
            while i < s.len() && s[i] != '"' {
                i += if s[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(Tok::Other);
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            let q = if c == '\'' { i } else { i + 1 };
            if at(q + 1) == '\\' {
                // An escaped char: `'\n'`, `'\''`, `'\u{41}'`.
                i = q + 3;
                while i < s.len() && s[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(q + 2) == '\'' {
                i = q + 3;
            } else {
                // A lifetime or label.
                i = q + 1;
                while i < s.len() && is_ident_char(s[i]) {
                    i += 1;
                }
            }
            out.push(Tok::Other);
        } else if is_ident_start(c) {
            if c == 'r' && at(i + 1) == '#' && is_ident_start(at(i + 2)) {
                i += 2;
            }
            let name_start = i;
            while i < s.len() && is_ident_char(s[i]) {
                i += 1;
            }
            out.push(Tok::Ident(s[name_start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            while i < s.len() && is_ident_char(s[i]) {
                i += 1;
            }
            out.push(Tok::Other);
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Tok::PathSep);
            i += 2;
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

/// The end of a raw (byte/C) string literal starting at `i` (`r"…"`, `br#"…"#`, `cr"…"`).
fn raw_string_end(s: &[char], i: usize) -> Option<usize> {
    if i > 0 && is_ident_char(s[i - 1]) {
        return None;
    }
    let mut j = i;
    if matches!(s.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if s.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while s.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if s.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < s.len() {
        if s[j] == '"' && (1..=hashes).all(|k| s.get(j + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(s.len())
}

/// `tokens` without the items that follow a `#[cfg(test)]` attribute, and the names of the
/// child modules so declared (`#[cfg(test)] mod x;`).
fn drop_test_items(tokens: &[Tok]) -> (Vec<Tok>, Vec<String>) {
    let cfg_test = [
        Tok::Punct('#'),
        Tok::Punct('['),
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
        Tok::Punct(']'),
    ];
    let mut out = Vec::new();
    let mut test_children = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !tokens[i..].starts_with(&cfg_test) {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        i += cfg_test.len();
        // The item: up to a `;` outside brackets or its closing `}`.
        let start = i;
        let mut depth = 0usize;
        while i < tokens.len() {
            let t = &tokens[i];
            i += 1;
            match t {
                Tok::Punct('{' | '(' | '[') => depth += 1,
                Tok::Punct(')' | ']') => depth = depth.saturating_sub(1),
                Tok::Punct('}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                Tok::Punct(';') if depth == 0 => break,
                _ => {}
            }
        }
        let item = &tokens[start..i];
        if let Some(p) = item.iter().position(|t| *t == Tok::Ident("mod".into()))
            && let (Some(Tok::Ident(name)), Some(Tok::Punct(';'))) =
                (item.get(p + 1), item.get(p + 2))
        {
            test_children.push(name.clone());
        }
    }
    (out, test_children)
}

/// Every path that may name a module: the leaves of `use` trees and `a::b…` paths elsewhere
/// (from their first segment, `crate`, `super`, `self` or a plain name).
fn references(tokens: &[Tok]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Tok::Ident(kw) if kw == "use" => {
                i += 1;
                use_tree(tokens, &mut i, Vec::new(), &mut out);
            }
            Tok::Ident(first)
                if tokens.get(i + 1) == Some(&Tok::PathSep)
                    && (i == 0
                        || (tokens[i - 1] != Tok::PathSep
                            && tokens[i - 1] != Tok::Ident("in".into()))) =>
            {
                let mut path = vec![first.clone()];
                i += 1;
                while tokens.get(i) == Some(&Tok::PathSep) {
                    match tokens.get(i + 1) {
                        Some(Tok::Ident(seg)) => {
                            path.push(seg.clone());
                            i += 2;
                        }
                        _ => break,
                    }
                }
                out.push(path);
            }
            _ => i += 1,
        }
    }
    out
}

/// One `use` tree from `tokens[*i]` under `prefix`; pushes the path of each leaf.
fn use_tree(tokens: &[Tok], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    if tokens.get(*i) == Some(&Tok::PathSep) {
        path.push("::".into());
        *i += 1;
    }
    loop {
        match tokens.get(*i) {
            Some(Tok::Ident(seg)) => {
                path.push(seg.clone());
                *i += 1;
                if tokens.get(*i) == Some(&Tok::PathSep) {
                    *i += 1;
                    continue;
                }
                if tokens.get(*i) == Some(&Tok::Ident("as".into())) {
                    *i += 2;
                }
                out.push(path);
                return;
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                out.push(path);
                return;
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                while let Some(t) = tokens.get(*i) {
                    match t {
                        Tok::Punct('}') => {
                            *i += 1;
                            break;
                        }
                        Tok::Punct(',') => *i += 1,
                        _ => {
                            let before = *i;
                            use_tree(tokens, i, path.clone(), out);
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
                return;
            }
            _ => return,
        }
    }
}

/// The crate-absolute form of `path` used in `module`, `None` for a path outside the crate.
fn absolute(
    module: &[String],
    path: &[String],
    known: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    let mut base: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "self" => module.to_vec(),
        "super" => module.get(..module.len().checked_sub(1)?)?.to_vec(),
        name => {
            let mut child = module.to_vec();
            child.push(name.to_owned());
            if !known.contains(&child) {
                return None;
            }
            return Some(
                child
                    .into_iter()
                    .chain(rest.iter().filter(|s| *s != "self").cloned())
                    .collect(),
            );
        }
    };
    let mut rest = rest.iter().peekable();
    if first == "super" {
        while rest.peek().is_some_and(|s| *s == "super") {
            rest.next();
            base.pop()?;
        }
    }
    base.extend(rest.filter(|s| *s != "self").cloned());
    Some(base)
}

/// The longest prefix of `path` that is a module (empty: the crate root).
fn deepest_module(path: &[String], known: &BTreeSet<Vec<String>>) -> Vec<String> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| known.contains(p))
        .unwrap_or_default()
}

#[test]
fn server_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = Graph::read(&src).expect("read src/");
    graph.print();
    assert!(
        graph.modules.contains("http") && graph.modules.len() > 10,
        "the checker found the server's modules"
    );
    let cycles = graph.cycles();
    println!("cycles ({}):", cycles.len());
    for c in &cycles {
        println!("  {}", c.join(" <-> "));
    }
    assert!(cycles.is_empty(), "module cycles: {cycles:?}");
}

/// Writes `files` (path, contents) under a fresh temporary `src/`.
fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    for (path, text) in files {
        let file = src.join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(file, text).expect("write");
    }
    (dir, src)
}

#[test]
fn checker_sees_an_acyclic_tree_as_acyclic() {
    let (_dir, src) = tree(&[
        ("lib.rs", "mod a; mod b; pub use a::X;"),
        (
            "a.rs",
            "//! Uses [`crate::b`].\nmod child;\nuse crate::b::Thing;\nuse child::Inner;\n\
             pub struct X;\nconst S: &str = \"super::X\";",
        ),
        (
            "a/child.rs",
            "use super::super::b::{self, Thing as T};\npub(in crate::a) struct Inner;",
        ),
        (
            "b.rs",
            "/// See crate::a::X.\npub struct Thing;\n/* crate::a /* nested */ super::a */\n\
             fn f() -> &'static str { let _c = '\"'; let _q = '\\''; let _r = r#\"crate::a\"#; \
             let _b = b\"crate::a\"; \"crate::a::X\" }\n\
             #[cfg(test)]\nmod tests {\n    use crate::a::X;\n    fn g() { super::super::a::X; }\n}\n\
             #[cfg(test)]\nmod b_tests;",
        ),
        ("b/b_tests.rs", "use crate::a::X;"),
        ("b_more_tests.rs", "use crate::a::X;"),
    ]);
    let graph = Graph::read(&src).expect("read");
    let modules: Vec<&str> = graph.modules.iter().map(String::as_str).collect();
    assert_eq!(modules, ["a", "a::child", "b"], "test files are left out");
    let edges =
        |m: &str| -> Vec<String> { graph.edges.get(m).into_iter().flatten().cloned().collect() };
    assert_eq!(edges("a"), ["a::child", "b"]);
    assert_eq!(edges("a::child"), ["b"]);
    assert!(
        edges("b").is_empty(),
        "comments, literals and tests: {:?}",
        edges("b")
    );
    assert!(graph.cycles().is_empty());
}

#[test]
fn checker_finds_parent_child_and_sibling_cycles() {
    let (_dir, src) = tree(&[
        ("lib.rs", "mod p; mod q; mod r; mod s;"),
        // p ↔ p::c: the parent calls its child, the child uses the parent's item.
        ("p/mod.rs", "mod c;\npub struct T;\nfn f() { c::g() }"),
        ("p/c.rs", "use super::T;\npub fn g() {}"),
        // q → r (grouped use) → q (a path in code).
        ("q.rs", "use crate::{r::X, s};\npub fn y() {}"),
        ("r.rs", "pub struct X;\nfn x() { crate::q::y() }"),
        // s → p::c only: not in a cycle.
        ("s.rs", "fn z() { crate::p::c::g() }"),
    ]);
    let graph = Graph::read(&src).expect("read");
    assert_eq!(
        graph.cycles(),
        [vec!["p", "p::c"], vec!["q", "r"]],
        "graph: {graph:?}"
    );
    assert_eq!(
        graph
            .edges
            .get("s")
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
        ["p::c"]
    );
}
