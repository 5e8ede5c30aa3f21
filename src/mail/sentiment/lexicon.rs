//! The word lists the mood is read with, and the lexicon they are
//! indexed into: what each listed word, prefix and phrase is. Apart from
//! the reading ([`super`]) because this is what an admin or translator
//! edits and checks, and it has no part in how a text is scored.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

// --- the word lists --------------------------------------------------------
//
// Each entry: weight, then entries separated by commas. An entry is one or
// more words; a word may list alternatives with `|` and end in `*` to match
// any word it begins ("enttäusch*": enttäuscht, enttäuschend, ...). A
// phrase's first word may not end in `*`. Weights: 1 mild, 2 moderate,
// 3 strong; 0 marks stock phrases that count nothing.

pub(super) const ENGLISH: &[(f32, &str)] = &[
    (-3.0, "unacceptable, not acceptable, outrageous, disgraceful, disgrace, disgusting, appalling, \
            atrocious, horrible, horrendous, awful, pathetic, ridiculous, ludicrous, absurd, furious, \
            livid, scam, scammed, scammers, fraud, fraudulent, rip-off, ripoff, rip off, worst, useless, \
            worthless, incompetent, incompetence, unprofessional, shameful, inexcusable, a joke, \
            fed up, sick and tired, sick of, had enough, never again, waste of money, waste of time, \
            lawyer*, attorney*, solicitor*, legal action, legal steps, sue you, sue your, sue the, \
            chargeback, report you, consumer protection, trading standards, better business bureau, \
            bullshit, wtf, fuck*, shit*, idiot*, crook*"),
    (-2.5, "terrible, nightmare, hate, hated, shocking, rubbish, garbage, crap, crappy, sucks, \
            angry, losing my|our patience, lost my|our patience, patience is running out, \
            refund immediately, refund me immediately, money back immediately, \
            want my money back, i demand, demand a refund, final warning, \
            cancel my|our subscription|account|contract|membership|plan, \
            cancelling my|our subscription|account|contract|membership|plan, \
            canceling my|our subscription|account|contract|membership|plan, \
            close my|our account, end my|our contract"),
    (-2.0, "disappointed, disappointing, disappointment, frustrated, frustrating, frustration, \
            annoyed, annoying, irritated, upset, unhappy, dissatisfied, rude, insane, nonsense, \
            stupid, clueless, lousy, sloppy, unreasonable, damn, damned, shocked, unbelievable, \
            third|fourth|fifth|sixth|seventh|tenth time, \
            how many times, still waiting, still no answer|reply|response|refund, \
            no answer|reply|response|one answers|one replies|one responds, \
            nobody answers|answered|replied|responds|responded|cares, \
            regret, ignored, ignoring me|us|my|our, can't believe, cannot believe, \
            bothered to reply|answer|respond|call|write, not a single update|reply|answer|response|word, \
            speak|talk to a|your manager|supervisor, last chance, \
            escalate, complaint, complain*, poor service|support|quality|communication"),
    (-1.5, "bad, poor, mess, money back, still not, once again, yet again, \
            what the hell, unfortunately not, worse"),
    (-1.0, "worried, concerned, confusing, confused, slow, hopeless, again and again, second time"),
    (-0.5, "unfortunately, sadly"),
    (0.0, "thanks in advance, thank you in advance, thanks beforehand, \
           thanks and regards, thanks & regards, many thanks in advance, happy to, glad to, \
           would love, i'd love, good morning|afternoon|evening|day, have a nice|good|great day|weekend|week, \
           not only, no doubt, no worries, no problem, looking forward, kind regards, best regards, \
           best wishes, sorry to bother, great deal of, good faith, \
           bad request|gateway|credentials|certificate|file|data|input, worst case, \
           is|are|gets|get ignored"),
    (1.0, "thanks, thank you, thx, ty, cheers, good, nice, fine, ok, okay, pleasure"),
    (1.5, "many thanks, great, glad, recommend, perfectly, quick|fast|prompt reply|response|answer|help, \
           works now, working now, problem solved"),
    (2.0, "thanks a lot, thank you very much, thanks very much, perfect, love, loved, happy, pleased, \
           satisfied, helpful, appreciate*, kudos, well done, good job, nice job, cool"),
    (2.5, "thank you so much, thanks so much, thank you very very much, many many thanks, \
           great support|service|job|help|work|team, excellent, amazing, awesome, fantastic, \
           wonderful, brilliant, delighted, impressed, grateful, superb, outstanding, lifesaver, \
           life saver, you rock, you guys rock, you all rock, you are the best, you're the best, works great, love it"),
];

pub(super) const GERMAN: &[(f32, &str)] = &[
    (-3.0, "unverschämtheit, unverschämt, frechheit, skandal*, zumutung, unzumutbar, inakzeptabel, \
            nicht akzeptabel, nicht hinnehmbar, nicht tragbar, wütend, stinksauer, miserabel, \
            grauenhaft, grottig, lächerlich, unfähig, inkompetent, unprofessionell, betrug, \
            betrüger*, abzocke, abgezockt, abzocker*, anwalt, anwältin, rechtsanwalt*, anwälte*, \
            rechtliche schritte, gerichtlich*, verbraucherzentrale, scheiß*, scheiss*, schlechteste*, \
            nie wieder, das letzte"),
    (-2.5, "katastroph*, furchtbar, schrecklich, verärgert, dreist, bescheuert, \
            fristlos, sofortige erstattung|rückerstattung|rückzahlung, \
            geld sofort zurück, mein geld zurück, will mein geld, ärgernis"),
    (-2.0, "kündigen, kündige, kündigt, enttäusch*, ärgerlich, sauer, genervt, nervig, nervt, \
            frustriert, frustrierend, frust*, unzufrieden, peinlich, mies, blöd, mist, verdammt, \
            ignoriert, hingehalten, vertröstet, letzte chance, beschwerde, beschweren, \
            zum zweiten|dritten|vierten|fünften|x-ten|wiederholten mal, \
            das zweite|dritte|vierte|fünfte mal, zweimal|dreimal|mehrmals geschrieben, \
            keine antwort|rückmeldung|reaktion, niemand meldet|antwortet|reagiert, \
            meldet sich niemand, antwortet niemand, reagiert niemand, ich verlange, \
            kann|darf doch nicht wahr sein, kann nicht wahr sein, und zwar sofort, \
            immer noch keine|nicht, warte immer noch, warten immer noch"),
    (-1.5, "kündigung, schlecht, schlechter, ärger*, schon wieder, geld zurück, leider nicht, unmöglich, \
            warte seit tagen|wochen|monaten, warten seit tagen|wochen|monaten"),
    (-1.0, "besorgt, verwirrend, langsam, reklamation"),
    (-0.5, "leider"),
    (0.0, "danke im voraus, vielen dank im voraus, danke vorab, vorab danke, vorab vielen dank, \
           besten dank im voraus, herzlichen dank im voraus, gerne, guten tag|morgen|abend, \
           freue mich auf, freuen uns auf, nicht nur, mit freundlichen grüßen, viele grüße, \
           beste grüße, schönen tag|abend, schönes wochenende, gut ist, kein problem"),
    (1.0, "danke, gut, ok, okay"),
    (1.5, "vielen dank, besten dank, danke schön, dankeschön, froh, freue mich, freuen uns, \
           schnelle hilfe|antwort|rückmeldung|reaktion, funktioniert jetzt, klappt jetzt"),
    (2.0, "herzlichen dank, super, toll, klasse, prima, perfekt, zufrieden, hilfreich, spitze, \
           lob, kompliment, weiter so, gefällt, gefallen, empfehlen, sehr gut"),
    (2.5, "vielen herzlichen dank, tausend dank, ganz herzlichen dank, hervorragend, ausgezeichnet, \
           großartig, grossartig, wunderbar, fantastisch, begeistert, dankbar, klasse service|support, \
           toller service|support, super service|support"),
];

pub(super) const FRENCH: &[(f32, &str)] = &[
    (
        -3.0,
        "inacceptable, pas acceptable, scandaleux, scandaleuse, scandale, honteux, honteuse, \
            lamentable, furieux, furieuse, inadmissible, intolérable, arnaque*, escroc*, \
            escroquerie, avocat, avocate, action en justice, ridicule, merde, incompétent*, \
            pire, jamais plus, plus jamais",
    ),
    (
        -2.5,
        "honte, catastroph*, affreux, affreuse, horrible, résilier, remboursement immédiat, \
            marre, ras-le-bol, ras le bol, \
            rembourser immédiatement, énervé*",
    ),
    (
        -2.0,
        "déçu*, décevant*, déception, agacé*, frustr*, mécontent*, insatisfait*, nul, nulle, \
            troisième fois, deuxième fois, quatrième fois, aucune réponse, pas de réponse, \
            toujours pas, toujours aucune, plainte, inutile",
    ),
    (
        -1.5,
        "résiliation, mauvais, mauvaise, encore une fois, malheureusement pas",
    ),
    (-0.5, "malheureusement"),
    (
        0.0,
        "merci d'avance, merci par avance, merci à l'avance, bonne journée, bonne soirée, \
           cordialement, bien à vous, pas de souci, pas de problème, avec plaisir",
    ),
    (1.0, "merci, bien, bon"),
    (
        1.5,
        "merci bien, réponse rapide, aide rapide, efficace, content de",
    ),
    (
        2.0,
        "merci beaucoup, super, parfait, parfaite, satisfait, satisfaite, ravi, ravie, bravo, \
           j'adore, aime, apprécie, utile, très bien, suis content, suis contente",
    ),
    (
        2.5,
        "merci mille fois, mille mercis, un grand merci, merci infiniment, génial, géniale, \
           excellent, excellente, formidable, magnifique, impeccable",
    ),
];

/// Words that turn the next words of feeling around. Tokens ending in
/// "n't" ("don't", "isn't") and French elisions with "n'" ("n'est")
/// negate too.
const NEGATORS: &str = "not no never none nothing neither nor without hardly barely cannot \
     dont doesnt didnt isnt arent wasnt werent wont wouldnt cant couldnt shouldnt havent hasnt hadnt \
     nicht kein keine keinen keinem keiner keines nie niemals ohne weder nirgends \
     ne pas jamais sans aucun aucune ni guère";

/// Words that strengthen (factor above 1) or soften (below 1) the next
/// word of feeling.
const BOOSTERS: &[(f32, &str)] = &[
    (
        1.5,
        "very, really, extremely, so, totally, absolutely, completely, utterly, incredibly, \
         seriously, deeply, truly, highly, terribly, super, most, \
         sehr, extrem, total, völlig, absolut, wirklich, echt, äußerst, ausgesprochen, wahnsinnig, \
         unglaublich, besonders, so, zutiefst, höchst, richtig, überhaupt, komplett, \
         très, vraiment, extrêmement, tellement, totalement, complètement, absolument, trop, si, \
         hyper, profondément",
    ),
    (
        0.5,
        "a bit, a little, slightly, somewhat, kind of, sort of, fairly, \
         etwas, ein bisschen, ein wenig, leicht, ein wenig, un peu, légèrement, assez",
    ),
];

/// What a list entry does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    /// A word of feeling with its weight (0: a stock phrase).
    Feeling(f32),
    Negator,
    Booster(f32),
}

/// One slot of an entry: its alternatives, each exact or a prefix.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl Slot {
    pub(super) fn matches(&self, word: &str) -> bool {
        self.exact.iter().any(|e| e == word) || self.prefixes.iter().any(|p| word.starts_with(p))
    }
}

#[derive(Debug)]
pub(super) struct Phrase {
    /// The slots after the first word.
    pub(super) rest: Vec<Slot>,
    pub(super) kind: Kind,
}

/// A multiply-rotate hash (as rustc's FxHash) for the word lists: every
/// word of a mail is looked up two or three times, and SipHash's
/// protection against chosen collisions buys nothing for a fixed table
/// that input never adds to (a colliding word costs one probe sequence).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct WordHash(u64);

impl Hasher for WordHash {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl WordHash {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type Map<V> = HashMap<String, V, BuildHasherDefault<WordHash>>;

/// Prefix entries are matched by their first characters.
pub(super) const HEAD_CHARS: usize = 4;

/// The word lists as read: what each word, prefix and phrase is.
#[derive(Debug, Default)]
pub(super) struct Lists {
    /// Single words, exact.
    pub(super) words: Map<Kind>,
    /// Single-word prefixes ("enttausch").
    pub(super) prefixes: Map<Kind>,
    /// Phrases by their first word, longest first.
    pub(super) phrases: Map<Vec<Phrase>>,
}

/// Everything the lists say about words that begin with the same (up to)
/// four characters: a word of a mail costs one hash lookup of at most
/// four characters, and most words (which are in no list) stop there.
/// Looking the word up in three maps (phrases, words, prefixes) was a
/// fifth of the mood's time (`benches/imap.sh`).
#[derive(Debug, Default)]
pub(super) struct Bucket {
    /// Words listed exactly: what the word alone is, and the phrases it
    /// begins (longest first).
    pub(super) words: Vec<(String, Option<Kind>, Vec<Phrase>)>,
    /// Prefixes with these four characters, longest first.
    pub(super) prefixes: Vec<(String, Kind)>,
}

#[derive(Debug, Default)]
pub(super) struct Lexicon {
    /// By a word's first [`HEAD_CHARS`] characters (the whole word when
    /// shorter).
    heads: Map<Bucket>,
}

impl Lexicon {
    pub(super) fn bucket(&self, w: &str) -> Option<&Bucket> {
        self.heads.get(head(w))
    }

    /// The exact entry for `w`: its kind alone and the phrases it begins.
    pub(super) fn exact(&self, w: &str) -> Option<(Option<Kind>, &[Phrase])> {
        self.bucket(w)?
            .words
            .iter()
            .find(|(e, _, _)| e == w)
            .map(|(_, k, p)| (*k, p.as_slice()))
    }

    /// What `w` is as a single word: listed exactly, else by its longest
    /// listed prefix (only words of [`HEAD_CHARS`] characters or more have
    /// one).
    pub(super) fn single(&self, w: &str) -> Option<Kind> {
        let b = self.bucket(w)?;
        if let Some(k) = b.words.iter().find(|(e, _, _)| e == w).and_then(|e| e.1) {
            return Some(k);
        }
        b.prefixes
            .iter()
            .find(|(p, _)| w.starts_with(p.as_str()))
            .map(|(_, k)| *k)
    }
}

/// The first [`HEAD_CHARS`] characters of `w`, or all of it.
fn head(w: &str) -> &str {
    if w.len() <= HEAD_CHARS {
        return w;
    }
    match w.char_indices().nth(HEAD_CHARS) {
        Some((b, _)) => &w[..b],
        None => w,
    }
}

pub(super) static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| index(lists()));

pub(super) fn lists() -> Lists {
    let mut lx = Lists::default();
    for list in [ENGLISH, GERMAN, FRENCH] {
        for (w, entries) in list {
            for e in entries.split(',') {
                add(&mut lx, e, Kind::Feeling(*w));
            }
        }
    }
    for n in NEGATORS.split_whitespace() {
        add(&mut lx, n, Kind::Negator);
    }
    for (f, entries) in BOOSTERS {
        for e in entries.split(',') {
            add(&mut lx, e, Kind::Booster(*f));
        }
    }
    for phrases in lx.phrases.values_mut() {
        phrases.sort_by_key(|p| std::cmp::Reverse(p.rest.len()));
    }
    lx
}

/// The lists by head. A prefix shorter than [`HEAD_CHARS`] characters
/// would match no word (none is listed; a test keeps it so).
fn index(lists: Lists) -> Lexicon {
    let mut heads: Map<Bucket> = Map::default();
    let Lists {
        words,
        prefixes,
        mut phrases,
    } = lists;
    for (w, k) in words {
        let p = phrases.remove(&w).unwrap_or_default();
        heads
            .entry(head(&w).to_string())
            .or_default()
            .words
            .push((w, Some(k), p));
    }
    for (w, p) in phrases {
        heads
            .entry(head(&w).to_string())
            .or_default()
            .words
            .push((w, None, p));
    }
    for (p, k) in prefixes {
        if p.chars().count() >= HEAD_CHARS {
            heads
                .entry(head(&p).to_string())
                .or_default()
                .prefixes
                .push((p, k));
        }
    }
    for b in heads.values_mut() {
        b.prefixes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    }
    Lexicon { heads }
}

/// Adds an entry, and its spelling without umlauts when it has any.
fn add(lx: &mut Lists, entry: &str, kind: Kind) {
    let entry = entry.trim();
    if entry.is_empty() {
        return;
    }
    let mut spellings = vec![entry.to_string()];
    let plain = transliterate(entry);
    if plain != entry {
        spellings.push(plain);
    }
    for s in spellings {
        let slots: Vec<Slot> = s.split_whitespace().map(slot).collect();
        match slots.as_slice() {
            [] => {}
            [one] => {
                for e in &one.exact {
                    // The first list to name a word wins (feelings before
                    // negators and boosters), so "so" in "thanks so much"
                    // stays part of its phrase.
                    lx.words.entry(e.clone()).or_insert(kind);
                }
                for p in &one.prefixes {
                    lx.prefixes.entry(p.clone()).or_insert(kind);
                }
            }
            [first, rest @ ..] => {
                for e in &first.exact {
                    lx.phrases.entry(e.clone()).or_default().push(Phrase {
                        rest: rest.to_vec(),
                        kind,
                    });
                }
            }
        }
    }
}

fn slot(word: &str) -> Slot {
    let mut s = Slot {
        exact: Vec::new(),
        prefixes: Vec::new(),
    };
    for alt in word.split('|') {
        match alt.strip_suffix('*') {
            Some(p) => s.prefixes.push(fold(p)),
            None => s.exact.push(fold(alt)),
        }
    }
    s
}

/// German spelling without umlauts and ß, as typed on keyboards without
/// them: "ä" -> "ae", "ß" -> "ss".
fn transliterate(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            c => out.push(c),
        }
    }
    out
}

/// Lower case without diacritics ("Très" and "tres" are one word); "ß"
/// stays, its "ss" spelling is listed separately.
fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    fold_into(word, &mut out);
    out
}

fn fold_into(word: &str, out: &mut String) {
    out.clear();
    fold_append(word, out);
}

/// [`fold`] appended to `out`.
pub(super) fn fold_append(word: &str, out: &mut String) {
    if word.is_ascii() {
        if !word.contains('`') {
            // Copied whole and lower-cased in place: most words of a mail.
            let from = out.len();
            out.push_str(word);
            if let Some(added) = out.get_mut(from..) {
                added.make_ascii_lowercase();
            }
            return;
        }
        out.extend(word.bytes().map(|b| {
            let b = b.to_ascii_lowercase();
            char::from(if b == b'`' { b'\'' } else { b })
        }));
        return;
    }
    for c in word.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            '’' | 'ʼ' | '`' => '\'',
            '\u{0300}'..='\u{036F}' => continue,
            c => c,
        };
        out.push(c);
    }
}
