/*
 * A reader of MariaDB binary log files, just deep enough for archiving
 * them: it walks the event headers to check that a file is whole and to
 * learn the time range it covers, without decoding any event.
 *
 * A binary log is the magic bytes fe 62 69 6e ("\xfebin") followed by
 * events, each starting with a 19-byte header: timestamp (4 bytes, little
 * endian, seconds since the epoch), type (1), server id (4), event size
 * (4, header and checksum included), end position (4) and flags (2).  A
 * closed file ends with a ROTATE event (the server went on to the next
 * file) or a STOP event (it shut down); the ROTATE event's time is when
 * the file was closed, so [first event, last event] is exactly the
 * stretch of time the file covers.
 *
 * The scanner is fed the file in pieces of any size, so that it can run
 * on the same buffers that are being encrypted.
 */
#ifndef RTRW_BINLOG_H
#define RTRW_BINLOG_H

#include <stddef.h>
#include <stdint.h>

#define BINLOG_HEADER_LEN 19
#define BINLOG_EVENT_MAX  (1024u * 1024 * 1024 + 4096) /* max_allowed_packet */

/* Event types the scanner cares about. */
enum {
	BINLOG_STOP_EVENT = 3,
	BINLOG_ROTATE_EVENT = 4,
	BINLOG_FORMAT_DESCRIPTION_EVENT = 15,
	BINLOG_CHECKPOINT_EVENT = 161,
	BINLOG_GTID_EVENT = 162,
	BINLOG_GTID_LIST_EVENT = 163,
	BINLOG_START_ENCRYPTION_EVENT = 164,
};

struct binlog_scan {
	uint64_t offset; /* bytes fed so far */
	uint64_t events;
	int64_t first_at, last_at; /* event times, 0 until seen */
	int has_data;              /* any event that changes data (a GTID) */
	int last_type;             /* type of the last complete event */
	unsigned char hdr[BINLOG_HEADER_LEN];
	size_t hdr_have;
	uint64_t skip; /* bytes of the current event's body still to come */
	uint64_t event_start;
	int failed;
	char err[160];
};

/* Starts a scan of a file from its first byte. */
void binlog_scan_init(struct binlog_scan *s);

/* Feeds the next n bytes.  0, or -1 with s->err (not a binary log). */
int binlog_scan_feed(struct binlog_scan *s, const void *p, size_t n);

/*
 * Ends the scan.  For a closed file (closed = 1) the bytes must end at
 * an event boundary with a ROTATE or STOP event; for the file the server
 * is still writing (closed = 0) a partial last event is fine.  0, or -1
 * with s->err.
 */
int binlog_scan_finish(struct binlog_scan *s, int closed);

/*
 * The sequence number of a binary log name: "mysql-bin.000012" -> 12;
 * -1 when name is not BASE.NNNNNN (digits only after the last dot) or
 * contains a '/'.
 */
int64_t binlog_name_seq(const char *name);

#endif
