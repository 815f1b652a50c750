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
  function show(view) {
    for (const b of document.querySelectorAll("#nav button")) {
      const on = b.dataset.view === view;
      b.setAttribute("aria-current", on ? "page" : "false");
    }
    for (const v of ["office", "custodian", "auditor"]) $("view-" + v).hidden = v !== view;
    location.hash = view;
    if (view === "custodian") sealStatus();
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
    if (r.status !== 200) return fail(r);
    $("l-more").hidden = true;
    rows(r.json.items, false);
    say(r.json.items.length ? t("found", { n: r.json.items.length }) : t("none_found"));
  }

  async function worklist(ev, more) {
    if (ev) ev.preventDefault();
    if (!more) {
      listQuery = { state: $("l-state").value, category: $("l-category").value.trim(), limit: 20 };
    }
    say(t("loading"));
    const r = await api("GET", "/v1/persons?" + qs(listQuery));
    if (r.status !== 200) return fail(r);
    rows(r.json.items, more);
    listQuery.cursor = r.json.next_cursor || undefined;
    $("l-more").hidden = !r.json.next_cursor;
    say(t("found", { n: $("results").querySelectorAll("tbody tr").length }));
  }

  let current = null;
  /* Ask every class; a class the role may not read is named by the
   * server (403 forbidden_class) and dropped, so the card shows what the
   * server gave, and only that. */
  async function fetchPerson(ps, p) {
    let want = CLASSES.slice();
    const refused = [];
    for (;;) {
      const r = await api("GET", "/v1/persons/" + ps + "?" + qs({ fields: want.join(","), purpose: p }));
      const e = r.json && r.json.error;
      if (r.status === 403 && e && e.code === "forbidden_class") {
        const c = want.find((x) => e.message.includes(x));
        if (c) { want = want.filter((x) => x !== c); refused.push(c); if (want.length) continue; }
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
    if (r.status !== 200) return fail(r);
    current = ps;
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
    const when = (s) => (s ? new Date(s * 1000).toISOString() : "");
    for (const [k, v] of [["op", a.operation], ["scope", a.scope], ["requested_by", a.requested_by],
      ["expires", when(a.expires)], ["approvers", (a.approvers || []).join(", ") + " (" + (a.approvers || []).length + "/" + a.need + ")"],
      ["astate", a.state]]) {
      dl.append(el("dt", t(k)), el("dd", String(v === undefined ? "" : v)));
    }
    $("approve-go").hidden = a.state !== "pending";
  }
  async function lookUp(ev) {
    ev.preventDefault();
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

  /* ---- wiring ----------------------------------------------------- */
  function init() {
    applyLang();
    $("lang").addEventListener("change", () => {
      lang = $("lang").value;
      localStorage.setItem("coffre.lang", lang);
      applyLang();
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
    $("h-card").tabIndex = -1;
    const v = location.hash.slice(1);
    show(["office", "custodian", "auditor"].includes(v) ? v : "office");
  }
  init();
})();
