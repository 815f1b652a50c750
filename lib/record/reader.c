/*
 * Streaming readers of JSON Lines and CSV files (docs/formats.md). Memory
 * is one read block and one record buffer, whatever the file size. The
 * reader frames records itself (libcsv cannot say where in its input a
 * row ended): that gives line numbers, byte offsets for resuming an import,
 * and the per-record cap; libcsv then parses the fields of each record.
 */
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "record/csv_row.h"
#include "record/field.h"
#include "record/record.h"
#include "util/buf.h"
#include "util/secmem.h"

#define BLOCK 65536

struct coffre_reader {
    FILE *f;
    enum coffre_format fmt;
    unsigned char *blk;
    size_t pos, end;
    int eof, ioerr, done;
    uint64_t consumed; /* bytes taken from f */
    uint64_t offset;   /* end of the last record reported */
    uint64_t line;     /* '\n' seen so far */
    struct coffre_buf rec;
    struct coffre_csv *csv;
    int header_done;
    int header_only; /* next_csv stops after the header (seek) */
};

static int
fill(struct coffre_reader *r)
{
    size_t n;

    if (r->eof) {
        return 0;
    }
    n = fread(r->blk, 1, BLOCK, r->f);
    if (n == 0) {
        r->eof = 1;
        r->ioerr = ferror(r->f);
        return 0;
    }
    r->pos = 0;
    r->end = n;
    return 1;
}

/* The next byte, or -1 at the end of the input. */
static int
peek(struct coffre_reader *r)
{
    if (r->pos == r->end && !fill(r)) {
        return -1;
    }
    return r->blk[r->pos];
}

static void
take(struct coffre_reader *r)
{
    if (r->blk[r->pos++] == '\n') {
        r->line++;
    }
    r->consumed++;
}

static int
skip_bom(struct coffre_reader *r)
{
    static const unsigned char bom[3] = {0xef, 0xbb, 0xbf};

    while (r->end < 3 && !r->eof) {
        size_t n = fread(r->blk + r->end, 1, BLOCK - r->end, r->f);
        if (n == 0) {
            r->eof = 1;
            r->ioerr = ferror(r->f);
        }
        r->end += n;
    }
    if (r->end >= 3 && memcmp(r->blk, bom, 3) == 0) {
        r->pos = 3;
        r->consumed = 3;
        r->offset = 3;
    }
    return r->ioerr ? COFFRE_ERR_IO : COFFRE_OK;
}

int
coffre_reader_open(FILE *f, enum coffre_format fmt, struct coffre_reader **pr)
{
    struct coffre_reader *r;
    int rc;

    if (f == NULL || pr == NULL ||
        (fmt != COFFRE_FORMAT_JSONL && fmt != COFFRE_FORMAT_CSV)) {
        return COFFRE_ERR_ARG;
    }
    *pr = NULL;
    if ((r = coffre_pmem_calloc(1, sizeof(*r))) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    r->f = f;
    r->fmt = fmt;
    coffre_buf_init(&r->rec, fmt == COFFRE_FORMAT_CSV ? COFFRE_CSV_MAX_ROW
                                                      : COFFRE_MAX_JSON + 1);
    if ((r->blk = coffre_pmem_alloc(BLOCK)) == NULL ||
        (fmt == COFFRE_FORMAT_CSV && coffre_csv_new(&r->csv) != COFFRE_OK)) {
        coffre_reader_free(r);
        return COFFRE_ERR_NOMEM;
    }
    if ((rc = skip_bom(r)) != COFFRE_OK) {
        coffre_reader_free(r);
        return rc;
    }
    *pr = r;
    return COFFRE_OK;
}

void
coffre_reader_free(struct coffre_reader *r)
{
    if (r == NULL) {
        return;
    }
    coffre_pmem_free(r->blk);
    coffre_buf_free(&r->rec);
    coffre_csv_free(r->csv);
    coffre_pmem_free(r);
}

uint64_t
coffre_reader_offset(const struct coffre_reader *r)
{
    return r != NULL ? r->offset : 0;
}

uint64_t
coffre_reader_lines(const struct coffre_reader *r)
{
    return r != NULL ? r->line : 0;
}

static int next_csv(struct coffre_reader *r, struct coffre_person **pp,
                    struct coffre_diag *d);

/* A CSV row cannot be read without its columns: read the header row, and
 * only it, unless it was read already. */
static int
csv_header_only(struct coffre_reader *r)
{
    struct coffre_person *p = NULL;
    struct coffre_diag d;
    int rc;

    if (r->fmt != COFFRE_FORMAT_CSV || r->header_done) {
        return COFFRE_OK;
    }
    memset(&d, 0, sizeof(d));
    r->header_only = 1;
    rc = next_csv(r, &p, &d);
    r->header_only = 0;
    coffre_person_free(p); /* NULL: nothing past the header was read */
    if (rc != COFFRE_OK || !r->header_done || r->done) {
        return rc != COFFRE_OK ? rc : COFFRE_ERR_PARSE;
    }
    return COFFRE_OK;
}

int
coffre_reader_seek(struct coffre_reader *r, uint64_t offset, uint64_t lines)
{
    int rc;

    if (r == NULL || offset > (uint64_t)INT64_MAX) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = csv_header_only(r)) != COFFRE_OK) {
        return rc;
    }
    if (offset < r->offset || lines < r->line) {
        return COFFRE_ERR_ARG; /* inside what was read already */
    }
    if (fseeko(r->f, (off_t)offset, SEEK_SET) != 0) {
        r->ioerr = 1;
        return COFFRE_ERR_IO;
    }
    r->pos = r->end = 0;
    r->eof = 0;
    r->consumed = r->offset = offset;
    r->line = lines;
    return COFFRE_OK;
}

/*
 * One physical line into r->rec, without its '\n' (nor a '\r' before it).
 * Returns 0 at the end of input, else 1; *ptoobig when it passed the cap
 * (the rest of the line is skipped, so the next line starts clean).
 */
static int
read_line(struct coffre_reader *r, int *ptoobig)
{
    int any = 0;

    coffre_buf_reset(&r->rec);
    *ptoobig = 0;
    while (peek(r) >= 0) {
        unsigned char *s = r->blk + r->pos;
        unsigned char *nl = memchr(s, '\n', r->end - r->pos);
        size_t n = nl != NULL ? (size_t)(nl - s) : r->end - r->pos;
        any = 1;
        if (!*ptoobig && coffre_buf_add(&r->rec, s, n) != COFFRE_OK) {
            *ptoobig = 1;
        }
        r->pos += n;
        r->consumed += n;
        if (nl != NULL) {
            take(r);
            break;
        }
    }
    if (r->rec.len > 0 && r->rec.p[r->rec.len - 1] == '\r') {
        r->rec.len--;
    }
    return any;
}

static int
blank(const struct coffre_buf *b)
{
    for (size_t i = 0; i < b->len; i++) {
        if (b->p[i] != ' ' && b->p[i] != '\t' && b->p[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

static int
next_jsonl(struct coffre_reader *r, struct coffre_person **pp,
           struct coffre_diag *d)
{
    int toobig, rc;
    uint64_t line;

    for (;;) {
        line = r->line + 1;
        if (!read_line(r, &toobig)) {
            return r->ioerr ? COFFRE_ERR_IO : COFFRE_OK;
        }
        r->offset = r->consumed;
        d->line = line;
        if (toobig) {
            coffre_field_diag(d, "", "line longer than 524288 bytes");
            return COFFRE_ERR_TOOBIG;
        }
        if (!blank(&r->rec)) {
            break;
        }
    }
    rc = coffre_person_from_json((const char *)r->rec.p, r->rec.len, pp, d);
    if (rc == COFFRE_OK && (rc = coffre_person_validate_new(*pp, d)) != 0) {
        coffre_person_free(*pp);
        *pp = NULL;
    }
    d->line = line;
    return rc;
}

/* Where the framer is within a CSV record (mirrors libcsv, non-strict). */
enum frame { F_START, F_PLAIN, F_QUOTED, F_QUOTE_SEEN };

static enum frame
frame_step(enum frame st, int c)
{
    switch (st) {
    case F_START:
        return c == '"'                              ? F_QUOTED
               : (c == ' ' || c == '\t' || c == ',') ? F_START
                                                     : F_PLAIN;
    case F_PLAIN:
        return c == ',' ? F_START : F_PLAIN;
    case F_QUOTED:
        return c == '"' ? F_QUOTE_SEEN : F_QUOTED;
    default:
        /* "" is an escaped quote; after a closing quote libcsv goes back
         * into the quoted field on anything but a delimiter or space. */
        return c == ','                  ? F_START
               : (c == ' ' || c == '\t') ? F_QUOTE_SEEN
                                         : F_QUOTED;
    }
}

/*
 * One CSV record into r->rec without its line end; blank lines are
 * skipped. Returns 0 at the end of input; *pline is the line where the
 * record starts, *ptoobig set when it passed the row cap.
 */
static int
frame_record(struct coffre_reader *r, uint64_t *pline, int *ptoobig)
{
    enum frame st = F_START;
    int c;

    coffre_buf_reset(&r->rec);
    *ptoobig = 0;
    while ((c = peek(r)) == '\r' || c == '\n') {
        take(r);
    }
    if (c < 0) {
        return 0;
    }
    *pline = r->line + 1;
    while ((c = peek(r)) >= 0) {
        if ((c == '\r' || c == '\n') && st != F_QUOTED) {
            take(r);
            if (c == '\r' && peek(r) == '\n') {
                take(r);
            }
            break;
        }
        st = frame_step(st, c);
        if (!*ptoobig &&
            coffre_buf_addc(&r->rec, (unsigned char)c) != COFFRE_OK) {
            *ptoobig = 1;
        }
        take(r);
    }
    return 1;
}

static int
next_csv(struct coffre_reader *r, struct coffre_person **pp,
         struct coffre_diag *d)
{
    uint64_t line = 0;
    int toobig, rc;

    if (!frame_record(r, &line, &toobig)) {
        if (!r->header_done) {
            r->done = 1;
            coffre_field_diag(d, "", "a header row is required");
            return r->ioerr ? COFFRE_ERR_IO : COFFRE_ERR_PARSE;
        }
        return r->ioerr ? COFFRE_ERR_IO : COFFRE_OK;
    }
    r->offset = r->consumed;
    d->line = line;
    if (toobig) {
        coffre_field_diag(d, "", "record longer than 524288 bytes");
        if (!r->header_done) {
            r->done = 1;
        }
        return COFFRE_ERR_TOOBIG;
    }
    if (!r->header_done) {
        r->header_done = 1;
        if ((rc = coffre_csv_header(r->csv, (const char *)r->rec.p, r->rec.len,
                                    d)) != COFFRE_OK) {
            r->done = 1; /* no row can be read without its columns */
            return rc;
        }
        return r->header_only ? COFFRE_OK : next_csv(r, pp, d);
    }
    rc = coffre_csv_row(r->csv, (const char *)r->rec.p, r->rec.len, pp, d);
    if (rc == COFFRE_OK && (rc = coffre_person_validate_new(*pp, d)) != 0) {
        coffre_csv_column_of(d);
        coffre_person_free(*pp);
        *pp = NULL;
    }
    d->line = line;
    return rc;
}

int
coffre_reader_next(struct coffre_reader *r, struct coffre_person **pp,
                   struct coffre_diag *diag)
{
    struct coffre_diag local;
    struct coffre_diag *d = diag != NULL ? diag : &local;

    memset(d, 0, sizeof(*d));
    if (r == NULL || pp == NULL) {
        return COFFRE_ERR_ARG;
    }
    *pp = NULL;
    if (r->done || r->ioerr) {
        return r->ioerr ? COFFRE_ERR_IO : COFFRE_OK;
    }
    return r->fmt == COFFRE_FORMAT_CSV ? next_csv(r, pp, d)
                                       : next_jsonl(r, pp, d);
}

int
coffre_person_write(FILE *f, enum coffre_format fmt,
                    const struct coffre_person *p, int header)
{
    char *json = NULL;
    int rc;

    if (f == NULL || p == NULL) {
        return COFFRE_ERR_ARG;
    }
    if (fmt == COFFRE_FORMAT_CSV) {
        return coffre_csv_write(f, p, header);
    }
    if (fmt != COFFRE_FORMAT_JSONL) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = coffre_person_to_json(p, COFFRE_CLASSES_ALL, &json)) !=
        COFFRE_OK) {
        return rc;
    }
    if (fputs(json, f) < 0 || fputc('\n', f) == EOF) {
        rc = COFFRE_ERR_IO;
    }
    coffre_free(json);
    return rc;
}
