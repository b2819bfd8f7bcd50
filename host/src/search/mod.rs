//! Ranked search over the tools of all connected servers, so a model can find
//! a tool from a plain question without reading every declaration. Shared by
//! `search_tools` and `mcp.search`. The lexical ranking is pure; the
//! semantic one ([`semantic`]) reads the model and its embedding cache.
//! The index is generic over (server, [`Entry`]) pairs: anything with a name,
//! a description and a JSON-schema of parameters can be ranked with tools.
//!
//! # Ranking
//!
//! When the sentence-embedding model is installed ([`semantic`]), an entry's
//! score is the cosine similarity of the query's embedding and the entry's
//! (its server, its name's words and its description, embedded by
//! all-MiniLM-L6-v2), plus 0.1 times its lexical score below divided by the
//! best lexical score of the query: meaning decides, words shared with the
//! query break near-ties. Every entry then has a score, so a search returns
//! its `limit` best ones even when none shares a word with the query. Until
//! an index's embeddings are ready (the first search of new tools waits at
//! most a second), and without the model, the ranking is the lexical one
//! alone.
//!
//! The lexical score is [BM25F] — BM25 (k1 = 1.2, b = 0.75) over weighted fields, each normalized
//! by its own average length. An entry's fields and their weights:
//! - its name's terms 3, and its name's words as written (unstemmed) 1, so
//!   `tasks` prefers `get_tasks` to `get_task`;
//! - its server's name 1 (b = 0: every tool of a server has it), together
//!   with a name's first word when that word starts the names of at least
//!   half of the server's tools (at least 3): `git_` of `git_commit`,
//!   task-master-style prefixes, say which server, not what the tool does;
//! - its description 1;
//! - its parameters' names ½, and their descriptions and `enum` values ½,
//!   nested ones included (`properties`, `items`, `anyOf`, `oneOf`, `allOf`),
//!   less the terms the parameters of at least half of its server's entries
//!   (at least 3) have: an argument every tool takes (`projectRoot`) says
//!   nothing about what one tool does.
//!
//! Each query term scores the best of its alternatives, each a term of the
//! index with a factor:
//! - itself (1), and its word as written in a tool name (1);
//! - a compound of it and the word before or after it, as the tools write it
//!   (1): `look up` finds `lookup`, `web page` finds `webpage`;
//! - a tool-name word it is a prefix of, when it has at least 3 letters (0.8,
//!   name field only): `nav` finds `navigate_page`;
//! - a term of the index that shares a long prefix with it (0.7): at least 5
//!   letters and ¾ of the shorter term (`relationship` finds `relation`,
//!   `modified` finds `modify`). These are learned from the tools' own
//!   vocabulary, not from a hand-written list.
//!
//! A tool's lexical score is the sum of its query terms' scores times the
//! share of the query's terms it matched (coordination), so a tool matching
//! every word of "rename a file" beats one matching only the rarest. Hits are
//! ordered by score, then server, then tool name; in the lexical ranking,
//! tools that match no term are left out.
//!
//! # Terms
//!
//! Text is split at anything that is not a letter or digit and at camelCase
//! humps (`getTasks`, `get_tasks`, `get-tasks` and `HTTPServer` all split),
//! lower-cased, and rid of one-letter words and English stop words (NLTK's
//! list, plus a few request words such as "please"). Each word is then lightly
//! stemmed — `-ies` → `-y`, `-sses` → `-ss`, `-xes`, `-zes`, `-ches`, `-shes`
//! and a plural `-s` (not `-ss`, `-us`, `-is`) dropped, then `-ing` or `-ed`,
//! then a final `-e`, each only if three letters remain — so `entities` →
//! `entity`, `files` and `file` → `fil`, `taking` and `take` → `tak`. It is
//! not linguistics, only consistent: queries and tools go through the same
//! steps. Finally the few synonyms tools use interchangeably become one term
//! (`add`, `new`, `make` → `create`; `remove` → `delete`; the rest in
//! `text::SYNONYMS`). Prefix matches compare the words before stemming, so
//! `file` does not find `fill`.
//!
//! # Bounds
//!
//! A [`Query`] has at most [`MAX_QUERY_CHARS`] characters and
//! [`MAX_QUERY_TERMS`] distinct terms (longer ones are refused, not cut), its
//! terms are deduplicated, and each has at most [`MAX_ALTERNATIVES`]
//! alternatives. An entry's parameters are read to a depth of
//! [`MAX_SCHEMA_DEPTH`] and at most [`MAX_SCHEMA_NODES`] schemas. Ranking
//! checks a caller's interruption flag once per alternative and once per
//! tool, so the work a query causes is bounded and stops when the caller no
//! longer wants it.
//!
//! An index is kept between searches while its tools do not change
//! ([`IndexCache`]): a search then only ranks (and embeds a query not asked
//! recently). The fused ranking checks the interruption flag once per entry
//! too; embedding a query is bounded by the query's length.
//!
//! [BM25F]: https://en.wikipedia.org/wiki/Okapi_BM25#Modifications

mod cache;
mod embedder;
pub mod semantic;
#[cfg(test)]
mod tests;
mod text;
mod wordpiece;

pub use cache::IndexCache;

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::typegen::ToolInfo;
use text::Token;

const K1: f64 = 1.2;

/// The fields of an entry, each with a weight and a BM25 `b` (how much its
/// length normalizes its term frequencies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    NameWord,
    Server,
    Description,
    ParameterName,
    ParameterDescription,
}

const FIELDS: usize = 6;

impl Field {
    const ALL: [Field; FIELDS] = [
        Field::Name,
        Field::NameWord,
        Field::Server,
        Field::Description,
        Field::ParameterName,
        Field::ParameterDescription,
    ];

    fn weight(self) -> f64 {
        match self {
            Field::Name => 3.0,
            Field::NameWord | Field::Server | Field::Description => 1.0,
            Field::ParameterName | Field::ParameterDescription => 0.5,
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

/// What the best lexical score adds to a cosine similarity in the fused
/// ranking (see the module doc).
const LEXICAL_WEIGHT: f64 = 0.1;
/// What a prefix match on a tool-name word is worth, relative to an exact match.
const PREFIX_FACTOR: f64 = 0.8;
/// The shortest query word that matches tool-name words by prefix.
const MIN_PREFIX_LEN: usize = 3;
/// What a term sharing a long prefix is worth, relative to an exact match.
const RELATED_FACTOR: f64 = 0.7;
/// The shortest shared prefix of related terms.
const MIN_RELATED_PREFIX: usize = 5;
/// The least share of the shorter term a related term's shared prefix covers.
const MIN_RELATED_SHARE: f64 = 0.75;
/// How a name word as written is marked in the vocabulary, apart from terms.
const WORD_MARK: char = '=';
/// The most alternatives one query term has.
pub const MAX_ALTERNATIVES: usize = 32;
/// How deep an entry's parameter schema is read.
pub const MAX_SCHEMA_DEPTH: usize = 6;
/// The most schemas of one entry's parameters that are read.
pub const MAX_SCHEMA_NODES: usize = 256;

/// Something to rank: a tool, or anything shaped like one.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    /// A JSON schema of the entry's parameters (an object's `properties`).
    pub parameters: Option<&'a Value>,
}

impl<'a> From<&'a ToolInfo> for Entry<'a> {
    fn from(tool: &'a ToolInfo) -> Self {
        Entry {
            name: &tool.name,
            description: tool.description.as_deref(),
            parameters: Some(&tool.input_schema),
        }
    }
}

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

/// A query's distinct terms, in order of first appearance, and the compounds
/// of its adjacent words.
#[derive(Debug)]
pub struct Query {
    /// The query as asked, for the semantic ranking.
    text: String,
    tokens: Vec<Token>,
    /// Each pair of adjacent words (stop words included) written as one.
    compounds: Vec<Token>,
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
        let tokens: Vec<Token> = text::tokens(text).into_iter().filter(|token| seen.insert(token.term.clone())).collect();
        if tokens.len() > MAX_QUERY_TERMS {
            return Err(QueryError::TooManyTerms { terms: tokens.len() });
        }
        let words: Vec<String> = text::words(text).into_iter().map(|word| word.to_lowercase()).collect();
        let compounds = words
            .windows(2)
            .map(|pair| text::token(pair.concat()))
            .filter(|token| seen.insert(token.term.clone()))
            .take(MAX_QUERY_TERMS)
            .collect();
        Ok(Query { text: text.to_owned(), tokens, compounds })
    }
}

/// The searchable terms of every entry of every server.
#[derive(Debug)]
pub struct ToolIndex {
    documents: Vec<Document>,
    /// Every term (and name word as written, marked) with its id.
    vocabulary: HashMap<String, usize>,
    /// By term id: the entries that contain it, with how often in each field.
    postings: Vec<Vec<Posting>>,
    /// Each distinct tool-name word as written, with its term's id.
    name_words: Vec<(String, usize)>,
    /// The average length of each field, by `Field as usize`.
    average_lengths: [f64; FIELDS],
    /// The entries' texts and embeddings for the semantic ranking, by document.
    vectors: semantic::Vectors,
}

#[derive(Debug)]
struct Document {
    server: String,
    tool: String,
    /// The number of terms in each field.
    lengths: [f64; FIELDS],
}

#[derive(Debug)]
struct Posting {
    document: usize,
    counts: [f64; FIELDS],
}

/// A term of the index a query term may stand for, and what it is worth.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Alternative {
    term: usize,
    factor: f64,
    name_only: bool,
}

impl ToolIndex {
    /// Indexes `entries`, given as (server name, entry) pairs.
    pub fn new<'a, E: Into<Entry<'a>>>(entries: impl IntoIterator<Item = (&'a str, E)>) -> Self {
        let entries: Vec<(&str, Entry)> = entries.into_iter().map(|(server, entry)| (server, entry.into())).collect();
        let shared = shared_prefixes(&entries);
        let mut index = ToolIndex {
            documents: Vec::with_capacity(entries.len()),
            vocabulary: HashMap::new(),
            postings: Vec::new(),
            name_words: Vec::new(),
            average_lengths: [0.0; FIELDS],
            vectors: semantic::Vectors::default(),
        };
        let mut name_words = HashSet::new();
        let mut analyzed = Vec::with_capacity(entries.len());
        for (server, entry) in &entries {
            let mut bags = Bags::default();
            bags.add(Field::Server, server);
            for (position, token) in text::tokens(entry.name).into_iter().enumerate() {
                let field = if position == 0 && shared.contains(&((*server).to_owned(), token.word.clone())) {
                    Field::Server
                } else {
                    Field::Name
                };
                bags.add_token(field, &token.term);
                if field == Field::Name {
                    bags.add_token(Field::NameWord, &format!("{WORD_MARK}{}", token.word));
                    name_words.insert(token);
                }
            }
            bags.add(Field::Description, entry.description.unwrap_or(""));
            index.vectors.push(server, entry.name, entry.description);
            if let Some(parameters) = entry.parameters {
                let mut budget = MAX_SCHEMA_NODES;
                bags.add_schema(parameters, 0, &mut budget);
            }
            analyzed.push((*server, entry.name, bags));
        }
        drop_common_parameters(&mut analyzed);
        for (server, name, bags) in analyzed {
            index.add_document(server, name, bags);
        }
        let mut name_words: Vec<(String, usize)> = name_words
            .into_iter()
            .filter_map(|token| Some((token.word, *index.vocabulary.get(&token.term)?)))
            .collect();
        name_words.sort();
        index.name_words = name_words;
        let count = index.documents.len().max(1) as f64;
        index.average_lengths = std::array::from_fn(|field| index.documents.iter().map(|document| document.lengths[field]).sum::<f64>() / count);
        index
    }

    fn add_document(&mut self, server: &str, tool: &str, bags: Bags) {
        let document = self.documents.len();
        let mut counts: Vec<(String, [f64; FIELDS])> = bags.counts.into_iter().collect();
        counts.sort_by(|a, b| a.0.cmp(&b.0));
        for (term, counts) in counts {
            let next = self.postings.len();
            let id = *self.vocabulary.entry(term).or_insert(next);
            if id == next {
                self.postings.push(Vec::new());
            }
            self.postings[id].push(Posting { document, counts });
        }
        self.documents.push(Document {
            server: server.to_owned(),
            tool: tool.to_owned(),
            lengths: bags.lengths,
        });
    }

    /// The `limit` entries that best match `query`, best first; `None` when
    /// `interrupted` turned true (it is checked once per alternative and once
    /// per entry).
    pub fn search(&self, query: &Query, limit: usize, interrupted: &dyn Fn() -> bool) -> Option<Vec<Hit>> {
        let terms: Vec<(&Token, Vec<Alternative>)> = query
            .tokens
            .iter()
            .chain(&query.compounds)
            .map(|token| (token, self.alternatives(token)))
            .collect();
        let width = terms.len();
        // best[document * width + term]: the best score of each query term in each document
        let mut best = vec![0.0_f64; self.documents.len() * width];
        for (slot, (_, alternatives)) in terms.iter().enumerate() {
            for alternative in alternatives {
                if interrupted() {
                    return None;
                }
                let idf = self.idf(alternative.term);
                for posting in &self.postings[alternative.term] {
                    let score = alternative.factor * idf * self.saturated_frequency(posting, alternative.name_only);
                    let cell = &mut best[posting.document * width + slot];
                    *cell = cell.max(score);
                }
            }
        }
        let asked = query.tokens.len();
        let mut lexical = Vec::with_capacity(self.documents.len());
        for scores in best.chunks(width.max(1)).take(self.documents.len()) {
            if interrupted() {
                return None;
            }
            let total: f64 = scores.iter().sum();
            let matched = scores[..asked].iter().filter(|score| **score > 0.0).count() as f64;
            lexical.push(total * (matched + 1.0) / (asked as f64 + 1.0));
        }
        lexical.resize(self.documents.len(), 0.0);
        let mut scored: Vec<(usize, f64)> = match self.semantic_scores(query, &lexical, interrupted)? {
            Some(fused) => fused.into_iter().enumerate().collect(),
            None => lexical.into_iter().enumerate().filter(|(_, score)| *score > 0.0).collect(),
        };
        let order = |a: &(usize, f64), b: &(usize, f64)| {
            let (x, y) = (&self.documents[a.0], &self.documents[b.0]);
            b.1.total_cmp(&a.1).then_with(|| x.server.cmp(&y.server)).then_with(|| x.tool.cmp(&y.tool))
        };
        if scored.len() > limit && limit > 0 {
            scored.select_nth_unstable_by(limit - 1, order);
        }
        scored.truncate(limit);
        scored.sort_by(order);
        Some(
            scored
                .into_iter()
                .map(|(document, score)| Hit {
                    server: self.documents[document].server.clone(),
                    tool: self.documents[document].tool.clone(),
                    score,
                })
                .collect(),
        )
    }

    /// Each entry's cosine similarity to the query plus
    /// [`LEXICAL_WEIGHT`] times its lexical score relative to the best one
    /// (see the module doc), when the entries' and the query's embeddings are
    /// at hand; `Some(None)` when they are not, `None` when interrupted.
    fn semantic_scores(&self, query: &Query, lexical: &[f64], interrupted: &dyn Fn() -> bool) -> Option<Option<Vec<f64>>> {
        let Some(vectors) = self.vectors.wait(interrupted) else { return Some(None) };
        let Some(asked) = semantic::query_vector(&query.text) else { return Some(None) };
        let best = lexical.iter().copied().fold(0.0, f64::max);
        let mut fused = Vec::with_capacity(lexical.len());
        for (vector, lexical) in vectors.iter().zip(lexical) {
            if interrupted() {
                return None;
            }
            let relative = if best > 0.0 { lexical / best } else { 0.0 };
            fused.push(f64::from(embedder::cosine(&asked, vector)) + LEXICAL_WEIGHT * relative);
        }
        Some(Some(fused))
    }

    /// The terms of the index `token` may stand for (see the module doc),
    /// best first, at most [`MAX_ALTERNATIVES`].
    fn alternatives(&self, token: &Token) -> Vec<Alternative> {
        let mut alternatives = Vec::new();
        let exact = self.vocabulary.get(&token.term).copied();
        let written = self.vocabulary.get(&format!("{WORD_MARK}{}", token.word)).copied();
        for term in exact.into_iter().chain(written) {
            alternatives.push(Alternative {
                term,
                factor: 1.0,
                name_only: false,
            });
        }
        if token.word.chars().count() >= MIN_PREFIX_LEN {
            for (word, term) in &self.name_words {
                if Some(*term) != exact && word.len() > token.word.len() && word.starts_with(&token.word) {
                    alternatives.push(Alternative {
                        term: *term,
                        factor: PREFIX_FACTOR,
                        name_only: true,
                    });
                }
            }
        }
        if token.term.chars().count() >= MIN_RELATED_PREFIX {
            for (term, &id) in &self.vocabulary {
                if Some(id) != exact && !term.starts_with(WORD_MARK) && related(term, &token.term) {
                    alternatives.push(Alternative {
                        term: id,
                        factor: RELATED_FACTOR,
                        name_only: false,
                    });
                }
            }
        }
        alternatives.sort_by(|a, b| b.factor.total_cmp(&a.factor).then_with(|| a.term.cmp(&b.term)));
        alternatives.dedup_by(|a, b| a.term == b.term && a.name_only == b.name_only);
        alternatives.truncate(MAX_ALTERNATIVES);
        alternatives
    }

    fn idf(&self, term: usize) -> f64 {
        let documents = self.documents.len() as f64;
        let containing = self.postings[term].len() as f64;
        (1.0 + (documents - containing + 0.5) / (containing + 0.5)).ln()
    }

    /// BM25F's field-weighted, length-normalized frequency, saturated.
    fn saturated_frequency(&self, posting: &Posting, name_only: bool) -> f64 {
        let lengths = &self.documents[posting.document].lengths;
        let frequency: f64 = Field::ALL
            .iter()
            .filter(|&&field| !name_only || field == Field::Name)
            .map(|&field| {
                let average = self.average_lengths[field as usize];
                let relative_length = if average > 0.0 { lengths[field as usize] / average } else { 1.0 };
                field.weight() * posting.counts[field as usize] / (1.0 - field.b() + field.b() * relative_length)
            })
            .sum();
        frequency * (K1 + 1.0) / (frequency + K1)
    }
}

/// Whether two terms share a long prefix (see the module doc).
fn related(a: &str, b: &str) -> bool {
    let shorter = a.len().min(b.len()) as f64;
    let shared = text::common_prefix(a, b);
    shared >= MIN_RELATED_PREFIX && shared as f64 >= MIN_RELATED_SHARE * shorter
}

/// The (server, word) pairs of name words that start the names of at least
/// half of a server's entries, for servers with at least 3.
fn shared_prefixes(entries: &[(&str, Entry)]) -> HashSet<(String, String)> {
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    let mut starts: HashMap<(String, String), usize> = HashMap::new();
    for (server, entry) in entries {
        *sizes.entry(server).or_default() += 1;
        if let Some(first) = text::tokens(entry.name).into_iter().next() {
            *starts.entry(((*server).to_owned(), first.word)).or_default() += 1;
        }
    }
    starts
        .into_iter()
        .filter(|((server, _), count)| {
            let size = sizes[server.as_str()];
            size >= 3 && count * 2 >= size
        })
        .map(|(pair, _)| pair)
        .collect()
}

/// Leaves out of the parameter fields the terms that the parameters of at
/// least half of a server's entries (at least 3) have: arguments every tool
/// of a server takes (`projectRoot`, "the tasks file") say nothing about what
/// one tool does.
fn drop_common_parameters(analyzed: &mut [(&str, &str, Bags)]) {
    const PARAMETERS: [Field; 2] = [Field::ParameterName, Field::ParameterDescription];
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    let mut having: HashMap<(&str, &str), usize> = HashMap::new();
    for (server, _, bags) in analyzed.iter() {
        *sizes.entry(server).or_default() += 1;
        for (term, counts) in &bags.counts {
            if PARAMETERS.iter().any(|&field| counts[field as usize] > 0.0) {
                *having.entry((server, term.as_str())).or_default() += 1;
            }
        }
    }
    let common: HashSet<(String, String)> = having
        .into_iter()
        .filter(|((server, _), count)| sizes[server] >= 3 && count * 2 >= sizes[server])
        .map(|((server, term), _)| (server.to_owned(), term.to_owned()))
        .collect();
    for (server, _, bags) in analyzed.iter_mut() {
        let Bags { counts, lengths } = bags;
        for (term, counts) in counts.iter_mut() {
            if common.contains(&((*server).to_owned(), term.clone())) {
                for field in PARAMETERS {
                    lengths[field as usize] -= counts[field as usize];
                    counts[field as usize] = 0.0;
                }
            }
        }
        counts.retain(|_, counts| counts.iter().any(|count| *count > 0.0));
    }
}

/// The terms of one entry's fields, with how often each occurs, while it is
/// being indexed.
#[derive(Default)]
struct Bags {
    counts: HashMap<String, [f64; FIELDS]>,
    lengths: [f64; FIELDS],
}

impl Bags {
    fn add(&mut self, field: Field, text: &str) {
        for token in text::tokens(text) {
            self.add_token(field, &token.term);
        }
    }

    fn add_token(&mut self, field: Field, term: &str) {
        match self.counts.get_mut(term) {
            Some(counts) => counts[field as usize] += 1.0,
            None => {
                let mut counts = [0.0; FIELDS];
                counts[field as usize] = 1.0;
                self.counts.insert(term.to_owned(), counts);
            }
        }
        self.lengths[field as usize] += 1.0;
    }

    /// The names, descriptions and `enum` values of a JSON schema's
    /// properties, nested ones included, within the bounds.
    fn add_schema(&mut self, schema: &Value, depth: usize, budget: &mut usize) {
        let Value::Object(schema) = schema else { return };
        if depth >= MAX_SCHEMA_DEPTH || *budget == 0 {
            return;
        }
        *budget -= 1;
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (name, property) in properties {
                self.add(Field::ParameterName, name);
                self.add_property_text(property);
                self.add_schema(property, depth + 1, budget);
            }
        }
        let nested = schema.get("items").into_iter().chain(
            ["anyOf", "oneOf", "allOf"]
                .iter()
                .filter_map(|key| schema.get(*key))
                .flat_map(|options| options.as_array().into_iter().flatten()),
        );
        for schema in nested {
            self.add_schema(schema, depth + 1, budget);
        }
    }

    fn add_property_text(&mut self, property: &Value) {
        let Some(property) = property.as_object() else { return };
        self.add(Field::ParameterDescription, property.get("description").and_then(Value::as_str).unwrap_or(""));
        for value in enum_values(property) {
            self.add(Field::ParameterDescription, value);
        }
    }
}

fn enum_values(property: &Map<String, Value>) -> impl Iterator<Item = &str> {
    property.get("enum").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
}
