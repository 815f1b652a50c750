#!/usr/bin/env python3
"""The exfiltration drill's attacker (tests/server/guard_drill.sh).

Each scenario uses one stolen credential against a running dev server and
tries to copy as much of the file as it can: worklist pages, then person
reads on keep-alive mutual-TLS connections from several threads. It
prints one JSON line per scenario: requests made, 429 answers, distinct
persons listed (public fields) and read with personal data, personal
fields obtained, seconds until suspension and the reason.

usage: guard_drill.py DEV_DIR PORT SCENARIO [ARG]
"""
import http.client
import json
import queue
import ssl
import sys
import threading
import time

DEV, PORT = sys.argv[1], int(sys.argv[2])
PERSONAL = ("identity", "contact", "document", "photo", "vetting")


class Attack:
    def __init__(self, who):
        self.who = who
        self.lock = threading.Lock()
        self.requests = self.limited = self.retry_after = 0
        self.listed, self.personal = set(), set()
        self.fields = 0
        self.suspended_after = None
        self.reason = None
        self.t0 = time.monotonic()

    def conn(self):
        ctx = ssl.create_default_context(cafile=f"{DEV}/ca.pem")
        ctx.load_cert_chain(f"{DEV}/{self.who}.pem", f"{DEV}/{self.who}.key")
        return http.client.HTTPSConnection("127.0.0.1", PORT, context=ctx,
                                           timeout=30)

    def get(self, c, path, method="GET", body=None):
        c.request(method, path, body=body)
        r = c.getresponse()
        data = r.read()
        with self.lock:
            self.requests += 1
            if r.status == 429:
                self.limited += 1
                self.retry_after += r.getheader("Retry-After") is not None
        try:
            doc = json.loads(data)
        except ValueError:
            doc = {}
        if r.status == 403 and doc.get("error", {}).get("code") == "suspended":
            with self.lock:
                if self.suspended_after is None:
                    self.suspended_after = round(time.monotonic() - self.t0, 1)
                    msg = doc["error"]["message"]
                    self.reason = msg[msg.find("(") + 1:msg.find(")")]
        return r.status, doc

    def done(self):
        return self.suspended_after is not None

    def list_pages(self, c, query, pages):
        ps, cursor = [], None
        for _ in range(pages):
            q = query + (f"&cursor={cursor}" if cursor else "")
            st, doc = self.get(c, f"/v1/persons?{q}")
            if st == 429:
                time.sleep(0.05)
                continue
            if st != 200:
                break
            for it in doc["items"]:
                ps.append(it["pseudonym"])
                self.listed.add(it["pseudonym"])
            cursor = doc.get("next_cursor")
            if not cursor:
                break
        return ps

    def note_person(self, ps, doc):
        person = doc.get("person", {})
        n = sum(len(person[k]) for k in PERSONAL
                if isinstance(person.get(k), dict))
        n += 1 if isinstance(person.get("photo"), str) else 0
        with self.lock:
            self.listed.add(ps)
            if n:
                self.personal.add(ps)
                self.fields += n

    def read_all(self, pseudonyms, query, threads, seconds):
        q = queue.Queue()
        for p in pseudonyms:
            q.put(p)
        end = time.monotonic() + seconds

        def worker():
            c = self.conn()
            while not self.done() and time.monotonic() < end:
                try:
                    ps = q.get_nowait()
                except queue.Empty:
                    return
                st, doc = self.get(c, f"/v1/persons/{ps}?{query}")
                if st == 200:
                    self.note_person(ps, doc)
                elif st == 429:
                    q.put(ps)  # as fast as it may: retry at once
        ts = [threading.Thread(target=worker) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    def report(self, scenario):
        print(json.dumps({
            "scenario": scenario, "credential": self.who,
            "requests": self.requests, "limited": self.limited,
            "retry_after_headers": self.retry_after,
            "listed": len(self.listed), "personal_persons": len(self.personal),
            "personal_fields": self.fields,
            "suspended_after": self.suspended_after, "reason": self.reason}))


def fast(who, list_query, pages, read_query, seconds):
    a = Attack(who)
    ps = a.list_pages(a.conn(), list_query, pages)
    if not a.done():
        a.read_all(ps, read_query, 8, seconds)
    return a


def slow(who):
    """Spreads its reads under the window's threshold: 15 persons, a pause
    longer than the (test) window of 5 s, 15 more, and so on."""
    a = Attack(who)
    c = a.conn()
    ps = a.list_pages(c, "state=vetting&limit=200", 1)
    quota = None
    for i, p in enumerate(ps):
        if i and i % 15 == 0:
            time.sleep(5.5)
        st, doc = a.get(c, f"/v1/persons/{p}?fields=identity&purpose=drill")
        if st == 200:
            a.note_person(p, doc)
        elif st == 429 and doc["error"]["code"] == "quota_exceeded":
            quota = doc["error"]["code"]
            break
    a.reason = a.reason or quota
    return a


def main():
    sc = sys.argv[3]
    if sc == "platform":
        a = fast("platform", "limit=1000", 50,
                 "fields=public,identity,contact,document,photo", 20)
    elif sc == "office":
        a = fast("office", "state=vetting&limit=1000", 1,
                 "fields=identity,contact,document&purpose=drill", 120)
    elif sc == "gate":
        a = fast("gate", "state=badge_issued&limit=1000", 3,
                 "fields=identity,photo", 120)
    elif sc == "slow":
        a = slow("office-restricted")
    elif sc == "poison":  # one read of a poison record, by pseudonym
        a = Attack("office")
        st, doc = a.get(a.conn(),
                        f"/v1/persons/{sys.argv[4]}?fields=public&purpose=x")
        if st == 200:
            a.note_person(sys.argv[4], doc)
    elif sc == "poison-list":  # a worklist page that holds one
        a = Attack("partner")
        a.list_pages(a.conn(), "state=refused&limit=1000", 1)
    else:
        sys.exit("unknown scenario")
    a.report(sc)


main()
