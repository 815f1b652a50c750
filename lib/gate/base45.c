/* Base45, RFC 9285. */
#include "gate/base45.h"

#include "coffre/coffre.h"

static const char b45_alphabet[45] = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
                                     "WXYZ $%*+-./:";

/* The value of a character, or -1 outside the alphabet. */
static int
b45_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'Z') {
        return c - 'A' + 10;
    }
    switch (c) {
    case ' ':
        return 36;
    case '$':
        return 37;
    case '%':
        return 38;
    case '*':
        return 39;
    case '+':
        return 40;
    case '-':
        return 41;
    case '.':
        return 42;
    case '/':
        return 43;
    case ':':
        return 44;
    default:
        return -1;
    }
}

size_t
coffre_base45_encoded_len(size_t n)
{
    return n / 2 * 3 + (n % 2) * 2;
}

size_t
coffre_base45_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    if (n > SIZE_MAX / 2 || coffre_base45_encoded_len(n) > cap) {
        return 0;
    }
    for (size_t i = 0; i + 1 < n; i += 2) {
        unsigned v = (unsigned)in[i] * 256u + in[i + 1];
        out[o++] = b45_alphabet[v % 45];
        out[o++] = b45_alphabet[v / 45 % 45];
        out[o++] = b45_alphabet[v / 2025];
    }
    if (n % 2) {
        unsigned v = in[n - 1];
        out[o++] = b45_alphabet[v % 45];
        out[o++] = b45_alphabet[v / 45];
    }
    return o;
}

int
coffre_base45_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                     size_t *plen)
{
    size_t o = 0;

    *plen = 0;
    if (n % 3 == 1) {
        return COFFRE_ERR_PARSE;
    }
    if (n / 3 * 2 + (n % 3 == 2) > cap) {
        return COFFRE_ERR_TOOBIG;
    }
    for (size_t i = 0; i < n; i += 3) {
        size_t k = n - i >= 3 ? 3 : 2;
        unsigned long v = 0, mul = 1;
        for (size_t j = 0; j < k; j++) {
            int d = b45_value((unsigned char)in[i + j]);
            if (d < 0) {
                return COFFRE_ERR_PARSE;
            }
            v += (unsigned long)d * mul;
            mul *= 45;
        }
        if (k == 3) {
            if (v > 0xffff) {
                return COFFRE_ERR_PARSE;
            }
            out[o++] = (uint8_t)(v >> 8);
        } else if (v > 0xff) {
            return COFFRE_ERR_PARSE;
        }
        out[o++] = (uint8_t)(v & 0xff);
    }
    *plen = o;
    return COFFRE_OK;
}
