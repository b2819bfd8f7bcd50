//! Ranked search over the tools of all connected servers, so a model can find
//! a tool without reading every declaration. Pure: no I/O.
//!
//! # Ranking
//!
//! [BM25F] — BM25 (k1 = 1.2, b = 0.75) over weighted fields, each normalized
//! by its own average length. A tool's fields and their weights: its name 3,
//! its server's name 1, its description 1, its parameters' names ½ and their
//! descriptions ¼. A query scores the sum, over its distinct terms, of the
//! better of:
//! - the term's BM25F score;
//! - 0.8 × the score of a tool-name word the query word is a prefix of, when
//!   the query word has at least 3 letters (`nav` finds `navigate_page`).
//!
//! Hits are ordered by score, then server, then tool name; tools that match
//! no term are left out.
//!
//! # Bounds
//!
//! A [`Query`] has at most [`MAX_QUERY_CHARS`] characters and
//! [`MAX_QUERY_TERMS`] distinct terms (longer ones are refused, not cut), its
//! terms are deduplicated with a hash set, and ranking checks a caller's
//! interruption flag once per tool, so the work a query causes is bounded
//! and stops when the caller no longer wants it.
//!
//! # Terms
//!
//! Text is split at anything that is not a letter or digit and at camelCase
//! humps (`getTasks`, `get_tasks`, `get-tasks` and `HTTPServer` all split),
//! lower-cased, and rid of one-letter words and a few stop words. Each word
//! is then lightly stemmed — `-ies` → `-y`, `-sses` → `-ss`, `-xes`, `-zes`,
//! `-ches`, `-shes` and a plural `-s` (not `-ss`, `-us`, `-is`) dropped, then
//! `-ing` or `-ed`, then a final `-e`, each only if three letters remain — so
//! `entities` → `entity`, `files` and `file` → `fil`, `taking` and `take` →
//! `tak`. It is not linguistics, only consistent: queries and tools go
//! through the same steps. Finally a few synonyms that tools use
//! interchangeably become one term (`add`, `new`, `make` → `create`;
//! `remove` → `delete`; `execute`, `evaluate` → `run`; `folder` →
//! `directory`; the rest in `SYNONYMS`). Prefix matches compare the words
//! before stemming, so `file` does not find `fill`.
//!
//! [BM25F]: https://en.wikipedia.org/wiki/Okapi_BM25#Modifications

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::typegen::ToolInfo;

const K1: f64 = 1.2;

/// The fields of a tool, each with a weight and a BM25 `b` (how much its
/// length normalizes its term frequencies).
#[derive(Debug, Clone, Copy)]
enum Field {
    Name,
    Server,
    Description,
    ParameterName,
    ParameterDescription,
}

impl Field {
    const ALL: [Field; 5] = [
        Field::Name,
        Field::Server,
        Field::Description,
        Field::ParameterName,
        Field::ParameterDescription,
    ];

    fn weight(self) -> f64 {
        match self {
            Field::Name => 3.0,
            Field::Server | Field::Description => 1.0,
            Field::ParameterName => 0.5,
            Field::ParameterDescription => 0.25,
        }
    }

    fn b(self) -> f64 {
        match self {
            // every tool of a server has the same server field
            Field::Server => 0.0,
            _ => 0.75,
        }
    }
}

/// What a prefix match on a tool-name word is worth, relative to an exact match.
const PREFIX_FACTOR: f64 = 0.8;
/// The shortest query word that matches tool-name words by prefix.
const MIN_PREFIX_LEN: usize = 3;

const STOP_WORDS: &[&str] = &[
    "an", "and", "any", "are", "as", "at", "be", "by", "can", "do", "for", "from", "how", "in",
    "into", "is", "it", "its", "me", "my", "of", "on", "or", "please", "some", "that", "the",
    "this", "to", "with", "you", "your",
];

/// Groups of (stemmed) terms that tools use for the same action or thing;
/// each is indexed and searched as the group's first term.
const SYNONYMS: &[&[&str]] = &[
    &["creat", "add", "new", "mak"],
    &["delet", "remov"],
    &["show", "view", "display"],
    &["find", "search", "lookup"],
    &["edit", "updat", "modify", "chang"],
    &["run", "execut", "evaluat"],
    &["directory", "folder"],
];

/// A search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub server: String,
    pub tool: String,
    pub score: f64,
}

/// The most characters a query may have.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// The most distinct terms a query may have.
pub const MAX_QUERY_TERMS: usize = 64;

/// A query too large to rank.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query is longer than {MAX_QUERY_CHARS} characters: search for a few words")]
    TooLong,
    #[error("the query has {terms} distinct words, over the limit of {MAX_QUERY_TERMS}: search for a few words")]
    TooManyTerms { terms: usize },
}

/// A query's distinct terms, in order of first appearance.
#[derive(Debug)]
pub struct Query {
    tokens: Vec<Token>,
}

impl Query {
    /// Splits `text` into its distinct terms, refusing a query over
    /// [`MAX_QUERY_CHARS`] characters (looked at no further) or
    /// [`MAX_QUERY_TERMS`] distinct terms.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        if text.chars().nth(MAX_QUERY_CHARS).is_some() {
            return Err(QueryError::TooLong);
        }
        let mut seen = HashSet::new();
        let tokens: Vec<Token> = tokens(text).into_iter().filter(|token| seen.insert(token.term.clone())).collect();
        if tokens.len() > MAX_QUERY_TERMS {
            return Err(QueryError::TooManyTerms { terms: tokens.len() });
        }
        Ok(Query { tokens })
    }
}

/// The searchable terms of every tool of every server.
#[derive(Debug)]
pub struct ToolIndex {
    documents: Vec<Document>,
    /// How many documents contain each term, in any field.
    document_frequency: HashMap<String, usize>,
    /// The average length of each field, by `Field as usize`.
    average_lengths: [f64; Field::ALL.len()],
}

/// One tool: the terms of each field, by `Field as usize`.
#[derive(Debug)]
struct Document {
    server: String,
    tool: String,
    fields: [Bag; Field::ALL.len()],
    /// The tokens of the tool name, for prefix matches.
    name_tokens: Vec<Token>,
}

/// A word of some text (lower-cased) and the term it is indexed as.
#[derive(Debug)]
struct Token {
    word: String,
    term: String,
}

/// The terms of one field, with how often each occurs.
#[derive(Debug, Default)]
struct Bag {
    counts: HashMap<String, f64>,
    length: f64,
}

impl Bag {
    fn add(&mut self, text: &str) {
        for term in terms(text) {
            *self.counts.entry(term).or_default() += 1.0;
            self.length += 1.0;
        }
    }

    fn count(&self, term: &str) -> f64 {
        self.counts.get(term).copied().unwrap_or(0.0)
    }
}

impl ToolIndex {
    /// Indexes `tools`, given as (server name, tool) pairs.
    pub fn new<'a>(tools: impl IntoIterator<Item = (&'a str, &'a ToolInfo)>) -> Self {
        let documents: Vec<Document> = tools
            .into_iter()
            .map(|(server, tool)| Document::new(server, tool))
            .collect();
        let mut document_frequency: HashMap<String, usize> = HashMap::new();
        for document in &documents {
            let terms: HashSet<&String> = document
                .fields
                .iter()
                .flat_map(|bag| bag.counts.keys())
                .collect();
            for term in terms {
                *document_frequency.entry(term.clone()).or_default() += 1;
            }
        }
        let average_lengths = Field::ALL.map(|field| {
            let total: f64 = documents
                .iter()
                .map(|document| document.fields[field as usize].length)
                .sum();
            if documents.is_empty() {
                0.0
            } else {
                total / documents.len() as f64
            }
        });
        Self {
            documents,
            document_frequency,
            average_lengths,
        }
    }

    /// The `limit` tools that best match `query`, best first; `None` when
    /// `interrupted` turned true (it is checked once per tool).
    pub fn search(&self, query: &Query, limit: usize, interrupted: &dyn Fn() -> bool) -> Option<Vec<Hit>> {
        let mut hits = Vec::new();
        for document in &self.documents {
            if interrupted() {
                return None;
            }
            let score: f64 = query.tokens.iter().map(|token| self.token_score(document, token)).sum();
            if score > 0.0 {
                hits.push(Hit { server: document.server.clone(), tool: document.tool.clone(), score });
            }
        }
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.server.cmp(&b.server))
                .then_with(|| a.tool.cmp(&b.tool))
        });
        hits.truncate(limit);
        Some(hits)
    }

    /// The score of a query token's term, or of a tool-name word the
    /// token's word starts, if that is higher.
    fn token_score(&self, document: &Document, token: &Token) -> f64 {
        let exact = self.bm25f(document, &token.term, |field| {
            document.fields[field as usize].count(&token.term)
        });
        if token.word.chars().count() < MIN_PREFIX_LEN {
            return exact;
        }
        let name = &document.fields[Field::Name as usize];
        document
            .name_tokens
            .iter()
            .filter(|name_token| {
                name_token.term != token.term
                    && name_token.word.len() > token.word.len()
                    && name_token.word.starts_with(&token.word)
            })
            .map(|name_token| {
                let count = name.count(&name_token.term);
                let only_in_name = |field| {
                    if matches!(field, Field::Name) {
                        count
                    } else {
                        0.0
                    }
                };
                PREFIX_FACTOR * self.bm25f(document, &name_token.term, only_in_name)
            })
            .fold(exact, f64::max)
    }

    /// BM25F: the field-weighted, length-normalized frequency of `term`
    /// (`count` per field), saturated and scaled by its idf.
    fn bm25f(&self, document: &Document, term: &str, count: impl Fn(Field) -> f64) -> f64 {
        let frequency: f64 = Field::ALL
            .iter()
            .map(|&field| {
                let average = self.average_lengths[field as usize];
                let relative_length = if average > 0.0 {
                    document.fields[field as usize].length / average
                } else {
                    1.0
                };
                field.weight() * count(field) / (1.0 - field.b() + field.b() * relative_length)
            })
            .sum();
        if frequency == 0.0 {
            return 0.0;
        }
        let documents = self.documents.len() as f64;
        let containing = self.document_frequency.get(term).copied().unwrap_or(0) as f64;
        let idf = (1.0 + (documents - containing + 0.5) / (containing + 0.5)).ln();
        idf * frequency * (K1 + 1.0) / (frequency + K1)
    }
}

impl Document {
    fn new(server: &str, tool: &ToolInfo) -> Self {
        let mut fields: [Bag; Field::ALL.len()] = Default::default();
        fields[Field::Name as usize].add(&tool.name);
        fields[Field::Server as usize].add(server);
        fields[Field::Description as usize].add(tool.description.as_deref().unwrap_or(""));
        if let Some(Value::Object(properties)) = tool.input_schema.get("properties") {
            for (name, property) in properties {
                fields[Field::ParameterName as usize].add(name);
                let description = property
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                fields[Field::ParameterDescription as usize].add(description);
            }
        }
        Self {
            server: server.to_owned(),
            tool: tool.name.clone(),
            fields,
            name_tokens: tokens(&tool.name),
        }
    }
}

/// The search terms of `text`, in order (see the module doc).
fn terms(text: &str) -> Vec<String> {
    tokens(text).into_iter().map(|token| token.term).collect()
}

fn tokens(text: &str) -> Vec<Token> {
    words(text)
        .into_iter()
        .map(|word| word.to_lowercase())
        .filter(|word| word.chars().count() > 1 && !STOP_WORDS.contains(&word.as_str()))
        .map(|word| Token {
            term: canonical(stem(&word)),
            word,
        })
        .collect()
}

/// The first term of `term`'s synonym group, or `term`.
fn canonical(term: String) -> String {
    match SYNONYMS.iter().find(|group| group.contains(&term.as_str())) {
        Some(group) => group[0].to_owned(),
        None => term,
    }
}

/// `text` split at non-alphanumerics and camelCase humps: a lower-case letter
/// or digit followed by an upper-case one, or an upper-case letter followed
/// by an upper-case one and a lower-case one (`HTTPServer` → `HTTP`, `Server`).
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for run in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|run| !run.is_empty())
    {
        let chars: Vec<char> = run.chars().collect();
        let mut word = String::new();
        for (index, &c) in chars.iter().enumerate() {
            let previous = index.checked_sub(1).map(|i| chars[i]);
            let next = chars.get(index + 1);
            let hump = c.is_uppercase()
                && previous.is_some_and(|p| {
                    p.is_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
                });
            if hump && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            word.push(c);
        }
        words.push(word);
    }
    words
}

/// Light suffix stripping (see the module doc).
fn stem(word: &str) -> String {
    let mut word = strip_plural(word);
    for suffix in ["ing", "ed"] {
        if let Some(stem) = word
            .strip_suffix(suffix)
            .filter(|stem| stem.chars().count() >= 3)
        {
            word = stem.to_owned();
            break;
        }
    }
    match word
        .strip_suffix('e')
        .filter(|stem| stem.chars().count() >= 3)
    {
        Some(stem) => stem.to_owned(),
        None => word,
    }
}

fn strip_plural(word: &str) -> String {
    if word.chars().count() <= 3 {
        return word.to_owned();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    if let Some(stem) = word.strip_suffix("sses") {
        return format!("{stem}ss");
    }
    if ["xes", "zes", "ches", "shes"]
        .iter()
        .any(|suffix| word.ends_with(suffix))
    {
        return word[..word.len() - 2].to_owned();
    }
    match word.strip_suffix('s') {
        Some(stem)
            if !["ss", "us", "is"]
                .iter()
                .any(|ending| word.ends_with(ending)) =>
        {
            stem.to_owned()
        }
        _ => word.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;
    use std::fs;
    use std::path::Path;

    use super::*;

    impl ToolIndex {
        fn find(&self, query: &str, limit: usize) -> Vec<Hit> {
            self.search(&Query::parse(query).expect("a valid query"), limit, &|| false).expect("not interrupted")
        }
    }

    #[test]
    fn queries_are_bounded_and_deduplicated() {
        assert_eq!(Query::parse(&"a".repeat(MAX_QUERY_CHARS)).map(|query| query.tokens.len()), Ok(1));
        assert_eq!(Query::parse(&"é".repeat(MAX_QUERY_CHARS + 1)).unwrap_err(), QueryError::TooLong);
        let repeated = "task ".repeat(MAX_QUERY_CHARS / 5);
        assert_eq!(Query::parse(&repeated).map(|query| query.tokens.len()), Ok(1));
        let many: String = (0..100).map(|n| format!("w{n} ")).collect();
        assert!(many.len() <= MAX_QUERY_CHARS);
        assert_eq!(Query::parse(&many).unwrap_err(), QueryError::TooManyTerms { terms: 100 });
    }

    #[test]
    fn ranking_stops_when_interrupted() {
        let index = fixture_index();
        let query = Query::parse("list files").unwrap();
        assert!(index.search(&query, 10, &|| true).is_none());
        let checks = std::cell::Cell::new(0);
        let hits = index.search(&query, 10, &|| {
            checks.set(checks.get() + 1);
            false
        });
        assert!(hits.is_some_and(|hits| !hits.is_empty()));
        assert_eq!(checks.get(), index.documents.len(), "checked once per tool");
    }

    /// The recorded `tools/list` snapshots, each as the server its file names.
    fn fixture_tools() -> Vec<(String, ToolInfo)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tools");
        let mut files: Vec<_> = fs::read_dir(&dir)
            .expect("the fixtures folder")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.to_string_lossy().ends_with(".tools.json"))
            .collect();
        files.sort();
        let mut tools = Vec::new();
        for path in files {
            let file_name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let server = file_name.trim_end_matches(".tools.json").to_owned();
            let list: Vec<ToolInfo> =
                serde_json::from_str(&fs::read_to_string(&path).expect("readable"))
                    .expect("a tools list");
            tools.extend(list.into_iter().map(|tool| (server.clone(), tool)));
        }
        assert!(
            tools.len() > 100,
            "fixtures are missing: {} tools",
            tools.len()
        );
        tools
    }

    fn fixture_index() -> ToolIndex {
        let tools = fixture_tools();
        ToolIndex::new(tools.iter().map(|(server, tool)| (server.as_str(), tool)))
    }

    fn top(index: &ToolIndex, query: &str) -> (String, String) {
        let hit = index
            .find(query, 1)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no hit for {query:?}"));
        (hit.server, hit.tool)
    }

    #[test]
    fn natural_queries_find_the_right_tool_first() {
        let index = fixture_index();
        let cases: &[(&str, &str, &[&str])] = &[
            ("create a task", "task-master-ai", &["add_task"]),
            ("take a screenshot", "chrome-devtools", &["take_screenshot"]),
            ("navigate to a url", "chrome-devtools", &["navigate_page"]),
            (
                "read a file",
                "filesystem",
                &["read_file", "read_text_file"],
            ),
            ("list directory", "filesystem", &["list_directory"]),
            ("current time", "time", &["get_current_time"]),
            ("git commit", "git", &["git_commit"]),
            (
                "add observations to an entity",
                "memory",
                &["add_observations"],
            ),
            (
                "delete a relation from the knowledge graph",
                "memory",
                &["delete_relations"],
            ),
            (
                "convert a time to another timezone",
                "time",
                &["convert_time"],
            ),
            (
                "run javascript in the page",
                "chrome-devtools",
                &["evaluate_script"],
            ),
            ("make a new folder", "filesystem", &["create_directory"]),
            ("switch git branch", "git", &["git_checkout"]),
            ("edit a file", "filesystem", &["edit_file"]),
        ];
        let mut failures = Vec::new();
        for (query, server, tools) in cases {
            let (hit_server, hit_tool) = top(&index, query);
            if hit_server != *server || !tools.contains(&hit_tool.as_str()) {
                failures.push(format!(
                    "{query:?}: expected {server} {tools:?}, got {hit_server} {hit_tool}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn a_query_word_matches_a_tool_name_word_by_prefix() {
        let index = fixture_index();
        assert_eq!(
            top(&index, "nav"),
            ("chrome-devtools".to_owned(), "navigate_page".to_owned())
        );
        assert_eq!(top(&index, "heapsnap").1, "take_heapsnapshot");
        let screen: Vec<String> = index
            .find("screen", 10)
            .into_iter()
            .map(|hit| hit.tool)
            .collect();
        assert_eq!(
            screen,
            ["screencast_start", "screencast_stop", "take_screenshot"]
        );
        // words match by prefix, not stems: `file` (stem `fil`) is no prefix of `fill`
        assert!(
            index
                .find("file", 200)
                .iter()
                .all(|hit| hit.tool != "fill")
        );
        assert!(
            index.find("na", 10).is_empty(),
            "two letters are too short a prefix"
        );
    }

    #[test]
    fn limit_order_and_determinism() {
        let tools = fixture_tools();
        let index = ToolIndex::new(tools.iter().map(|(server, tool)| (server.as_str(), tool)));
        let hits = index.find("list files in a directory", 5);
        assert_eq!(hits.len(), 5);
        assert!(
            hits.windows(2).all(|pair| pair[0].score >= pair[1].score),
            "{hits:?}"
        );
        assert!(index.find("list files in a directory", 0).is_empty());

        let all = index.find("list", usize::MAX);
        assert!(
            all.len() > 5 && all.len() < tools.len(),
            "only matching tools: {}",
            all.len()
        );
        for pair in all.windows(2) {
            let order = pair[1]
                .score
                .total_cmp(&pair[0].score)
                .then_with(|| pair[0].server.cmp(&pair[1].server))
                .then_with(|| pair[0].tool.cmp(&pair[1].tool));
            assert_eq!(order, Ordering::Less, "{pair:?}");
        }

        let reversed = ToolIndex::new(
            tools
                .iter()
                .rev()
                .map(|(server, tool)| (server.as_str(), tool)),
        );
        for query in ["list files in a directory", "task", "get"] {
            assert_eq!(
                index.find(query, 20),
                reversed.find(query, 20),
                "{query:?}"
            );
            assert_eq!(
                index.find(query, 20),
                index.find(query, 20),
                "{query:?}"
            );
        }
    }

    #[test]
    fn nothing_matches_nothing() {
        let index = fixture_index();
        assert!(index.find("", 10).is_empty());
        assert!(index.find("the a of", 10).is_empty());
        assert!(index.find("xylophone", 10).is_empty());
        assert!(ToolIndex::new([]).find("task", 10).is_empty());
    }

    #[test]
    fn ties_break_by_server_then_tool() {
        let tool = |name: &str| ToolInfo {
            name: name.to_owned(),
            description: None,
            input_schema: Value::Null,
            output_schema: None,
        };
        let (b, a) = (tool("ping"), tool("ping"));
        let index = ToolIndex::new([("zeta", &b), ("alpha", &a)]);
        let hits = index.find("ping", 10);
        let order: Vec<&str> = hits.iter().map(|hit| hit.server.as_str()).collect();
        assert_eq!(order, ["alpha", "zeta"]);
        assert_eq!(hits[0].score, hits[1].score);
    }

    #[test]
    fn words_split_at_case_humps_and_punctuation() {
        assert_eq!(
            words("getTasks get_tasks get-tasks a.b"),
            ["get", "Tasks", "get", "tasks", "get", "tasks", "a", "b"]
        );
        assert_eq!(
            words("HTTPServer baseURL base64 a11y"),
            ["HTTP", "Server", "base", "URL", "base64", "a11y"]
        );
    }

    #[test]
    fn stemming_is_light_and_consistent() {
        let cases = [
            ("entities", "entity"),
            ("directories", "directory"),
            ("files", "fil"),
            ("file", "fil"),
            ("processes", "process"),
            ("boxes", "box"),
            ("matches", "match"),
            ("status", "status"),
            ("analysis", "analysis"),
            ("taking", "tak"),
            ("take", "tak"),
            ("created", "creat"),
            ("create", "creat"),
            ("added", "add"),
            ("uses", "use"),
            ("use", "use"),
            ("thing", "thing"),
        ];
        for (word, stemmed) in cases {
            assert_eq!(stem(word), stemmed, "stem({word:?})");
        }
        assert_eq!(terms("The files of the Project"), ["fil", "project"]);
    }
}
