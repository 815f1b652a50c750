/*
 * CSV rows of persons (docs/formats.md, "CSV"): the header, one framed
 * record to a person, and a person to a row. Record framing (where a record
 * ends, its line number) is the reader's; field syntax is libcsv's.
 */
#ifndef COFFRE_RECORD_CSV_ROW_H
#define COFFRE_RECORD_CSV_ROW_H

#include <stdio.h>

#include "record/record.h"

#define COFFRE_CSV_MAX_ROW (512u * 1024u)

struct coffre_csv;

/** coffre_csv_new(pc): a row parser without a header yet. */
int coffre_csv_new(struct coffre_csv **pc);
void coffre_csv_free(struct coffre_csv *c);

/**
 * coffre_csv_header(c, rec, n, diag): take the header record (${n} bytes
 * at ${rec}, without its line end). COFFRE_ERR_PARSE naming an unknown or
 * duplicate column.
 */
int coffre_csv_header(struct coffre_csv *c, const char *rec, size_t n,
                      struct coffre_diag *diag);

/**
 * coffre_csv_row(c, rec, n, pp, diag): one data record to a new person,
 * not validated yet. COFFRE_ERR_PARSE when it is not one row of as many
 * fields as the header; COFFRE_ERR_INVALID when a cell cannot be a value.
 * ${diag} names columns, not JSON names.
 */
int coffre_csv_row(struct coffre_csv *c, const char *rec, size_t n,
                   struct coffre_person **pp, struct coffre_diag *diag);

/** coffre_csv_column_of(diag): rewrite diag->field as a CSV column. */
void coffre_csv_column_of(struct coffre_diag *diag);

/** coffre_csv_write(f, p, header): ${p} as one CSV row (and the header). */
int coffre_csv_write(FILE *f, const struct coffre_person *p, int header);

#endif
