/*
 * The backup container (lib/backup.c): round trips of every size class,
 * and every kind of tampering the format promises to catch: a flipped
 * bit anywhere, truncation at and between chunk boundaries, reordered,
 * dropped, duplicated and foreign chunks, a moved final flag, appended
 * data, another key; plus the keyring's file checks and the manifest.
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "buf.h"
#include "util.h"
#include "tests/unit/unit.h"

#define CHUNK 4096

static struct backup_keyring ring;

static void
setup_ring(void)
{
	unsigned char k1[BACKUP_KEY_LEN], k2[BACKUP_KEY_LEN];

	memset(&ring, 0, sizeof(ring));
	for (int i = 0; i < BACKUP_KEY_LEN; i++) {
		k1[i] = (unsigned char)(i * 7 + 1);
		k2[i] = (unsigned char)(i * 11 + 3);
	}
	ck_assert_int_eq(backup_keyring_add(&ring, 1, k1), 0);
	ck_assert_int_eq(backup_keyring_add(&ring, 2, k2), 0);
}

/* Bytes that zstd cannot shrink, so that chunk counts are predictable. */
static unsigned char *
noise(size_t n, unsigned seed)
{
	unsigned char *p = xmalloc(n ? n : 1);
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

static int
memfd(void)
{
	int fd = memfd_create("backup-test", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Seals data with key id into a new buffer of *len bytes. */
static unsigned char *
seal(const void *data, size_t n, int key_id, uint32_t chunk, size_t *len,
     struct backup_stats *st)
{
	char err[256];
	int fd = memfd();
	struct backup_writer *w =
	    backup_writer_open(fd, backup_keyring_get(&ring, key_id), key_id,
	                       BACKUP_KIND_DUMP, 3, chunk, err, sizeof(err));
	unsigned char *out;
	struct stat sb;

	ck_assert_msg(w != NULL, "%s", err);
	/* Uneven writes: the framing must not depend on them. */
	for (size_t off = 0; off < n;) {
		size_t step = (off % 3 + 1) * 1000;

		if (step > n - off)
			step = n - off;
		ck_assert_int_eq(
		    backup_writer_write(w, (const char *)data + off, step), 0);
		off += step;
	}
	ck_assert_int_eq(backup_writer_finish(w, st), 0);
	backup_writer_free(w);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	*len = (size_t)sb.st_size;
	out = xmalloc(*len);
	ck_assert_int_eq(pread(fd, out, *len, 0), (ssize_t)*len);
	close(fd);
	return out;
}

/*
 * Reads a container from bytes.  Returns 0 when intact (data and stats
 * stored), -1 otherwise with the error in err.
 */
static int
open_bytes(const unsigned char *p, size_t n, unsigned char **data, size_t *dlen,
           struct backup_stats *st, char *err, size_t errlen)
{
	int fd = memfd();
	struct backup_reader *r;
	struct buf b = BUF_INIT(64 * 1024 * 1024);
	char tmp[1500];
	long got;
	int rc = -1;

	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	lseek(fd, 0, SEEK_SET);
	r = backup_reader_open(fd, &ring, err, errlen);
	if (!r)
		goto out_close;
	while ((got = backup_reader_read(r, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)got);
	if (got < 0) {
		snprintf(err, errlen, "%s", backup_reader_error(r));
	} else {
		rc = 0;
		if (st)
			backup_reader_stats(r, st);
	}
	backup_reader_free(r);
out_close:
	close(fd);
	if (data) {
		*dlen = b.len;
		*data = (unsigned char *)buf_detach(&b);
	} else {
		buf_release(&b);
	}
	return rc;
}

static void
sha256_hex(const void *p, size_t n, char out[BACKUP_SHA256_HEX])
{
	unsigned char d[32];
	unsigned int len;

	EVP_Digest(p, n, d, &len, EVP_sha256(), NULL);
	hex_encode(d, 32, out);
}

static void
round_trip(size_t n, int compressible)
{
	unsigned char *data =
	    compressible ? xcalloc(1, n ? n : 1) : noise(n, (unsigned)n);
	struct backup_stats ws, rs;
	unsigned char *file, *back;
	char err[256], want[BACKUP_SHA256_HEX];
	size_t len, blen;

	if (compressible)
		for (size_t i = 0; i < n; i++)
			data[i] = (unsigned char)("customer,"[i % 9]);
	file = seal(data, n, 1, CHUNK, &len, &ws);
	ck_assert_int_eq(ws.plain_bytes, n);
	ck_assert_int_eq(ws.file_bytes, len);
	sha256_hex(data, n, want);
	ck_assert_str_eq(ws.plain_sha256, want);
	sha256_hex(file, len, want);
	ck_assert_str_eq(ws.file_sha256, want);
	ck_assert_msg(
	    open_bytes(file, len, &back, &blen, &rs, err, sizeof(err)) == 0,
	    "size %zu: %s", n, err);
	ck_assert_int_eq(blen, n);
	ck_assert(n == 0 || memcmp(back, data, n) == 0);
	ck_assert_str_eq(rs.plain_sha256, ws.plain_sha256);
	ck_assert_str_eq(rs.file_sha256, ws.file_sha256);
	ck_assert_int_eq(rs.chunks, ws.chunks);
	ck_assert_int_eq(rs.file_bytes, len);
	/* The data itself never shows in the file. */
	if (n >= 16)
		ck_assert_ptr_null(memmem(file, len, data, 16));
	free(data);
	free(file);
	free(back);
}

START_TEST(round_trips)
{
	static const size_t sizes[] = {
	    0, 1, 100, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 50000, 200000};

	setup_ring();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		round_trip(sizes[i], 0);
		round_trip(sizes[i], 1);
	}
	/* A megabyte of text compresses into a few chunks. */
	round_trip(1024 * 1024, 1);
}
END_TEST

START_TEST(every_chunk_is_full_but_the_last)
{
	unsigned char *data = noise(5 * CHUNK, 9), *file;
	struct backup_stats st;
	size_t len, off = BACKUP_HEADER_LEN;
	uint64_t seen = 0;

	setup_ring();
	file = seal(data, 5 * CHUNK, 1, CHUNK, &len, &st);
	ck_assert_int_ge(st.chunks, 5);
	while (off < len) {
		uint32_t word = (uint32_t)file[off] << 24 |
		                (uint32_t)file[off + 1] << 16 |
		                (uint32_t)file[off + 2] << 8 | file[off + 3];
		int final = (word & 0x80000000u) != 0;
		uint32_t n = word & 0x7fffffffu;

		seen++;
		ck_assert_int_eq(final, seen == st.chunks);
		if (!final)
			ck_assert_int_eq(n, CHUNK);
		off += 4 + n + BACKUP_TAG_LEN;
	}
	ck_assert_int_eq(off, len);
	ck_assert_int_eq(seen, st.chunks);
	free(data);
	free(file);
}
END_TEST

static size_t
chunk_offsets(const unsigned char *file, size_t len, size_t *offs, size_t max)
{
	size_t off = BACKUP_HEADER_LEN, n = 0;

	while (off < len && n < max) {
		uint32_t word = (uint32_t)file[off] << 24 |
		                (uint32_t)file[off + 1] << 16 |
		                (uint32_t)file[off + 2] << 8 | file[off + 3];

		offs[n++] = off;
		off += 4 + (word & 0x7fffffffu) + BACKUP_TAG_LEN;
	}
	offs[n] = len;
	return n;
}

static void
expect_refused(const unsigned char *p, size_t n, const char *want,
               const char *what)
{
	char err[256] = "";

	ck_assert_msg(open_bytes(p, n, NULL, NULL, NULL, err, sizeof(err)) < 0,
	              "%s was accepted", what);
	if (want)
		ck_assert_msg(strstr(err, want) != NULL,
		              "%s: '%s' does not say '%s'", what, err, want);
}

/* Offsets of each chunk's length word; offs[n] is the file length. */
static size_t chunk_offsets(const unsigned char *file, size_t len, size_t *offs,
                            size_t max);
static void expect_refused(const unsigned char *p, size_t n, const char *want,
                           const char *what);

START_TEST(flipped_bits_are_caught_everywhere)
{
	unsigned char *data = noise(4 * CHUNK + 100, 3), *file, *bad, *hit;
	struct backup_stats st;
	size_t offs[64], n, len, tried = 0;

	setup_ring();
	file = seal(data, 4 * CHUNK + 100, 1, CHUNK, &len, &st);
	n = chunk_offsets(file, len, offs, 63);
	bad = xmalloc(len);
	hit = xcalloc(1, len);
	/*
	 * Every byte of the header; of each chunk its length word, the
	 * first and last ciphertext bytes and the whole tag; and a stride
	 * through the rest.  One flipped bit anywhere is refused.
	 */
	for (size_t i = 0; i < BACKUP_HEADER_LEN; i++)
		hit[i] = 1;
	for (size_t c = 0; c < n; c++) {
		for (size_t i = offs[c]; i < offs[c] + 12; i++)
			hit[i] = 1;
		for (size_t i = offs[c + 1] - BACKUP_TAG_LEN - 8;
		     i < offs[c + 1]; i++)
			hit[i] = 1;
	}
	for (size_t i = 0; i < len; i += 31)
		hit[i] = 1;
	for (size_t i = 0; i < len; i++) {
		if (!hit[i])
			continue;
		for (int bit = 0; bit < 8; bit += 7) {
			char what[64];

			memcpy(bad, file, len);
			bad[i] ^= (unsigned char)(1u << bit);
			snprintf(what, sizeof(what), "bit %d of byte %zu", bit,
			         i);
			expect_refused(bad, len, NULL, what);
			tried++;
		}
	}
	ck_assert_int_gt(tried, 2 * (BACKUP_HEADER_LEN + n * 36));
	/* The intact file still reads. */
	ck_assert_int_eq(
	    open_bytes(file, len, NULL, NULL, NULL, (char[64]){0}, 64), 0);
	free(hit);
	free(bad);
	free(data);
	free(file);
}
END_TEST

START_TEST(truncation_is_caught)
{
	unsigned char *data = noise(4 * CHUNK, 5), *file;
	struct backup_stats st;
	size_t offs[64], n, len;

	setup_ring();
	file = seal(data, 4 * CHUNK, 1, CHUNK, &len, &st);
	n = chunk_offsets(file, len, offs, 63);
	ck_assert_int_ge(n, 4);
	/* Cut exactly before a chunk: no final chunk. */
	for (size_t c = 1; c < n; c++)
		expect_refused(file, offs[c], "ends before its final chunk",
		               "cut at a chunk boundary");
	/* Cut inside a chunk, its length word, its tag. */
	for (size_t c = 0; c < n; c++) {
		expect_refused(file, offs[c] + 2, "truncated",
		               "cut in a length");
		if (offs[c] + 100 < offs[c + 1])
			expect_refused(file, offs[c] + 100, "truncated",
			               "cut in a chunk");
		expect_refused(file, offs[c + 1] - 1, "truncated",
		               "cut in a tag");
	}
	expect_refused(file, BACKUP_HEADER_LEN, "ends before its final chunk",
	               "header only");
	expect_refused(file, 20, "not a backup file", "half a header");
	expect_refused(file, 0, "not a backup file", "empty file");
	free(data);
	free(file);
}
END_TEST

/* Builds file with its chunks in the given order (indexes into offs). */
static unsigned char *
rechunk(const unsigned char *file, const size_t *offs, const size_t *order,
        size_t k, size_t *outlen)
{
	struct buf b = BUF_INIT(0);

	buf_add(&b, file, BACKUP_HEADER_LEN);
	for (size_t i = 0; i < k; i++)
		buf_add(&b, file + offs[order[i]],
		        offs[order[i] + 1] - offs[order[i]]);
	*outlen = b.len;
	return (unsigned char *)buf_detach(&b);
}

START_TEST(reordered_dropped_and_foreign_chunks_are_caught)
{
	unsigned char *data = noise(4 * CHUNK, 7), *file, *other, *bad;
	struct backup_stats st;
	size_t offs[64], ooffs[64], n, len, olen, blen;

	setup_ring();
	file = seal(data, 4 * CHUNK, 1, CHUNK, &len, &st);
	n = chunk_offsets(file, len, offs, 63);
	ck_assert_int_ge(n, 5);

	bad = rechunk(file, offs, (const size_t[]){0, 2, 1, 3, 4}, 5, &blen);
	expect_refused(bad, blen, "chunk 1 failed authentication", "swapped");
	free(bad);
	bad = rechunk(file, offs, (const size_t[]){0, 1, 3, 4}, 4, &blen);
	expect_refused(bad, blen, "chunk 2 failed authentication", "dropped");
	free(bad);
	bad = rechunk(file, offs, (const size_t[]){0, 1, 1, 2, 3, 4}, 6, &blen);
	expect_refused(bad, blen, "chunk 2 failed authentication", "repeated");
	free(bad);
	/* The final chunk moved in front of its place. */
	bad = rechunk(file, offs, (const size_t[]){0, 1, n - 1}, 3, &blen);
	expect_refused(bad, blen, "failed authentication", "final moved");
	free(bad);

	/* A chunk of another file sealed with the same key and data. */
	other = seal(data, 4 * CHUNK, 1, CHUNK, &olen, &st);
	chunk_offsets(other, olen, ooffs, 63);
	bad = xmalloc(len);
	memcpy(bad, file, len);
	memcpy(bad + offs[1], other + ooffs[1], offs[2] - offs[1]);
	expect_refused(bad, len, "chunk 1 failed authentication", "foreign");
	/* Another file's header in front of these chunks. */
	memcpy(bad, file, len);
	memcpy(bad, other, BACKUP_HEADER_LEN);
	expect_refused(bad, len, "chunk 0 failed authentication",
	               "foreign header");
	free(bad);

	/* Data after the final chunk; a final chunk appended twice. */
	bad = xmalloc(len + 100);
	memcpy(bad, file, len);
	memset(bad + len, 0, 100);
	expect_refused(bad, len + 1, "data after the final chunk", "one byte");
	expect_refused(bad, len + 100, "data after the final chunk", "100");
	free(bad);
	bad = rechunk(file, offs, (const size_t[]){0, 1, 2, 3, 4, 4}, 6, &blen);
	expect_refused(bad, blen, "data after the final chunk", "final twice");
	free(bad);

	/* The final flag set on a full chunk, cleared on the last. */
	bad = xmalloc(len);
	memcpy(bad, file, len);
	bad[offs[1]] |= 0x80;
	expect_refused(bad, len, "chunk 1 failed authentication",
	               "final flag set early");
	memcpy(bad, file, len);
	bad[offs[n - 1]] &= 0x7f;
	expect_refused(bad, len, "impossible length", "final flag cleared");
	free(bad);
	free(other);
	free(data);
	free(file);
}
END_TEST

START_TEST(keys_are_checked)
{
	unsigned char *data = noise(3000, 11), *file, *bad;
	unsigned char k[BACKUP_KEY_LEN];
	struct backup_keyring saved;
	struct backup_stats st;
	size_t len;

	setup_ring();
	file = seal(data, 3000, 2, CHUNK, &len, &st);
	ck_assert_int_eq(
	    open_bytes(file, len, NULL, NULL, NULL, (char[64]){0}, 64), 0);
	/* Key 2 replaced by another key: nothing opens. */
	saved = ring;
	memset(k, 0x5a, sizeof(k));
	k[0] = 1;
	backup_keyring_add(&ring, 2, k);
	expect_refused(file, len, "chunk 0 failed authentication", "wrong key");
	/* The header names a key the ring does not have. */
	ring = saved;
	bad = xmalloc(len);
	memcpy(bad, file, len);
	bad[10] = 9;
	expect_refused(bad, len, "sealed with key 9", "missing key");
	/* Pointing the header at another key of the ring fails too. */
	bad[10] = 1;
	expect_refused(bad, len, "failed authentication", "other key id");
	free(bad);
	backup_keyring_release(&ring);
	ck_assert_ptr_null(backup_keyring_get(&ring, 1));
	free(data);
	free(file);
}
END_TEST

START_TEST(header_fields_are_checked)
{
	unsigned char h[BACKUP_HEADER_LEN] = "RTRWBAK\n";
	struct backup_header out;
	char err[128];

	h[8] = 1;
	h[9] = 1;
	h[10] = 1;
	h[14] = 0x10; /* 4096 */
	ck_assert_int_eq(
	    backup_header_parse(h, sizeof(h), &out, err, sizeof(err)), 0);
	ck_assert_int_eq(out.chunk_bytes, 4096);
	h[8] = 2;
	ck_assert_int_eq(
	    backup_header_parse(h, sizeof(h), &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "version 2"));
	h[8] = 1;
	h[9] = 7;
	ck_assert_int_eq(
	    backup_header_parse(h, sizeof(h), &out, err, sizeof(err)), -1);
	h[9] = 2;
	h[14] = 0;
	h[15] = 10; /* 10 bytes: too small */
	ck_assert_int_eq(
	    backup_header_parse(h, sizeof(h), &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "chunk size"));
}
END_TEST

static void
write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static int
load(const char *dir, char *err, size_t n)
{
	struct backup_keyring kr;
	int rc = backup_keyring_load(&kr, dir, err, n);

	if (rc == 0)
		rc = kr.count;
	backup_keyring_release(&kr);
	return rc;
}

START_TEST(keyring_files_are_checked)
{
	char dir[] = "/tmp/rtrw-keyring-XXXXXX", err[512], path[600];
	static const char good[] = "00112233445566778899aabbccddeeff"
	                           "00112233445566778899aabbccddeef0\n";
	struct backup_keyring kr;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(load(dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "holds no key"));
	write_file(dir, "1.key", good, 0600);
	write_file(dir, "README", "not a key", 0644);
	write_file(dir, "1.key~", "junk", 0644);
	ck_assert_int_eq(load(dir, err, sizeof(err)), 1);
	ck_assert_int_eq(backup_keyring_load(&kr, dir, err, sizeof(err)), 0);
	ck_assert_int_eq(backup_keyring_get(&kr, 1)[0], 0x00);
	ck_assert_int_eq(backup_keyring_get(&kr, 1)[31], 0xf0);
	backup_keyring_release(&kr);

	write_file(dir, "2.key", good, 0640);
	ck_assert_int_eq(load(dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "readable by group or others"));
	write_file(dir, "2.key", "00112233\n", 0600);
	ck_assert_int_eq(load(dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "exactly 64 hex digits"));
	write_file(dir, "2.key",
	           "7777777777777777777777777777777777777777777777777777777777"
	           "777777",
	           0600);
	ck_assert_int_eq(load(dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "weak"));
	write_file(dir, "2.key",
	           "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433"
	           "221100",
	           0600);
	ck_assert_int_eq(load(dir, err, sizeof(err)), 2);
	write_file(dir, "0.key", good, 0600);
	ck_assert_int_eq(load(dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "key ids run from 1"));
	snprintf(path, sizeof(path), "%s/0.key", dir);
	unlink(path);
	chmod(dir, 0777);
	ck_assert_int_eq(load(dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "writable by group or others"));
	chmod(dir, 0700);
	ck_assert_int_eq(load(dir, err, sizeof(err)), 2);
	ck_assert_int_eq(load("/nonexistent/keys", err, sizeof(err)), -1);

	for (const char *n = "1.key\0"
	                     "2.key\0"
	                     "README\0"
	                     "1.key~\0";
	     *n; n += strlen(n) + 1) {
		snprintf(path, sizeof(path), "%s/%s", dir, n);
		unlink(path);
	}
	rmdir(dir);
}
END_TEST

START_TEST(manifest_round_trip)
{
	struct backup_manifest m, back;
	cJSON *j;
	char *text, err[128];

	memset(&m, 0, sizeof(m));
	m.kind = BACKUP_KIND_DUMP;
	m.id = 42;
	snprintf(m.file, sizeof(m.file), "20261127T101500Z-42.rbk");
	m.key_id = 3;
	m.chunk_bytes = BACKUP_CHUNK_DEFAULT;
	m.stats.plain_bytes = 123456789;
	m.stats.file_bytes = 2345678;
	m.stats.chunks = 3;
	memset(m.stats.plain_sha256, 'a', 64);
	memset(m.stats.file_sha256, 'b', 64);
	snprintf(m.database, sizeof(m.database), "rtrw");
	m.server_id = 7;
	snprintf(m.binlog_file, sizeof(m.binlog_file), "mysql-bin.000012");
	m.binlog_pos = 98765;
	m.schema_version = 10;
	m.tables = cJSON_CreateArray();
	cJSON_AddItemToArray(m.tables, cJSON_CreateString("customers"));
	snprintf(m.started_at, sizeof(m.started_at), "2026-11-27T10:15:00Z");
	j = backup_manifest_json(&m);
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	ck_assert_int_eq(
	    backup_manifest_parse(&back, text, strlen(text), err, sizeof(err)),
	    0);
	ck_assert_int_eq(back.id, 42);
	ck_assert_int_eq(back.key_id, 3);
	ck_assert_int_eq(back.stats.plain_bytes, 123456789);
	ck_assert_int_eq(back.stats.chunks, 3);
	ck_assert_str_eq(back.stats.file_sha256, m.stats.file_sha256);
	ck_assert_str_eq(back.binlog_file, "mysql-bin.000012");
	ck_assert_int_eq(back.binlog_pos, 98765);
	ck_assert_int_eq(back.schema_version, 10);
	ck_assert_str_eq(cJSON_GetArrayItem(back.tables, 0)->valuestring,
	                 "customers");
	ck_assert_str_eq(back.started_at, "2026-11-27T10:15:00Z");
	backup_manifest_release(&back);
	free(text);

	/* Required fields and their forms. */
	static const char *const broken[] = {
	    "[]",
	    "{\"format\":\"rtrw-backup\",\"version\":1,\"kind\":\"dump\"}",
	    "{\"format\":\"x\",\"version\":1}",
	    "{\"format\":\"rtrw-backup\",\"version\":1,\"kind\":\"dump\","
	    "\"file\":\"../etc/passwd\",\"key_id\":1,\"chunk_bytes\":4096,"
	    "\"plain_bytes\":1,\"file_bytes\":100,\"plain_sha256\":\""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\",\"file_sha256\":\""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\"}",
	    "{\"format\":\"rtrw-backup\",\"version\":1,\"kind\":\"dump\","
	    "\"file\":\"a.rbk\",\"key_id\":1,\"chunk_bytes\":4096,"
	    "\"plain_bytes\":1,\"file_bytes\":100,\"plain_sha256\":\"xyz\","
	    "\"file_sha256\":\"xyz\"}",
	    "{\"format\":\"rtrw-backup\",\"version\":1,\"kind\":\"dump\","
	    "\"file\":\"a.rbk\",\"key_id\":1e300,\"chunk_bytes\":4096}",
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		ck_assert_int_eq(backup_manifest_parse(&back, broken[i],
		                                       strlen(broken[i]), err,
		                                       sizeof(err)),
		                 -1);
		ck_assert_ptr_null(back.tables);
	}
	backup_manifest_release(&m);
}
END_TEST

UNIT_MAIN("backup", round_trips, every_chunk_is_full_but_the_last,
          flipped_bits_are_caught_everywhere, truncation_is_caught,
          reordered_dropped_and_foreign_chunks_are_caught, keys_are_checked,
          header_fields_are_checked, keyring_files_are_checked,
          manifest_round_trip)
