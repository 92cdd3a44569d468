/*
 * bench_events: many idle WebSocket clients on one rtrw-events daemon.
 *
 *   bench_events --config FILE --port PORT --tenant ID --token JWT
 *                --pid PID [--connections N] [--rounds N]
 *
 * Opens N connections straight to the daemon's loopback port (nginx
 * would hold two descriptors per client and is not what is measured),
 * each with the WebSocket handshake and ?token=, and keeps them idle
 * (answering pings).  It reads the daemon's VmRSS before and after.
 * Then, --rounds times, it commits one event through event_emit() in a
 * transaction of tenant ID, exactly as the API does (the commit nudges
 * the daemon), and measures from the end of the COMMIT to the moment each
 * client has read the event.  Prints a markdown table (stdout); exit 1
 * when a client failed or missed an event.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "events.h"
#include "log.h"
#include "store/registry.h"
#include "tdb.h"
#include "util.h"

#define RXBUF 8192

enum cstate { S_CONNECTING, S_HANDSHAKE, S_OPEN, S_DEAD };

struct client {
	int fd;
	enum cstate st;
	char rx[RXBUF];
	size_t len;
	int got;            /* events of the current round received */
	int64_t latency_us; /* of the current round */
};

static struct client *clients;
static int nclients;
static int ep;

static long
rss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sends a masked pong with the ping's payload (RFC 6455: clients mask). */
static void
send_pong(struct client *c, const unsigned char *payload, size_t n)
{
	unsigned char f[2 + 4 + 125];

	if (n > 125)
		n = 125;
	f[0] = 0x8a;
	f[1] = (unsigned char)(0x80 | n);
	memset(f + 2, 0, 4); /* a zero mask leaves the payload as it is */
	memcpy(f + 6, payload, n);
	if (write(c->fd, f, 6 + n) < 0)
		c->st = S_DEAD;
}

/* Consumes whole frames from c->rx; counts event frames. */
static void
parse_frames(struct client *c, int64_t t0)
{
	size_t off = 0;

	for (;;) {
		unsigned char *p = (unsigned char *)c->rx + off;
		size_t left = c->len - off, hdr = 2, n;

		if (left < 2)
			break;
		n = p[1] & 0x7f;
		if (n == 126) {
			if (left < 4)
				break;
			n = ((size_t)p[2] << 8) | p[3];
			hdr = 4;
		} else if (n == 127) {
			c->st = S_DEAD; /* nothing this large is ever sent */
			return;
		}
		if (left < hdr + n)
			break;
		if ((p[0] & 0x0f) == 0x9)
			send_pong(c, p + hdr, n);
		else if ((p[0] & 0x0f) == 0x8)
			c->st = S_DEAD;
		else if ((p[0] & 0x0f) == 0x1 &&
		         memmem(p + hdr, n, "\"event\"", 7)) {
			if (!c->got++)
				c->latency_us = now_usec() - t0;
		}
		off += hdr + n;
	}
	memmove(c->rx, c->rx + off, c->len - off);
	c->len -= off;
}

static void
on_readable(struct client *c, int64_t t0)
{
	for (;;) {
		ssize_t n = read(c->fd, c->rx + c->len, RXBUF - c->len);

		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			c->st = S_DEAD;
			return;
		}
		if (n < 0)
			return;
		c->len += (size_t)n;
		if (c->st == S_HANDSHAKE) {
			char *end = memmem(c->rx, c->len, "\r\n\r\n", 4);

			if (!end)
				continue;
			if (strncmp(c->rx, "HTTP/1.1 101", 12) != 0) {
				c->st = S_DEAD;
				return;
			}
			end += 4;
			c->len -= (size_t)(end - c->rx);
			memmove(c->rx, end, c->len);
			c->st = S_OPEN;
		}
		parse_frames(c, t0);
		if (c->len == RXBUF)
			c->len = 0;
	}
}

static int
open_client(struct client *c, int port, const char *token)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct epoll_event ev = {.events = EPOLLIN};
	char req[2048];
	int n, one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	n = snprintf(req, sizeof(req),
	             "GET /ws?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	             "Sec-WebSocket-Version: 13\r\n\r\n",
	             token);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    write(c->fd, req, (size_t)n) != n)
		return -1;
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	c->st = S_HANDSHAKE;
	ev.data.ptr = c;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Runs the loop until pred() or the deadline; returns pred()'s value. */
static int
pump(int64_t deadline_us, int64_t t0, int (*pred)(void))
{
	struct epoll_event evs[256];

	while (!pred() && now_usec() < deadline_us) {
		int n = epoll_wait(ep, evs, 256, 20);

		for (int i = 0; i < n; i++)
			on_readable(evs[i].data.ptr, t0);
	}
	return pred();
}

static int
all_open(void)
{
	for (int i = 0; i < nclients; i++)
		if (clients[i].st == S_HANDSHAKE)
			return 0;
	return 1;
}

static int
all_got(void)
{
	for (int i = 0; i < nclients; i++)
		if (clients[i].st == S_OPEN && !clients[i].got)
			return 0;
	return 1;
}

static int
count(enum cstate st)
{
	int n = 0;

	for (int i = 0; i < nclients; i++)
		n += clients[i].st == st;
	return n;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"port", required_argument, NULL, 'p'},
	    {"tenant", required_argument, NULL, 't'},
	    {"token", required_argument, NULL, 'k'},
	    {"pid", required_argument, NULL, 'P'},
	    {"connections", required_argument, NULL, 'n'},
	    {"rounds", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *token = NULL;
	int64_t port = 0, tenant = 0, pid = 0, conns = 5000, rounds = 5;
	int64_t *lat, t_open;
	long rss0, rss1;
	struct rlimit rl;
	struct config cfg;
	struct arena a;
	struct db *db;
	char err[512];
	int c, rc = 0, failed_open;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int64_t *dst = c == 'p'   ? &port
		               : c == 't' ? &tenant
		               : c == 'P' ? &pid
		               : c == 'n' ? &conns
		               : c == 'r' ? &rounds
		                          : NULL;

		if (c == 'c')
			config_path = optarg;
		else if (c == 'k')
			token = optarg;
		else if (!dst || parse_int64(optarg, 1, 1000000, dst) < 0) {
			fprintf(stderr, "bench_events: bad arguments\n");
			return 2;
		}
	}
	if (!port || !tenant || !pid || !token) {
		fprintf(stderr, "usage: bench_events --config FILE --port PORT "
		                "--tenant ID --token JWT --pid PID "
		                "[--connections N] [--rounds N]\n");
		return 2;
	}
	log_setup("bench_events", LOG_WARN);
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_events: %s\n", err);
		return 1;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if ((int64_t)rl.rlim_cur < conns + 64) {
			fprintf(stderr,
			        "bench_events: ulimit -n %ld is below %" PRId64
			        " connections\n",
			        (long)rl.rlim_cur, conns);
			return 1;
		}
	}
	nclients = (int)conns;
	clients = xcalloc((size_t)nclients, sizeof(*clients));
	lat = xcalloc((size_t)nclients, sizeof(*lat));
	ep = epoll_create1(0);
	rss0 = rss_kb((long)pid);
	t_open = now_usec();
	/* In slices, so that the listen backlog never overflows. */
	for (int i = 0; i < nclients; i += 200) {
		for (int k = i; k < nclients && k < i + 200; k++)
			if (open_client(&clients[k], (int)port, token) < 0)
				clients[k].st = S_DEAD;
		pump(now_usec() + 10000000, 0, all_open);
	}
	t_open = now_usec() - t_open;
	failed_open = count(S_DEAD);
	/* Past the resume grace of every connection, then the memory. */
	pump(now_usec() + 1000000, 0, all_got);
	usleep(500000);
	rss1 = rss_kb((long)pid);

	printf("| WebSocket: idle connections | %d open, %d failed, "
	       "opened in %.1f s |\n",
	       count(S_OPEN), failed_open, (double)t_open / 1e6);
	printf("| rtrw-events RSS | %.1f MB before, %.1f MB with them "
	       "(%.1f kB a connection) |\n",
	       rss0 / 1024.0, rss1 / 1024.0,
	       count(S_OPEN) ? (double)(rss1 - rss0) / count(S_OPEN) : 0.0);
	if (failed_open)
		rc = 1;

	if (store_register(err, sizeof(err)) < 0 ||
	    !(db = db_open(&cfg, DB_ACCOUNT_APP, err, sizeof(err)))) {
		fprintf(stderr, "bench_events: %s\n", err);
		return 1;
	}
	arena_init(&a, 1 << 20);
	for (int64_t r = 0; r < rounds; r++) {
		struct tdb *t = tdb_open(db, &a, tenant);
		cJSON *data = cJSON_CreateObject();
		int64_t t0;
		int n = 0, missed = 0;

		for (int i = 0; i < nclients; i++)
			clients[i].got = 0;
		cJSON_AddBoolToObject(data, "bench", 1);
		cJSON_AddNumberToObject(data, "round", (double)r);
		if (!t || tdb_begin(t) < 0 ||
		    event_emit(t, "monitoring:update", NULL, 0, data) < 0 ||
		    tdb_commit(t) < 0) {
			fprintf(stderr, "bench_events: emitting failed\n");
			return 1;
		}
		t0 = now_usec();
		cJSON_Delete(data);
		pump(t0 + 10000000, t0, all_got);
		for (int i = 0; i < nclients; i++) {
			if (clients[i].st != S_OPEN)
				continue;
			if (clients[i].got)
				lat[n++] = clients[i].latency_us;
			else
				missed++;
		}
		qsort(lat, (size_t)n, sizeof(*lat), cmp64);
		printf("| event %" PRId64 " to all | %d received, %d missed: "
		       "p50 %.1f ms, p99 %.1f ms, last %.1f ms |\n",
		       r + 1, n, missed, n ? lat[n / 2] / 1000.0 : 0.0,
		       n ? lat[(n * 99) / 100] / 1000.0 : 0.0,
		       n ? lat[n - 1] / 1000.0 : 0.0);
		if (missed || n == 0)
			rc = 1;
		arena_reset(&a);
		usleep(200000);
	}
	arena_release(&a);
	db_close(db);
	for (int i = 0; i < nclients; i++)
		if (clients[i].fd > 0)
			close(clients[i].fd);
	free(clients);
	free(lat);
	config_wipe(&cfg);
	return rc;
}
