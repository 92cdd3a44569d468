/*
 * The nudge: how the API tells rtrw-provision that a job was committed,
 * so that it is picked up at once rather than at the next poll.
 *
 * A nudge is one empty UDP datagram to each address of the
 * configuration's provision_nudge ("127.0.0.1:8730" by default; a list
 * "host:port,host:port" reaches daemons on other hosts; "" turns nudges
 * off).  It carries nothing, so a forged or lost one costs at most one
 * early or late pass: the daemon polls every provision_poll_ms anyway,
 * which is the fallback and the only path for writers that do not nudge.
 * Several daemons on one host share the port (SO_REUSEPORT): the kernel
 * hands each datagram to one of them, and any one may take any job.
 *
 * Layer: services.  Only sockets and the configuration.
 */
#ifndef RTRW_NUDGE_H
#define RTRW_NUDGE_H

#include <stddef.h>

struct config;

/*
 * Sends one datagram to every address of cfg->provision_nudge.  Never
 * blocks and never fails the caller: a daemon that is not listening
 * simply polls.
 */
void nudge_send(const struct config *cfg);

/*
 * Binds a non-blocking UDP socket to the first address of
 * cfg->provision_nudge.  Returns the descriptor, or -1 with err set (a
 * daemon without it still works by polling).
 */
int nudge_listen(const struct config *cfg, char *err, size_t errlen);

/*
 * Waits up to ms milliseconds for a nudge on fd (fd < 0: just sleeps)
 * and drains every datagram waiting.  1 nudged, 0 timed out or
 * interrupted by a signal.
 */
int nudge_wait(int fd, int ms);

#endif
