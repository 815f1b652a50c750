/* Verify the audit log's checkpoint in the page (docs/audit.md sections
 * 3 to 5): C2SP signed note, Ed25519 through WebCrypto, and the RFC 9162
 * consistency proof between the checkpoint seen before and this one.
 * Every failure throws an Error whose message says why. */
"use strict";
window.CoffreNote = (function () {
  const enc = new TextEncoder();

  function b64dec(s) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
      throw new Error("bad base64");
    }
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function b64enc(u8) {
    let s = "";
    for (const b of u8) s += String.fromCharCode(b);
    return btoa(s);
  }
  function concat(...parts) {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }
  async function sha256(u8) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", u8));
  }
  const hex = (u8) => Array.from(u8, (b) => b.toString(16).padStart(2, "0")).join("");

  /* "<name>+<8 hex>+<base64(0x01 || key)>": the id is checked. */
  async function parseKey(text) {
    /* Split at the first two '+' only: the base64 may hold more. */
    const s = text.trim(), i = s.indexOf("+"), j = s.indexOf("+", i + 1);
    const parts = i < 0 || j < 0 ? [] : [s.slice(0, i), s.slice(i + 1, j), s.slice(j + 1)];
    if (parts.length !== 3 || parts[0] === "" || !/^[0-9a-f]{8}$/.test(parts[1])) {
      throw new Error("malformed verifier key");
    }
    const raw = b64dec(parts[2]);
    if (raw.length !== 33 || raw[0] !== 1) throw new Error("not an Ed25519 key");
    const name = parts[0];
    const id = (await sha256(concat(enc.encode(name + "\n"), raw))).slice(0, 4);
    if (hex(id) !== parts[1]) throw new Error("key id does not match the key");
    const key = await crypto.subtle.importKey("raw", raw.slice(1),
      { name: "Ed25519" }, false, ["verify"]);
    return { name, id, key };
  }

  /* The note's text and the signatures of ${k}; throws unless one of them
   * verifies and none of them fails. */
  async function open(note, k) {
    if (/[\x00-\x09\x0b-\x1f\x7f]/.test(note)) throw new Error("control character");
    const cut = note.lastIndexOf("\n\n");
    if (cut < 0) throw new Error("no signature block");
    const text = note.slice(0, cut + 1);
    const sigs = note.slice(cut + 2).split("\n");
    if (sigs[sigs.length - 1] !== "") throw new Error("no final newline");
    sigs.pop();
    let good = 0;
    for (const line of sigs) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error("bad signature line");
      const blob = b64dec(m[2]);
      if (blob.length < 5) throw new Error("short signature");
      if (m[1] !== k.name || !equal(blob.slice(0, 4), k.id)) continue;
      if (blob.length !== 68) throw new Error("bad signature length");
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, k.key,
        blob.slice(4), enc.encode(text));
      if (!ok) throw new Error("the signature does not verify");
      good++;
    }
    if (good === 0) throw new Error("not signed by the log's key");
    return text;
  }

  /* tlog-checkpoint text: origin, size, root (docs/audit.md section 5). */
  function parseCheckpoint(text, origin) {
    const lines = text.split("\n");
    lines.pop();
    if (lines.length < 3 || lines[0] === "") throw new Error("malformed checkpoint");
    if (origin && lines[0] !== origin) throw new Error("checkpoint of another log");
    if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Error("bad tree size");
    const root = b64dec(lines[2]);
    if (root.length !== 32) throw new Error("bad root hash");
    return { origin: lines[0], size: BigInt(lines[1]), root };
  }

  async function node(l, r) {
    return sha256(concat(new Uint8Array([1]), l, r));
  }

  /* RFC 9162 section 2.1.4.2, as docs/audit.md section 3 writes it. */
  async function consistent(m, n, oldRoot, newRoot, proof) {
    if (m === 0n || m > n) return false;
    if (m === n) return proof.length === 0 && equal(oldRoot, newRoot);
    if (proof.length === 0) return false;
    if ((m & (m - 1n)) === 0n) proof = [oldRoot, ...proof];
    let fn = m - 1n, sn = n - 1n;
    while (fn & 1n) { fn >>= 1n; sn >>= 1n; }
    let fr = proof[0], sr = proof[0];
    for (const c of proof.slice(1)) {
      if (sn === 0n) return false;
      if ((fn & 1n) || fn === sn) {
        fr = await node(c, fr);
        sr = await node(c, sr);
        if (!(fn & 1n)) {
          while (!(fn & 1n) && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
        }
      } else {
        sr = await node(sr, c);
      }
      fn >>= 1n; sn >>= 1n;
    }
    return sn === 0n && equal(fr, oldRoot) && equal(sr, newRoot);
  }

  return { parseKey, open, parseCheckpoint, consistent, b64dec, b64enc };
})();
