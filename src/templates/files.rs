//! Reading the template directory: which files mean what, and the header
//! block at the top of a text template. No handlebars here; the parent module
//! compiles what this one finds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Location, TemplateError};

/// The directory that holds per-inbox partials, and the one name an inbox
/// override directory cannot have.
pub(super) const PARTIALS: &str = "partials";

/// The directory of canned answers (`#macro NAME`), at the top level only.
pub(super) const MACROS: &str = "macros";

/// What one directory (the top level, an inbox's override directory, a
/// language's directory, or an inbox's language directory) holds. Keys are
/// template names (file stems); values are the files' paths relative to
/// the template directory, `/`-separated, which is also how errors and
/// handlebars name them.
#[derive(Debug, Default)]
pub(super) struct Scan {
    pub text: BTreeMap<String, String>,
    pub html: BTreeMap<String, String>,
    pub partials: BTreeMap<String, String>,
    pub partials_html: BTreeMap<String, String>,
    /// At the top level and in a top-level language directory: macro
    /// name → its file.
    pub macros: BTreeMap<String, String>,
    /// Only at the top level: inbox name → its overrides.
    pub inboxes: BTreeMap<String, Scan>,
    /// At the top level and in an inbox directory: language → its files.
    pub langs: BTreeMap<String, Scan>,
}

/// Which directory a scan reads: what it may hold differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    /// `templates/`: templates, partials, macros, inboxes, languages.
    Top,
    /// `templates/INBOX/`: templates, partials, languages.
    Inbox,
    /// `templates/de/`: templates, partials, macros' texts.
    Lang,
    /// `templates/INBOX/de/`: templates and partials.
    InboxLang,
}

/// A directory named like a language: two lowercase ASCII letters, an
/// ISO 639-1 code (`de`, `fr`). Inbox names of two lowercase letters are
/// therefore read as languages.
pub(super) fn is_language(name: &str) -> bool {
    name.len() == 2 && name.chars().all(|c| c.is_ascii_lowercase())
}

/// Reads `root/rel` (rel empty for the top level). Problems with single files
/// are pushed to `errors` so one `check` reports them all; an unreadable
/// directory is returned at once, since nothing below it can be judged.
pub(super) fn scan(
    root: &Path,
    rel: &str,
    level: Level,
    errors: &mut Vec<TemplateError>,
) -> Result<Scan, TemplateError> {
    let mut out = Scan::default();
    let dir = join(root, rel);
    let top = level == Level::Top;
    for (name, is_dir) in list(&dir)? {
        let rel_path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if is_dir {
            if name == PARTIALS {
                for (pname, pdir) in list(&join(root, &rel_path))? {
                    let prel = format!("{rel_path}/{pname}");
                    if pdir {
                        errors.push(invalid(
                            root,
                            &prel,
                            "partials cannot be in subdirectories".into(),
                            format!("move the files up into {}", join(root, &rel_path).display()),
                        ));
                        continue;
                    }
                    classify(
                        root,
                        &prel,
                        &pname,
                        &mut out.partials,
                        &mut out.partials_html,
                        errors,
                    );
                }
            } else if matches!(level, Level::Top | Level::Lang) && name == MACROS {
                let mut html = BTreeMap::new();
                for (mname, mdir) in list(&join(root, &rel_path))? {
                    let mrel = format!("{rel_path}/{mname}");
                    if mdir || mname.ends_with(".html.hbs") {
                        errors.push(invalid(
                            root,
                            &mrel,
                            "a macro is one NAME.hbs file".into(),
                            "macros are plain text (the reply's HTML part shows them); move this out of macros/".into(),
                        ));
                        continue;
                    }
                    classify(root, &mrel, &mname, &mut out.macros, &mut html, errors);
                }
            } else if matches!(level, Level::Top | Level::Inbox) && is_language(&name) {
                let inner = if top { Level::Lang } else { Level::InboxLang };
                out.langs
                    .insert(name.clone(), scan(root, &rel_path, inner, errors)?);
            } else if top {
                if valid_name(&name) {
                    out.inboxes
                        .insert(name.clone(), scan(root, &rel_path, Level::Inbox, errors)?);
                } else {
                    errors.push(invalid(
                        root,
                        &rel_path,
                        format!("`{name}` is not an inbox name"),
                        "a directory here holds one inbox's overrides and is named like the \
                         [[inbox]] it is for (letters, digits, `_`, `-`), or one language's \
                         templates and is named by its two-letter code (`de`); rename or move it"
                            .into(),
                    ));
                }
            } else {
                let holds = match level {
                    Level::Inbox => format!(
                        "an inbox directory holds NAME.hbs, NAME.html.hbs, {PARTIALS}/ and \
                         language directories (de/, fr/) only"
                    ),
                    Level::Lang => format!(
                        "a language directory holds NAME.hbs, NAME.html.hbs, {PARTIALS}/ and \
                         {MACROS}/ only"
                    ),
                    _ => {
                        format!("this directory holds NAME.hbs, NAME.html.hbs and {PARTIALS}/ only")
                    }
                };
                errors.push(invalid(
                    root,
                    &rel_path,
                    "unexpected directory here".into(),
                    holds,
                ));
            }
        } else {
            classify(root, &rel_path, &name, &mut out.text, &mut out.html, errors);
        }
    }
    Ok(out)
}

/// Files and directories in `dir`, sorted, without hidden ones (editor swap
/// files, `.git`) and without files that are not templates (`README.md`).
fn list(dir: &Path) -> Result<Vec<(String, bool)>, TemplateError> {
    let read_err = |source| TemplateError::Read {
        path: dir.to_path_buf(),
        source,
        hint: "set [templates] dir in postdesk.toml to the directory holding ack.hbs and the \
               other templates (postdesk ships one named templates/)",
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        // `metadata` follows symlinks: a linked shared partial is a file.
        let is_dir = std::fs::metadata(entry.path())
            .map(|m| m.is_dir())
            .unwrap_or(false);
        if is_dir || name.ends_with(".hbs") {
            out.push((name, is_dir));
        }
    }
    out.sort();
    Ok(out)
}

fn classify(
    root: &Path,
    rel: &str,
    file: &str,
    text: &mut BTreeMap<String, String>,
    html: &mut BTreeMap<String, String>,
    errors: &mut Vec<TemplateError>,
) {
    let (stem, map) = match file.strip_suffix(".html.hbs") {
        Some(stem) => (stem, html),
        None => (file.strip_suffix(".hbs").unwrap_or(file), text),
    };
    if valid_name(stem) {
        map.insert(stem.to_string(), rel.to_string());
    } else {
        errors.push(invalid(
            root,
            rel,
            format!("`{stem}` is not a template name"),
            "names are letters, digits, `_` and `-` (NAME.hbs, NAME.html.hbs); rename the file, \
             or move it out of the template directory"
                .into(),
        ));
    }
}

/// Template and inbox names: what a rule file can write without quoting
/// trouble and what is safe as a path component.
pub(super) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub(super) fn join(root: &Path, rel: &str) -> PathBuf {
    rel.split('/')
        .filter(|s| !s.is_empty())
        .fold(root.to_path_buf(), |p, s| p.join(s))
}

fn invalid(root: &Path, rel: &str, message: String, hint: String) -> TemplateError {
    TemplateError::Invalid {
        at: Location::file(join(root, rel)),
        message,
        hint,
    }
}

/// Reads a template file as text: UTF-8, without a byte-order mark, with
/// `\n` line ends (a file saved on Windows must not put `\r` into headers).
pub(super) fn read(root: &Path, rel: &str) -> Result<String, TemplateError> {
    let path = join(root, rel);
    let bytes = std::fs::read(&path).map_err(|source| TemplateError::Read {
        path: path.clone(),
        source,
        hint: "check the file's permissions",
    })?;
    let text = String::from_utf8(bytes).map_err(|e| TemplateError::Invalid {
        at: Location::file(path.clone()),
        message: format!("not UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
        hint: "save the file as UTF-8".into(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    Ok(text.replace("\r\n", "\n"))
}

/// A header line of a text template.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct HeaderLine {
    /// `Subject`, or an `X-` name as written.
    pub name: String,
    /// The handlebars source of the value.
    pub value: String,
    /// 1-based file line and the column where `value` starts.
    pub line: usize,
    pub column: usize,
}

/// A text template split into its parts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TextParts {
    pub subject: HeaderLine,
    /// Extra `X-` headers, in file order.
    pub headers: Vec<HeaderLine>,
    pub body: String,
    /// The file line the body starts on.
    pub body_line: usize,
}

/// Headers postdesk sets itself, named so the error can say why.
const RESERVED: &[(&str, &str)] = &[
    ("from", "the desk's address, from desk.address"),
    ("sender", "the desk's address"),
    ("to", "the ticket's participants"),
    ("cc", "the ticket's participants"),
    ("bcc", "nobody: postdesk never sends blind copies"),
    ("reply-to", "the signed ticket address, so replies thread"),
    ("message-id", "a deterministic id per queued mail"),
    ("in-reply-to", "the customer's thread"),
    ("references", "the customer's thread"),
    ("date", "the time the mail is queued"),
    ("auto-submitted", "RFC 3834 marking of automatic mail"),
    ("return-path", "the envelope sender"),
    ("mime-version", "the MIME structure"),
    ("content-type", "the MIME structure"),
    ("content-transfer-encoding", "the MIME structure"),
];

/// Splits `text` into header lines, a blank line, and the body. Every bad
/// header line is reported, with its line, before giving up.
pub(super) fn split(path: &Path, text: &str) -> Result<TextParts, Vec<TemplateError>> {
    let mut errors = Vec::new();
    let mut subject: Option<HeaderLine> = None;
    let mut headers: Vec<HeaderLine> = Vec::new();
    let mut body_line = None;
    let mut offset = 0;
    let at = |line: usize, column: usize| Location::at(path.to_path_buf(), line, column);
    let layout_hint = "a text template is header lines (`Subject: ...`, optional `X-...: ...`), \
                       one blank line, then the body";
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        offset += raw.len();
        let line = raw.trim_end_matches('\n');
        if line.trim().is_empty() {
            body_line = Some(n + 1);
            break;
        }
        let trimmed = line.trim();
        if trimmed.starts_with("{{!") && trimmed.ends_with("}}") {
            continue; // a comment line documents the template; it is no header
        }
        if line.starts_with([' ', '\t']) {
            errors.push(TemplateError::Invalid {
                at: at(n, 1),
                message: "a header line cannot be continued on the next line".into(),
                hint: "keep each header on one line; postdesk folds long headers itself".into(),
            });
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            errors.push(TemplateError::Invalid {
                at: at(n, 1),
                message: format!("`{}` is not a header line", clip(line)),
                hint: format!("{layout_hint}; is the blank line after the headers missing?"),
            });
            continue;
        };
        let value_start = name.len() + 1 + (value.len() - value.trim_start().len());
        let header = HeaderLine {
            name: name.to_string(),
            value: value.trim().to_string(),
            line: n,
            column: line[..value_start].chars().count() + 1,
        };
        let lower = name.to_ascii_lowercase();
        if lower == "subject" {
            if subject.is_some() {
                errors.push(TemplateError::Invalid {
                    at: at(n, 1),
                    message: "a second `Subject:` line".into(),
                    hint: "a template has exactly one Subject; delete one of them".into(),
                });
            } else if header.value.is_empty() {
                errors.push(TemplateError::Invalid {
                    at: at(n, 1),
                    message: "the Subject is empty".into(),
                    hint: "write one, e.g. `Subject: {{ticket.tag}} {{ticket.subject}}`".into(),
                });
            } else {
                subject = Some(HeaderLine {
                    name: "Subject".into(),
                    ..header
                });
            }
        } else if lower.len() > 2
            && lower.starts_with("x-")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            if headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case(&header.name))
            {
                errors.push(TemplateError::Invalid {
                    at: at(n, 1),
                    message: format!("a second `{name}:` line"),
                    hint: "each header may appear once; delete one of them".into(),
                });
            } else {
                headers.push(header);
            }
        } else if let Some((_, why)) = RESERVED.iter().find(|(r, _)| *r == lower) {
            errors.push(TemplateError::Invalid {
                at: at(n, 1),
                message: format!("`{name}:` cannot be set by a template"),
                hint: format!(
                    "postdesk sets {name} itself ({why}); templates set Subject and custom \
                     X-... headers only"
                ),
            });
        } else {
            errors.push(TemplateError::Invalid {
                at: at(n, 1),
                message: format!("`{}:` is not a header templates may set", clip(name)),
                hint: format!(
                    "{layout_hint}; other headers are postdesk's own, and a custom one is \
                     named X-Something"
                ),
            });
        }
    }
    let body = match body_line {
        Some(_) => text.get(offset..).unwrap_or("").to_string(),
        None => String::new(),
    };
    let Some(subject) = subject else {
        if errors.is_empty() {
            errors.push(TemplateError::Invalid {
                at: at(1, 1),
                message: "no `Subject:` line".into(),
                hint: format!(
                    "{layout_hint}, e.g. `Subject: {{{{ticket.tag}}}} {{{{ticket.subject}}}}`"
                ),
            });
        }
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(TextParts {
        subject,
        headers,
        body,
        body_line: body_line.unwrap_or_else(|| text.lines().count() + 1),
    })
}

/// A line quoted in an error, cut short: it is there to be recognised.
fn clip(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> Result<TextParts, String> {
        split(Path::new("t/ack.hbs"), text).map_err(|errs| {
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    #[test]
    fn header_block_then_body() {
        let p = parts("{{!-- what this is --}}\nSubject:  {{ticket.tag}} Hi\nX-Postdesk-Note: n\n\nBody {{x}}\nmore\n")
            .unwrap();
        assert_eq!(p.subject.value, "{{ticket.tag}} Hi");
        assert_eq!((p.subject.line, p.subject.column), (2, 11));
        assert_eq!(p.headers.len(), 1);
        assert_eq!(p.headers[0].name, "X-Postdesk-Note");
        assert_eq!(p.body, "Body {{x}}\nmore\n");
        assert_eq!(p.body_line, 5);
    }

    #[test]
    fn subject_may_contain_a_colon() {
        let p = parts("subject: Re: {{ticket.subject}}\n\nx").unwrap();
        assert_eq!(p.subject.name, "Subject");
        assert_eq!(p.subject.value, "Re: {{ticket.subject}}");
    }

    #[test]
    fn forbidden_header_names_line_and_reason() {
        let err = parts("Subject: s\nFrom: evil@example.com\n\nbody").unwrap_err();
        assert!(err.contains("t/ack.hbs:2:1"), "{err}");
        assert!(err.contains("postdesk sets From itself"), "{err}");
        let err = parts("Subject: s\nPriority: urgent\n\nbody").unwrap_err();
        assert!(err.contains("t/ack.hbs:2:1"), "{err}");
        assert!(err.contains("X-Something"), "{err}");
    }

    #[test]
    fn missing_blank_line_is_explained() {
        let err = parts("Subject: s\nHello Carol,\n").unwrap_err();
        assert!(err.contains("t/ack.hbs:2:1"), "{err}");
        assert!(err.contains("blank line"), "{err}");
    }

    #[test]
    fn subject_is_required_and_single() {
        assert!(parts("X-A: b\n\nbody")
            .unwrap_err()
            .contains("no `Subject:`"));
        assert!(parts("Subject: a\nSubject: b\n\nx")
            .unwrap_err()
            .contains("second `Subject:`"));
        assert!(parts("Subject:   \n\nx").unwrap_err().contains("empty"));
    }

    #[test]
    fn folded_headers_are_refused() {
        let err = parts("Subject: a\n  continued\n\nx").unwrap_err();
        assert!(err.contains("one line"), "{err}");
    }

    #[test]
    fn headers_only_file_has_an_empty_body() {
        let p = parts("Subject: s\n").unwrap();
        assert_eq!(p.body, "");
    }

    #[test]
    fn names() {
        assert!(valid_name("ack_billing-2"));
        assert!(!valid_name("ack.old"));
        assert!(!valid_name(""));
    }
}
