//! Templates: the mail postdesk writes, rendered with handlebars.
//!
//! # Files
//!
//! ```text
//! templates/
//!   ack.hbs               header lines, one blank line, the plain-text body
//!   ack.html.hbs          optional HTML alternative (body only, no headers)
//!   partials/signature.hbs          {{> signature}} in every template
//!   partials/signature.html.hbs     optional: used instead in HTML parts
//!   INBOX/ack.hbs         override for mail about tickets of inbox INBOX
//!   INBOX/partials/...    partial overrides for that inbox
//!   de/ack.hbs            German: any two-letter ISO 639-1 directory is a
//!   de/partials/...       language, with its partials and its macros'
//!   de/macros/NAME.hbs    texts (text only: what a macro sets is the
//!                         top-level file's front matter)
//!   INBOX/de/ack.hbs      an inbox's own German text
//!   macros/NAME.hbs       a canned answer (`#macro NAME`): optional front
//!                         matter of `#command` lines ended by `---`, then
//!                         text rendered with the `reply` data into the
//!                         reply's `message.text` (so `macros` is no inbox)
//! ```
//!
//! A text template starts with `Subject: ...` (required) and, if wanted,
//! custom `X-...: ...` headers, one per line; lines that are only a
//! handlebars comment (`{{!-- ... --}}`) may sit among them. From, To,
//! Reply-To, Message-ID and the rest are postdesk's own and are refused with
//! file:line. The nine [`KINDS`] must exist at the top level; more names are
//! welcome (`ack_billing.hbs`, for a rule's `ack = "ack_billing"`) and are
//! checked with the sample data of the kind their name starts with.
//!
//! An inbox override replaces the whole mail: `INBOX/ack.hbs` is used with
//! `INBOX/ack.html.hbs` or with no HTML part at all, never with the top-level
//! HTML, so a rebranded text is not hidden behind an unbranded HTML part.
//! Overrides need a top-level template of the same name. Partials resolve
//! separately: an inbox's partial wins for every template of that inbox, the
//! top-level ones included. In HTML parts a partial's `.html.hbs` form is used
//! when the same directory has one.
//!
//! # Languages
//!
//! The top-level files are in the desk's default language (`[desk]
//! language`, [`Templates::load_for`]). Mail in language L about a ticket
//! of inbox I takes each file from the first directory that has it:
//! `I/L/`, `L/`, `I/D/`, `D/` (D the default language, when it has a
//! directory), `I/`, the top level. A translation, like an override, is
//! the whole mail (its text with its own HTML part or none); partials
//! resolve in the same order. [`Templates::languages`] are the default
//! and every language directory; [`Templates::render_in`] renders in one.
//! A language with no file of its own for a template falls back to the
//! default language's, so a partial translation is still a whole desk.
//!
//! # API
//!
//! - [`Templates::load`]`(dir)` reads and compiles everything, reporting every
//!   problem at once with file:line. The result is `Send + Sync` and cheap to
//!   share; on SIGHUP load a new set and swap it in only if it loads and
//!   [`Templates::check`]s.
//! - [`Templates::render`]`(name, inbox, data)` gives a [`Rendered`]: subject,
//!   extra `X-` headers, text, optional HTML. Build `data` with
//!   [`MailData::to_value`].
//! - [`Templates::check`] renders every template and inbox override with
//!   [`sample_data`], once per on/off combination of the optional values, and
//!   reports all failures with file and line.
//! - [`Templates::names`] lists the template names (to validate a rule's
//!   `ack = "NAME"`); [`Templates::inboxes`] the override directories (to warn
//!   about one that names no `[[inbox]]`).
//! - [`sample_data`]`(name)`: realistic data, every variable present, for
//!   `check` and `postdesk templates preview NAME`.
//! - [`header_value`]: how every rendered header is made single-line.
//!
//! # Conventions for template authors
//!
//! - Strict: a name that is not in the table below is an error, also inside
//!   `{{#if ...}}` (postdesk's `if` and `unless` are strict too), so a
//!   misspelling fails `postdesk check` instead of mailing a customer an empty
//!   string. Optional values are always present and null (lists: empty), so
//!   `{{#if eta}}We aim to answer {{eta}}.{{/if}}` is how to use them.
//! - Text parts and headers are never HTML-escaped; HTML parts always are.
//!   Triple braces `{{{...}}}` (unescaped output) are refused everywhere.
//! - What customers write is data, never template code: `{{ticket.subject}}`
//!   of `{{ticket.ref}} <b>` comes out as exactly those characters.
//! - Header values are made one line (line breaks and control characters
//!   become spaces), trimmed and capped at [`MAX_HEADER_CHARS`]; an `X-`
//!   header that renders empty is left out.
//! - Helpers: `if`, `unless`, `each`, `with`, `lookup`, `eq`, `ne`, `lt`,
//!   `lte`, `gt`, `gte`, `and`, `or`, `not`, `len`; e.g.
//!   `{{#each articles}}{{#if (lt @index 3)}}...{{/if}}{{/each}}`.
//!
//! # Variables
//!
//! | variable | kinds | meaning |
//! |---|---|---|
//! | `ticket.ref` | all | `ACME-42` |
//! | `ticket.tag` | all | `[ACME-42]`; subjects carry it so replies thread |
//! | `ticket.subject` | all | the ticket's subject, reply prefixes removed |
//! | `ticket.status` | all | `new`, `open`, `pending` (waiting on the customer), `resolved`, `closed` |
//! | `ticket.priority` | all | `low`, `normal`, `high`, `urgent` |
//! | `ticket.category`, `ticket.queue` | all | as the rules set them |
//! | `ticket.created` | all | `Mon 2 Nov 2026, 09:14 UTC` |
//! | `ticket.due` | all | next SLA deadline, same format; **may be null** |
//! | `ticket.due_date` | all | the due date an agent set with `#due`, `Fri 24 Dec 2026`; **may be null** |
//! | `customer.name` | all | display name, one safe line, never an address; **may be null** |
//! | `customer.given_name` | all | the name to greet with: `Hans` for "Müller, Hans" or "Hans Müller"; **null** for "ACME Billing", "info", an address or no name |
//! | `customer.email` | all | the requester's address |
//! | `message.text` | all | the new text: the customer's (`ack`, `agent_notify`), the agent's answer (`reply`); otherwise the ticket's latest message |
//! | `message.subject` | all | that message's subject |
//! | `agent.name` | all | the assigned agent's name; `agent` **is null** when nobody is assigned or the agent has no name (the address is never used instead) |
//! | `support.name`, `support.address` | all | `desk.name`, `desk.address` |
//! | `eta` | all | completes "We aim to answer …": `within 4 hours`, `by Tuesday morning` (in the mail's language: `innerhalb von 4 Stunden`, `d'ici mardi matin`); **may be null**, also in a language the estimate has no words for |
//! | `other_tickets` | all | the customer's other open tickets: list of `ref`, `subject`, `status`; may be empty |
//! | `articles` | all | suggested self-service articles: list of `title`, `url`; may be empty |
//! | `old_status`, `new_status` | `status` | the change, as in `ticket.status` |
//! | `autoclose_on` | `followup` | `Tue 10 Nov 2026, 14:05 UTC` (in the mail's language: `Dienstag, 10. November 2026, 14:05 UTC`), when silence closes the ticket; **may be null** (auto-close off) |
//! | `ratings` | `survey` | list of `score` (1…), `label` (`Very poor` … `Excellent`), `mailto` (a link that sends that score) |
//! | `reply_address` | `survey` | where a written answer goes (the ticket's Reply-To) |
//! | `rating.score`, `rating.label` | `survey_thanks` | what the customer gave |
//! | `history` | `agent_notify` | earlier messages, oldest first, without `message`: list of `from`, `when`, `text`; empty for a new ticket |
//! | `commands_help` | `agent_notify` | how to answer and which `#commands` a reply may carry |
//! | `customer_tickets` | `agent_notify` | the customer's other tickets, open ones first, then the last few resolved: list of `ref`, `subject`, `status`; at most ten; may be empty |
//! | `organization` | `agent_notify` | the customer's organisation (`[[organization]]`, else their mail domain); **may be null** |
//! | `note.by` | `agent_notify` | set when the mail is another agent's internal note (then `message.text` is the note, not the customer's words); **may be null** |
//! | `breach.kind` | `escalation` | `first_response`, `next_response` or `resolution` |
//! | `breach.due` | `escalation` | when it was due |
//!
//! Inside `{{#each}}` the item's fields are used bare (`{{ref}}`, `{{title}}`),
//! with `@index`, `@first`, `@last` and `../` as usual in handlebars.

mod compile;
mod data;
mod explain;
mod files;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use handlebars as hb;
use serde_json::Value;

use compile::{build_set, Compiler};
use explain::explain;

pub use data::{
    format_time, sample_data, sample_data_in, AgentVars, Article, Breach, CustomerVars,
    HistoryEntry, KindVars, MailData, MessageVars, NoteVars, Rating, Score, SupportVars,
    TicketSummary, TicketVars,
};

/// Whether a directory of this name in `templates/` (or in an inbox's
/// directory) holds a language's templates: two lowercase letters, an
/// ISO 639-1 code such as `de` or `fr`.
pub fn is_language_dir(name: &str) -> bool {
    files::is_language(name)
}

/// The kinds of mail postdesk sends; each must have a top-level template.
pub const KINDS: [&str; 9] = [
    "ack",
    "agent_notify",
    "reply",
    "status",
    "followup",
    "autoclose",
    "survey",
    "survey_thanks",
    "escalation",
];

/// Longest rendered header value, in characters. Far above what any mail
/// client shows, far below the 998-octet line limit of RFC 5322.
pub const MAX_HEADER_CHARS: usize = 200;

/// The kind a template name belongs to: itself, or the longest kind it
/// starts with followed by `_` (`ack_billing` → `ack`, `survey_thanks_vip` →
/// `survey_thanks`). `None` for a name that is no kind's (`welcome`).
pub fn kind_of(name: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .filter(|k| {
            name == **k
                || name
                    .strip_prefix(**k)
                    .is_some_and(|rest| rest.starts_with('_'))
        })
        .max_by_key(|k| k.len())
        .copied()
}

/// One mail's parts, for the mail builder: it adds From, To, Reply-To,
/// Message-ID and threading headers and makes the MIME structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line, trimmed, at most [`MAX_HEADER_CHARS`]. Whether it carries the
    /// ticket tag is the template's business; the caller may ensure it.
    pub subject: String,
    /// Extra `X-` headers in template order, made safe like the subject;
    /// those that rendered empty are left out.
    pub headers: Vec<(String, String)>,
    /// The plain-text body, ending in one newline.
    pub text: String,
    /// The HTML alternative, when the template has one.
    pub html: Option<String>,
}

/// Where in which file: what an editor needs to jump there. Lines and
/// columns count from 1; `u32` keeps every `Result` of this module small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Location {
    fn file(path: PathBuf) -> Location {
        Location {
            path,
            line: None,
            column: None,
        }
    }

    fn at(path: PathBuf, line: usize, column: usize) -> Location {
        Location {
            path,
            line: u32::try_from(line).ok(),
            column: u32::try_from(column).ok(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {}: {source}\n  hint: {hint}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error(
        "{}: missing; every desk needs a `{name}` template\n  hint: create it; the templates/ \
         directory that ships with postdesk has one to start from",
        path.display()
    )]
    MissingKind { path: PathBuf, name: String },
    /// A file that cannot be a template: bad header block, handlebars syntax,
    /// a forbidden construct, a stray file.
    #[error("{at}: {message}\n  hint: {hint}")]
    Invalid {
        at: Location,
        message: String,
        hint: String,
    },
    /// Rendering failed; `name` is the template that was being rendered, `at`
    /// the file where it failed (perhaps a partial).
    #[error("{at}: {message}\n  hint: {hint}")]
    Render {
        at: Location,
        name: String,
        message: String,
        hint: String,
    },
    #[error("no template named `{name}` (there are: {known})\n  hint: create {}", path.display())]
    Unknown {
        name: String,
        known: String,
        path: PathBuf,
    },
    #[error("{} problems in the templates:\n{}", .0.len(), list(.0))]
    Several(Vec<TemplateError>),
}

fn list(errors: &[TemplateError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl TemplateError {
    /// Every single problem, also those inside [`TemplateError::Several`].
    pub fn problems(&self) -> Vec<&TemplateError> {
        match self {
            TemplateError::Several(all) => all.iter().flat_map(|e| e.problems()).collect(),
            one => vec![one],
        }
    }

    fn all(mut errors: Vec<TemplateError>) -> Result<(), TemplateError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(TemplateError::Several(errors)),
        }
    }
}

/// Where a compiled piece came from, to turn handlebars' positions (counted
/// from the piece) into file positions (counted from the file).
#[derive(Debug, Clone)]
struct Source {
    path: PathBuf,
    /// File line and column of the piece's first character.
    line: usize,
    column: usize,
}

impl Source {
    fn locate(&self, pos: Option<(usize, usize)>) -> Location {
        let (line, column) = match pos {
            Some((1, c)) => (self.line, self.column + c.saturating_sub(1)),
            Some((l, c)) => (self.line + l - 1, c),
            None => (self.line, self.column),
        };
        Location::at(self.path.clone(), line, column)
    }
}

/// One mail's compiled pieces, by their keys in the registries.
#[derive(Debug, Clone)]
struct Mail {
    subject: String,
    headers: Vec<(String, String)>,
    body: String,
    html: Option<String>,
}

/// What renders mail for one inbox (or for all others): a registry without
/// escaping for headers and text, one with HTML escaping, each holding the
/// partials this inbox resolves to.
#[derive(Debug, Clone)]
struct Set {
    text: hb::Handlebars<'static>,
    html: hb::Handlebars<'static>,
    mails: BTreeMap<String, Mail>,
    /// Whether this inbox overrides any partial, i.e. whether rendering the
    /// top-level templates here can fail differently than at the top.
    own_partials: bool,
}

impl Set {
    /// Each compiled piece of `mail` with the registry that renders it.
    fn pieces<'a>(&'a self, mail: &'a Mail) -> Vec<(&'a hb::Handlebars<'static>, &'a str)> {
        let text = std::iter::once(&mail.subject)
            .chain(mail.headers.iter().map(|(_, k)| k))
            .chain(std::iter::once(&mail.body))
            .map(|k| (&self.text, k.as_str()));
        let html = mail.html.iter().map(|k| (&self.html, k.as_str()));
        text.chain(html).collect()
    }
}

/// A loaded, compiled template set. Immutable; load a new one to change it.
#[derive(Debug, Clone)]
pub struct Templates {
    dir: PathBuf,
    /// The language of mail when no other is chosen (`[desk] language`):
    /// the top-level files are in it, and every language falls back to it
    /// file by file.
    default_language: String,
    default: Set,
    inboxes: BTreeMap<String, Set>,
    /// (language, inbox or `""`) → what renders mail in that language, for
    /// every language directory but the default's.
    langs: BTreeMap<(String, String), Set>,
    /// Compiled piece key (its file, `#Header` for a header) → its origin.
    /// Keys are unique per file, so one map serves every set.
    sources: HashMap<String, Source>,
    /// Canned answers (`templates/macros/NAME.hbs`): name → its front
    /// matter's command lines (without `#`) and the key its text is
    /// registered under in every set's text registry.
    macros: BTreeMap<String, (Vec<String>, String)>,
    /// (language, macro name) → the key of that language's text of the
    /// macro (`templates/de/macros/NAME.hbs`).
    lang_macros: BTreeMap<(String, String), String>,
    /// Template name → the languages whose own directory has it.
    translated: BTreeMap<String, Vec<String>>,
}

/// One directory of templates as the sets use it: what it holds and its
/// compiled mails.
struct Layer<'a> {
    scan: &'a files::Scan,
    mails: BTreeMap<String, Mail>,
}

impl Templates {
    /// [`Templates::load_for`] a desk whose default language is English.
    pub fn load(dir: &Path) -> Result<Templates, TemplateError> {
        Templates::load_for(dir, "en")
    }

    /// Reads and compiles `dir` for a desk whose default language is
    /// `default_language`. Every problem found is reported, each with its
    /// file and, where it has one, line.
    pub fn load_for(dir: &Path, default_language: &str) -> Result<Templates, TemplateError> {
        let mut errors = Vec::new();
        let top = files::scan(dir, "", files::Level::Top, &mut errors)?;
        for kind in KINDS {
            if !top.text.contains_key(kind) {
                errors.push(TemplateError::MissingKind {
                    path: dir.join(format!("{kind}.hbs")),
                    name: kind.to_string(),
                });
            }
        }
        orphans(dir, &top, None, &mut errors);
        for (inbox, scan) in &top.inboxes {
            orphans(
                dir,
                scan,
                Some((&format!("inbox `{inbox}`"), &top)),
                &mut errors,
            );
            for (lang, l) in &scan.langs {
                let what = format!("inbox `{inbox}`'s language `{lang}`");
                orphans(dir, l, Some((&what, &top)), &mut errors);
            }
        }
        for (lang, l) in &top.langs {
            orphans(
                dir,
                l,
                Some((&format!("language `{lang}`"), &top)),
                &mut errors,
            );
            for (name, rel) in &l.macros {
                if !top.macros.contains_key(name) {
                    errors.push(TemplateError::Invalid {
                        at: Location::file(files::join(dir, rel)),
                        message: format!(
                            "language `{lang}` translates macro `{name}`, which has no top-level macro"
                        ),
                        hint: format!(
                            "create {} (it holds the macro's front matter), or fix the file name",
                            dir.join(files::MACROS).join(format!("{name}.hbs")).display()
                        ),
                    });
                }
            }
        }

        let mut c = Compiler {
            dir,
            compiled: HashMap::new(),
            sources: HashMap::new(),
            errors,
        };
        // Every directory, by its path under `dir` ("" the top level,
        // "brand", "de", "brand/de"), compiled once.
        let mut layers: BTreeMap<String, Layer<'_>> = BTreeMap::new();
        let mut add = |c: &mut Compiler<'_>, key: String, scan| {
            c.partials(scan);
            let mails = c.mails(scan);
            layers.insert(key, Layer { scan, mails });
        };
        add(&mut c, String::new(), &top);
        let mut languages: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        for (lang, scan) in &top.langs {
            add(&mut c, lang.clone(), scan);
            languages.insert(lang.clone());
        }
        for (inbox, scan) in &top.inboxes {
            add(&mut c, inbox.clone(), scan);
            for (lang, l) in &scan.langs {
                add(&mut c, format!("{inbox}/{lang}"), l);
                languages.insert(lang.clone());
            }
        }
        let mut translated: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (lang, scan) in &top.langs {
            for name in scan.text.keys() {
                translated
                    .entry(name.clone())
                    .or_default()
                    .push(lang.clone());
            }
        }
        let macros = c.macros(&top);
        let mut lang_macros = BTreeMap::new();
        for (lang, scan) in &top.langs {
            for (name, key) in c.macro_texts(scan) {
                lang_macros.insert((lang.clone(), name), key);
            }
        }
        let Compiler {
            compiled,
            sources,
            errors,
            ..
        } = c;
        TemplateError::all(errors)?;

        let macro_keys: Vec<&String> = macros
            .values()
            .map(|(_, k)| k)
            .chain(lang_macros.values())
            .collect();
        // The set for mail about a ticket of `inbox` in `lang`: the
        // directories it reads, most specific first (see the module docs).
        let build = |inbox: Option<&str>, lang: Option<&str>| -> Set {
            let mut keys: Vec<String> = Vec::new();
            let mut push = |k: String| {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            };
            for l in lang.into_iter().chain(std::iter::once(default_language)) {
                if let Some(i) = inbox {
                    push(format!("{i}/{l}"));
                }
                push(l.to_string());
            }
            if let Some(i) = inbox {
                push(i.to_string());
            }
            push(String::new());
            let present: Vec<&Layer<'_>> = keys.iter().filter_map(|k| layers.get(k)).collect();
            let mut mails = BTreeMap::new();
            for layer in present.iter().rev() {
                mails.extend(layer.mails.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            let scans: Vec<&files::Scan> = present.iter().map(|l| l.scan).collect();
            let mut set = build_set(&compiled, mails, &scans);
            for key in &macro_keys {
                if let Some(t) = compiled.get(*key) {
                    set.text.register_template(key, t.clone());
                }
            }
            set
        };
        let default = build(None, None);
        let inboxes = top
            .inboxes
            .keys()
            .map(|name| (name.clone(), build(Some(name), None)))
            .collect();
        let mut langs = BTreeMap::new();
        for lang in languages.iter().filter(|l| *l != default_language) {
            langs.insert((lang.clone(), String::new()), build(None, Some(lang)));
            for inbox in top.inboxes.keys() {
                langs.insert(
                    (lang.clone(), inbox.clone()),
                    build(Some(inbox), Some(lang)),
                );
            }
        }
        Ok(Templates {
            dir: dir.to_path_buf(),
            default_language: default_language.to_string(),
            default,
            inboxes,
            langs,
            sources,
            macros,
            lang_macros,
            translated,
        })
    }

    /// The languages whose directory translates template `name`
    /// (`templates/de/NAME.hbs`), sorted; the others fall back to the
    /// default language's file.
    pub fn translations(&self, name: &str) -> Vec<String> {
        self.translated.get(name).cloned().unwrap_or_default()
    }

    /// The languages mail can be written in, the default first: the
    /// desk's default and every language directory (`templates/de/`).
    /// A language may translate only some templates; the others fall
    /// back to the default language, file by file.
    pub fn languages(&self) -> Vec<String> {
        let mut out = vec![self.default_language.clone()];
        for (lang, _) in self.langs.keys() {
            if !out.contains(lang) {
                out.push(lang.clone());
            }
        }
        out
    }

    /// The default language these templates were loaded for.
    pub fn default_language(&self) -> &str {
        &self.default_language
    }

    /// What renders mail about a ticket of `inbox` in `lang` (the
    /// default language when `None` or a language without templates).
    fn set(&self, inbox: Option<&str>, lang: Option<&str>) -> &Set {
        let inbox = inbox.filter(|i| self.inboxes.contains_key(*i));
        if let Some(l) = lang.filter(|l| *l != self.default_language) {
            let key = (l.to_string(), inbox.unwrap_or_default().to_string());
            if let Some(set) = self.langs.get(&key) {
                return set;
            }
        }
        inbox
            .and_then(|i| self.inboxes.get(i))
            .unwrap_or(&self.default)
    }

    /// The canned answers, each with its front matter's command lines, for
    /// the decision (which applies them and refuses unknown names).
    pub fn macros(&self) -> Vec<crate::command::Macro> {
        self.macros
            .iter()
            .map(|(name, (commands, _))| crate::command::Macro {
                name: name.clone(),
                commands: commands.clone(),
            })
            .collect()
    }

    /// Renders macro `name`'s text with `data` (the reply's data) for mail
    /// about a ticket of `inbox`: trimmed, without the front matter.
    pub fn render_macro(
        &self,
        name: &str,
        inbox: Option<&str>,
        data: &Value,
    ) -> Result<String, TemplateError> {
        self.render_macro_in(name, inbox, None, data)
    }

    /// [`Templates::render_macro`] in language `lang`: its translation
    /// (`templates/de/macros/NAME.hbs`), else the default language's.
    pub fn render_macro_in(
        &self,
        name: &str,
        inbox: Option<&str>,
        lang: Option<&str>,
        data: &Value,
    ) -> Result<String, TemplateError> {
        let set = self.set(inbox, lang);
        let (_, top_key) = self
            .macros
            .get(name)
            .ok_or_else(|| TemplateError::Unknown {
                name: format!("macros/{name}"),
                known: self.macros.keys().cloned().collect::<Vec<_>>().join(", "),
                path: self.dir.join(files::MACROS).join(format!("{name}.hbs")),
            })?;
        let translated = |l: &str| self.lang_macros.get(&(l.to_string(), name.to_string()));
        let key = lang
            .and_then(translated)
            .or_else(|| translated(&self.default_language))
            .unwrap_or(top_key);
        let text = set
            .text
            .render(key, data)
            .map_err(|e| self.render_error(&format!("macros/{name}"), data, &e))?;
        Ok(text.trim().to_string())
    }

    /// The directory this set was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every template name, sorted: the kinds and any extra names.
    pub fn names(&self) -> Vec<String> {
        self.default.mails.keys().cloned().collect()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.default.mails.contains_key(name)
    }

    /// Inboxes with an override directory, sorted.
    pub fn inboxes(&self) -> Vec<String> {
        self.inboxes.keys().cloned().collect()
    }

    /// Renders template `name` for mail about a ticket of `inbox` (its
    /// overrides win; an inbox without any uses the top level), in the
    /// default language.
    pub fn render(
        &self,
        name: &str,
        inbox: Option<&str>,
        data: &Value,
    ) -> Result<Rendered, TemplateError> {
        self.render_in(name, inbox, None, data)
    }

    /// [`Templates::render`] in language `lang` (ISO 639-1): each file
    /// from that language's directory where it has one, else the default
    /// language's; `None` or a language without templates is the default.
    pub fn render_in(
        &self,
        name: &str,
        inbox: Option<&str>,
        lang: Option<&str>,
        data: &Value,
    ) -> Result<Rendered, TemplateError> {
        let set = self.set(inbox, lang);
        let mail = set.mails.get(name).ok_or_else(|| TemplateError::Unknown {
            name: name.to_string(),
            known: self.names().join(", "),
            path: self.dir.join(format!("{name}.hbs")),
        })?;
        self.render_mail(set, name, mail, data)
    }

    /// Renders every template, and every inbox's version of it, with sample
    /// data: once as it is, once with every optional value null or empty, and
    /// with each optional value switched alone, so both sides of an
    /// `{{#if}}` are seen. Reports every distinct failure.
    pub fn check(&self) -> Result<(), TemplateError> {
        let mut errors = Vec::new();
        let mut seen = HashSet::new();
        let mut samples: HashMap<&str, Vec<Value>> = HashMap::new();
        let sets = std::iter::once((&self.default, None)).chain(
            self.inboxes
                .values()
                .chain(self.langs.values())
                .map(|s| (s, Some(&self.default))),
        );
        for (set, top) in sets {
            for (name, mail) in &set.mails {
                // The same pieces with the same partials fail the same way.
                let same_as_top = top.is_some_and(|t| {
                    !set.own_partials && t.mails.get(name).is_some_and(|m| m.body == mail.body)
                });
                if same_as_top {
                    continue;
                }
                let variants = samples.entry(name).or_insert_with(|| variants(name));
                // Piece by piece, so a bad subject does not hide a bad body.
                for (registry, key) in set.pieces(mail) {
                    for data in variants.iter() {
                        if let Err(e) = registry.render(key, data) {
                            let e = self.render_error(name, data, &e);
                            if seen.insert(e.to_string()) {
                                errors.push(e);
                            }
                        }
                    }
                }
            }
        }
        // Macros render with the reply's data, in every set (an inbox's
        // partials may differ).
        let reply = variants("reply");
        let texts = self
            .macros
            .iter()
            .map(|(name, (_, key))| (name, key))
            .chain(self.lang_macros.iter().map(|((_, name), key)| (name, key)));
        for (name, key) in texts {
            let sets = std::iter::once(&self.default)
                .chain(self.inboxes.values())
                .chain(self.langs.values());
            for set in sets {
                for data in &reply {
                    if let Err(e) = set.text.render(key, data) {
                        let e = self.render_error(&format!("macros/{name}"), data, &e);
                        if seen.insert(e.to_string()) {
                            errors.push(e);
                        }
                    }
                }
            }
        }
        TemplateError::all(errors)
    }

    fn render_mail(
        &self,
        set: &Set,
        name: &str,
        mail: &Mail,
        data: &Value,
    ) -> Result<Rendered, TemplateError> {
        let err = |e: hb::RenderError| self.render_error(name, data, &e);
        let subject = header_value(&set.text.render(&mail.subject, data).map_err(err)?);
        let mut headers = Vec::with_capacity(mail.headers.len());
        for (header, key) in &mail.headers {
            let value = header_value(&set.text.render(key, data).map_err(err)?);
            if !value.is_empty() {
                headers.push((header.clone(), value));
            }
        }
        let body = set.text.render(&mail.body, data).map_err(err)?;
        let mut text = body.trim_start_matches('\n').trim_end().to_string();
        text.push('\n');
        let html = match &mail.html {
            Some(key) => Some(set.html.render(key, data).map_err(err)?),
            None => None,
        };
        Ok(Rendered {
            subject,
            headers,
            text,
            html,
        })
    }

    fn render_error(&self, name: &str, data: &Value, e: &hb::RenderError) -> TemplateError {
        let pos = e.line_no.zip(e.column_no);
        let at = match e.template_name.as_ref().and_then(|k| self.sources.get(k)) {
            Some(source) => source.locate(pos),
            None => Location::file(self.dir.join(format!("{name}.hbs"))),
        };
        let (message, hint) = explain(&self.dir, name, data, e.reason());
        TemplateError::Render {
            at,
            name: name.to_string(),
            message,
            hint,
        }
    }
}

/// An HTML part without its text part, or an override (an inbox's, a
/// language's) without a top-level template: both would leave some mail
/// without a coherent whole.
fn orphans(
    dir: &Path,
    scan: &files::Scan,
    over: Option<(&String, &files::Scan)>,
    errors: &mut Vec<TemplateError>,
) {
    for (name, rel) in &scan.html {
        if !scan.text.contains_key(name) {
            let text_rel = rel.replace(".html.hbs", ".hbs");
            errors.push(TemplateError::Invalid {
                at: Location::file(files::join(dir, rel)),
                message: format!("an HTML part without its text part {text_rel}"),
                hint: format!(
                    "create {} (Subject line and plain-text body): every mail has a text part",
                    files::join(dir, &text_rel).display()
                ),
            });
        }
    }
    if let Some((what, top)) = over {
        // A missing kind is reported once, as missing, not once per
        // directory that translates or overrides it.
        for (name, rel) in scan
            .text
            .iter()
            .filter(|(n, _)| !KINDS.contains(&n.as_str()))
        {
            if !top.text.contains_key(name) {
                errors.push(TemplateError::Invalid {
                    at: Location::file(files::join(dir, rel)),
                    message: format!("{what} overrides `{name}`, which has no top-level template"),
                    hint: format!(
                        "create {} (every inbox and language falls back to it), or fix the \
                         file name",
                        dir.join(format!("{name}.hbs")).display()
                    ),
                });
            }
        }
    }
}

/// Makes a rendered value safe as a header: one line (CR, LF, tabs and other
/// control characters become spaces, so `x\r\nBcc: evil@x` cannot add a
/// header), no bidirectional-override characters (they disguise what a
/// subject says), runs of spaces collapsed, trimmed, at most
/// [`MAX_HEADER_CHARS`] characters.
pub fn header_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_HEADER_CHARS * 4));
    let mut space = false;
    let mut count = 0;
    for c in raw.chars() {
        if matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}') {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
            count += 1;
        }
        space = false;
        out.push(c);
        count += 1;
        if count > MAX_HEADER_CHARS {
            break;
        }
    }
    if count > MAX_HEADER_CHARS {
        let cut: String = out.chars().take(MAX_HEADER_CHARS - 1).collect();
        out = cut.trim_end().to_string();
        out.push('…');
    }
    out
}

/// Every data variant `check` renders `name` with.
fn variants(name: &str) -> Vec<Value> {
    let full = sample_data(name);
    let off = data::all_off(&full);
    let mut out = vec![full.clone(), off.clone()];
    for path in data::OPTIONAL {
        let mut one_off = full.clone();
        if data::switch_off(&mut one_off, path) {
            out.push(one_off);
            let mut one_on = off.clone();
            if let (Some(slot), Some(value)) = (
                data::lookup_mut(&mut one_on, path),
                data::lookup(&full, path),
            ) {
                *slot = value.clone();
            }
            out.push(one_on);
        }
    }
    for (path, values) in data::branch_values() {
        for value in values {
            let mut v = full.clone();
            if let Some(slot) = data::lookup_mut(&mut v, path) {
                *slot = value;
                out.push(v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::compile::raw_output;
    use super::explain::{null_prefix, suggest};
    use super::*;

    #[test]
    fn kinds_of_extra_names() {
        assert_eq!(kind_of("ack"), Some("ack"));
        assert_eq!(kind_of("ack_billing"), Some("ack"));
        assert_eq!(kind_of("survey_thanks"), Some("survey_thanks"));
        assert_eq!(kind_of("survey_thanks_vip"), Some("survey_thanks"));
        assert_eq!(kind_of("survey_vip"), Some("survey"));
        assert_eq!(kind_of("acknowledge"), None);
        assert_eq!(kind_of("welcome"), None);
    }

    #[test]
    fn header_values_are_one_safe_line() {
        assert_eq!(header_value("  x\r\nBcc: evil@x  "), "x Bcc: evil@x");
        assert_eq!(header_value("a\u{0}b\tc\u{2028}d\u{85}e"), "a b c d e");
        assert_eq!(header_value("\u{202e}gnp.exe"), "gnp.exe");
        assert_eq!(header_value("\r\n"), "");
        let long = header_value(&"é".repeat(500));
        assert_eq!(long.chars().count(), MAX_HEADER_CHARS);
        assert!(long.ends_with('…'));
        assert_eq!(
            header_value(&"a".repeat(MAX_HEADER_CHARS)).len(),
            MAX_HEADER_CHARS
        );
    }

    #[test]
    fn suggestions_find_near_misses() {
        let data = sample_data("ack");
        assert_eq!(suggest(&data, "ticket.reff").as_deref(), Some("ticket.ref"));
        assert_eq!(suggest(&data, "tittle").as_deref(), Some("title"));
        assert_eq!(suggest(&data, "completely_unrelated_thing"), None);
        assert_eq!(
            null_prefix(&data::all_off(&data), "agent.name").as_deref(),
            Some("agent")
        );
    }

    #[test]
    fn variants_cover_each_optional_value_both_ways() {
        let v = variants("ack");
        assert!(v
            .iter()
            .any(|d| d["eta"].is_null() && !d["articles"][0].is_null()));
        assert!(v
            .iter()
            .any(|d| !d["eta"].is_null() && d["articles"] == Value::Array(vec![])));
        let s = variants("status");
        assert!(s.iter().any(|d| d["new_status"] == "pending"));
    }

    #[test]
    fn triple_braces_are_found_inside_blocks() {
        let t = hb::Template::compile_with_name("a\n{{#if x}}\n  {{{y}}}\n{{/if}}", "t".into());
        assert_eq!(t.ok().as_ref().and_then(raw_output), Some((3, 3)));
    }

    #[test]
    fn templates_are_send_and_sync() {
        fn is<T: Send + Sync>() {}
        is::<Templates>();
    }
}
