/* The console (docs/console.md): views over the public API, as the
 * principal whose client certificate the browser presents. Nothing here
 * decides who may read what: the server does, for every call. Personal
 * values are only ever put into the page with textContent, never as
 * markup, and are kept nowhere but the page itself. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const S = window.COFFRE_STRINGS;
  let lang = localStorage.getItem("coffre.lang") || "en";
  const CLASSES = ["public", "identity", "contact", "document", "photo", "vetting"];

  function t(key, vars) {
    let s = (S[lang] && S[lang][key]) || S.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
    return s;
  }
  function applyLang() {
    document.documentElement.lang = lang;
    $("lang").value = lang;
    for (const el of document.querySelectorAll("[data-i18n]")) {
      el.textContent = t(el.dataset.i18n);
    }
  }
  function say(msg, bad) {
    const st = $("status");
    st.textContent = msg;
    st.className = bad ? "bad" : "";
  }

  /* One call to the API: {status, json|text}; errors say the server's
   * own message (which names no personal value). */
  async function api(method, path, body, text) {
    const init = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    const out = { status: r.status };
    const ct = r.headers.get("Content-Type") || "";
    if (text && r.ok) out.text = await r.text();
    else if (ct.startsWith("application/json")) out.json = await r.json();
    else out.text = await r.text();
    return out;
  }
  function fail(r) {
    const e = r.json && r.json.error;
    say(t("error", { status: r.status, msg: e ? e.code + ": " + e.message : (r.text || "") }), true);
  }
  function qs(o) {
    return Object.entries(o).filter(([, v]) => v !== "" && v !== undefined)
      .map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v)).join("&");
  }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  /* ---- views ------------------------------------------------------ */
  const VIEWS = ["office", "custodian", "auditor"];
  /* The views a role has any use for; the server decides anyway. */
  const ROLE_VIEWS = {
    office: ["office"], platform: ["office"], printer: ["office"], gate: ["office"],
    custodian: ["custodian"], auditor: ["auditor"], admin: ["custodian", "auditor"],
  };
  let me = null; /* GET /v1/whoami: the caller itself */
  let views = VIEWS.slice();
  function show(view) {
    if (!views.includes(view)) view = views[0];
    for (const b of document.querySelectorAll("#nav button")) {
      const on = b.dataset.view === view;
      b.setAttribute("aria-current", on ? "page" : "false");
      b.hidden = !views.includes(b.dataset.view);
    }
    for (const v of VIEWS) $("view-" + v).hidden = v !== view;
    location.hash = view;
    if (view === "custodian") { sealStatus(); approvalList(); }
    if (view === "office") budget();
  }

  /* The caller: which views, its budget, or why it is suspended. The
   * server answers this (and the console's files) even to a suspended
   * principal, and nothing else. */
  async function whoami() {
    let r;
    try { r = await api("GET", "/v1/whoami"); } catch (e) { return; }
    if (r.status !== 200) return;
    me = r.json;
    $("whoami").textContent = t("who", { p: me.principal, r: me.role });
    views = ROLE_VIEWS[me.role] || VIEWS.slice();
    if (me.guard && me.guard.suspended) {
      views = [];
      for (const v of VIEWS) $("view-" + v).hidden = true;
      for (const b of document.querySelectorAll("#nav button")) b.hidden = true;
      suspendedWhy();
      $("view-suspended").hidden = false;
      document.body.dataset.suspended = "1";
    }
  }
  function suspendedWhy() {
    if (!me || !me.guard || !me.guard.suspended) return;
    $("susp-why").textContent = t("suspended_why", { p: me.principal, why: t("why_" + me.guard.reason), since: me.guard.since || "" });
  }
  function fmtLeft(left, limit) {
    return left === null || left === undefined ? t("no_limit") : t("left_of", { n: left, m: limit });
  }
  /* The clerk's own reading budget, before the guard refuses. */
  async function budget() {
    const r = await api("GET", "/v1/whoami");
    if (r.status !== 200) return;
    me = r.json;
    const g = me.guard || {};
    const b = $("budget");
    if (!g.enabled) { b.textContent = t("budget_off"); return; }
    const hours = Math.round((g.window_seconds / 3600) * 10) / 10;
    b.textContent = t("budget", {
      persons: fmtLeft(g.remaining, g.bulk_threshold), listed: fmtLeft(g.list_remaining, g.list_threshold),
      hour: fmtLeft(g.persons_hour.remaining, g.persons_hour.limit), day: fmtLeft(g.persons_day.remaining, g.persons_day.limit),
      w: hours,
    });
    const low = [[g.remaining, g.bulk_threshold], [g.list_remaining, g.list_threshold]]
      .some(([l, m]) => l !== null && m && l <= Math.max(1, m / 10));
    b.className = low ? "budget low" : "budget";
    b.dataset.remaining = g.remaining === null ? "" : String(g.remaining);
    b.dataset.listRemaining = g.list_remaining === null ? "" : String(g.list_remaining);
  }

  /* ---- office ----------------------------------------------------- */
  function purpose() {
    const p = $("purpose").value.trim();
    if (p === "") {
      say(t("need_purpose"), true);
      $("purpose").focus();
      return null;
    }
    return p;
  }
  let listQuery = null;

  function rows(items, append) {
    const tb = $("results").querySelector("tbody");
    if (!append) tb.replaceChildren();
    for (const it of items) {
      const tr = document.createElement("tr");
      const pub = it.public || {};
      tr.append(el("td", it.pseudonym.slice(0, 12) + "…", "mono"),
        el("td", pub.category || ""), el("td", pub.organisation || ""),
        el("td", pub.state || ""));
      const td = el("td");
      const b = el("button", t("open"));
      b.type = "button";
      b.dataset.pseudonym = it.pseudonym;
      b.addEventListener("click", () => openCard(it.pseudonym));
      td.append(b);
      tr.append(td);
      tb.append(tr);
    }
    $("results").hidden = false;
  }

  async function search(ev) {
    ev.preventDefault();
    const p = purpose();
    if (p === null) return;
    const q = { purpose: p };
    const doc = $("s-doc").value.trim(), email = $("s-email").value.trim();
    const sn = $("s-surname").value.trim(), gn = $("s-given").value.trim();
    const dob = $("s-dob").value;
    if (doc) q.document_number = doc;
    else if (email) q.email = email;
    else if (sn && gn && dob) Object.assign(q, { surname: sn, given_names: gn, birth_date: dob });
    else { say(t("need_search"), true); return; }
    say(t("loading"));
    const r = await api("GET", "/v1/persons?" + qs(q));
    budget();
    if (r.status !== 200) return fail(r);
    $("l-more").hidden = true;
    rows(r.json.items, false);
    say(r.json.items.length ? t("found", { n: r.json.items.length }) : t("none_found"));
  }

  /* Organisation and venues are encrypted classes with no blind index:
   * they filter the page the server already gave, in the page. */
  function pageFilter(items) {
    const org = $("l-org").value.trim().toLowerCase(), venue = $("l-venue").value.trim().toUpperCase();
    return items.filter((it) => {
      const pub = it.public || {};
      if (org && !String(pub.organisation || "").toLowerCase().includes(org)) return false;
      if (venue && !(pub.venues || []).includes(venue)) return false;
      return true;
    });
  }
  async function worklist(ev, more) {
    if (ev) ev.preventDefault();
    if (!more) {
      listQuery = { state: $("l-state").value, category: $("l-category").value.trim(), limit: 50 };
      /* The deadline filter is the server's (its deadline index): it
       * lists persons in vetting, whatever the category. */
      if ($("l-due").value) {
        Object.assign(listQuery, { state: "vetting", category: "", due_within: $("l-due").value });
        $("l-state").value = "vetting";
      }
    }
    say(t("loading"));
    const r = await api("GET", "/v1/persons?" + qs(listQuery));
    budget();
    if (r.status !== 200) return fail(r);
    rows(pageFilter(r.json.items), more);
    listQuery.cursor = r.json.next_cursor || undefined;
    $("l-more").hidden = !r.json.next_cursor;
    say(t("found", { n: $("results").querySelectorAll("tbody tr").length }));
  }

  let current = null;
  /* Ask the classes the role may read (whoami); one the server still
   * refuses for this record (a protected one: 403 forbidden_class) is
   * dropped, so the card shows what the server gave, and only that. */
  async function fetchPerson(ps, p) {
    let want = me && me.classes ? me.classes.record.slice() : CLASSES.slice();
    let refused = me && me.classes ? CLASSES.filter((c) => !want.includes(c)) : [];
    let asProtected = false;
    for (;;) {
      const r = await api("GET", "/v1/persons/" + ps + "?" + qs({ fields: want.join(","), purpose: p }));
      const e = r.json && r.json.error;
      if (r.status === 403 && e && e.code === "forbidden_class") {
        const c = want.find((x) => e.message.includes(x));
        if (c) { want = want.filter((x) => x !== c); refused.push(c); if (want.length) continue; }
        /* A protected record: ask what whoami says the role may read of
         * one (the server names no class then). */
        if (!asProtected && me && me.classes && me.classes.protected.length) {
          asProtected = true;
          want = me.classes.protected.slice();
          refused = CLASSES.filter((x) => !want.includes(x));
          continue;
        }
      }
      return { r, refused };
    }
  }

  function renderClass(name, obj) {
    const box = el("section", undefined, "cls");
    box.dataset.class = name;
    box.append(el("h4", t("cls_" + name)));
    if (name === "photo" && obj && typeof obj.jpeg === "string") {
      const img = document.createElement("img");
      img.alt = t("photo_alt");
      img.src = "data:image/jpeg;base64," + obj.jpeg;
      box.append(img);
      return box;
    }
    const dl = el("dl");
    for (const [k, v] of Object.entries(obj || {})) {
      dl.append(el("dt", k), el("dd", typeof v === "object" ? JSON.stringify(v) : String(v)));
    }
    box.append(dl);
    return box;
  }

  async function openCard(ps) {
    const p = purpose();
    if (p === null) return;
    say(t("loading"));
    const { r, refused } = await fetchPerson(ps, p);
    budget();
    if (r.status !== 200) return fail(r);
    current = ps;
    resetCardExtras();
    const body = $("card-body");
    body.replaceChildren();
    const person = r.json.person || {};
    const shown = CLASSES.filter((c) => person[c] !== undefined);
    for (const c of shown) body.append(renderClass(c, person[c]));
    $("card-id").textContent = ps;
    $("card-classes").textContent = t("classes_shown", { c: shown.join(", ") }) +
      (refused.length ? " — " + t("classes_refused", { c: refused.join(", ") }) : "");
    $("card").hidden = false;
    $("h-card").focus();
    say("");
  }

  async function transition(state) {
    if (!current) return;
    const r = await api("POST", "/v1/persons/" + current + "/state", { state });
    if (r.status !== 200) return fail(r);
    await openCard(current);
    say(t("state_now", { s: r.json.state || state }));
  }

  function resetCardExtras() {
    $("badge-fig").hidden = true;
    $("badge-payload-box").hidden = true;
    $("badge-payload").value = "";
    $("sar-link").hidden = true;
    $("rights-out").textContent = "";
  }
  /* Issue the badge (audited as badge.issue) and show its QR code and
   * payload: what a gate reads, for the clerk to check before printing. */
  async function badgePreview() {
    if (!current) return;
    const p = purpose();
    if (p === null) return;
    const r = await api("POST", "/v1/badges/" + current + "?" + qs({ purpose: p }));
    budget();
    if (r.status !== 201 && r.status !== 200) return fail(r);
    /* Its state is badge_issued now: the public class again, in place
     * (focus stays on the badge button). */
    const pr = await api("GET", "/v1/persons/" + current + "?" + qs({ fields: "public", purpose: p }));
    const old = $("card-body").querySelector('[data-class="public"]');
    if (pr.status === 200 && old && pr.json.person.public) old.replaceWith(renderClass("public", pr.json.person.public));
    const img = $("badge-qr");
    img.src = "data:image/png;base64," + r.json.png_base64;
    img.alt = t("badge_qr_alt");
    $("badge-info").textContent = t("badge_info", { v: r.json.qr_version, id: r.json.id });
    $("badge-payload").value = r.json.payload;
    $("badge-fig").hidden = false;
    $("badge-payload-box").hidden = false;
    say(t("badge_done"));
  }
  let sarUrl = null;
  async function subjectAccess() {
    if (!current) return;
    const p = purpose();
    if (p === null) return;
    const r = await api("GET", "/v1/persons/" + current + "/subject-access?" + qs({ purpose: p }));
    budget();
    if (r.status !== 200) return fail(r);
    if (sarUrl) URL.revokeObjectURL(sarUrl);
    sarUrl = URL.createObjectURL(new Blob([JSON.stringify(r.json, null, 2)], { type: "application/json" }));
    const a = $("sar-link");
    a.href = sarUrl;
    a.hidden = false;
    $("rights-out").textContent = t("sar_ready", { n: (r.json.accesses || []).length });
    say("");
  }
  async function erase() {
    if (!current) return;
    if (!window.confirm(t("erase_confirm"))) return;
    const r = await api("DELETE", "/v1/persons/" + current);
    if (r.status >= 300) return fail(r);
    $("card-body").replaceChildren();
    $("rights-out").textContent = t("erased", { id: r.json.receipt || "" });
    say(t("erased", { id: r.json.receipt || "" }));
  }

  /* ---- custodian -------------------------------------------------- */
  async function sealStatus() {
    const r = await api("GET", "/v1/sys/seal-status");
    if (r.status !== 200) return fail(r);
    $("seal-state").textContent = r.json.sealed
      ? t("sealed", { have: r.json.have, need: r.json.need }) : t("unsealed");
  }
  async function unseal(ev) {
    ev.preventDefault();
    const f = $("share-file").files[0];
    if (!f) { say(t("choose_file"), true); return; }
    const share = await new Promise((ok, ko) => {
      const fr = new FileReader();
      fr.onload = () => ok(String(fr.result));
      fr.onerror = () => ko(fr.error);
      fr.readAsText(f);
    });
    const r = await api("POST", "/v1/sys/unseal", { share: share.trim() });
    $("share-file").value = "";
    if (r.status !== 200) return fail(r);
    say(r.json.sealed ? t("share_sent", { have: r.json.have, need: r.json.need }) : t("unsealed"));
    await sealStatus();
  }
  let approvalId = null;
  function renderApproval(a) {
    const dl = $("approval");
    dl.replaceChildren();
    for (const [k, v] of [["op", a.operation], ["scope", a.scope], ["requested_by", a.requested_by],
      ["expires", when(a.expires)], ["approvers", (a.approvers || []).join(", ") + " (" + (a.approvers || []).length + "/" + a.need + ")"],
      ["astate", a.state]]) {
      dl.append(el("dt", t(k)), el("dd", String(v === undefined ? "" : v)));
    }
    /* One approval per custodian: not offered again to one who gave it. */
    $("approve-go").hidden = a.state !== "pending" || (me !== null && (a.approvers || []).includes(me.principal));
  }
  const when = (s) => (s ? new Date(s * 1000).toISOString().replace(/\.\d+Z$/, "Z") : "");
  async function approvalList() {
    const r = await api("GET", "/v1/approvals");
    if (r.status !== 200) return; /* not for this role: the form stays */
    const tb = $("approvals-list").querySelector("tbody");
    tb.replaceChildren();
    const pending = r.json.approvals.filter((a) => a.state === "pending");
    for (const a of pending) {
      const tr = document.createElement("tr");
      tr.append(el("td", a.operation), el("td", a.scope, "mono"), el("td", a.requested_by),
        el("td", when(a.expires)), el("td", (a.approvers || []).length + "/" + a.need));
      const td = el("td");
      const b = el("button", t("look_up"));
      b.type = "button";
      b.dataset.approval = a.id;
      b.addEventListener("click", () => { $("approval-id").value = a.id; lookUp(null); });
      td.append(b);
      tr.append(td);
      tb.append(tr);
    }
    $("approvals-list").hidden = false;
    $("approvals-list").dataset.count = String(pending.length);
    if (!pending.length) {
      const tr = document.createElement("tr");
      tr.append(Object.assign(el("td", t("none_pending")), { colSpan: 6 }));
      tb.append(tr);
    }
  }
  async function lookUp(ev) {
    if (ev) ev.preventDefault();
    const id = $("approval-id").value.trim();
    const r = await api("GET", "/v1/approvals/" + encodeURIComponent(id));
    if (r.status !== 200) return fail(r);
    approvalId = id;
    renderApproval(r.json);
    say("");
  }
  async function approve() {
    if (!approvalId) return;
    const r = await api("POST", "/v1/approvals/" + approvalId + "/approve");
    if (r.status !== 200) return fail(r);
    renderApproval(r.json);
    say(t("approved_now"));
    approvalList();
  }

  /* ---- auditor ---------------------------------------------------- */
  const N = window.CoffreNote;
  async function verifyLog() {
    const out = $("audit-result"), verdict = $("audit-verdict");
    out.replaceChildren();
    verdict.textContent = t("loading");
    verdict.className = "verdict";
    try {
      let keyText = $("audit-key").value.trim() || localStorage.getItem("coffre.audit.key") || "";
      let tofu = false;
      if (keyText === "") {
        const kr = await api("GET", "/v1/audit/key", undefined, true);
        if (kr.status !== 200) { verdict.textContent = ""; return fail(kr); }
        keyText = kr.text.trim();
        tofu = true;
      }
      const key = await N.parseKey(keyText);
      const cr = await api("GET", "/v1/audit/checkpoint", undefined, true);
      if (cr.status !== 200) { verdict.textContent = ""; return fail(cr); }
      const cp = N.parseCheckpoint(await N.open(cr.text, key), key.name);
      localStorage.setItem("coffre.audit.key", keyText);
      $("audit-key").value = keyText;
      out.append(el("dt", t("origin")), el("dd", cp.origin),
        el("dt", t("size")), el("dd", cp.size.toString()),
        el("dt", t("root")), el("dd", N.b64enc(cp.root), "mono"));
      const seen = JSON.parse(localStorage.getItem("coffre.audit.seen") || "null");
      if (seen && seen.origin === cp.origin) {
        out.append(el("dt", t("previous")), el("dd", seen.size + " / " + seen.root, "mono"));
        const m = BigInt(seen.size), n = cp.size, oldRoot = N.b64dec(seen.root);
        let ok;
        if (m > n) ok = false;
        else if (m === 0n || m === n) ok = m === n ? N.b64enc(cp.root) === seen.root : true;
        else {
          const pr = await api("GET", "/v1/audit/proof/consistency?" + qs({ from: m.toString(), to: n.toString() }));
          /* A size the server cannot prove is no consistent size. */
          if (pr.status !== 200) throw new Error("no consistency proof from " + m + " to " + n + " (" + pr.status + ")");
          ok = await N.consistent(m, n, oldRoot, cp.root, pr.json.hashes.map(N.b64dec));
        }
        if (!ok) throw new Error("not consistent with the checkpoint seen before (size " + seen.size + ")");
      }
      localStorage.setItem("coffre.audit.seen", JSON.stringify({ origin: cp.origin, size: cp.size.toString(), root: N.b64enc(cp.root) }));
      verdict.textContent = (tofu ? t("key_tofu") + " " : "") + t(seen ? "checkpoint_ok" : "checkpoint_first");
      verdict.className = "verdict ok";
      verdict.dataset.result = "ok";
    } catch (e) {
      verdict.textContent = t("checkpoint_bad", { why: e.message });
      verdict.className = "verdict bad";
      verdict.dataset.result = "refused";
    }
  }

  /* ---- auditor: accesses over time, by role, route, purpose ------- */
  /* The log's entries hold pseudonyms and fingerprints, never personal
   * values; the page fetches the latest ones (1000 per call, the API's
   * page) and counts them itself. */
  async function loadEntries(count) {
    const head = await api("GET", "/v1/audit/entries?start=0&end=0");
    if (head.status !== 200) { fail(head); return null; }
    const size = head.json.size;
    const out = [];
    for (let start = Math.max(0, size - count); start < size; start += 1000) {
      const r = await api("GET", "/v1/audit/entries?" + qs({ start, end: Math.min(size, start + 1000) }));
      if (r.status !== 200) { fail(r); return null; }
      out.push(...r.json.entries);
    }
    return { size, entries: out };
  }
  const SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const PALETTE = ["#0b3d91", "#9b1111", "#0a5c2a", "#6a3d9a", "#8a4b08", "#005f73", "#444", "#b3006b"];
  /* Horizontal bars: one per key, its count written beside it. */
  function barChart(title, counts) {
    const rows = Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, 12);
    const max = Math.max(1, ...rows.map((r) => r[1]));
    const h = 22 * rows.length + 10, w = 640, lw = 230;
    const fig = el("figure", undefined, "chart");
    const s = svg("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img", "aria-label": title });
    rows.forEach(([k, n], i) => {
      const y = 5 + i * 22, bw = Math.max(1, ((w - lw - 60) * n) / max);
      s.append(svg("text", { x: lw - 6, y: y + 15, "text-anchor": "end", "font-size": 13 }, k.length > 32 ? k.slice(0, 31) + "…" : k));
      s.append(svg("rect", { x: lw, y, width: bw, height: 18, fill: PALETTE[0] }));
      s.append(svg("text", { x: lw + bw + 4, y: y + 15, "font-size": 13 }, String(n)));
    });
    fig.append(el("figcaption", title), s);
    return fig;
  }
  /* Accesses over time: stacked columns per time slot, one colour per role. */
  function timeChart(title, entries) {
    const w = 640, h = 200, pad = 30;
    const t0 = entries[0].time_ms, t1 = entries[entries.length - 1].time_ms;
    const slots = 24, span = Math.max(1, t1 - t0 + 1), step = span / slots;
    const roles = [...new Set(entries.map((e) => e.role))].sort();
    const grid = Array.from({ length: slots }, () => Object.fromEntries(roles.map((r) => [r, 0])));
    for (const e of entries) grid[Math.min(slots - 1, Math.floor((e.time_ms - t0) / step))][e.role]++;
    const max = Math.max(1, ...grid.map((g) => Object.values(g).reduce((a, b) => a + b, 0)));
    const fig = el("figure", undefined, "chart");
    const s = svg("svg", { viewBox: `0 0 ${w} ${h + 40}`, width: w, height: h + 40, role: "img", "aria-label": title });
    const bw = (w - pad) / slots;
    grid.forEach((g, i) => {
      let y = h;
      roles.forEach((r, k) => {
        const bh = (h - 10) * g[r] / max;
        if (bh > 0) {
          y -= bh;
          const rect = svg("rect", { x: pad + i * bw + 1, y, width: bw - 2, height: bh, fill: PALETTE[k % PALETTE.length] });
          rect.append(svg("title", {}, `${r}: ${g[r]}`));
          s.append(rect);
        }
      });
    });
    s.append(svg("text", { x: 0, y: 12, "font-size": 12 }, String(max)));
    s.append(svg("line", { x1: pad, y1: h, x2: w, y2: h, stroke: "#767676" }));
    const iso = (ms) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");
    s.append(svg("text", { x: pad, y: h + 16, "font-size": 12 }, iso(t0)));
    s.append(svg("text", { x: w, y: h + 16, "font-size": 12, "text-anchor": "end" }, iso(t1)));
    roles.forEach((r, k) => {
      s.append(svg("rect", { x: pad + k * 100, y: h + 24, width: 12, height: 12, fill: PALETTE[k % PALETTE.length] }));
      s.append(svg("text", { x: pad + k * 100 + 16, y: h + 35, "font-size": 12 }, r));
    });
    fig.append(el("figcaption", title), s);
    return fig;
  }
  function countBy(entries, key) {
    const c = {};
    for (const e of entries) { const k = key(e) || "—"; c[k] = (c[k] || 0) + 1; }
    return c;
  }
  async function accesses(ev) {
    ev.preventDefault();
    say(t("loading"));
    const got = await loadEntries(Number($("e-count").value));
    if (!got) return;
    const ps = $("e-pseudonym").value.trim(), pr = $("e-principal").value.trim().toLowerCase();
    const sel = got.entries.filter((e) => (!ps || e.pseudonym === ps) && (!pr || e.principal === pr));
    $("entries-summary").textContent = t("entries_sum", { n: sel.length, m: got.entries.length, size: got.size });
    $("entries-summary").dataset.matching = String(sel.length);
    const charts = $("charts");
    charts.replaceChildren();
    if (sel.length) {
      charts.append(timeChart(t("chart_time"), sel),
        barChart(t("chart_route"), countBy(sel, (e) => e.action)),
        barChart(t("chart_purpose"), countBy(sel, (e) => e.purpose)),
        barChart(t("chart_principal"), countBy(sel, (e) => e.role + " " + (e.principal || "").slice(0, 12))));
    }
    const tb = $("entries-table").querySelector("tbody");
    tb.replaceChildren();
    for (const e of sel.slice(-200).reverse()) {
      const tr = document.createElement("tr");
      tr.append(el("td", new Date(e.time_ms).toISOString()), el("td", e.role), el("td", e.action),
        el("td", e.pseudonym, "mono"), el("td", e.purpose), el("td", e.status + " " + e.outcome),
        el("td", (e.principal || "").slice(0, 16), "mono"));
      tb.append(tr);
    }
    $("entries-table").hidden = false;
    say("");
  }
  async function guardView() {
    const r = await api("GET", "/v1/guard/status");
    if (r.status !== 200) return fail(r);
    const tb = $("guard-table").querySelector("tbody");
    tb.replaceChildren();
    for (const p of r.json.principals || []) {
      const near = p.bulk_threshold && p.persons_in_window >= p.bulk_threshold * 0.8;
      if (!p.suspended && !near) continue;
      const tr = document.createElement("tr");
      tr.append(el("td", p.name), el("td", p.role),
        el("td", p.suspended ? t("g_suspended", { why: p.reason, since: p.since }) : t("g_near")),
        el("td", p.persons_in_window + " / " + (p.bulk_threshold || "∞")));
      tb.append(tr);
    }
    if (!tb.children.length) {
      const tr = document.createElement("tr");
      tr.append(Object.assign(el("td", t("g_none")), { colSpan: 4 }));
      tb.append(tr);
    }
    $("guard-table").hidden = false;
    const ul = $("alerts");
    ul.replaceChildren();
    for (const a of (r.json.alerts || []).slice().reverse()) {
      ul.append(el("li", t("alert_line", { time: a.time, p: a.principal, why: a.reason, n: a.persons_in_window, m: a.threshold })));
    }
    if (!ul.children.length) ul.append(el("li", t("no_alerts")));
  }

  /* ---- wiring ----------------------------------------------------- */
  function init() {
    applyLang();
    $("lang").addEventListener("change", () => {
      lang = $("lang").value;
      localStorage.setItem("coffre.lang", lang);
      applyLang();
      suspendedWhy();
    });
    for (const b of document.querySelectorAll("#nav button")) {
      b.addEventListener("click", () => show(b.dataset.view));
    }
    $("search-form").addEventListener("submit", search);
    $("list-form").addEventListener("submit", (e) => worklist(e, false));
    $("l-more").addEventListener("click", () => worklist(null, true));
    for (const b of document.querySelectorAll("#card-actions button")) {
      b.addEventListener("click", () => transition(b.dataset.state));
    }
    $("seal-refresh").addEventListener("click", sealStatus);
    $("unseal-form").addEventListener("submit", unseal);
    $("approval-form").addEventListener("submit", lookUp);
    $("approve-go").addEventListener("click", approve);
    $("audit-go").addEventListener("click", verifyLog);
    $("audit-forget").addEventListener("click", () => {
      localStorage.removeItem("coffre.audit.seen");
      localStorage.removeItem("coffre.audit.key");
      $("audit-key").value = "";
      say(t("forgotten"));
    });
    $("badge-go").addEventListener("click", badgePreview);
    $("sar-go").addEventListener("click", subjectAccess);
    $("erase-go").addEventListener("click", erase);
    $("approvals-refresh").addEventListener("click", approvalList);
    $("entries-form").addEventListener("submit", accesses);
    $("guard-go").addEventListener("click", guardView);
    $("h-card").tabIndex = -1;
    const v = location.hash.slice(1);
    whoami().then(() => {
      if (views.length) show(VIEWS.includes(v) ? v : views[0]);
      document.body.dataset.ready = "1";
    });
  }
  init();
})();
