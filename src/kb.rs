//! Self-service articles: a short list in the acknowledgement, chosen by
//! what the customer wrote, so some customers solve it before we answer.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("cannot read the article list {path}: {source}\n  hint: fix [kb] file in the config, or remove it")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "article")]
    articles: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    title: String,
    url: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    regex: Option<String>,
}

/// What a template shows of an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    pub title: String,
    pub url: String,
}

struct Compiled {
    article: Article,
    keywords: Vec<Regex>,
    regex: Option<Regex>,
}

/// The article list, compiled once.
#[derive(Default)]
pub struct Kb {
    entries: Vec<Compiled>,
}

impl std::fmt::Debug for Kb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kb({} articles)", self.entries.len())
    }
}

impl Kb {
    pub fn load(path: &Path) -> Result<Kb, KbError> {
        let text = std::fs::read_to_string(path).map_err(|source| KbError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Kb::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Kb, KbError> {
        let invalid = |offset: usize, message: String| {
            let (line, column) = crate::config::line_col(text, offset);
            KbError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let file: File = toml::from_str(text).map_err(|e| {
            invalid(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_string(),
            )
        })?;
        let mut entries = Vec::new();
        for a in file.articles {
            let at = text.find(&a.title).unwrap_or(0);
            let keywords = a
                .keywords
                .iter()
                .map(|k| Regex::new(&format!(r"(?i)\b{}\b", regex::escape(k.trim()))))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid(at, format!("article `{}`: {e}", a.title)))?;
            let regex = a
                .regex
                .as_deref()
                .map(Regex::new)
                .transpose()
                .map_err(|e| invalid(at, format!("article `{}`: bad regex: {e}", a.title)))?;
            entries.push(Compiled {
                article: Article {
                    title: a.title,
                    url: a.url,
                },
                keywords,
                regex,
            });
        }
        Ok(Kb { entries })
    }

    /// Up to `max` articles, best first: more keywords found rank higher; a
    /// matching regex counts as one; ties keep file order.
    pub fn suggest(&self, subject: &str, text: &str, max: usize) -> Vec<Article> {
        let mut scored: Vec<(usize, usize)> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let hits = e
                    .keywords
                    .iter()
                    .filter(|k| k.is_match(subject) || k.is_match(text))
                    .count()
                    + e.regex
                        .as_ref()
                        .map_or(0, |r| usize::from(r.is_match(subject) || r.is_match(text)));
                (hits > 0).then_some((hits, i))
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .take(max)
            .map(|(_, i)| self.entries[i].article.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KB: &str = r#"
[[article]]
title = "Resetting your password"
url = "https://help.test/password"
keywords = ["password", "reset", "log in"]

[[article]]
title = "Downloading invoices"
url = "https://help.test/invoices"
keywords = ["invoice"]

[[article]]
title = "Printer setup"
url = "https://help.test/printer"
regex = '(?i)print(er|ing)'
"#;

    #[test]
    fn best_matches_first_and_at_most_max() {
        let kb = Kb::parse(Path::new("kb.toml"), KB).unwrap();
        let got = kb.suggest(
            "Cannot log in",
            "I tried to reset my password and print the invoice",
            2,
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].title, "Resetting your password");
        assert_eq!(got[1].title, "Downloading invoices");
        assert!(kb.suggest("hello", "nothing relevant", 3).is_empty());
    }

    #[test]
    fn bad_regex_names_the_line() {
        let text = "[[article]]\ntitle = \"x\"\nurl = \"u\"\nregex = '('\n";
        let err = Kb::parse(Path::new("kb.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("kb.toml:2:"), "{err}");
    }
}
