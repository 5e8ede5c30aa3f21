#!/usr/bin/env python3
"""Generate a synthetic support-mail corpus for postdesk benchmarks.

Standard library only; output is fully deterministic for a given --seed
(no wall clock, no unseeded randomness).

    gen_corpus.py mbox    OUT.mbox --count 10000 [--seed 42]
    gen_corpus.py maildir DIR      --count N     [--seed 42] [--crlf]
    gen_corpus.py eml     DIR      --count N     [--seed 42] [--crlf]

Every message is addressed To: support@desk.test from one of ~2,000
customers under customer.test.  Roughly:
  * 60% new conversations, 40% replies to an earlier message in the same
    output (In-Reply-To + References chain, "Re: <parent subject>", quoted
    parent text under an "On <date>, <name> wrote:" line).  Parents always
    come before their replies in output order.
  * sizes uniformly spread over 2-20 KiB (whole message, headers included),
    padded with varied support-ticket prose, never a repeated filler char.
  * ~10% multipart/mixed with a small base64 attachment.
  * ~3% non-ASCII subjects as RFC 2047 encoded words (UTF-8, B or Q).
  * ~5% bodies with non-ASCII text (8bit or quoted-printable UTF-8).
  * some body lines begin with "From " (escaped as ">From " in mbox).

mbox output uses LF line endings, "From <addr> <asctime>" separator lines
and ">From " escaping.  maildir writes DIR/{cur,new,tmp} and one file per
message in DIR/new/ with a Maildir-style unique name.  eml writes
DIR/NNNNNN.eml.  --crlf switches maildir/eml files to CRLF line endings.

Prints one summary line at the end: mode, count, total bytes, replies,
multipart, non-ASCII subjects, output path.
"""

import argparse
import base64
import datetime
import os
import quopri
import random
import sys

# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------
FIRST = """James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth
William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen
Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra
Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth
Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald
Stephanie Jason Rebecca Edward Sharon Jeffrey Laura Ryan Cynthia Jacob
Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda
Larry Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel
Katherine Gregory Christine Alexander Debra Frank Rachel Patrick Carolyn
Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron
Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia Douglas Victoria
Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn Noah
Judith Jeremy Megan Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline
Gerald Martha Harold Gloria Sean Teresa Austin Ann Carl Sara Arthur Madison
Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy
Alice Joe Judy Bruce Sophia Gabriel Grace Logan Denise Albert Amber Willie
Doris Alan Marilyn Juan Danielle Wayne Beverly Elijah Isabella Randy Theresa
Roy Diana Vincent Natalie Ralph Brittany Eugene Charlotte Russell Marie Bobby
Kayla Mason Alexis Philip Lori Louis Priya Wei Hiroshi Yuki Fatima Ahmed
Sven Ingrid Lars Astrid Pierre Camille Giulia Marco Lucia Javier Mateo Chen
Mei Raj Anika Olga Dmitri Kofi Amara Tariq Leila""".split()

LAST = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin
Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker
Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson
Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans
Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy
Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard
Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray
Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross
Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler
Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson
Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes
Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro
Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells
Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson
Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks
Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills
Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan
Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Hansen Peters
Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll
Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston
Matthews Pena Richards Willis Carpenter Lawrence Sandoval Tanaka Suzuki Sato
Yamamoto Wang Li Zhang Liu Singh Kumar Sharma Muller Schneider Fischer Weber
Dubois Laurent Rossi Russo Bianchi Novak Kowalski Nielsen Larsen Johansson
Ivanov Petrov Okafor Mensah Haddad Nasser""".split()

COMPANIES = """Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Wonka Tyrell
Cyberdyne Soylent Aperture Massive Dynamic Gringotts Oscorp Virtucon Monarch
Nakatomi Prestige Sterling Dunder Bluth Pied Piper Kruger Oceanic Ajax
Northwind Contoso Fabrikam Tailspin Litware Proseware Adatum Woodgrove""".split()

PRODUCTS = ["the desktop app", "the mobile app", "the web dashboard", "the API",
            "the billing portal", "the CSV export", "the reporting module",
            "the SSO integration", "the Outlook add-in", "the calendar sync",
            "the invoice generator", "the admin console", "the search page",
            "the notification emails", "the file uploader", "the webhook delivery",
            "the Android widget", "the iOS app", "the team inbox", "the audit log"]

SYMPTOMS = ["crashes on startup", "shows a blank page", "times out after 30 seconds",
            "returns error 500", "logs me out every few minutes",
            "duplicates every entry", "is extremely slow since Monday",
            "rejects my password", "sends the wrong totals",
            "does not load attachments", "shows yesterday's data",
            "fails with 'permission denied'", "keeps spinning forever",
            "charges us twice", "ignores the time zone setting",
            "loses my changes", "cannot find any results", "freezes the browser",
            "sends emails to the wrong people", "stopped syncing overnight"]

TOPICS = [
    "Cannot log in to {p}", "{P} {s}", "Invoice {n} looks wrong",
    "Refund request for order {n}", "Question about our subscription",
    "Urgent: {p} {s}", "Feature request: dark mode for {p}",
    "Password reset email never arrives", "How do I add a new user?",
    "Billing address change", "Account locked", "Export to Excel broken",
    "Data missing after update", "Upgrade to the Business plan",
    "Cancel my subscription", "Problem with order #{n}",
    "Two-factor authentication not working", "SSO setup help",
    "API rate limit question", "Slow performance since last release",
    "Wrong VAT on invoice {n}", "Ticket {n}: still broken",
    "Need a copy of our contract", "GDPR data request",
    "Integration with Salesforce", "Bug: {p} {s}",
    "Can't download invoice {n}", "Licence key not accepted",
    "Request for a quote (50 seats)", "Sync issue between devices",
]

NON_ASCII_SUBJECTS = [
    "Problème de connexion à l'application",
    "Rechnung {n}: falscher Betrag für März",
    "Pedido {n} no llegó — ¿qué pasó?",
    "注文 {n} がまだ届きません",
    "无法登录账户，请帮忙",
    "Проблема с оплатой счёта {n}",
    "Zugang gesperrt – bitte entsperren",
    "Fatura {n} com valor incorreto (ação necessária)",
    "Ça ne marche toujours pas",
    "Ödeme sayfası açılmıyor",
    "Δεν μπορώ να συνδεθώ",
    "비밀번호 재설정 메일이 오지 않습니다",
]

NON_ASCII_SENTENCES = [
    "Merci d'avance pour votre réponse rapide, c'est assez pressé de notre côté.",
    "Mit freundlichen Grüßen aus Köln — das Team ist ziemlich verärgert.",
    "Gracias por la ayuda, el señor Núñez también tiene el mismo problema.",
    "よろしくお願いいたします。至急ご対応ください。",
    "非常感谢你们的帮助，我们这边非常着急。",
    "Спасибо заранее, проблема повторяется каждый день.",
    "Obrigado pela atenção, a situação está crítica aqui.",
]

OPENERS = ["Hi", "Hello", "Hi there", "Dear support team", "Good morning",
           "Hello support", "Dear Sir or Madam", "Hey team", "Good afternoon"]
CLOSERS = ["Thanks", "Thank you", "Best regards", "Kind regards", "Cheers",
           "Many thanks", "Regards", "Thanks in advance", "Best"]

SENTENCE_TEMPLATES = [
    "Since {day} {p} {s}, and nobody on our team can work around it.",
    "I already tried clearing the cache, restarting the computer and reinstalling {p}.",
    "Our account number is {n} in case you need it.",
    "This is affecting about {k} people in our {dept} department.",
    "We are on the {plan} plan and have been customers for {k} years.",
    "The problem started right after the update you rolled out on {day}.",
    "When I click on the {thing} button, {p} {s}.",
    "Could you please check whether something changed on your side?",
    "I attached a screenshot last time, but I can send another one if it helps.",
    "Our {dept} manager is asking me for an update every hour, so any ETA would help.",
    "We use Chrome {k}.0 on Windows 11 and Safari on macOS, and both behave the same.",
    "As far as I can tell, the issue only happens for users in the {dept} group.",
    "For us this is a blocker for the end-of-month close.",
    "Is there a status page where I can follow the progress on this?",
    "The error message says: \"{err}\".",
    "I noticed the same thing happens with order {n} and order {n2}.",
    "We were charged {amount} but the quote said {amount2}.",
    "Please escalate this if possible, it has been open for {k} days now.",
    "Your colleague {agent} helped us with a similar problem in {month}.",
    "I'm not sure whether this is a bug or a configuration problem on our end.",
    "Let me know if you need access to our test environment.",
    "The {thing} page loads, but the numbers do not match what we see in {p}.",
    "We would also like to know whether {p} supports single sign-on with Okta.",
    "Our IT department confirmed that the firewall is not blocking anything.",
    "I can reproduce it every time by opening {p} and waiting {k} minutes.",
    "Honestly we are considering moving to another provider if this continues.",
    "As a workaround we export everything manually, which takes {k} hours a week.",
    "The invoice {n} should be addressed to {company} Ltd, not to me personally.",
    "Please update the billing e-mail to accounts@{domain}.",
    "We need the data before the audit on {day}, so timing matters.",
    "Apologies for the long e-mail, I wanted to give you all the details.",
    "The log file shows \"{err}\" followed by a long stack trace.",
    "My phone number is +1 555 01{k2} if a call is easier.",
    "We tested on {k} different machines with the same result.",
    "It worked fine until {day}, and we did not change anything since.",
]

ERRORS = ["ERR_CONNECTION_RESET", "Unexpected token < in JSON at position 0",
          "403 Forbidden", "Session expired, please log in again",
          "Internal Server Error", "Quota exceeded for this billing period",
          "Invalid signature", "Timeout waiting for upstream",
          "Could not parse date '31/02/2026'", "NullReferenceException",
          "TLS handshake failed", "Payment declined (code 51)"]

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "last week",
        "yesterday", "this morning", "the 3rd", "the 15th", "last night"]
DEPTS = ["sales", "finance", "marketing", "operations", "HR", "engineering",
         "customer success", "legal", "logistics", "procurement"]
PLANS = ["Starter", "Team", "Business", "Enterprise", "Pro"]
THINGS = ["Save", "Export", "Submit", "Sync now", "Download", "Approve",
          "Send", "Refresh", "Generate report", "Pay now"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
AGENTS = ["Sam", "Priya", "Tom", "Alex", "Maria", "Kenji", "Olivia", "Jonas"]

MAILERS = [
    ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.6.0"),
    ("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Thunderbird/128.5.2"),
    ("X-Mailer", "Microsoft Outlook 16.0"),
    ("X-Mailer", "iPhone Mail (21E236)"),
    ("X-Mailer", "Apple Mail (2.3774.500.171.1.1)"),
    ("User-Agent", "Mutt/2.2.12 (2023-09-09)"),
    ("User-Agent", "Roundcube Webmail/1.6.9"),
    (None, None),  # webmail that sets neither
]

ATTACHMENTS = [
    ("application/pdf", "pdf", ["invoice", "quote", "contract", "statement", "receipt"]),
    ("image/png", "png", ["screenshot", "error", "screen", "capture"]),
    ("image/jpeg", "jpg", ["photo", "IMG_20260114", "scan"]),
    ("text/csv", "csv", ["export", "report", "users", "orders"]),
    ("text/plain", "log", ["console", "app", "debug", "sync"]),
    ("application/zip", "zip", ["logs", "diagnostics"]),
]

MAGIC = {"pdf": b"%PDF-1.4\n", "png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff\xe0",
         "zip": b"PK\x03\x04"}

FROM_OPENINGS = ["what I can tell,", "our side it looks like this:", "my point of view,",
                 "the logs I see the following.", "today on,", "now on, please note:"]

WDAY = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def rfc2822_date(dt, tz_minutes):
    local = dt + datetime.timedelta(minutes=tz_minutes)
    sign = "+" if tz_minutes >= 0 else "-"
    tz = abs(tz_minutes)
    return "%s, %d %s %d %02d:%02d:%02d %s%02d%02d" % (
        WDAY[local.weekday()], local.day, MON[local.month - 1], local.year,
        local.hour, local.minute, local.second, sign, tz // 60, tz % 60)


def asctime(dt):
    return "%s %s %2d %02d:%02d:%02d %d" % (
        WDAY[dt.weekday()], MON[dt.month - 1], dt.day, dt.hour, dt.minute, dt.second, dt.year)


def encode_word_b(text):
    """RFC 2047 B encoding, split into words of <= 75 chars on character
    boundaries, joined by folding whitespace."""
    words, chunk = [], ""
    for ch in text:
        cand = chunk + ch
        # encoded word length: len("=?UTF-8?B??=") = 12 + 4*ceil(n/3)
        if 12 + 4 * ((len(cand.encode("utf-8")) + 2) // 3) > 75:
            words.append(chunk)
            chunk = ch
        else:
            chunk = cand
    if chunk:
        words.append(chunk)
    return "\n ".join("=?UTF-8?B?%s?=" % base64.b64encode(w.encode("utf-8")).decode("ascii")
                      for w in words)


def encode_word_q(text):
    words, cur = [], []
    cur_len = 12  # =?UTF-8?Q? ?=
    for ch in text:
        b = ch.encode("utf-8")
        if ch == " ":
            enc = "_"
        elif ch.isascii() and ch.isalnum():
            enc = ch
        else:
            enc = "".join("=%02X" % x for x in b)
        if cur_len + len(enc) > 75:
            words.append("".join(cur))
            cur, cur_len = [], 12
        cur.append(enc)
        cur_len += len(enc)
    if cur:
        words.append("".join(cur))
    return "\n ".join("=?UTF-8?Q?%s?=" % w for w in words)


def fold_ids(name, ids):
    """Fold a list of <msg-id> tokens into a header value."""
    lines, cur = [], name + ":"
    for mid in ids:
        if len(cur) + 1 + len(mid) > 78 and cur != name + ":":
            lines.append(cur)
            cur = " " + mid
        else:
            cur += " " + mid
    lines.append(cur)
    return "\n".join(lines)


def wrap(text, width=72):
    out = []
    while len(text) > width:
        cut = text.rfind(" ", 0, width + 1)
        if cut <= 0:
            cut = text.find(" ", width)
            if cut < 0:
                break
        out.append(text[:cut])
        text = text[cut + 1:]
    out.append(text)
    return out


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        rng = self.rng
        # ~2,000 distinct customers
        self.customers = []
        seen = set()
        while len(self.customers) < 2000:
            f, l = rng.choice(FIRST), rng.choice(LAST)
            style = rng.random()
            if style < 0.5:
                local = "%s.%s" % (f.lower(), l.lower())
            elif style < 0.8:
                local = "%s%s" % (f[0].lower(), l.lower())
            else:
                local = "%s.%s%d" % (f.lower(), l.lower(), rng.randint(1, 99))
            sub = rng.choice(["", "", "", "mail.", "corp.", "eu.", "us."])
            addr = "%s@%scustomer.test" % (local, sub)
            if addr in seen:
                continue
            seen.add(addr)
            name = "%s %s" % (f, l)
            company = rng.choice(COMPANIES)
            self.customers.append((name, addr, company, rng.choice(MAILERS),
                                   rng.choice([-480, -300, -240, 0, 60, 60, 120, 330, 540])))
        # Pre-expand a large pool of sentences for speed; variety comes from
        # the pool size and random paragraph composition.
        # (deduplicated, so fixed sentences don't dominate)
        self.sentences = list(dict.fromkeys(self._sentence() for _ in range(8000)))
        self.now = datetime.datetime(2026, 1, 5, 7, 0, 0)
        self.counter = 0
        self.parents = []   # list of dicts for earlier messages

    def _fill(self, tmpl):
        rng = self.rng
        return tmpl.format(
            p=rng.choice(PRODUCTS), P=rng.choice(PRODUCTS).replace("the ", "", 1).capitalize(),
            s=rng.choice(SYMPTOMS), n=rng.randint(10000, 99999), n2=rng.randint(10000, 99999),
            k=rng.randint(2, 40), k2="%02d" % rng.randint(0, 99), day=rng.choice(DAYS),
            dept=rng.choice(DEPTS), plan=rng.choice(PLANS), thing=rng.choice(THINGS),
            err=rng.choice(ERRORS), amount="$%d.%02d" % (rng.randint(20, 9000), rng.randint(0, 99)),
            amount2="$%d.%02d" % (rng.randint(20, 9000), rng.randint(0, 99)),
            agent=rng.choice(AGENTS), month=rng.choice(MONTHS),
            company=rng.choice(COMPANIES), domain=rng.choice(COMPANIES).lower() + ".customer.test")

    def _sentence(self):
        return self._fill(self.rng.choice(SENTENCE_TEMPLATES))

    def _paragraph(self, non_ascii):
        rng = self.rng
        sents = rng.sample(self.sentences, rng.randint(2, 6))
        if non_ascii and rng.random() < 0.3:
            sents.append(rng.choice(NON_ASCII_SENTENCES))
        return wrap(" ".join(sents))

    def _subject(self):
        rng = self.rng
        if rng.random() < 0.03:
            return self._fill(rng.choice(NON_ASCII_SUBJECTS)), True
        return self._fill(rng.choice(TOPICS)), False

    def _attachment(self):
        rng = self.rng
        ctype, ext, stems = rng.choice(ATTACHMENTS)
        fname = "%s-%d.%s" % (rng.choice(stems), rng.randint(1, 9999), ext)
        size = rng.randint(300, 2500)
        if ext in ("csv", "log"):
            lines = []
            n = 0
            while n < size:
                if ext == "csv":
                    line = "%d,%s,%s,%d.%02d" % (rng.randint(1000, 9999), rng.choice(LAST),
                                                 rng.choice(DEPTS), rng.randint(1, 999), rng.randint(0, 99))
                else:
                    line = "2026-01-%02d %02d:%02d:%02d %s %s" % (
                        rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                        rng.choice(["INFO", "WARN", "ERROR", "DEBUG"]), rng.choice(ERRORS))
                lines.append(line)
                n += len(line) + 1
            raw = ("\n".join(lines) + "\n").encode("ascii")
        else:
            raw = MAGIC.get(ext, b"") + rng.randbytes(size)
        enc = base64.b64encode(raw).decode("ascii")
        b64 = [enc[i:i + 76] for i in range(0, len(enc), 76)]
        return ctype, fname, b64

    def message(self):
        """Return (envelope_from, datetime, message text with LF endings, is_reply,
        is_multipart, non_ascii_subject)."""
        rng = self.rng
        self.counter += 1
        self.now += datetime.timedelta(seconds=rng.randint(5, 400))
        target = rng.randint(2048 + 80, 20480)  # fill stops < 1 line short

        is_reply = bool(self.parents) and rng.random() < 0.4
        parent = None
        if is_reply:
            # Favour recent conversations, but sometimes reply to old ones.
            if rng.random() < 0.8:
                parent = self.parents[-rng.randint(1, min(300, len(self.parents)))]
            else:
                parent = rng.choice(self.parents)
            cust = parent["cust"] if rng.random() < 0.85 else rng.choice(self.customers)
            subject = parent["subject"]
            if not subject.lower().startswith("re:"):
                subject = "Re: " + subject
            non_ascii_subj = parent["non_ascii_subj"]
        else:
            cust = rng.choice(self.customers)
            subject, non_ascii_subj = self._subject()
        name, addr, company, mailer, tz = cust
        non_ascii_body = rng.random() < 0.05
        if parent is not None and parent["non_ascii_body"]:
            non_ascii_body = True   # quoted parent text needs a UTF-8 body
        multipart = rng.random() < 0.10

        ts = int((self.now - datetime.datetime(1970, 1, 1)).total_seconds())
        msgid = "<%d.%06d.%08x@%s>" % (ts, self.counter, rng.getrandbits(32), addr.split("@", 1)[1])
        date = rfc2822_date(self.now, tz)

        if non_ascii_subj:
            subj_hdr = (encode_word_b if rng.random() < 0.6 else encode_word_q)(subject)
        else:
            subj_hdr = subject

        headers = [
            "Return-Path: <%s>" % addr,
            "Received: from smtp-out.%s (smtp-out.%s [198.51.100.%d])\n\tby mx1.desk.test (Postfix) with ESMTPS id %010X\n\tfor <support@desk.test>; %s"
            % (addr.split("@", 1)[1], addr.split("@", 1)[1], rng.randint(1, 254), rng.getrandbits(40), date),
            "From: %s <%s>" % (('"%s"' % name) if rng.random() < 0.3 else name, addr),
            "To: support@desk.test" if rng.random() < 0.9 else "To: Support <support@desk.test>",
            "Subject: " + subj_hdr,
            "Date: " + date,
            "Message-ID: " + msgid,
        ]
        if rng.random() < 0.08:
            other = rng.choice(self.customers)
            headers.append("Cc: %s <%s>" % (other[0], other[1]))
        refs = []
        if parent is not None:
            refs = parent["refs"][-9:] + [parent["msgid"]]
            headers.append("In-Reply-To: " + parent["msgid"])
            headers.append(fold_ids("References", refs))
        if mailer[0]:
            headers.append("%s: %s" % mailer)
        headers.append("MIME-Version: 1.0")

        charset = "utf-8" if non_ascii_body else "us-ascii"
        if non_ascii_body:
            cte = "8bit" if rng.random() < 0.5 else "quoted-printable"
        else:
            cte = "7bit"
        attachment = self._attachment() if multipart else None
        boundary = "=_Part_%d_%08x" % (self.counter, rng.getrandbits(32))
        flowed = "; format=flowed" if rng.random() < 0.3 else ""

        def frame(enc_text):
            out = list(headers)
            if attachment:
                ctype, fname, b64 = attachment
                out.append('Content-Type: multipart/mixed; boundary="%s"' % boundary)
                out.append("")
                out.append("This is a multi-part message in MIME format.")
                out.append("")
                out.append("--" + boundary)
                out.append("Content-Type: text/plain; charset=%s%s" % (charset, flowed))
                out.append("Content-Transfer-Encoding: " + cte)
                out.append("")
                out.append(enc_text.rstrip("\n"))
                out.append("")
                out.append("--" + boundary)
                out.append('Content-Type: %s; name="%s"' % (ctype, fname))
                out.append('Content-Disposition: attachment; filename="%s"' % fname)
                out.append("Content-Transfer-Encoding: base64")
                out.append("")
                out.extend(b64)
                out.append("")
                out.append("--" + boundary + "--")
                return "\n".join(out) + "\n"
            out.append("Content-Type: text/plain; charset=%s%s" % (charset, flowed))
            out.append("Content-Transfer-Encoding: " + cte)
            out.append("")
            return "\n".join(out) + "\n" + enc_text

        if cte == "quoted-printable":
            def cost(line):
                return len(quopri.encodestring(line.encode("utf-8") + b"\n"))
        elif non_ascii_body:
            def cost(line):
                return len(line.encode("utf-8")) + 1
        else:
            def cost(line):
                return len(line) + 1

        # ---- body text, sized so the whole message lands on `target` ----
        first = name.split()[0]
        lines = ["%s," % rng.choice(OPENERS), ""]
        closing = ["", "%s," % rng.choice(CLOSERS), first if rng.random() < 0.6 else name]
        if rng.random() < 0.5:
            closing += ["%s | %s" % (rng.choice(DEPTS).capitalize(), company),
                        "%s Inc." % company]
        quote = []
        if parent is not None:
            quote = ["", "On %s, %s <%s> wrote:" % (parent["date"], parent["name"], parent["addr"])]
            quote += [(">" + l) if l.startswith(">") else ("> " + l if l else ">")
                      for l in parent["text"]]

        budget = (target - len(frame("").encode("utf-8"))
                  - sum(cost(l) for l in lines) - sum(cost(l) for l in closing))
        # the quote takes at most half of what is left
        qkeep = []
        qsize = 0
        for l in quote:
            c = cost(l)
            if qsize + c > budget // 2:
                break
            qkeep.append(l)
            qsize += c
        if len(qkeep) <= 2:   # don't leave a dangling "On ... wrote:" line
            qkeep, qsize = [], 0
        budget -= qsize
        # ~5% of messages get one paragraph starting with "From " (mbox escaping)
        from_para = rng.random() < 0.05
        size = 0
        full = False
        while not full:
            if from_para and size > budget // 3:
                para = wrap("From " + rng.choice(FROM_OPENINGS) + " " + rng.choice(self.sentences))
                from_para = False
            else:
                para = self._paragraph(non_ascii_body)
            para.append("")
            for l in para:
                c = cost(l)
                if size + c > budget:
                    full = True
                    break
                lines.append(l)
                size += c
        while lines[-1] == "":
            lines.pop()
        lines += closing
        own_text = lines
        text = "\n".join(lines + qkeep) + "\n"
        if cte == "quoted-printable":
            enc_text = quopri.encodestring(text.encode("utf-8")).decode("ascii")
        else:
            enc_text = text
        msg = frame(enc_text)

        self.parents.append({
            "msgid": msgid, "refs": refs, "subject": subject,
            "non_ascii_subj": non_ascii_subj, "cust": cust, "name": name,
            "addr": addr, "date": date, "non_ascii_body": non_ascii_body,
            # keep only the customer's own text (not nested quotes) for quoting
            "text": own_text[:60],
        })
        return addr, self.now, msg, is_reply, multipart, non_ascii_subj


def mbox_escape(msg):
    # Escape body lines starting with "From " (mboxo style, as Python's
    # mailbox module does).  Headers never start with "From ".
    if "\nFrom " not in msg:
        return msg
    return msg.replace("\nFrom ", "\n>From ")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["mbox", "maildir", "eml"])
    ap.add_argument("out", help="output file (mbox) or directory (maildir, eml)")
    ap.add_argument("--count", type=int, default=1000, help="number of messages (default 1000)")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    ap.add_argument("--crlf", action="store_true", help="CRLF line endings (maildir/eml only)")
    args = ap.parse_args(argv)
    if args.crlf and args.mode == "mbox":
        ap.error("--crlf is not supported for mbox")

    gen = Generator(args.seed)
    total = replies = multiparts = nonascii = 0

    def encode(msg):
        if args.crlf:
            msg = msg.replace("\n", "\r\n")
        return msg.encode("utf-8")

    if args.mode == "mbox":
        with open(args.out, "wb") as f:
            for _ in range(args.count):
                env, dt, msg, r, mp, na = gen.message()
                data = ("From %s %s\n" % (env, asctime(dt)) + mbox_escape(msg) + "\n").encode("utf-8")
                f.write(data)
                total += len(data)
                replies += r
                multiparts += mp
                nonascii += na
    else:
        if args.mode == "maildir":
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(args.out, sub), exist_ok=True)
            dest = os.path.join(args.out, "new")
        else:
            os.makedirs(args.out, exist_ok=True)
            dest = args.out
        width = max(6, len(str(args.count)))
        for i in range(args.count):
            env, dt, msg, r, mp, na = gen.message()
            data = encode(msg)
            if args.mode == "maildir":
                ts = int((dt - datetime.datetime(1970, 1, 1)).total_seconds())
                fname = "%d.M%06dP%dQ%d.corpus-gen,S=%d" % (
                    ts, (i * 7919) % 1000000, 4242, i + 1, len(data))
            else:
                fname = "%0*d.eml" % (width, i + 1)
            with open(os.path.join(dest, fname), "wb") as f:
                f.write(data)
            total += len(data)
            replies += r
            multiparts += mp
            nonascii += na

    print("%s: %d messages, %d bytes, %d replies, %d multipart, %d non-ascii subjects -> %s"
          % (args.mode, args.count, total, replies, multiparts, nonascii, args.out))


if __name__ == "__main__":
    sys.exit(main())
