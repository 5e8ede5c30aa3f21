//! Compiling the template directory: each file once into handlebars
//! templates, then the sets (top level, an inbox, a language) that share
//! them, with the registry and the strict `if`/`unless` they render with.
//! Apart from [`super::Templates`] (what the desk calls: load, render,
//! check) because this is the part that knows handlebars' insides.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use handlebars as hb;
use handlebars::template::TemplateElement;
use handlebars::{RenderErrorReason, Renderable};

use super::{files, Location, Mail, Set, Source, TemplateError};

/// Compiles each file once; the compiled pieces are then shared by every set
/// that uses them.
pub(super) struct Compiler<'a> {
    pub(super) dir: &'a Path,
    pub(super) compiled: HashMap<String, hb::Template>,
    pub(super) sources: HashMap<String, Source>,
    pub(super) errors: Vec<TemplateError>,
}

impl Compiler<'_> {
    pub(super) fn mails(&mut self, scan: &files::Scan) -> BTreeMap<String, Mail> {
        let mut out = BTreeMap::new();
        for (name, rel) in &scan.text {
            let html = scan.html.get(name);
            if let Some(mail) = self.mail(rel, html) {
                out.insert(name.clone(), mail);
            }
        }
        out
    }

    fn mail(&mut self, rel: &str, html_rel: Option<&String>) -> Option<Mail> {
        let path = files::join(self.dir, rel);
        let text = self.read(rel)?;
        let parts = match files::split(&path, &text) {
            Ok(p) => p,
            Err(errs) => {
                self.errors.extend(errs);
                return None;
            }
        };
        let piece = |h: &files::HeaderLine| Source {
            path: path.clone(),
            line: h.line,
            column: h.column,
        };
        let subject_key = format!("{rel}#Subject");
        let mut ok = self.compile(&subject_key, &parts.subject.value, piece(&parts.subject));
        let mut headers = Vec::new();
        for h in &parts.headers {
            let key = format!("{rel}#{}", h.name);
            ok &= self.compile(&key, &h.value, piece(h));
            headers.push((h.name.clone(), key));
        }
        let body_source = Source {
            path: path.clone(),
            line: parts.body_line,
            column: 1,
        };
        ok &= self.compile(rel, &parts.body, body_source);
        let html = match html_rel {
            Some(h) => {
                ok &= self.file(h);
                Some(h.clone())
            }
            None => None,
        };
        ok.then(|| Mail {
            subject: subject_key,
            headers,
            body: rel.to_string(),
            html,
        })
    }

    /// Each macro's front matter (command lines up to a `---` line) and
    /// its compiled text. A front-matter line that is not a command a
    /// macro may give is reported with its line.
    pub(super) fn macros(&mut self, scan: &files::Scan) -> BTreeMap<String, (Vec<String>, String)> {
        let mut out = BTreeMap::new();
        for (name, rel) in &scan.macros {
            let path = files::join(self.dir, rel);
            let Some(text) = self.read(rel) else { continue };
            let (commands, body, body_line) = match front_matter(&text) {
                Ok(f) => f,
                Err((line, message)) => {
                    self.errors.push(TemplateError::Invalid {
                        at: Location::at(path.clone(), line, 1),
                        message,
                        hint: "a macro may start with command lines (`#status pending`, `#priority low`, ...) ended by a `---` line; then the text".into(),
                    });
                    continue;
                }
            };
            let source = Source {
                path,
                line: body_line,
                column: 1,
            };
            if self.compile(rel, &body, source) {
                out.insert(name.clone(), (commands, rel.clone()));
            }
        }
        out
    }

    /// A language's translations of macros (`templates/de/macros/`):
    /// text only, since what a macro sets is the top-level file's front
    /// matter, the same in every language.
    pub(super) fn macro_texts(&mut self, scan: &files::Scan) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, rel) in &scan.macros {
            let path = files::join(self.dir, rel);
            let Some(text) = self.read(rel) else { continue };
            match front_matter(&text) {
                Ok((commands, _, _)) if !commands.is_empty() => {
                    self.errors.push(TemplateError::Invalid {
                        at: Location::at(path, 1, 1),
                        message: "a translated macro has no front matter".into(),
                        hint: format!(
                            "what macro `{name}` sets is in its top-level file \
                             (templates/macros/{name}.hbs); keep only the text here"
                        ),
                    });
                    continue;
                }
                Err((line, message)) => {
                    self.errors.push(TemplateError::Invalid {
                        at: Location::at(path, line, 1),
                        message,
                        hint: "a translated macro is text only".into(),
                    });
                    continue;
                }
                Ok(_) => {}
            }
            let source = Source {
                path,
                line: 1,
                column: 1,
            };
            if self.compile(rel, &text, source) {
                out.push((name.clone(), rel.clone()));
            }
        }
        out
    }

    pub(super) fn partials(&mut self, scan: &files::Scan) {
        for rel in scan.partials.values().chain(scan.partials_html.values()) {
            self.file(rel);
        }
    }

    /// A whole file as one piece (HTML parts, partials).
    fn file(&mut self, rel: &str) -> bool {
        let Some(text) = self.read(rel) else {
            return false;
        };
        let source = Source {
            path: files::join(self.dir, rel),
            line: 1,
            column: 1,
        };
        self.compile(rel, &text, source)
    }

    fn read(&mut self, rel: &str) -> Option<String> {
        files::read(self.dir, rel)
            .map_err(|e| self.errors.push(e))
            .ok()
    }

    fn compile(&mut self, key: &str, text: &str, source: Source) -> bool {
        match hb::Template::compile_with_name(text, key.to_string()) {
            Ok(t) => {
                if let Some(pos) = raw_output(&t) {
                    self.errors.push(TemplateError::Invalid {
                        at: source.locate(Some(pos)),
                        message: "triple braces `{{{...}}}` print a value unescaped".into(),
                        hint: "write {{...}}: text parts are never escaped and HTML parts must \
                               be, so customer text cannot become markup"
                            .into(),
                    });
                    return false;
                }
                self.compiled.insert(key.to_string(), t);
                self.sources.insert(key.to_string(), source);
                true
            }
            Err(e) => {
                self.errors.push(TemplateError::Invalid {
                    at: source.locate(e.pos()),
                    message: e.reason().to_string(),
                    hint: "check that every {{ has its }}, and that every {{#block}} is closed \
                           by its {{/block}}"
                        .into(),
                });
                false
            }
        }
    }
}

/// Splits a macro file into its front matter's command lines (without
/// `#`, each checked to be a command a macro may give), its text, and the
/// line the text starts on. No front matter when the first line is no
/// command. Errors carry their line.
fn front_matter(text: &str) -> Result<(Vec<String>, String, usize), (usize, String)> {
    let starts = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with("{{!"))
        .is_some_and(|l| l.trim_start().starts_with('#'));
    if !starts {
        return Ok((Vec::new(), text.to_string(), 1));
    }
    let mut commands = Vec::new();
    let mut offset = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        offset += raw.len();
        let line = raw.trim();
        if line == "---" {
            return Ok((commands, text[offset..].to_string(), i + 2));
        }
        if line.is_empty() || (line.starts_with("{{!") && line.ends_with("}}")) {
            continue;
        }
        let Some(rest) = line.strip_prefix('#') else {
            return Err((
                i + 1,
                format!("`{line}` in the front matter is no command; is the `---` line missing?"),
            ));
        };
        let mut words = rest.split_whitespace();
        let verb = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        match crate::command::parse(verb, &args, "agent@macro.invalid") {
            Ok(c) if crate::command::allowed_in_macro(&c) => commands.push(rest.trim().to_string()),
            Ok(_) => return Err((i + 1, format!("`{line}` cannot be given by a macro"))),
            Err(e) => return Err((i + 1, e)),
        }
    }
    Err((1, "the front matter has no `---` line after it".into()))
}

/// The position of the first `{{{...}}}` in `t`, blocks included.
pub(super) fn raw_output(t: &hb::Template) -> Option<(usize, usize)> {
    for (i, element) in t.elements.iter().enumerate() {
        let here = t.mapping.get(i).map(|m| (m.0, m.1)).unwrap_or((1, 1));
        let inner: Vec<&hb::Template> = match element {
            TemplateElement::HtmlExpression(_) => return Some(here),
            TemplateElement::HelperBlock(h) => h.template.iter().chain(h.inverse.iter()).collect(),
            TemplateElement::DecoratorBlock(d) | TemplateElement::PartialBlock(d) => {
                d.template.iter().collect()
            }
            _ => Vec::new(),
        };
        if let Some(pos) = inner.into_iter().find_map(raw_output) {
            return Some(pos);
        }
    }
    None
}

/// The registries for one set: `layers` are the directories it reads,
/// most specific first (the top level last); a partial comes from the
/// first that has it.
pub(super) fn build_set(
    compiled: &HashMap<String, hb::Template>,
    mails: BTreeMap<String, Mail>,
    layers: &[&files::Scan],
) -> Set {
    let mut text = registry(false);
    let mut html = registry(true);
    let register = |reg: &mut hb::Handlebars<'static>, as_name: &str, key: &String| {
        if let Some(t) = compiled.get(key) {
            // Registered under the partial's (or piece's) name; the template
            // keeps its file key as its own name, so errors name the file.
            reg.register_template(as_name, t.clone());
        }
    };
    let stems: std::collections::BTreeSet<&String> = layers
        .iter()
        .flat_map(|s| s.partials.keys().chain(s.partials_html.keys()))
        .collect();
    for stem in stems {
        if let Some(key) = layers.iter().find_map(|l| l.partials.get(stem)) {
            register(&mut text, stem, key);
        }
        // In HTML parts: a directory's `.html.hbs` form, else its text
        // form, before the next directory's.
        let for_html = layers
            .iter()
            .find_map(|l| l.partials_html.get(stem).or(l.partials.get(stem)));
        if let Some(key) = for_html {
            register(&mut html, stem, key);
        }
    }
    for mail in mails.values() {
        for key in std::iter::once(&mail.subject)
            .chain(mail.headers.iter().map(|(_, k)| k))
            .chain(std::iter::once(&mail.body))
        {
            register(&mut text, key, key);
        }
        if let Some(key) = &mail.html {
            register(&mut html, key, key);
        }
    }
    let own_partials = layers
        .iter()
        .take(layers.len().saturating_sub(1))
        .any(|l| !l.partials.is_empty() || !l.partials_html.is_empty());
    Set {
        text,
        html,
        mails,
        own_partials,
    }
}

fn registry(html: bool) -> hb::Handlebars<'static> {
    let mut reg = hb::Handlebars::new();
    reg.set_strict_mode(true);
    if !html {
        reg.register_escape_fn(hb::no_escape);
    }
    reg.register_helper("if", Box::new(StrictIf { positive: true }));
    reg.register_helper("unless", Box::new(StrictIf { positive: false }));
    reg
}

/// `if`/`unless` that, unlike handlebars' own in strict mode, refuse a name
/// that does not exist: `{{#if ticket.duee}}` must fail `check`, not quietly
/// hide a paragraph forever. Optional values exist and are null, so
/// `{{#if eta}}` works as authors expect.
#[derive(Clone, Copy)]
struct StrictIf {
    positive: bool,
}

impl hb::HelperDef for StrictIf {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &hb::Helper<'rc>,
        r: &'reg hb::Handlebars<'reg>,
        ctx: &'rc hb::Context,
        rc: &mut hb::RenderContext<'reg, 'rc>,
        out: &mut dyn hb::Output,
    ) -> hb::HelperResult {
        let name = if self.positive { "if" } else { "unless" };
        let param = h
            .param(0)
            .ok_or(RenderErrorReason::ParamNotFoundForIndex(name, 0))?;
        if param.is_value_missing() {
            return Err(hb::RenderError::strict_error(param.relative_path()));
        }
        let include_zero = h
            .hash_get("includeZero")
            .and_then(|v| v.value().as_bool())
            .unwrap_or(false);
        let truthy = hb::JsonTruthy::is_truthy(param.value(), include_zero);
        let chosen = if truthy == self.positive {
            h.template()
        } else {
            h.inverse()
        };
        match chosen {
            Some(t) => t.render(r, ctx, rc, out),
            None => Ok(()),
        }
    }
}
