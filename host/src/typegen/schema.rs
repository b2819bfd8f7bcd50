//! JSON Schema → a small TypeScript type tree ([`Ty`]), plus the named types
//! that `$ref`s need.
//!
//! # Mapping
//!
//! | JSON Schema | TypeScript |
//! |---|---|
//! | `type` (`string`, `number`/`integer`, `boolean`, `null`, `object`, `array`; or an array of them) | the type, or a union |
//! | `properties`, `required` | fields, optional unless required (a required name without a property schema is `unknown`) |
//! | `additionalProperties: false` | only the declared fields |
//! | `additionalProperties: <schema>`, `patternProperties` | an index signature `[key: string]: T`, widened by the field types so it stays valid |
//! | `additionalProperties` absent or `true` | nothing extra, or `[key: string]: unknown` when there are no fields |
//! | `items`, `prefixItems`, array-valued `items` (+ `additionalItems`) | `T[]`, or a tuple whose elements past `minItems` are optional |
//! | `enum`, `const` | a union of literals (a non-scalar value is `unknown`) |
//! | `anyOf`, `oneOf` / `allOf` | a union / an intersection, combined with the schema's own type |
//! | `nullable: true` | `… \| null` |
//! | `$ref` to `#`, `#/$defs/X`, `#/definitions/X` or any JSON pointer into the same schema | a named type, emitted once; cycles are fine |
//! | `true`, `{}` / `false` | `unknown` / `never` |
//!
//! Objects are written inline; only `$ref` targets become named types, and
//! `$defs` shared verbatim by several tools of a server are emitted once.
//! `description` and the constraints TypeScript cannot express (`format`,
//! `default`, `minimum`, `pattern`, …) become JSDoc on the field or named type.
//! `title` is ignored: it repeats the field name.
//!
//! Assertions that are not translated (`not`, `if`/`then`/`else`,
//! `dependentSchemas`, `contains`, `propertyNames`, …) are named in a
//! `/* unsupported: … */` comment after the type built from the rest of the
//! schema, which is `unknown` when nothing else is left. So is a `$ref` that
//! leaves the schema. Nothing here panics on any JSON value.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::names::{NameAllocator, pascal_case};
use super::text::string_literal;

/// Assertion keywords this module does not translate (see the module doc).
const UNSUPPORTED_KEYWORDS: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependentRequired",
    "dependencies",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "propertyNames",
    "$dynamicRef",
    "$recursiveRef",
];

/// Constraints documented as `@<keyword> <value>` tags, in this order.
const CONSTRAINT_TAGS: &[&str] = &[
    "format",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "default",
];

/// A TypeScript type.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ty {
    /// `unknown`, `never`, `string`, `number`, `boolean`, `null`, `undefined`.
    Keyword(&'static str),
    /// A literal type, already written as TypeScript (`"a"`, `3`, `true`).
    Literal(String),
    /// A named type declared in the same module.
    Named(String),
    Array(Box<Ty>),
    Tuple(Tuple),
    Object(Object),
    Union(Vec<Ty>),
    Intersection(Vec<Ty>),
    /// A type followed by a `/* comment */`.
    Noted(Box<Ty>, String),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tuple {
    pub(super) items: Vec<Ty>,
    /// How many leading items are required; the rest are optional.
    pub(super) required: usize,
    /// The type of further items, if any are allowed.
    pub(super) rest: Option<Box<Ty>>,
}

/// An object type: fields and an optional index signature. With neither it
/// is the closed empty object.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Object {
    pub(super) fields: Vec<Field>,
    pub(super) index: Option<Box<Ty>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Field {
    pub(super) name: String,
    pub(super) ty: Ty,
    pub(super) optional: bool,
    pub(super) doc: Vec<String>,
}

/// A named type to declare: `export type <name> = <ty>` (or an interface).
#[derive(Debug)]
pub(super) struct NamedType {
    pub(super) name: String,
    pub(super) doc: Vec<String>,
    pub(super) ty: Ty,
}

impl Ty {
    const UNKNOWN: Ty = Ty::Keyword("unknown");
    const NEVER: Ty = Ty::Keyword("never");

    fn is_unknown(&self) -> bool {
        match self {
            Ty::Keyword(keyword) => *keyword == "unknown",
            Ty::Noted(ty, _) => ty.is_unknown(),
            _ => false,
        }
    }

    fn unsupported(what: impl Into<String>) -> Ty {
        Ty::Noted(
            Box::new(Ty::UNKNOWN),
            format!("unsupported: {}", what.into()),
        )
    }

    /// A union, flattened and deduplicated; `unknown` absorbs it, `never`
    /// members vanish.
    fn union(members: impl IntoIterator<Item = Ty>) -> Ty {
        let mut flat: Vec<Ty> = Vec::new();
        for member in members {
            match member {
                Ty::Union(inner) => flat.extend(inner),
                member => flat.push(member),
            }
        }
        if let Some(unknown) = flat.iter().position(Ty::is_unknown) {
            return flat.swap_remove(unknown);
        }
        flat.retain(|member| *member != Ty::NEVER);
        Self::collapse(dedup(flat), Ty::NEVER, Ty::Union)
    }

    /// An intersection, flattened and deduplicated; `unknown` members vanish
    /// (their notes move to the result), `never` absorbs it.
    fn intersection(members: impl IntoIterator<Item = Ty>) -> Ty {
        let mut flat: Vec<Ty> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        for member in members {
            match member {
                Ty::Intersection(inner) => flat.extend(inner),
                Ty::Noted(ty, note) if ty.is_unknown() => notes.push(note),
                member if member.is_unknown() => {}
                member => flat.push(member),
            }
        }
        if flat.contains(&Ty::NEVER) {
            return Ty::NEVER;
        }
        let ty = Self::collapse(dedup(flat), Ty::UNKNOWN, Ty::Intersection);
        if notes.is_empty() {
            ty
        } else {
            Ty::Noted(Box::new(ty), notes.join("; "))
        }
    }

    fn collapse(mut members: Vec<Ty>, empty: Ty, many: fn(Vec<Ty>) -> Ty) -> Ty {
        match members.len() {
            0 => empty,
            1 => members.remove(0),
            _ => many(members),
        }
    }
}

fn dedup(members: Vec<Ty>) -> Vec<Ty> {
    let mut unique: Vec<Ty> = Vec::with_capacity(members.len());
    for member in members {
        if !unique.contains(&member) {
            unique.push(member);
        }
    }
    unique
}

/// One schema document (a tool's input or output schema) being converted.
#[derive(Clone, Copy)]
pub(super) struct Document<'a> {
    /// The whole schema, which `#` pointers resolve against.
    pub(super) root: &'a Value,
    /// The name of the type declared for the whole schema (the target of `#`).
    pub(super) root_name: &'a str,
}

/// Converts the schemas of one server's tools, collecting the named types
/// their `$ref`s need, and hands out the module's type names.
pub(super) struct Converter {
    names: NameAllocator,
    named: Vec<NamedType>,
    /// Named type for each `$ref` target already seen (see [`target_key`]).
    by_target: HashMap<String, String>,
    /// Tells documents apart in [`target_key`].
    documents: usize,
}

impl Converter {
    pub(super) fn new() -> Self {
        Self {
            names: NameAllocator::for_types(),
            named: Vec::new(),
            by_target: HashMap::new(),
            documents: 0,
        }
    }

    /// A type name not used yet in this module, made from `base`.
    pub(super) fn type_name(&mut self, base: &str) -> String {
        self.names.allocate(base, "Tool")
    }

    /// The type of a whole schema document.
    pub(super) fn document(&mut self, document: Document<'_>) -> Ty {
        self.documents += 1;
        self.ty(document, document.root)
    }

    /// The named types created since the last call, in the order first used.
    pub(super) fn take_named(&mut self) -> Vec<NamedType> {
        std::mem::take(&mut self.named)
    }

    fn ty(&mut self, document: Document<'_>, schema: &Value) -> Ty {
        match schema {
            Value::Bool(true) => Ty::UNKNOWN,
            Value::Bool(false) => Ty::NEVER,
            Value::Object(schema) => self.object_schema(document, schema),
            _ => Ty::unsupported("a schema that is not an object or boolean"),
        }
    }

    fn object_schema(&mut self, document: Document<'_>, schema: &Map<String, Value>) -> Ty {
        let mut parts = Vec::new();
        if let Some(reference) = schema.get("$ref") {
            parts.push(self.reference(document, reference));
        }
        parts.push(self.own_type(document, schema));
        if let Some(Value::Array(all)) = schema.get("allOf") {
            parts.extend(all.iter().map(|member| self.ty(document, member)));
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(Value::Array(any)) = schema.get(keyword) {
                let members: Vec<Ty> = any.iter().map(|member| self.ty(document, member)).collect();
                parts.push(Ty::union(members));
            }
        }
        let mut ty = Ty::intersection(parts);
        if schema.get("nullable") == Some(&Value::Bool(true)) {
            ty = Ty::union([ty, Ty::Keyword("null")]);
        }
        let unsupported: Vec<&str> = UNSUPPORTED_KEYWORDS
            .iter()
            .copied()
            .filter(|keyword| schema.contains_key(*keyword))
            .collect();
        if unsupported.is_empty() {
            ty
        } else {
            Ty::Noted(
                Box::new(ty),
                format!("unsupported: {}", unsupported.join(", ")),
            )
        }
    }

    /// The type `const`, `enum` or `type` gives, or that the keywords imply.
    fn own_type(&mut self, document: Document<'_>, schema: &Map<String, Value>) -> Ty {
        if let Some(value) = schema.get("const") {
            return literal(value);
        }
        if let Some(values) = schema.get("enum") {
            return match values {
                Value::Array(values) => Ty::union(values.iter().map(literal)),
                _ => Ty::unsupported("an `enum` that is not an array"),
            };
        }
        match schema.get("type") {
            Some(Value::String(name)) => self.named_type(document, schema, name),
            Some(Value::Array(names)) => {
                let members: Vec<Ty> = names
                    .iter()
                    .map(|name| match name {
                        Value::String(name) => self.named_type(document, schema, name),
                        other => Ty::unsupported(format!("type {other}")),
                    })
                    .collect();
                Ty::union(members)
            }
            Some(other) => Ty::unsupported(format!("type {other}")),
            None if implies_object(schema) => self.object(document, schema),
            None if implies_array(schema) => self.array(document, schema),
            None => Ty::UNKNOWN,
        }
    }

    fn named_type(
        &mut self,
        document: Document<'_>,
        schema: &Map<String, Value>,
        name: &str,
    ) -> Ty {
        match name {
            "string" => Ty::Keyword("string"),
            "number" | "integer" => Ty::Keyword("number"),
            "boolean" => Ty::Keyword("boolean"),
            "null" => Ty::Keyword("null"),
            "object" => self.object(document, schema),
            "array" => self.array(document, schema),
            other => Ty::unsupported(format!("type {}", string_literal(other))),
        }
    }

    fn object(&mut self, document: Document<'_>, schema: &Map<String, Value>) -> Ty {
        let required: Vec<&str> = match schema.get("required") {
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let mut fields: Vec<Field> = Vec::new();
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (name, property) in properties {
                fields.push(Field {
                    name: name.clone(),
                    ty: self.ty(document, property),
                    optional: !required.contains(&name.as_str()),
                    doc: doc_lines(property),
                });
            }
        }
        for name in required {
            if !fields.iter().any(|field| field.name == name) {
                fields.push(Field {
                    name: name.to_owned(),
                    ty: Ty::UNKNOWN,
                    optional: false,
                    doc: Vec::new(),
                });
            }
        }
        let index = self
            .index_signature(document, schema, &fields)
            .map(Box::new);
        Ty::Object(Object { fields, index })
    }

    /// The index signature's type: `additionalProperties` and
    /// `patternProperties`, widened by every field's type (and `undefined`
    /// for optional fields) as TypeScript requires.
    fn index_signature(
        &mut self,
        document: Document<'_>,
        schema: &Map<String, Value>,
        fields: &[Field],
    ) -> Option<Ty> {
        let mut members: Vec<Ty> = Vec::new();
        if let Some(Value::Object(patterns)) = schema.get("patternProperties") {
            members.extend(patterns.values().map(|pattern| self.ty(document, pattern)));
        }
        match schema.get("additionalProperties") {
            None | Some(Value::Bool(true)) if fields.is_empty() && members.is_empty() => {
                members.push(Ty::UNKNOWN)
            }
            None | Some(Value::Bool(_)) => {}
            Some(additional) => members.push(self.ty(document, additional)),
        }
        if members.is_empty() {
            return None;
        }
        members.extend(fields.iter().map(|field| field.ty.clone()));
        if fields.iter().any(|field| field.optional) {
            members.push(Ty::Keyword("undefined"));
        }
        Some(Ty::union(members))
    }

    fn array(&mut self, document: Document<'_>, schema: &Map<String, Value>) -> Ty {
        let (prefix, rest_keyword) = match (schema.get("prefixItems"), schema.get("items")) {
            (Some(Value::Array(prefix)), _) => (Some(prefix), "items"),
            (_, Some(Value::Array(prefix))) => (Some(prefix), "additionalItems"),
            _ => (None, "items"),
        };
        let Some(prefix) = prefix else {
            return Ty::Array(Box::new(
                schema
                    .get("items")
                    .map_or(Ty::UNKNOWN, |items| self.ty(document, items)),
            ));
        };
        let items: Vec<Ty> = prefix.iter().map(|item| self.ty(document, item)).collect();
        let min_items = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let required = usize::try_from(min_items)
            .unwrap_or(usize::MAX)
            .min(items.len());
        let rest = match schema.get(rest_keyword) {
            Some(Value::Bool(false)) => None,
            None | Some(Value::Bool(true)) => Some(Box::new(Ty::UNKNOWN)),
            Some(rest) => Some(Box::new(self.ty(document, rest))),
        };
        Ty::Tuple(Tuple {
            items,
            required,
            rest,
        })
    }

    fn reference(&mut self, document: Document<'_>, reference: &Value) -> Ty {
        let Some(reference) = reference.as_str() else {
            return Ty::unsupported("a `$ref` that is not a string");
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return Ty::unsupported(format!("$ref {}", string_literal(reference)));
        };
        if pointer.is_empty() {
            return Ty::Named(document.root_name.to_owned());
        }
        let Some(target) = document.root.pointer(pointer) else {
            return Ty::unsupported(format!("$ref {} (not found)", string_literal(reference)));
        };
        let key = self.target_key(document.root, pointer);
        if let Some(name) = self.by_target.get(&key) {
            return Ty::Named(name.clone());
        }
        let last_segment = pointer.rsplit('/').next().unwrap_or("");
        let name = self
            .names
            .allocate(&pascal_case(last_segment), "Definition");
        self.by_target.insert(key, name.clone());
        let slot = self.named.len();
        self.named.push(NamedType {
            name: name.clone(),
            doc: doc_lines(target),
            ty: Ty::UNKNOWN,
        });
        let ty = self.ty(document, target);
        self.named[slot].ty = ty;
        Ty::Named(name)
    }

    /// What identifies a `$ref` target. A target inside `$defs` or
    /// `definitions` whose refs stay there means the same in every document
    /// with identical `$defs`/`definitions`, so those share one named type;
    /// any other target belongs to its own document.
    fn target_key(&self, root: &Value, pointer: &str) -> String {
        let definitions = [root.get("$defs"), root.get("definitions")];
        let in_definitions = pointer.starts_with("/$defs/") || pointer.starts_with("/definitions/");
        if in_definitions
            && definitions
                .iter()
                .flatten()
                .all(|section| refs_stay_in_definitions(section))
        {
            let sections: Vec<String> = definitions
                .iter()
                .map(|section| section.map(Value::to_string).unwrap_or_default())
                .collect();
            format!("shared {pointer} {}", sections.join(" "))
        } else {
            format!("document {} {pointer}", self.documents)
        }
    }
}

/// Whether every `$ref` in `value` points into `#/$defs/` or `#/definitions/`.
fn refs_stay_in_definitions(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().all(|(key, value)| match (key.as_str(), value) {
            ("$ref", Value::String(reference)) => {
                reference.starts_with("#/$defs/") || reference.starts_with("#/definitions/")
            }
            _ => refs_stay_in_definitions(value),
        }),
        Value::Array(items) => items.iter().all(refs_stay_in_definitions),
        _ => true,
    }
}

fn implies_object(schema: &Map<String, Value>) -> bool {
    ["properties", "additionalProperties", "patternProperties"]
        .iter()
        .any(|key| schema.contains_key(*key))
}

fn implies_array(schema: &Map<String, Value>) -> bool {
    ["items", "prefixItems", "additionalItems"]
        .iter()
        .any(|key| schema.contains_key(*key))
}

fn literal(value: &Value) -> Ty {
    match value {
        Value::Null => Ty::Keyword("null"),
        Value::Bool(value) => Ty::Literal(value.to_string()),
        Value::Number(number) => Ty::Literal(number.to_string()),
        Value::String(text) => Ty::Literal(string_literal(text)),
        Value::Array(_) | Value::Object(_) => Ty::unsupported("a non-scalar `enum`/`const` value"),
    }
}

/// The JSDoc lines for a schema: its description, then `@integer`, the
/// constraint tags and `@deprecated`.
pub(super) fn doc_lines(schema: &Value) -> Vec<String> {
    let Value::Object(schema) = schema else {
        return Vec::new();
    };
    let mut lines =
        super::text::description_lines(schema.get("description").and_then(Value::as_str));
    if is_integer(schema.get("type")) {
        lines.push("@integer".to_owned());
    }
    for tag in CONSTRAINT_TAGS {
        if let Some(value) = schema.get(*tag) {
            let value = match value {
                Value::String(text) if *tag != "default" => text.clone(),
                value => value.to_string(),
            };
            lines.push(format!("@{tag} {value}"));
        }
    }
    if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
        lines.push("@uniqueItems".to_owned());
    }
    if schema.get("deprecated") == Some(&Value::Bool(true)) {
        lines.push("@deprecated".to_owned());
    }
    lines
}

fn is_integer(ty: Option<&Value>) -> bool {
    match ty {
        Some(Value::String(name)) => name == "integer",
        Some(Value::Array(names)) => names.iter().any(|name| name == "integer"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn convert(schema: Value) -> (Ty, Vec<NamedType>) {
        let mut converter = Converter::new();
        let ty = converter.document(Document {
            root: &schema,
            root_name: "Root",
        });
        (ty, converter.take_named())
    }

    fn ty(schema: Value) -> Ty {
        convert(schema).0
    }

    fn kw(keyword: &'static str) -> Ty {
        Ty::Keyword(keyword)
    }

    fn lit(text: &str) -> Ty {
        Ty::Literal(text.to_owned())
    }

    #[test]
    fn scalar_types_and_type_arrays() {
        assert_eq!(ty(json!({"type": "string"})), kw("string"));
        assert_eq!(ty(json!({"type": "integer"})), kw("number"));
        assert_eq!(
            ty(json!({"type": ["string", "null"]})),
            Ty::Union(vec![kw("string"), kw("null")])
        );
        assert_eq!(
            ty(json!({"type": "string", "nullable": true})),
            Ty::Union(vec![kw("string"), kw("null")])
        );
        assert_eq!(ty(json!({})), kw("unknown"));
        assert_eq!(ty(json!(true)), kw("unknown"));
        assert_eq!(ty(json!(false)), kw("never"));
    }

    #[test]
    fn enum_and_const_become_literals() {
        assert_eq!(
            ty(json!({"type": "string", "enum": ["a", "b\"", 3, true, null]})),
            Ty::Union(vec![
                lit("\"a\""),
                lit("\"b\\\"\""),
                lit("3"),
                lit("true"),
                kw("null")
            ])
        );
        assert_eq!(ty(json!({"const": "resource"})), lit("\"resource\""));
        assert!(ty(json!({"enum": [{"a": 1}]})).is_unknown());
    }

    #[test]
    fn objects_fields_and_index_signatures() {
        let Ty::Object(object) = ty(json!({
            "type": "object",
            "properties": {"b": {"type": "string", "description": "B."}, "a": {"type": "number"}},
            "required": ["b", "c"],
            "additionalProperties": false
        })) else {
            panic!("not an object");
        };
        let summary: Vec<(&str, bool)> = object
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.optional))
            .collect();
        assert_eq!(
            summary,
            [("b", false), ("a", true), ("c", false)],
            "schema order, then undeclared required"
        );
        assert_eq!(object.fields[0].doc, ["B."]);
        assert_eq!(object.fields[2].ty, kw("unknown"));
        assert_eq!(object.index, None);

        let open_empty = ty(json!({"type": "object"}));
        assert_eq!(
            open_empty,
            Ty::Object(Object {
                fields: vec![],
                index: Some(Box::new(kw("unknown")))
            })
        );
        let closed_empty =
            ty(json!({"type": "object", "properties": {}, "additionalProperties": false}));
        assert_eq!(
            closed_empty,
            Ty::Object(Object {
                fields: vec![],
                index: None
            })
        );

        let Ty::Object(map) = ty(json!({
            "properties": {"n": {"type": "number"}},
            "additionalProperties": {"type": "string"}
        })) else {
            panic!("not an object");
        };
        assert_eq!(
            map.index,
            Some(Box::new(Ty::Union(vec![
                kw("string"),
                kw("number"),
                kw("undefined")
            ])))
        );
    }

    #[test]
    fn arrays_and_tuples() {
        assert_eq!(
            ty(json!({"type": "array", "items": {"type": "string"}})),
            Ty::Array(Box::new(kw("string")))
        );
        assert_eq!(
            ty(json!({"type": "array"})),
            Ty::Array(Box::new(kw("unknown")))
        );
        assert_eq!(
            ty(
                json!({"prefixItems": [{"type": "string"}, {"type": "number"}], "minItems": 1, "items": false})
            ),
            Ty::Tuple(Tuple {
                items: vec![kw("string"), kw("number")],
                required: 1,
                rest: None
            })
        );
        assert_eq!(
            ty(json!({"type": "array", "items": [{"type": "string"}], "minItems": 5})),
            Ty::Tuple(Tuple {
                items: vec![kw("string")],
                required: 1,
                rest: Some(Box::new(kw("unknown")))
            })
        );
    }

    #[test]
    fn combinators() {
        assert_eq!(
            ty(json!({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "string"}]})),
            Ty::Union(vec![kw("string"), kw("number")])
        );
        assert_eq!(
            ty(json!({"oneOf": [{"type": "string"}, {}]})),
            kw("unknown")
        );
        assert_eq!(
            ty(json!({"allOf": [{"type": "string"}, {"minLength": 1}]})),
            kw("string"),
            "an unconstrained member drops out"
        );
        let both = ty(json!({"allOf": [{"properties": {"a": {}}}, {"properties": {"b": {}}}]}));
        assert!(
            matches!(both, Ty::Intersection(ref members) if members.len() == 2),
            "{both:?}"
        );
    }

    #[test]
    fn refs_become_named_types_once_even_when_recursive() {
        let (root, named) = convert(json!({
            "type": "object",
            "properties": {
                "tree": {"$ref": "#/$defs/Node"},
                "again": {"$ref": "#/$defs/Node"},
                "old": {"$ref": "#/definitions/old-style"},
                "self": {"$ref": "#"}
            },
            "$defs": {"Node": {"description": "A node.", "type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
            "definitions": {"old-style": {"type": "string"}}
        }));
        let names: Vec<&str> = named.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["Node", "OldStyle"]);
        assert_eq!(named[0].doc, ["A node."]);
        let Ty::Object(object) = root else {
            panic!("not an object")
        };
        let types: Vec<&Ty> = object.fields.iter().map(|f| &f.ty).collect();
        let [tree, again, old, this] = types.as_slice() else {
            panic!("{types:?}")
        };
        assert_eq!(**tree, Ty::Named("Node".into()));
        assert_eq!(**again, Ty::Named("Node".into()));
        assert_eq!(**old, Ty::Named("OldStyle".into()));
        assert_eq!(**this, Ty::Named("Root".into()));
    }

    #[test]
    fn identical_defs_are_shared_across_documents() {
        let schema =
            json!({"properties": {"t": {"$ref": "#/$defs/T"}}, "$defs": {"T": {"type": "string"}}});
        let other =
            json!({"properties": {"t": {"$ref": "#/$defs/T"}}, "$defs": {"T": {"type": "number"}}});
        let mut converter = Converter::new();
        for (schema, root_name) in [(&schema, "A"), (&schema, "B"), (&other, "C")] {
            converter.document(Document {
                root: schema,
                root_name,
            });
        }
        let named: Vec<String> = converter.take_named().into_iter().map(|n| n.name).collect();
        assert_eq!(named, ["T", "T2"]);
    }

    #[test]
    fn unsupported_input_is_unknown_with_a_note() {
        let note = |ty: Ty| match ty {
            Ty::Noted(inner, note) => (*inner, note),
            other => panic!("no note: {other:?}"),
        };
        assert_eq!(
            note(ty(json!({"not": {"type": "null"}}))),
            (kw("unknown"), "unsupported: not".to_owned())
        );
        assert_eq!(
            note(ty(json!({"type": "string", "if": {}, "then": {}}))),
            (kw("string"), "unsupported: if, then".to_owned())
        );
        assert_eq!(
            note(ty(json!({"$ref": "https://example.com/s.json"}))).0,
            kw("unknown")
        );
        assert_eq!(
            note(ty(json!({"$ref": "#/$defs/Missing"}))).0,
            kw("unknown")
        );
        assert_eq!(note(ty(json!({"type": "date"}))).0, kw("unknown"));
        assert_eq!(note(ty(json!({"type": 5}))).0, kw("unknown"));
        assert_eq!(note(ty(json!("string"))).0, kw("unknown"));
        assert_eq!(note(ty(json!({"$ref": 1}))).0, kw("unknown"));
    }

    #[test]
    fn docs_carry_description_and_constraints() {
        let doc = doc_lines(&json!({
            "type": "integer",
            "description": "How many.\nAt most ten.",
            "minimum": 1,
            "maximum": 10,
            "default": 3,
            "format": "int32",
            "pattern": "^[0-9]+$",
            "deprecated": true
        }));
        assert_eq!(
            doc,
            [
                "How many.",
                "At most ten.",
                "@integer",
                "@format int32",
                "@minimum 1",
                "@maximum 10",
                "@pattern ^[0-9]+$",
                "@default 3",
                "@deprecated"
            ]
        );
        assert_eq!(doc_lines(&json!({"default": "x"})), ["@default \"x\""]);
    }
}
