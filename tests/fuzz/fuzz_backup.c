/*
 * libFuzzer driver: the readers of files that may be damaged or forged.
 * The first byte picks the target:
 *   0  the rest as a whole container (header, chunks) read to the end
 *   1  a real container of the rest, sealed here, with one byte at a
 *      position taken from the input flipped: it must never read intact
 *   2  the rest as a manifest (JSON)
 *   3  the rest as a binary log, closed and open
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backup.h"
#include "binlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct backup_keyring ring;

/* Reads the container in fd to its end; 0 intact, -1 refused. */
static int
read_all(int fd)
{
	char err[256], buf[4096];
	struct backup_reader *r;
	long got;

	lseek(fd, 0, SEEK_SET);
	r = backup_reader_open(fd, &ring, err, sizeof(err));
	if (!r)
		return -1;
	while ((got = backup_reader_read(r, buf, sizeof(buf))) > 0)
		;
	backup_reader_free(r);
	return got == 0 ? 0 : -1;
}

static void
sealed_then_flipped(int fd, const uint8_t *data, size_t size)
{
	struct backup_stats st;
	struct backup_writer *w;
	char err[256];
	size_t pos;
	off_t len;
	unsigned char b;

	if (size < 2)
		return;
	pos = (size_t)data[0] << 8 | data[1];
	w = backup_writer_open(fd, backup_keyring_get(&ring, 1), 1,
	                       BACKUP_KIND_DUMP, 1, BACKUP_CHUNK_MIN, err,
	                       sizeof(err));
	if (!w)
		abort();
	if (backup_writer_write(w, data + 2, size - 2) < 0 ||
	    backup_writer_finish(w, &st) < 0)
		abort();
	backup_writer_free(w);
	if (read_all(fd) != 0)
		abort(); /* the intact file must read */
	len = lseek(fd, 0, SEEK_END);
	pos %= (size_t)len;
	if (pread(fd, &b, 1, (off_t)pos) != 1)
		abort();
	b ^= 0x01;
	if (pwrite(fd, &b, 1, (off_t)pos) != 1)
		abort();
	if (read_all(fd) == 0)
		abort(); /* a flipped bit went unnoticed */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd;

	if (!ring.count) {
		unsigned char k[BACKUP_KEY_LEN];

		for (int i = 0; i < BACKUP_KEY_LEN; i++)
			k[i] = (unsigned char)(i * 13 + 7);
		backup_keyring_add(&ring, 1, k);
	}
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
	case 1:
		fd = memfd_create("fuzz", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		if (data[0] % 4 == 0) {
			if (write(fd, data + 1, size - 1) !=
			    (ssize_t)(size - 1))
				abort();
			(void)read_all(fd);
		} else {
			sealed_then_flipped(fd, data + 1, size - 1);
		}
		close(fd);
		break;
	case 2: {
		struct backup_manifest m;
		char err[256];

		if (backup_manifest_parse(&m, (const char *)data + 1, size - 1,
		                          err, sizeof(err)) == 0)
			backup_manifest_release(&m);
		break;
	}
	case 3: {
		struct binlog_scan s;

		binlog_scan_init(&s);
		if (binlog_scan_feed(&s, data + 1, size - 1) == 0)
			(void)binlog_scan_finish(&s, data[0] & 4);
		break;
	}
	}
	return 0;
}
