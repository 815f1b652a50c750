/*
 * The vault's durable audit log (docs/audit.md sections 9 and 10); public
 * functions in include/coffre/audit.h. coffre_audit_open() takes the seed
 * from the vault; tests and tools that hold a seed use audit_log_open().
 * The operator's repair (repair.c) reports through audit_msg().
 */
#ifndef COFFRE_AUDIT_LOG_H
#define COFFRE_AUDIT_LOG_H

#include "coffre/audit.h"

/*
 * The uncovered window (docs/audit.md section 10): entries durable but
 * under no stored checkpoint can be cut by anyone who can write the file
 * without a verifier noticing. The signer signs once a second, and as soon
 * as AUDIT_SIGN_EVERY durable entries are uncovered; the committer holds
 * its next group commit while AUDIT_UNCOVERED_MAX are, so the window never
 * exceeds AUDIT_UNCOVERED_MAX entries plus one group commit.
 */
#define AUDIT_SIGN_EVERY 1024
#define AUDIT_UNCOVERED_MAX 2048

/** audit_log_open(dir, origin, seed, pa): coffre_audit_open with the
 * 32-byte Ed25519 ${seed} given (copied; the caller wipes its own). */
int audit_log_open(const char *dir, const char *origin,
                   const unsigned char seed[32], struct coffre_audit **pa);

struct coffre_vault;

/** audit_log_set_attach(a, attach, v): the hook state coffre_audit_attach
 * made for ${v}: freed (and ${v} detached) by coffre_audit_close. */
void audit_log_set_attach(struct coffre_audit *a, void *attach,
                          struct coffre_vault *v);

/** audit_attach_free(attach, v): detach ${v}'s hook and free its state. */
void audit_attach_free(void *attach, struct coffre_vault *v);

/** audit_msg(rc, fmt, ...): set what coffre_audit_open_errmsg() returns
 * in this thread (the open's and the repair's report); returns ${rc}. */
int audit_msg(int rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
