#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "rtrw";
static pid_t log_pid; /* cached: one syscall less per line; reset on fork */
static enum log_level log_min = LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

static void
log_forget_pid(void)
{
	log_pid = 0;
}

void
log_setup(const char *prog, enum log_level level)
{
	static int registered;

	log_prog = prog;
	log_min = level;
	if (!registered) {
		pthread_atfork(NULL, NULL, log_forget_pid);
		registered = 1;
	}
}

int
log_level_parse(const char *s)
{
	for (int i = 0; i <= LOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

static void
log_prefix(char *out, size_t n, enum log_level level)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "ts=%s.%03ldZ prog=%s pid=%ld level=%s", when,
	         ts.tv_nsec / 1000000, log_prog, (long)getpid(),
	         level_names[level]);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char prefix[128], msg[1024];
	va_list ap;

	if (level > log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Keep one event on one line whatever the message holds. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	log_prefix(prefix, sizeof(prefix), level);
	fprintf(stderr, "%s msg=\"%s\"\n", prefix, msg);
}

void
log_line(const char *line)
{
	char prefix[128];

	if (LOG_INFO > log_min)
		return;
	log_prefix(prefix, sizeof(prefix), LOG_INFO);
	fprintf(stderr, "%s %s\n", prefix, line);
}
