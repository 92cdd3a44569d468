#include "binlog.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static const unsigned char magic[4] = {0xfe, 0x62, 0x69, 0x6e};

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void
binlog_scan_init(struct binlog_scan *s)
{
	memset(s, 0, sizeof(*s));
	s->last_type = -1;
}

static int
scan_fail(struct binlog_scan *s, const char *what)
{
	if (!s->failed)
		snprintf(s->err, sizeof(s->err), "%s at byte %llu", what,
		         (unsigned long long)s->event_start);
	s->failed = 1;
	return -1;
}

/* A whole event header has arrived: check it and note what it says. */
static int
scan_header(struct binlog_scan *s)
{
	uint32_t ts = le32(s->hdr), size = le32(s->hdr + 9);
	uint32_t end = le32(s->hdr + 13);
	int type = s->hdr[4];

	if (size < BINLOG_HEADER_LEN || size > BINLOG_EVENT_MAX)
		return scan_fail(s, "impossible event size");
	/* The end position, when set, is where this event ends. */
	if (end != 0 && end != (uint32_t)(s->event_start + size))
		return scan_fail(s, "event position does not match its offset");
	if (s->events == 0 && type != BINLOG_FORMAT_DESCRIPTION_EVENT)
		return scan_fail(s, "the first event is not a format "
		                    "description");
	if (type == BINLOG_START_ENCRYPTION_EVENT)
		return scan_fail(s, "encrypted binary logs are not supported");
	if (ts != 0) {
		if (s->first_at == 0)
			s->first_at = ts;
		if ((int64_t)ts > s->last_at)
			s->last_at = ts;
	}
	if (type == BINLOG_GTID_EVENT)
		s->has_data = 1;
	s->last_type = type;
	s->events++;
	s->skip = size - BINLOG_HEADER_LEN;
	s->hdr_have = 0;
	return 0;
}

int
binlog_scan_feed(struct binlog_scan *s, const void *data, size_t n)
{
	const unsigned char *p = data;

	if (s->failed)
		return -1;
	while (n > 0) {
		if (s->offset < 4) {
			if (*p != magic[s->offset])
				return scan_fail(s, "not a binary log (bad "
				                    "magic)");
			s->offset++;
			s->event_start = s->offset;
			p++;
			n--;
			continue;
		}
		if (s->skip > 0) {
			size_t k = s->skip < n ? (size_t)s->skip : n;

			s->skip -= k;
			s->offset += k;
			p += k;
			n -= k;
			if (s->skip == 0)
				s->event_start = s->offset;
			continue;
		}
		{
			size_t k = BINLOG_HEADER_LEN - s->hdr_have;

			if (k > n)
				k = n;
			memcpy(s->hdr + s->hdr_have, p, k);
			s->hdr_have += k;
			s->offset += k;
			p += k;
			n -= k;
			if (s->hdr_have == BINLOG_HEADER_LEN &&
			    scan_header(s) < 0)
				return -1;
			/* An event of a bare header ends here. */
			if (s->hdr_have == 0 && s->skip == 0)
				s->event_start = s->offset;
		}
	}
	return 0;
}

int
binlog_scan_finish(struct binlog_scan *s, int closed)
{
	if (s->failed)
		return -1;
	if (s->offset < 4)
		return scan_fail(s, "not a binary log (too short)");
	if (!closed)
		return 0;
	if (s->hdr_have != 0 || s->skip != 0)
		return scan_fail(s, "the file ends inside an event");
	if (s->last_type != BINLOG_ROTATE_EVENT &&
	    s->last_type != BINLOG_STOP_EVENT)
		return scan_fail(s, "the file does not end with a rotate or "
		                    "stop event (not closed)");
	return 0;
}

int64_t
binlog_name_seq(const char *name)
{
	const char *dot = strrchr(name, '.');
	int64_t seq;

	if (!dot || dot == name || strchr(name, '/') || strlen(dot + 1) < 1 ||
	    strspn(dot + 1, "0123456789") != strlen(dot + 1) ||
	    parse_int64(dot + 1, 0, INT64_MAX, &seq) < 0)
		return -1;
	return seq;
}
