// An independent implementation of docs/badge.md: npm `cbor` and `base45`,
// Node's zlib (raw deflate) and Node's Ed25519. Shares no code with coffre.
//   node badge.js verify BADGE BADGE_PUBKEY_HEX NOW   -> prints ACCEPT ...
//   node badge.js issue NOW                           -> prints PKHEX BADGE
'use strict';
const crypto = require('crypto');
const zlib = require('zlib');
const cbor = require('cbor');
const base45 = require('base45');

const PREFIX = 'CB1:';
const CATEGORIES = [null, 'athlete', 'team_official', 'technical_official',
  'media', 'broadcaster', 'staff', 'volunteer', 'contractor', 'security',
  'police', 'authority', 'guest', 'medical', 'driver', 'family'];

function kidOf(pk) {
  return crypto.createHash('sha256').update(pk).digest().subarray(0, 4);
}

function sigStructure(prot, payload) {
  return cbor.encode(['Signature1', prot, Buffer.alloc(0), payload]);
}

function publicKey(raw) {
  return crypto.createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}

function fail(msg) {
  console.log('REFUSE: ' + msg);
  process.exit(1);
}

function verify(text, pkHex, now) {
  if (!text.startsWith(PREFIX)) fail('malformed');
  const pk = Buffer.from(pkHex, 'hex');
  const deflated = Buffer.from(base45.decode(text.slice(PREFIX.length)));
  let cose = cbor.decodeFirstSync(zlib.inflateRawSync(deflated));
  if (cose instanceof cbor.Tagged) cose = cose.value;
  const [prot, unprot, payload, sig] = cose;
  const hdr = cbor.decodeFirstSync(prot);
  if (hdr.get(1) !== -8) fail('malformed');
  if (!kidOf(pk).equals(hdr.get(4))) fail('unknown key');
  const nUnprot = unprot instanceof Map ? unprot.size : Object.keys(unprot).length;
  if (nUnprot !== 0) fail('malformed');
  if (!crypto.verify(null, sigStructure(prot, payload), publicKey(pk), sig)) {
    fail('bad signature');
  }
  const c = cbor.decodeFirstSync(payload);
  if (now < c.get(5)) fail('not yet valid');
  if (now >= c.get(4)) fail('expired');
  const cat = c.get(-2);
  const id = crypto.createHash('sha256').update(sig).digest().subarray(0, 8);
  console.log('ACCEPT');
  console.log('name: ' + c.get(-1));
  console.log('category: ' + (typeof cat === 'number' && CATEGORIES[cat]
    ? CATEGORIES[cat] : String(cat)));
  console.log('zones: ' + c.get(-4).map(String).join(' '));
  console.log('subject: ' + c.get(2).toString('hex'));
  console.log('id: ' + id.toString('hex'));
}

function issue(now) {
  const { publicKey: pub, privateKey } = crypto.generateKeyPairSync('ed25519');
  const pk = Buffer.from(pub.export({ format: 'jwk' }).x, 'base64url');
  const prot = cbor.encode(new Map([[1, -8], [4, kidOf(pk)]]));
  const claims = new Map([
    [1, 'JS'],
    [2, crypto.randomBytes(6)],
    [4, now + 86400],
    [5, now - 60],
    [6, now - 120],
    [-1, 'MARTIN C'],
    [-2, 4],
    [-3, ['STF', 12]],
    [-4, [1, 'M']],
  ]);
  const payload = cbor.encode(claims);
  const sig = crypto.sign(null, sigStructure(prot, payload), privateKey);
  const cose = cbor.encode([prot, new Map(), payload, sig]);
  const z = zlib.deflateRawSync(cose, { level: 9 });
  console.log(pk.toString('hex') + ' ' + PREFIX + base45.encode(z));
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'verify' && args.length === 3) {
  verify(args[0], args[1], Number(args[2]));
} else if (mode === 'issue' && args.length === 1) {
  issue(Number(args[0]));
  // Exit at once: with stdout a regular file, Node 20 was seen to hang
  // here after the key generation (event loop never drained).
  process.exit(0);
} else {
  console.error('usage: badge.js verify BADGE PKHEX NOW | issue NOW');
  process.exit(2);
}
