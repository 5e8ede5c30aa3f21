//! Finding and reading the configuration file: where it is looked for,
//! the environment's `POSTDESK_SECTION__KEY` overrides laid over it, and
//! errors that point at a line (or at the variable) an admin can fix.

use std::path::{Path, PathBuf};

use super::Config;

/// Where the configuration is looked for when neither `--config` nor
/// `POSTDESK_CONFIG` names it, in order: the repository layout (the demo,
/// a checkout), then where packages install it.
pub const DEFAULT_PATHS: [&str; 2] = ["config/postdesk.toml", "/etc/postdesk/postdesk.toml"];

/// The configuration file to read: the one given (by `--config` or
/// `POSTDESK_CONFIG`), else the first of [`DEFAULT_PATHS`] that exists.
pub fn locate(given: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let tried: Vec<PathBuf> = DEFAULT_PATHS.iter().map(PathBuf::from).collect();
    match tried.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(ConfigError::NotFound { tried }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}\n  hint: pass --config FILE or set POSTDESK_CONFIG")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("no configuration file: tried {}\n  hint: pass --config FILE or set POSTDESK_CONFIG; the example is config/postdesk.toml in the source", .tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound { tried: Vec<PathBuf> },
    #[error("{var}: {message}\n  hint: this is an environment override of {path}; fix or unset the variable")]
    Override {
        var: String,
        path: PathBuf,
        message: String,
    },
}

impl Config {
    /// Reads, overlays the environment, and validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_with_env(path, &text, std::env::vars())
    }

    /// The same as [`Config::load`] with the file's text and the environment
    /// given, so tests need neither a file nor a mutated process environment.
    pub fn from_toml_with_env(
        path: &Path,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        // First a strict pass with positions: most mistakes are found here with
        // a line and column an editor can jump to.
        if let Err(e) = toml::from_str::<Config>(text) {
            return Err(syntax_error(path, text, &e));
        }
        let overrides: config::Map<String, String> = env
            .into_iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix("POSTDESK_")?;
                rest.contains("__").then(|| (k.clone(), v))
            })
            .collect();
        let built =
            with_overrides(text, overrides.clone()).map_err(|e| invalid(path, e.to_string()))?;
        let mut cfg: Config = match built.try_deserialize() {
            Ok(c) => c,
            Err(e) => return Err(override_error(path, text, &overrides, e)),
        };
        cfg.source = path.to_path_buf();
        cfg.validate()?;
        Ok(cfg)
    }
}

pub(super) fn invalid(path: &Path, message: String) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    }
}

/// The file's text with `POSTDESK_SECTION__KEY` overrides laid over it.
fn with_overrides(
    text: &str,
    overrides: config::Map<String, String>,
) -> Result<config::Config, config::ConfigError> {
    config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .add_source(
            config::Environment::with_prefix("POSTDESK")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(Some(overrides)),
        )
        .build()
}

/// The file alone parsed (the strict pass), so an error after the
/// environment was overlaid comes from an override: find the variable,
/// so the admin is pointed at it and not at a file that is fine.
fn override_error(
    path: &Path,
    text: &str,
    overrides: &config::Map<String, String>,
    e: config::ConfigError,
) -> ConfigError {
    for (var, value) in overrides {
        let one: config::Map<String, String> =
            std::iter::once((var.clone(), value.clone())).collect();
        let alone = with_overrides(text, one).and_then(|c| c.try_deserialize::<Config>());
        if let Err(e) = alone {
            return ConfigError::Override {
                var: var.clone(),
                path: path.to_path_buf(),
                message: e.to_string(),
            };
        }
    }
    invalid(path, format!("{e} (after applying POSTDESK_* overrides)"))
}

fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message: e.message().trim().to_string(),
    }
}

/// 1-based line and column of a byte offset, as editors count them.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}
