/* What every backend shares: freeing rows, closing. */
#include "store/store.h"

#include <string.h>

#include "util/secmem.h"

void
coffre_store_person_clear(struct coffre_store_person *row)
{
    if (row == NULL) {
        return;
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        coffre_pmem_free(row->ct[c]);
    }
    memset(row, 0, sizeof(*row));
}

void
coffre_store_close(struct coffre_store *s)
{
    if (s != NULL) {
        s->ops->close(s);
    }
}
