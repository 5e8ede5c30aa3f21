#!/usr/bin/env python3
"""Small support mails (~0.8 KB) as an mbox, for store size and import at
scale (issue 18): 60% new conversations, 40% replies to one of the last
5,000 conversations, 20,000 customers, one minute apart. Deterministic.

    benches/gen_small.py OUT.mbox COUNT
"""
import datetime
import random
import sys

WORDS = ("invoice order account password login refund shipping delivery "
         "payment card subscription plan upgrade error page screen report "
         "export download email address update change cancel renew trial "
         "license team member access permission billing receipt tax").split()


def body(rng, n):
    lines = []
    for _ in range(rng.randint(3, 6)):
        lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))).capitalize() + ".")
    return f"Hello,\n\nabout request {n}:\n" + "\n".join(lines) + "\n\nThanks,\n"


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(18)
    base = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    convs = []  # (message-id, subject, customer) of recent conversations
    with open(out, "w") as f:
        for i in range(count):
            d = (base + datetime.timedelta(minutes=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
            mid = f"<small{i}.{rng.randrange(1 << 30):x}@mail.customer{i % 97}.test>"
            if convs and rng.random() < 0.4:
                parent, subject, c = rng.choice(convs[-5000:])
                extra = f"In-Reply-To: {parent}\nReferences: {parent}\n"
                subject = "Re: " + subject.removeprefix("Re: ")
            else:
                c = rng.randrange(20000)
                subject = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} problem #{i}"
                extra = ""
            convs.append((mid, subject, c))
            f.write(f"From c{c}@customer.test Wed Jan  1 00:00:00 2025\n"
                    f"Return-Path: <c{c}@customer.test>\n"
                    f"Received: from mail.customer.test (mail.customer.test [192.0.2.{c % 250}])\n"
                    f"\tby mx.desk.test with ESMTPS id {rng.randrange(1 << 40):x}; {d}\n"
                    f"From: Customer {c} <c{c}@customer.test>\nTo: support@desk.test\n"
                    f"Subject: {subject}\nMessage-ID: {mid}\n{extra}"
                    f"Date: {d}\nMIME-Version: 1.0\n"
                    f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n"
                    f"{body(rng, i)}\n")


if __name__ == "__main__":
    main()
