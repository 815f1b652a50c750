/*
 * The console end to end (docs/console.md): Debian's chromium, driven by
 * puppeteer-core, against the real `coffre server --dev --dev-shares`.
 * Each principal is a browser of its own whose HOME holds an NSS database
 * with that principal's client certificate; e2e.sh has made Chromium
 * auto-select it (policy AutoSelectCertificateForUrls), so the browser
 * itself presents the certificate in the TLS handshake.
 *
 * usage: node e2e.js PORT DEVDIR HOMES [SHOTDIR]
 * Exit 0 all passed, 1 a failure, 77 chromium does not start at all.
 */
"use strict";
const fs = require("fs");
const https = require("https");
const path = require("path");
const puppeteer = require("puppeteer-core");

const [port, dev, homes, shots] = process.argv.slice(2);
const base = `https://127.0.0.1:${port}`;
let pass = 0, fail = 0;
function check(cond, what) {
  if (cond) pass++;
  else { fail++; console.log("FAIL: " + what); }
}

/* The API as principal ${who}, outside the browser: the test's own
 * reference data, and its own look at what the browser changed. */
function api(who, method, p, body) {
  return new Promise((ok, ko) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const r = https.request(base + p, {
      method, ca: fs.readFileSync(path.join(dev, "ca.pem")),
      cert: fs.readFileSync(path.join(dev, who + ".pem")),
      key: fs.readFileSync(path.join(dev, who + ".key")),
      headers: data ? { "Content-Type": "application/json" } : {},
    }, (res) => {
      let s = "";
      res.on("data", (c) => (s += c));
      res.on("end", () => {
        let j = null;
        try { j = JSON.parse(s); } catch (e) { /* text */ }
        ok({ status: res.statusCode, json: j, text: s });
      });
    });
    r.on("error", ko);
    if (data) r.write(data);
    r.end();
  });
}

/* A browser presenting ${who}'s certificate, with what the page saw. */
async function browse(who) {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run",
      "--disable-dev-shm-usage", "--window-size=1100,1400"],
    env: { ...process.env, HOME: path.join(homes, who) },
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 1400 });
  const seen = { csp: [], bodies: [], requests: [] };
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) seen.csp.push(m.text());
  });
  page.on("request", (r) => seen.requests.push(r.url()));
  page.on("response", async (r) => {
    try { seen.bodies.push(await r.text()); } catch (e) { /* redirects */ }
  });
  return { browser, page, seen };
}
const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
const shot = async (page, name) => {
  if (shots) await page.screenshot({ path: path.join(shots, name), fullPage: true });
};
async function waitText(page, sel, re) {
  try {
    await page.waitForFunction((s, src) => {
      const e = document.querySelector(s);
      return e && new RegExp(src).test(e.textContent);
    }, { timeout: 10000 }, sel, re.source);
  } catch (e) {
    const now = await page.$eval(sel, (x) => x.textContent).catch(() => "(none)");
    throw new Error(`${sel} never matched ${re}: it says "${now}"`);
  }
}

/* ---- custodians unseal, one share each ------------------------------ */
async function custodians() {
  const names = ["custodian", "custodian2", "custodian3"];
  for (let k = 0; k < 3; k++) {
    const { browser, page, seen } = await browse(names[k]);
    const r = await page.goto(base + "/console/#custodian");
    check(r.status() === 200, "custodian loads the console");
    await waitText(page, "#seal-state", new RegExp(`Sealed: ${k} of 3`));
    if (k === 0) await shot(page, "custodian.png");
    const input = await page.$("#share-file");
    await input.uploadFile(path.join(dev, "shares", `share-${k + 1}.txt`));
    await page.click("#unseal-go");
    await waitText(page, "#seal-state", k < 2 ? new RegExp(`Sealed: ${k + 1} of 3`) : /^Unsealed\.$/);
    if (k === 2) {
      const st = await api("admin", "GET", "/v1/sys/seal-status");
      check(st.json && st.json.sealed === false, "the browser's shares unsealed the vault");
      await approvals(page, names[k]); /* the same browser: one launch less */
    }
    check(seen.csp.length === 0, "no CSP violation (custodian): " + seen.csp.join("; "));
    await browser.close();
  }
}

/* ---- a custodian lists the pending approvals and approves one -------- */
async function approvals(page, who) {
  const req = await api("office", "POST", "/v1/approvals", { operation: "bulk_read", scope: "office:10" });
  check(req.status === 201, "an approval to approve: " + req.status + " " + req.text);
  await page.click("#approvals-refresh"); /* listed at load, but sealed then */
  await page.waitForSelector("#approvals-list:not([hidden])");
  const ids = await page.$$eval("#approvals-list button[data-approval]", (bs) => bs.map((b) => b.dataset.approval));
  check(ids.includes(req.json.id), "the pending approval is listed, no id typed");
  await page.click(`#approvals-list button[data-approval="${req.json.id}"]`);
  await waitText(page, "#approval", /bulk_read/);
  check((await text(page, "#approval")).includes("office:10"), "its scope is shown");
  await page.click("#approve-go");
  await waitText(page, "#status", /Approved/);
  const a = await api("custodian", "GET", "/v1/approvals/" + req.json.id);
  check(a.json && a.json.approvers.includes(who), "the browser's approval counted");
  check(await page.$eval("#tab-office", (b) => b.hidden), "a custodian is shown no office view");
  await shot(page, "custodian-approvals.png");
}

/* ---- a clerk: purpose first, search, card, lifecycle ----------------- */
async function office(ref) {
  const { browser, page, seen } = await browse("office");
  await page.goto(base + "/console/#office");
  await page.type("#s-doc", ref.doc);
  const before = seen.requests.length;
  await page.click("#s-go");
  await waitText(page, "#status", /purpose/);
  check(!seen.requests.slice(before).some((u) => u.includes("/v1/persons")),
    "no personal request before a purpose is stated");
  await page.type("#purpose", "accreditation check, e2e");
  await page.click("#s-go");
  await waitText(page, "#status", /1 found/);
  await page.click("#results tbody button");
  await waitText(page, "#card-classes", /identity/);
  const body = await text(page, "#card-body");
  check(body.includes(ref.surname), "the card shows the person found");
  const classes = await page.$$eval("#card-body [data-class]", (es) => es.map((e) => e.dataset.class));
  check(["public", "identity", "contact", "document", "photo"].every((c) => classes.includes(c)),
    "the office sees every class: " + classes);
  check(await page.$eval("#tab-auditor", (b) => b.hidden), "a clerk is shown no auditor view");
  const left = await page.$eval("#budget", (e) => Number(e.dataset.remaining));
  check(left > 0 && /left of/.test(await text(page, "#budget")), "the clerk sees the budget left: " + await text(page, "#budget"));
  await page.click('#card-actions button[data-state="vetting"]');
  await waitText(page, "#status", /State is now vetting/);
  const after = await api("office", "GET", `/v1/persons/${ref.ps}?fields=public&purpose=e2e`);
  check(after.json && after.json.person.public.state === "vetting", "the person went to vetting");
  /* The deadline filter: the server's, from its deadline index. */
  await page.select("#l-due", "5356800");
  await page.$eval("#status", (e) => (e.textContent = ""));
  await page.click("#l-go");
  await waitText(page, "#status", /found/);
  const due = await page.$$eval("#results tbody button", (bs) => bs.map((b) => b.dataset.pseudonym));
  check(due.includes(ref.ps), "due within 62 days lists the person just sent to vetting");
  await shot(page, "office.png");
  await page.select("#l-due", "604800");
  await page.$eval("#status", (e) => (e.textContent = ""));
  await page.click("#l-go");
  await waitText(page, "#status", /found|Nobody/);
  const soon = await page.$$eval("#results tbody button", (bs) => bs.map((b) => b.dataset.pseudonym));
  check(!soon.includes(ref.ps), "but not within 7 days");
  await page.select("#l-due", "");
  /* The State's vetting service gives its verdict, as its own principal. */
  const pend = await api("vetting", "GET", "/v1/vetting/pending?limit=1000");
  const mine = (pend.json.items || []).find((it) => it.identity.surname === ref.surname &&
    it.identity.birth_date === ref.birth);
  check(mine !== undefined, "the vetting service sees the application pending");
  const v = await api("vetting", "POST", `/v1/vetting/${mine.pseudonym}/verdict`, { verdict: "favourable" });
  check(v.status === 200, "favourable verdict: " + v.text);
  await page.click('#card-actions button[data-state="approved"]');
  await waitText(page, "#status", /State is now approved/);
  /* The badge: its QR code and the payload a gate reads. */
  await page.click("#badge-go");
  await waitText(page, "#status", /Badge issued/);
  const payload = await page.$eval("#badge-payload", (e) => e.value);
  const qr = await page.$eval("#badge-qr", (e) => e.naturalWidth);
  check(payload.length > 20 && qr > 0, "the badge preview shows a QR code and its payload");
  if (process.env.BADGE_OUT) fs.writeFileSync(process.env.BADGE_OUT, payload + "\n");
  await shot(page, "office-badge.png");
  check(seen.csp.length === 0, "no CSP violation (office): " + seen.csp.join("; "));
  await browser.close();
}

/* ---- a clerk reads too much: stopped, and shown why ------------------ */
async function suspended(prot) {
  const { browser, page, seen } = await browse("office-restricted");
  await page.goto(base + "/console/#office");
  await waitText(page, "#budget", /listed 3 left of 3/);
  await page.type("#purpose", "bulk e2e");
  /* First a protected person, which this principal may not identify. */
  await page.type("#s-doc", prot.doc);
  await page.click("#s-go");
  await waitText(page, "#status", /1 found/);
  await page.click("#results tbody button");
  await waitText(page, "#card-classes", /Not shown/);
  const classes = await page.$$eval("#card-body [data-class]", (es) => es.map((e) => e.dataset.class));
  check(!classes.includes("identity") && !classes.includes("document") && classes.includes("public"),
    "a protected person's card holds no identifying class: " + classes);
  check(/identity/.test(await text(page, "#card-classes")), "and says which classes were not shown");
  const all = (await page.content()) + seen.bodies.join("\n");
  check(![prot.surname, prot.email].some((v) => all.includes(v)), "no personal value of the protected person reached the page");
  await shot(page, "office-protected.png");
  await page.select("#l-state", "submitted");
  await page.click("#l-go");
  await waitText(page, "#status", /suspended/);
  await page.reload();
  await page.waitForSelector("#view-suspended:not([hidden])");
  const why = await text(page, "#susp-why");
  check(/office-restricted is suspended since \S+Z: .*\((enumeration|bulk read)\)|poison record/.test(why),
    "the suspended clerk is told why: " + why);
  check(await page.$eval("#view-office", (e) => e.hidden), "and is shown no office view");
  await shot(page, "suspended.png");
  check(seen.csp.length === 0, "no CSP violation (suspended): " + seen.csp.join("; "));
  await browser.close();
}

/* ---- the platform: its pages carry no personal value ----------------- */
async function platform(values) {
  const { browser, page, seen } = await browse("platform");
  await page.goto(base + "/console/#office");
  await page.type("#purpose", "platform looks");
  await page.select("#l-state", "submitted");
  await page.click("#l-go");
  await waitText(page, "#status", /found/);
  await page.click("#results tbody button");
  await waitText(page, "#card-classes", /public/);
  const classes = await page.$$eval("#card-body [data-class]", (es) => es.map((e) => e.dataset.class));
  check(classes.join() === "public", "the platform's card holds the public class only: " + classes);
  const all = (await page.content()) + seen.bodies.join("\n");
  const leaked = values.filter((v) => all.includes(v));
  check(leaked.length === 0, "no personal value reached the platform's browser");
  await shot(page, "platform.png");
  await browser.close();
}

/* ---- the auditor: checkpoint verified, consistency, tampering -------- */
async function auditor(ps) {
  const { browser, page, seen } = await browse("auditor");
  await page.goto(base + "/console/#auditor");
  await page.click("#audit-go");
  await page.waitForSelector("#audit-verdict[data-result]");
  check(await page.$eval("#audit-verdict", (e) => e.dataset.result) === "ok",
    "the checkpoint verifies: " + await text(page, "#audit-verdict"));
  const size1 = await page.$eval("#audit-result dd:nth-of-type(2)", (e) => e.textContent);
  await api("office", "GET", "/v1/persons?state=vetting&limit=3");
  await new Promise((r) => setTimeout(r, 1500)); /* one checkpoint a second */
  await page.$eval("#audit-verdict", (e) => delete e.dataset.result);
  await page.click("#audit-go");
  await page.waitForSelector("#audit-verdict[data-result]");
  const v2 = await text(page, "#audit-verdict");
  check(/consistent/.test(v2), "the next checkpoint is consistent with the last seen: " + v2);
  const size2 = await page.$eval("#audit-result dd:nth-of-type(2)", (e) => e.textContent);
  check(BigInt(size2) > BigInt(size1), `the log grew (${size1} -> ${size2})`);
  await shot(page, "auditor.png");
  /* A checkpoint altered on its way: one digit of the size changed. */
  await page.setRequestInterception(true);
  page.on("request", async (r) => {
    if (!r.url().endsWith("/v1/audit/checkpoint")) return r.continue();
    const real = await api("auditor", "GET", "/v1/audit/checkpoint");
    const lines = real.text.split("\n");
    lines[1] = String(BigInt(lines[1]) + 1n);
    r.respond({ status: 200, contentType: "text/plain", body: lines.join("\n") });
  });
  await page.$eval("#audit-verdict", (e) => delete e.dataset.result);
  await page.click("#audit-go");
  await page.waitForSelector("#audit-verdict[data-result]");
  check(await page.$eval("#audit-verdict", (e) => e.dataset.result) === "refused",
    "a tampered checkpoint is refused: " + await text(page, "#audit-verdict"));
  /* Without a checkpoint seen before, only the signature stands. */
  await page.click("#audit-forget");
  await page.$eval("#audit-verdict", (e) => delete e.dataset.result);
  await page.click("#audit-go");
  await page.waitForSelector("#audit-verdict[data-result]");
  const v3 = await text(page, "#audit-verdict");
  check(/signature does not verify/.test(v3), "the signature alone refuses it: " + v3);
  await shot(page, "auditor-tampered.png");
  /* Accesses: charts drawn in the page, one pseudonym's accesses. */
  await page.type("#e-pseudonym", ps);
  await page.click("#entries-go");
  await page.waitForSelector("#entries-summary[data-matching]");
  const n = Number(await page.$eval("#entries-summary", (e) => e.dataset.matching));
  const cells = await page.$$eval("#entries-table tbody tr td:nth-child(4)", (es) => es.map((e) => e.textContent));
  check(n >= 3 && cells.length === n && cells.every((c) => c === ps), `the accesses to one pseudonym (${n})`);
  check((await page.$$("#charts svg")).length === 4, "four charts drawn");
  const roles = await page.$$eval("#charts svg text", (es) => es.map((e) => e.textContent));
  check(roles.includes("office") && roles.includes("person.read"), "charted by role and route");
  await page.click("#guard-go");
  await waitText(page, "#guard-table", /office-restricted/);
  check(/office-restricted suspended \(/.test(await text(page, "#alerts")), "the alert is listed");
  await page.$eval("#e-pseudonym", (e) => (e.value = ""));
  await page.$eval("#entries-summary", (e) => delete e.dataset.matching);
  await page.click("#entries-go");
  await page.waitForSelector("#entries-summary[data-matching]");
  check(Number(await page.$eval("#entries-summary", (e) => e.dataset.matching)) > n, "unfiltered, more entries");
  await shot(page, "auditor-accesses.png");
  /* French: the words change, the page still works. */
  await page.select("#lang", "fr");
  check(await text(page, "#h-auditor") === "Auditeur", "French headings");
  check(seen.csp.length === 0, "no CSP violation (auditor): " + seen.csp.join("; "));
  await browser.close();
}

async function main() {
  try {
    const b = await browse("office");
    await b.browser.close();
  } catch (e) {
    console.log("chromium does not start: " + e.message);
    process.exit(77);
  }
  await custodians();
  /* The reference: a submitted person as the office sees it, and every
   * personal value of the submitted persons, which the platform must
   * never receive. */
  const list = await api("office", "GET", "/v1/persons?state=submitted&limit=50");
  const values = [];
  let ref = null;
  for (const it of list.json.items) {
    const p = await api("office", "GET", `/v1/persons/${it.pseudonym}?fields=identity,contact,document&purpose=e2e+reference`);
    if (p.status !== 200) {
      check(false, `reference read: ${p.status} ${p.text}`);
      continue;
    }
    const pr = p.json.person;
    /* A class a record does not hold is absent from the answer. */
    const id = pr.identity || {}, doc = pr.document || {}, ct = pr.contact || {};
    values.push(id.surname, doc.number, ct.email);
    if (!ref && doc.number && !pr.protected) {
      ref = { ps: it.pseudonym, doc: doc.number, surname: id.surname, birth: id.birth_date };
    }
  }
  check(ref !== null, "a submitted person to work with");
  /* A protected person, submitted by the platform for the test: a copy
   * of the reference with its own document number and email. */
  const full = await api("office", "GET", `/v1/persons/${ref.ps}?fields=public,identity,contact,document&purpose=e2e+reference`);
  const app = full.json.person;
  delete app.source_key;
  app.protected = true;
  app.public.category = "security_force";
  app.public.state = "submitted";
  app.document.number = "PR" + ref.doc;
  app.contact.email = "protected." + app.contact.email;
  app.identity.surname = "Protegee";
  const made = await api("platform", "POST", "/v1/persons", app);
  check(made.status === 201, "a protected person submitted: " + made.text);
  const prot = { doc: app.document.number, surname: "Protegee", email: app.contact.email };
  await platform(values.filter((v) => typeof v === "string" && v.length >= 4));
  await office(ref);
  await suspended(prot);
  await auditor(ref.ps);
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(fail === 0 ? 0 : 1);
}
main().catch((e) => { console.log("FAIL: " + (e.stack || e)); process.exit(1); });
