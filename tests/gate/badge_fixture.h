/* A typical badge and its keys, shared by the gate tests and tools. */
#ifndef COFFRE_TESTS_GATE_BADGE_FIXTURE_H
#define COFFRE_TESTS_GATE_BADGE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/badge.h"
#include "coffre/gate.h"

#define FIX_NOW 1721980800 /* 2024-07-26 08:00 UTC */

/** fix_claims(c): typical claims, valid from FIX_NOW - 1 day for 30 days. */
void fix_claims(struct coffre_badge_claims *c);

/** fix_key(byte): the deterministic key whose seed is 32 times ${byte}. */
struct coffre_badge_key *fix_key(uint8_t byte);

/** fix_trust(badge_key, list_key, seq, pbuf, plen): a trust list holding
 * ${badge_key}, valid 2024-2025. */
int fix_trust(const struct coffre_badge_key *badge_key,
              const struct coffre_badge_key *list_key, uint64_t seq,
              unsigned char **pbuf, size_t *plen);

/** fix_gate(badge_key, list_key, revoked, n, iat, pg): a verifier loaded
 * with fix_trust() and a revocation list of ${n} ids issued at ${iat}. */
int fix_gate(const struct coffre_badge_key *badge_key,
             const struct coffre_badge_key *list_key, const uint8_t *revoked,
             size_t n, int64_t iat, struct coffre_gate **pg);

/** fix_unwrap(payload, out, cap, plen): the COSE bytes of a badge string. */
int fix_unwrap(const char *payload, uint8_t *out, size_t cap, size_t *plen);

/** fix_wrap(cose, len, out, cap): the badge string of COSE bytes. */
int fix_wrap(const uint8_t *cose, size_t len, char *out, size_t cap);

#endif
