//! Text to search terms: splitting, stop words, light stemming and the few
//! synonyms tools use interchangeably. Queries and tools go through the same
//! steps; nothing here knows about tools, fields or scores.

/// English function words: Lucene's English stop list, plus pronouns,
/// question words, auxiliary verbs and "please" — the words of a request that
/// say nothing about which tool answers it.
const STOP_WORDS: &[&str] = &[
    "a", "about", "am", "an", "and", "are", "as", "at", "be", "been", "being", "but", "by", "can", "could", "did", "do", "does", "for", "had", "has", "have",
    "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "please", "should", "such", "that", "the", "their",
    "then", "there", "these", "they", "this", "those", "to", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will", "with", "would",
    "you", "your",
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

/// A word of some text (lower-cased) and the term it is indexed as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Token {
    pub word: String,
    pub term: String,
}

/// The search terms of `text`, in order.
#[cfg(test)]
pub(super) fn terms(text: &str) -> Vec<String> {
    tokens(text).into_iter().map(|token| token.term).collect()
}

/// The tokens of `text`: its words lower-cased, without one-letter and stop
/// words, each with its term.
pub(super) fn tokens(text: &str) -> Vec<Token> {
    words(text)
        .into_iter()
        .map(|word| word.to_lowercase())
        .filter(|word| is_searchable(word))
        .map(token)
        .collect()
}

/// A lower-cased word with its term.
pub(super) fn token(word: String) -> Token {
    Token { term: term(&word), word }
}

/// The term of a lower-cased word: stemmed, then its synonym group's.
pub(super) fn term(word: &str) -> String {
    canonical(stem(word))
}

fn is_searchable(word: &str) -> bool {
    word.chars().count() > 1 && !STOP_WORDS.contains(&word)
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
pub(super) fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for run in text.split(|c: char| !c.is_alphanumeric()).filter(|run| !run.is_empty()) {
        let chars: Vec<char> = run.chars().collect();
        let mut word = String::new();
        for (index, &c) in chars.iter().enumerate() {
            let previous = index.checked_sub(1).map(|i| chars[i]);
            let next = chars.get(index + 1);
            let hump = c.is_uppercase()
                && previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit() || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase())));
            if hump && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            word.push(c);
        }
        words.push(word);
    }
    words
}

/// Light suffix stripping (see the module doc of `search`).
pub(super) fn stem(word: &str) -> String {
    let mut word = strip_plural(word);
    for suffix in ["ing", "ed"] {
        if let Some(stem) = word.strip_suffix(suffix).filter(|stem| stem.chars().count() >= 3) {
            word = stem.to_owned();
            break;
        }
    }
    match word.strip_suffix('e').filter(|stem| stem.chars().count() >= 3) {
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
    if ["xes", "zes", "ches", "shes"].iter().any(|suffix| word.ends_with(suffix)) {
        return word[..word.len() - 2].to_owned();
    }
    match word.strip_suffix('s') {
        Some(stem) if !["ss", "us", "is"].iter().any(|ending| word.ends_with(ending)) => stem.to_owned(),
        _ => word.to_owned(),
    }
}

/// The length in bytes of the longest common prefix of `a` and `b`, at a
/// character boundary.
pub(super) fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((index, _), _)| index)
}
