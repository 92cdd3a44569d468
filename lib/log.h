/*
 * Logging to stderr, one line per event, in logfmt (key=value) so that
 * journald and grep both read it.  Messages are lower case, say what failed
 * first and quote the subject.  Never log a password, token or secret.
 */
#ifndef RTRW_LOG_H
#define RTRW_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the process name printed on each line and the minimum level. */
void log_setup(const char *prog, enum log_level level);

/* Parses "error", "warn", "info" or "debug"; -1 if unknown. */
int log_level_parse(const char *s);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * Writes a pre-formatted logfmt line (without level prefix) at info
 * level.  Used for the one access-log line per request.
 */
void log_line(const char *line);

#endif
