#!/usr/bin/env python3
"""Reads a mailbox the way a customer's mail client does (python's imaplib
over IMAPS, verifying the test CA), for end-to-end tests.

    imap_fetch.py HOST PORT CA_FILE USER PASSWORD OUT_DIR [--min N] [--wait S]
    imap_fetch.py HOST PORT CA_FILE USER PASSWORD OUT_DIR --empty

Waits until the INBOX holds at least N messages (default 1, at most S
seconds, default 30), then writes every message as OUT_DIR/<uid>.eml and
prints how many it wrote. Exits 1 if fewer than N arrived in time.
With --empty it deletes every message in the INBOX instead, so a test run
again on a stack that is already up starts from an empty mailbox.
"""
import argparse
import imaplib
import os
import ssl
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser()
    for name in ("host", "port", "ca_file", "user", "password", "out_dir"):
        p.add_argument(name)
    p.add_argument("--min", type=int, default=1)
    p.add_argument("--wait", type=float, default=30)
    p.add_argument("--empty", action="store_true")
    a = p.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca_file)
    if a.empty:
        with imaplib.IMAP4_SSL(a.host, int(a.port), ssl_context=ctx) as imap:
            imap.login(a.user, a.password)
            imap.select("INBOX")
            _, data = imap.uid("search", None, "ALL")
            if data[0].split():
                imap.uid("store", "1:*", "+FLAGS.SILENT", r"(\Deleted)")
                imap.expunge()
        return 0
    deadline = time.monotonic() + a.wait
    while True:
        with imaplib.IMAP4_SSL(a.host, int(a.port), ssl_context=ctx) as imap:
            imap.login(a.user, a.password)
            imap.select("INBOX", readonly=True)
            _, data = imap.uid("search", None, "ALL")
            uids = data[0].split()
            if len(uids) >= a.min or time.monotonic() > deadline:
                os.makedirs(a.out_dir, exist_ok=True)
                for uid in uids:
                    _, msg = imap.uid("fetch", uid, "(BODY.PEEK[])")
                    raw = next(part[1] for part in msg if isinstance(part, tuple))
                    with open(os.path.join(a.out_dir, uid.decode() + ".eml"), "wb") as f:
                        f.write(raw)
                print(len(uids))
                return 0 if len(uids) >= a.min else 1
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
