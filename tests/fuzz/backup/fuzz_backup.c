/* Fuzz the parsers of a backup (lib/vault/backup.c): the first byte
 * chooses the manifest, a .cbk header, or the two frame streams (then
 * two bytes give the keys stream's length, the rest is the records). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/backup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct coffre_backup_info in;
    unsigned char id[16];
    char msg[256];
    size_t klen;
    int kind = 0;

    if (size < 1) {
        return 0;
    }
    coffre_lib_init();
    switch (data[0] % 3) {
    case 0:
        (void)coffre_backup_manifest_parse((const char *)data + 1, size - 1,
                                           &in, msg, sizeof(msg));
        break;
    case 1:
        (void)coffre_backup_header_parse(data + 1, size - 1, &kind, id);
        break;
    default:
        if (size < 3) {
            return 0;
        }
        klen = (size_t)data[1] << 8 | data[2];
        klen = klen > size - 3 ? size - 3 : klen;
        (void)coffre_backup_frames_check(data + 3, klen, data + 3 + klen,
                                         size - 3 - klen, msg, sizeof(msg));
        break;
    }
    return 0;
}
