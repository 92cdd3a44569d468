/*
 * libFuzzer driver: RouterOS replies.  The input is what a router sends,
 * either as raw bytes or, when the first byte's top bit is set, as tokens
 * that each pick a well-formed word (reply words, tags 1-4, attributes,
 * raw words of a chosen length) or a stray byte, so that replies which
 * complete commands are found without a dictionary.  The bytes go to the
 * sentence parser in pieces whose size the first byte chooses (one byte
 * at a time included), then, through the memory transport, to a pipeline
 * of tagged commands between two calls (tags 1-4), with small
 * caps so that every limit is reachable and with the defaults.  Whatever
 * the bytes, nothing may crash, leak or read out of bounds, and a finished
 * command's status must be ok or trap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "routeros.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
parse(const uint8_t *data, size_t size, size_t piece)
{
	struct ros_parser p;
	size_t off = 0;

	ros_parser_init(&p, 256, 16, 1024);
	while (off < size) {
		size_t n = size - off < piece ? size - off : piece, used = 0;
		int rc = ros_parser_feed(&p, data + off, n, &used);

		if (rc < 0)
			break;
		if (used > n)
			abort();
		if (rc == 1) {
			for (size_t i = 0; i < p.nwords; i++)
				if (p.words[i].off + p.words[i].len >= p.len ||
				    p.buf[p.words[i].off + p.words[i].len])
					abort();
		}
		off += used;
	}
	ros_parser_release(&p);
}

/* A finished command's result must be whole. */
static void
check(const struct ros_result *res)
{
	if (res->status != ROS_OK && res->status != ROS_ERR_TRAP)
		abort();
	for (const struct ros_item *it = res->items; it; it = it->next)
		for (size_t k = 0; k < it->nattrs; k++)
			if (strlen(it->attrs[k].value) >
			        it->attrs[k].value_len ||
			    !ros_item_get(it, it->attrs[k].key))
				abort();
	if (res->ntraps && !res->traps)
		abort();
	(void)ros_result_message(res);
}

/*
 * A call (tag 1), a pipeline of two (tags 2 and 3), a call (tag 4): each
 * step that completes opens the next, which gives the fuzzer a path.
 */
static void
replies(const uint8_t *data, size_t size, size_t chunk,
        const struct ros_opts *o)
{
	struct arena a;
	struct ros_conn *c = ros_mem_open(o, data, size, chunk);
	struct ros_cmd *cmds[2];
	struct ros_result res[2], one;
	struct ros_error err;
	int rc;

	arena_init(&a, 4 * 1024 * 1024);
	rc = ros_call(c, ros_cmd_new(&a, "/ppp/secret/add"), &a, &one, &err);
	if (rc < 0 && err.code != ROS_ERR_TRAP)
		goto out;
	check(&one);
	cmds[0] = ros_cmd_new(&a, "/ppp/secret/print");
	cmds[1] = ros_cmd_new(&a, "/ppp/active/remove");
	if (ros_pipeline(c, cmds, 2, &a, res, &err) < 0)
		goto out;
	check(&res[0]);
	check(&res[1]);
	rc = ros_call(c, ros_cmd_new(&a, "/system/identity/print"), &a, &one,
	              &err);
	if (rc == 0 || err.code == ROS_ERR_TRAP)
		check(&one);
out:
	ros_close(c);
	arena_release(&a);
}

/* clang-format off */
static const char *const tokens[] = {
	"!re", "!done", "!trap", "!empty", "!fatal", "!later",
	".tag=1", ".tag=2", ".tag=3", ".tag=4", ".tag=x",
	"=ret=*1", "=message=no such item", "=category=2", "=category=9",
	"=name=alice", "=.id=*1F", "=", "==", "session terminated",
};
/* clang-format on */

/* Turns token bytes into a stream of words (see the top). */
static void
detokenize(const uint8_t *d, size_t n, struct buf *out)
{
	unsigned char hdr[5];

	for (size_t i = 0; i < n; i++) {
		unsigned t = d[i];

		if (t < 0x20) {
			buf_addch(out, '\0');
		} else if (t < 0x20 + sizeof(tokens) / sizeof(tokens[0])) {
			const char *w = tokens[t - 0x20];
			size_t len = strlen(w);

			buf_add(out, hdr, ros_len_encode((uint32_t)len, hdr));
			buf_add(out, w, len);
		} else if (t < 0xC0 && i + 1 < n) {
			/* A raw word of up to 255 bytes, or 16 times that. */
			size_t len = d[++i] * (t >= 0x80 ? 16 : 1);
			size_t have = n - i - 1 < len ? n - i - 1 : len;

			buf_add(out, hdr, ros_len_encode((uint32_t)len, hdr));
			buf_add(out, d + i + 1, have);
			i += have;
		} else {
			buf_addch(out, (char)t);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ros_opts small = {0};
	struct buf tok = BUF_INIT(1024 * 1024);
	size_t piece;

	if (size == 0)
		return 0;
	piece = data[0] % 8 + 1;
	if (data[0] & 0x80) {
		detokenize(data + 1, size - 1, &tok);
		data = (const uint8_t *)tok.s;
		size = tok.len;
	} else {
		data++;
		size--;
	}
	parse(data, size, piece);
	small.max_word = 256;
	small.max_words = 16;
	small.max_sentence = 1024;
	small.max_reply_bytes = 4096;
	small.max_inflight = 2;
	replies(data, size, piece, &small);
	replies(data, size, 0, NULL);
	buf_release(&tok);
	return 0;
}
