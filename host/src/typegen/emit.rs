//! Writes TypeScript: [`Ty`] trees as type expressions, and a server's tools
//! as a `declare module "mcp://<server>"` block.

use super::ToolInfo;
use super::names::{
    NameAllocator, is_binding_identifier, is_identifier_name, module_exports, pascal_case,
};
use super::schema::{Converter, Document, NamedType, Object, Tuple, Ty, doc_lines};
use super::text::{description_lines, inline_comment_text, jsdoc, string_literal};

/// Indentation of one nesting level, in spaces.
const STEP: usize = 2;

/// The `declare module` block for `server` with one group of declarations
/// per tool that the runtime's module exports, in list order.
pub(super) fn module(server: &str, tools: &[ToolInfo]) -> String {
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_str()).collect();
    write_module(&format!("mcp://{server}"), tools, &module_exports(&names))
}

/// The `declare module "skills/<name>"` block of a skill, described as a tool:
/// its function is the module's default export and its camelCase name.
pub(super) fn skill_module(name: &str, skill: &ToolInfo) -> String {
    let exports = vec![vec!["default".to_owned(), super::camel_case(name)]];
    write_module(&format!("{}{name}", conventions::SKILLS_DIR), std::slice::from_ref(skill), &exports)
}

/// A `declare module` block of `tools`, each exported under its `exports`.
fn write_module(specifier: &str, tools: &[ToolInfo], exports: &[Vec<String>]) -> String {
    let bindings = exports
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|name| is_binding_identifier(name));
    let mut module = ModuleWriter {
        converter: Converter::new(),
        helpers: NameAllocator::for_values(bindings),
    };
    let groups: Vec<String> = tools
        .iter()
        .zip(exports)
        .filter(|(_, names)| !names.is_empty())
        .map(|(tool, names)| module.tool(tool, names))
        .collect();
    format!("declare module {} {{\n{}}}\n", string_literal(specifier), groups.join("\n"))
}

/// State shared by the tools of one module: type names and the named types
/// already emitted, and the names of the non-exported helper functions.
struct ModuleWriter {
    converter: Converter,
    helpers: NameAllocator,
}

impl ModuleWriter {
    /// A tool's functions, its `…Args` and `…Result` types and the named
    /// types its schemas introduced.
    fn tool(&mut self, tool: &ToolInfo, export_names: &[String]) -> String {
        let base = pascal_case(&tool.name);
        let args_name = self.converter.type_name(&format!("{base}Args"));
        let result_name = self.converter.type_name(&format!("{base}Result"));
        let args = self.converter.document(Document {
            root: &tool.input_schema,
            root_name: &args_name,
        });
        let result = tool.output_schema.as_ref().map(|schema| {
            self.converter.document(Document {
                root: schema,
                root_name: &result_name,
            })
        });

        let optional = if args_are_optional(&args) { "?" } else { "" };
        let signature = format!("(args{optional}: {args_name}): Promise<{result_name}>;");
        let mut out = self.functions(tool, export_names, &signature);

        let mut args_doc = vec![format!(
            "Arguments of `{}`.",
            inline_comment_text(&tool.name)
        )];
        args_doc.extend(doc_lines(&tool.input_schema));
        out.push_str(&declaration(&NamedType {
            name: args_name,
            doc: args_doc,
            ty: args,
        }));
        out.push_str(&declaration(&result_declaration(tool, result_name, result)));
        for named in self.converter.take_named() {
            out.push_str(&declaration(&named));
        }
        out
    }

    /// One declaration per export name: `export function <name>` for names
    /// that can be bindings, and for the others one helper function that an
    /// `export { helper as "<name>" }` renames. The first carries the tool's
    /// documentation; the others point to it.
    fn functions(&mut self, tool: &ToolInfo, export_names: &[String], signature: &str) -> String {
        let pad = " ".repeat(STEP);
        let mut names: Vec<&String> = export_names.iter().collect();
        names.reverse(); // the camelCase alias, when there is one, comes first
        let (bindings, renamed): (Vec<&String>, Vec<&String>) = names
            .into_iter()
            .partition(|name| is_binding_identifier(name));
        let mut primary: Option<String> = None;
        let mut out = String::new();
        for name in bindings {
            out.push_str(&function_doc(tool, primary.as_deref()));
            out.push_str(&format!("{pad}export function {name}{signature}\n"));
            primary.get_or_insert_with(|| name.clone());
        }
        if !renamed.is_empty() {
            let helper_base: String = tool
                .name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let helper = self.helpers.allocate(&format!("__{helper_base}"), "__tool");
            out.push_str(&function_doc(tool, primary.as_deref()));
            out.push_str(&format!("{pad}function {helper}{signature}\n"));
            let specifiers: Vec<String> = renamed
                .iter()
                .map(|name| format!("{helper} as {}", export_name(name)))
                .collect();
            out.push_str(&format!("{pad}export {{ {} }};\n", specifiers.join(", ")));
        }
        out
    }
}

/// The tool's description and exact name, or a pointer to the declaration
/// that has them.
fn function_doc(tool: &ToolInfo, primary: Option<&str>) -> String {
    let lines = match primary {
        Some(primary) => vec![format!("Same as `{primary}`.")],
        None => {
            let mut lines = description_lines(tool.description.as_deref());
            lines.push(format!("Tool name: `{}`.", inline_comment_text(&tool.name)));
            lines
        }
    };
    jsdoc(&lines, STEP)
}

fn result_declaration(tool: &ToolInfo, name: String, result: Option<Ty>) -> NamedType {
    let tool_name = inline_comment_text(&tool.name);
    match (result, &tool.output_schema) {
        (Some(ty), Some(schema)) => {
            let mut doc = vec![format!("Result of `{tool_name}`: its structured content.")];
            doc.extend(doc_lines(schema));
            NamedType { name, doc, ty }
        }
        _ => NamedType {
            name,
            doc: vec![format!(
                "Result of `{tool_name}`: the server declares no output schema."
            )],
            ty: Ty::Keyword("unknown"),
        },
    }
}

/// Whether `args` may be left out: an object type without required fields
/// (the runtime sends `{}`), or `unknown`.
fn args_are_optional(args: &Ty) -> bool {
    match args {
        Ty::Object(object) => object.fields.iter().all(|field| field.optional),
        Ty::Keyword(keyword) => *keyword == "unknown",
        _ => false,
    }
}

/// A name in an `export { … as <name> }` clause: bare if it is an
/// IdentifierName (reserved words included), else a string literal.
fn export_name(name: &str) -> String {
    if is_identifier_name(name) {
        name.to_owned()
    } else {
        string_literal(name)
    }
}

/// `export interface` for object types with members, `export type` otherwise.
fn declaration(named: &NamedType) -> String {
    let pad = " ".repeat(STEP);
    let doc = jsdoc(&named.doc, STEP);
    match &named.ty {
        Ty::Object(object) if !object.fields.is_empty() || object.index.is_some() => {
            format!(
                "{doc}{pad}export interface {} {{\n{}{pad}}}\n",
                named.name,
                members(object, STEP + STEP)
            )
        }
        ty => format!(
            "{doc}{pad}export type {} = {};\n",
            named.name,
            render(ty, STEP)
        ),
    }
}

/// `ty` as a TypeScript type expression; `indent` is the indentation of the
/// line it starts on, for multi-line object types.
pub(super) fn render(ty: &Ty, indent: usize) -> String {
    match ty {
        Ty::Keyword(text) => (*text).to_owned(),
        Ty::Literal(text) | Ty::Named(text) => text.clone(),
        Ty::Array(item) => format!("{}[]", render_tight(item, indent)),
        Ty::Tuple(tuple) => render_tuple(tuple, indent),
        Ty::Object(object) => render_object(object, indent),
        Ty::Union(members) => render_joined(members, " | ", indent, |_| false),
        Ty::Intersection(members) => render_joined(members, " & ", indent, |member| {
            matches!(member, Ty::Union(_))
        }),
        Ty::Noted(ty, note) => {
            format!("{} /* {} */", render(ty, indent), inline_comment_text(note))
        }
    }
}

/// `ty` where a postfix `[]` or `?` follows: compound types get parentheses.
fn render_tight(ty: &Ty, indent: usize) -> String {
    match ty {
        Ty::Union(_) | Ty::Intersection(_) | Ty::Noted(..) => format!("({})", render(ty, indent)),
        ty => render(ty, indent),
    }
}

fn render_joined(members: &[Ty], separator: &str, indent: usize, wrap: fn(&Ty) -> bool) -> String {
    let rendered: Vec<String> = members
        .iter()
        .map(|member| {
            let text = render(member, indent);
            if wrap(member) {
                format!("({text})")
            } else {
                text
            }
        })
        .collect();
    rendered.join(separator)
}

fn render_tuple(tuple: &Tuple, indent: usize) -> String {
    let mut elements: Vec<String> = tuple
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            if index < tuple.required {
                render(item, indent)
            } else {
                format!("{}?", render_tight(item, indent))
            }
        })
        .collect();
    if let Some(rest) = &tuple.rest {
        elements.push(format!("...{}[]", render_tight(rest, indent)));
    }
    format!("[{}]", elements.join(", "))
}

fn render_object(object: &Object, indent: usize) -> String {
    match (object.fields.as_slice(), &object.index) {
        ([], None) => "Record<string, never>".to_owned(),
        ([], Some(index)) => format!("{{ [key: string]: {} }}", render(index, indent)),
        _ => format!(
            "{{\n{}{}}}",
            members(object, indent + STEP),
            " ".repeat(indent)
        ),
    }
}

/// The member lines of an object type or interface, at `indent`.
fn members(object: &Object, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for field in &object.fields {
        let key = if is_identifier_name(&field.name) {
            field.name.clone()
        } else {
            string_literal(&field.name)
        };
        let optional = if field.optional { "?" } else { "" };
        out.push_str(&jsdoc(&field.doc, indent));
        out.push_str(&format!(
            "{pad}{key}{optional}: {};\n",
            render(&field.ty, indent)
        ));
    }
    if let Some(index) = &object.index {
        out.push_str(&format!("{pad}[key: string]: {};\n", render(index, indent)));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::typegen::schema::Field;

    fn kw(keyword: &'static str) -> Ty {
        Ty::Keyword(keyword)
    }

    fn tool(name: &str, input_schema: Value) -> ToolInfo {
        ToolInfo {
            name: name.to_owned(),
            description: Some(format!("Does {name}.")),
            input_schema,
            output_schema: None,
        }
    }

    #[test]
    fn renders_compound_types_with_the_parentheses_they_need() {
        let union = Ty::Union(vec![kw("string"), kw("null")]);
        assert_eq!(
            render(&Ty::Array(Box::new(union.clone())), 0),
            "(string | null)[]"
        );
        assert_eq!(
            render(&Ty::Array(Box::new(Ty::Array(Box::new(kw("number"))))), 0),
            "number[][]"
        );
        assert_eq!(
            render(
                &Ty::Intersection(vec![Ty::Named("A".into()), union.clone()]),
                0
            ),
            "A & (string | null)"
        );
        let tuple = Tuple {
            items: vec![kw("string"), union],
            required: 1,
            rest: Some(Box::new(kw("unknown"))),
        };
        assert_eq!(
            render(&Ty::Tuple(tuple), 0),
            "[string, (string | null)?, ...unknown[]]"
        );
        let noted = Ty::Noted(Box::new(kw("unknown")), "unsupported: not */".into());
        assert_eq!(render(&noted, 0), "unknown /* unsupported: not *\\/ */");
    }

    #[test]
    fn renders_objects_inline_with_quoted_keys_and_docs() {
        let object = Object {
            fields: vec![
                Field {
                    name: "plain".into(),
                    ty: kw("string"),
                    optional: false,
                    doc: vec!["Doc.".into()],
                },
                Field {
                    name: "openai-compatible".into(),
                    ty: kw("boolean"),
                    optional: true,
                    doc: vec![],
                },
            ],
            index: None,
        };
        assert_eq!(
            render(&Ty::Object(object), 2),
            "{\n    /** Doc. */\n    plain: string;\n    \"openai-compatible\"?: boolean;\n  }"
        );
        assert_eq!(
            render(
                &Ty::Object(Object {
                    fields: vec![],
                    index: None
                }),
                0
            ),
            "Record<string, never>"
        );
        let open = Object {
            fields: vec![],
            index: Some(Box::new(kw("unknown"))),
        };
        assert_eq!(render(&Ty::Object(open), 0), "{ [key: string]: unknown }");
    }

    #[test]
    fn module_declares_alias_and_exact_name() {
        let schema =
            json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]});
        let text = module("srv", &[tool("get_item", schema)]);
        assert!(
            text.starts_with("declare module \"mcp://srv\" {\n"),
            "{text}"
        );
        assert!(text.contains("  /**\n   * Does get_item.\n   * Tool name: `get_item`.\n   */\n  export function getItem(args: GetItemArgs): Promise<GetItemResult>;\n"), "{text}");
        assert!(text.contains("  /** Same as `getItem`. */\n  export function get_item(args: GetItemArgs): Promise<GetItemResult>;\n"), "{text}");
        assert!(
            text.contains("  export interface GetItemArgs {\n    id: string;\n  }\n"),
            "{text}"
        );
        assert!(
            text.contains("  export type GetItemResult = unknown;\n"),
            "{text}"
        );
    }

    #[test]
    fn names_that_are_not_bindings_are_exported_through_a_helper() {
        let empty = json!({"type": "object", "properties": {}});
        let text = module(
            "srv",
            &[
                tool("get-time", empty.clone()),
                tool("delete", empty.clone()),
                tool("new", empty),
            ],
        );
        assert!(
            text.contains(
                "  export function getTime(args?: GetTimeArgs): Promise<GetTimeResult>;\n"
            ),
            "{text}"
        );
        assert!(text.contains("  function __get_time(args?: GetTimeArgs): Promise<GetTimeResult>;\n  export { __get_time as \"get-time\" };\n"), "{text}");
        assert!(text.contains("  function __delete(args?: DeleteArgs): Promise<DeleteResult>;\n  export { __delete as delete };\n"), "{text}");
        assert!(text.contains("  export { __new as new };\n"), "{text}");
        assert!(!text.contains("export function delete"), "{text}");
    }

    #[test]
    fn colliding_names_stay_distinct() {
        let empty = json!({});
        let text = module(
            "srv",
            &[
                tool("get_env", empty.clone()),
                tool("get-env", empty.clone()),
                tool("getEnv", empty),
            ],
        );
        // `getEnv` is a tool's exact name: neither alias is exported; types get distinct names
        assert_eq!(text.matches("export function getEnv(").count(), 1, "{text}");
        assert!(
            text.contains("export function get_env(args?: GetEnvArgs): Promise<GetEnvResult>;"),
            "{text}"
        );
        assert!(text.contains("function __get_env(args?: GetEnvArgs2): Promise<GetEnvResult2>;\n  export { __get_env as \"get-env\" };"), "{text}");
        assert!(
            text.contains("export function getEnv(args?: GetEnvArgs3): Promise<GetEnvResult3>;"),
            "{text}"
        );
    }
}
