/* libFuzzer: the server's configuration parser. */
#include <stddef.h>
#include <stdint.h>

#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srv_config c;
    char err[256];
    if (srv_config_parse(&c, (const char *)data, size, err, sizeof(err)) ==
        COFFRE_OK) {
        srv_config_free(&c);
    }
    return 0;
}
