/* CSV rows with libcsv; see csv_row.h. */
#include "record/csv_row.h"

#include <string.h>

#include <csv.h>
#include <sodium.h>

#include "record/field.h"
#include "util/buf.h"
#include "util/secmem.h"

#define MAX_COLS 32

struct coffre_csv {
    struct csv_parser parser;
    const struct coffre_field *cols[MAX_COLS]; /* by header position */
    size_t ncols;
    int have_header;
    /* The cells of the record being parsed, back to back. */
    struct coffre_buf cells;
    size_t cell_off[MAX_COLS + 1], cell_len[MAX_COLS + 1];
    size_t ncells, nrows;
    int nomem;
};

int
coffre_csv_new(struct coffre_csv **pc)
{
    struct coffre_csv *c = coffre_pmem_calloc(1, sizeof(*c));

    if (c == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    if (csv_init(&c->parser, 0) != 0) {
        coffre_pmem_free(c);
        return COFFRE_ERR_NOMEM;
    }
    /* libcsv buffers field text: personal data, wiped when released. */
    csv_set_realloc_func(&c->parser, coffre_pmem_realloc);
    csv_set_free_func(&c->parser, coffre_pmem_free);
    coffre_buf_init(&c->cells, COFFRE_CSV_MAX_ROW + 1);
    *pc = c;
    return COFFRE_OK;
}

void
coffre_csv_free(struct coffre_csv *c)
{
    if (c == NULL) {
        return;
    }
    csv_free(&c->parser);
    coffre_buf_free(&c->cells);
    coffre_pmem_free(c);
}

static void
on_field(void *s, size_t len, void *data)
{
    struct coffre_csv *c = data;

    if (c->ncells < MAX_COLS + 1) {
        c->cell_off[c->ncells] = c->cells.len;
        c->cell_len[c->ncells] = len;
        if (coffre_buf_add(&c->cells, s, len) != COFFRE_OK) {
            c->nomem = 1;
        }
    }
    c->ncells++;
}

static void
on_row(int term, void *data)
{
    struct coffre_csv *c = data;

    (void)term;
    c->nrows++;
}

/* Splits one framed record into cells; PARSE unless it is one row. */
static int
split(struct coffre_csv *c, const char *rec, size_t n, struct coffre_diag *d)
{
    coffre_buf_reset(&c->cells);
    c->ncells = c->nrows = 0;
    c->nomem = 0;
    if (csv_parse(&c->parser, rec, n, on_field, on_row, c) != n ||
        csv_fini(&c->parser, on_field, on_row, c) != 0) {
        coffre_field_diag(d, "", "malformed CSV");
        return COFFRE_ERR_PARSE;
    }
    if (c->nomem) {
        return COFFRE_ERR_NOMEM;
    }
    if (c->nrows != 1 || (c->have_header && c->ncells != c->ncols)) {
        coffre_field_diag(d, "", "must have one field per header column");
        return COFFRE_ERR_PARSE;
    }
    return COFFRE_OK;
}

int
coffre_csv_header(struct coffre_csv *c, const char *rec, size_t n,
                  struct coffre_diag *d)
{
    char name[48];
    int rc;

    if ((rc = split(c, rec, n, d)) != COFFRE_OK) {
        return rc;
    }
    if (c->ncells > MAX_COLS) {
        coffre_field_diag(d, "", "too many columns");
        return COFFRE_ERR_PARSE;
    }
    for (size_t i = 0; i < c->ncells; i++) {
        size_t len = c->cell_len[i] < sizeof(name) - 1 ? c->cell_len[i]
                                                       : sizeof(name) - 1;
        memcpy(name, c->cells.p + c->cell_off[i], len);
        name[len] = '\0';
        if ((c->cols[i] = coffre_field_by_column(name)) == NULL) {
            coffre_field_diag(d, name, "unknown column");
            return COFFRE_ERR_PARSE;
        }
        for (size_t j = 0; j < i; j++) {
            if (c->cols[j] == c->cols[i]) {
                coffre_field_diag(d, name, "duplicate column");
                return COFFRE_ERR_PARSE;
            }
        }
    }
    c->ncols = c->ncells;
    c->have_header = 1;
    return COFFRE_OK;
}

/* One non-empty cell into ${p}; lists are split on ';'. */
static int
set_cell(struct coffre_person *p, const struct coffre_field *f, const char *s,
         size_t n, struct coffre_diag *d)
{
    const char *semi;
    int rc;

    if (f->kind != COFFRE_FK_LIST) {
        return coffre_field_set(p, f, s, n, d);
    }
    for (;;) {
        semi = memchr(s, ';', n);
        size_t k = semi != NULL ? (size_t)(semi - s) : n;
        if ((rc = coffre_field_set(p, f, s, k, d)) != COFFRE_OK ||
            semi == NULL) {
            return rc;
        }
        s += k + 1;
        n -= k + 1;
    }
}

int
coffre_csv_row(struct coffre_csv *c, const char *rec, size_t n,
               struct coffre_person **pp, struct coffre_diag *d)
{
    struct coffre_person *p;
    int rc;

    *pp = NULL;
    if ((rc = split(c, rec, n, d)) != COFFRE_OK) {
        return rc;
    }
    if ((p = coffre_person_new()) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->ncols && rc == COFFRE_OK; i++) {
        if (c->cell_len[i] != 0) {
            rc = set_cell(p, c->cols[i],
                          (const char *)c->cells.p + c->cell_off[i],
                          c->cell_len[i], d);
        }
    }
    if (rc != COFFRE_OK) {
        coffre_person_free(p);
        coffre_csv_column_of(d);
        return rc;
    }
    *pp = p;
    return COFFRE_OK;
}

void
coffre_csv_column_of(struct coffre_diag *d)
{
    const struct coffre_field *f;

    if (d != NULL && (f = coffre_field_by_name(d->field)) != NULL) {
        snprintf(d->field, sizeof(d->field), "%s", f->column);
    }
}

static int
add_base64(struct coffre_buf *b, const unsigned char *bin, size_t n)
{
    size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *t = coffre_pmem_alloc(len);
    int rc;

    if (t == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    sodium_bin2base64(t, len, bin, n, sodium_base64_VARIANT_ORIGINAL);
    rc = coffre_buf_adds(b, t);
    coffre_pmem_free(t);
    return rc;
}

/* The text form of one field into ${b} (empty when absent). */
static int
cell_text(const struct coffre_person *p, const struct coffre_field *f,
          struct coffre_buf *b)
{
    const struct coffre_strlist *l;
    int rc = COFFRE_OK;

    switch (f->kind) {
    case COFFRE_FK_TEXT:
        return *coffre_field_text(p, f) != NULL
                   ? coffre_buf_adds(b, *coffre_field_text(p, f))
                   : COFFRE_OK;
    case COFFRE_FK_LIST:
        l = coffre_field_list(p, f);
        for (size_t i = 0; i < l->n && rc == COFFRE_OK; i++) {
            if (i > 0) {
                rc = coffre_buf_addc(b, ';');
            }
            if (rc == COFFRE_OK) {
                rc = coffre_buf_adds(b, l->v[i]);
            }
        }
        return rc;
    case COFFRE_FK_PHOTO:
        return p->photo != NULL ? add_base64(b, p->photo, p->photo_len)
                                : COFFRE_OK;
    case COFFRE_FK_STATE:
        return coffre_buf_adds(b, coffre_state_name(p->state));
    default:
        return coffre_buf_adds(b, p->is_protected ? "true" : "false");
    }
}

static int
write_header(FILE *f)
{
    for (size_t i = 0; i < coffre_fields_count; i++) {
        if (fprintf(f, "%s%s", i > 0 ? "," : "", coffre_fields[i].column) < 0) {
            return COFFRE_ERR_IO;
        }
    }
    return fputs("\r\n", f) < 0 ? COFFRE_ERR_IO : COFFRE_OK;
}

int
coffre_csv_write(FILE *f, const struct coffre_person *p, int header)
{
    struct coffre_buf b;
    int rc = COFFRE_OK;

    if (header && (rc = write_header(f)) != COFFRE_OK) {
        return rc;
    }
    coffre_buf_init(&b, COFFRE_CSV_MAX_ROW);
    for (size_t i = 0; i < coffre_fields_count && rc == COFFRE_OK; i++) {
        const struct coffre_field *fd = &coffre_fields[i];
        coffre_buf_reset(&b);
        if (i > 0 && fputc(',', f) == EOF) {
            rc = COFFRE_ERR_IO;
        } else if ((p->classes & COFFRE_CLASS_BIT(fd->cls)) &&
                   (rc = cell_text(p, fd, &b)) == COFFRE_OK && b.len > 0 &&
                   csv_fwrite(f, b.p, b.len) != 0) {
            rc = COFFRE_ERR_IO; /* libcsv quotes every cell it writes */
        }
    }
    if (rc == COFFRE_OK && fputs("\r\n", f) < 0) {
        rc = COFFRE_ERR_IO;
    }
    coffre_buf_free(&b);
    return rc;
}
