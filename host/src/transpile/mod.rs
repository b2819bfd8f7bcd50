//! TypeScript to the JavaScript the guest runs.
//!
//! A submission is the body of an async function: top-level `await` works and
//! `return` sets the result. This module turns it into JavaScript with the same
//! line and column positions, so errors the guest reports point at the user's
//! lines:
//!
//! 1. `import` forms become calls of the guest's import hook, line for line:
//!    `import * as tm from "mcp://task-master"` becomes
//!    `const tm = await __mcr_import("mcp://task-master")`, and `import(x)`
//!    becomes `__mcr_import(x)`.
//! 2. Types are erased by `swc_ts_fast_strip`, which blanks them out in place.
//!    TypeScript that has runtime meaning (`enum`, `namespace`, parameter
//!    properties) cannot be blanked; such programs are transformed instead, and
//!    their positions are then only approximate.
//!
//! Before either step, [`nesting::estimate`] bounds how deeply the program
//! nests: past [`MAX_NESTING`] levels it is a syntax error, and a program that
//! nests deeper than a worker thread's stack can parse safely is parsed on a
//! thread of its own with a stack sized for [`MAX_NESTING`]. No input can
//! overflow a stack of the host.
//!
//! A skill is a module instead ([`module_to_javascript`]): the same steps,
//! with its `export`s kept and no wrapper, so its positions are its own.
//!
//! It owns no state and does no I/O.

mod nesting;

use std::sync::{Arc, Mutex};

use swc_common::errors::{DiagnosticBuilder, Emitter, Handler};
use swc_common::sync::Lrc;
use swc_common::{BytePos, FileName, GLOBALS, Globals, SourceMap, Span, Spanned};
use swc_ecma_ast::{
    Callee, EsVersion, ImportDecl, ImportSpecifier, ModuleDecl, ModuleExportName, ModuleItem,
};
use swc_ecma_parser::{Parser, StringInput, Syntax, TsSyntax, lexer::Lexer};
use swc_ecma_visit::{Visit, VisitWith};
use swc_ts_fast_strip::{ErrorCode, Mode, Options, TransformConfig};

/// The name of the import hook, a parameter of the guest's wrapper function.
const IMPORT_HOOK: &str = "__mcr_import";
/// The program is parsed as the body of this function. It stays on line 1 so
/// that only columns of the first line shift, and those are corrected.
const WRAPPER_OPEN: &str = "async function __mcr_main(__mcr_import) {";
const WRAPPER_CLOSE: &str = "\n}";

/// Why a program could not be turned into JavaScript.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (line {line}, column {column})")]
pub struct SyntaxError {
    pub message: String,
    /// 1-based line in the submitted source.
    pub line: u32,
    /// 1-based column in the submitted source.
    pub column: u32,
}

/// The deepest nesting a program may have: far beyond what people and
/// models write, well within what the parsers handle on [`DEEP_STACK_BYTES`].
pub const MAX_NESTING: usize = 500;
/// Programs that nest at most this deep are parsed on the calling thread,
/// whose stack may be as small as a tokio worker's 2 MiB.
const INLINE_NESTING: usize = 48;
/// The stack of the thread that parses deeper programs. The parsers take a
/// few KiB per level; only the pages a parse touches are ever resident.
const DEEP_STACK_BYTES: usize = 64 << 20;

/// What the source is: a program's body, or a skill's module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The body of an async function (`return` and top-level `await`).
    Body,
    /// An ES module with `export`s (a skill).
    Module,
}

/// Turns a TypeScript program body into the JavaScript body the guest runs.
/// A deep program is parsed on a thread of its own, which this call blocks on.
pub fn to_javascript(source: &str) -> Result<String, SyntaxError> {
    transpile_as(source, Shape::Body)
}

/// Turns a skill's TypeScript module into the JavaScript module the guest
/// compiles: imports become awaited calls of the guest's import hook, types
/// are erased, exports stay.
pub fn module_to_javascript(source: &str) -> Result<String, SyntaxError> {
    transpile_as(source, Shape::Module)
}

fn transpile_as(source: &str, shape: Shape) -> Result<String, SyntaxError> {
    on_parser_stack(source, |source| transpile(source, shape))?
}

/// Runs `parse` (any recursive parse of `source`) where it cannot overflow
/// a stack: refuses a source that nests past [`MAX_NESTING`], and runs a
/// deep one on a thread with a stack sized for that, which this call blocks on.
pub fn on_parser_stack<T: Send>(source: &str, parse: impl FnOnce(&str) -> T + Send) -> Result<T, SyntaxError> {
    let depth = nesting::estimate(source, MAX_NESTING).map_err(|too_deep| too_deep_error(source, too_deep))?;
    if depth <= INLINE_NESTING {
        return Ok(parse(source));
    }
    let parsed = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("transpile-deep".into())
            .stack_size(DEEP_STACK_BYTES)
            .spawn_scoped(scope, || parse(source))
            .map(|parser| parser.join())
    });
    match parsed {
        Ok(Ok(parsed)) => Ok(parsed),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(error) => Err(SyntaxError { message: format!("cannot start a thread to parse the program: {error}"), line: 1, column: 1 }),
    }
}

fn transpile(source: &str, shape: Shape) -> Result<String, SyntaxError> {
    let rewritten = rewrite_imports(source);
    GLOBALS.set(&Globals::new(), || match shape {
        Shape::Body => strip_types(&rewritten),
        Shape::Module => strip_module_types(&rewritten),
    })
}

fn too_deep_error(source: &str, too_deep: nesting::TooDeep) -> SyntaxError {
    let before = &source.as_bytes()[..too_deep.offset.min(source.len())];
    let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&byte| byte == b'\n').map_or(0, |newline| newline + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    SyntaxError {
        message: format!(
            "the program nests more than {MAX_NESTING} levels deep (brackets, operators and statements \
             inside one another): split it into functions or flatter expressions"
        ),
        line: line as u32,
        column: column as u32,
    }
}

// ---- imports --------------------------------------------------------------

/// One replacement of a byte range of the source.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// A program body's static `import`s as awaited `import()` calls, line for
/// line, so the body can become the body of a function (a saved skill).
pub fn imports_as_dynamic(source: &str) -> String {
    rewrite_imports_to(source, "import")
}

fn rewrite_imports(source: &str) -> String {
    rewrite_imports_to(source, IMPORT_HOOK)
}

/// Rewrites every `import` form to a call of `hook`.
fn rewrite_imports_to(source: &str, hook: &str) -> String {
    if !source.contains("import") {
        return source.to_owned();
    }
    let map: Lrc<SourceMap> = Default::default();
    let file = map.new_source_file(FileName::Anon.into(), source.to_owned());
    let lexer = Lexer::new(
        Syntax::Typescript(TsSyntax::default()),
        EsVersion::latest(),
        StringInput::from(&*file),
        None,
    );
    let mut parser = Parser::new_from(lexer);
    // A top-level `return` is a recoverable error here; any real syntax error
    // is reported with its position by the type-stripping step.
    let Ok(module) = parser.parse_module() else {
        return source.to_owned();
    };
    let base = file.start_pos;
    let mut edits: Vec<Edit> = module
        .body
        .iter()
        .filter_map(|item| match item {
            ModuleItem::ModuleDecl(ModuleDecl::Import(import)) => Some(static_import_edit(source, base, import, hook)),
            _ => None,
        })
        .collect();
    let mut dynamic = DynamicImports::default();
    module.visit_with(&mut dynamic);
    edits.extend(dynamic.0.into_iter().map(|span| Edit {
        start: offset(base, span.lo),
        end: offset(base, span.hi),
        text: hook.to_owned(),
    }));
    apply(source, edits)
}

fn offset(base: BytePos, position: BytePos) -> usize {
    (position.0 - base.0) as usize
}

fn apply(source: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|edit| edit.start);
    let mut out = String::with_capacity(source.len() + 64);
    let mut copied = 0;
    for edit in edits {
        out.push_str(&source[copied..edit.start]);
        out.push_str(&edit.text);
        copied = edit.end;
    }
    out.push_str(&source[copied..]);
    out
}

/// `import ... from "spec"` as a statement awaiting the import hook, keeping
/// the statement's line count.
fn static_import_edit(source: &str, base: BytePos, import: &ImportDecl, hook: &str) -> Edit {
    let (start, end) = (offset(base, import.span.lo), offset(base, import.span.hi));
    let newlines = source[start..end].matches('\n').count();
    let statement = if import.type_only { String::new() } else { import_statement(import, hook) };
    Edit { start, end, text: statement + &"\n".repeat(newlines) }
}

fn import_statement(import: &ImportDecl, hook: &str) -> String {
    let specifier = serde_json::to_string(&*import.src.value.to_string_lossy()).unwrap_or_default();
    let module = format!("await {hook}({specifier})");
    let mut namespace = None;
    let mut fields = Vec::new();
    for specifier in &import.specifiers {
        match specifier {
            ImportSpecifier::Namespace(ns) => namespace = Some(ns.local.sym.to_string()),
            ImportSpecifier::Default(default) => fields.push(format!("default: {}", default.local.sym)),
            ImportSpecifier::Named(named) if !named.is_type_only => fields.push(named_field(named)),
            ImportSpecifier::Named(_) => {}
        }
    }
    match (namespace, fields.is_empty()) {
        (None, true) => format!("{module};"),
        (None, false) => format!("const {{ {} }} = {module};", fields.join(", ")),
        (Some(ns), true) => format!("const {ns} = {module};"),
        (Some(ns), false) => format!("const {ns} = {module}, {{ {} }} = {ns};", fields.join(", ")),
    }
}

fn named_field(named: &swc_ecma_ast::ImportNamedSpecifier) -> String {
    let local = named.local.sym.to_string();
    match &named.imported {
        None => local,
        Some(ModuleExportName::Ident(ident)) => format!("{}: {local}", ident.sym),
        Some(ModuleExportName::Str(name)) => {
            let key = serde_json::to_string(&*name.value.to_string_lossy()).unwrap_or_default();
            format!("{key}: {local}")
        }
    }
}

/// The spans of the `import` keyword of every `import(...)` call.
#[derive(Default)]
struct DynamicImports(Vec<Span>);

impl Visit for DynamicImports {
    fn visit_callee(&mut self, callee: &Callee) {
        if let Callee::Import(import) = callee {
            self.0.push(import.span());
        }
        callee.visit_children_with(self);
    }
}

// ---- types ------------------------------------------------------------------

fn strip_types(body: &str) -> Result<String, SyntaxError> {
    let wrapped = format!("{WRAPPER_OPEN}{body}{WRAPPER_CLOSE}");
    match run_fast_strip(&wrapped, Mode::StripOnly, Shape::Body) {
        Ok(code) => Ok(unwrap_body(&code).to_owned()),
        Err(Failure::Unsupported) => {
            // The transformed function declaration is called from the body the
            // guest wraps, which passes the import hook down.
            let code = run_fast_strip(&wrapped, Mode::Transform, Shape::Body).map_err(Failure::into_syntax_error)?;
            Ok(format!("{code}\nreturn await __mcr_main({IMPORT_HOOK});"))
        }
        Err(failure) => Err(failure.into_syntax_error()),
    }
}

fn strip_module_types(module: &str) -> Result<String, SyntaxError> {
    match run_fast_strip(module, Mode::StripOnly, Shape::Module) {
        Err(Failure::Unsupported) => run_fast_strip(module, Mode::Transform, Shape::Module).map_err(Failure::into_syntax_error),
        stripped => stripped.map_err(Failure::into_syntax_error),
    }
}

/// Strip-only output keeps every byte outside types, so the wrapper is intact.
fn unwrap_body(code: &str) -> &str {
    &code[WRAPPER_OPEN.len()..code.len() - WRAPPER_CLOSE.len()]
}

enum Failure {
    Syntax(SyntaxError),
    Unsupported,
}

impl Failure {
    fn into_syntax_error(self) -> SyntaxError {
        match self {
            Failure::Syntax(error) => error,
            Failure::Unsupported => SyntaxError {
                message: "unsupported TypeScript syntax".into(),
                line: 1,
                column: 1,
            },
        }
    }
}

fn run_fast_strip(wrapped: &str, mode: Mode, shape: Shape) -> Result<String, Failure> {
    let map: Lrc<SourceMap> = Default::default();
    let diagnostics = Diagnostics::default();
    let handler = Handler::with_emitter(false, false, Box::new(diagnostics.clone()));
    let transform = matches!(mode, Mode::Transform).then(TransformConfig::default);
    let options = Options {
        module: Some(shape == Shape::Module),
        filename: Some(conventions::PROGRAM_FILE.into()),
        mode,
        transform,
        ..Default::default()
    };
    match swc_ts_fast_strip::operate(&map, &handler, wrapped.to_owned(), options) {
        Ok(output) => Ok(output.code),
        Err(error) if matches!(error.code, ErrorCode::UnsupportedSyntax) => Err(Failure::Unsupported),
        Err(error) => Err(Failure::Syntax(diagnostics.first_error(&map, shape).unwrap_or(SyntaxError {
            message: error.message,
            line: 1,
            column: 1,
        }))),
    }
}

/// Collects what the parser reports, with positions in the submitted source.
#[derive(Clone, Default)]
struct Diagnostics(Arc<Mutex<Vec<(String, Option<Span>)>>>);

impl Emitter for Diagnostics {
    fn emit(&mut self, diagnostic: &mut DiagnosticBuilder<'_>) {
        let entry = (diagnostic.message(), diagnostic.span.primary_span());
        self.0.lock().expect("diagnostics lock").push(entry);
    }
}

impl Diagnostics {
    fn first_error(&self, map: &SourceMap, shape: Shape) -> Option<SyntaxError> {
        let diagnostics = self.0.lock().expect("diagnostics lock");
        let (message, span) = diagnostics.first()?;
        let (line, column) = match span {
            Some(span) => source_position(map, span.lo, shape),
            None => (1, 1),
        };
        Some(SyntaxError { message: message.clone(), line, column })
    }
}

/// The 1-based line and column in the submitted source of a position in the
/// wrapped program (or in the module, which is not wrapped).
fn source_position(map: &SourceMap, position: BytePos, shape: Shape) -> (u32, u32) {
    let location = map.lookup_char_pos(position);
    let line = location.line as u32;
    let mut column = location.col.0 as u32 + 1;
    if line == 1 && shape == Shape::Body {
        column = column.saturating_sub(WRAPPER_OPEN.len() as u32).max(1);
    }
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_erased_in_place() {
        let js = to_javascript("interface A { x: number }\nconst a: A = { x: 1 } satisfies A;\nreturn a.x as number;").unwrap();
        assert!(js.contains("const a    = { x: 1 }"), "{js}");
        assert_eq!(js.lines().count(), 3);
        assert!(!js.contains("satisfies"));
    }

    #[test]
    fn top_level_return_and_await_are_accepted() {
        let js = to_javascript("const x = await Promise.resolve(1);\nreturn x;").unwrap();
        assert_eq!(js, "const x = await Promise.resolve(1);\nreturn x;");
    }

    #[test]
    fn syntax_error_points_at_the_users_line_and_column() {
        let error = to_javascript("const a = 1;\nconst b = ;\n").unwrap_err();
        assert_eq!((error.line, error.column), (2, 11), "{error}");
    }

    #[test]
    fn syntax_error_on_the_first_line_has_the_users_column() {
        let error = to_javascript("return );").unwrap_err();
        assert_eq!((error.line, error.column), (1, 8), "{error}");
    }

    #[test]
    fn enum_is_transformed() {
        let js = to_javascript("enum Color { Red, Green }\nreturn Color.Green;").unwrap();
        assert!(js.contains("return await __mcr_main(__mcr_import);"), "{js}");
        assert!(!js.contains("enum "), "{js}");
    }

    #[test]
    fn static_imports_become_hook_calls_line_for_line() {
        let source = "import * as tm from \"mcp://task-master\";\nimport { getTasks, add_task as add } from 'mcp://task-master';\nimport type { T } from \"mcp://x\";\nimport def, * as ns from \"mcp://y\";\nreturn 1;";
        let js = rewrite_imports(source);
        let lines: Vec<&str> = js.lines().collect();
        assert_eq!(lines[0], "const tm = await __mcr_import(\"mcp://task-master\");");
        assert_eq!(lines[1], "const { getTasks, add_task: add } = await __mcr_import(\"mcp://task-master\");");
        assert_eq!(lines[2], "");
        assert_eq!(lines[3], "const ns = await __mcr_import(\"mcp://y\"), { default: def } = ns;");
        assert_eq!(lines[4], "return 1;");
    }

    #[test]
    fn multi_line_import_keeps_line_count() {
        let source = "import {\n  a,\n  b,\n} from \"mcp://s\";\nreturn a;";
        let js = rewrite_imports(source);
        assert_eq!(js.lines().count(), source.lines().count());
        assert!(js.ends_with("return a;"));
    }

    #[test]
    fn dynamic_import_calls_the_hook() {
        let js = to_javascript("const m = await import(\"mcp://memory\");\nreturn m;").unwrap();
        assert_eq!(js, "const m = await __mcr_import(\"mcp://memory\");\nreturn m;");
    }

    /// Runs `to_javascript` on a thread with a tokio worker's stack, where
    /// the deep programs of issue 8 aborted the host.
    fn on_worker_stack(source: String) -> Result<String, SyntaxError> {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || to_javascript(&source))
            .unwrap()
            .join()
            .expect("transpiling must not crash the thread")
    }

    #[test]
    fn issue_8_deep_programs_are_syntax_errors_not_crashes() {
        let n = 3000;
        let sources = [
            format!("return {}0{};", "(".repeat(n), ")".repeat(n)),
            format!("return {}0{};", "[".repeat(n), "]".repeat(n)),
            format!("return {}{};", "{a:".repeat(n), "}".repeat(n)),
            format!("return {}0{};", "`${".repeat(n), "}`".repeat(n)),
            format!("return {}0;", "() => ".repeat(n)),
            format!("{}return 1;{}", "if (x) {".repeat(n), "}".repeat(n)),
            format!("return {}x;", "!".repeat(n * 100)),
            format!("x = {}1;", "x = ".repeat(n * 10)),
            format!("return {}0;", "a ? b : ".repeat(n * 10)),
        ];
        for source in sources {
            let error = on_worker_stack(source.clone()).unwrap_err();
            assert!(error.message.contains("levels deep"), "{error} for {}", &source[..40]);
        }
    }

    #[test]
    fn programs_nested_up_to_the_limit_parse_on_a_small_stack() {
        let n = MAX_NESTING - 10;
        let sources = [
            format!("return {}0{};", "(".repeat(n), ")".repeat(n)),
            format!("return {}0{};", "[".repeat(n), "]".repeat(n)),
            format!("return {}0;", "x => ".repeat(n / 2)),
            format!("return {}x;", "!".repeat(n)),
            format!("return {}0;", "a ? b : ".repeat(n / 2)),
            format!("{}return 1;{}", "if (x) {".repeat(n / 2), "}".repeat(n / 2)),
            format!("let v: {}number{} = 1; return v;", "Array<".repeat(n / 2), ">".repeat(n / 2)),
        ];
        for source in sources {
            on_worker_stack(source).expect("a program within the limit transpiles");
        }
    }

    #[test]
    fn a_module_keeps_its_exports_and_positions() {
        let source = "import helper from \"skills/other\";\nexport const meta = { name: \"x\" } as const;\nexport default async function x(input: { n: number }): Promise<number> {\n  return helper(input) + 1;\n}";
        let js = module_to_javascript(source).unwrap();
        let lines: Vec<&str> = js.lines().collect();
        assert_eq!(lines[0], "const { default: helper } = await __mcr_import(\"skills/other\");");
        assert!(lines[1].starts_with("export const meta = { name: \"x\" }"), "{js}");
        assert!(lines[2].starts_with("export default async function x(input"), "{js}");
        assert!(!js.contains("number"), "{js}");
        let error = module_to_javascript("export const a = 1;\nexport default = ;").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
    }

    #[test]
    fn the_word_import_in_a_string_is_left_alone() {
        let source = "const s = \"import x from 'y'\";\nreturn s;";
        assert_eq!(to_javascript(source).unwrap(), source);
    }
}
