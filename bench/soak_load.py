#!/usr/bin/env python3
"""Mixed load for bench/soak.sh against a running dev `coffre server`.

Workers run whole application cycles over keep-alive mutual-TLS
connections (one per role, reopened every RECONNECT requests): create,
read, searches, a patch, the state machine through vetting to approval,
badge issuance, audit checkpoint and proofs, plus requests that must fail
(404, 400, 409), counted apart. Every answer's status is checked against
the expected one; anything else is an error. The main thread samples the
server's VmRSS and open file descriptors every INTERVAL seconds into a
CSV, and prints the summary and the verdict at the end.

Usage: soak_load.py DEVDIR PORT PID SECONDS CSV [WORKERS] [INTERVAL] [WARMUP]
"""
import http.client
import json
import os
import random
import ssl
import sys
import threading
import time
import urllib.parse

DEV, PORT, PID = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
SECONDS, CSV = float(sys.argv[4]), sys.argv[5]
WORKERS = int(sys.argv[6]) if len(sys.argv) > 6 else 4
INTERVAL = float(sys.argv[7]) if len(sys.argv) > 7 else 10.0
WARMUP = float(sys.argv[8]) if len(sys.argv) > 8 else 120.0
RECONNECT = 500
PURPOSE = "purpose=soak"
NOBODY = "A" * 43
ROLES = ("office", "vetting", "auditor", "printer")

lock = threading.Lock()
counts = {"requests": 0, "ok": 0, "intended_4xx": 0, "errors": 0, "cycles": 0}
by_route = {}
stop = threading.Event()


def ctx_for(role):
    c = ssl.create_default_context(cafile=os.path.join(DEV, "ca.pem"))
    c.load_cert_chain(os.path.join(DEV, role + ".pem"), os.path.join(DEV, role + ".key"))
    c.check_hostname = False
    return c


class Client:
    """One keep-alive connection per role, reopened now and then."""

    def __init__(self):
        self.ctx = {r: ctx_for(r) for r in ROLES}
        self.conn = {}
        self.used = {}

    def close(self):
        for c in self.conn.values():
            c.close()
        self.conn.clear()

    def call(self, role, method, path, body=None, want=200, label=None):
        label = label or method + " " + path.split("?")[0][:24]
        conn = self.conn.get(role)
        if conn is None or self.used.get(role, 0) >= RECONNECT:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPSConnection("127.0.0.1", PORT, context=self.ctx[role], timeout=60)
            self.conn[role] = conn
            self.used[role] = 0
        self.used[role] += 1
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            status = r.status
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                self.conn.pop(role, None)
        except Exception as e:  # a broken connection is an error too
            conn.close()
            self.conn.pop(role, None)
            status, raw = 0, str(e).encode()
        good = status == want
        is_json_error = True
        if good and want >= 400:
            try:
                err = json.loads(raw)["error"]
                is_json_error = bool(err.get("code")) and bool(err.get("message"))
            except Exception:
                is_json_error = False
        with lock:
            counts["requests"] += 1
            by_route[label] = by_route.get(label, 0) + 1
            if good and is_json_error:
                counts["intended_4xx" if want >= 400 else "ok"] += 1
            else:
                counts["errors"] += 1
                if counts["errors"] <= 20:
                    print(f"soak: unexpected {status} (want {want}) {method} {path}: {raw[:200]!r}",
                          file=sys.stderr, flush=True)
        if not good:
            return None
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {"text": raw.decode("utf-8", "replace")}


def tree_size(ck):
    """The tree size of a checkpoint: the second line of its signed note
    (C2SP tlog-checkpoint); 0 if there is none."""
    lines = (ck or {}).get("text", "").split("\n")
    return int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else 0


def template(cl):
    page = cl.call("office", "GET", "/v1/persons?state=submitted&limit=50")
    for it in page["items"]:
        p = cl.call("office", "GET", f"/v1/persons/{it['pseudonym']}?fields=public,identity,contact,document&{PURPOSE}")
        if p and not p["person"].get("protected") and p["person"].get("document"):
            t = p["person"]
            t.pop("source_key", None)
            return t
    raise SystemExit("soak: no template person")


def q(v):
    return urllib.parse.quote(v, safe="")


def worker(n, tmpl):
    cl = Client()
    rnd = random.Random(n)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    until = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
    i = 0
    while not stop.is_set():
        i += 1
        tag = f"W{n}N{i}R{rnd.randrange(10**9)}"
        app = json.loads(json.dumps(tmpl))
        app["document"]["number"] = "SK" + tag
        app["contact"]["email"] = f"soak.{tag.lower()}@example.org"
        app["identity"]["surname"] = "Soak" + tag
        app["public"].update(state="submitted", valid_from=today, valid_until=until,
                             organisation="Soak " + tag)
        made = cl.call("office", "POST", "/v1/persons", app, 201)
        if not made:
            continue
        ps = made["pseudonym"]
        cl.call("office", "GET", f"/v1/persons/{ps}?fields=public,identity,contact,document&{PURPOSE}")
        cl.call("office", "GET", f"/v1/persons?document_number={q(app['document']['number'])}&{PURPOSE}")
        cl.call("office", "GET", f"/v1/persons?email={q(app['contact']['email'])}&{PURPOSE}")
        idn = app["identity"]
        cl.call("office", "GET", f"/v1/persons?surname={q(idn['surname'])}&given_names={q(idn['given_names'])}"
                f"&birth_date={idn['birth_date']}&{PURPOSE}")
        pub = {k: v for k, v in app["public"].items() if k != "state"}
        pub["organisation"] = "Soak patched " + tag
        cl.call("office", "PATCH", f"/v1/persons/{ps}", {"public": pub})  # a class is patched whole
        # requests that must fail, and change nothing
        cl.call("office", "POST", f"/v1/badges/{ps}?{PURPOSE}", None, 409, "badge not approved")
        cl.call("office", "POST", f"/v1/persons/{ps}/state", {"state": "flying"}, 400, "state flying")
        cl.call("office", "GET", f"/v1/persons/{NOBODY}?fields=public&{PURPOSE}", None, 404, "read nobody")
        cl.call("office", "GET", f"/v1/persons?surname=x&{PURPOSE}", None, 400, "search half")
        cl.call("office", "POST", "/v1/persons", {"public": {}}, 400, "create bad")
        # vetting, approval, badge
        cl.call("office", "POST", f"/v1/persons/{ps}/state", {"state": "vetting"})
        pend = cl.call("vetting", "GET", "/v1/vetting/pending?limit=1000")
        ve = None
        for it in (pend or {}).get("items", []):
            if it.get("identity", {}).get("surname") == idn["surname"]:
                ve = it["pseudonym"]
        if ve is None:
            with lock:
                counts["errors"] += 1
            print(f"soak: {tag} not in the vetting queue", file=sys.stderr, flush=True)
            continue
        cl.call("vetting", "GET", f"/v1/persons/{ve}?fields=identity,document&{PURPOSE}")
        cl.call("vetting", "POST", f"/v1/vetting/{ve}/verdict", {"verdict": "favourable"})
        cl.call("office", "POST", f"/v1/persons/{ps}/state", {"state": "approved"})
        cl.call("office", "POST", f"/v1/badges/{ps}?{PURPOSE}", None, 201)
        cl.call("printer", "GET", "/v1/badges/revocations", None, 403, "printer revocations")
        # the auditor: checkpoint, proofs, a page of entries
        size = tree_size(cl.call("auditor", "GET", "/v1/audit/checkpoint"))
        if size < 2:
            with lock:
                counts["errors"] += 1
            print(f"soak: a checkpoint of {size} entries", file=sys.stderr, flush=True)
        else:
            k = rnd.randrange(size)
            cl.call("auditor", "GET", f"/v1/audit/proof/inclusion?index={k}&size={size}")
            cl.call("auditor", "GET", f"/v1/audit/proof/consistency?from={max(1, size // 2)}&to={size}")
            cl.call("auditor", "GET", f"/v1/audit/entries?start={max(0, size - 5)}&end={size}")
        cl.call("auditor", "GET", f"/v1/audit/proof/inclusion?index={size + 5}&size={size}", None, 400,
                "proof out of range")
        if i % 10 == 0:
            cl.call("office", "POST", f"/v1/persons/{ps}/state", {"state": "revoked"})
            cl.call("office", "POST", f"/v1/persons/{ps}/state", {"state": "approved"}, 409, "revoked->approved")
        if i % 5 == 0:
            cl.call("office", "GET", "/v1/persons?state=approved&limit=100")
            cl.call("auditor", "GET", "/v1/sys/stats")
        with lock:
            counts["cycles"] += 1
    cl.close()


def store_bytes():
    """Size of the server's SQLite file: its page cache (64 MB at most,
    lib/store/store_sqlite.c) holds the pages it touched, so it grows
    with a store that grows."""
    total = 0
    for fd in os.listdir(f"/proc/{PID}/fd"):
        try:
            path = os.readlink(f"/proc/{PID}/fd/{fd}")
            if path.endswith(".db"):
                total += os.path.getsize(path)
        except OSError:
            pass
    return total


def sample():
    rss = 0
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{PID}/fd"))
    return rss, fds


def audit_size(cl):
    """The audit log's size, on a fresh connection: the server closes idle
    keep-alive connections, and the probe's idles for minutes."""
    size = tree_size(cl.call("auditor", "GET", "/v1/audit/checkpoint"))
    cl.close()
    return size


def main():
    probe = Client()
    tmpl = template(probe)
    probe.close()
    time.sleep(1)
    idle_rss, idle_fds = sample()
    audit0 = audit_size(probe)
    audit_warm = None
    store_warm = [store_bytes()]
    rows = []
    t0 = time.time()
    out = open(CSV, "w")
    out.write("seconds,rss_kb,fds,requests,errors,intended_4xx\n")

    def record(t):
        rss, fds = sample()
        with lock:
            row = (round(t), rss, fds, counts["requests"], counts["errors"], counts["intended_4xx"])
        rows.append(row)
        nonlocal audit_warm
        if audit_warm is None and t >= WARMUP:
            audit_warm = audit_size(probe)
            store_warm[0] = store_bytes()
        out.write(",".join(map(str, row)) + "\n")
        out.flush()

    record(0)
    threads = [threading.Thread(target=worker, args=(n, tmpl)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    next_t = INTERVAL
    while True:
        now = time.time() - t0
        if now >= SECONDS:
            break
        time.sleep(max(0.0, min(next_t, SECONDS) - now))
        if time.time() - t0 >= next_t:
            record(next_t)
            next_t += INTERVAL
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    time.sleep(2)  # the checkpoint of the last entries; closed connections
    audit1 = audit_size(probe)
    store1 = store_bytes()
    probe.close()
    time.sleep(1)
    end_rss, end_fds = sample()
    out.write(f"# idle before: rss_kb={idle_rss} fds={idle_fds}; idle after: rss_kb={end_rss} fds={end_fds}\n")
    out.close()

    rss = [r[1] for r in rows]
    fds = [r[2] for r in rows]
    warm = [r for r in rows if r[0] >= WARMUP] or rows[-1:]
    base = warm[0][1]
    last = rows[-1][1]
    growth = (max(r[1] for r in warm) - base) / base * 100 if base else 0.0
    flat_rss = growth < 5.0
    flat_fds = end_fds == idle_fds
    c = counts
    print(f"soak: {elapsed:.0f} s, {WORKERS} workers, {c['cycles']} application cycles")
    print(f"requests: {c['requests']} ({c['requests'] / elapsed:.1f}/s); expected answers: {c['ok']}; "
          f"intended 4xx: {c['intended_4xx']}; errors: {c['errors']}")
    print(f"RSS kB: first {rss[0]}, after warm-up ({warm[0][0]} s) {base}, last {last}, max {max(rss)}; "
          f"growth after warm-up {growth:.1f}%")
    if audit_warm is None:
        audit_warm = audit0
    per = (last - base) * 1024 / (audit1 - audit_warm) if audit1 > audit_warm else 0.0
    print(f"audit log: {audit1 - audit0} entries written ({audit1 - audit_warm} after warm-up); "
          f"RSS growth after warm-up per entry: {per:.0f} bytes "
          f"(the in-memory Merkle tree keeps about 64 per entry, docs/audit.md section 2)")
    print(f"fds: idle before {idle_fds}, first {fds[0]}, last {fds[-1]}, max {max(fds)}, idle after {end_fds}")
    # The audit log's tree lives in memory by design: 64 bytes an entry
    # (two hashes) plus its 8-byte file offset.
    tree_kb = (audit1 - audit_warm) * 72 / 1024
    cache_kb = min(max(0, store1 - store_warm[0]), 64 << 20) / 1024
    residual = ((max(r[1] for r in warm) - base) - tree_kb - cache_kb) / base * 100 if base else 0.0
    print(f"store file after warm-up: +{cache_kb / 1024:.1f} MB (SQLite's page cache follows it, up to 64 MB); "
          f"audit tree: +{tree_kb / 1024:.1f} MB")
    print(f"RSS growth after warm-up beyond the audit tree and the store's page cache: {residual:.1f}%")
    if flat_rss and flat_fds:
        verdict = "flat"
    elif residual < 5.0 and flat_fds:
        verdict = "flat but the audit tree and the page cache"
    else:
        verdict = "NOT flat"
    print(f"verdict: {verdict} (RSS growth after warm-up < 5%: {'yes' if flat_rss else 'no'}; "
          f"beyond the audit tree and page cache < 5%: {'yes' if residual < 5.0 else 'no'}; "
          f"fds back to idle: {'yes' if flat_fds else 'no'}); errors: {c['errors']}")
    sys.exit(0 if verdict != "NOT flat" and c["errors"] == 0 else 1)


main()
