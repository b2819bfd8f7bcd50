//! `${VAR}` expansion in config strings.
//!
//! - `${NAME}` is the value of the environment variable `NAME`; when it is not
//!   set, expansion fails with [`ExpandError::Unset`] (a set but empty variable
//!   expands to the empty string).
//! - `${NAME:-default}` is the value of `NAME` when it is set and not empty,
//!   otherwise `default`, which may itself contain references:
//!   `${A:-${B}}`, `${A:-${B:-x}}`. As in the shell, a default is expanded only
//!   when it is used, so an unset variable in an unused default is no error.
//! - `NAME` is an ASCII letter or `_` followed by letters, digits and `_`.
//!   `${` not followed by such a name and then `}` or `:-` is not a reference
//!   and stays as written, as do `$NAME` and `$$`. A reference without its
//!   closing `}` is [`ExpandError::Unterminated`].
//!
//! The scan is one pass over the text; defaults nest at most [`MAX_DEPTH`]
//! deep, so neither time nor stack depend on more than the text's length.
//! This module only reads variables through the lookup it is given.

use super::EnvLookup;

/// How deeply defaults may nest (`${A:-${B:-...}}`).
pub(super) const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ExpandError {
    #[error("environment variable `{0}` is not set")]
    Unset(String),
    #[error("`${{{0}` has no closing `}}`")]
    Unterminated(String),
    #[error("defaults nest more than {MAX_DEPTH} deep")]
    TooDeep,
}

/// `text` with every reference replaced.
pub(super) fn expand(text: &str, env: EnvLookup<'_>) -> Result<String, ExpandError> {
    let mut scanner = Scanner { text, pos: 0, env };
    let (expanded, _) = scanner.sequence(true, 0)?;
    Ok(expanded)
}

struct Scanner<'a, 'e> {
    text: &'a str,
    /// Byte offset of the next character to read.
    pos: usize,
    env: EnvLookup<'e>,
}

impl Scanner<'_, '_> {
    /// Text up to the end, or (at `depth` > 0, inside a default) up to the
    /// `}` that closes the default, which is consumed. The flag tells whether
    /// that `}` was found. References are looked up only when `evaluate`.
    fn sequence(&mut self, evaluate: bool, depth: usize) -> Result<(String, bool), ExpandError> {
        let mut out = String::new();
        let bytes = self.text.as_bytes();
        let mut literal_start = self.pos;
        while self.pos < bytes.len() {
            match bytes[self.pos] {
                b'}' if depth > 0 => {
                    out.push_str(&self.text[literal_start..self.pos]);
                    self.pos += 1;
                    return Ok((out, true));
                }
                b'$' if bytes.get(self.pos + 1) == Some(&b'{') => {
                    out.push_str(&self.text[literal_start..self.pos]);
                    match self.reference(evaluate, depth)? {
                        Some(value) => out.push_str(&value),
                        None => {
                            out.push_str("${");
                            self.pos += 2;
                        }
                    }
                    literal_start = self.pos;
                }
                _ => self.pos += 1,
            }
        }
        out.push_str(&self.text[literal_start..]);
        Ok((out, false))
    }

    /// The reference at `${`, consumed; `None`, consuming nothing, when what
    /// follows `${` is not a name and then `}` or `:-`.
    fn reference(&mut self, evaluate: bool, depth: usize) -> Result<Option<String>, ExpandError> {
        let name_start = self.pos + 2;
        let name_end = name_start + name_length(&self.text[name_start..]);
        let name = &self.text[name_start..name_end];
        let rest = &self.text[name_end..];
        if name.is_empty() {
            return Ok(None);
        }
        if rest.starts_with('}') {
            self.pos = name_end + 1;
            return Ok(Some(if evaluate {
                self.value(name)?
            } else {
                String::new()
            }));
        }
        if !rest.starts_with(":-") {
            return if rest.is_empty() {
                Err(ExpandError::Unterminated(name.to_owned()))
            } else {
                Ok(None)
            };
        }
        if depth >= MAX_DEPTH {
            return Err(ExpandError::TooDeep);
        }
        self.pos = name_end + 2;
        let set = if evaluate {
            (self.env)(name).filter(|value| !value.is_empty())
        } else {
            None
        };
        let (default, closed) = self.sequence(evaluate && set.is_none(), depth + 1)?;
        if !closed {
            return Err(ExpandError::Unterminated(name.to_owned()));
        }
        Ok(Some(set.unwrap_or(default)))
    }

    fn value(&self, name: &str) -> Result<String, ExpandError> {
        (self.env)(name).ok_or_else(|| ExpandError::Unset(name.to_owned()))
    }
}

/// The length of the variable name `text` starts with (0 when none).
fn name_length(text: &str) -> usize {
    let bytes = text.as_bytes();
    if !bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        return 0;
    }
    bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(
        vars: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Result<String, ExpandError> {
        move |text| {
            let env = |name: &str| {
                vars.iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            };
            expand(text, &env)
        }
    }

    #[test]
    fn variables_and_defaults() {
        let expand = with(&[("X", "x"), ("EMPTY", "")]);
        assert_eq!(expand("a${X}b").unwrap(), "axb");
        assert_eq!(expand("${EMPTY}").unwrap(), "");
        assert_eq!(
            expand("${UNSET:-/tmp}|${EMPTY:-e}|${X:-unused}|${UNSET:-}").unwrap(),
            "/tmp|e|x|"
        );
    }

    #[test]
    fn an_unset_variable_without_default_is_an_error() {
        let expand = with(&[]);
        assert_eq!(expand("${NOPE}/a"), Err(ExpandError::Unset("NOPE".into())));
        assert_eq!(
            expand("ok ${A:-${NOPE}}"),
            Err(ExpandError::Unset("NOPE".into()))
        );
    }

    #[test]
    fn nested_defaults() {
        let expand = with(&[("B", "b"), ("EMPTY", "")]);
        assert_eq!(expand("${A:-${B}}").unwrap(), "b");
        assert_eq!(expand("${A:-${C:-x}}").unwrap(), "x");
        assert_eq!(expand("${A:-${B:-x}}/y").unwrap(), "b/y");
        assert_eq!(
            expand("${A:-pre-${EMPTY:-in}-post}!").unwrap(),
            "pre-in-post!"
        );
        assert_eq!(
            expand("${B:-${NOPE}}").unwrap(),
            "b",
            "an unused default is not expanded"
        );
    }

    #[test]
    fn only_braced_names_are_special() {
        let expand = with(&[("X", "x")]);
        assert_eq!(expand("$$ $X $${X} ${X}").unwrap(), "$$ $X $x x");
        assert_eq!(expand("${X}${X:-d}}").unwrap(), "xx}");
        assert_eq!(
            expand("${} ${1X} ${X-d} ${ X}").unwrap(),
            "${} ${1X} ${X-d} ${ X}"
        );
        assert_eq!(expand("no variables").unwrap(), "no variables");
    }

    #[test]
    fn unterminated_and_too_deep_references_are_errors() {
        let expand = with(&[("X", "x")]);
        assert_eq!(expand("a ${X"), Err(ExpandError::Unterminated("X".into())));
        assert_eq!(
            expand("${A:-${X}"),
            Err(ExpandError::Unterminated("A".into()))
        );
        let deep = format!(
            "{}x{}",
            "${A:-".repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(expand(&deep), Err(ExpandError::TooDeep));
        let ok = format!("{}x{}", "${A:-".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert_eq!(expand(&ok).unwrap(), "x");
    }
}
