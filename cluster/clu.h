/*
 * clu.h - the cluster module: clusterd (node daemon) and clusterctl (CLI).
 */
#ifndef XR_CLU_H
#define XR_CLU_H

#include <stdint.h>

#include "hv.h"

struct json_object;

#define CLU_MAX_CLIENTS 32
#define CLU_CLIENT_TIMEOUT_MS 5000	/* a request must arrive whole within this */

struct clu_daemon {
	const struct hv_ops *hv;
	struct hv_backend *be;
	char node[64];		/* this node's name, shown in the Node column */
};

/**
 * clu_control_dispatch - act on one request and write the reply to @fd
 * @type, @req: the request as ctl_reader_feed() delivered it
 * Return: 0 to keep the connection, or a negative errno to close it.
 */
int clu_control_dispatch(struct clu_daemon *d, int fd, uint16_t type,
			 struct json_object *req);

/** clu_control_refuse - answer a bad message with error @rc and @err */
void clu_control_refuse(int fd, int rc, const char *err);

/**
 * clu_control_serve - read one request from @fd (blocking), then dispatch
 * Return: as clu_control_dispatch(); -EPIPE when the client hung up.
 */
int clu_control_serve(struct clu_daemon *d, int fd);

/**
 * clu_console_relay - connect the terminal to a domain console
 * @fd: the console (a pty), closed on return
 * Ctrl-] ends the session.  Return: 0, or a negative errno.
 */
int clu_console_relay(int fd);

#endif
