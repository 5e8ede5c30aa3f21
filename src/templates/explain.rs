//! A render failure said in words an admin can act on: what is wrong,
//! and a hint (a null parent, the closest known name, where a partial
//! would go). Only `check` and rendering errors read it, so it lives apart
//! from compiling and rendering.

use std::path::Path;

use handlebars::RenderErrorReason;
use serde_json::Value;

use super::{data, files, kind_of};

/// A render failure in words an admin can act on: what is wrong and what to
/// do about it.
pub(super) fn explain(
    dir: &Path,
    name: &str,
    data: &Value,
    reason: &RenderErrorReason,
) -> (String, String) {
    let mail = match kind_of(name) {
        Some(k) if k == name => format!("`{name}` mail"),
        Some(k) => format!("`{name}` mail (a kind of `{k}`)"),
        None => format!("`{name}` mail (no kind: common variables only)"),
    };
    let listed = "the variables are listed in README, section Templates";
    match reason {
        RenderErrorReason::MissingVariable(Some(path)) => {
            if let Some(null) = null_prefix(data, path) {
                (
                    format!("`{path}` is used while `{null}` is null"),
                    format!(
                        "`{null}` may be null in real mail; use it inside {{{{#if {null}}}}}…{{{{/if}}}}"
                    ),
                )
            } else {
                let hint = match suggest(data, path) {
                    Some(s) => format!("did you mean `{s}`? ({listed})"),
                    None => format!("{listed}; check its spelling"),
                };
                (format!("`{path}` is not a variable of {mail}"), hint)
            }
        }
        RenderErrorReason::MissingVariable(None) => (
            format!("a variable used here is not a variable of {mail}"),
            format!("{listed}; check its spelling"),
        ),
        RenderErrorReason::PartialNotFound(p) => (
            format!("no partial named `{p}`"),
            format!(
                "create {}, or fix the name in {{{{> {p}}}}}",
                dir.join(files::PARTIALS).join(format!("{p}.hbs")).display()
            ),
        ),
        RenderErrorReason::HelperNotFound(h) => (
            format!("no helper named `{h}`"),
            "the helpers are if, unless, each, with, lookup, eq, ne, lt, lte, gt, gte, and, or, \
             not, len"
                .into(),
        ),
        RenderErrorReason::ParamNotFoundForIndex(h, _) => (
            format!("`{h}` was given a name that is not a variable of {mail}, or too few values"),
            format!("{listed}; check the spelling of what `{h}` compares"),
        ),
        other => (
            other.to_string(),
            "see https://handlebarsjs.com/guide/ for the template language".into(),
        ),
    }
}

/// The leading part of `path` that is null in `data` (`agent` for
/// `agent.name` when there is no agent).
pub(super) fn null_prefix(data: &Value, path: &str) -> Option<String> {
    let segs: Vec<&str> = path.split('.').collect();
    (1..segs.len())
        .map(|n| segs[..n].join("."))
        .find(|prefix| matches!(data::lookup(data, prefix), Some(Value::Null)))
}

/// The known name closest to a misspelled one, if any is close.
pub(super) fn suggest(data: &Value, path: &str) -> Option<String> {
    let mut names = Vec::new();
    collect_names(data, "", &mut names);
    names
        .into_iter()
        .map(|n| (strsim::levenshtein(&n, path), n))
        .filter(|(d, _)| *d <= 2 || *d * 3 <= path.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Dotted names from the root, and the bare field names of list items (what
/// `{{#each}}` blocks use).
fn collect_names(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                collect_names(child, &name, out);
                out.push(name);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                collect_names(first, "", out);
            }
        }
        _ => {}
    }
}
