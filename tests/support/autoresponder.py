#!/usr/bin/env python3
"""The worst kind of autoresponder, for tests/e2e_guards.rs.

Watches one Maildir on the test stack and answers every message that
arrives, through the stack's SMTP port, to the message's From address. It
is as unhelpful as real ones get: no Auto-Submitted or other automatic
header, a fresh subject and no In-Reply-To/References, so nothing but
postdesk's caps can stop the two machines from mailing each other.

    autoresponder.py MAILDIR SMTP_PORT FROM --max N --idle SECS

Stops after answering N messages, or after SECS without a new message.
Prints one line per answer.
"""
import argparse
import email
import email.policy
import os
import smtplib
import sys
import time
from email.message import EmailMessage
from email.utils import parseaddr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("maildir")
    ap.add_argument("smtp_port", type=int)
    ap.add_argument("sender")
    ap.add_argument("--max", type=int, default=50)
    ap.add_argument("--idle", type=float, default=20.0)
    a = ap.parse_args()
    new = os.path.join(a.maildir, "new")
    cur = os.path.join(a.maildir, "cur")
    answered = 0
    last = time.monotonic()
    while answered < a.max and time.monotonic() - last < a.idle:
        names = sorted(os.listdir(new))
        if not names:
            time.sleep(0.1)
            continue
        for name in names:
            path = os.path.join(new, name)
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            os.rename(path, os.path.join(cur, name + ":2,S"))
            to = parseaddr(str(msg.get("From", "")))[1]
            if not to:
                continue
            answered += 1
            reply = EmailMessage()
            reply["From"] = a.sender
            reply["To"] = to
            reply["Subject"] = "Thank you for your message (%d)" % answered
            reply["Message-ID"] = "<robot-%d-%d@customer.test>" % (os.getpid(), answered)
            reply.set_content("We got your message and will answer soon.\n")
            with smtplib.SMTP("127.0.0.1", a.smtp_port, timeout=20) as s:
                s.send_message(reply)
            print("answered %s (%s)" % (to, msg.get("Subject", "")), flush=True)
            last = time.monotonic()
    print("done: %d answered" % answered, flush=True)


if __name__ == "__main__":
    sys.exit(main())
