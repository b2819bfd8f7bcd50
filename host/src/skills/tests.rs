use serde_json::json;

use super::*;

fn library(data_dir: &Path) -> Library {
    let (library, problems) = Library::load(SkillFolders { directory: None, data_dir: Some(data_dir.to_owned()) });
    assert!(problems.is_empty(), "{problems:?}");
    library
}

fn schema() -> Map<String, Value> {
    json!({"type": "object", "properties": {"n": {"type": "number"}}, "required": ["n"]}).as_object().unwrap().clone()
}

fn request(name: &str, code: &str) -> SaveRequest {
    SaveRequest {
        name: name.into(),
        code: code.into(),
        description: "Adds one.".into(),
        input_schema: schema(),
        output_schema: None,
        servers: vec!["memory".into()],
        replace: false,
    }
}

fn known() -> Vec<String> {
    vec!["memory".into(), "filesystem".into()]
}

#[test]
fn every_built_in_skill_reads_compiles_and_exports_its_camel_case_name() {
    let skills: Vec<Skill> = built_in().collect::<Result<_, _>>().expect("every built-in skill reads");
    assert!(!skills.is_empty());
    for skill in skills {
        skill.javascript().unwrap_or_else(|error| panic!("{error}"));
        // Not compiled as they load (see `Skill::input`): checked here.
        assert!(skill.input.get().is_none(), "{}: its input schema is compiled when first needed", skill.name());
        skill.check_schemas().unwrap_or_else(|error| panic!("{error}"));
        let module = meta::parse_module(&skill.source).expect("it parses");
        let camel = crate::typegen::camel_case(skill.name());
        let exported = module.body.iter().any(|item| {
            use swc_ecma_ast::{Decl, ExportSpecifier, ModuleDecl, ModuleExportName, ModuleItem};
            match item {
                ModuleItem::ModuleDecl(ModuleDecl::ExportNamed(named)) => named.specifiers.iter().any(|specifier| {
                    matches!(specifier, ExportSpecifier::Named(named)
                        if matches!(named.exported.as_ref().unwrap_or(&named.orig), ModuleExportName::Ident(id) if *id.sym == *camel))
                }),
                ModuleItem::ModuleDecl(ModuleDecl::ExportDecl(export)) => matches!(&export.decl, Decl::Fn(f) if *f.ident.sym == *camel),
                _ => false,
            }
        });
        assert!(exported, "{} also exports `{camel}`, as the plan's skills do", skill.name());
        assert!(!skill.meta.examples.is_empty() && skill.meta.output.is_some(), "{} documents its output", skill.name());
    }
}

#[test]
fn a_program_body_becomes_a_skill_with_its_lines_and_the_arguments_as_meta() {
    let data = tempfile::tempdir().unwrap();
    let library = library(data.path());
    let body = "const m = await import(\"mcp://memory\");\nreturn { value: input.n + 1 };";
    let skill = library.prepare(request("add-one", body), &known()).unwrap().skill;
    assert!(skill.source.starts_with("export default async function run(input: any) { const m = await import(\"mcp://memory\");\nreturn"), "{}", skill.source);
    assert_eq!(skill.meta.servers, ["memory"]);
    assert_eq!(skill.meta.input, schema());
    let broken = library.prepare(request("add-one", "const a = 1;\nconst b = ;\n"), &known()).unwrap_err();
    assert!(broken.to_string().ends_with("(line 2, column 11)"), "the code's own line and column: {broken}");
    let first_line = library.prepare(request("add-one", "return 1 +;"), &known()).unwrap_err();
    assert!(first_line.to_string().ends_with("(line 1, column 11)"), "the column in the code given: {first_line}");
}

#[test]
fn a_module_keeps_its_own_meta_which_must_agree_with_the_arguments() {
    let data = tempfile::tempdir().unwrap();
    let library = library(data.path());
    let module = |description: &str| {
        format!(
            "export const meta = {{ name: \"add-one\", description: \"{description}\", servers: [\"memory\"], \
             input: {{ type: \"object\", properties: {{ n: {{ type: \"number\" }} }}, required: [\"n\"] }}, examples: [\"addOne({{n: 1}})\"] }};\n\
             export default async function addOne(input: {{ n: number }}) {{ return input.n + 1; }}\n"
        )
    };
    assert!(library.prepare(request("add-one", &module("Adds one.")), &known()).is_ok());
    let disagreeing = library.prepare(request("add-one", &module("Adds two.")), &known()).unwrap_err();
    assert!(matches!(disagreeing, SkillError::Inconsistent { field: "description", .. }), "{disagreeing}");
}

#[test]
fn bad_requests_are_refused_before_anything_is_written() {
    let data = tempfile::tempdir().unwrap();
    let library = library(data.path());
    let refused = |request: SaveRequest| library.prepare(request, &known()).unwrap_err();
    assert!(matches!(refused(request("Add One", "return 1;")), SkillError::InvalidName { .. }));
    assert!(matches!(refused(request("add-one", &"x".repeat(MAX_SKILL_SOURCE_BYTES + 1))), SkillError::TooLarge { .. }));
    let mut unknown = request("add-one", "return 1;");
    unknown.servers = vec!["nowhere".into()];
    assert!(matches!(refused(unknown), SkillError::UnknownServers { .. }));
    let built_in_name = BUILT_IN[0].0;
    assert!(matches!(refused(request(built_in_name, "return 1;")), SkillError::Protected { origin: Origin::Builtin, .. }));
    assert!(!data.path().join(SAVED_SKILLS_DIR).exists(), "nothing was written");
}

#[test]
fn saved_skills_are_offered_at_once_survive_a_restart_and_are_deleted() {
    let data = tempfile::tempdir().unwrap();
    let first = library(data.path());
    let prepared = first.prepare(request("add-one", "return input.n + 1;"), &known()).unwrap();
    first.commit(prepared).unwrap();
    assert!(first.current().get("add-one").is_some());
    assert!(matches!(
        first.prepare(request("add-one", "return 2;"), &known()),
        Err(SkillError::Exists { origin: Origin::Saved, .. })
    ));
    let mut replacing = request("add-one", "return input.n + 2;");
    replacing.replace = true;
    first.commit(first.prepare(replacing, &known()).unwrap()).unwrap();

    let restarted = library(data.path());
    let saved = restarted.current().get("add-one").cloned().expect("read back after a restart");
    assert_eq!((saved.origin, saved.source.contains("input.n + 2")), (Origin::Saved, true));
    restarted.delete("add-one").unwrap();
    assert!(restarted.current().get("add-one").is_none());
    assert!(matches!(restarted.delete("add-one"), Err(SkillError::NotFound { .. })));
    assert!(matches!(restarted.delete(BUILT_IN[0].0), Err(SkillError::Protected { .. })));
    let leftovers: Vec<_> = std::fs::read_dir(data.path().join(SAVED_SKILLS_DIR)).unwrap().collect();
    assert!(leftovers.is_empty(), "no temporary files are left: {leftovers:?}");
}

#[test]
fn a_folder_skill_that_does_not_read_is_reported_and_the_others_are_offered() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("broken.ts"), "export const meta = { name: \"broken\" };\nexport default async () => 1;\n").unwrap();
    std::fs::write(folder.path().join("Bad Name.ts"), "").unwrap();
    std::fs::write(folder.path().join("notes.d.ts"), "declare const x: number;").unwrap();
    let (library, problems) = Library::load(SkillFolders { directory: Some(folder.path().to_owned()), data_dir: None });
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|problem| problem.to_string().contains("broken.ts") && problem.to_string().contains("(line ")));
    assert_eq!(library.current().len(), BUILT_IN.len());
}

#[test]
fn inputs_are_checked_against_the_input_schema_and_schemas_must_be_valid() {
    let report = built_in().find_map(|skill| skill.ok().filter(|skill| skill.name() == "knowledge-graph-report")).unwrap();
    assert_eq!(report.check_input(&json!({})), Ok(()));
    let problems = report.check_input(&json!({"top": "five", "query": 3})).unwrap_err();
    assert!(problems.contains("/top") && problems.contains("/query"), "{problems}");
    let data = tempfile::tempdir().unwrap();
    let mut invalid = request("add-one", "return 1;");
    invalid.input_schema = json!({"type": "object", "properties": {"n": {"type": "numeric"}}}).as_object().unwrap().clone();
    let refused = library(data.path()).prepare(invalid, &known()).unwrap_err();
    assert!(matches!(refused, SkillError::Schema { field: "input", .. }), "{refused}");
}
