//! Names: the camelCase alias rule, which tool each module export reaches,
//! TypeScript identifier checks and the allocation of unique type names.
//!
//! [`camel_case`] (from the `conventions` crate the guest also uses) and
//! [`module_exports`] mirror `serverModule` in
//! `guest-sdk/src/prelude.js`, which builds the object behind
//! `import("mcp://<server>")`. The declarations are only true while the two agree.

use std::collections::{HashMap, HashSet};

/// Words that cannot name a function or variable in a TypeScript module: the
/// ECMAScript reserved words, the strict-mode ones, and names that may not be
/// redeclared in module scope. They can still be *export* names
/// (`export { f as delete }`), only not bindings.
#[rustfmt::skip]
const RESERVED_BINDINGS: &[&str] = &[
    "arguments", "await", "break", "case", "catch", "class", "const", "continue", "debugger",
    "default", "delete", "do", "else", "enum", "eval", "export", "extends", "false", "finally",
    "for", "function", "globalThis", "if", "implements", "import", "in", "Infinity", "instanceof",
    "interface", "let", "NaN", "new", "null", "package", "private", "protected", "public",
    "return", "static", "super", "switch", "this", "throw", "true", "try", "typeof", "undefined",
    "var", "void", "while", "with", "yield",
];

/// Names a generated type may not take: TypeScript's predefined type keywords,
/// and the global types the generated declarations refer to, which a local
/// type of the same name would shadow.
#[rustfmt::skip]
const RESERVED_TYPE_NAMES: &[&str] = &[
    "any", "Array", "bigint", "boolean", "never", "null", "number", "object", "Promise", "Record",
    "string", "symbol", "undefined", "unknown", "void",
];

/// The camelCase alias rule, shared with the guest runtime.
pub use conventions::camel_case;

/// For each tool, in order, the names its server module exports it under:
/// its exact name, then its camelCase alias when that differs.
///
/// This replays the runtime: tools are added in list order, each under its
/// exact name (a later tool with the same exact name replaces an earlier one)
/// and then under its alias unless that name is already taken. So an exact
/// name always wins over an alias, and of two equal aliases the first tool
/// keeps it. A tool left with no name (a duplicate) gets an empty list.
pub(super) fn module_exports(tools: &[&str]) -> Vec<Vec<String>> {
    let mut owner: HashMap<String, usize> = HashMap::new();
    for (index, name) in tools.iter().enumerate() {
        owner.insert((*name).to_owned(), index);
        owner.entry(camel_case(name)).or_insert(index);
    }
    tools
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let alias = camel_case(name);
            let candidates = if alias == *name {
                vec![alias]
            } else {
                vec![(*name).to_owned(), alias]
            };
            candidates
                .into_iter()
                .filter(|candidate| owner.get(candidate) == Some(&index))
                .collect()
        })
        .collect()
}

/// Whether `name` is an ASCII IdentifierName: it may follow a `.` or be an
/// export or property name without quotes. Non-ASCII names are treated as
/// not, and quoted, which is always valid.
pub(super) fn is_identifier_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_' || first == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Whether `name` can be declared as `export function <name>` in a module.
pub(super) fn is_binding_identifier(name: &str) -> bool {
    is_identifier_name(name) && !RESERVED_BINDINGS.contains(&name)
}

/// `name` in PascalCase from its ASCII letters and digits: every run of other
/// characters separates words, and each word's first letter is upper-cased
/// (`get_tasks` → `GetTasks`, `TimeResult` → `TimeResult`). May be empty.
pub(super) fn pascal_case(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

/// Hands out names that are unique within one generated module, in one
/// namespace (types, or values).
#[derive(Debug)]
pub(super) struct NameAllocator {
    used: HashSet<String>,
}

impl NameAllocator {
    /// An allocator for type names, which avoids [`RESERVED_TYPE_NAMES`].
    pub(super) fn for_types() -> Self {
        Self {
            used: RESERVED_TYPE_NAMES
                .iter()
                .map(|name| (*name).to_owned())
                .collect(),
        }
    }

    /// An allocator for value names that avoids `taken` (the names declared
    /// with `export function`).
    pub(super) fn for_values<'a>(taken: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            used: taken.into_iter().map(str::to_owned).collect(),
        }
    }

    /// `base` made a valid identifier (`fallback` when nothing is left of it;
    /// `T` prepended before a leading digit), with `2`, `3`, … appended until
    /// it is unused. The result is then marked used.
    pub(super) fn allocate(&mut self, base: &str, fallback: &str) -> String {
        let mut stem: String = base
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
            .collect();
        if stem.is_empty() {
            stem = fallback.to_owned();
        }
        if stem.starts_with(|c: char| c.is_ascii_digit()) {
            stem.insert(0, 'T');
        }
        let mut name = stem.clone();
        let mut counter = 1;
        while self.used.contains(&name) {
            counter += 1;
            name = format!("{stem}{counter}");
        }
        self.used.insert(name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_replay_the_runtime_module() {
        let tools = [
            "get_tasks",
            "getTasks",
            "get-env",
            "get_env",
            "delete",
            "add",
            "add",
        ];
        let exports = module_exports(&tools);
        let expected: [&[&str]; 7] = [
            // its alias is another tool's exact name: that tool keeps it
            &["get_tasks"],
            &["getTasks"],
            // the first of two tools with the alias `getEnv` gets it
            &["get-env", "getEnv"],
            &["get_env"],
            &["delete"],
            // a later tool with the same exact name replaces an earlier one
            &[],
            &["add"],
        ];
        assert_eq!(
            exports,
            expected.map(|names| names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        );
    }

    #[test]
    fn identifiers_and_bindings() {
        assert!(is_identifier_name("getTasks") && is_binding_identifier("getTasks"));
        assert!(is_identifier_name("$x_1") && is_binding_identifier("$x_1"));
        assert!(is_identifier_name("delete") && !is_binding_identifier("delete"));
        assert!(is_identifier_name("new") && !is_binding_identifier("new"));
        for name in ["get-time", "a.b", "1st", "", "ünï", "a b"] {
            assert!(!is_identifier_name(name), "{name:?}");
        }
    }

    #[test]
    fn pascal_case_splits_on_non_alphanumerics() {
        assert_eq!(pascal_case("get_tasks"), "GetTasks");
        assert_eq!(pascal_case("get-time-zone"), "GetTimeZone");
        assert_eq!(pascal_case("TimeResult"), "TimeResult");
        assert_eq!(pascal_case("a/b c"), "ABC");
        assert_eq!(pascal_case("--"), "");
    }

    #[test]
    fn allocator_makes_unique_valid_names() {
        let mut types = NameAllocator::for_types();
        assert_eq!(types.allocate("TimeResult", "Type"), "TimeResult");
        assert_eq!(types.allocate("TimeResult", "Type"), "TimeResult2");
        assert_eq!(types.allocate("TimeResult", "Type"), "TimeResult3");
        assert_eq!(types.allocate("Promise", "Type"), "Promise2");
        assert_eq!(types.allocate("1stArgs", "Type"), "T1stArgs");
        assert_eq!(types.allocate("ü", "Type"), "Type");

        let mut values = NameAllocator::for_values(["__a"]);
        assert_eq!(values.allocate("__a", "__tool"), "__a2");
        assert_eq!(values.allocate("__a", "__tool"), "__a3");
    }
}
