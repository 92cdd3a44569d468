#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "json.h"
#include "util.h"

#define AAD_LEN     (BACKUP_HEADER_LEN + 8 + 1)
#define GCM_NONCE   12
#define FINAL_FLAG  0x80000000u
#define HKDF_INFO   "rtrw-backup v1"
#define KEYFILE_MAX 256

/* ---- keyring --------------------------------------------------------- */

int
backup_keyring_add(struct backup_keyring *kr, int id,
                   const unsigned char key[BACKUP_KEY_LEN])
{
	if (id < 1 || id >= BACKUP_KEY_IDS)
		return -1;
	if (!kr->present[id])
		kr->count++;
	memcpy(kr->key[id], key, BACKUP_KEY_LEN);
	kr->present[id] = 1;
	return 0;
}

const unsigned char *
backup_keyring_get(const struct backup_keyring *kr, int id)
{
	if (id < 1 || id >= BACKUP_KEY_IDS || !kr->present[id])
		return NULL;
	return kr->key[id];
}

void
backup_keyring_release(struct backup_keyring *kr)
{
	explicit_bzero(kr, sizeof(*kr));
}

/*
 * "12.key" -> 12; 0 for names that are not key files (ignored); -1 for a
 * key file whose id is out of range ("0.key", "300.key").
 */
static int
key_file_id(const char *name)
{
	size_t n = strlen(name);
	int64_t id;

	if (n < 5 || strcmp(name + n - 4, ".key") != 0 ||
	    strspn(name, "0123456789") != n - 4)
		return 0;
	if (n - 4 > 3 ||
	    parse_int64_n(name, n - 4, 1, BACKUP_KEY_IDS - 1, &id) < 0)
		return -1;
	return (int)id;
}

/*
 * Reads one key file: a regular file that only its owner can read
 * (the model is config.c's check of the data key), 64 hex digits.
 */
static int
load_key_file(struct backup_keyring *kr, int dirfd, const char *name, int id,
              const char *dir, char *err, size_t errlen)
{
	char text[KEYFILE_MAX + 1];
	unsigned char key[BACKUP_KEY_LEN];
	struct stat st;
	ssize_t n;
	size_t i;
	int fd, rc = -1;

	if (id < 1 || id >= BACKUP_KEY_IDS) {
		snprintf(err, errlen,
		         "backup key '%s/%s': key ids run from 1 to %d", dir,
		         name, BACKUP_KEY_IDS - 1);
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "backup key '%s/%s' cannot be opened: %s",
		         dir, name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
		         "backup key '%s/%s' is not a regular file", dir, name);
		goto out_close;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
		         "backup key '%s/%s' is readable by group or others "
		         "(mode %03o); chmod 600 it",
		         dir, name, (unsigned)(st.st_mode & 0777));
		goto out_close;
	}
	n = read(fd, text, KEYFILE_MAX);
	if (n < 0) {
		snprintf(err, errlen, "backup key '%s/%s' cannot be read: %s",
		         dir, name, strerror(errno));
		goto out_close;
	}
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	if (n != 2 * BACKUP_KEY_LEN ||
	    hex_decode(text, BACKUP_KEY_LEN, key) < 0) {
		snprintf(err, errlen,
		         "backup key '%s/%s' must be exactly %d hex digits "
		         "(generate one with 'openssl rand -hex 32')",
		         dir, name, 2 * BACKUP_KEY_LEN);
		goto out_wipe;
	}
	for (i = 1; i < BACKUP_KEY_LEN && key[i] == key[0]; i++)
		;
	if (i == BACKUP_KEY_LEN) {
		snprintf(err, errlen,
		         "backup key '%s/%s' is weak: all bytes "
		         "equal",
		         dir, name);
		goto out_wipe;
	}
	backup_keyring_add(kr, id, key);
	rc = 0;
out_wipe:
	explicit_bzero(text, sizeof(text));
	explicit_bzero(key, sizeof(key));
out_close:
	close(fd);
	return rc;
}

int
backup_keyring_load(struct backup_keyring *kr, const char *dir, char *err,
                    size_t errlen)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	memset(kr, 0, sizeof(*kr));
	if (!dir || !dir[0]) {
		snprintf(err, errlen, "backup_key_dir is not configured");
		return -1;
	}
	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen,
		         "backup key directory '%s' cannot be "
		         "opened: %s",
		         dir, strerror(errno));
		return -1;
	}
	/* Whoever may write the directory may swap the keys. */
	if (fstat(dirfd(d), &st) < 0 || (st.st_mode & 022)) {
		snprintf(err, errlen,
		         "backup key directory '%s' is writable by group or "
		         "others; chmod 700 it",
		         dir);
		closedir(d);
		return -1;
	}
	while (rc == 0 && (de = readdir(d))) {
		int id = key_file_id(de->d_name);

		if (id == 0)
			continue;
		if (id < 0) {
			snprintf(err, errlen,
			         "backup key '%s/%s': key ids run from 1 to %d",
			         dir, de->d_name, BACKUP_KEY_IDS - 1);
			rc = -1;
			break;
		}
		rc = load_key_file(kr, dirfd(d), de->d_name, id, dir, err,
		                   errlen);
	}
	closedir(d);
	if (rc == 0 && kr->count == 0) {
		snprintf(err, errlen,
		         "backup key directory '%s' holds no key; create "
		         "1.key with 'openssl rand -hex 32' (mode 600)",
		         dir);
		rc = -1;
	}
	if (rc < 0)
		backup_keyring_release(kr);
	return rc;
}

/* ---- shared pieces ----------------------------------------------------- */

const char *
backup_kind_name(int kind)
{
	switch (kind) {
	case BACKUP_KIND_DUMP:
		return "dump";
	case BACKUP_KIND_BINLOG:
		return "binlog";
	}
	return NULL;
}

int
backup_kind_parse(const char *name)
{
	if (name && strcmp(name, "dump") == 0)
		return BACKUP_KIND_DUMP;
	if (name && strcmp(name, "binlog") == 0)
		return BACKUP_KIND_BINLOG;
	return 0;
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
header_encode(const struct backup_header *h, unsigned char *p)
{
	memcpy(p, BACKUP_MAGIC, 8);
	p[8] = (unsigned char)h->version;
	p[9] = (unsigned char)h->kind;
	p[10] = (unsigned char)h->key_id;
	p[11] = 0;
	put_be32(p + 12, h->chunk_bytes);
	memcpy(p + 16, h->nonce, BACKUP_NONCE_LEN);
}

int
backup_header_parse(const unsigned char *p, size_t n, struct backup_header *h,
                    char *err, size_t errlen)
{
	if (n < BACKUP_HEADER_LEN || memcmp(p, BACKUP_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a backup file (no RTRWBAK header)");
		return -1;
	}
	h->version = p[8];
	h->kind = p[9];
	h->key_id = p[10];
	h->chunk_bytes = get_be32(p + 12);
	memcpy(h->nonce, p + 16, BACKUP_NONCE_LEN);
	if (h->version != BACKUP_VERSION) {
		snprintf(err, errlen,
		         "backup format version %d is not "
		         "supported (this tool reads version %d)",
		         h->version, BACKUP_VERSION);
		return -1;
	}
	if (!backup_kind_name(h->kind) || p[11] != 0) {
		snprintf(err, errlen, "backup header is damaged (kind %d)",
		         h->kind);
		return -1;
	}
	if (h->key_id < 1) {
		snprintf(err, errlen, "backup header names no key");
		return -1;
	}
	if (h->chunk_bytes < BACKUP_CHUNK_MIN ||
	    h->chunk_bytes > BACKUP_CHUNK_MAX) {
		snprintf(
		    err, errlen,
		    "backup header is damaged (chunk size %u out of range)",
		    (unsigned)h->chunk_bytes);
		return -1;
	}
	return 0;
}

/*
 * The file key and nonce base: HKDF-SHA256(key, salt = file nonce, info =
 * HKDF_INFO | header).  out holds 32 key bytes then 12 nonce bytes.
 */
static int
derive(const unsigned char *key, const unsigned char *header,
       unsigned char out[BACKUP_KEY_LEN + GCM_NONCE])
{
	unsigned char info[sizeof(HKDF_INFO) - 1 + BACKUP_HEADER_LEN];
	OSSL_PARAM params[5];
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int rc = -1;

	memcpy(info, HKDF_INFO, sizeof(HKDF_INFO) - 1);
	memcpy(info + sizeof(HKDF_INFO) - 1, header, BACKUP_HEADER_LEN);
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (!kdf)
		return -1;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!kctx)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	                                             (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_KDF_PARAM_KEY, (void *)key, BACKUP_KEY_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(
	    OSSL_KDF_PARAM_SALT, (void *)(header + 16), BACKUP_NONCE_LEN);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
	                                              sizeof(info));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, BACKUP_KEY_LEN + GCM_NONCE, params) == 1)
		rc = 0;
	EVP_KDF_CTX_free(kctx);
	return rc;
}

/* The nonce and associated data of chunk index. */
static void
chunk_params(const unsigned char *base, const unsigned char *header,
             uint64_t index, int final, unsigned char nonce[GCM_NONCE],
             unsigned char aad[AAD_LEN])
{
	memcpy(nonce, base, GCM_NONCE);
	for (int i = 0; i < 8; i++)
		nonce[GCM_NONCE - 1 - i] ^= (unsigned char)(index >> (8 * i));
	memcpy(aad, header, BACKUP_HEADER_LEN);
	for (int i = 0; i < 8; i++)
		aad[BACKUP_HEADER_LEN + i] =
		    (unsigned char)(index >> (8 * (7 - i)));
	aad[BACKUP_HEADER_LEN + 8] = final ? 1 : 0;
}

static void
digest_hex(EVP_MD_CTX *md, char out[BACKUP_SHA256_HEX])
{
	unsigned char d[32];
	unsigned int n = 0;
	EVP_MD_CTX *copy = EVP_MD_CTX_new();

	/* A copy, so that the running digest can still be read again. */
	if (!copy || EVP_MD_CTX_copy_ex(copy, md) != 1 ||
	    EVP_DigestFinal_ex(copy, d, &n) != 1 || n != 32) {
		out[0] = '\0';
		EVP_MD_CTX_free(copy);
		return;
	}
	EVP_MD_CTX_free(copy);
	hex_encode(d, 32, out);
}

/* Writes all of p; 0 or -1 with errno. */
static int
write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n bytes: n, fewer at end of file, or -1 with errno. */
static ssize_t
read_full(int fd, void *p, size_t n)
{
	unsigned char *c = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, c + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* ---- writer ------------------------------------------------------------ */

struct backup_writer {
	int fd;
	unsigned char header[BACKUP_HEADER_LEN];
	unsigned char fkey[BACKUP_KEY_LEN + GCM_NONCE];
	uint32_t chunk_bytes;
	unsigned char *chunk; /* compressed bytes waiting to be sealed */
	size_t chunk_len;
	unsigned char *sealed; /* length, ciphertext and tag of one chunk */
	unsigned char *zout;
	size_t zout_cap;
	ZSTD_CCtx *zc;
	EVP_CIPHER_CTX *cipher;
	EVP_MD_CTX *plain_md, *file_md;
	uint64_t index, plain_bytes, file_bytes;
	int failed, finished;
	char err[256];
};

static int
writer_fail(struct backup_writer *w, const char *what)
{
	if (!w->failed)
		snprintf(w->err, sizeof(w->err), "%s", what);
	w->failed = 1;
	return -1;
}

static int
writer_emit(struct backup_writer *w, const void *p, size_t n)
{
	if (write_all(w->fd, p, n) < 0) {
		char why[200];

		snprintf(why, sizeof(why), "writing the backup failed: %s",
		         strerror(errno));
		return writer_fail(w, why);
	}
	if (EVP_DigestUpdate(w->file_md, p, n) != 1)
		return writer_fail(w, "hashing the backup failed");
	w->file_bytes += n;
	return 0;
}

/* Seals the buffered chunk and writes it. */
static int
writer_seal(struct backup_writer *w, int final)
{
	unsigned char nonce[GCM_NONCE], aad[AAD_LEN];
	size_t n = w->chunk_len;
	int len = 0, fin = 0;

	chunk_params(w->fkey + BACKUP_KEY_LEN, w->header, w->index, final,
	             nonce, aad);
	put_be32(w->sealed, (uint32_t)n | (final ? FINAL_FLAG : 0));
	if (EVP_EncryptInit_ex(w->cipher, EVP_aes_256_gcm(), NULL, w->fkey,
	                       nonce) != 1 ||
	    EVP_EncryptUpdate(w->cipher, NULL, &len, aad, AAD_LEN) != 1 ||
	    EVP_EncryptUpdate(w->cipher, w->sealed + 4, &len, w->chunk,
	                      (int)n) != 1 ||
	    EVP_EncryptFinal_ex(w->cipher, w->sealed + 4 + len, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(w->cipher, EVP_CTRL_GCM_GET_TAG, BACKUP_TAG_LEN,
	                        w->sealed + 4 + n) != 1)
		return writer_fail(w, "encrypting a chunk failed");
	if (writer_emit(w, w->sealed, 4 + n + BACKUP_TAG_LEN) < 0)
		return -1;
	explicit_bzero(w->chunk, n);
	w->chunk_len = 0;
	w->index++;
	return 0;
}

/*
 * Moves compressed bytes into the chunk buffer.  A full buffer is sealed
 * only when more bytes arrive, so that the final chunk is never empty
 * and every other chunk is exactly full.
 */
static int
writer_take(struct backup_writer *w, const unsigned char *p, size_t n)
{
	while (n > 0) {
		size_t room;

		if (w->chunk_len == w->chunk_bytes && writer_seal(w, 0) < 0)
			return -1;
		room = w->chunk_bytes - w->chunk_len;
		if (room > n)
			room = n;
		memcpy(w->chunk + w->chunk_len, p, room);
		w->chunk_len += room;
		p += room;
		n -= room;
	}
	return 0;
}

struct backup_writer *
backup_writer_open(int fd, const unsigned char *key, int key_id,
                   enum backup_kind kind, int level, uint32_t chunk_bytes,
                   char *err, size_t errlen)
{
	struct backup_header h;
	struct backup_writer *w;

	if (!key || key_id < 1 || key_id >= BACKUP_KEY_IDS ||
	    !backup_kind_name((int)kind) || chunk_bytes < BACKUP_CHUNK_MIN ||
	    chunk_bytes > BACKUP_CHUNK_MAX || level < 1 ||
	    level > ZSTD_maxCLevel()) {
		snprintf(err, errlen, "backup writer: bad parameters");
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->chunk_bytes = chunk_bytes;
	memset(&h, 0, sizeof(h));
	h.version = BACKUP_VERSION;
	h.kind = (int)kind;
	h.key_id = key_id;
	h.chunk_bytes = chunk_bytes;
	if (random_bytes(h.nonce, BACKUP_NONCE_LEN) < 0) {
		snprintf(err, errlen, "no random bytes for the file nonce");
		goto out_free;
	}
	header_encode(&h, w->header);
	if (derive(key, w->header, w->fkey) < 0) {
		snprintf(err, errlen, "deriving the file key failed");
		goto out_free;
	}
	w->chunk = xmalloc(chunk_bytes);
	w->sealed = xmalloc(4 + (size_t)chunk_bytes + BACKUP_TAG_LEN);
	w->zout_cap = ZSTD_CStreamOutSize();
	w->zout = xmalloc(w->zout_cap);
	w->zc = ZSTD_createCCtx();
	w->cipher = EVP_CIPHER_CTX_new();
	w->plain_md = EVP_MD_CTX_new();
	w->file_md = EVP_MD_CTX_new();
	if (!w->zc || !w->cipher || !w->plain_md || !w->file_md ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel,
	                                        level)) ||
	    ZSTD_isError(
	        ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1)) ||
	    EVP_DigestInit_ex(w->plain_md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(w->file_md, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "backup writer: library set-up failed");
		goto out_free;
	}
	if (writer_emit(w, w->header, BACKUP_HEADER_LEN) < 0) {
		snprintf(err, errlen, "%s", w->err);
		goto out_free;
	}
	return w;
out_free:
	backup_writer_free(w);
	return NULL;
}

/* Runs zstd over input with mode and moves its output along. */
static int
writer_compress(struct backup_writer *w, const void *data, size_t n,
                ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = {data, n, 0};
	size_t left;

	do {
		ZSTD_outBuffer out = {w->zout, w->zout_cap, 0};

		left = ZSTD_compressStream2(w->zc, &out, &in, mode);
		if (ZSTD_isError(left))
			return writer_fail(w, "zstd compression failed");
		if (writer_take(w, w->zout, out.pos) < 0)
			return -1;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

int
backup_writer_write(struct backup_writer *w, const void *data, size_t n)
{
	if (w->failed || w->finished)
		return writer_fail(w, "backup writer used after an error");
	if (n == 0)
		return 0;
	if (EVP_DigestUpdate(w->plain_md, data, n) != 1)
		return writer_fail(w, "hashing the data failed");
	w->plain_bytes += n;
	return writer_compress(w, data, n, ZSTD_e_continue);
}

int
backup_writer_finish(struct backup_writer *w, struct backup_stats *st)
{
	if (w->failed || w->finished)
		return writer_fail(w, "backup writer used after an error");
	if (writer_compress(w, NULL, 0, ZSTD_e_end) < 0 ||
	    writer_seal(w, 1) < 0)
		return -1;
	w->finished = 1;
	memset(st, 0, sizeof(*st));
	st->plain_bytes = w->plain_bytes;
	st->file_bytes = w->file_bytes;
	st->chunks = w->index;
	digest_hex(w->plain_md, st->plain_sha256);
	digest_hex(w->file_md, st->file_sha256);
	return 0;
}

const char *
backup_writer_error(const struct backup_writer *w)
{
	return w->err[0] ? w->err : "no error";
}

void
backup_writer_free(struct backup_writer *w)
{
	if (!w)
		return;
	explicit_bzero(w->fkey, sizeof(w->fkey));
	if (w->chunk)
		explicit_bzero(w->chunk, w->chunk_bytes);
	free(w->chunk);
	free(w->sealed);
	free(w->zout);
	ZSTD_freeCCtx(w->zc);
	EVP_CIPHER_CTX_free(w->cipher);
	EVP_MD_CTX_free(w->plain_md);
	EVP_MD_CTX_free(w->file_md);
	free(w);
}

/* ---- reader ------------------------------------------------------------ */

struct backup_reader {
	int fd;
	struct backup_header h;
	unsigned char header[BACKUP_HEADER_LEN];
	unsigned char fkey[BACKUP_KEY_LEN + GCM_NONCE];
	unsigned char *sealed; /* ciphertext and tag of one chunk */
	unsigned char *plain;  /* its plaintext: compressed data */
	size_t plain_len, plain_pos;
	ZSTD_DCtx *zd;
	EVP_CIPHER_CTX *cipher;
	EVP_MD_CTX *plain_md, *file_md;
	uint64_t index, plain_bytes, file_bytes;
	size_t zret; /* the last ZSTD_decompressStream() hint; 0 = frame end */
	int final_seen, done, failed;
	char err[256];
};

static long reader_fail(struct backup_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static long
reader_fail(struct backup_reader *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->failed) {
		va_start(ap, fmt);
		vsnprintf(r->err, sizeof(r->err), fmt, ap);
		va_end(ap);
	}
	r->failed = 1;
	return -1;
}

static int
reader_fetch(struct backup_reader *r, void *p, size_t n)
{
	ssize_t got = read_full(r->fd, p, n);

	if (got < 0)
		return -1;
	if (got > 0 && EVP_DigestUpdate(r->file_md, p, (size_t)got) != 1)
		return -1;
	r->file_bytes += (uint64_t)got;
	return (int)(got == (ssize_t)n);
}

struct backup_reader *
backup_reader_open(int fd, const struct backup_keyring *kr, char *err,
                   size_t errlen)
{
	struct backup_reader *r = xcalloc(1, sizeof(*r));
	const unsigned char *key;
	int got;

	r->fd = fd;
	r->zret = 1;
	r->zd = ZSTD_createDCtx();
	r->cipher = EVP_CIPHER_CTX_new();
	r->plain_md = EVP_MD_CTX_new();
	r->file_md = EVP_MD_CTX_new();
	if (!r->zd || !r->cipher || !r->plain_md || !r->file_md ||
	    EVP_DigestInit_ex(r->plain_md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(r->file_md, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "backup reader: library set-up failed");
		goto out_free;
	}
	got = reader_fetch(r, r->header, BACKUP_HEADER_LEN);
	if (got < 0) {
		snprintf(err, errlen, "reading the backup failed: %s",
		         strerror(errno));
		goto out_free;
	}
	if (backup_header_parse(r->header, got ? BACKUP_HEADER_LEN : 0, &r->h,
	                        err, errlen) < 0)
		goto out_free;
	key = backup_keyring_get(kr, r->h.key_id);
	if (!key) {
		snprintf(err, errlen,
		         "the backup was sealed with key %d, which is not in "
		         "the key directory",
		         r->h.key_id);
		goto out_free;
	}
	if (derive(key, r->header, r->fkey) < 0) {
		snprintf(err, errlen, "deriving the file key failed");
		goto out_free;
	}
	r->sealed = xmalloc((size_t)r->h.chunk_bytes + BACKUP_TAG_LEN);
	r->plain = xmalloc(r->h.chunk_bytes);
	return r;
out_free:
	backup_reader_free(r);
	return NULL;
}

const struct backup_header *
backup_reader_header(const struct backup_reader *r)
{
	return &r->h;
}

/* Reads, checks and opens the next chunk into r->plain. */
static long
reader_next_chunk(struct backup_reader *r)
{
	unsigned char lenb[4], nonce[GCM_NONCE], aad[AAD_LEN];
	uint32_t word, n;
	int got, final, len = 0, fin = 0;

	got = reader_fetch(r, lenb, 4);
	if (got < 0)
		return reader_fail(r, "reading chunk %llu failed",
		                   (unsigned long long)r->index);
	if (got == 0)
		return reader_fail(r,
		                   "the file ends before its final chunk "
		                   "(truncated after chunk %llu)",
		                   (unsigned long long)r->index);
	word = get_be32(lenb);
	final = (word & FINAL_FLAG) != 0;
	n = word & ~FINAL_FLAG;
	if (n > r->h.chunk_bytes || (!final && n != r->h.chunk_bytes))
		return reader_fail(r,
		                   "chunk %llu has an impossible length "
		                   "(damaged file)",
		                   (unsigned long long)r->index);
	got = reader_fetch(r, r->sealed, (size_t)n + BACKUP_TAG_LEN);
	if (got < 0)
		return reader_fail(r, "reading chunk %llu failed",
		                   (unsigned long long)r->index);
	if (got == 0)
		return reader_fail(r,
		                   "the file ends inside chunk %llu "
		                   "(truncated)",
		                   (unsigned long long)r->index);
	chunk_params(r->fkey + BACKUP_KEY_LEN, r->header, r->index, final,
	             nonce, aad);
	if (EVP_DecryptInit_ex(r->cipher, EVP_aes_256_gcm(), NULL, r->fkey,
	                       nonce) != 1 ||
	    EVP_DecryptUpdate(r->cipher, NULL, &len, aad, AAD_LEN) != 1 ||
	    EVP_DecryptUpdate(r->cipher, r->plain, &len, r->sealed, (int)n) !=
	        1 ||
	    EVP_CIPHER_CTX_ctrl(r->cipher, EVP_CTRL_GCM_SET_TAG, BACKUP_TAG_LEN,
	                        r->sealed + n) != 1 ||
	    EVP_DecryptFinal_ex(r->cipher, r->plain + len, &fin) != 1) {
		explicit_bzero(r->plain, r->h.chunk_bytes);
		return reader_fail(r,
		                   "chunk %llu failed authentication (the file "
		                   "is damaged, reordered or was sealed with "
		                   "another key)",
		                   (unsigned long long)r->index);
	}
	r->plain_len = n;
	r->plain_pos = 0;
	r->index++;
	if (final) {
		unsigned char extra;

		r->final_seen = 1;
		got = reader_fetch(r, &extra, 1);
		if (got != 0)
			return reader_fail(
			    r,
			    "there is data after the final chunk "
			    "(%llu chunks)",
			    (unsigned long long)r->index);
	}
	return 0;
}

long
backup_reader_read(struct backup_reader *r, void *buf, size_t cap)
{
	ZSTD_outBuffer out = {buf, cap, 0};

	if (r->failed)
		return -1;
	if (r->done || cap == 0)
		return 0;
	while (out.pos == 0) {
		ZSTD_inBuffer in;

		if (r->plain_pos == r->plain_len) {
			if (r->final_seen) {
				/* Everything read: the frame must be whole. */
				if (r->zret != 0)
					return reader_fail(
					    r,
					    "the compressed data ends early "
					    "(%llu chunks)",
					    (unsigned long long)r->index);
				r->done = 1;
				return 0;
			}
			if (reader_next_chunk(r) < 0)
				return -1;
			continue;
		}
		in.src = r->plain;
		in.size = r->plain_len;
		in.pos = r->plain_pos;
		r->zret = ZSTD_decompressStream(r->zd, &out, &in);
		r->plain_pos = in.pos;
		if (ZSTD_isError(r->zret))
			return reader_fail(r, "decompressing chunk %llu failed",
			                   (unsigned long long)(r->index - 1));
		/* A frame ends here: nothing may follow it. */
		if (r->zret == 0 && r->plain_pos != r->plain_len)
			return reader_fail(r,
			                   "data after the end of the "
			                   "compressed stream (chunk %llu)",
			                   (unsigned long long)(r->index - 1));
		if (r->zret == 0 && out.pos == 0 &&
		    r->plain_pos == r->plain_len)
			continue;
	}
	if (EVP_DigestUpdate(r->plain_md, buf, out.pos) != 1)
		return reader_fail(r, "hashing chunk %llu failed",
		                   (unsigned long long)r->index);
	r->plain_bytes += out.pos;
	return (long)out.pos;
}

void
backup_reader_stats(const struct backup_reader *r, struct backup_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->plain_bytes = r->plain_bytes;
	st->file_bytes = r->file_bytes;
	st->chunks = r->index;
	digest_hex(r->plain_md, st->plain_sha256);
	digest_hex(r->file_md, st->file_sha256);
}

const char *
backup_reader_error(const struct backup_reader *r)
{
	return r->err[0] ? r->err : "no error";
}

void
backup_reader_free(struct backup_reader *r)
{
	if (!r)
		return;
	explicit_bzero(r->fkey, sizeof(r->fkey));
	if (r->plain)
		explicit_bzero(r->plain, r->h.chunk_bytes);
	free(r->plain);
	free(r->sealed);
	ZSTD_freeDCtx(r->zd);
	EVP_CIPHER_CTX_free(r->cipher);
	EVP_MD_CTX_free(r->plain_md);
	EVP_MD_CTX_free(r->file_md);
	free(r);
}

/* ---- manifest ---------------------------------------------------------- */

static void
add_str(cJSON *o, const char *name, const char *v)
{
	if (v && v[0])
		cJSON_AddStringToObject(o, name, v);
}

static void
add_int(cJSON *o, const char *name, int64_t v)
{
	if (v)
		json_add_int(o, name, v);
}

cJSON *
backup_manifest_json(const struct backup_manifest *m)
{
	cJSON *o = cJSON_CreateObject(), *tools;
	char libs[128];

	cJSON_AddStringToObject(o, "format", "rtrw-backup");
	json_add_int(o, "version", BACKUP_VERSION);
	add_str(o, "kind", backup_kind_name(m->kind));
	add_int(o, "id", m->id);
	add_str(o, "file", m->file);
	json_add_int(o, "key_id", m->key_id);
	json_add_int(o, "chunk_bytes", m->chunk_bytes);
	cJSON_AddStringToObject(o, "compression", "zstd");
	cJSON_AddStringToObject(o, "cipher", "aes-256-gcm");
	json_add_int(o, "plain_bytes", (int64_t)m->stats.plain_bytes);
	cJSON_AddStringToObject(o, "plain_sha256", m->stats.plain_sha256);
	json_add_int(o, "file_bytes", (int64_t)m->stats.file_bytes);
	cJSON_AddStringToObject(o, "file_sha256", m->stats.file_sha256);
	json_add_int(o, "chunks", (int64_t)m->stats.chunks);
	add_str(o, "database", m->database);
	add_int(o, "server_id", m->server_id);
	add_str(o, "server_version", m->server_version);
	add_str(o, "binlog_file", m->binlog_file);
	add_int(o, "binlog_pos", m->binlog_pos);
	add_str(o, "gtid_pos", m->gtid_pos);
	add_int(o, "schema_version", m->schema_version);
	if (m->tables)
		cJSON_AddItemToObject(o, "tables",
		                      cJSON_Duplicate(m->tables, 1));
	add_str(o, "started_at", m->started_at);
	add_str(o, "snapshot_at", m->snapshot_at);
	add_str(o, "finished_at", m->finished_at);
	add_str(o, "first_event_at", m->first_event_at);
	add_str(o, "last_event_at", m->last_event_at);
	add_str(o, "archived_at", m->archived_at);
	add_str(o, "host", m->host);
	tools = cJSON_AddObjectToObject(o, "tools");
	add_str(tools, "rtrw-backup", m->tool_self);
	add_str(tools, "mariadb-dump", m->tool_dump);
	backup_library_versions(libs, sizeof(libs));
	add_str(tools, "libraries", libs);
	return o;
}

static int
get_str(const cJSON *o, const char *name, char *out, size_t n, int required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	out[0] = '\0';
	if (!v)
		return required ? -1 : 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= n)
		return -1;
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

/* Integers are written as raw literals by json_add_int(). */
static int
get_int(const cJSON *o, const char *name, int64_t min, int64_t max,
        int64_t *out, int required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	char text[32];

	*out = 0;
	if (!v)
		return required ? -1 : 0;
	/*
	 * cJSON keeps no literal; the double is exact for every size and id
	 * below 2^53, and anything else is refused.
	 */
	if (!cJSON_IsNumber(v) ||
	    !(v->valuedouble >= -9007199254740992.0 &&
	      v->valuedouble <= 9007199254740992.0) ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return -1;
	snprintf(text, sizeof(text), "%lld", (long long)v->valuedouble);
	return parse_int64(text, min, max, out);
}

static int
is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

int
backup_manifest_parse(struct backup_manifest *m, const char *text, size_t n,
                      char *err, size_t errlen)
{
	cJSON *o = cJSON_ParseWithLength(text, n), *tools;
	char kind[16], format[32];
	int64_t v, key_id, chunk, pb, fb, chunks;
	const char *bad = NULL;

	memset(m, 0, sizeof(*m));
	if (!o || !cJSON_IsObject(o)) {
		snprintf(err, errlen, "the manifest is not a JSON object");
		cJSON_Delete(o);
		return -1;
	}
	if (get_str(o, "format", format, sizeof(format), 1) < 0 ||
	    strcmp(format, "rtrw-backup") != 0)
		bad = "format";
	else if (get_int(o, "version", 1, 1, &v, 1) < 0)
		bad = "version";
	else if (get_str(o, "kind", kind, sizeof(kind), 1) < 0 ||
	         !(m->kind = backup_kind_parse(kind)))
		bad = "kind";
	else if (get_str(o, "file", m->file, sizeof(m->file), 1) < 0 ||
	         !m->file[0] || strchr(m->file, '/'))
		bad = "file";
	else if (get_int(o, "key_id", 1, BACKUP_KEY_IDS - 1, &key_id, 1) < 0)
		bad = "key_id";
	else if (get_int(o, "chunk_bytes", BACKUP_CHUNK_MIN, BACKUP_CHUNK_MAX,
	                 &chunk, 1) < 0)
		bad = "chunk_bytes";
	else if (get_int(o, "plain_bytes", 0, INT64_MAX, &pb, 1) < 0)
		bad = "plain_bytes";
	else if (get_int(o, "file_bytes", BACKUP_HEADER_LEN, INT64_MAX, &fb,
	                 1) < 0)
		bad = "file_bytes";
	else if (get_int(o, "chunks", 1, INT64_MAX, &chunks, 0) < 0)
		bad = "chunks";
	else if (get_str(o, "plain_sha256", m->stats.plain_sha256,
	                 sizeof(m->stats.plain_sha256), 1) < 0 ||
	         !is_hex64(m->stats.plain_sha256))
		bad = "plain_sha256";
	else if (get_str(o, "file_sha256", m->stats.file_sha256,
	                 sizeof(m->stats.file_sha256), 1) < 0 ||
	         !is_hex64(m->stats.file_sha256))
		bad = "file_sha256";
	else if (get_int(o, "id", 0, INT64_MAX, &m->id, 0) < 0)
		bad = "id";
	else if (get_str(o, "database", m->database, sizeof(m->database), 0) <
	         0)
		bad = "database";
	else if (get_int(o, "server_id", 0, UINT32_MAX, &m->server_id, 0) < 0)
		bad = "server_id";
	else if (get_str(o, "server_version", m->server_version,
	                 sizeof(m->server_version), 0) < 0)
		bad = "server_version";
	else if (get_str(o, "binlog_file", m->binlog_file,
	                 sizeof(m->binlog_file), 0) < 0 ||
	         strchr(m->binlog_file, '/'))
		bad = "binlog_file";
	else if (get_int(o, "binlog_pos", 0, INT64_MAX, &m->binlog_pos, 0) < 0)
		bad = "binlog_pos";
	else if (get_str(o, "gtid_pos", m->gtid_pos, sizeof(m->gtid_pos), 0) <
	         0)
		bad = "gtid_pos";
	else if (get_int(o, "schema_version", 0, 9999, &m->schema_version, 0) <
	         0)
		bad = "schema_version";
	else if (get_str(o, "started_at", m->started_at, sizeof(m->started_at),
	                 0) < 0 ||
	         get_str(o, "snapshot_at", m->snapshot_at,
	                 sizeof(m->snapshot_at), 0) < 0 ||
	         get_str(o, "finished_at", m->finished_at,
	                 sizeof(m->finished_at), 0) < 0 ||
	         get_str(o, "first_event_at", m->first_event_at,
	                 sizeof(m->first_event_at), 0) < 0 ||
	         get_str(o, "last_event_at", m->last_event_at,
	                 sizeof(m->last_event_at), 0) < 0 ||
	         get_str(o, "archived_at", m->archived_at,
	                 sizeof(m->archived_at), 0) < 0)
		bad = "a time";
	else if (get_str(o, "host", m->host, sizeof(m->host), 0) < 0)
		bad = "host";
	if (!bad) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "tables");

		if (t && !cJSON_IsArray(t))
			bad = "tables";
		for (const cJSON *e = t ? t->child : NULL; !bad && e;
		     e = e->next)
			if (!cJSON_IsString(e))
				bad = "tables";
		if (!bad && t)
			m->tables = cJSON_Duplicate(t, 1);
	}
	tools = cJSON_GetObjectItemCaseSensitive(o, "tools");
	if (!bad && cJSON_IsObject(tools)) {
		(void)get_str(tools, "mariadb-dump", m->tool_dump,
		              sizeof(m->tool_dump), 0);
		(void)get_str(tools, "rtrw-backup", m->tool_self,
		              sizeof(m->tool_self), 0);
	}
	cJSON_Delete(o);
	if (bad) {
		snprintf(err, errlen, "the manifest's %s is missing or invalid",
		         bad);
		backup_manifest_release(m);
		return -1;
	}
	m->key_id = (int)key_id;
	m->chunk_bytes = (uint32_t)chunk;
	m->stats.plain_bytes = (uint64_t)pb;
	m->stats.file_bytes = (uint64_t)fb;
	m->stats.chunks = (uint64_t)chunks;
	return 0;
}

void
backup_manifest_release(struct backup_manifest *m)
{
	cJSON_Delete(m->tables);
	m->tables = NULL;
}

void
backup_library_versions(char *out, size_t n)
{
	snprintf(out, n, "zstd %s, %s", ZSTD_versionString(),
	         OpenSSL_version(OPENSSL_VERSION));
}
