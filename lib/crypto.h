/*
 * Secrets at rest (PPPoE passwords, device and router credentials):
 * AES-256-GCM with a random 96-bit nonce per value.
 *
 * A sealed value is bytes: version (1) | key id (1) | nonce (12) |
 * ciphertext | tag (16).  The key id lets keys rotate: new values use the
 * current key, old ones name the key that opens them.  The associated
 * data binds a value to where it belongs (e.g. "customer:42:pppoe"), so a
 * value copied into another row or tenant does not open.
 */
#ifndef RTRW_CRYPTO_H
#define RTRW_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

struct config;

#define CRYPTO_OVERHEAD (1 + 1 + 12 + 16)
#define CRYPTO_KEY_ID   1 /* the key of data_key_file */

/*
 * Seals n bytes of plain into out (room for n + CRYPTO_OVERHEAD bytes).
 * Returns the sealed length, or -1.
 */
long crypto_seal(const struct config *c, const char *aad, const void *plain,
                 size_t n, unsigned char *out, size_t outcap);

/*
 * Opens a sealed value into out (NUL-terminated; room for n -
 * CRYPTO_OVERHEAD + 1 bytes).  Returns the plain length, or -1 when the
 * value is damaged, sealed for other associated data or with an unknown
 * key.
 */
long crypto_open(const struct config *c, const char *aad,
                 const unsigned char *sealed, size_t n, char *out,
                 size_t outcap);

#endif
