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
};

const char *ctl_type_name(uint16_t type)
{
	if (type == CTL_REPLY)
		return "reply";
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

int ctl_send(int fd, uint16_t type, struct json_object *body, int pass_fd)
{
	const char *json = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(json);
	struct ctl_hdr h = {
		.magic = htonl(CTL_MAGIC),
		.version = htons(CTL_VERSION),
		.type = htons(type),
		.length = htonl((uint32_t)len),
	};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (len > CTL_MAX_BODY)
		return -EMSGSIZE;
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
	do {
		r = sendmsg(fd, &msg, MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if ((size_t)r < sizeof(h)) {
		int rc = write_all(fd, (char *)&h + r, sizeof(h) - (size_t)r);

		if (rc)
			return rc;
	}
	return write_all(fd, json, len);
}

/* Read exactly @len bytes; the first read may carry a descriptor. */
static int read_all(int fd, void *buf, size_t len, int *got_fd, bool *eof_at_start)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctrl;
		struct iovec iov = { .iov_base = p + done, .iov_len = len - done };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf),
		};
		struct cmsghdr *c;
		ssize_t r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			int passed;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			memcpy(&passed, CMSG_DATA(c), sizeof(int));
			if (got_fd && *got_fd < 0)
				*got_fd = passed;
			else
				close(passed);	/* nobody asked for it */
		}
		if (r == 0) {
			if (eof_at_start)
				*eof_at_start = done == 0;
			return -ECONNRESET;
		}
		done += (size_t)r;
	}
	return 0;
}

int ctl_recv(int fd, uint16_t *type, struct json_object **body, int *got_fd,
	     char *err)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	struct ctl_hdr h;
	bool eof_at_start = false;
	char *buf = NULL;
	uint32_t len;
	int rc;

	*body = NULL;
	if (got_fd)
		*got_fd = -1;
	rc = read_all(fd, &h, sizeof(h), got_fd, &eof_at_start);
	if (rc == -ECONNRESET && eof_at_start)
		return -EPIPE;
	if (rc) {
		snprintf(err, CTL_ERR_LEN, "reading message header: %s", strerror(-rc));
		goto out;
	}
	if (ntohl(h.magic) != CTL_MAGIC) {
		snprintf(err, CTL_ERR_LEN, "bad magic 0x%08x: not a xenrack control message",
			 ntohl(h.magic));
		rc = -EPROTO;
		goto out;
	}
	if (ntohs(h.version) != CTL_VERSION) {
		snprintf(err, CTL_ERR_LEN, "protocol version %u is not supported (this side speaks %u)",
			 ntohs(h.version), CTL_VERSION);
		rc = -EPROTONOSUPPORT;
		goto out;
	}
	if (h.reserved) {
		snprintf(err, CTL_ERR_LEN, "reserved header field is 0x%08x, expected 0",
			 ntohl(h.reserved));
		rc = -EPROTO;
		goto out;
	}
	*type = ntohs(h.type);
	if (!ctl_type_name(*type)) {
		snprintf(err, CTL_ERR_LEN, "unknown message type %u", *type);
		rc = -EPROTO;
		goto out;
	}
	len = ntohl(h.length);
	if (len > CTL_MAX_BODY || len < 2) {
		snprintf(err, CTL_ERR_LEN, "%s message body of %u bytes: expected 2 to %u",
			 ctl_type_name(*type), len, CTL_MAX_BODY);
		rc = -EMSGSIZE;
		goto out;
	}
	buf = malloc(len);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	rc = read_all(fd, buf, len, NULL, NULL);
	if (rc) {
		snprintf(err, CTL_ERR_LEN, "reading %u-byte %s body: %s", len,
			 ctl_type_name(*type), strerror(-rc));
		goto out;
	}
	tok = json_tokener_new();
	if (!tok) {
		rc = -ENOMEM;
		goto out;
	}
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)len) {
		snprintf(err, CTL_ERR_LEN, "%s body is not valid JSON (%s at byte %d)",
			 ctl_type_name(*type),
			 json_tokener_error_desc(json_tokener_get_error(tok)),
			 tok->char_offset);
		rc = -EBADMSG;
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, CTL_ERR_LEN, "%s body is not a JSON object",
			 ctl_type_name(*type));
		rc = -EBADMSG;
		goto out;
	}
	*body = obj;
	obj = NULL;
	rc = 0;
out:
	json_object_put(obj);
	if (tok)
		json_tokener_free(tok);
	free(buf);
	if (rc && got_fd && *got_fd >= 0) {
		close(*got_fd);
		*got_fd = -1;
	}
	return rc;
}

const char *ctl_get_str(struct json_object *body, const char *key,
			size_t maxlen, char *err)
{
	struct json_object *v;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(body, key, &v)) {
		snprintf(err, CTL_ERR_LEN, "field '%s' missing", key);
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, CTL_ERR_LEN, "field '%s' is not a string", key);
		return NULL;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0 || len > maxlen || strlen(s) != len) {
		snprintf(err, CTL_ERR_LEN, "field '%s' must be 1 to %zu bytes without NUL",
			 key, maxlen);
		return NULL;
	}
	return s;
}
