/*
 * lib/provision.c's pure parts: the rate-limit a plan becomes on the
 * router and the ownership marker; lib/nudge.c's datagram round trip.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "nudge.h"
#include "provision.h"
#include "store/plan.h"
#include "tests/unit/unit.h"

START_TEST(rate_limit_is_upload_first_in_k)
{
	struct plan p = {.speed_download = 10000, .speed_upload = 2000};
	char out[160];

	provision_rate_limit(&p, out, sizeof(out));
	ck_assert_str_eq(out, "2000k/10000k");
	p.burst_download = 15000;
	p.burst_upload = 3000;
	p.burst_threshold_download = 8000;
	p.burst_threshold_upload = 1500;
	p.burst_time = 16;
	p.priority = 4;
	provision_rate_limit(&p, out, sizeof(out));
	ck_assert_str_eq(out, "2000k/10000k 3000k/15000k 1500k/8000k 16/16 4");
	/* What is left unset takes RouterOS's defaults. */
	p.burst_upload = 0;
	p.burst_threshold_download = p.burst_threshold_upload = 0;
	p.burst_time = 0;
	p.priority = 0;
	provision_rate_limit(&p, out, sizeof(out));
	ck_assert_str_eq(out, "2000k/10000k 2000k/15000k 2000k/10000k 8/8 8");
}
END_TEST

START_TEST(marker_is_the_comment_s_first_word)
{
	char code[40];

	ck_assert_int_eq(
	    provision_marker_code("rtrw:C-000042", code, sizeof(code)), 1);
	ck_assert_str_eq(code, "C-000042");
	ck_assert_int_eq(
	    provision_marker_code("rtrw:C-7 Budi Santoso", code, sizeof(code)),
	    1);
	ck_assert_str_eq(code, "C-7");
	ck_assert_int_eq(
	    provision_marker_code("Budi rtrw:C-7", code, sizeof(code)), 0);
	ck_assert_str_eq(code, "");
	ck_assert_int_eq(provision_marker_code("rtrw:", code, sizeof(code)), 0);
	ck_assert_int_eq(provision_marker_code("rtrw: C-1", code, sizeof(code)),
	                 0);
	ck_assert_int_eq(provision_marker_code(NULL, code, sizeof(code)), 0);
	ck_assert_int_eq(provision_marker_code("RTRW:C-1", code, sizeof(code)),
	                 0);
	/* A code longer than the buffer is no marker, never a cut one. */
	ck_assert_int_eq(provision_marker_code("rtrw:C-0123456789", code, 8),
	                 0);
}
END_TEST

/* A UDP port free on loopback right now. */
static int
free_udp_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

START_TEST(nudge_round_trip)
{
	struct config c;
	char err[128];
	int fd, port;

	config_defaults(&c);
	snprintf(c.provision_nudge, sizeof(c.provision_nudge), "127.0.0.1:0");
	/* Port 0 is no place to send a nudge to. */
	ck_assert_int_lt(nudge_listen(&c, err, sizeof(err)), 0);
	port = free_udp_port();
	snprintf(c.provision_nudge, sizeof(c.provision_nudge),
	         "127.0.0.1:%d, [::1]:%d", port, port);
	fd = nudge_listen(&c, err, sizeof(err));
	ck_assert_msg(fd >= 0, "%s", err);
	ck_assert_int_eq(nudge_wait(fd, 10), 0);
	nudge_send(&c);
	ck_assert_int_eq(nudge_wait(fd, 1000), 1);
	/* Drained: the next wait times out. */
	ck_assert_int_eq(nudge_wait(fd, 10), 0);
	close(fd);
	snprintf(c.provision_nudge, sizeof(c.provision_nudge), "localhost:1");
	ck_assert_int_lt(nudge_listen(&c, err, sizeof(err)), 0);
	c.provision_nudge[0] = '\0';
	ck_assert_int_lt(nudge_listen(&c, err, sizeof(err)), 0);
	nudge_send(&c); /* nothing to send to: no crash */
}
END_TEST

UNIT_MAIN("provision", rate_limit_is_upload_first_in_k,
          marker_is_the_comment_s_first_word, nudge_round_trip)
