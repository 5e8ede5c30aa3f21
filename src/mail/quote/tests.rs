//! Unit tests of `quote.rs`.

use super::*;

fn kept(text: &str) -> String {
    strip_reply(text).text
}

fn reasons(s: &Stripped) -> Vec<String> {
    s.cuts.iter().map(|c| c.to_string()).collect()
}

#[test]
fn patterns_compile() {
    assert!(attribution_set().is_some());
    assert!(Regex::new(ORIGINAL_MESSAGE).is_ok());
    assert!(Regex::new(FORWARD).is_ok());
    assert!(Regex::new(FOOTER).is_ok());
    assert!(Regex::new(CLOSING).is_ok());
}

#[test]
fn no_quote_keeps_everything() {
    let s = strip_reply("Hello,\n\nthe printer is on fire.\n\nCarol\n");
    assert_eq!(s.text, "Hello,\n\nthe printer is on fire.\n\nCarol");
    assert!(s.cuts.is_empty());
}

#[test]
fn gmail_attribution_and_quote() {
    let s = strip_reply(
            "Thanks!\r\n\r\nOn Mon, 2 Nov 2026 at 10:00, Carol <c@x.test> wrote:\r\n> Is it fixed?\r\n>\r\n> Carol\r\n",
        );
    assert_eq!(s.text, "Thanks!");
    assert_eq!(
        reasons(&s),
        [
            "cut line 3: attribution line (Gmail: 'On … wrote:')",
            "cut lines 4-6: quoted text ('>' lines)"
        ]
    );
    assert_eq!(
        s.cuts[0].excerpt,
        "On Mon, 2 Nov 2026 at 10:00, Carol <c@x.test> wrote:"
    );
}

#[test]
fn wrapped_attribution() {
    let text = "Done.\n\nOn Mon, 2 Nov 2026 at 10:00, Carol Customer <\ncarol@customer.test> wrote:\n\n> Please fix\n";
    let s = strip_reply(text);
    assert_eq!(s.text, "Done.");
    assert_eq!(s.cuts[0].first_line, 3);
    assert_eq!(s.cuts[0].last_line, 4);
}

#[test]
fn text_line_above_an_attribution_is_not_part_of_it() {
    assert_eq!(
        kept("See below.\nCarol wrote:\n> quoted\n> more\n> more"),
        "See below."
    );
    assert_eq!(
        kept("We fixed it on Monday.\nOn Mon, 2 Nov 2026 at 10:00, Carol <\nc@x.test> wrote:\n> q"),
        "We fixed it on Monday."
    );
}

#[test]
fn localized_attributions() {
    for attribution in [
        "Am Mo., 2. Nov. 2026 um 10:00 Uhr schrieb Carol <c@x.test>:",
        "Carol <c@x.test> schrieb am Mo., 2. Nov. 2026, 10:00:",
        "Le lun. 2 nov. 2026 à 10:00, Carol <c@x.test> a écrit :",
        "Le 2 nov. 2026 à 10:00, Carol <c@x.test> a\u{a0}écrit\u{a0}:",
        "El lun, 2 nov 2026 a las 10:00, Carol (<c@x.test>) escribió:",
        "Op ma 2 nov 2026 om 10:00 schreef Carol <c@x.test>:",
        "Op 2 nov. 2026 om 10:00 heeft Carol <c@x.test> het volgende geschreven:",
        "Il giorno lun 2 nov 2026 alle ore 10:00 Carol <c@x.test> ha scritto:",
        "Em seg., 2 de nov. de 2026 às 10:00, Carol <c@x.test> escreveu:",
        "W dniu 2.11.2026 o 10:00, Carol pisze:",
        "pon., 2 lis 2026 o 10:00 Carol <c@x.test> napisał(a):",
        "Carol <c@x.test> 于2026年11月2日周一 10:00写道：",
        "2026/11/02 10:00、Carol <c@x.test>のメッセージ:",
        "On 11/2/26 10:00 AM, Carol wrote:",
        "On 2 Nov 2026, at 10:00, Carol <c@x.test> wrote:",
    ] {
        let s = strip_reply(&format!(
            "Answer.\n\n{attribution}\n\nQuoted without prefix\n"
        ));
        assert_eq!(s.text, "Answer.", "{attribution}");
        assert!(
            matches!(s.cuts[0].reason, Reason::Attribution { .. }),
            "{attribution}"
        );
        assert_eq!(s.cuts[1].reason, Reason::BelowAttribution, "{attribution}");
    }
}

#[test]
fn weak_attribution_needs_a_quote_below() {
    // "… wrote:" without a lead word or date is only trusted above `>`.
    assert_eq!(
        kept("My colleague wrote:\nthe fix is live.\n"),
        "My colleague wrote:\nthe fix is live."
    );
    assert_eq!(kept("Ok.\n\nCarol wrote:\n> a\n> b\n> c\n> d"), "Ok.");
}

#[test]
fn outlook_header_blocks() {
    for block in [
            "From: Carol <c@x.test>\nSent: Monday, November 2, 2026 10:00 AM\nTo: Support\nSubject: RE: Printer",
            "________________________________\nFrom: Carol <c@x.test>\nSent: Monday, November 2, 2026 10:00 AM\nTo: Support\nSubject: Printer",
            "Von: Carol <c@x.test>\nGesendet: Montag, 2. November 2026 10:00\nAn: Support\nBetreff: AW: Drucker",
            "De : Carol <c@x.test>\nEnvoyé : lundi 2 novembre 2026 10:00\nÀ : Support\nObjet : RE: Imprimante",
            "De: Carol <c@x.test>\nEnviado el: lunes, 2 de noviembre de 2026 10:00\nPara: Support\nAsunto: RE: Impresora",
            "Da: Carol <c@x.test>\nInviato: lunedì 2 novembre 2026 10:00\nA: Support\nOggetto: R: Stampante",
            "*From:* Carol <c@x.test>\n*Sent:* Monday, November 2, 2026 10:00 AM\n*To:* Support\n*Subject:* RE: Printer",
        ] {
            let s = strip_reply(&format!("Answer.\n\n{block}\n\nOriginal text\n"));
            assert_eq!(s.text, "Answer.", "{block}");
            assert!(matches!(s.cuts[0].reason, Reason::HeaderBlock { .. }), "{block}");
            assert_eq!(s.cuts[0].first_line, 3);
        }
    // A lone From: line is text.
    assert_eq!(
        kept("From: the warehouse\nIt shipped."),
        "From: the warehouse\nIt shipped."
    );
}

#[test]
fn original_message_separator() {
    let s = strip_reply("Yes.\n\n-----Original Message-----\nFrom: c@x.test\nquestion\n");
    assert_eq!(s.text, "Yes.");
    assert_eq!(s.cuts[0].reason, Reason::OriginalMessage);
    assert_eq!(kept("Ja.\n-----Ursprüngliche Nachricht-----\nFrage"), "Ja.");
}

#[test]
fn signatures() {
    let s = strip_reply("Fixed.\n\n-- \nBob Agent\nAcme Support\n+1 555 0100\n");
    assert_eq!(s.text, "Fixed.");
    assert_eq!(s.cuts[0].reason, Reason::Signature);
    // A bare "--" followed by a short block is a signature too …
    let s = strip_reply("Fixed.\n\n--\nBob Agent\nAcme Support\n");
    assert_eq!(s.text, "Fixed.");
    assert_eq!(s.cuts[0].reason, Reason::LooseSignature);
    // … but not when a long text follows it.
    let long = "Fixed.\n--\n1\n2\n3\n4\n5\n6\n7\n8\n";
    assert_eq!(kept(long), long.trim());
    // The signature ends where the quote starts.
    assert_eq!(
        kept("Fixed.\n-- \nBob\n\nOn 11/2/26 10:00 AM, Carol wrote:\n> q\n"),
        "Fixed."
    );
}

#[test]
fn mobile_footers() {
    for footer in [
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Sent from Outlook for Android",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Verstuurd vanaf mijn iPhone",
        "Inviato da iPhone",
        "Enviado do meu iPhone",
        "Wysłane z iPhone'a",
        "发自我的iPhone",
        "iPhoneから送信",
    ] {
        let s = strip_reply(&format!("Ok, thanks.\n\n{footer}\n"));
        assert_eq!(s.text, "Ok, thanks.", "{footer}");
        assert_eq!(s.cuts[0].reason, Reason::MobileFooter, "{footer}");
    }
    assert_eq!(
        kept("It was sent from my iPhone yesterday."),
        "It was sent from my iPhone yesterday."
    );
}

#[test]
fn a_footer_alone_is_kept_rather_than_nothing() {
    let s = strip_reply("Sent from my iPhone\n\nOn 2 Nov 2026, at 10:00, Carol wrote:\n\n> Hi\n");
    assert_eq!(s.text, "Sent from my iPhone");
    assert!(s.cuts.iter().any(|c| c.reason == Reason::KeptFooter));
    assert!(!s.kept_whole());
}

#[test]
fn everything_quoted_keeps_everything() {
    let s = strip_reply("> a\n> b\n> c\n> d\n");
    assert_eq!(s.text, "> a\n> b\n> c\n> d");
    assert!(s.kept_whole());
    assert_eq!(s.cuts.len(), 1);
    assert!(!s.cuts[0].is_cut());
    assert_eq!(strip_reply(" \n\n").text, "");
    assert!(strip_reply("").cuts.is_empty());
}

#[test]
fn interleaved_answers_keep_their_question() {
    let text = "Hi Carol,\n\nOn Mon, 2 Nov 2026 at 10:00, Carol <c@x.test> wrote:\n> Hello,\n>\n> Is the printer fixed?\n> It was broken.\n\nYes, since noon.\n\n> And the scanner?\n\nNext week.\n\n> Thanks,\n> Carol\n";
    let s = strip_reply(text);
    assert_eq!(
            s.text,
            "Hi Carol,\n\n> Hello,\n>\n> Is the printer fixed?\n> It was broken.\n\nYes, since noon.\n\n> And the scanner?\n\nNext week."
        );
}

#[test]
fn quoted_sign_offs_and_signatures_are_no_context() {
    let text = "Hi,\n\nOn 11/2/26 10:00 AM, Carol wrote:\n> Is it fixed?\n\nYes.\n\n> Thanks,\n> Carol\n\nBest,\nBob\n";
    assert_eq!(kept(text), "Hi,\n\n> Is it fixed?\n\nYes.\n\nBest,\nBob");
    let text =
        "Hi,\n\n> q1\n> q2\n> q3\n> q4\n>\n> Is it fixed?\n> -- \n> Carol\n\nYes.\n\n> more\n";
    assert_eq!(
        kept(text),
        "Hi,\n\n> q1\n> q2\n> q3\n> q4\n>\n> Is it fixed?\n\nYes."
    );
    // Only the first block can be the author's own `>` text.
    assert_eq!(
        kept("> 5 users\nBroken.\n\n> Thanks,\n> Carol\n\nBob"),
        "> 5 users\nBroken.\n\nBob"
    );
}

#[test]
fn bottom_posting_keeps_no_context() {
    let text = "On 11/2/26 10:00 AM, Carol wrote:\n> Hello,\n>\n> is it fixed?\n> Carol\n\nYes, it is.\n\n-- \nBob\n";
    assert_eq!(kept(text), "Yes, it is.");
}

#[test]
fn short_unattributed_quote_is_the_authors() {
    assert_eq!(
        kept("> 5 users affected\nThe export fails.\n\nCarol"),
        "> 5 users affected\nThe export fails.\n\nCarol"
    );
    // Long unattributed blocks at the start are quotes.
    assert_eq!(kept("> a\n> b\n> c\n> d\nAnswer"), "Answer");
    // A quoted attribution (iOS Mail) makes the block a quote.
    assert_eq!(
        kept("> On 2 Nov 2026, at 10:00, Carol wrote:\n> q\nAnswer\n"),
        "Answer"
    );
}

#[test]
fn forwards_are_kept() {
    let text = "FYI\n\n---------- Forwarded message ---------\nFrom: Carol <c@x.test>\nDate: Mon, 2 Nov 2026\nSubject: Printer\nTo: <s@x.test>\n\n> old\nbody\n";
    assert_eq!(kept(text), text.trim());
    assert_eq!(
        kept("See below.\n\nBegin forwarded message:\n\nFrom: x"),
        "See below.\n\nBegin forwarded message:\n\nFrom: x"
    );
}

#[test]
fn commands_are_text() {
    assert_eq!(
            kept("#status pending\n#assign me\n\nOn it.\n\nOn Mon, 2 Nov 2026 at 10:00, Carol <c@x.test> wrote:\n> help"),
            "#status pending\n#assign me\n\nOn it."
        );
}

#[test]
fn html_rendering() {
    let html = "<html><head><style>p{color:red}</style><title>x</title></head><body>\
            <div dir=\"ltr\">Hi&nbsp;Carol,<div><br></div><div>Fixed &amp; tested.</div></div>\
            <!-- comment --><ul><li>one</li><li>two</li></ul>\
            <blockquote>q1<blockquote>q2</blockquote></blockquote>caf&eacute; &#233;&#xe9; &bogus; a < b</body></html>";
    assert_eq!(
        render_html(html),
        "Hi Carol,\n\nFixed & tested.\n\n- one\n- two\n\n> q1\n>\n>> q2\n\ncafé éé &bogus; a < b"
    );
}

#[test]
fn html_gmail_quote() {
    let html = "<div dir=\"ltr\">Thanks, done.</div><br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, 2 Nov 2026 at 10:00, Carol &lt;<a href=\"mailto:c@x.test\">c@x.test</a>&gt; wrote:<br></div><blockquote class=\"gmail_quote\"><div dir=\"ltr\">Is it fixed?</div></blockquote></div>";
    let s = strip_reply_html(html);
    assert_eq!(s.text, "Thanks, done.");
    assert_eq!(
        reasons(&s),
        [
            "cut line 3: attribution line (Gmail: 'On … wrote:')",
            "cut lines 4-5: quoted text (HTML <blockquote>)"
        ]
    );
}

#[test]
fn html_outlook_marker() {
    let html = "<div>Approved.</div><div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> Carol<br><b>Sent:</b> Monday<br></div><div>Old</div>";
    let s = strip_reply_html(html);
    assert_eq!(s.text, "Approved.");
    assert_eq!(
        s.cuts[0].reason,
        Reason::HtmlMarker {
            marker: "appendonsend",
            client: "Outlook"
        }
    );
    assert_eq!(s.cuts[0].first_line, 2);
    // HTML signatures lose their space: "--" is a delimiter there.
    let s = strip_reply_html("<div>Ok</div><div>-- <br>Bob<br>Acme</div>");
    assert_eq!(s.text, "Ok");
    assert_eq!(s.cuts[0].reason, Reason::Signature);
}

#[test]
fn html_interleaved_answers_survive() {
    let html = "<p>Hi,</p><blockquote type=\"cite\">Question one?</blockquote><p>Answer one.</p><blockquote type=\"cite\">Question two?</blockquote><p>Answer two.</p>";
    assert_eq!(
        strip_reply_html(html).text,
        "Hi,\n\n> Question one?\n\nAnswer one.\n\n> Question two?\n\nAnswer two."
    );
}

#[test]
fn raw_input_kinds() {
    let (s, source) =
        strip_raw(b"Thanks!\n\nOn Mon, 2 Nov 2026 at 10:00, Carol <c@x.test> wrote:\n> q\n");
    assert_eq!(source, Source::Body);
    assert_eq!(s.text, "Thanks!");
    let (s, source) =
        strip_raw(b"From: a@b.test\r\nSubject: x\r\n\r\nOk\r\n\r\n> q\r\n> q\r\n> q\r\n> q\r\n");
    assert_eq!(source, Source::Text);
    assert_eq!(s.text, "Ok");
    let (s, source) = strip_raw(b"From: a@b.test\r\nContent-Type: text/html\r\n\r\n<div>Ok</div><blockquote>q</blockquote>\r\n");
    assert_eq!(source, Source::Html);
    assert_eq!(s.text, "Ok");
}

#[test]
fn limits_cut_the_rest() {
    let text = "line\n".repeat(MAX_LINES + 10);
    let s = strip_reply(&text);
    assert_eq!(s.text.lines().count(), MAX_LINES);
    let last = s.cuts.last().map(|c| c.reason.clone());
    assert_eq!(last, Some(Reason::TooLong));
}

#[test]
fn entities() {
    assert_eq!(entity("&amp;x"), ('&', 5));
    assert_eq!(entity("&nbsp;"), ('\u{a0}', 6));
    assert_eq!(entity("&Uuml;"), ('Ü', 6));
    assert_eq!(entity("&#128512;"), ('😀', 9));
    assert_eq!(entity("&#xD800;"), ('\u{fffd}', 8));
    assert_eq!(entity("&#99999999999;"), ('&', 1));
    assert_eq!(entity("& b;"), ('&', 1));
}

/// Outlook writes the same header block above what it forwards as above
/// what it quotes: a forward keeps it and the forwarded mail, and still
/// loses the author's own signature.
#[test]
fn an_outlook_forward_keeps_what_it_forwards() {
    let body = "Please see below, they were charged twice.\n\n-- \nDave, Accounts\n\nFrom: Carol <c@x.test>\nSent: Monday, November 2, 2026 10:00 AM\nTo: Dave\nSubject: Invoice 4711\n\nI was charged twice for invoice 4711.\n";
    let forward = strip_text(body, Kind::Forward, Signatures::Cut);
    assert!(
        forward
            .text
            .starts_with("Please see below, they were charged twice.\n\nFrom: Carol"),
        "{}",
        forward.text
    );
    assert!(forward
        .text
        .ends_with("I was charged twice for invoice 4711."));
    assert!(!forward.text.contains("Dave, Accounts"));
    assert_eq!(
        strip_reply(body).text,
        "Please see below, they were charged twice."
    );
    let separator = "FYI\n\n-----Original Message-----\nFrom: c@x.test\nThe question\n";
    assert_eq!(
        strip_text(separator, Kind::Forward, Signatures::Cut).text,
        separator.trim_end()
    );
    let html = "<div>FYI</div><div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> Carol<br><b>Sent:</b> Monday<br><b>To:</b> Dave<br><b>Subject:</b> Invoice</div><div>Charged twice</div>";
    let s = strip_html(html, Kind::Forward, Signatures::Cut);
    assert!(s.text.starts_with("FYI"), "{}", s.text);
    assert!(s.text.contains("Charged twice"), "{}", s.text);
    assert_eq!(strip_reply_html(html).text, "FYI");
}

/// The subject decides: `FW:` forwards, `RE: FW:` answers a forward.
#[test]
fn a_message_is_a_forward_by_its_subject() {
    let mail = |subject: &str| {
        format!("From: Dave <d@x.test>\r\nTo: support@desk.test\r\nSubject: {subject}\r\nMessage-ID: <f@x.test>\r\n\r\nSee below.\r\n\r\nFrom: Carol <c@x.test>\r\nSent: Monday, November 2, 2026 10:00 AM\r\nTo: Dave\r\nSubject: Invoice\r\n\r\nCharged twice.\r\n")
    };
    let text = |subject: &str| {
        let raw = mail(subject);
        let msg = crate::mail::parse(raw.as_bytes()).unwrap();
        strip_message(&msg, raw.as_bytes()).0.text
    };
    assert!(text("FW: Invoice").contains("Charged twice."));
    assert!(text("WG: Rechnung").contains("Charged twice."));
    assert_eq!(text("RE: FW: Invoice"), "See below.");
    assert_eq!(text("Invoice"), "See below.");
}

#[test]
fn attributions_in_more_languages_and_shapes() {
    for (attribution, language) in [
        ("Carol <c@x.test> escreveu no dia segunda, 2/11/2026 à(s) 10:00:", "Portuguese"),
        ("Carol <c@x.test> kirjoitti ma 2.11.2026 klo 10.00:", "Finnish"),
        ("po 2. 11. 2026 v 10:00 odesílatel Carol <c@x.test> napsal:", "Czech"),
        ("man. 2. nov. 2026 kl. 10:00 skrev Carol <c@x.test>:", "Scandinavian"),
        ("Carol <c@x.test> ezt írta (időpont: 2026. nov. 2., H, 10:00):", "Hungarian"),
        ("Στις Δευ 2 Νοε 2026 στις 10:00, ο/η Carol <c@x.test> έγραψε:", "Greek"),
        ("Carol <c@x.test>, 2 Kas 2026 Pzt, 10:00 tarihinde şunu yazdı:", "Turkish"),
        ("2026년 11월 2일 (월) 오전 10:00, Carol <c@x.test>님이 작성:", "Korean"),
        ("Am Montag, 2. November 2026 um 10:00:00 MEZ hat Carol <c@x.test> Folgendes geschrieben:", "German"),
        ("On 02.11.2026, at 10:00, Carol Customer sent:", "Apple Mail"),
    ] {
        let s = strip_reply(&format!("Answer.\n\n{attribution}\n\nQuoted without prefix\n"));
        assert_eq!(s.text, "Answer.", "{attribution}");
        assert!(
            s.cuts[0].to_string().contains(language),
            "{attribution}: {}",
            s.cuts[0]
        );
    }
}

#[test]
fn date_first_attributions_need_a_quote() {
    for attribution in [
        "2014-10-17 11:28 GMT+03:00 Carol <c@x.test>:",
        "пн, 2 нояб. 2026 г. в 10:00, Carol <c@x.test>:",
        "02.11.2026, 10:00, \"Carol\" <c@x.test>:",
        "Понедельник, 2 ноября 2026, 10:00 +03:00 от Carol <c@x.test>:",
    ] {
        let s = strip_reply(&format!(
            "Answer.\n\n{attribution}\n> q1\n> q2\n> q3\n> q4\n"
        ));
        assert_eq!(s.text, "Answer.", "{attribution}");
        assert!(
            s.cuts[0].to_string().contains("date-first"),
            "{}",
            s.cuts[0]
        );
    }
    // Without a quote below it is text: no verb says it introduces one.
    let text = "Call me at 10:30 on <+49 30 123@phone.test>:\nthe line is free.";
    assert_eq!(kept(text), text);
}

#[test]
fn polymail_wraps_the_address_onto_its_own_line() {
    for attribution in [
        "On Mon, Nov 2, 2026 at 10:00 AM Carol <\nc@x.test\n> wrote:",
        "On Mon, Nov 2, 2026 at 10:00 AM, Carol <\nmailto:c@x.test\n> wrote:",
        "On Mon, Nov 2, 2026 at 10:00 AM, Carol <c@x.test<mailto:c@x.test>> wrote:",
    ] {
        let s = strip_reply(&format!("Done.\n\n{attribution}\n\n> q\n> q\n> q\n> q\n"));
        assert_eq!(s.text, "Done.", "{attribution}");
        assert!(matches!(s.cuts[0].reason, Reason::Attribution { .. }));
    }
}

#[test]
fn an_answer_on_the_attributions_line_is_kept() {
    let s = strip_reply(
        "Thanks! On Wed, Apr 4, 2012 at 3:59 PM, bob@x.test <bob@x.test> wrote:\n\n> q\n> q\n",
    );
    assert_eq!(s.text, "Thanks!");
    assert!(
        s.cuts[0].to_string().contains("on the same line"),
        "{}",
        s.cuts[0]
    );
    assert!(s.cuts[0].excerpt.starts_with("On Wed, Apr 4"));
    // Not after a sentence end: the line is no answer plus attribution.
    assert_eq!(
        kept("We met On Monday and it wrote:\n> q\n> q\n> q\n> q"),
        "We met On Monday and it wrote:\n> q\n> q\n> q\n> q"
    );
}

#[test]
fn header_blocks_in_more_languages_and_date_first() {
    for block in [
        "Gesendet: Montag, 02. November 2026 um 10:00 Uhr\nVon: \"Carol\" <c@x.test>\nAn: Support\nBetreff: Drucker",
        "Lähettäjä: Carol <c@x.test>\nLähetetty: maanantai 2. marraskuuta 2026 10.00\nVastaanottaja: Support\nAihe: Tulostin",
        "Od: Carol <c@x.test>\nOdesláno: pondělí 2. listopadu 2026 10:00\nKomu: Support\nPředmět: Tiskárna",
        "差出人: Carol <c@x.test>\n送信日時: 2026年11月2日 10:00\n宛先: Support\n件名: プリンター",
        "发件人: Carol <c@x.test>\n发送时间: 2026年11月2日 10:00\n收件人: Support\n主题: 打印机",
        "보낸 사람: Carol <c@x.test>\n보낸 날짜: 2026년 11월 2일 월요일 오전 10:00\n받는 사람: Support\n제목: 프린터",
        "Kimden: Carol <c@x.test>\nGönderildi: 2 Kasım 2026 Pazartesi 10:00\nKime: Support\nKonu: Yazıcı",
        "Feladó: Carol <c@x.test>\nElküldve: 2026. november 2., hétfő 10:00\nCímzett: Support\nTárgy: Nyomtató",
        "Από: Carol <c@x.test>\nΣτάλθηκε: Δευτέρα, 2 Νοεμβρίου 2026 10:00\nΠρος: Support\nΘέμα: Εκτυπωτής",
    ] {
        let s = strip_reply(&format!("Answer.\n\n{block}\n\nOriginal text\n"));
        assert_eq!(s.text, "Answer.", "{block}");
        assert!(matches!(s.cuts[0].reason, Reason::HeaderBlock { .. }), "{block}");
    }
    // A date line and a subject without a sender are no header block.
    assert_eq!(
        kept("Sent: yesterday\nSubject: printer\nok"),
        "Sent: yesterday\nSubject: printer\nok"
    );
}

#[test]
fn original_message_banners_in_more_languages() {
    for banner in [
        "-------- Message original --------",
        "----- Ursprüngliche Mail -----",
        "----- Mail original -----",
        "-------- Originalmeddelande --------",
        "-----Oprindelig meddelelse-----",
        "-----Alkuperäinen viesti-----",
        "-----Původní zpráva-----",
        "-----Özgün İleti-----",
        "-----Eredeti üzenet-----",
        "-----原始邮件-----",
    ] {
        assert_eq!(
            kept(&format!("Yes.\n\n{banner}\nquestion\n")),
            "Yes.",
            "{banner}"
        );
    }
}

#[test]
fn mobile_footers_in_more_languages() {
    for footer in [
        "Skickat från min iPhone",
        "Sendt fra min iPhone",
        "Lähetetty iPhonesta",
        "Odesláno z iPhonu",
        "iPhone-ról küldve",
        "iPhone'umdan gönderildi",
        "Στάλθηκε από το iPhone μου",
        "iPhone에서 보냄",
        "Inviato dal mio Galaxy",
        "Wysłane z urządzenia Galaxy",
        "Отправлено из Mail.ru для Android",
        "Outlook für iOS<https://aka.ms/o0ukef> beziehen",
        "Get Outlook for Android<https://aka.ms/AAb9ysg>",
        "Sent from Yandex Mail for mobile",
    ] {
        let s = strip_reply(&format!("Fine.\n\n{footer}\n"));
        assert_eq!(s.text, "Fine.", "{footer}");
        assert_eq!(s.cuts[0].reason, Reason::MobileFooter, "{footer}");
    }
    // Words a footer shares with a sentence do not make it one.
    assert_eq!(kept("Paket depodan gönderildi"), "Paket depodan gönderildi");
}

#[test]
fn underscores_delimit_a_signature() {
    assert_eq!(kept("Done.\n\n__\nBob | Acme | +49 30 1\n"), "Done.");
    assert_eq!(kept("Done.\n__\n".to_string().as_str()), "Done.\n__");
}

#[test]
fn outlook_html_lines_and_header_div() {
    let html = r#"<div class="WordSection1"><p class="MsoNormal">Hi,</p><p class="MsoNormal">&nbsp;</p><p class="MsoNormal">Done.</p><p class="MsoNormal">Bob</p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>Kimden:</b> x</p></div></div><p class="MsoNormal">old</p></div>"#;
    let s = strip_reply_html(html);
    assert_eq!(s.text, "Hi,\n\nDone.\nBob");
    assert!(
        s.cuts[0].to_string().contains("border-top"),
        "{}",
        s.cuts[0]
    );
}

#[test]
fn signature_policy_keep() {
    let text = "Done.\n\n-- \nBob\nAcme\n\nSent from my iPhone\n\nOn Mon, 2 Nov 2026 at 10:00, Carol <c@x.test> wrote:\n> q\n";
    assert_eq!(strip_reply_with(text, Signatures::Cut).text, "Done.");
    let s = strip_reply_with(text, Signatures::Keep);
    assert_eq!(s.text, "Done.\n\n--\nBob\nAcme\n\nSent from my iPhone");
    assert!(s
        .cuts
        .iter()
        .all(|c| !matches!(c.reason, Reason::Signature | Reason::MobileFooter)));
    assert_eq!("keep".parse::<Signatures>(), Ok(Signatures::Keep));
    assert!("both".parse::<Signatures>().is_err());
}

#[test]
fn older_attribution_shapes() {
    assert_eq!(
        kept("Yes.\n\n2011/3/1 Carol <c@x.test>\n\n> q\n> q\n> q\n> q\n"),
        "Yes."
    );
    // Without a quote below, such a line is text (a signature, say).
    assert_eq!(
        kept("Yes.\n\n2011/3/1 Carol <c@x.test>\n"),
        "Yes.\n\n2011/3/1 Carol <c@x.test>"
    );
    let s = strip_reply("Yes.\n\nCarol <c@x.test> wrote on 02/11/2026 10:00:00 AM:\n\nquestion\n");
    assert_eq!(s.text, "Yes.");
    assert!(s.cuts[0].to_string().contains("Notes"), "{}", s.cuts[0]);
    assert_eq!(
        kept("Yes.\n\n--- On Mon, 11/2/26, Carol <c@x.test> wrote:\n\nFrom: Carol\nquestion\n"),
        "Yes."
    );
}
