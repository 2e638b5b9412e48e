/*
 * log.c - logging to stderr or syslog, with per-module debug switches.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char *log_ident = "xenrack";
static bool log_syslog;

void log_init(const char *ident, bool use_syslog)
{
	log_ident = ident;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

bool log_debug_enabled(const char *module)
{
	const char *list = getenv("XENRACK_DEBUG");
	size_t len = strlen(module);
	const char *p;

	if (!list)
		return false;
	for (p = list; *p; p += strcspn(p, ",")) {
		p += strspn(p, ",");
		if (!strncmp(p, "all", 3) && (p[3] == ',' || !p[3]))
			return true;
		if (!strncmp(p, module, len) && (p[len] == ',' || !p[len]))
			return true;
	}
	return false;
}

static void log_vmsg(int prio, const char *module, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		[2] = "fatal", [3] = "error", [4] = "warning", [6] = "info", [7] = "debug",
	};
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_syslog) {
		syslog(prio, "%s%s%s", module ? module : "",
		       module ? ": " : "", buf);
		return;
	}
	if (prio == 6)
		fprintf(stderr, "%s: %s\n", log_ident, buf);
	else
		fprintf(stderr, "%s: %s%s%s: %s\n", log_ident,
			module ? module : "", module ? " " : "",
			names[prio] ? names[prio] : "log", buf);
}

void log_msg(int prio, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, module, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(2, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
