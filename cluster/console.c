/*
 * console.c - clusterctl's side of `console`: relay between the terminal
 * and the domain's console pty that clusterd passed us.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "clu.h"

#define ESCAPE_CHAR 0x1d	/* Ctrl-], as in xl console and telnet */

static int copy(int from, int to, bool watch_escape, bool *escaped)
{
	char buf[4096];
	ssize_t r = read(from, buf, sizeof(buf));
	char *esc;

	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (r == 0)
		return -EPIPE;
	if (watch_escape && (esc = memchr(buf, ESCAPE_CHAR, (size_t)r))) {
		r = esc - buf;
		*escaped = true;
	}
	for (ssize_t off = 0; off < r;) {
		ssize_t w = write(to, buf + off, (size_t)(r - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += w;
	}
	return 0;
}

int clu_console_relay(int fd)
{
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO), escaped = false, stdin_open = true;
	int rc = 0;

	if (tty) {
		tcgetattr(STDIN_FILENO, &saved);
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fprintf(stderr, "Connected to the console; Ctrl-] to leave.\r\n");
	}
	while (!escaped) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			rc = copy(fd, STDOUT_FILENO, false, &escaped);
			if (rc)
				break;
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			int r = copy(STDIN_FILENO, fd, true, &escaped);

			/* Input ended (a script): keep showing the console. */
			if (r == -EPIPE)
				stdin_open = false;
			else if (r) {
				rc = r;
				break;
			}
		}
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		fprintf(stderr, "\n");
	}
	close(fd);
	/* The console going away (domain gone) is a normal end. */
	return rc == -EPIPE || rc == -EIO ? 0 : rc;
}
