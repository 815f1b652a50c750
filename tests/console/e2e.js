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
    check(seen.csp.length === 0, "no CSP violation (custodian): " + seen.csp.join("; "));
    await browser.close();
  }
  const st = await api("admin", "GET", "/v1/sys/seal-status");
  check(st.json && st.json.sealed === false, "the browser's shares unsealed the vault");
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
  await page.click('#card-actions button[data-state="vetting"]');
  await waitText(page, "#status", /State is now vetting/);
  const after = await api("office", "GET", `/v1/persons/${ref.ps}?fields=public&purpose=e2e`);
  check(after.json && after.json.person.public.state === "vetting", "the person went to vetting");
  await shot(page, "office.png");
  check(seen.csp.length === 0, "no CSP violation (office): " + seen.csp.join("; "));
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
async function auditor() {
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
    const id = pr.identity, doc = pr.document, ct = pr.contact;
    values.push(id.surname, doc.number, ct.email);
    if (!ref && doc.number) ref = { ps: it.pseudonym, doc: doc.number, surname: id.surname };
  }
  check(ref !== null, "a submitted person to work with");
  await platform(values.filter((v) => typeof v === "string" && v.length >= 4));
  await office(ref);
  await auditor();
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(fail === 0 ? 0 : 1);
}
main().catch((e) => { console.log("FAIL: " + (e.stack || e)); process.exit(1); });
