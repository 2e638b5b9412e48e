/*
 * log.h - the one logging module of xenrack.
 *
 * Messages go to stderr (tools, foreground daemons) or syslog (daemons
 * started with --syslog).  Debug output is switched on per module with
 * XENRACK_DEBUG=hv,clu or XENRACK_DEBUG=all.
 */
#ifndef XR_LOG_H
#define XR_LOG_H

#include <stdbool.h>
#include <stdnoreturn.h>

#define XR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/**
 * log_init - set up logging for this process
 * @ident:  program name used as prefix ("clusterd")
 * @syslog: true to send messages to syslog instead of stderr
 */
void log_init(const char *ident, bool use_syslog);

/**
 * log_debug_enabled - whether debug output is on for @module
 * Return: true when XENRACK_DEBUG names @module or "all".
 */
bool log_debug_enabled(const char *module);

void log_msg(int prio, const char *module, const char *fmt, ...) XR_PRINTF(3, 4);
noreturn void fatal(const char *fmt, ...) XR_PRINTF(1, 2);

#define log_err(...)  log_msg(3, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(4, NULL, __VA_ARGS__)
#define log_info(...) log_msg(6, NULL, __VA_ARGS__)
#define log_debug(mod, ...)                                   \
	do {                                                  \
		if (log_debug_enabled(mod))                   \
			log_msg(7, mod, __VA_ARGS__);         \
	} while (0)

#endif
