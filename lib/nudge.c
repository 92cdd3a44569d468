#include "nudge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

/*
 * Parses the n bytes at s, "1.2.3.4:port" or "[::1]:port", into *ss.
 * 0, or -1 when it is not one.
 */
static int
parse_addr(const char *s, size_t n, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64], port[8];
	const char *colon;
	size_t hl;
	int64_t p;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	colon = NULL;
	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	if (!colon || (size_t)(s + n - colon - 1) >= sizeof(port))
		return -1;
	memcpy(port, colon + 1, (size_t)(s + n - colon - 1));
	port[s + n - colon - 1] = '\0';
	if (parse_int64(port, 1, 65535, &p) < 0)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -1;
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -1;
		*len = sizeof(*a4);
	}
	return 0;
}

void
nudge_send(const struct config *cfg)
{
	const char *s = cfg->provision_nudge, *end;

	while (*s) {
		struct sockaddr_storage ss;
		socklen_t len;
		int fd;

		end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		if (parse_addr(s, (size_t)(end - s), &ss, &len) == 0) {
			fd = socket(ss.ss_family,
			            SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			            0);
			if (fd >= 0) {
				(void)sendto(fd, "", 0, MSG_DONTWAIT,
				             (struct sockaddr *)&ss, len);
				close(fd);
			}
		}
		s = *end ? end + 1 : end;
	}
}

int
nudge_listen(const struct config *cfg, char *err, size_t errlen)
{
	const char *s = cfg->provision_nudge, *end = strchr(s, ',');
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (!end)
		end = s + strlen(s);
	if (end == s) {
		snprintf(err, errlen, "provision_nudge is empty");
		return -1;
	}
	if (parse_addr(s, (size_t)(end - s), &ss, &len) < 0) {
		snprintf(err, errlen,
		         "provision_nudge \"%.*s\" is not host:port",
		         (int)(end - s), s);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		snprintf(err, errlen, "bind %.*s: %s", (int)(end - s), s,
		         strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
nudge_wait(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b[64];
	int n;

	if (fd < 0) {
		struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

		nanosleep(&ts, NULL);
		return 0;
	}
	n = poll(&p, 1, ms);
	if (n <= 0)
		return 0;
	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) >= 0)
		;
	return 1;
}
