//! Replies that only say thank you.
//!
//! A customer who writes "Thanks, that fixed it!" to a resolved ticket must
//! not reopen it and page every agent again; this module tells such a reply
//! apart from one that still needs an answer. It is deliberately
//! conservative, because the two mistakes cost very different amounts: a
//! thank-you taken for a question costs one extra notification, a question
//! taken for a thank-you costs a customer their answer. So a reply is
//! thanks-only only when *every* word in it is known to belong to gratitude,
//! acknowledgement, a greeting, a closing or a name in a place where names
//! stand; anything unknown, any question mark, any word of continued
//! trouble or of a new request, and any length beyond a short note make it
//! an ordinary reply.
//!
//! The vocabulary covers the languages whose reply prefixes
//! [`super::subject`] knows (English, German, French, Spanish, Italian,
//! Portuguese, Dutch, the Scandinavian languages, Finnish, Polish, Turkish,
//! Greek, Russian, Hebrew, Chinese, Japanese) plus their close neighbours
//! (Ukrainian, Czech, Hungarian, Korean). Words are compared lower-cased and
//! without diacritics, so "Dziekuje" typed without Polish letters, "MERCI",
//! and text in decomposed Unicode all count.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

/// Longer than this (in characters, after trimming) is a message, not a
/// note: a thank-you rarely needs more, and whatever else fills the space is
/// likely to be something an agent should read.
const MAX_CHARS: usize = 200;

/// Lines of actual text allowed once greeting, closing and name lines are
/// set aside; more lines than this is a message that tells a story.
const MAX_CONTENT_LINES: usize = 4;

/// Words a signed name may have ("Carol", "Anne-Marie Smith").
const MAX_NAME_WORDS: usize = 3;

/// How far (in words, on the same line) a word for "again" may stand from a
/// word of thanks and still be part of it: "thank you again", "nochmals
/// vielen Dank", "het werkt weer, bedankt". Further away, "again" is the
/// trouble coming back.
const AGAIN_WINDOW: usize = 3;

/// The word gives thanks. A reply needs one of these to be thanks-only.
const GRATITUDE: u8 = 1;
/// The word acknowledges or fills: "great", "that fixed it", "for the help".
const ACK: u8 = 2;
/// The word closes a mail: "Best regards", "LG", "Cordialement".
const CLOSING: u8 = 4;
/// The word opens a mail: "Hi", "Hallo", "Bonjour".
const GREETING: u8 = 8;

/// Words of thanks, one string per language. Closings ("Thanks,") are
/// thanks too, since a reply that is nothing but a sign-off is a thank-you.
const GRATITUDE_WORDS: &[&str] = &[
    "thanks thank thx thnx thanx tnx ty tyvm tysm thankyou thanku grateful appreciated appreciate kudos",
    "danke dank dankeschön bedanke",
    "merci remercie remercions remerciements",
    "gracias agradezco agradecido agradecida agradecemos",
    "grazie ringrazio ringraziamo",
    "obrigado obrigada obrigadão brigado brigada valeu agradeço",
    "bedankt dankjewel dankuwel dankje",
    "tack tackar",
    "tak takker",
    "takk",
    "þakka þakkir",
    "kiitos kiitti kiitoksia",
    "dziękuję dziękujemy dzięki",
    "teşekkürler teşekkür sağol sağolun eyvallah",
    "ευχαριστώ ευχαριστούμε ευχαριστίες",
    "спасибо благодарю благодарим спс",
    "дякую дякуємо спасибі",
    "תודה תודות מודה מודים",
    "děkuji děkujeme díky",
    "köszönöm köszönjük köszi kösz",
    "谢谢 多谢 感谢 谢啦 谢了 谢谢您 谢谢你 谢谢你们 感谢您 感谢你 非常感谢 十分感谢 万分感谢 太感谢了 太谢谢了",
    "謝謝 多謝 感謝 謝啦 謝謝您 謝謝你 感謝您 非常感謝 萬分感謝",
    "ありがとう ありがと ありがとうございます ありがとうございました 感謝します 感謝いたします \
     感謝しております 助かりました 助かります お礼申し上げます 御礼申し上げます お礼まで サンキュー",
    "감사합니다 감사해요 감사드립니다 감사드려요 고맙습니다 고마워요 고마워 감사 땡큐",
];

/// Acknowledgement and the small words around thanks. Only what cannot
/// carry a new request or a complaint by itself; verbs are listed in the
/// forms that say something now works ("fixed", "funktioniert"), never in
/// the forms that ask for something ("fix").
const ACK_WORDS: &[&str] = &[
    "you so much very many a lot lots tons heaps bunch million for the your all everyone everybody \
     guys team folks that this it its it's that's thats is was has have been did fixed solved \
     resolved sorted works worked working great perfect perfectly awesome excellent brilliant \
     wonderful fantastic amazing super cool nice ok okay k kk fine good now set done got yes yep \
     yeah really truly indeed and trick like charm up running back received noted understood \
     clear makes sense i i'm im we we're you're am are happy glad to go looks seems help helping \
     helpful quick quickly fast prompt reply response answer support assistance day weekend \
     evening as always lifesaver",
    "vielen vielmals besten herzlichen herzlich tausend schön sehr für fuer die den das der dem \
     ihre ihnen euch dir schnelle schnellen hilfe antwort rückmeldung unterstützung hat \
     funktioniert klappt geklappt geht läuft jetzt nun alles gut perfekt prima toll klasse top \
     spitze passt erledigt gelöst ja es ist war wunderbar bestens ich wir freue mich uns \
     einwandfrei sich und",
    "beaucoup mille bien très infiniment pour votre vos ton ta la le les de du des aide réponse \
     rapide retour ça marche marché fonctionne fonctionné c'est est tout bon parfait parfaitement \
     génial nickel réglé résolu d'accord d'aide oui à maintenant vraiment impeccable j'ai reçu compris \
     noté et vous toi",
    "muchas muchísimas por el su tu ayuda respuesta rápida ya funciona funcionó todo perfecto \
     genial excelente estupendo vale verdad resuelto solucionado listo está ahora muy amable \
     usted ustedes te os y",
    "tante molte tanto davvero infinite per aiuto il lo vostro vostra tuo tua sua risposta \
     supporto ora adesso funziona funzionato tutto bene perfetto ottimo fantastico risolto sistemato \
     posto è e ha gentilissimo gentilissima gentilissimi",
    "muito muitíssimo pela pelo o seu suporte já agora funcionou resolvido resolveu deu certo \
     mesmo beleza show",
    "je jullie u wel hartelijk heel erg veel voor het snelle hulp reactie antwoord werkt nu goed \
     opgelost gelukt in orde oké geweldig fijn mooi en",
    "så mycket stort hjärtligt hjälpen snabbt snabba svaret svar det funkar fungerar allt bra \
     toppen löst fixat okej jättebra ha dag och",
    "mange tusind hjælpen virker alt godt fint fungerer ordnet skal du have jer og",
    "tusen hjelpen nå supert",
    "fyrir kærlega kærar mikið hjálpina virkar núna gott frábært fullkomið",
    "paljon avusta nopeasta vastauksesta toimii nyt kaikki hyvin hienoa mahtavaa täydellistä \
     selvä okei ratkesi korjaantui kovasti todella jo",
    "bardzo serdecznie wielkie za pomoc szybką odpowiedź działa już teraz wszystko dobrze \
     świetnie rozwiązane załatwione ślicznie pięknie",
    "ederim ederiz çok yardımınız yardımlarınız için ilginiz her şey tamam oldu çalışıyor \
     çözüldü harika mükemmel süper şimdi artık gayet iyi düzeldi sağ ol olun",
    "πολύ για τη την βοήθεια άμεση απάντηση λειτουργεί τώρα όλα καλά τέλεια εντάξει οκ υπέροχα \
     λύθηκε δουλεύει σας θερμά και",
    "большое огромное вам тебе за помощь быстрый ответ всё работает заработало теперь сейчас \
     отлично хорошо супер ок окей решено получилось в порядке понятно очень помогло и",
    "дуже щиро за допомогу працює тепер усе добре чудово відмінно вирішено велике і",
    "רבה על העזרה עובד עכשיו הכל בסדר מעולה מצוין מושלם סודר נפתר לכם לך ממש מאוד אלף",
    "moc mockrát velice funguje už vše všechno v pořádku",
    "szépen nagyon segítséget működik már minden rendben szuper",
    "好的 好 已解决 解决了 可以了 好了 收到 明白了 辛苦了 帮助 您的帮助 你的帮助 已解決 解決了 了 啦 哈 哈哈 非常 真的",
    "本当に ほんとうに 大変 たいへん 誠に どうも 解決しました 解決いたしました 直りました 動きました \
     使えるようになりました できました 了解しました 了解です 承知しました 承知いたしました 無事 無事に \
     早速の ご対応 ご対応いただき ご対応頂き ご回答 ご連絡 迅速な 迅速に いただき 頂き です 大丈夫です",
    "정말 대단히 너무 진짜 매우 도움 도움에 도와주셔서 빠른 답변 답변에 해결되었습니다 해결됐습니다 \
     해결됐어요 잘 됩니다 돼요 작동합니다 이제 완벽합니다 좋습니다 좋아요 알겠습니다 네 덕분에 한번",
];

/// Words that close a mail; a name may follow them on the same line.
const CLOSING_WORDS: &[&str] = &[
    "thanks regards best kind kindest warm warmest sincerely yours truly cheers br rgds greetings with love",
    "grüße gruß grüsse gruss viele liebe lieben beste besten freundliche freundlichen mfg lg vg bg \
     herzliche herzlichen schöne schönen und",
    "cordialement bien à bientôt bonne journée soirée salutations amitiés bises sincères meilleures cdlt",
    "saludos saludo un atentamente cordiales abrazo abrazos att atte",
    "saluti cordiali cordialmente distinti saluto ciao buona giornata serata",
    "abraço abraços atenciosamente cumprimentos saudações abs",
    "groeten groet vriendelijke met hartelijke mvg gr",
    "hälsningar hälsning med vänliga vänlig mvh",
    "hilsen hilsner venlig venlige kh vennlig",
    "kveðja kveðjur bestu kv",
    "terveisin ystävällisin parhain",
    "pozdrawiam pozdrowienia serdeczne z wyrazami szacunku pozdr",
    "saygılarımla selamlar iyi günler çalışmalar kolay gelsin",
    "φιλικά χαιρετισμούς χαιρετίσματα με εκτίμηση",
    "с уважением всего доброго наилучшими пожеланиями",
    "з повагою всього найкращого",
    "בברכה",
    "s pozdravem zdraví",
    "üdvözlettel üdv",
    "此致 敬礼 敬禮 祝好 顺祝商祺 顺颂商祺",
    "よろしくお願いします よろしくお願いいたします よろしくお願い致します 宜しくお願いします \
     宜しくお願い致します 以上 取り急ぎ 今後とも",
    "수고하세요 수고하셨습니다 좋은 하루 되세요 드림 올림",
];

/// Words that open a mail; a name may follow them on the same line.
const GREETING_WORDS: &[&str] = &[
    "hi hello hey dear good morning afternoon evening team all there",
    "hallo guten tag morgen liebe lieber sehr geehrte geehrter damen herren herr frau moin servus",
    "bonjour bonsoir salut madame monsieur cher chère",
    "hola buenos buenas días tardes estimado estimada estimados",
    "buongiorno buonasera salve gentile gentili",
    "olá oi bom dia boa tarde prezado prezada prezados caro cara",
    "hoi goedemorgen goedemiddag geachte",
    "hej hallå god morgon kære kjære hei",
    "hæ halló sæl sæll góðan daginn",
    "moi hyvää päivää huomenta",
    "dzień dobry witam cześć",
    "merhaba selam sayın",
    "γεια καλημέρα καλησπέρα αγαπητέ αγαπητή",
    "здравствуйте привет добрый день вечер утро уважаемый уважаемая",
    "вітаю привіт добрий",
    "שלום היי",
    "dobrý den ahoj",
    "jó napot szia kedves",
    "您好 你好 大家好",
    "お世話になっております いつもお世話になっております お世話になります こんにちは",
    "안녕하세요",
];

/// Words of continued trouble, of a new request, of negation, of asking
/// without a question mark, and "in advance" (thanks for an answer not yet
/// given). Any of them makes a reply need an agent, wherever it stands and
/// even when capitalised like a name.
const BLOCKED_WORDS: &[&str] = &[
    "but however though although still yet again another also can could would will should please \
     pls plz issue issues problem problems error errors broken bug bugs fail fails failed failing \
     crash crashes crashed wrong not no nothing nor never cannot cant won't unfortunately except \
     anymore any more one thing question questions wondering wonder need needs needed want wanted \
     how what why when where which who if whether advance close reopen cancel refund urgent asap \
     missing offline down stuck instead",
    "aber jedoch allerdings doch noch nicht kein keine keinen keiner nichts nie nein bitte wieder \
     erneut nochmal nochmals auch weitere weiteres weiterhin andere anderes anderen problem \
     probleme fehler kaputt leider trotzdem immer frage fragen wie warum wann wo welche können \
     könnten kann könnt würde würden voraus vorab dennoch sondern",
    "mais cependant pourtant toujours encore pas ne n plus aussi autre autres problème erreur \
     panne cassé plante svp stp plaît pouvez pourriez pourrais comment pourquoi quand où quoi \
     malheureusement rien jamais avance sauf souci",
    "pero sin embargo todavía aún sigue siguen nada nunca ni otra otro otros también problema \
     problemas errores falla fallo roto favor puede pueden podría podrían pregunta cómo qué \
     cuándo dónde lamentablemente desgraciadamente nuevo vez adelantado antemano",
    "ma però tuttavia ancora non anche altro altra altri problemi errore rotto guasto cortesia \
     potete potresti può puoi domanda come perché dove cosa purtroppo nuovo mai niente nulla \
     anticipo anticipatamente",
    "mas porém contudo entretanto ainda não nem outro erro quebrado pode poderia pergunta porque \
     onde infelizmente novamente novo antecipadamente antecedência",
    "maar echter toch nog niet geen niets nooit weer opnieuw nogmaals ook ander andere probleem \
     problemen fout fouten kapot alsjeblieft alstublieft aub kunt kun kunnen zou zouden vraag \
     vragen hoe wat waarom wanneer waar helaas voorbaat",
    "men dock ändå fortfarande ännu inte ej ingen inget aldrig igen också annan annat andra \
     problemet fel trasig trasigt snälla vänligen kunde kunna fråga frågor hur vad varför när \
     tyvärr förhand",
    "dog stadig stadigvæk fortsat ikke intet anden andet problemer fejl ødelagt venligst kunne \
     spørgsmål hvordan hvad hvorfor hvornår hvor desværre forhånd",
    "likevel fortsatt ennå aldri igjen også annen annet feil vennligst spørsmål hva dessverre",
    "samt ennþá ekki aftur líka annað vandamál villa bilað vinsamlegast getur spurning hvernig \
     miður fyrirfram",
    "mutta kuitenkin vielä edelleen ei eikä taas uudelleen myös toinen ongelma ongelmia virhe \
     rikki voisitko voitteko voisitteko kysymys miten mitä miksi milloin missä valitettavasti \
     etukäteen",
    "ale jednak nadal wciąż jeszcze nie znowu znów ponownie też także inny inne inna problemy \
     błąd błędy zepsute zepsuty proszę czy możecie może możesz pytanie jak dlaczego kiedy gdzie \
     co niestety góry raz",
    "ama fakat ancak hala hâlâ yine tekrar değil yok başka sorun sorunu hata bozuk lütfen mi mı \
     mu mü soru maalesef nasıl neden niye nerede şimdiden olmuyor çalışmıyor",
    "αλλά όμως ακόμα ακόμη δεν όχι μην μη πάλι ξανά επίσης άλλο άλλη πρόβλημα προβλήματα σφάλμα \
     λάθος χαλασμένο παρακαλώ μπορείτε μπορείς ερώτηση πώς τι γιατί πότε πού δυστυχώς \
     προκαταβολικά",
    "но однако ещё сих не нет ни опять снова тоже также другой другая другое другие проблема \
     проблемы ошибка ошибки сломано сломалось пожалуйста можете могли бы вопрос как что почему \
     когда где ли сожалению заранее раз",
    "але проте однак ще досі ні знову теж також інший інша інше помилка зламано ласка питання \
     як що чому коли де жаль заздалегідь",
    "אבל עדיין לא שוב גם עוד בעיה בעיות שגיאה תקלה בבקשה אפשר שאלה איך מה למה מתי איפה האם \
     מראש לצערי",
    "ještě stále pořád není nefunguje znovu také taky jiný jiné problém chyba prosím můžete \
     otázka proč kdy kde bohužel předem",
    "még mindig nem újra ismét probléma hiba kérem kérlek tudnátok tudnád kérdés hogyan miért \
     mikor hol sajnos előre",
    "하지만 그런데 근데 그러나 아직 여전히 안 않습니다 안돼요 안됩니다 못 또 다시 문제 문제가 오류 \
     에러 부탁 부탁드립니다 주세요 해주세요 질문 왜 어떻게 언제 어디 미리",
];

/// Words for "again" that are harmless next to thanks ("thanks again",
/// "merci encore", "ещё раз спасибо") but trouble elsewhere; every one is
/// also in [`BLOCKED_WORDS`].
const AGAIN_WORDS: &str = "again nochmals nochmal wieder encore nuevo vez otra ancora nuovo \
    novamente novo nogmaals opnieuw weer igen igjen aftur taas znowu jeszcze raz tekrar yine \
    πάλι ξανά ещё раз ще знову שוב znovu újra ismét 다시";

/// Chinese and Japanese are written without spaces, so their trouble words
/// are looked for inside the text: but, still, not, problem, error, please,
/// question particles, again, in advance.
const CJK_BLOCKED: &[&str] = &[
    "但",
    "可是",
    "不过",
    "不過",
    "还",
    "還",
    "仍",
    "依然",
    "不",
    "没",
    "沒",
    "问题",
    "問題",
    "错误",
    "錯誤",
    "请",
    "請",
    "吗",
    "嗎",
    "呢",
    "为什么",
    "為什麼",
    "怎么",
    "怎麼",
    "又",
    "再",
    "也",
    "提前",
    "预先",
    "でも",
    "しかし",
    "けど",
    "まだ",
    "ない",
    "ません",
    "エラー",
    "ください",
    "下さい",
    "教えて",
    "質問",
    "また",
    "再度",
    "他に",
    "事前",
];

/// French and Italian elisions and English contractions, allowed as the
/// part of a word before or after an apostrophe ("l'aide", "it's"). Not
/// `d`: "I'd like" asks for something; "d'accord" and "d'aide" are listed whole.
const CLITICS: &[&str] = &[
    "l", "j", "c", "m", "t", "s", "qu", "dell", "all", "nell", "dall", "re",
];

/// Question marks of every script. The Greek question mark (U+037E) looks
/// like a semicolon, and Greek writers type a plain `;` for it.
const QUESTION_MARKS: &[char] = &[
    '?', '？', '¿', '؟', '\u{037E}', '⸮', '﹖', '‽', '⁇', '⁈', '⁉', '❓', '❔', '՞', '፧',
];

/// Emoticons of disappointment; "Thanks :(" is not a happy customer.
const SAD_FACES: &[&str] = &[":(", ":-(", ":'(", ";(", ":/", ":-/", ":["];

/// Words, and Chinese/Japanese phrases from the vocabulary. A run of Han or
/// kana that is not a known phrase falls apart into single characters,
/// each an unknown word.
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    let mut phrases: Vec<&str> = all_lists()
        .flat_map(|(list, _)| list.iter().flat_map(|s| s.split_whitespace()))
        .filter(|w| w.chars().any(is_han_or_kana))
        .collect();
    // Longest first: the regex prefers earlier alternatives at a position.
    phrases.sort_by_key(|p| std::cmp::Reverse(p.chars().count()));
    phrases.dedup();
    let phrases: Vec<String> = phrases.into_iter().map(regex::escape).collect();
    let cjk = r"\p{Han}\p{Hiragana}\p{Katakana}";
    let word = format!(r"[\p{{L}}\p{{M}}\p{{N}}&&[^{cjk}]]");
    let start = format!(r"[\p{{L}}\p{{N}}&&[^{cjk}]]");
    let pattern = format!(
        r"{}|[{cjk}]|{start}{word}*(?:['’ʼ]{word}+)*",
        phrases.join("|")
    );
    Regex::new(&pattern).expect("constant regex")
});

/// A character that is neither a letter, digit, mark, punctuation, space
/// nor one of the happy emoji people put after thanks. Anything else (an
/// angry face, a formula, a currency) may mean something we cannot read.
static STRAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[^\p{L}\p{M}\p{N}\p{P}\s👍🙏😊🙂😀😃😄😁😆☺❤♥💙💚💜🧡💛🎉🥳👌💯✅✔✨🤗😍🥰😉🙌👏💪🤩😎\x{1F3FB}-\x{1F3FF}]",
    )
    .expect("constant regex")
});

static VOCABULARY: LazyLock<HashMap<String, u8>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for (list, kind) in all_lists() {
        for word in list.iter().flat_map(|s| s.split_whitespace()) {
            *map.entry(fold(word)).or_insert(0) |= kind;
        }
    }
    map
});

static BLOCKED: LazyLock<HashSet<String>> = LazyLock::new(|| {
    BLOCKED_WORDS
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(fold)
        .collect()
});

static AGAIN: LazyLock<HashSet<String>> =
    LazyLock::new(|| AGAIN_WORDS.split_whitespace().map(fold).collect());

fn all_lists() -> impl Iterator<Item = (&'static [&'static str], u8)> {
    [
        (GRATITUDE_WORDS, GRATITUDE),
        (ACK_WORDS, ACK),
        (CLOSING_WORDS, CLOSING),
        (GREETING_WORDS, GREETING),
    ]
    .into_iter()
}

/// Whether `text`, a customer's reply with quotes and signature already
/// removed, is nothing but thanks that needs no answer.
///
/// Only such a reply may leave a resolved ticket closed; when in doubt the
/// answer is `false`, because a missed thank-you costs one notification and
/// a misread question costs a customer their answer.
pub fn is_thanks_only(text: &str) -> bool {
    let text = text.trim();
    // Bounded before anything else looks at the text: at most MAX_CHARS
    // characters are ever tokenized, however long the mail.
    if text.is_empty() || text.chars().nth(MAX_CHARS).is_some() {
        return false;
    }
    if asks_something(text)
        || SAD_FACES.iter().any(|f| text.contains(f))
        || STRAY.is_match(text)
        || CJK_BLOCKED.iter().any(|w| text.contains(w))
    {
        return false;
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut content_lines = 0;
    let mut gratitude = false;
    let mut after_signoff = false;
    for (i, line) in lines.iter().enumerate() {
        let Some(read) = read_line(line, i + 1 == lines.len(), after_signoff) else {
            return false;
        };
        gratitude |= read.gratitude;
        if !read.frame {
            content_lines += 1;
        }
        // A name alone on the last line signs what came before: after a
        // sign-off, or under a line of thanks ("Thanks, that fixed it!"
        // then "Carol").
        after_signoff = read.signoff || read.gratitude;
    }
    gratitude && content_lines <= MAX_CONTENT_LINES
}

/// A question mark in any script, or a Greek text with `;` in it.
fn asks_something(text: &str) -> bool {
    text.contains(QUESTION_MARKS)
        || (text.contains(';')
            && text
                .chars()
                .any(|c| matches!(c, '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}')))
}

/// What one line turned out to be.
struct LineRead {
    /// It has a word of thanks.
    gratitude: bool,
    /// It is only greeting, closing and names: it does not count as text.
    frame: bool,
    /// It ends like a sign-off ("Thanks," / "Best regards"), so a name may
    /// stand alone on the next line.
    signoff: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Word(u8),
    Name,
}

/// Reads one non-empty, trimmed line; `None` when something in it needs an
/// agent or cannot be read.
fn read_line(line: &str, last: bool, after_signoff: bool) -> Option<LineRead> {
    let toks: Vec<regex::Match> = TOKEN.find_iter(line).collect();
    if toks.is_empty() {
        // Punctuation and happy emoji only ("👍", "--").
        return Some(LineRead {
            gratitude: false,
            frame: true,
            signoff: false,
        });
    }
    let folded: Vec<String> = toks.iter().map(|t| fold(t.as_str())).collect();
    let thanks_at: Vec<usize> = folded
        .iter()
        .enumerate()
        .filter(|(_, f)| word_kinds(f).is_some_and(|k| k & GRATITUDE != 0))
        .map(|(i, _)| i)
        .collect();

    let mut roles = Vec::with_capacity(toks.len());
    for (i, (tok, f)) in toks.iter().zip(&folded).enumerate() {
        let near_thanks = thanks_at.iter().any(|&j| i.abs_diff(j) <= AGAIN_WINDOW);
        let role = if near_thanks && AGAIN.contains(f.as_str()) {
            Role::Word(ACK)
        } else if is_blocked(f) {
            return None;
        } else if let Some(kinds) = word_kinds(f) {
            Role::Word(kinds)
        } else if is_name_shaped(tok.as_str()) {
            Role::Name
        } else {
            return None;
        };
        roles.push(role);
    }

    let mut i = 0;
    while i < roles.len() {
        if roles[i] != Role::Name {
            i += 1;
            continue;
        }
        let start = i;
        while i + 1 < roles.len()
            && roles[i + 1] == Role::Name
            && line[toks[i].end()..toks[i + 1].start()]
                .chars()
                .all(|c| c.is_whitespace() || c == '-')
        {
            i += 1;
        }
        if !name_fits(line, &toks, &roles, start, i, last, after_signoff) {
            return None;
        }
        i += 1;
    }

    let has = |kind: u8| move |r: &Role| matches!(r, Role::Word(k) if k & kind != 0);
    Some(LineRead {
        gratitude: roles.iter().any(has(GRATITUDE)),
        frame: roles
            .iter()
            .all(|r| *r == Role::Name || has(CLOSING | GREETING)(r)),
        signoff: line.ends_with(',') || roles.last().is_some_and(has(GRATITUDE | CLOSING)),
    })
}

/// Whether the unknown capitalised words `start..=end` of a line stand where
/// a name stands: right after a greeting, closing or thanks ("Hi Bob",
/// "Regards, Carol", "Thank you Anna!") and followed by punctuation or the end
/// of the line, or alone on the last line under a sign-off. Anywhere else a
/// capitalised unknown word is a sentence we cannot read.
fn name_fits(
    line: &str,
    toks: &[regex::Match],
    roles: &[Role],
    start: usize,
    end: usize,
    last: bool,
    after_signoff: bool,
) -> bool {
    if end - start + 1 > MAX_NAME_WORDS || toks[start].as_str().chars().count() < 2 {
        return false;
    }
    if start == 0 {
        return end + 1 == toks.len() && last && after_signoff;
    }
    let word_at = |i: usize| match roles[i] {
        Role::Word(k) => k,
        Role::Name => 0,
    };
    // "Thank you Anna", "Merci beaucoup Jean": one word may stand between.
    let after_thanks_phrase = start >= 2 && word_at(start - 2) & GRATITUDE != 0;
    if word_at(start - 1) & (GRATITUDE | CLOSING | GREETING) == 0
        && !(after_thanks_phrase && word_at(start - 1) != 0)
    {
        return false;
    }
    let gap_before = &line[toks[start - 1].end()..toks[start].start()];
    if !gap_before
        .chars()
        .all(|c| c.is_whitespace() || matches!(c, ',' | '-' | '–' | '—'))
    {
        return false;
    }
    match toks.get(end + 1) {
        None => true,
        Some(next) => line[toks[end].end()..next.start()]
            .chars()
            .any(|c| !c.is_whitespace()),
    }
}

/// Capitalised like a name in a script with case: "Carol", "Иван", "S".
fn is_name_shaped(word: &str) -> bool {
    let mut chars = word.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_uppercase()
        && word.chars().count() <= 24
        && chars.all(|c| c.is_lowercase() || is_combining(c) || matches!(c, '\'' | '’'))
}

fn is_blocked(folded: &str) -> bool {
    BLOCKED.contains(folded)
        || folded.ends_with("n't")
        || (folded.contains('\'') && folded.split('\'').any(|p| BLOCKED.contains(p)))
}

/// The kinds of a folded word; a word with an apostrophe is known when it
/// is listed whole or when its parts are listed words and elisions.
fn word_kinds(folded: &str) -> Option<u8> {
    if let Some(&kinds) = VOCABULARY.get(folded) {
        return Some(kinds);
    }
    if !folded.contains('\'') {
        return None;
    }
    let mut kinds = 0;
    for part in folded.split('\'') {
        if let Some(&k) = VOCABULARY.get(part) {
            kinds |= k;
        } else if !CLITICS.contains(&part) {
            return None;
        }
    }
    (kinds != 0).then_some(kinds | ACK)
}

fn is_han_or_kana(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}' | '\u{31F0}'..='\u{31FF}')
}

fn is_combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

/// Lower case without diacritics, so that "Très", "tres" and a decomposed
/// "tre\u{300}s" are one word. Letters that are distinct in their own
/// language (ø, ł, ı) fold too: only comparison is at stake, and no
/// listed word is told apart by them.
fn fold(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| !is_combining(*c))
        .map(base_letter)
        .collect()
}

fn base_letter(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' | 'ă' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => 'e',
        'ğ' => 'g',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' => 'i',
        'ł' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ő' | 'ø' => 'o',
        'ř' => 'r',
        'ś' | 'š' | 'ş' => 's',
        'ť' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ű' | 'ů' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        'ά' => 'α',
        'έ' => 'ε',
        'ή' => 'η',
        'ί' | 'ϊ' | 'ΐ' => 'ι',
        'ό' => 'ο',
        'ύ' | 'ϋ' | 'ΰ' => 'υ',
        'ώ' => 'ω',
        'ς' => 'σ',
        'ё' => 'е',
        'й' => 'и',
        'ї' => 'і',
        '’' | 'ʼ' => '\'',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_under_a_line_of_thanks_signs_it() {
        assert!(is_thanks_only("Thanks, that fixed it!\n\nCarol"));
        assert!(is_thanks_only("Danke, hat funktioniert!\r\n\r\nJürgen\r\n"));
        assert!(!is_thanks_only(
            "Thanks, that fixed it!\n\nCarol\nBroken again"
        ));
    }

    /// Thank-you notes across languages, with and without greetings,
    /// closings and names.
    const THANKS: &[&str] = &[
        // English
        "Thanks, that fixed it!",
        "Thank you so much",
        "thx",
        "Great, thanks!",
        "Perfect, many thanks. Best regards, Carol",
        "Thanks a lot, all good now 👍",
        "Hi Bob,\n\nthat did the trick, thank you!\n\nCheers,\nCarol",
        "Works like a charm. Thanks again!",
        "Got it, thanks.\nKind regards\nAnne-Marie Smith",
        "Thank you Anna! It's working now.",
        "ok thanks",
        "THANK YOU!!!",
        "Thanks,\nCarol",
        // German
        "Danke, hat funktioniert!",
        "Vielen Dank",
        "Super, danke! LG Anna",
        "Hallo Herr Müller,\nvielen Dank für die schnelle Hilfe, jetzt klappt alles.\nViele Grüße\nJonas",
        "Nochmals vielen Dank!",
        "Danke schön, läuft wieder",
        // French
        "Merci beaucoup, ça marche",
        "Bonjour,\nmerci pour votre aide, c'est réglé.\nCordialement,\nJean",
        "Parfait, merci !",
        "Merci encore, tout fonctionne maintenant.",
        // Spanish
        "Gracias, ya funciona",
        "¡Muchas gracias por la ayuda! Saludos, Carlos",
        "Perfecto, gracias de nuevo",
        // Italian
        "Grazie mille",
        "Grazie per l'aiuto, ora funziona. Cordiali saluti, Marco",
        // Portuguese
        "Obrigado",
        "Muito obrigada, funcionou!",
        "Valeu, deu certo! Abraços",
        // Dutch
        "Bedankt, het werkt",
        "Dank je wel!",
        "Top, bedankt! Met vriendelijke groet, Jan",
        "Hartelijk dank voor de snelle hulp, het werkt nu.",
        "Het werkt weer, bedankt!",
        // Swedish, Danish, Norwegian, Icelandic
        "Tack så mycket",
        "Tack, nu funkar det! Mvh Erik",
        "Tak",
        "Mange tak, det virker nu",
        "Tusen takk! Det fungerer nå.",
        "Kærar þakkir",
        "Takk fyrir hjálpina",
        // Finnish
        "Kiitos",
        "Kiitos paljon, nyt toimii! Terveisin Matti",
        // Polish
        "Dziękuję",
        "Dzieki, juz dziala!",
        "Bardzo dziękuję za pomoc.\nPozdrawiam,\nAnna",
        // Turkish
        "Teşekkürler, çözüldü",
        "Çok teşekkür ederim, iyi günler",
        // Greek
        "Ευχαριστώ πολύ!",
        "ΕΥΧΑΡΙΣΤΩ, τώρα λειτουργεί",
        // Russian, Ukrainian
        "Спасибо",
        "Спасибо большое, всё работает!",
        "Большое спасибо за помощь. С уважением, Иван",
        "Ещё раз спасибо!",
        "Дякую, все працює",
        // Hebrew
        "תודה רבה",
        "תודה, עובד עכשיו",
        // Czech, Hungarian
        "Děkuji, funguje",
        "Köszönöm szépen!",
        // Chinese
        "谢谢",
        "好的，谢谢！",
        "非常感谢您的帮助",
        "謝謝，已解決",
        // Japanese
        "ありがとうございます",
        "ありがとうございました。無事に解決しました。",
        "お世話になっております。\n早速のご対応ありがとうございます。助かりました。\nよろしくお願いいたします。",
        // Korean
        "감사합니다",
        "정말 감사합니다! 해결되었습니다.",
        "빠른 답변 감사합니다",
    ];

    /// Replies that need an agent, or that are not thanks at all.
    const NOT_THANKS: &[&str] = &[
        "",
        "  \n\t ",
        "Thanks?",
        "ok?",
        "Great!",
        "Cheers",
        "Thanks, but it still fails",
        "Thanks, one more thing: the invoice address is wrong",
        "thanks for nothing, still broken",
        "Thanks! Could you also send the invoice",
        "Thank you. How do I reset my password",
        "Please close the ticket, thanks",
        "Thanks, you can close this",
        "Thanks in advance",
        "Thanks, it's not working",
        "Thanks, doesn't work",
        "Thank you, I have another issue with the VPN",
        "Thanks for the quick reply, I will try it tomorrow",
        "Thanks, I'd like that",
        "Thanks :(",
        "Thanks!! 😡",
        "Thanks, Still Broken",
        "Thanks\nPrinter Offline",
        "Thanks Bob. Outlook crashes",
        "Thanks, see https://example.com/x",
        "Thanks. Invoice 4711 attached",
        "Hi,\nthe app crashes on start.\nThanks",
        "Thanks\nit works\nok\ngreat\nperfect\nawesome",
        "Danke, aber es geht immer noch nicht",
        "Danke im Voraus",
        "Danke! Noch eine Frage: wo finde ich die Rechnung",
        "Merci, mais ça ne marche pas",
        "Merci d'avance",
        "Gracias, pero todavía no funciona",
        "Gracias. ¿Y la factura?",
        "Grazie, ma non funziona ancora",
        "Obrigado, mas ainda não funciona",
        "Bedankt, maar het werkt nog steeds niet",
        "Tack, men det fungerar fortfarande inte",
        "Kiitos, mutta ei toimi vielä",
        "Dzięki, ale nadal nie działa",
        "Teşekkürler, ama hâlâ çalışmıyor",
        "Ευχαριστώ; Πότε θα έρθει",
        "Спасибо, но всё ещё не работает",
        "תודה, אבל זה עדיין לא עובד",
        "谢谢，但是还是不行",
        "谢谢！发票呢？",
        "ありがとうございます。でも、まだ動きません。",
        "감사합니다. 하지만 아직 안 됩니다.",
    ];

    #[test]
    fn thank_you_notes_are_recognised() {
        let missed: Vec<&&str> = THANKS.iter().filter(|t| !is_thanks_only(t)).collect();
        assert!(missed.is_empty(), "should be thanks-only: {missed:#?}");
    }

    #[test]
    fn replies_that_need_an_agent_are_not() {
        let taken: Vec<&&str> = NOT_THANKS.iter().filter(|t| is_thanks_only(t)).collect();
        assert!(taken.is_empty(), "should need an agent: {taken:#?}");
    }

    #[test]
    fn long_replies_are_not_thanks_only() {
        let long = format!("Thanks, {}", "that fixed it and ".repeat(12));
        assert!(long.chars().count() > MAX_CHARS);
        assert!(!is_thanks_only(&long));
        assert!(!is_thanks_only(&"thanks ".repeat(200_000)));
    }

    #[test]
    fn accents_and_decomposed_text_fold_alike() {
        assert!(is_thanks_only("Tre\u{300}s bien, merci"));
        assert!(is_thanks_only("DZIĘKUJĘ"));
        assert!(is_thanks_only("Merci, c’est parfait"));
    }

    #[test]
    fn again_is_only_harmless_next_to_thanks() {
        assert!(is_thanks_only("Thank you again"));
        assert!(!is_thanks_only("Thanks. It happens again"));
        assert!(!is_thanks_only("Thanks. The printer is great, again"));
    }

    #[test]
    fn vocabulary_never_contains_a_blocked_word() {
        for word in VOCABULARY.keys() {
            assert!(!BLOCKED.contains(word), "{word} is listed and blocked");
            assert!(!AGAIN.contains(word), "{word} is listed and an again-word");
            assert!(
                !CJK_BLOCKED.iter().any(|b| word.contains(b)),
                "{word} contains a blocked CJK word"
            );
        }
        for word in AGAIN.iter() {
            assert!(BLOCKED.contains(word), "again-word {word} is not blocked");
        }
    }
}
