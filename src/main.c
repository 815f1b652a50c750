/* coffre: the command. Subcommands live in their own files. */
#include <stdio.h>
#include <string.h>

#include "coffre/coffre.h"

int
main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (coffre_lib_init() != COFFRE_OK) {
        fprintf(stderr, "coffre: cannot initialise libsodium\n");
        return 1;
    }
    return 0;
}
