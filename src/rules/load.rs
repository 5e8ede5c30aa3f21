//! Reading the rule file from disk: the shell's part of the rules, kept
//! apart so the rest of the module stays pure (see `.ci/core-is-pure`).

use std::path::Path;

use super::{Known, RuleSet, RulesError};

impl RuleSet {
    /// Reads and compiles the rule file at `path`.
    pub fn load(path: &Path, known: &Known) -> Result<RuleSet, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                RulesError::Missing {
                    path: path.to_path_buf(),
                }
            } else {
                RulesError::Read {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        Self::parse(path, &text, known)
    }
}
