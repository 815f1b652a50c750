/*
 * Test driver for the tamper tests: "mklog DIR N EXPORT" writes N entries
 * to a log signed with a fixed test seed (one checkpoint every 10 entries)
 * and exports it; "mklog fork EXPORT" appends to EXPORT/checkpoints a
 * validly signed checkpoint of the latest size with another root, also
 * written alone to EXPORT/forged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/entry.h"
#include "audit/log.h"
#include "audit/note.h"
#include "coffre/audit.h"

static const unsigned char seed[32] = {7, 7, 7};
#define ORIGIN "coffre.test/tamper"

static int
make(const char *dir, int n, const char *export)
{
    struct coffre_audit *a;
    struct coffre_audit_entry e;
    int rc = audit_log_open(dir, ORIGIN, seed, &a);

    for (int i = 0; i < n && rc == COFFRE_OK; i++) {
        memset(&e, 0, sizeof(e));
        e.time_ms = 1721980800000 + i * 60000;
        memset(e.principal, i % 3 ? 'b' : 'a', 64);
        strcpy(e.role, i % 3 ? "office" : "vetting");
        strcpy(e.action, "person.read");
        snprintf(e.pseudonym, sizeof(e.pseudonym), "pseudo%d", i % 5);
        e.classes = 3;
        coffre_audit_set_purpose(&e, i % 2 ? "badge renewal" : "vetting");
        e.status = 200;
        strcpy(e.outcome, "ok");
        rc = coffre_audit_record(a, &e, NULL);
        if (rc == COFFRE_OK && i % 10 == 9) {
            rc = coffre_audit_sync_checkpoint(a);
        }
    }
    if (rc == COFFRE_OK) {
        rc = coffre_audit_sync_checkpoint(a);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_audit_export(a, export);
    }
    coffre_audit_close(a);
    return rc;
}

static int
fork_note(const char *export)
{
    struct coffre_note_signer *s;
    struct coffre_checkpoint c = {.origin = ORIGIN, .size = 0};
    char path[4096], *note;
    unsigned char frame[4096], leaf[32];
    size_t len;
    FILE *f;
    int rc = coffre_note_signer_from_seed(ORIGIN, seed, &s);

    snprintf(path, sizeof(path), "%s/checkpoint", export);
    f = fopen(path, "r");
    len = f ? fread(frame, 1, sizeof(frame) - 1, f) : 0;
    if (f) {
        fclose(f);
    }
    frame[len] = '\0';
    c.size = strtoull(strchr((char *)frame, '\n') + 1, NULL, 10);
    memset(c.root, 0x42, 32);
    rc = rc ? rc : coffre_checkpoint_sign(&c, (const void *)&s, 1, &note, &len);
    if (rc == COFFRE_OK) {
        coffre_audit_leaf_hash((unsigned char *)note, len, leaf);
        audit_frame((unsigned char *)note, len, leaf, frame);
        snprintf(path, sizeof(path), "%s/checkpoints", export);
        f = fopen(path, "ab");
        rc = f && fwrite(frame, 1, len + AUDIT_FRAME_OVERHEAD, f) ==
                         len + AUDIT_FRAME_OVERHEAD
                 ? 0
                 : 1;
        if (f) {
            fclose(f);
        }
        snprintf(path, sizeof(path), "%s/forged", export);
        f = fopen(path, "w");
        if (f == NULL || fputs(note, f) < 0 || fclose(f) != 0) {
            rc = 1;
        }
        coffre_free(note);
    }
    coffre_note_signer_free(s);
    return rc;
}

int
main(int argc, char **argv)
{
    int rc;

    if (coffre_lib_init() != COFFRE_OK) {
        return 1;
    }
    if (argc == 3 && strcmp(argv[1], "fork") == 0) {
        rc = fork_note(argv[2]);
    } else if (argc == 4) {
        rc = make(argv[1], atoi(argv[2]), argv[3]);
    } else {
        fprintf(stderr, "usage: mklog DIR N EXPORT | mklog fork EXPORT\n");
        return 2;
    }
    if (rc != COFFRE_OK) {
        fprintf(stderr, "mklog: %s %s\n", coffre_strerror(rc),
                coffre_audit_open_errmsg());
    }
    return rc == COFFRE_OK ? 0 : 1;
}
