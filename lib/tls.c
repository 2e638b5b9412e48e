/*
 * tls.c - node-to-node mutual TLS 1.3 carrying the control protocol (see
 * tls.h, docs/trust.md).  All I/O is non-blocking, with poll() keeping
 * each call within its time limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ctl.h"
#include "tls.h"
#include "util.h"

#define NODE_NAME_MAX  63	/* a node name is one DNS label (pxe.h) */
/* names in certificates are matched exactly: no wildcards, and never the CN */
#define HOST_FLAGS     (X509_CHECK_FLAG_NO_WILDCARDS | \
			X509_CHECK_FLAG_NEVER_CHECK_SUBJECT)

/* The first OpenSSL error, for messages; clears the queue. */
static const char *ssl_err(void)
{
	unsigned long e = ERR_peek_error();
	const char *s;

	if (!e)
		return "OpenSSL failed";
	s = ERR_SYSTEM_ERROR(e) ? strerror(ERR_GET_REASON(e)) : ERR_reason_error_string(e);
	ERR_clear_error();
	return s ? s : "unknown OpenSSL error";
}


/* A time limit as a deadline, and back as what poll() takes; -1: none. */
static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : xr_now_ms() + timeout_ms;
}

static int left_ms(int64_t deadline)
{
	int64_t left = deadline - xr_now_ms();

	if (deadline < 0)
		return -1;
	return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* Wait for @events on @fd: 0, -ETIMEDOUT, or a negative errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do {
		r = poll(&p, 1, left_ms(deadline));
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r ? 0 : -ETIMEDOUT;
}

/* Wait until the socket can do what OpenSSL said it @want's. */
static int wait_ssl(SSL *ssl, int want, int64_t deadline)
{
	return wait_fd(SSL_get_fd(ssl), want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN,
		       deadline);
}

/*
 * What the failure @e of an OpenSSL I/O call means: -EAGAIN with *@want
 * set; 0 at the end of the stream; a negative errno with @why set.  Call
 * it right after the call, which ran with errno and the queue cleared.
 */
static int ssl_fail(int e, int *want, char *why)
{
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		*want = e;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (!errno)
			return 0;
		snprintf(why, CTL_ERR_LEN, "%s", strerror(errno));
		return -errno;
	default: {
		/* The peer could not authenticate what we sent: it arrived
		 * corrupted, and the peer acted on none of it. */
		bool peer_refused = ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL &&
				    ERR_GET_REASON(ERR_peek_error()) == SSL_R_SSLV3_ALERT_BAD_RECORD_MAC;

		snprintf(why, CTL_ERR_LEN, "TLS: %s", ssl_err());
		return peer_refused ? -EILSEQ : -ECONNABORTED;
	}
	}
}

/* Copy @s to @buf, at most @len bytes, for a message: no control bytes. */
static void printable(char *buf, size_t len, const unsigned char *s, int n)
{
	size_t i;

	for (i = 0; i + 1 < len && (int)i < n; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	if (len)
		buf[i] = '\0';
}

/* "'a', 'b'": the SAN DNS names of @x; "" when none. */
static void dns_names(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES *gens = NULL;
	size_t used = 0;
	int i;

	buf[0] = '\0';
	if (x)
		gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(gens) && used + 8 < len; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char name[NODE_NAME_MAX + 1];

		if (g->type != GEN_DNS)
			continue;
		printable(name, sizeof(name), ASN1_STRING_get0_data(g->d.dNSName),
			  ASN1_STRING_length(g->d.dNSName));
		used += (size_t)snprintf(buf + used, len - used, "%s'%s'",
					 used ? ", " : "", name);
	}
	GENERAL_NAMES_free(gens);
}

/*
 * The client's node name, from its certificate @x: its one CN, a node name
 * (a-z, 0-9, '-'), which must also be one of its SAN DNS names.
 */
static int node_cn(X509 *x, char *name, size_t len, char *why)
{
	X509_NAME *subj = x ? X509_get_subject_name(x) : NULL;
	int i = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
	unsigned char *cn = NULL;
	char shown[NODE_NAME_MAX + 1];
	int n, rc = -EACCES;

	if (i < 0 || X509_NAME_get_index_by_NID(subj, NID_commonName, i) >= 0) {
		snprintf(why, CTL_ERR_LEN, "client certificate has no single CN");
		return rc;
	}
	n = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
	if (n < 0) {
		snprintf(why, CTL_ERR_LEN, "client certificate CN: %s", ssl_err());
		return rc;
	}
	printable(shown, sizeof(shown), cn, n);
	if (n < 1 || n > NODE_NAME_MAX || strspn((char *)cn, "abcdefghijklmnopqrstuvwxyz"
						   "0123456789-") != (size_t)n) {
		snprintf(why, CTL_ERR_LEN, "client certificate CN '%s' is not a node name",
			 shown);
	} else if (X509_check_host(x, (char *)cn, (size_t)n, HOST_FLAGS, NULL) != 1) {
		snprintf(why, CTL_ERR_LEN, "client certificate CN '%s' is not one of its "
			 "DNS names", shown);
	} else if ((size_t)n >= len) {
		snprintf(why, CTL_ERR_LEN, "node name '%s' is longer than %zu bytes",
			 shown, len - 1);
		rc = -ENAMETOOLONG;
	} else {
		memcpy(name, cn, (size_t)n + 1);
		rc = 0;
	}
	OPENSSL_free(cn);
	ERR_clear_error();
	return rc;
}

/*
 * The server's verify callback: once the CA has vouched for the client's
 * certificate, its names must hold too, so that a refusal is a TLS alert
 * the client sees.  The reason goes to the buffer in the SSL's app data.
 */
static int verify_client(int ok, X509_STORE_CTX *sc)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sc, SSL_get_ex_data_X509_STORE_CTX_idx());
	char name[NODE_NAME_MAX + 1], scratch[CTL_ERR_LEN];
	char *why = ssl && SSL_get_app_data(ssl) ? SSL_get_app_data(ssl) : scratch;

	if (!ok || X509_STORE_CTX_get_error_depth(sc) > 0)
		return ok;
	if (!node_cn(X509_STORE_CTX_get_current_cert(sc), name, sizeof(name), why))
		return 1;
	X509_STORE_CTX_set_error(sc, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

/* The handshake failed with @e: say why in @why. */
static int handshake_fail(SSL *ssl, int e, const char *expect, char *why)
{
	long v = SSL_get_verify_result(ssl);
	unsigned long first = ERR_peek_error();
	int want, rc = -EACCES;

	if (e != SSL_ERROR_SSL) {
		rc = ssl_fail(e, &want, why);
		if (rc == 0 || rc == -EAGAIN) {
			snprintf(why, CTL_ERR_LEN, "connection closed during the TLS handshake");
			rc = -ECONNRESET;
		}
		return rc;
	}
	if (v == X509_V_ERR_HOSTNAME_MISMATCH) {
		/* the peer's chain is kept even when it failed; the leaf first */
		STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
		char names[CTL_ERR_LEN / 2];

		dns_names(sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : NULL,
			  names, sizeof(names));
		if (names[0])
			snprintf(why, CTL_ERR_LEN, "certificate is for %s, not '%s'",
				 names, expect);
		else
			snprintf(why, CTL_ERR_LEN, "certificate names no DNS host, "
				 "expected '%s'", expect);
	} else if (v == X509_V_ERR_APPLICATION_VERIFICATION && why[0]) {
		/* verify_client() said why */
	} else if (v != X509_V_OK) {
		snprintf(why, CTL_ERR_LEN, "certificate verify failed: %s",
			 X509_verify_cert_error_string(v));
	} else if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
		   ERR_GET_REASON(first) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
		snprintf(why, CTL_ERR_LEN, "no client certificate");
	} else {
		snprintf(why, CTL_ERR_LEN, "TLS handshake failed: %s", ssl_err());
		rc = -ECONNABORTED;
	}
	ERR_clear_error();
	return rc;
}

/* Drive the handshake of @ssl to its end within @deadline. */
static int handshake(SSL *ssl, const char *expect, int64_t deadline, int timeout_ms,
		     char *why)
{
	for (;;) {
		int r, e;

		ERR_clear_error();
		errno = 0;
		r = SSL_do_handshake(ssl);
		if (r == 1)
			return 0;
		e = SSL_get_error(ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return handshake_fail(ssl, e, expect, why);
		r = wait_ssl(ssl, e, deadline);
		if (r == -ETIMEDOUT)
			snprintf(why, CTL_ERR_LEN, "TLS handshake timed out after %d ms",
				 timeout_ms);
		else if (r)
			snprintf(why, CTL_ERR_LEN, "poll: %s", strerror(-r));
		if (r)
			return r;
	}
}

static void set_nodelay(int fd)
{
	int one = 1;

	/* one message, one write: don't hold it back for an ACK */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

SSL_CTX *xr_tls_ctx(const char *dir, bool server, char *err)
{
	char crt[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
	SSL_CTX *ctx;

	if (snprintf(crt, sizeof(crt), "%s/node.crt", dir) >= (int)sizeof(crt) ||
	    snprintf(key, sizeof(key), "%s/node.key", dir) >= (int)sizeof(key) ||
	    snprintf(ca, sizeof(ca), "%s/ca.crt", dir) >= (int)sizeof(ca)) {
		snprintf(err, CTL_ERR_LEN, "%s: path too long", dir);
		return NULL;
	}
	ERR_clear_error();
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		snprintf(err, CTL_ERR_LEN, "cannot make a TLS context: %s", ssl_err());
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1) {
		snprintf(err, CTL_ERR_LEN, "%s/node.crt: %s", dir, ssl_err());
		goto fail;
	}
	/* loading the key checks it against the certificate already there */
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			snprintf(err, CTL_ERR_LEN, "%s/node.key is not the key of node.crt", dir);
		else
			snprintf(err, CTL_ERR_LEN, "%s/node.key: %s", dir, ssl_err());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, CTL_ERR_LEN, "%s/node.key is not the key of node.crt: %s",
			 dir, ssl_err());
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		snprintf(err, CTL_ERR_LEN, "%s/ca.crt: %s", dir, ssl_err());
		goto fail;
	}
	if (server)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   verify_client);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/*
	 * No resumption: every connection shows both certificates.  A TCP
	 * close without close_notify is an end of stream; the framing's
	 * lengths catch a message cut short.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

/* A non-blocking TCP connection to @addr:@port within @deadline, or -errno. */
static int tcp_connect(const char *addr, uint16_t port, int64_t deadline,
		       int timeout_ms, char *why)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	}, *res, *ai;
	char serv[8];
	int fd = -1, rc, g;

	snprintf(serv, sizeof(serv), "%u", port);
	g = getaddrinfo(addr, serv, &hints, &res);
	if (g) {
		snprintf(why, CTL_ERR_LEN, "cannot resolve: %s",
			 g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
		return g == EAI_SYSTEM && errno ? -errno : -EHOSTUNREACH;
	}
	rc = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		socklen_t len = sizeof(int);
		int soerr = 0;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		rc = -errno;
		if (rc == -EINPROGRESS || rc == -EINTR) {
			rc = wait_fd(fd, POLLOUT, deadline);
			if (!rc && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
				rc = -errno;
			else if (!rc)
				rc = -soerr;
			if (!rc)
				break;
		}
		close(fd);
		fd = -1;
		if (rc == -ETIMEDOUT)
			break;		/* no time left for the next address */
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		set_nodelay(fd);
		return fd;
	}
	if (rc == -ETIMEDOUT)
		snprintf(why, CTL_ERR_LEN, "TCP connect timed out after %d ms", timeout_ms);
	else
		snprintf(why, CTL_ERR_LEN, "connect: %s", strerror(-rc));
	return rc;
}

int xr_tls_connect(SSL_CTX *ctx, const char *addr, uint16_t port,
		   const char *peer_node, int timeout_ms, SSL **out, char *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	char why[CTL_ERR_LEN] = "";
	SSL *ssl = NULL;
	int fd, rc;

	*out = NULL;
	if (!peer_node || !*peer_node) {
		snprintf(err, CTL_ERR_LEN, "%s: no node name to check the certificate against",
			 addr);
		return -EINVAL;
	}
	fd = tcp_connect(addr, port, deadline, timeout_ms, why);
	if (fd < 0) {
		rc = fd;
		goto fail;
	}
	ERR_clear_error();
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set1_host(ssl, peer_node) != 1) {
		snprintf(why, CTL_ERR_LEN, "cannot set up TLS: %s", ssl_err());
		rc = -ENOMEM;
		goto fail;
	}
	SSL_set_hostflags(ssl, HOST_FLAGS);
	SSL_set_connect_state(ssl);
	rc = handshake(ssl, peer_node, deadline, timeout_ms, why);
	if (rc)
		goto fail;
	*out = ssl;
	return 0;
fail:
	snprintf(err, CTL_ERR_LEN, strchr(addr, ':') ? "%s ([%s]:%u): %.200s"
						     : "%s (%s:%u): %.200s",
		 peer_node, addr, port, why);
	SSL_free(ssl);		/* the socket BIO does not close @fd */
	if (fd >= 0)
		close(fd);
	return rc;
}

/* "ADDR:PORT" of the peer of @fd, for messages. */
static void peer_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) || (ss.ss_family != AF_INET &&
							     ss.ss_family != AF_INET6)) {
		snprintf(buf, len, "peer");
	} else if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

int xr_tls_accept(SSL_CTX *ctx, int fd, int timeout_ms, SSL **out,
		  char *peer_node, size_t peer_len, char *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	char where[INET6_ADDRSTRLEN + 16], why[CTL_ERR_LEN] = "";
	SSL *ssl = NULL;
	int fl, rc;

	*out = NULL;
	peer_addr(fd, where, sizeof(where));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		rc = -errno;
		snprintf(why, CTL_ERR_LEN, "fcntl: %s", strerror(errno));
		goto fail;
	}
	set_nodelay(fd);
	ERR_clear_error();
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		snprintf(why, CTL_ERR_LEN, "cannot set up TLS: %s", ssl_err());
		rc = -ENOMEM;
		goto fail;
	}
	SSL_set_app_data(ssl, why);		/* for verify_client() */
	SSL_set_accept_state(ssl);
	rc = handshake(ssl, NULL, deadline, timeout_ms, why);
	if (!rc)
		rc = node_cn(SSL_get0_peer_certificate(ssl), peer_node, peer_len, why);
	if (!rc) {
		*out = ssl;
		return 0;
	}
fail:
	snprintf(err, CTL_ERR_LEN, "%s: %.180s", where, why);
	SSL_free(ssl);
	return rc;
}

int xr_tls_write(SSL *ssl, const void *buf, size_t len, int timeout_ms, char *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	char why[CTL_ERR_LEN];
	int rc, want = 0;
	size_t n;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		/* no partial writes: a retry repeats the same call until all is sent */
		if (SSL_write_ex(ssl, buf, len, &n) == 1)
			return 0;
		rc = ssl_fail(SSL_get_error(ssl, 0), &want, why);
		if (rc == -EAGAIN)
			rc = wait_ssl(ssl, want, deadline);
		else if (!rc)
			rc = -EPIPE;
		if (rc == -ETIMEDOUT)
			snprintf(err, CTL_ERR_LEN, "sending: timed out after %d ms", timeout_ms);
		else if (rc == -EPIPE)
			snprintf(err, CTL_ERR_LEN, "sending: connection closed");
		else if (rc)
			snprintf(err, CTL_ERR_LEN, "sending: %.200s", why);
		if (rc)
			return rc;
	}
}

int xr_tls_send(SSL *ssl, uint16_t type, struct json_object *body,
		int timeout_ms, char *err)
{
	size_t len;
	char *buf;
	int rc;

	rc = ctl_encode(type, body, &buf, &len, err);
	if (rc)
		return rc;
	rc = xr_tls_write(ssl, buf, len, timeout_ms, err);
	free(buf);
	return rc;
}

/* A ctl_read_fn over a TLS session. */
struct tls_src {
	SSL *ssl;
	int want;		/* what OpenSSL waits for, after -EAGAIN */
	char why[CTL_ERR_LEN];	/* what failed, after another error */
};

static ssize_t tls_read(void *arg, void *buf, size_t len)
{
	struct tls_src *s = arg;
	size_t n;
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_read_ex(s->ssl, buf, len, &n);
	if (r == 1)
		return (ssize_t)n;
	return ssl_fail(SSL_get_error(s->ssl, r), &s->want, s->why);
}

int xr_tls_recv(SSL *ssl, uint16_t *type, struct json_object **body,
		int timeout_ms, char *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct tls_src s = { .ssl = ssl };
	struct ctl_reader r;
	int rc;

	ctl_reader_init(&r);
	while (!(rc = ctl_reader_feed_fn(&r, tls_read, &s, type, body, err))) {
		rc = wait_ssl(ssl, s.want, deadline);
		if (rc == -ETIMEDOUT)
			snprintf(err, CTL_ERR_LEN, "reading a message: timed out after %d ms",
				 timeout_ms);
		else if (rc)
			snprintf(err, CTL_ERR_LEN, "reading a message: poll: %s", strerror(-rc));
		if (rc)
			break;
	}
	if (s.why[0])		/* tls_read() failed: say how */
		snprintf(err, CTL_ERR_LEN, "reading a message: %.200s", s.why);
	ctl_reader_dispose(&r);
	return rc == 1 ? 0 : rc;
}

void xr_tls_close(SSL *ssl)
{
	int fd;

	if (!ssl)
		return;
	fd = SSL_get_fd(ssl);
	/* close_notify if the socket takes it now (refused after a fatal error) */
	SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
}

int xr_tls_read(SSL *ssl, void *buf, size_t len, int timeout_ms, char *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct tls_src s = { .ssl = ssl };
	size_t got = 0;
	ssize_t n;
	int rc;

	while (got < len) {
		n = tls_read(&s, (char *)buf + got, len - got);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0) {
			snprintf(err, CTL_ERR_LEN, got ? "connection closed after %zu of %zu bytes"
				 : "connection closed", got, len);
			return -EPIPE;
		}
		if (n != -EAGAIN) {
			snprintf(err, CTL_ERR_LEN, "reading: %.200s", s.why);
			return (int)n;
		}
		rc = wait_ssl(ssl, s.want, deadline);
		if (rc) {
			snprintf(err, CTL_ERR_LEN, rc == -ETIMEDOUT ? "reading: timed out after %d ms"
				 : "reading: poll failed (%d)", timeout_ms);
			return rc;
		}
	}
	return 0;
}
