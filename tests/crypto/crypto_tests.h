/* The crypto unit test is one program; each file runs its own group. */
#ifndef COFFRE_TESTS_CRYPTO_TESTS_H
#define COFFRE_TESTS_CRYPTO_TESTS_H

void test_shamir_all(void);
void test_pseudonym_all(void);
void test_cursor_all(void);
void test_rng_all(void);
void test_vectors_all(void);

#endif
