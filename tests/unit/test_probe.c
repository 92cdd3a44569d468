/*
 * lib/probe.c against loopback only: a port this test listens on, a
 * port it just closed, IPv6 ::1, bad addresses, and many targets with a
 * small concurrency.  No packet leaves 127.0.0.0/8 or ::1.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"
#include "unit.h"

/* A listening socket on host (127.0.0.1 or ::1); stores its port. */
static int
listen_on(int family, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;

		v4->sin_family = AF_INET;
		v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*v4);
	} else {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

		v6->sin6_family = AF_INET6;
		v6->sin6_addr = in6addr_loopback;
		len = sizeof(*v6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	*port =
	    ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* A loopback port that nothing listens on (bound, then closed). */
static int
closed_port(void)
{
	int port = 0, fd = listen_on(AF_INET, &port);

	ck_assert_int_ge(fd, 0);
	close(fd);
	return port;
}

START_TEST(open_port_is_online)
{
	struct probe_target t;
	int port, fd = listen_on(AF_INET, &port);

	ck_assert_int_ge(fd, 0);
	memset(&t, 0, sizeof(t));
	t.host = "127.0.0.1";
	t.port = port;
	ck_assert_int_eq(probe_run(&t, 1, 1, 2000), 0);
	ck_assert_int_eq(t.tcp, PROBE_TCP_OPEN);
	ck_assert_int_eq(t.verdict, PROBE_ONLINE);
	ck_assert_int_ge(t.tcp_ms, 0);
	/* The echo either answered or was not allowed; never skipped. */
	ck_assert(t.icmp == PROBE_ICMP_REPLY ||
	          t.icmp == PROBE_ICMP_UNAVAILABLE ||
	          t.icmp == PROBE_ICMP_NO_REPLY);
	ck_assert_str_eq(probe_tcp_name(t.tcp), "open");
	close(fd);
}
END_TEST

START_TEST(closed_port_is_offline)
{
	struct probe_target t;

	memset(&t, 0, sizeof(t));
	t.host = "127.0.0.1";
	t.port = closed_port();
	ck_assert_int_eq(probe_run(&t, 1, 1, 2000), 0);
	ck_assert_int_eq(t.tcp, PROBE_TCP_REFUSED);
	ck_assert_int_eq(t.verdict, PROBE_OFFLINE);
	ck_assert_int_eq(t.tcp_ms, -1);
	ck_assert_str_eq(probe_tcp_name(t.tcp), "refused");
}
END_TEST

START_TEST(ipv6_loopback)
{
	struct probe_target t;
	int port, fd = listen_on(AF_INET6, &port);

	if (fd < 0)
		return; /* no IPv6 on this host */
	memset(&t, 0, sizeof(t));
	t.host = "::1";
	t.port = port;
	ck_assert_int_eq(probe_run(&t, 1, 1, 2000), 0);
	ck_assert_int_eq(t.verdict, PROBE_ONLINE);
	close(fd);
	ck_assert_int_eq(probe_run(&t, 1, 1, 2000), 0);
	ck_assert_int_eq(t.verdict, PROBE_OFFLINE);
}
END_TEST

START_TEST(bad_addresses_are_undetermined)
{
	static const char *const bad[] = {
	    "localhost", "127.0.0", "", "::1::", "127.0.0.1 ", "10.0.0.1/8"};
	struct probe_target t[6];

	memset(t, 0, sizeof(t));
	for (size_t i = 0; i < 6; i++) {
		t[i].host = bad[i];
		t[i].port = 22;
	}
	ck_assert_int_eq(probe_run(t, 6, 4, 500), 0);
	for (size_t i = 0; i < 6; i++) {
		ck_assert_int_eq(t[i].bad_address, 1);
		ck_assert_int_eq(t[i].verdict, PROBE_UNDETERMINED);
		ck_assert_int_eq(t[i].tcp, PROBE_TCP_SKIPPED);
	}
}
END_TEST

START_TEST(echo_only_without_port)
{
	struct probe_target t;

	memset(&t, 0, sizeof(t));
	t.host = "127.0.0.1";
	t.port = 0;
	ck_assert_int_eq(probe_run(&t, 1, 1, 1000), 0);
	ck_assert_int_eq(t.tcp, PROBE_TCP_SKIPPED);
	/* Loopback answers an echo when the kernel lets us send one. */
	if (t.icmp == PROBE_ICMP_UNAVAILABLE)
		ck_assert_int_eq(t.verdict, PROBE_UNDETERMINED);
	else
		ck_assert_int_eq(t.verdict, t.icmp == PROBE_ICMP_REPLY
		                                ? PROBE_ONLINE
		                                : PROBE_OFFLINE);
}
END_TEST

START_TEST(many_targets_bounded_concurrency)
{
	enum { N = 40 };
	struct probe_target t[N];
	int port, fd = listen_on(AF_INET, &port), dead = closed_port();

	ck_assert_int_ge(fd, 0);
	memset(t, 0, sizeof(t));
	for (int i = 0; i < N; i++) {
		t[i].host = i % 2 ? "127.0.0.1" : "127.0.0.2";
		t[i].port = i % 4 < 2 ? port : dead;
		/* 127.0.0.2 reaches the listener only where it is bound to
		 * 127.0.0.1: so use 127.0.0.1 for the open ones. */
		if (t[i].port == port)
			t[i].host = "127.0.0.1";
	}
	ck_assert_int_eq(probe_run(t, N, 3, 2000), 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(t[i].verdict, t[i].port == port
		                                   ? PROBE_ONLINE
		                                   : PROBE_OFFLINE);
	close(fd);
}
END_TEST

UNIT_MAIN("probe", open_port_is_online, closed_port_is_offline, ipv6_loopback,
          bad_addresses_are_undetermined, echo_only_without_port,
          many_targets_bounded_concurrency)
