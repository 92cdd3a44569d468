/*
 * Device reachability: an ICMP echo and a TCP connect, many targets at
 * once with bounded concurrency, driven by one poll() loop.
 *
 * ICMP uses the unprivileged ICMP datagram socket
 * (socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), and IPPROTO_ICMPV6 for
 * IPv6), which Linux allows to the groups in net.ipv4.ping_group_range;
 * where it does not, the echo is skipped ("unavailable") rather than
 * failing the check.  The TCP step is a non-blocking connect() to the
 * target's port: it answers when the handshake completes.
 *
 * Verdict: a target with a port is online exactly when its port accepts
 * a connection (a host that answers ping while its management port is
 * closed is not a working device); a target without a port is online
 * when it answers the echo, offline when it does not, and undetermined
 * when ICMP is unavailable.
 *
 * Targets are IP literals only: no name is ever resolved.
 */
#ifndef RTRW_PROBE_H
#define RTRW_PROBE_H

#include <stddef.h>

enum probe_icmp {
	PROBE_ICMP_SKIPPED = 0, /* not tried (a bad address) */
	PROBE_ICMP_REPLY,
	PROBE_ICMP_NO_REPLY,    /* no echo reply before the timeout */
	PROBE_ICMP_UNAVAILABLE, /* the kernel refuses the datagram socket */
};

enum probe_tcp {
	PROBE_TCP_SKIPPED = 0, /* no port */
	PROBE_TCP_OPEN,
	PROBE_TCP_REFUSED,
	PROBE_TCP_TIMEOUT,
	PROBE_TCP_ERROR, /* unreachable network, no route... */
};

enum probe_verdict {
	PROBE_UNDETERMINED = 0,
	PROBE_ONLINE,
	PROBE_OFFLINE,
};

struct probe_target {
	/* Input. */
	const char *host; /* an IPv4 or IPv6 literal */
	int port;         /* 1..65535, or 0 for "echo only" */

	/* Output of probe_run(). */
	enum probe_icmp icmp;
	enum probe_tcp tcp;
	enum probe_verdict verdict;
	int bad_address; /* host is not an IP literal (verdict undetermined) */
	long icmp_ms;    /* round trip of the echo, -1 when none */
	long tcp_ms;     /* time to connect, -1 when none */

	/* Private to probe_run(). */
	int state_, fd_;
	long long started_, deadline_;
};

/*
 * Probes n targets: the echo first, then the connect, each step limited
 * to timeout_ms, at most concurrency targets in flight at once (0 means
 * 1).  Fills each target's output fields.  Returns 0, or -1 when poll()
 * itself fails (the targets not yet finished stay undetermined).
 */
int probe_run(struct probe_target *targets, size_t n, size_t concurrency,
              int timeout_ms);

/* "reply", "no_reply", "unavailable", "skipped" and the like. */
const char *probe_icmp_name(enum probe_icmp v);
const char *probe_tcp_name(enum probe_tcp v);

#endif
