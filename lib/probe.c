#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

enum { ST_PENDING, ST_ICMP, ST_TCP, ST_DONE };

#define ICMP_ECHO_REQUEST  8
#define ICMP_ECHO_REPLY    0
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY   129
#define PROBE_MAX_INFLIGHT 512

/* An echo request: type, code, checksum, id, sequence, then a payload. */
struct echo {
	uint8_t type, code;
	uint16_t cksum, id, seq;
	char payload[16];
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fills ss from an IP literal; the address length, or 0 if not one. */
static socklen_t
parse_addr(const char *host, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!host)
		return 0;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		return sizeof(*v4);
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		return sizeof(*v6);
	}
	return 0;
}

static void
close_fd(struct probe_target *t)
{
	if (t->fd_ >= 0)
		close(t->fd_);
	t->fd_ = -1;
}

static void
finish(struct probe_target *t)
{
	close_fd(t);
	t->state_ = ST_DONE;
	if (t->bad_address)
		t->verdict = PROBE_UNDETERMINED;
	else if (t->port > 0)
		t->verdict =
		    t->tcp == PROBE_TCP_OPEN ? PROBE_ONLINE : PROBE_OFFLINE;
	else if (t->icmp == PROBE_ICMP_REPLY)
		t->verdict = PROBE_ONLINE;
	else if (t->icmp == PROBE_ICMP_NO_REPLY)
		t->verdict = PROBE_OFFLINE;
	else
		t->verdict = PROBE_UNDETERMINED;
}

static enum probe_tcp
tcp_error(int err)
{
	switch (err) {
	case 0:
		return PROBE_TCP_OPEN;
	case ECONNREFUSED:
		return PROBE_TCP_REFUSED;
	case ETIMEDOUT:
		return PROBE_TCP_TIMEOUT;
	default:
		return PROBE_TCP_ERROR;
	}
}

static void
start_tcp(struct probe_target *t, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t len;

	close_fd(t);
	if (t->port <= 0 || t->port > 65535) {
		t->tcp = PROBE_TCP_SKIPPED;
		finish(t);
		return;
	}
	len = parse_addr(t->host, t->port, &ss);
	t->fd_ =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd_ < 0) {
		t->tcp = PROBE_TCP_ERROR;
		finish(t);
		return;
	}
	t->started_ = now_ms();
	t->deadline_ = t->started_ + timeout_ms;
	if (connect(t->fd_, (struct sockaddr *)&ss, len) == 0) {
		t->tcp = PROBE_TCP_OPEN;
		t->tcp_ms = 0;
		finish(t);
		return;
	}
	if (errno != EINPROGRESS) {
		t->tcp = tcp_error(errno);
		finish(t);
		return;
	}
	t->state_ = ST_TCP;
}

static void
start(struct probe_target *t, int timeout_ms)
{
	struct sockaddr_storage ss;
	struct echo e;
	socklen_t len;
	int proto;

	t->icmp = PROBE_ICMP_SKIPPED;
	t->tcp = PROBE_TCP_SKIPPED;
	t->verdict = PROBE_UNDETERMINED;
	t->icmp_ms = t->tcp_ms = -1;
	t->fd_ = -1;
	len = parse_addr(t->host, 0, &ss);
	if (!len) {
		t->bad_address = 1;
		finish(t);
		return;
	}
	t->bad_address = 0;
	proto = ss.ss_family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	t->fd_ = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                proto);
	if (t->fd_ < 0) {
		/* EACCES: outside net.ipv4.ping_group_range. */
		t->icmp = PROBE_ICMP_UNAVAILABLE;
		start_tcp(t, timeout_ms);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.type =
	    ss.ss_family == AF_INET ? ICMP_ECHO_REQUEST : ICMP6_ECHO_REQUEST;
	e.seq = htons(1);
	memcpy(e.payload, "rtrw-probe-echo", 15);
	/* The kernel fills in the identifier and the checksum. */
	t->started_ = now_ms();
	t->deadline_ = t->started_ + timeout_ms;
	if (connect(t->fd_, (struct sockaddr *)&ss, len) < 0 ||
	    send(t->fd_, &e, sizeof(e), 0) < 0) {
		t->icmp = errno == EACCES || errno == EPERM
		              ? PROBE_ICMP_UNAVAILABLE
		              : PROBE_ICMP_NO_REPLY;
		start_tcp(t, timeout_ms);
		return;
	}
	t->state_ = ST_ICMP;
}

/* Handles readiness (or the deadline, timed_out) of an in-flight target. */
static void
advance(struct probe_target *t, int timed_out, int timeout_ms)
{
	if (t->state_ == ST_ICMP) {
		struct echo e;
		ssize_t got;

		if (timed_out) {
			t->icmp = PROBE_ICMP_NO_REPLY;
			start_tcp(t, timeout_ms);
			return;
		}
		got = recv(t->fd_, &e, sizeof(e), 0);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (got >= 1 &&
		    (e.type == ICMP_ECHO_REPLY || e.type == ICMP6_ECHO_REPLY)) {
			t->icmp = PROBE_ICMP_REPLY;
			t->icmp_ms = (long)(now_ms() - t->started_);
		} else if (got >= 0) {
			/* Something else arrived: keep waiting for the echo. */
			return;
		} else {
			t->icmp = PROBE_ICMP_NO_REPLY;
		}
		start_tcp(t, timeout_ms);
		return;
	}
	if (t->state_ == ST_TCP) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (timed_out) {
			t->tcp = PROBE_TCP_TIMEOUT;
		} else {
			if (getsockopt(t->fd_, SOL_SOCKET, SO_ERROR, &err,
			               &len) < 0)
				err = errno;
			if (err == EINPROGRESS || err == EALREADY)
				return;
			t->tcp = tcp_error(err);
			if (t->tcp == PROBE_TCP_OPEN)
				t->tcp_ms = (long)(now_ms() - t->started_);
		}
		finish(t);
	}
}

int
probe_run(struct probe_target *targets, size_t n, size_t concurrency,
          int timeout_ms)
{
	struct pollfd *pfd;
	size_t *live, nlive = 0, next = 0;
	int rc = 0;

	if (concurrency == 0)
		concurrency = 1;
	if (concurrency > PROBE_MAX_INFLIGHT)
		concurrency = PROBE_MAX_INFLIGHT;
	if (timeout_ms < 1)
		timeout_ms = 1;
	for (size_t i = 0; i < n; i++) {
		targets[i].state_ = ST_PENDING;
		targets[i].fd_ = -1;
		targets[i].verdict = PROBE_UNDETERMINED;
	}
	pfd = xcalloc(concurrency, sizeof(*pfd));
	live = xcalloc(concurrency, sizeof(*live));
	for (;;) {
		long long now, wait = -1;
		size_t kept = 0;
		int ready;

		/* Fill the free slots; a target may finish at once. */
		while (nlive < concurrency && next < n) {
			start(&targets[next], timeout_ms);
			if (targets[next].state_ != ST_DONE)
				live[nlive++] = next;
			next++;
		}
		if (nlive == 0)
			break;
		now = now_ms();
		for (size_t k = 0; k < nlive; k++) {
			struct probe_target *t = &targets[live[k]];
			long long left = t->deadline_ - now;

			pfd[k].fd = t->fd_;
			pfd[k].events = t->state_ == ST_ICMP ? POLLIN : POLLOUT;
			pfd[k].revents = 0;
			if (left < 0)
				left = 0;
			if (wait < 0 || left < wait)
				wait = left;
		}
		ready = poll(pfd, nlive, (int)wait);
		if (ready < 0 && errno != EINTR) {
			rc = -1;
			break;
		}
		now = now_ms();
		for (size_t k = 0; k < nlive; k++) {
			struct probe_target *t = &targets[live[k]];

			if (ready > 0 && pfd[k].revents)
				advance(t, 0, timeout_ms);
			else if (now >= t->deadline_)
				advance(t, 1, timeout_ms);
			if (t->state_ != ST_DONE)
				live[kept++] = live[k];
		}
		nlive = kept;
	}
	for (size_t k = 0; k < nlive; k++)
		close_fd(&targets[live[k]]);
	free(pfd);
	free(live);
	return rc;
}

const char *
probe_icmp_name(enum probe_icmp v)
{
	switch (v) {
	case PROBE_ICMP_REPLY:
		return "reply";
	case PROBE_ICMP_NO_REPLY:
		return "no_reply";
	case PROBE_ICMP_UNAVAILABLE:
		return "unavailable";
	default:
		return "skipped";
	}
}

const char *
probe_tcp_name(enum probe_tcp v)
{
	switch (v) {
	case PROBE_TCP_OPEN:
		return "open";
	case PROBE_TCP_REFUSED:
		return "refused";
	case PROBE_TCP_TIMEOUT:
		return "timeout";
	case PROBE_TCP_ERROR:
		return "error";
	default:
		return "skipped";
	}
}
