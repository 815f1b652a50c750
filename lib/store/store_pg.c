/* The PostgreSQL backend: being written. */
#include "store/store.h"

int
coffre_store_open_pg(const char *conninfo, struct coffre_store **ps)
{
    (void)conninfo;
    (void)ps;
    return COFFRE_ERR_UNAVAILABLE;
}
