/*
 * The backup container: zstd-compressed data encrypted with AES-256-GCM in
 * authenticated chunks, and the keyring and manifest that go with it.
 * rtrw-backup writes database dumps and archived binary logs in it
 * (lib/backupjob.c); nothing here knows about MariaDB.
 *
 * A file is a 48-byte header followed by chunks:
 *
 *	offset size
 *	0      8    magic "RTRWBAK\n" (the newline catches text-mode copies)
 *	8      1    format version, 1
 *	9      1    kind: 1 database dump, 2 binary log
 *	10     1    key id, 1..255: which key of the keyring sealed the file
 *	11     1    reserved, 0
 *	12     4    chunk size in bytes, big-endian (BACKUP_CHUNK_MIN..MAX)
 *	16     32   file nonce, random for every file
 *
 *	chunk: 4-byte big-endian length L | L bytes ciphertext | 16-byte tag
 *	       The top bit of the length marks the final chunk; L (the other
 *	       31 bits) is at most the chunk size.  Every chunk but the
 *	       final one is exactly the chunk size long.
 *
 * The plaintext of the chunks, concatenated, is one zstd frame (with
 * zstd's own content checksum) of the data.
 *
 * Keys.  Nothing is encrypted with a keyring key directly: each file gets
 * its own AES key and nonce base from HKDF-SHA256 (key = the keyring key,
 * salt = the file nonce, info = "rtrw-backup v1" and the whole header).
 * Chunk i is sealed with nonce = nonce base XOR i (as a 96-bit big-endian
 * number) and the associated data header | i (8 bytes, big-endian) |
 * final flag (1 byte).  So a chunk moved to another position or into
 * another file, a header changed in any byte (key id, chunk size, kind),
 * a final chunk cut off (truncation), a non-final chunk presented as the
 * last, data appended after the final chunk, and any flipped bit fail to
 * open, each with its own message.  Nonces never repeat under one key:
 * a random 256-bit salt gives each file its own key.
 *
 * Key rotation: the keyring is a directory of files named "<id>.key"
 * (1..255), each a regular file of mode 0600 or stricter holding 64 hex
 * digits, in a directory that others cannot write.  New files use the
 * configured key id; old files name the key that opens them in their
 * header, so a key may be removed once no kept file uses it
 * (rtrw-backup keys says which are in use).
 */
#ifndef RTRW_BACKUP_H
#define RTRW_BACKUP_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define BACKUP_MAGIC         "RTRWBAK\n"
#define BACKUP_VERSION       1
#define BACKUP_HEADER_LEN    48
#define BACKUP_NONCE_LEN     32
#define BACKUP_TAG_LEN       16
#define BACKUP_KEY_LEN       32
#define BACKUP_KEY_IDS       256 /* ids 1..255 */
#define BACKUP_CHUNK_MIN     4096
#define BACKUP_CHUNK_MAX     (16 * 1024 * 1024)
#define BACKUP_CHUNK_DEFAULT (1024 * 1024)
#define BACKUP_SHA256_HEX    65 /* 64 hex digits and a NUL */

enum backup_kind {
	BACKUP_KIND_DUMP = 1,
	BACKUP_KIND_BINLOG = 2,
};

/* The keys of a key directory, indexed by id; wipe with _release(). */
struct backup_keyring {
	unsigned char key[BACKUP_KEY_IDS][BACKUP_KEY_LEN];
	unsigned char present[BACKUP_KEY_IDS];
	int count;
};

/*
 * Loads every "<id>.key" file of dir into kr (other names are ignored,
 * so an editor's backup file does no harm).  The directory must not be
 * writable by group or others, and each key file must be a regular file
 * without group or other permission bits holding exactly 64 hex digits
 * (a trailing newline is allowed) that are not all the same byte.  An
 * empty directory is an error.  Returns 0, or -1 with a sentence in err
 * naming the file at fault; kr is wiped on error.
 */
int backup_keyring_load(struct backup_keyring *kr, const char *dir, char *err,
                        size_t errlen);

/* Adds one key (tests, tools); id 1..255.  0 or -1. */
int backup_keyring_add(struct backup_keyring *kr, int id,
                       const unsigned char key[BACKUP_KEY_LEN]);

/* The key with this id, or NULL. */
const unsigned char *backup_keyring_get(const struct backup_keyring *kr,
                                        int id);

/* Wipes every key (explicit_bzero). */
void backup_keyring_release(struct backup_keyring *kr);

/* A parsed header. */
struct backup_header {
	int version;
	int kind;
	int key_id;
	uint32_t chunk_bytes;
	unsigned char nonce[BACKUP_NONCE_LEN];
};

/* What a writer wrote or a reader read: sizes and SHA-256 digests. */
struct backup_stats {
	uint64_t plain_bytes; /* the data before compression */
	uint64_t file_bytes;  /* the container, header included */
	uint64_t chunks;
	char plain_sha256[BACKUP_SHA256_HEX];
	char file_sha256[BACKUP_SHA256_HEX];
};

struct backup_writer;

/*
 * Starts a container on fd (opened for writing, positioned at its start):
 * writes the header with a fresh random nonce and derives the file key
 * from key (the keyring key of key_id, copied and wiped by the writer).
 * level is the zstd level (1..19); chunk_bytes is the chunk size
 * (BACKUP_CHUNK_MIN..BACKUP_CHUNK_MAX).  The fd stays the caller's.
 * Returns the writer, or NULL with err.
 */
struct backup_writer *backup_writer_open(int fd, const unsigned char *key,
                                         int key_id, enum backup_kind kind,
                                         int level, uint32_t chunk_bytes,
                                         char *err, size_t errlen);

/* Compresses, seals and writes n bytes of data.  0, or -1 with err. */
int backup_writer_write(struct backup_writer *w, const void *data, size_t n);

/*
 * Ends the zstd frame, writes the final chunk and fills st.  Does not
 * fsync or close fd.  0, or -1 with backup_writer_error().
 */
int backup_writer_finish(struct backup_writer *w, struct backup_stats *st);

/* The last error of w, a sentence. */
const char *backup_writer_error(const struct backup_writer *w);

/* Wipes the keys and frees w (NULL is fine). */
void backup_writer_free(struct backup_writer *w);

struct backup_reader;

/*
 * Reads and checks the header of the container on fd and derives the
 * file key from the keyring key it names.  Returns the reader, or NULL
 * with a sentence in err (not a backup file, unsupported version, a key
 * id missing from kr, a chunk size out of range).
 */
struct backup_reader *backup_reader_open(int fd,
                                         const struct backup_keyring *kr,
                                         char *err, size_t errlen);

/* The header of an open reader. */
const struct backup_header *backup_reader_header(const struct backup_reader *r);

/*
 * Reads up to cap bytes of the original data.  Returns how many (> 0),
 * 0 once the whole file has been read and found intact (final chunk
 * seen, zstd frame complete, nothing after it), or -1 with
 * backup_reader_error() naming the chunk at fault.  Data returned before
 * an error is authentic but the rest is missing: a caller that must not
 * act on part of a file reads it to the end first.
 */
long backup_reader_read(struct backup_reader *r, void *buf, size_t cap);

/* Sizes and digests; complete once backup_reader_read() returned 0. */
void backup_reader_stats(const struct backup_reader *r,
                         struct backup_stats *st);

const char *backup_reader_error(const struct backup_reader *r);

/* Wipes the keys and frees r (NULL is fine); fd stays the caller's. */
void backup_reader_free(struct backup_reader *r);

/* Parses a header; 0, or -1 with err. */
int backup_header_parse(const unsigned char *p, size_t n,
                        struct backup_header *h, char *err, size_t errlen);

/* "dump" or "binlog" (NULL for other values) and back (0 if unknown). */
const char *backup_kind_name(int kind);
int backup_kind_parse(const char *name);

/*
 * The manifest: what a container holds, written next to it as
 * "<file>.json" and kept in the backups table.  Fields of a database
 * dump: format, version, kind, id, file, key_id, chunk_bytes,
 * compression, cipher, plain_bytes, plain_sha256, file_bytes,
 * file_sha256, database, server_id, server_version, binlog_file,
 * binlog_pos, gtid_pos, schema_version, tables, started_at, snapshot_at,
 * finished_at, host, tools {rtrw-backup, mariadb-dump, zstd, openssl}.
 * A binary log: the same sizes and digests, server_id, binlog_file,
 * first_event_at, last_event_at, archived_at.  Times are RFC 3339 UTC.
 * String fields that do not apply are "" and numbers 0; they are written
 * out only when set.
 */
struct backup_manifest {
	int kind;
	int64_t id;
	char file[256];
	int key_id;
	uint32_t chunk_bytes;
	struct backup_stats stats;
	char database[65];
	int64_t server_id;
	char server_version[128];
	char binlog_file[256];
	int64_t binlog_pos;
	char gtid_pos[256];
	int64_t schema_version;
	cJSON *tables; /* array of table names, owned; NULL when none */
	char started_at[32];
	char snapshot_at[32];
	char finished_at[32];
	char first_event_at[32];
	char last_event_at[32];
	char archived_at[32];
	char host[256];
	char tool_dump[256];
	char tool_self[64];
};

/* Builds the JSON object of m (caller deletes it). */
cJSON *backup_manifest_json(const struct backup_manifest *m);

/*
 * Reads a manifest from JSON text.  Unknown fields are ignored (newer
 * tools may add some); missing required ones (kind, file, key_id, sizes,
 * digests) are an error.  m->tables is owned by m: release with
 * backup_manifest_release().  0, or -1 with err.
 */
int backup_manifest_parse(struct backup_manifest *m, const char *text, size_t n,
                          char *err, size_t errlen);

void backup_manifest_release(struct backup_manifest *m);

/* The version strings of the libraries: "zstd 1.5.4, OpenSSL 3.0.19". */
void backup_library_versions(char *out, size_t n);

#endif
