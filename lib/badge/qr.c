/* QR codes of badge strings: version, PNG (libpng), SVG (libqrencode). */
#include <setjmp.h>
#include <string.h>

#include <png.h>
#include <qrencode.h>

#include "coffre/badge.h"
#include "util/buf.h"
#include "util/secmem.h"

#define QR_QUIET 4
#define QR_MAX_SCALE 32
#define QR_MAX_IMAGE (8u * 1024u * 1024u)

/* Base45 is the QR alphanumeric set: libqrencode picks alphanumeric mode
 * for it when asked to be case sensitive. Level Q survives a worn badge. */
static QRcode *
qr_encode(const char *payload)
{
    if (payload == NULL || strlen(payload) > 4096) {
        return NULL;
    }
    return QRcode_encodeString(payload, 0, QR_ECLEVEL_Q, QR_MODE_8, 1);
}

int
coffre_badge_qr_version(const char *payload, int *pversion)
{
    QRcode *q = qr_encode(payload);

    if (q == NULL) {
        return COFFRE_ERR_ARG;
    }
    *pversion = q->version;
    QRcode_free(q);
    return COFFRE_OK;
}

static void
png_to_buf(png_structp png, png_bytep data, size_t n)
{
    struct coffre_buf *b = png_get_io_ptr(png);

    if (coffre_buf_add(b, data, n) != COFFRE_OK) {
        png_error(png, "image too large");
    }
}

static void
png_flush_none(png_structp png)
{
    (void)png;
}

/* Rows of ${q} scaled, black modules 0, white 255, with a quiet zone. */
static void
png_rows(png_structp png, const QRcode *q, int scale, png_bytep row)
{
    int side = (q->width + 2 * QR_QUIET) * scale;

    for (int y = 0; y < side; y++) {
        int my = y / scale - QR_QUIET;
        for (int x = 0; x < side; x++) {
            int mx = x / scale - QR_QUIET;
            int dark = mx >= 0 && my >= 0 && mx < q->width && my < q->width &&
                       (q->data[my * q->width + mx] & 1);
            row[x] = dark ? 0 : 255;
        }
        png_write_row(png, row);
    }
}

static int
png_write_qr(const QRcode *q, int scale, struct coffre_buf *out, png_bytep row)
{
    png_structp png;
    png_infop info;
    png_uint_32 side = (png_uint_32)((q->width + 2 * QR_QUIET) * scale);

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (png == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    info = png_create_info_struct(png);
    if (info == NULL || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return COFFRE_ERR_NOMEM;
    }
    png_set_write_fn(png, out, png_to_buf, png_flush_none);
    png_set_IHDR(png, info, side, side, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_rows(png, q, scale, row);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return COFFRE_OK;
}

int
coffre_badge_qr_png(const char *payload, int scale, unsigned char **ppng,
                    size_t *plen)
{
    struct coffre_buf out;
    png_bytep row;
    QRcode *q;
    int rc;

    *ppng = NULL;
    if (scale < 1 || scale > QR_MAX_SCALE || (q = qr_encode(payload)) == NULL) {
        return COFFRE_ERR_ARG;
    }
    row = coffre_pmem_alloc((size_t)(q->width + 2 * QR_QUIET) * (size_t)scale);
    coffre_buf_init(&out, QR_MAX_IMAGE);
    rc = row == NULL ? COFFRE_ERR_NOMEM : png_write_qr(q, scale, &out, row);
    if (rc == COFFRE_OK) {
        *ppng = coffre_buf_detach(&out, plen);
        rc = *ppng == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;
    }
    coffre_buf_free(&out);
    coffre_pmem_free(row);
    QRcode_free(q);
    return rc;
}

int
coffre_badge_qr_svg(const char *payload, char **psvg)
{
    struct coffre_buf b;
    QRcode *q;
    int side, rc;

    *psvg = NULL;
    if ((q = qr_encode(payload)) == NULL) {
        return COFFRE_ERR_ARG;
    }
    side = q->width + 2 * QR_QUIET;
    coffre_buf_init(&b, QR_MAX_IMAGE);
    rc = coffre_buf_addf(&b,
                         "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                         "viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
                         "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
                         "<path fill=\"#000\" d=\"",
                         side, side, side, side);
    /* One unit square per dark module, as a single path. */
    for (int y = 0; rc == COFFRE_OK && y < q->width; y++) {
        for (int x = 0; rc == COFFRE_OK && x < q->width; x++) {
            if (q->data[y * q->width + x] & 1) {
                rc = coffre_buf_addf(&b, "M%d %dh1v1h-1z", x + QR_QUIET,
                                     y + QR_QUIET);
            }
        }
    }
    if (rc == COFFRE_OK) {
        rc = coffre_buf_adds(&b, "\"/></svg>\n");
    }
    if (rc == COFFRE_OK) {
        coffre_buf_cstr(&b);
        *psvg = (char *)coffre_buf_detach(&b, NULL);
    }
    coffre_buf_free(&b);
    QRcode_free(q);
    return rc;
}
