//! A skill's `meta`, read from its TypeScript source without running it.
//!
//! A skill file exports `const meta = { name, description, servers, input,
//! examples, ... }` and an async function as its default export. [`read_meta`]
//! parses the source with swc, finds `export const meta`, turns its value into
//! JSON statically (only literals: objects, arrays, strings, template literals
//! without substitutions, numbers, booleans and `null`), and checks every
//! field. Every error has the 1-based line and column of what is wrong.
//!
//! It never runs skill code, compiles nothing and does no I/O; it owns no
//! state. The source should be within [`transpile::MAX_NESTING`] levels of
//! nesting (the skill's compilation checks that): the parser recurses once
//! per level.
//!
//! [`transpile::MAX_NESTING`]: crate::transpile::MAX_NESTING

use std::collections::HashSet;

use serde_json::{Map, Value};
use swc_common::sync::Lrc;
use swc_common::{DUMMY_SP, FileName, SourceFile, SourceMap, Span, Spanned};
use swc_ecma_ast::{
    ArrayLit, Decl, DefaultDecl, EsVersion, ExportDecl, ExportSpecifier, Expr, Lit, Module, ModuleDecl,
    ModuleExportName, ModuleItem, ObjectLit, Pat, Prop, PropName, PropOrSpread, Str, Tpl, UnaryExpr, UnaryOp,
    VarDeclKind, VarDeclarator,
};
use swc_ecma_parser::{Parser, StringInput, Syntax, TsSyntax, lexer::Lexer};

use crate::transpile::MAX_NESTING;

/// The longest skill name, in characters.
pub const MAX_SKILL_NAME_CHARS: usize = 64;
/// The longest server name a skill may declare, in characters.
const MAX_SERVER_NAME_CHARS: usize = 64;

/// The fields `meta` may have, in the order documentation lists them.
const FIELDS: [&str; 8] = ["name", "title", "description", "servers", "input", "output", "tokenReduction", "examples"];

/// What a skill declares about itself.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillMeta {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub description: String,
    /// The servers the skill may call: its grant, before policy narrows it.
    pub servers: Vec<String>,
    /// The JSON Schema of its argument, an object schema.
    pub input: Map<String, Value>,
    /// The JSON Schema of its result, an object schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_reduction: Option<String>,
    /// Example calls, as code.
    pub examples: Vec<String>,
}

/// Why a skill's source has no valid `meta`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (line {line}, column {column})")]
pub struct MetaError {
    pub message: String,
    /// 1-based line in the source.
    pub line: u32,
    /// 1-based column in the source.
    pub column: u32,
}

/// Reads and checks the `meta` of the skill `name` (its file stem or saved
/// name) from its TypeScript `source`, and checks that the source has a
/// default export.
pub fn read_meta(name: &str, source: &str) -> Result<SkillMeta, MetaError> {
    let (map, module) = parse(source);
    module.and_then(|module| read_module(name, &module)).map_err(|error| error.into_meta_error(&map))
}

/// The module `source` parses to, if it parses without errors: for callers
/// that look at its structure (what it exports), not at positions.
pub(super) fn parse_module(source: &str) -> Option<Module> {
    parse(source).1.ok()
}

/// Whether the module has a default export: `export default ...` (not an
/// interface) or `export { x as default }`.
pub(super) fn has_default_export(module: &Module) -> bool {
    module.body.iter().any(exports_default)
}

/// Whether the module exports something named `meta` (`export const meta`).
pub(super) fn has_meta_export(module: &Module) -> bool {
    module.body.iter().any(|item| meta_declarator(item).is_some())
}

/// A skill name: kebab-case (`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`), at most
/// [`MAX_SKILL_NAME_CHARS`] characters.
pub fn is_skill_name(name: &str) -> bool {
    name.len() <= MAX_SKILL_NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// A server name a skill may declare: `^[A-Za-z0-9][A-Za-z0-9._-]*$`, at
/// most 64 characters.
pub fn is_server_name(name: &str) -> bool {
    name.len() <= MAX_SERVER_NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

// ---- errors -------------------------------------------------------------------

/// An error at a span of the source; the dummy span stands for line 1, column 1.
struct Located {
    message: String,
    span: Span,
}

impl Located {
    fn new(span: Span, message: impl Into<String>) -> Self {
        Located { message: message.into(), span }
    }

    fn at_start(message: impl Into<String>) -> Self {
        Located::new(DUMMY_SP, message)
    }

    fn not_literal(span: Span, what: &str) -> Self {
        Located::new(span, format!("meta must be a literal (JSON-like) value: {what} is not"))
    }

    fn into_meta_error(self, map: &SourceMap) -> MetaError {
        let (line, column) = if self.span.is_dummy() {
            (1, 1)
        } else {
            let location = map.lookup_char_pos(self.span.lo);
            (location.line as u32, location.col.0 as u32 + 1)
        };
        MetaError { message: self.message, line, column }
    }
}

// ---- the module -----------------------------------------------------------------

/// The parsed module, with the map its spans point into. Errors the parser
/// recovers from (such as a top-level `return`) are errors too.
fn parse(source: &str) -> (Lrc<SourceMap>, Result<Module, Located>) {
    let map: Lrc<SourceMap> = Default::default();
    let file = map.new_source_file(FileName::Anon.into(), source.to_owned());
    let module = parse_file(&file);
    (map, module)
}

fn parse_file(file: &SourceFile) -> Result<Module, Located> {
    let lexer = Lexer::new(Syntax::Typescript(TsSyntax::default()), EsVersion::latest(), StringInput::from(file), None);
    let mut parser = Parser::new_from(lexer);
    let parse_error = |error: swc_ecma_parser::error::Error| Located::new(error.span(), error.kind().msg());
    let module = parser.parse_module().map_err(parse_error)?;
    match parser.take_errors().into_iter().next() {
        Some(error) => Err(parse_error(error)),
        None => Ok(module),
    }
}

fn read_module(name: &str, module: &Module) -> Result<SkillMeta, Located> {
    let meta = meta_object(module)?;
    let skill = Fields::collect(meta)?.into_skill_meta(name)?;
    if !has_default_export(module) {
        return Err(Located::at_start("the skill has no default export: export its async function as default"));
    }
    Ok(skill)
}

/// The object literal of `export const meta = {...}`.
fn meta_object(module: &Module) -> Result<&ObjectLit, Located> {
    let (kind, declarator) = module
        .body
        .iter()
        .find_map(meta_declarator)
        .ok_or_else(|| Located::at_start("the skill has no `export const meta = {...}`"))?;
    if kind != VarDeclKind::Const {
        return Err(Located::new(
            declarator.span,
            format!("meta must be declared with `export const`, not `export {kind}`"),
        ));
    }
    let init = declarator.init.as_deref().ok_or_else(|| Located::new(declarator.span, "meta has no value"))?;
    match without_wrappers(init) {
        Expr::Object(object) => Ok(object),
        other => Err(Located::new(
            other.span(),
            format!("meta must be an object literal `{{...}}`, not {}", describe(other)),
        )),
    }
}

/// The declarator named `meta` of an exported variable declaration.
fn meta_declarator(item: &ModuleItem) -> Option<(VarDeclKind, &VarDeclarator)> {
    let ModuleItem::ModuleDecl(ModuleDecl::ExportDecl(ExportDecl { decl: Decl::Var(var), .. })) = item else {
        return None;
    };
    let is_meta =
        |declarator: &&VarDeclarator| matches!(&declarator.name, Pat::Ident(binding) if &*binding.id.sym == "meta");
    var.decls.iter().find(is_meta).map(|declarator| (var.kind, declarator))
}

fn exports_default(item: &ModuleItem) -> bool {
    match item {
        ModuleItem::ModuleDecl(ModuleDecl::ExportDefaultDecl(export)) => {
            !matches!(export.decl, DefaultDecl::TsInterfaceDecl(_))
        }
        ModuleItem::ModuleDecl(ModuleDecl::ExportDefaultExpr(_)) => true,
        ModuleItem::ModuleDecl(ModuleDecl::ExportNamed(export)) => {
            !export.type_only && export.specifiers.iter().any(specifier_exports_default)
        }
        _ => false,
    }
}

fn specifier_exports_default(specifier: &ExportSpecifier) -> bool {
    let is_default = |name: &ModuleExportName| &**name.atom() == "default";
    match specifier {
        ExportSpecifier::Named(named) => {
            !named.is_type_only && is_default(named.exported.as_ref().unwrap_or(&named.orig))
        }
        ExportSpecifier::Namespace(namespace) => is_default(&namespace.name),
        ExportSpecifier::Default(_) => true,
    }
}

// ---- literals to JSON -------------------------------------------------------------

/// The expression inside `as T`, `satisfies T`, `as const`, `<T>` and parentheses.
fn without_wrappers(mut expr: &Expr) -> &Expr {
    loop {
        expr = match expr {
            Expr::TsAs(inner) => &inner.expr,
            Expr::TsSatisfies(inner) => &inner.expr,
            Expr::TsConstAssertion(inner) => &inner.expr,
            Expr::TsTypeAssertion(inner) => &inner.expr,
            Expr::Paren(inner) => &inner.expr,
            _ => return expr,
        };
    }
}

/// One `key: value` of an object literal.
struct Entry<'a> {
    key: String,
    key_span: Span,
    value: &'a Expr,
}

/// The properties of an object literal, which must all be `key: value` with
/// literal, distinct keys.
fn entries(object: &ObjectLit) -> Result<Vec<Entry<'_>>, Located> {
    let mut seen = HashSet::new();
    let mut entries = Vec::with_capacity(object.props.len());
    for prop in &object.props {
        let entry = entry(prop)?;
        if !seen.insert(entry.key.clone()) {
            return Err(Located::new(entry.key_span, format!("duplicate key `{}` in meta", entry.key)));
        }
        entries.push(entry);
    }
    Ok(entries)
}

fn entry(prop: &PropOrSpread) -> Result<Entry<'_>, Located> {
    let prop = match prop {
        PropOrSpread::Prop(prop) => prop,
        PropOrSpread::Spread(spread) => return Err(Located::not_literal(spread.dot3_token, "a spread `...`")),
    };
    match &**prop {
        Prop::KeyValue(property) => {
            Ok(Entry { key: key(&property.key)?, key_span: property.key.span(), value: &property.value })
        }
        Prop::Shorthand(ident) => {
            Err(Located::not_literal(ident.span, &format!("the shorthand property `{}`", ident.sym)))
        }
        Prop::Getter(getter) => Err(Located::not_literal(getter.span, "a getter")),
        Prop::Setter(setter) => Err(Located::not_literal(setter.span, "a setter")),
        Prop::Method(method) => Err(Located::not_literal(method.key.span(), "a method")),
        Prop::Assign(assign) => Err(Located::not_literal(assign.span, "a default assignment")),
    }
}

fn key(name: &PropName) -> Result<String, Located> {
    match name {
        PropName::Ident(ident) => Ok(ident.sym.to_string()),
        PropName::Str(string) => text(string),
        PropName::Num(number) => Ok(number.value.to_string()),
        PropName::Computed(computed) => Err(Located::not_literal(computed.span, "a computed key `[...]`")),
        PropName::BigInt(bigint) => Err(Located::not_literal(bigint.span, "a bigint key")),
    }
}

/// The JSON value of a literal expression `depth` levels inside `meta`.
fn to_json(expr: &Expr, depth: usize) -> Result<Value, Located> {
    if depth > MAX_NESTING {
        return Err(Located::new(expr.span(), format!("meta nests more than {MAX_NESTING} levels deep")));
    }
    match without_wrappers(expr) {
        Expr::Object(object) => object_to_json(object, depth),
        Expr::Array(array) => array_to_json(array, depth),
        Expr::Lit(Lit::Str(string)) => text(string).map(Value::String),
        Expr::Lit(Lit::Num(number)) => json_number(number.value, number.span),
        Expr::Lit(Lit::Bool(boolean)) => Ok(Value::Bool(boolean.value)),
        Expr::Lit(Lit::Null(_)) => Ok(Value::Null),
        Expr::Tpl(template) => template_text(template).map(Value::String),
        Expr::Unary(unary) => negative_number(unary),
        other => Err(Located::not_literal(other.span(), &describe(other))),
    }
}

fn object_to_json(object: &ObjectLit, depth: usize) -> Result<Value, Located> {
    let mut map = Map::new();
    for entry in entries(object)? {
        map.insert(entry.key, to_json(entry.value, depth + 1)?);
    }
    Ok(Value::Object(map))
}

fn array_to_json(array: &ArrayLit, depth: usize) -> Result<Value, Located> {
    let mut items = Vec::with_capacity(array.elems.len());
    for element in &array.elems {
        match element {
            None => return Err(Located::not_literal(array.span, "an array with a hole `[a, , b]`")),
            Some(element) if element.spread.is_some() => {
                return Err(Located::not_literal(element.span(), "a spread `...`"));
            }
            Some(element) => items.push(to_json(&element.expr, depth + 1)?),
        }
    }
    Ok(Value::Array(items))
}

fn text(string: &Str) -> Result<String, Located> {
    string.value.as_str().map(str::to_owned).ok_or_else(|| unpaired_surrogate(string.span))
}

fn template_text(template: &Tpl) -> Result<String, Located> {
    let ([quasi], []) = (template.quasis.as_slice(), template.exprs.as_slice()) else {
        return Err(Located::not_literal(template.span, "a template literal with `${...}` substitutions"));
    };
    let cooked = quasi.cooked.as_ref().ok_or_else(|| Located::not_literal(quasi.span, "an invalid escape"))?;
    cooked.as_str().map(str::to_owned).ok_or_else(|| unpaired_surrogate(quasi.span))
}

fn unpaired_surrogate(span: Span) -> Located {
    Located::new(span, "strings in meta must be valid Unicode: this one has an unpaired surrogate escape")
}

/// `-` directly before a number literal.
fn negative_number(unary: &UnaryExpr) -> Result<Value, Located> {
    match (unary.op, &*unary.arg) {
        (UnaryOp::Minus, Expr::Lit(Lit::Num(number))) => json_number(-number.value, unary.span),
        _ => Err(Located::not_literal(unary.span, &format!("the `{}` operator expression", unary.op))),
    }
}

/// Integral numbers stay integers in JSON (`1`, not `1.0`).
fn json_number(value: f64, span: Span) -> Result<Value, Located> {
    const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0; // 2^53
    if value.fract() == 0.0 && value.abs() <= EXACT_INTEGERS {
        return Ok(Value::from(value as i64));
    }
    serde_json::Number::from_f64(value)
        .map(Value::Number)
        .ok_or_else(|| Located::new(span, "the number is out of JSON's range"))
}

/// A few words naming an expression that is not a literal.
fn describe(expr: &Expr) -> String {
    match expr {
        Expr::Ident(ident) => format!("the identifier `{}`", ident.sym),
        Expr::Call(_) => "a function call".into(),
        Expr::New(_) => "a `new` expression".into(),
        Expr::Member(_) | Expr::OptChain(_) => "a property access".into(),
        Expr::Arrow(_) | Expr::Fn(_) => "a function".into(),
        Expr::Class(_) => "a class".into(),
        Expr::Bin(_) => "an operator expression".into(),
        Expr::Cond(_) => "a conditional expression".into(),
        Expr::Assign(_) => "an assignment".into(),
        Expr::TaggedTpl(_) => "a tagged template".into(),
        Expr::Await(_) => "an `await` expression".into(),
        Expr::Lit(Lit::Regex(_)) => "a regular expression".into(),
        Expr::Lit(Lit::BigInt(_)) => "a bigint".into(),
        Expr::Array(_) => "an array".into(),
        Expr::Lit(Lit::Str(_)) | Expr::Tpl(_) => "a string".into(),
        Expr::Lit(Lit::Num(_)) => "a number".into(),
        _ => "this expression".into(),
    }
}

// ---- fields -------------------------------------------------------------------------

/// One field of `meta`: where its key is, its expression and its JSON value.
struct Field<'a> {
    name: &'static str,
    span: Span,
    expr: &'a Expr,
    value: Value,
}

/// The fields of the meta object, in source order.
struct Fields<'a> {
    meta: Span,
    fields: Vec<Field<'a>>,
}

impl<'a> Fields<'a> {
    /// Converts every field to JSON; unknown fields are errors.
    fn collect(object: &'a ObjectLit) -> Result<Self, Located> {
        let mut fields = Vec::with_capacity(object.props.len());
        for entry in entries(object)? {
            let name = FIELDS.into_iter().find(|field| *field == entry.key).ok_or_else(|| unknown_field(&entry))?;
            let value = to_json(entry.value, 1)?;
            fields.push(Field { name, span: entry.key_span, expr: entry.value, value });
        }
        Ok(Fields { meta: object.span, fields })
    }

    fn optional(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|field| field.name == name)
    }

    fn required(&self, name: &str) -> Result<&Field<'a>, Located> {
        self.optional(name).ok_or_else(|| Located::new(self.meta, format!("meta has no `{name}`, which is required")))
    }

    fn into_skill_meta(self, skill: &str) -> Result<SkillMeta, Located> {
        Ok(SkillMeta {
            name: skill_name(self.required("name")?, skill)?,
            title: self.optional("title").map(string).transpose()?,
            description: description(self.required("description")?)?,
            servers: servers(self.required("servers")?)?,
            input: object_schema(self.required("input")?)?,
            output: self.optional("output").map(object_schema).transpose()?,
            token_reduction: self.optional("tokenReduction").map(string).transpose()?,
            examples: examples(self.required("examples")?)?,
        })
    }
}

fn unknown_field(entry: &Entry<'_>) -> Located {
    let message = format!("unknown field `{}` in meta; fields are {}", entry.key, FIELDS.join(", "));
    Located::new(entry.key_span, message)
}

fn skill_name(field: &Field<'_>, skill: &str) -> Result<String, Located> {
    let name = string(field)?;
    if !is_skill_name(&name) {
        let message = format!(
            "meta.name `{name}` is not a skill name: lowercase letters and digits in words joined by single \
             hyphens, starting with a letter, at most {MAX_SKILL_NAME_CHARS} characters"
        );
        return Err(Located::new(field.span, message));
    }
    if name != skill {
        return Err(Located::new(field.span, format!("meta.name is `{name}` but the skill is named `{skill}`")));
    }
    Ok(name)
}

fn description(field: &Field<'_>) -> Result<String, Located> {
    let description = string(field)?;
    if description.trim().is_empty() {
        return Err(Located::new(field.span, "meta.description must not be empty"));
    }
    Ok(description)
}

fn servers(field: &Field<'_>) -> Result<Vec<String>, Located> {
    let servers = strings(field)?;
    for (index, server) in servers.iter().enumerate() {
        let span = element_span(field, index);
        if !is_server_name(server) {
            let message = format!(
                "meta.servers[{index}] `{server}` is not a server name: letters, digits, `.`, `_` and `-`, \
                 starting with a letter or digit, at most {MAX_SERVER_NAME_CHARS} characters"
            );
            return Err(Located::new(span, message));
        }
        if servers[..index].contains(server) {
            return Err(Located::new(span, format!("meta.servers names `{server}` twice")));
        }
    }
    Ok(servers)
}

fn examples(field: &Field<'_>) -> Result<Vec<String>, Located> {
    let examples = strings(field)?;
    if examples.is_empty() {
        return Err(Located::new(field.span, "meta.examples must have at least one example call"));
    }
    Ok(examples)
}

fn object_schema(field: &Field<'_>) -> Result<Map<String, Value>, Located> {
    match &field.value {
        Value::Object(schema) if schema.get("type") == Some(&Value::from("object")) => Ok(schema.clone()),
        Value::Object(_) => Err(Located::new(
            field.span,
            format!(
                "meta.{} must be a JSON Schema with \"type\": \"object\" (skills take and give one object)",
                field.name
            ),
        )),
        other => Err(Located::new(
            field.span,
            format!("meta.{} must be a JSON Schema object, not {}", field.name, json_kind(other)),
        )),
    }
}

fn string(field: &Field<'_>) -> Result<String, Located> {
    match &field.value {
        Value::String(text) => Ok(text.clone()),
        other => Err(Located::new(field.span, format!("meta.{} must be a string, not {}", field.name, json_kind(other)))),
    }
}

fn strings(field: &Field<'_>) -> Result<Vec<String>, Located> {
    let Value::Array(items) = &field.value else {
        let message = format!("meta.{} must be an array of strings, not {}", field.name, json_kind(&field.value));
        return Err(Located::new(field.span, message));
    };
    let item = |(index, item): (usize, &Value)| match item {
        Value::String(text) => Ok(text.clone()),
        other => Err(Located::new(
            element_span(field, index),
            format!("meta.{}[{index}] must be a string, not {}", field.name, json_kind(other)),
        )),
    };
    items.iter().enumerate().map(item).collect()
}

/// Where the `index`th element of an array field is, else where the field is.
fn element_span(field: &Field<'_>, index: usize) -> Span {
    match without_wrappers(field.expr) {
        Expr::Array(array) => {
            array.elems.get(index).and_then(Option::as_ref).map_or(field.span, |element| element.expr.span())
        }
        _ => field.span,
    }
}

/// What a JSON value is, for messages: "a string", "an object", "null"...
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"/** Sorts open tasks. */
export const meta = {
  name: "task-triage",
  title: "Task triage report",
  description: "Sorts open tasks by priority",
  servers: ["task-master", "memory.v2"],
  input: {
    type: "object",
    properties: { projectRoot: { type: "string" }, limit: { type: "integer", minimum: -1, maximum: 1.5 } },
    required: ["projectRoot"],
  },
  output: { type: "object", properties: { count: { type: "number" } } },
  tokenReduction: "~90%",
  examples: [`taskTriage({ projectRoot: "/p" })`],
} as const;

export default async function taskTriage(input: { projectRoot: string }) {
  return { count: 0 };
}
export { taskTriage };
"#;

    fn error(source: &str) -> MetaError {
        read_meta("task-triage", source).expect_err("the meta is invalid")
    }

    /// The valid skill with `from` replaced by `to` (which must occur).
    fn with(from: &str, to: &str) -> String {
        assert!(VALID.contains(from), "{from}");
        VALID.replacen(from, to, 1)
    }

    fn assert_error(source: &str, message: &str, line: u32, column: u32) {
        let error = error(source);
        assert!(error.message.contains(message), "{error} should say {message}");
        assert_eq!((error.line, error.column), (line, column), "{error}");
    }

    #[test]
    fn a_full_valid_skill_is_read() {
        let meta = read_meta("task-triage", VALID).unwrap();
        assert_eq!(meta.name, "task-triage");
        assert_eq!(meta.title.as_deref(), Some("Task triage report"));
        assert_eq!(meta.description, "Sorts open tasks by priority");
        assert_eq!(meta.servers, ["task-master", "memory.v2"]);
        assert_eq!(meta.token_reduction.as_deref(), Some("~90%"));
        assert_eq!(meta.examples, [r#"taskTriage({ projectRoot: "/p" })"#]);
        let expected_input = serde_json::json!({
            "type": "object",
            "properties": { "projectRoot": { "type": "string" }, "limit": { "type": "integer", "minimum": -1, "maximum": 1.5 } },
            "required": ["projectRoot"],
        });
        assert_eq!(Value::Object(meta.input.clone()), expected_input);
        assert_eq!(meta.output.as_ref().and_then(|output| output.get("type")), Some(&Value::from("object")));
        let json = serde_json::to_value(&meta).unwrap();
        assert_eq!(json["tokenReduction"], "~90%");
        assert_eq!(json["input"]["properties"]["limit"]["minimum"].to_string(), "-1");
    }

    #[test]
    fn optional_fields_may_be_left_out_and_are_not_serialized() {
        let source = "export const meta = { name: 'a', description: 'd', servers: [], input: { type: 'object' }, \
                      examples: ['a({})'] };\nexport default async () => 1;";
        let meta = read_meta("a", source).unwrap();
        assert_eq!((&meta.title, &meta.output, &meta.token_reduction), (&None, &None, &None));
        assert!(meta.servers.is_empty());
        let json = serde_json::to_value(&meta).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["name", "description", "servers", "input", "examples"]);
    }

    #[test]
    fn type_wrappers_around_meta_are_allowed() {
        let bare = read_meta("task-triage", &with("} as const;", "};")).unwrap();
        for source in [
            with("} as const;", "} satisfies SkillMeta;"),
            with("} as const;", "} as const satisfies SkillMeta;"),
            with("export const meta = {", "export const meta = <const>({").replacen("} as const;", "});", 1),
            with("export const meta = {", "export const meta: SkillMeta = ({").replacen(
                "} as const;",
                "}) as SkillMeta;",
                1,
            ),
            with("servers: [\"task-master\", \"memory.v2\"]", "servers: [\"task-master\", \"memory.v2\"] as string[]"),
        ] {
            assert_eq!(read_meta("task-triage", &source).unwrap(), bare, "{source}");
        }
    }

    #[test]
    fn template_literals_give_their_cooked_text() {
        let meta =
            read_meta("task-triage", &with("examples: [`taskTriage", "examples: [`a\\tb`, `taskTriage")).unwrap();
        assert_eq!(meta.examples[0], "a\tb");
        let error = error(&with("examples: [`taskTriage({", "examples: [`taskTriage(${x}, {"));
        assert!(error.message.contains("template literal with `${...}` substitutions"), "{error}");
        assert_eq!((error.line, error.column), (14, 14));
    }

    #[test]
    fn nested_schema_objects_keep_their_key_order() {
        let source = with(
            "properties: { projectRoot",
            "properties: { zeta: { type: 'string' }, alpha: { b: 1, a: 2 }, projectRoot",
        );
        let meta = read_meta("task-triage", &source).unwrap();
        let properties = meta.input["properties"].as_object().unwrap();
        let keys: Vec<&str> = properties.keys().map(String::as_str).collect();
        assert_eq!(keys, ["zeta", "alpha", "projectRoot", "limit"]);
        let alpha: Vec<&str> = properties["alpha"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(alpha, ["b", "a"]);
        let top: Vec<&str> = meta.input.keys().map(String::as_str).collect();
        assert_eq!(top, ["type", "properties", "required"]);
    }

    #[test]
    fn string_and_number_keys_are_allowed() {
        let source = with("required: [", "\"x-key\": true, 'y': null, 2: 'two', required: [");
        let meta = read_meta("task-triage", &source).unwrap();
        assert_eq!(meta.input["x-key"], true);
        assert_eq!(meta.input["y"], Value::Null);
        assert_eq!(meta.input["2"], "two");
    }

    #[test]
    fn non_literals_are_errors_at_their_position() {
        let cases = [
            (with("\"task-master\", ", "SERVER, "), "the identifier `SERVER` is not", 6, 13),
            (with("minimum: -1", "minimum: Math.min(1, 2)"), "a function call is not", 9, 87),
            (with("minimum: -1", "minimum: -x"), "the `-` operator expression is not", 9, 87),
            (with("minimum: -1", "minimum: 1 + 1"), "an operator expression is not", 9, 87),
            (with("required: [", "...base, required: ["), "a spread `...` is not", 10, 5),
            (with("required: [\"projectRoot\"]", "required: [...names]"), "a spread `...` is not", 10, 16),
            (with("required: [\"projectRoot\"]", "required: [1, , 2]"), "an array with a hole", 10, 15),
            (with("required: [", "[key]: 1, required: ["), "a computed key `[...]` is not", 10, 5),
            (with("required: [", "type, required: ["), "the shorthand property `type` is not", 10, 5),
            (with("required: [", "check() { return 1 }, required: ["), "a method is not", 10, 5),
            (with("required: [", "get x() { return 1 }, required: ["), "a getter is not", 10, 5),
            (
                with("tokenReduction: \"~90%\"", "tokenReduction: undefined"),
                "the identifier `undefined` is not",
                13,
                19,
            ),
            (with("tokenReduction: \"~90%\"", "tokenReduction: /90/"), "a regular expression is not", 13, 19),
        ];
        for (source, message, line, column) in cases {
            assert_error(&source, &format!("meta must be a literal (JSON-like) value: {message}"), line, column);
        }
    }

    #[test]
    fn a_syntax_error_has_the_parsers_message_and_position() {
        let syntax = error(&with("  servers:", "  servers: ;"));
        assert_eq!((syntax.line, syntax.column), (6, 12), "{syntax}");
        assert!(!syntax.message.is_empty());
        let recoverable = error(&format!("{VALID}\nreturn 1;\n"));
        assert_eq!((recoverable.line, recoverable.column), (22, 1), "{recoverable}");
    }

    #[test]
    fn parse_module_gives_only_modules_without_errors() {
        let module = parse_module(VALID).expect("a skill is a module");
        assert!(has_default_export(&module));
        assert!(parse_module("const x = 1;\nreturn x;").is_none());
        assert!(parse_module("const x = ;").is_none());
        let module = parse_module("export const meta = {};").unwrap();
        assert!(!has_default_export(&module));
    }

    #[test]
    fn missing_meta_is_an_error_at_the_start() {
        let source = "export default async function f() {}\nconst meta = {};\nexport { meta };";
        assert_error(source, "the skill has no `export const meta = {...}`", 1, 1);
        assert_error("", "the skill has no `export const meta = {...}`", 1, 1);
    }

    #[test]
    fn meta_must_be_a_const_object_literal() {
        assert_error(
            &with("export const meta", "export let meta"),
            "meta must be declared with `export const`, not `export let`",
            2,
            12,
        );
        assert_error(
            "export const meta = makeMeta();",
            "meta must be an object literal `{...}`, not a function call",
            1,
            21,
        );
        assert_error("export declare const meta: X;", "meta has no value", 1, 22);
    }

    #[test]
    fn a_default_export_is_required() {
        let without = with("export default async function", "export async function");
        assert_error(&without, "the skill has no default export: export its async function as default", 1, 1);
        let interface_only = format!("{without}\nexport default interface X {{}}");
        assert_error(&interface_only, "no default export", 1, 1);
        let type_only = format!("{without}\nexport type {{ T as default }};");
        assert_error(&type_only, "no default export", 1, 1);
        for default in [
            "export { taskTriage as default };",
            "export { default } from \"skills/other\";",
            "export { taskTriage as \"default\" };",
        ] {
            let source = format!("{without}\n{default}");
            read_meta("task-triage", &source).unwrap_or_else(|error| panic!("{default}: {error}"));
        }
        let expression = without.replacen("export async function", "const taskTriage = async function", 1)
            + "\nexport default taskTriage;";
        read_meta("task-triage", &expression).unwrap();
    }

    #[test]
    fn the_name_must_be_valid_and_match_the_skill() {
        let error = read_meta("other", VALID).unwrap_err();
        assert_eq!(error.message, "meta.name is `task-triage` but the skill is named `other`");
        assert_eq!((error.line, error.column), (3, 3));
        let error = read_meta("Task", &with("name: \"task-triage\"", "name: \"Task\"")).unwrap_err();
        assert!(error.message.starts_with("meta.name `Task` is not a skill name"), "{error}");
        assert_eq!((error.line, error.column), (3, 3));
        assert_error(&with("name: \"task-triage\"", "name: null"), "meta.name must be a string, not null", 3, 3);
    }

    #[test]
    fn unknown_and_duplicate_fields_are_errors() {
        assert_error(
            &with("  tokenReduction", "  mcpServers: [],\n  tokenReduction"),
            "unknown field `mcpServers` in meta; fields are name, title, description, servers, input, output, tokenReduction, examples",
            13,
            3,
        );
        assert_error(
            &with("  tokenReduction", "  name: \"again\",\n  tokenReduction"),
            "duplicate key `name` in meta",
            13,
            3,
        );
        assert_error(&with("required: [", "type: 'x', required: ["), "duplicate key `type` in meta", 10, 5);
    }

    #[test]
    fn missing_required_fields_point_at_the_meta_object() {
        for (field, line) in [
            ("name", "  name: \"task-triage\",\n"),
            ("description", "  description: \"Sorts open tasks by priority\",\n"),
            ("servers", "  servers: [\"task-master\", \"memory.v2\"],\n"),
            ("examples", "  examples: [`taskTriage({ projectRoot: \"/p\" })`],\n"),
        ] {
            assert_error(&with(line, ""), &format!("meta has no `{field}`, which is required"), 2, 21);
        }
    }

    #[test]
    fn field_types_are_checked() {
        let cases = [
            (with("title: \"Task triage report\"", "title: 3"), "meta.title must be a string, not a number", 4, 3),
            (
                with("description: \"Sorts open tasks by priority\"", "description: \"  \""),
                "meta.description must not be empty",
                5,
                3,
            ),
            (
                with("description: \"Sorts open tasks by priority\"", "description: [\"x\"]"),
                "meta.description must be a string, not an array",
                5,
                3,
            ),
            (
                with("servers: [\"task-master\", \"memory.v2\"]", "servers: \"task-master\""),
                "meta.servers must be an array of strings, not a string",
                6,
                3,
            ),
            (with("\"memory.v2\"]", "7]"), "meta.servers[1] must be a string, not a number", 6, 28),
            (with("\"memory.v2\"]", "\"bad name\"]"), "meta.servers[1] `bad name` is not a server name", 6, 28),
            (with("\"memory.v2\"]", "\".hidden\"]"), "meta.servers[1] `.hidden` is not a server name", 6, 28),
            (with("\"memory.v2\"]", "\"task-master\"]"), "meta.servers names `task-master` twice", 6, 28),
            (
                with("tokenReduction: \"~90%\"", "tokenReduction: 0.9"),
                "meta.tokenReduction must be a string, not a number",
                13,
                3,
            ),
            (
                with("examples: [`taskTriage({ projectRoot: \"/p\" })`]", "examples: []"),
                "meta.examples must have at least one example call",
                14,
                3,
            ),
            (
                with("examples: [`taskTriage", "examples: [null, `taskTriage"),
                "meta.examples[0] must be a string, not null",
                14,
                14,
            ),
        ];
        for (source, message, line, column) in cases {
            assert_error(&source, message, line, column);
        }
    }

    #[test]
    fn schemas_must_be_object_schemas() {
        let input_type = "type: \"object\",\n    properties: { projectRoot";
        assert_error(
            &with(input_type, "type: \"array\",\n    properties: { projectRoot"),
            "meta.input must be a JSON Schema with \"type\": \"object\"",
            7,
            3,
        );
        assert_error(
            &with(input_type, "properties: { projectRoot"),
            "meta.input must be a JSON Schema with \"type\": \"object\"",
            7,
            3,
        );
        assert_error(
            &with("output: { type: \"object\"", "output: { type: \"string\""),
            "meta.output must be a JSON Schema with \"type\": \"object\"",
            12,
            3,
        );
        assert_error(
            &with("output: { type: \"object\", properties: { count: { type: \"number\" } } }", "output: true"),
            "meta.output must be a JSON Schema object, not a boolean",
            12,
            3,
        );
        let source = with("  input: {", "  input: 1,\n  old: {");
        assert_error(&source, "unknown field `old`", 8, 3);
    }

    #[test]
    fn numbers_out_of_json_range_are_errors() {
        assert_error(&with("maximum: 1.5", "maximum: 1e400"), "out of JSON's range", 9, 100);
    }

    #[test]
    fn nesting_in_meta_is_bounded() {
        let depth = MAX_NESTING + 10;
        let source = with("required: [\"projectRoot\"]", &format!("deep: {}1{}", "[".repeat(depth), "]".repeat(depth)));
        let error =
            std::thread::Builder::new().stack_size(64 << 20).spawn(move || error(&source)).unwrap().join().unwrap();
        assert!(error.message.contains(&format!("meta nests more than {MAX_NESTING} levels deep")), "{error}");
    }

    #[test]
    fn skill_names() {
        for good in ["a", "task-triage", "a1-b2-c3", "x9", &"a".repeat(MAX_SKILL_NAME_CHARS)] {
            assert!(is_skill_name(good), "{good}");
        }
        for bad in
            ["", "A", "1a", "-a", "a-", "a--b", "a_b", "a.b", "task triage", "é", &"a".repeat(MAX_SKILL_NAME_CHARS + 1)]
        {
            assert!(!is_skill_name(bad), "{bad}");
        }
    }

    #[test]
    fn server_names() {
        for good in ["a", "Task-Master", "memory.v2", "9_x", &"s".repeat(64)] {
            assert!(is_server_name(good), "{good}");
        }
        for bad in ["", ".a", "-a", "_a", "a b", "a/b", "ä", &"s".repeat(65)] {
            assert!(!is_server_name(bad), "{bad}");
        }
    }
}
