/*
 * http.c - bootd's HTTP side, on libmicrohttpd with one internal thread
 * (every handler runs in that thread, so the server state needs no lock).
 *
 *   GET  /boot.ipxe        chain to /boot/${netX/mac:hexhyp}.ipxe
 *   GET  /boot/MAC.ipxe    the node's script with a fresh token
 *   GET  /images/NAME      a regular file of the images directory
 *   GET  /ca.crt           the cluster CA certificate (public)
 *   POST /enrol            token + CSR in, certificate + enrolment data out
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "pxe.h"

#define CONN_LIMIT     256
#define CONN_TIMEOUT_S 60
#define IMAGE_NAME_MAX 128

struct upload {
	char *buf;
	size_t len;
	bool too_big;
};

static struct in_addr peer_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct in_addr a = { .s_addr = htonl(INADDR_NONE) };

	if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
		a = ((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr;
	return a;
}

/* Queue @body (copied) with @status and @type; no caching of anything. */
static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status,
				 const char *type, const char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_owned(struct MHD_Connection *c, int rc, unsigned status,
				  const char *type, char *body)
{
	enum MHD_Result ret;

	if (rc || !body) {
		free(body);
		return send_text(c, 500, "text/plain", "out of memory\n");
	}
	ret = send_text(c, status, type, body);
	free(body);
	return ret;
}

static bool image_name_ok(const char *name)
{
	size_t len = strlen(name), i;

	if (!len || len > IMAGE_NAME_MAX || name[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		char ch = name[i];

		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && !strchr("._+-", ch))
			return false;
	}
	return true;
}

static enum MHD_Result send_image(struct pxe_server *s, struct MHD_Connection *c,
				  const char *name)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct stat st;
	int fd;

	if (!image_name_ok(name))
		return send_text(c, 404, "text/plain", "no such image\n");
	fd = openat(s->images_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_warn("image %s asked by a client: %s", name, strerror(errno));
		return send_text(c, 404, "text/plain", "no such image\n");
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return send_text(c, 404, "text/plain", "no such image\n");
	}
	r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);	/* owns fd */
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	log_debug("pxe", "image %s (%lld bytes) sent", name, (long long)st.st_size);
	return ret;
}

static enum MHD_Result handle_get(struct pxe_server *s, struct MHD_Connection *c,
				  const char *url)
{
	struct in_addr peer = peer_of(c);
	unsigned status = 200;
	char *out = NULL;
	int rc;

	if (!strcmp(url, "/boot.ipxe")) {
		rc = pxe_script_chain(&s->boot, &out);
		return send_owned(c, rc, 200, "text/plain", out);
	}
	if (!strncmp(url, "/boot/", 6)) {
		const char *mac = url + 6;
		size_t len = strlen(mac);
		char buf[32];

		if (len < 6 || len - 5 >= sizeof(buf) || strcmp(mac + len - 5, ".ipxe"))
			return send_text(c, 404, "text/plain",
					 "expected /boot/52-54-00-00-00-01.ipxe\n");
		snprintf(buf, sizeof(buf), "%.*s", (int)(len - 5), mac);
		rc = pxe_issue_script(s, buf, &peer, time(NULL), &status, &out);
		return send_owned(c, rc, status, "text/plain", out);
	}
	if (!strncmp(url, "/images/", 8))
		return send_image(s, c, url + 8);
	if (!strcmp(url, "/ca.crt"))
		return send_text(c, 200, "application/x-pem-file", s->ca.cert_pem);
	return send_text(c, 404, "text/plain", "not found\n");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version,
			       const char *data, size_t *data_size, void **con_cls)
{
	struct pxe_server *s = cls;
	struct upload *up = *con_cls;
	struct in_addr peer;
	unsigned status;
	char *reply = NULL;
	int rc;

	(void)version;
	/* Each GET of a boot script issues a token: a HEAD must not. */
	if (!strcmp(method, MHD_HTTP_METHOD_HEAD) && !strncmp(url, "/boot/", 6))
		return send_text(c, 405, "text/plain", "boot scripts are served to GET only\n");
	if (!strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD))
		return handle_get(s, c, url);
	if (strcmp(method, MHD_HTTP_METHOD_POST))
		return send_text(c, 405, "text/plain", "method not allowed\n");
	if (strcmp(url, "/enrol"))
		return send_text(c, 404, "text/plain", "not found\n");
	if (!up) {			/* headers only: set up for the body */
		up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*data_size) {
		if (!up->too_big && up->len + *data_size <= PXE_ENROL_MAX_BODY) {
			char *nb = realloc(up->buf, up->len + *data_size + 1);

			if (!nb)
				return MHD_NO;
			memcpy(nb + up->len, data, *data_size);
			up->buf = nb;
			up->len += *data_size;
			up->buf[up->len] = '\0';
		} else {
			up->too_big = true;
		}
		*data_size = 0;
		return MHD_YES;
	}
	if (up->too_big)
		return send_text(c, 413, "application/json",
				 "{\"error\":\"request larger than 64 KiB\"}");
	peer = peer_of(c);
	rc = pxe_enrol(s, up->buf ? up->buf : "", up->len, &peer, time(NULL),
		       &status, &reply);
	return send_owned(c, rc, status, "application/json", reply);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (up) {
		free(up->buf);
		free(up);
		*con_cls = NULL;
	}
}

int pxe_http_start(struct pxe_server *s, struct in_addr addr, unsigned port,
		   struct MHD_Daemon **d, unsigned *bound, char *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = addr,
				  .sin_port = htons((uint16_t)port) };
	socklen_t salen = sizeof(sa);
	char a[INET_ADDRSTRLEN];
	int fd, one = 1, rc;

	inet_ntop(AF_INET, &addr, a, sizeof(a));
	*d = NULL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, PXE_ERR_LEN, "socket: %s", strerror(errno));
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen)) {
		rc = -errno;
		snprintf(err, PXE_ERR_LEN, "cannot listen on %s:%u: %s", a, port,
			 strerror(errno));
		close(fd);
		return rc;
	}
	*bound = ntohs(sa.sin_port);
	/* the URL the scripts name, set before any handler can run */
	pxe_boot_urls(&s->boot, a, *bound);
	*d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
			      0, NULL, NULL, handler, s,
			      MHD_OPTION_LISTEN_SOCKET, fd,
			      MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
			      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
			      MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			      MHD_OPTION_END);
	if (!*d) {
		snprintf(err, PXE_ERR_LEN, "cannot start the HTTP server on %s:%u", a, *bound);
		close(fd);
		return -EIO;
	}
	return 0;
}

void pxe_http_stop(struct MHD_Daemon *d)
{
	if (d)
		MHD_stop_daemon(d);
}
