//! The layering rules of `src/`, read from the code's own imports: routes
//! are composed by `server.rs` alone, and the top-level modules depend on
//! each other without a cycle (the composition root — `main`, `lib`,
//! `server`, `state` — may reach everything and is left out).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

const COMPOSITION_ROOT: [&str; 4] = ["main", "lib", "server", "state"];

/// Every `.rs` file under `src/`, with its text.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, files: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path, text));
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .map(|(path, text)| (path.strip_prefix(&src).unwrap().to_path_buf(), text))
        .collect()
}

/// The code of a file without comments (doc comments name modules freely).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file belongs to: `pay/routes.rs` → `pay`, `db.rs` → `db`.
fn top_module(path: &Path) -> String {
    let first = path
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn only_server_rs_imports_a_routes_module() {
    let import = Regex::new(r"\b(crate|super|self)(::\w+)*::routes\b|\buse\s+routes\b").unwrap();
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        if path == Path::new("server.rs") {
            continue;
        }
        for (number, line) in code(&text).lines().enumerate() {
            if import.is_match(line) {
                offenders.push(format!(
                    "src/{}:{}: {}",
                    path.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes modules are composed by server.rs only:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn top_level_modules_depend_on_each_other_without_a_cycle() {
    let reference = Regex::new(r"\bcrate::(\w+)").unwrap();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources() {
        let from = top_module(&path);
        if COMPOSITION_ROOT.contains(&from.as_str()) {
            continue;
        }
        let edges = graph.entry(from.clone()).or_default();
        for captures in reference.captures_iter(&code(&text)) {
            let to = captures[1].to_string();
            if to != from && !COMPOSITION_ROOT.contains(&to.as_str()) {
                edges.insert(to);
            }
        }
    }
    assert!(graph.len() > 10, "read too few modules: {graph:?}");

    // Depth-first search; a node met again while on the path closes a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("top-level modules form a cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn no_source_file_is_over_700_lines_and_at_most_three_over_500() {
    let sizes: Vec<(PathBuf, usize)> = sources()
        .into_iter()
        .map(|(path, text)| (path, text.lines().count()))
        .collect();
    let over_700: Vec<_> = sizes.iter().filter(|(_, n)| *n > 700).collect();
    assert!(over_700.is_empty(), "files over 700 lines: {over_700:?}");
    let over_500: Vec<_> = sizes.iter().filter(|(_, n)| *n > 500).collect();
    assert!(
        over_500.len() <= 3,
        "more than three files over 500 lines: {over_500:?}"
    );
}

#[test]
fn routes_take_query_path_and_multipart_from_http_so_rejections_are_envelopes() {
    let direct =
        Regex::new(r"axum::extract::(\{[^}]*\b(Query|Path|Multipart)\b|(Query|Path|Multipart)\b)")
            .unwrap();
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        // The wrappers themselves, and the fakes of WeChat (not our API).
        if path == Path::new("http/extract.rs") || path.starts_with("dev") {
            continue;
        }
        for (number, line) in code(&text).lines().enumerate() {
            if direct.is_match(line) {
                offenders.push(format!(
                    "src/{}:{}: {}",
                    path.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "use crate::http::{{Query, Path, Multipart}} instead:\n{}",
        offenders.join("\n")
    );
}
