/*
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and C2SP
 * transparency log checkpoints (c2sp.org/tlog-checkpoint) carried in them.
 * docs/audit.md gives the formats as we emit and accept them.
 *
 * A note: text ending in a newline, a blank line, then one or more lines
 * "— <key name> base64(key id (4 bytes, big-endian) || signature)".
 * key id = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
 * Verifier key string: "<name>+<8 hex key id>+base64(0x01 || public key)".
 * Signer key string: "PRIVATE+KEY+<name>+<8 hex key id>+base64(0x01 ||
 * seed)"; it holds the secret, so it lives in coffre_pmem memory.
 *
 * Every string returned is coffre_pmem memory, freed with coffre_free().
 */
#ifndef COFFRE_AUDIT_NOTE_H
#define COFFRE_AUDIT_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "audit/merkle.h"

#define COFFRE_NOTE_MAX_SIZE (1u << 20) /* whole signed note, bytes */
#define COFFRE_NOTE_MAX_SIGS 100        /* signature lines in one note */
#define COFFRE_NOTE_MAX_NAME 255        /* key name, bytes */
#define COFFRE_NOTE_PK_LEN 32
#define COFFRE_NOTE_SIG_LEN 64

/** A public key that may verify notes: not secret. */
struct coffre_note_verifier {
    char name[COFFRE_NOTE_MAX_NAME + 1];
    uint32_t id;
    unsigned char pk[COFFRE_NOTE_PK_LEN];
};

/** A signing key: the Ed25519 secret lives in coffre_key_alloc memory. */
struct coffre_note_signer;

/**
 * coffre_note_name_valid(name, len): 1 if the ${len} bytes at ${name} are a
 * valid key name (non-empty, at most COFFRE_NOTE_MAX_NAME bytes, UTF-8,
 * no control character, no Unicode space, no '+'), else 0.
 */
int coffre_note_name_valid(const char *name, size_t len);

/**
 * coffre_note_base64_decode(s, slen, out, cap, plen): decode the ${slen}
 * bytes at ${s}, standard base64 with padding and zero trailing bits, into
 * ${out} (room for ${cap} bytes), the length in *${plen}. COFFRE_ERR_PARSE
 * for anything else, or if it does not fit.
 */
int coffre_note_base64_decode(const char *s, size_t slen, unsigned char *out,
                              size_t cap, size_t *plen);

/** coffre_note_key_id(name, pk): the Ed25519 key id of ${name} and ${pk}. */
uint32_t coffre_note_key_id(const char *name,
                            const unsigned char pk[COFFRE_NOTE_PK_LEN]);

/**
 * coffre_note_verifier_parse(vkey, v): parse the verifier key string
 * ${vkey} into ${v}. COFFRE_ERR_PARSE if malformed, not Ed25519, or if the
 * key id does not match the name and key.
 */
int coffre_note_verifier_parse(const char *vkey,
                               struct coffre_note_verifier *v);

/** coffre_note_verifier_format(v, pvkey): the verifier key string of ${v}
 * in *${pvkey}, NUL-terminated, freed with coffre_free(). */
int coffre_note_verifier_format(const struct coffre_note_verifier *v,
                                char **pvkey);

/** coffre_note_signer_generate(name, ps): a new random Ed25519 signer named
 * ${name}; COFFRE_ERR_ARG if the name is not valid. */
int coffre_note_signer_generate(const char *name,
                                struct coffre_note_signer **ps);

/** coffre_note_signer_from_seed(name, seed, ps): the signer of the 32-byte
 * Ed25519 ${seed} (RFC 8032 private key). */
int coffre_note_signer_from_seed(const char *name, const unsigned char *seed,
                                 struct coffre_note_signer **ps);

/** coffre_note_signer_parse(skey, ps): parse a signer key string; checks
 * that its key id matches. COFFRE_ERR_PARSE if malformed. */
int coffre_note_signer_parse(const char *skey, struct coffre_note_signer **ps);

/** coffre_note_signer_format(s, pskey): the signer key string of ${s} in
 * *${pskey}, NUL-terminated, freed (and wiped) with coffre_free(). */
int coffre_note_signer_format(const struct coffre_note_signer *s, char **pskey);

/** coffre_note_signer_verifier(s, v): the public verifier of ${s}. */
void coffre_note_signer_verifier(const struct coffre_note_signer *s,
                                 struct coffre_note_verifier *v);

/** coffre_note_signer_free(s): wipe and free ${s}; NULL is a no-op. */
void coffre_note_signer_free(struct coffre_note_signer *s);

/**
 * coffre_note_text_valid(text, len): COFFRE_OK if ${text} may be the text
 * of a note: non-empty, ends with a newline, valid UTF-8, no control
 * character other than newline, under the size cap; else COFFRE_ERR_PARSE
 * (COFFRE_ERR_TOOBIG past the cap).
 */
int coffre_note_text_valid(const char *text, size_t len);

/**
 * coffre_note_sign(text, len, signers, nsigners, pnote, plen): the signed
 * note of ${text} with one signature line per signer, in order. *${pnote}
 * is NUL-terminated (*${plen} bytes without the NUL), freed with
 * coffre_free().
 * COFFRE_ERR_PARSE if the text is not valid (coffre_note_text_valid),
 * COFFRE_ERR_ARG for no signer or more than COFFRE_NOTE_MAX_SIGS.
 */
int coffre_note_sign(const char *text, size_t len,
                     const struct coffre_note_signer *const *signers,
                     size_t nsigners, char **pnote, size_t *plen);

/** The result of opening a note. */
struct coffre_note {
    char *text;       /* the note text, NUL-terminated */
    size_t text_len;  /* bytes, final newline included */
    size_t nsigs;     /* signature lines */
    size_t nverified; /* of which verified by a known key */
    size_t verified[COFFRE_NOTE_MAX_SIGS]; /* indices into known[] */
};

/**
 * coffre_note_open(msg, len, known, nknown, pn): parse the signed note
 * ${msg} and verify it against the ${nknown} verifiers at ${known}.
 * Signatures whose (name, key id) matches no known key are ignored; every
 * one that matches must verify. On success *${pn} is a new note
 * (coffre_note_free). Errors: COFFRE_ERR_TOOBIG (over 1 MiB or 100
 * signatures), COFFRE_ERR_PARSE (malformed), COFFRE_ERR_CRYPTO (a known
 * key's signature fails, or no known key signed), COFFRE_ERR_ARG (two
 * known verifiers share a name and key id).
 */
int coffre_note_open(const char *msg, size_t len,
                     const struct coffre_note_verifier *known, size_t nknown,
                     struct coffre_note **pn);

/** coffre_note_free(n): free ${n}; NULL is a no-op. */
void coffre_note_free(struct coffre_note *n);

/* ------------------------------------------------------------------ */
/* Checkpoints                                                        */

#define COFFRE_CHECKPOINT_MAX_ORIGIN 1024 /* bytes */

struct coffre_checkpoint {
    char *origin;  /* non-empty, one line */
    uint64_t size; /* leaves */
    unsigned char root[COFFRE_MERKLE_HASH_LEN];
    char *ext; /* extension lines, each non-empty and ending in a newline;
                  NULL or "" for none */
};

/**
 * coffre_checkpoint_format(c, ptext, plen): the note text of ${c}:
 * "origin\nsize\nbase64(root)\n" then the extension lines. *${ptext} is
 * NUL-terminated, freed with coffre_free(). COFFRE_ERR_ARG if the origin or an
 * extension line is not valid.
 */
int coffre_checkpoint_format(const struct coffre_checkpoint *c, char **ptext,
                             size_t *plen);

/**
 * coffre_checkpoint_parse(text, len, c): parse a checkpoint note text,
 * strictly: non-empty origin, decimal size without leading zero, canonical
 * base64 of 32 bytes, non-empty extension lines. ${c} receives copies
 * (coffre_checkpoint_clear). COFFRE_ERR_PARSE or COFFRE_ERR_TOOBIG.
 */
int coffre_checkpoint_parse(const char *text, size_t len,
                            struct coffre_checkpoint *c);

/** coffre_checkpoint_clear(c): free what coffre_checkpoint_parse set. */
void coffre_checkpoint_clear(struct coffre_checkpoint *c);

/** coffre_checkpoint_sign(c, signers, n, pnote, plen): format and sign. */
int coffre_checkpoint_sign(const struct coffre_checkpoint *c,
                           const struct coffre_note_signer *const *signers,
                           size_t n, char **pnote, size_t *plen);

/**
 * coffre_checkpoint_open(msg, len, origin, known, nknown, c): open the
 * signed note ${msg} (coffre_note_open) and parse its text into ${c}.
 * When ${origin} is not NULL the checkpoint's origin must equal it
 * (COFFRE_ERR_CRYPTO otherwise: a valid signature on another log's head).
 */
int coffre_checkpoint_open(const char *msg, size_t len, const char *origin,
                           const struct coffre_note_verifier *known,
                           size_t nknown, struct coffre_checkpoint *c);

#endif
