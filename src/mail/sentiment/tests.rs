use super::lexicon::{lists, ENGLISH, FRENCH, GERMAN, HEAD_CHARS};
use super::*;

fn mood(text: &str) -> Sentiment {
    read(&[text]).sentiment
}

/// The evidence texts of a reading, for asserting what decided it.
fn words(text: &str) -> Vec<String> {
    read(&[text]).evidence.into_iter().map(|e| e.text).collect()
}

fn score(text: &str) -> i32 {
    read(&[text]).score.0
}

#[test]
fn plain_requests_are_neutral() {
    for text in [
        "",
        "Hi",
        "Where can I download my invoice for March?",
        "The export to CSV fails with error 500 since yesterday. Steps: open the report, click export.",
        "Hi team,\n\nmy password reset link does not arrive. Can you check?\n\nThanks,\nCarol",
        "Hallo,\nwie kann ich meine Rechnungsadresse ändern?\nVielen Dank im Voraus\nJonas",
        "Bonjour,\ncomment changer mon adresse e-mail ?\nMerci d'avance",
        "Thanks in advance!",
        "The PDF, CSV and XLS exports are missing.",
        "Version 2.1.3 crashes on start.",
    ] {
        assert_eq!(mood(text), Sentiment::Neutral, "{text:?}: {:#?}", read(&[text]));
    }
}

#[test]
fn angry_english_mail_is_negative_and_says_why() {
    let text = "This is the third time I write about this. Completely unacceptable!!! \
                Refund immediately or I cancel my subscription and talk to my lawyer.";
    let r = read(&[text]);
    assert_eq!(r.sentiment, Sentiment::Negative, "{r:#?}");
    let w = words(text);
    for expected in [
        "third time",
        "unacceptable",
        "Refund immediately",
        "cancel my subscription",
        "lawyer",
    ] {
        assert!(
            w.iter().any(|t| t == expected),
            "{expected:?} missing from {w:?}"
        );
    }
    // The listed contributions add up to the score.
    assert_eq!(
        r.evidence.iter().map(|e| e.weight.0).sum::<i32>(),
        r.score.0
    );
    let unacceptable = r
        .evidence
        .iter()
        .find(|e| e.text == "unacceptable")
        .unwrap();
    assert!(
        unacceptable.notes.iter().any(|n| n.contains("Completely")),
        "{unacceptable:?}"
    );
    assert!(
        unacceptable.notes.iter().any(|n| n.starts_with("!!!")),
        "{unacceptable:?}"
    );
}

#[test]
fn angry_german_mail_is_negative() {
    for text in [
        "Das ist eine Frechheit! Ich warte seit drei Wochen auf mein Geld.",
        "Eine Unverschämtheit, ich schreibe Ihnen zum dritten Mal.",
        "Ich bin sehr enttäuscht und werde meinen Vertrag kündigen.",
        "Ich bin mit Ihrem Service überhaupt nicht zufrieden.",
        "So eine Unverschaemtheit, ich werde kuendigen.",
        "Bis heute keine Antwort. Ich schalte jetzt meinen Anwalt ein.",
    ] {
        assert_eq!(
            mood(text),
            Sentiment::Negative,
            "{text:?}: {:#?}",
            read(&[text])
        );
    }
}

#[test]
fn angry_french_mail_is_negative() {
    for text in [
        "C'est inacceptable, je veux être remboursé.",
        "Je suis très déçu, c'est la troisième fois que j'écris.",
        "Je ne suis pas satisfait du tout.",
    ] {
        assert_eq!(
            mood(text),
            Sentiment::Negative,
            "{text:?}: {:#?}",
            read(&[text])
        );
    }
}

#[test]
fn grateful_mail_is_positive() {
    for text in [
        "Thank you so much for the great support!",
        "Wow, that was quick. Excellent service, I really appreciate it.",
        "Vielen Dank für die schnelle Hilfe, alles funktioniert wieder.",
        "Herzlichen Dank, Sie sind super!",
        "Merci beaucoup, c'est parfait !",
    ] {
        assert_eq!(
            mood(text),
            Sentiment::Positive,
            "{text:?}: {:#?}",
            read(&[text])
        );
    }
}

#[test]
fn negation_turns_words_around() {
    assert_eq!(mood("I am happy with the result."), Sentiment::Positive);
    assert_eq!(mood("I am not happy with the result."), Sentiment::Negative);
    assert_eq!(mood("I'm not really happy with this."), Sentiment::Negative);
    assert_eq!(mood("We are not satisfied."), Sentiment::Negative);
    assert_eq!(mood("Ich bin zufrieden."), Sentiment::Positive);
    assert_eq!(mood("Ich bin nicht zufrieden."), Sentiment::Negative);
    assert_eq!(mood("Das gefällt mir nicht."), Sentiment::Negative);
    assert_eq!(mood("Je ne suis pas satisfait."), Sentiment::Negative);
    // A negated bad word is faint praise, not a complaint.
    assert!(score("The new version is not bad.") > 0);
    assert_eq!(mood("The new version is not bad."), Sentiment::Neutral);
    // The scope ends with the clause: the praise after the comma stands.
    assert_eq!(mood("It did not crash, great work!"), Sentiment::Positive);
    let r = read(&["I am not happy."]);
    assert!(
        r.evidence[0].notes.iter().any(|n| n.contains("\"not\"")),
        "{r:?}"
    );
}

#[test]
fn intensifiers_strengthen_and_dampeners_soften() {
    let plain = score("I am disappointed.");
    assert_eq!(plain, -20);
    assert_eq!(score("I am very disappointed."), -30);
    assert_eq!(score("I am extremely disappointed."), -30);
    assert_eq!(score("Ich bin sehr enttäuscht."), -30);
    assert_eq!(score("I am a bit disappointed."), -10);
    assert_eq!(mood("I am a bit disappointed."), Sentiment::Neutral);
    // "not very happy" is milder than "not happy".
    assert!(score("I'm not very happy.") >= score("I'm not happy."));
}

#[test]
fn capitals_and_exclamation_marks_count() {
    let calm = score("This is unacceptable.");
    let caps = score("This is UNACCEPTABLE.");
    let loud = score("This is unacceptable!!!");
    assert!(caps < calm, "{caps} vs {calm}");
    assert!(loud < calm, "{loud} vs {calm}");
    // Shouting without a word of feeling is still anger.
    let r = read(&["WHY IS MY ACCOUNT STILL LOCKED"]);
    assert!(r.score.0 < 0, "{r:?}");
    assert!(r.evidence[0].notes[0].starts_with("shouting"), "{r:?}");
    // Shouting thanks is gratitude.
    assert_eq!(mood("THANK YOU SO MUCH!!!"), Sentiment::Positive);
    // Acronyms are not shouting.
    assert_eq!(score("Please send the PDF and the CSV via FTP."), 0);
    // Bare "!!!" is impatience, mild on its own.
    let r = read(&["Please call me back!!!"]);
    assert!(r.score.0 < 0 && r.sentiment == Sentiment::Neutral, "{r:?}");
}

#[test]
fn quoted_lines_do_not_count() {
    let text = "Thanks, that worked great.\n\n> This is unacceptable!!! I want a refund immediately.\n> Worst support ever.\n";
    assert_eq!(mood(text), Sentiment::Positive, "{:#?}", read(&[text]));
    let text = "Ok.\n> I am very happy, thank you so much!\n";
    assert_eq!(mood(text), Sentiment::Neutral);
}

#[test]
fn subject_counts_only_for_a_new_message() {
    assert_eq!(
        of_message("Unacceptable service!!!", "Please call me.", false),
        Sentiment::Negative
    );
    assert_eq!(
        of_message("Re: Unacceptable service!!!", "Please call me.", true),
        Sentiment::Neutral
    );
    let r = read_message("Frechheit", "Bitte melden Sie sich.", false);
    assert_eq!(r.evidence[0].text, "Frechheit");
}

#[test]
fn politeness_is_not_mood() {
    for text in [
        "Thanks in advance,\nCarol",
        "Good morning, have a nice day!",
        "I'd be happy to send more logs if needed.",
        "Mit freundlichen Grüßen\nJonas",
        "Ich freue mich auf Ihre Antwort.",
        "Merci d'avance. Cordialement",
    ] {
        assert_eq!(score(text), 0, "{text:?}: {:#?}", read(&[text]));
    }
}

#[test]
fn labels_parse_and_show() {
    assert_eq!(Sentiment::parse(" Negative "), Some(Sentiment::Negative));
    assert_eq!(Sentiment::parse("angry"), None);
    assert_eq!(Sentiment::of_score(NEGATIVE_AT), Sentiment::Negative);
    assert_eq!(Sentiment::of_score(NEGATIVE_AT + 1), Sentiment::Neutral);
    assert_eq!(Sentiment::of_score(POSITIVE_AT), Sentiment::Positive);
    assert_eq!(Points(-45).to_string(), "-4.5");
    assert_eq!(Points(0).to_string(), "0.0");
    assert_eq!(Points(20).to_string(), "+2.0");
    let json = serde_json::to_string(&Points(-45)).unwrap();
    assert_eq!(json, "-4.5");
    assert_eq!(serde_json::from_str::<Points>(&json).unwrap(), Points(-45));
}

#[test]
fn every_list_entry_is_well_formed() {
    let lx = &*LEXICON;
    for list in [ENGLISH, GERMAN, FRENCH] {
        for (_, entries) in list {
            for e in entries.split(',') {
                let e = e.trim();
                assert!(!e.is_empty(), "empty entry in {entries:?}");
                let first = e.split_whitespace().next().unwrap();
                assert!(
                    !first.contains('*') || !e.contains(' '),
                    "phrase starts with a prefix: {e:?}"
                );
                // Every entry is found as written.
                let r = read(&[e]);
                let _ = r;
            }
        }
    }
    let lists = lists();
    for p in lists.prefixes.keys() {
        // Shorter prefixes would match too much (and are not found).
        assert!(p.chars().count() >= HEAD_CHARS, "prefix {p:?} is too short");
    }
    assert_eq!(mood("shit."), Sentiment::Negative);
    assert_eq!(mood("Shitty service."), Sentiment::Negative);
    assert!(lists.words.contains_key("unacceptable"));
    assert!(lists.prefixes.contains_key("enttausch"));
    assert!(lists.words.contains_key("unverschaemtheit"));
    // The index by head says what the lists say, word by word.
    assert_eq!(lx.single("unacceptable"), Some(Kind::Feeling(-3.0)));
    assert_eq!(
        lx.single("enttauschend"),
        lists.prefixes.get("enttausch").copied()
    );
    for (w, k) in &lists.words {
        assert_eq!(lx.single(w), Some(*k), "{w}");
        let phrases = lists.phrases.get(w).map_or(0, Vec::len);
        assert_eq!(lx.exact(w).map(|(_, p)| p.len()), Some(phrases), "{w}");
    }
    for (w, p) in &lists.phrases {
        assert_eq!(lx.exact(w).map(|(_, p)| p.len()), Some(p.len()), "{w}");
    }
}

#[test]
fn hostile_text_is_read_in_bounded_time_and_never_panics() {
    let long = "no ".repeat(100_000) + &"!".repeat(10_000) + &"Ä".repeat(50_000);
    let _ = read(&[&long]);
    for s in [
        "!",
        "?!?!",
        "'",
        "-",
        "n't",
        "'''",
        "a-",
        "\u{301}",
        ">",
        "\n\n\n",
        "x'",
        "l'",
        "ÄÖÜ!!!",
    ] {
        let _ = read(&[s, s]);
    }
}
