/*
 * ctl.c - framing of the control protocol (see ctl.h, docs/protocol.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"

static const char *const type_names[CTL_TYPE_MAX] = {
	[CTL_LIST] = "list",
	[CTL_CREATE] = "create",
	[CTL_SHUTDOWN] = "shutdown",
	[CTL_DESTROY] = "destroy",
	[CTL_PAUSE] = "pause",
	[CTL_UNPAUSE] = "unpause",
	[CTL_CONSOLE] = "console",
	[CTL_DISKS] = "disks",
	[CTL_DELETE] = "delete",
	[CTL_NODES] = "nodes",
	[CTL_MIGRATE] = "migrate",
};

static const char *const peer_type_names[CTL_PEER_MAX - CTL_PEER_CHECK] = {
	[CTL_PEER_CHECK - CTL_PEER_CHECK] = "peer-check",
	[CTL_PEER_PREPARE - CTL_PEER_CHECK] = "peer-prepare",
	[CTL_PEER_RELEASE - CTL_PEER_CHECK] = "peer-release",
	[CTL_PEER_FORWARD - CTL_PEER_CHECK] = "peer-forward",
	[CTL_PEER_OUTDATE - CTL_PEER_CHECK] = "peer-outdate",
	[CTL_PEER_IMAGE - CTL_PEER_CHECK] = "peer-image",
	[CTL_PEER_MIGRATE - CTL_PEER_CHECK] = "peer-migrate",
	[CTL_PEER_MIGRATE_IN - CTL_PEER_CHECK] = "peer-migrate-in",
};

const char *ctl_type_name(uint16_t type)
{
	if (type == CTL_REPLY)
		return "reply";
	if (type == CTL_PROGRESS)
		return "progress";
	if (type >= CTL_PEER_CHECK && type < CTL_PEER_MAX)
		return peer_type_names[type - CTL_PEER_CHECK];
	return type < CTL_TYPE_MAX ? type_names[type] : NULL;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t r = send(fd, p, len, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int ctl_encode(uint16_t type, struct json_object *body, char **buf, size_t *len,
	       char *err)
{
	const char *json = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	size_t blen = json ? strlen(json) : 0;
	struct ctl_hdr h = {
		.magic = htonl(CTL_MAGIC),
		.version = htons(CTL_VERSION),
		.type = htons(type),
		.length = htonl((uint32_t)blen),
	};

	*buf = NULL;
	*len = 0;
	if (!json) {
		snprintf(err, CTL_ERR_LEN, "out of memory");
		return -ENOMEM;
	}
	if (blen > CTL_MAX_BODY) {
		snprintf(err, CTL_ERR_LEN, "%s message body of %zu bytes: at most %u",
			 ctl_type_name(type) ? ctl_type_name(type) : "a", blen,
			 CTL_MAX_BODY);
		return -EMSGSIZE;
	}
	*buf = malloc(sizeof(h) + blen);
	if (!*buf) {
		snprintf(err, CTL_ERR_LEN, "out of memory");
		return -ENOMEM;
	}
	memcpy(*buf, &h, sizeof(h));
	memcpy(*buf + sizeof(h), json, blen);
	*len = sizeof(h) + blen;
	return 0;
}

int ctl_send(int fd, uint16_t type, struct json_object *body, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	char err[CTL_ERR_LEN], *buf;
	size_t len;
	ssize_t r;
	int rc;

	rc = ctl_encode(type, body, &buf, &len, err);
	if (rc)
		return rc;
	iov = (struct iovec){ .iov_base = buf, .iov_len = len };
	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&ctrl, 0, sizeof(ctrl));
		msg.msg_control = ctrl.buf;
		msg.msg_controllen = sizeof(ctrl.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	/* the descriptor rides on the first bytes; the rest follows plainly */
	do {
		r = sendmsg(fd, &msg, MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		rc = -errno;
	else
		rc = write_all(fd, buf + r, len - (size_t)r);
	free(buf);
	return rc;
}

void ctl_reader_init(struct ctl_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

void ctl_reader_dispose(struct ctl_reader *r)
{
	free(r->body);
	if (r->fd >= 0)
		close(r->fd);
	ctl_reader_init(r);
}

/* One recvmsg() into @buf; a passed descriptor is kept only if wanted. */
static ssize_t recv_some(struct ctl_reader *r, int fd, void *buf, size_t len,
			 bool want_fd, bool dontwait)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	do {
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | (dontwait ? MSG_DONTWAIT : 0));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		int passed;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		memcpy(&passed, CMSG_DATA(c), sizeof(int));
		if (want_fd && r->fd < 0)
			r->fd = passed;
		else
			close(passed);	/* nobody asked for it */
	}
	return n;
}

/* The header is whole: check every field before trusting the length. */
static int check_header(struct ctl_reader *r, char *err)
{
	const struct ctl_hdr *h = &r->hdr;
	uint16_t type = ntohs(h->type);

	if (ntohl(h->magic) != CTL_MAGIC) {
		snprintf(err, CTL_ERR_LEN, "bad magic 0x%08x: not a xenrack control message",
			 ntohl(h->magic));
		return -EPROTO;
	}
	if (ntohs(h->version) != CTL_VERSION) {
		snprintf(err, CTL_ERR_LEN, "protocol version %u is not supported (this side speaks %u)",
			 ntohs(h->version), CTL_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (h->reserved) {
		snprintf(err, CTL_ERR_LEN, "reserved header field is 0x%08x, expected 0",
			 ntohl(h->reserved));
		return -EPROTO;
	}
	if (!ctl_type_name(type)) {
		snprintf(err, CTL_ERR_LEN, "unknown message type %u", type);
		return -EPROTO;
	}
	r->len = ntohl(h->length);
	if (r->len > CTL_MAX_BODY || r->len < 2) {
		snprintf(err, CTL_ERR_LEN, "%s message body of %u bytes: expected 2 to %u",
			 ctl_type_name(type), r->len, CTL_MAX_BODY);
		return -EMSGSIZE;
	}
	r->body = malloc(r->len);
	return r->body ? 0 : -ENOMEM;
}

static int parse_body(struct ctl_reader *r, struct json_object **body, char *err)
{
	const char *name = ctl_type_name(ntohs(r->hdr.type));
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;
	int rc = 0;

	if (!tok)
		return -ENOMEM;
	obj = json_tokener_parse_ex(tok, r->body, (int)r->len);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)r->len) {
		snprintf(err, CTL_ERR_LEN, "%s body is not valid JSON (%s at byte %d)",
			 name, json_tokener_error_desc(json_tokener_get_error(tok)),
			 tok->char_offset);
		rc = -EBADMSG;
	} else if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, CTL_ERR_LEN, "%s body is not a JSON object", name);
		rc = -EBADMSG;
	}
	json_tokener_free(tok);
	if (rc)
		json_object_put(obj);
	else
		*body = obj;
	return rc;
}

int ctl_reader_feed_fn(struct ctl_reader *r, ctl_read_fn fn, void *arg,
		       uint16_t *type, struct json_object **body, char *err)
{
	ssize_t n;
	int rc;

	*body = NULL;
	while (r->got < sizeof(r->hdr) + r->len) {
		bool in_hdr = r->got < sizeof(r->hdr);

		if (in_hdr)
			n = fn(arg, (char *)&r->hdr + r->got, sizeof(r->hdr) - r->got);
		else
			n = fn(arg, r->body + (r->got - sizeof(r->hdr)),
			       sizeof(r->hdr) + r->len - r->got);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return 0;
		if (n < 0) {
			snprintf(err, CTL_ERR_LEN, "reading a message: %s", strerror((int)-n));
			return (int)n;
		}
		if (n == 0) {
			if (r->got == 0)
				return -EPIPE;
			if (in_hdr)
				snprintf(err, CTL_ERR_LEN, "connection closed after %zu of "
					 "%zu header bytes", r->got, sizeof(r->hdr));
			else
				snprintf(err, CTL_ERR_LEN, "connection closed after %zu of "
					 "%u body bytes", r->got - sizeof(r->hdr), r->len);
			return -EBADMSG;
		}
		r->got += (size_t)n;
		if (in_hdr && r->got == sizeof(r->hdr)) {
			rc = check_header(r, err);
			if (rc)
				return rc;
		}
	}
	rc = parse_body(r, body, err);
	if (rc)
		return rc;
	*type = ntohs(r->hdr.type);
	free(r->body);
	r->body = NULL;
	r->got = 0;
	r->len = 0;
	return 1;
}

/* ctl_reader_feed() on a socket: recv_some() as a ctl_read_fn */
struct sock_src {
	struct ctl_reader *r;
	int fd;
	bool want_fd, dontwait;
};

static ssize_t sock_read(void *arg, void *buf, size_t len)
{
	struct sock_src *s = arg;

	return recv_some(s->r, s->fd, buf, len, s->want_fd, s->dontwait);
}

int ctl_reader_feed(struct ctl_reader *r, int fd, bool want_fd, bool dontwait,
		    uint16_t *type, struct json_object **body, char *err)
{
	struct sock_src s = { r, fd, want_fd, dontwait };

	return ctl_reader_feed_fn(r, sock_read, &s, type, body, err);
}

int ctl_recv(int fd, uint16_t *type, struct json_object **body, int *got_fd,
	     char *err)
{
	struct ctl_reader r;
	int rc;

	ctl_reader_init(&r);
	rc = ctl_reader_feed(&r, fd, got_fd != NULL, false, type, body, err);
	if (rc == 1 && got_fd) {
		*got_fd = r.fd;
		r.fd = -1;
	} else if (got_fd) {
		*got_fd = -1;
	}
	ctl_reader_dispose(&r);
	return rc == 1 ? 0 : rc;
}
