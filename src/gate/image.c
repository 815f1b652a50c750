/* --image: decode the QR code of a photographed badge (PNG) with zbar. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <zbar.h>

#include "gate_cmd.h"

#define IMAGE_MAX_SIDE 8192

/* Read ${path} as 8-bit grayscale; *${ppix} is malloc'd. */
static int
png_gray(const char *path, unsigned char **ppix, unsigned *pw, unsigned *ph)
{
    png_image img;

    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) {
        return -1;
    }
    if (img.width == 0 || img.height == 0 || img.width > IMAGE_MAX_SIDE ||
        img.height > IMAGE_MAX_SIDE) {
        png_image_free(&img);
        return -1;
    }
    img.format = PNG_FORMAT_GRAY;
    *ppix = malloc(PNG_IMAGE_SIZE(img));
    if (*ppix == NULL || !png_image_finish_read(&img, NULL, *ppix, 0, NULL)) {
        free(*ppix);
        *ppix = NULL;
        png_image_free(&img);
        return -1;
    }
    *pw = img.width;
    *ph = img.height;
    return 0;
}

int
gate_image_decode(const char *path, char *out, size_t cap)
{
    zbar_image_scanner_t *scanner;
    zbar_image_t *image;
    const zbar_symbol_t *sym;
    unsigned char *pix = NULL;
    unsigned w, h;
    int rc = -1;

    if (png_gray(path, &pix, &w, &h) != 0) {
        fprintf(stderr, "coffre-gate: cannot read PNG %s\n", path);
        return -1;
    }
    scanner = zbar_image_scanner_create();
    zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
    zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
    image = zbar_image_create();
    zbar_image_set_format(image, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(image, w, h);
    zbar_image_set_data(image, pix, (unsigned long)w * h, NULL);
    if (zbar_scan_image(scanner, image) > 0) {
        sym = zbar_image_first_symbol(image);
        if (sym != NULL && zbar_symbol_get_data_length(sym) < cap) {
            memcpy(out, zbar_symbol_get_data(sym),
                   zbar_symbol_get_data_length(sym));
            out[zbar_symbol_get_data_length(sym)] = '\0';
            rc = 0;
        }
    }
    zbar_image_destroy(image);
    zbar_image_scanner_destroy(scanner);
    free(pix);
    if (rc != 0) {
        fprintf(stderr, "coffre-gate: no QR code found in %s\n", path);
    }
    return rc;
}
