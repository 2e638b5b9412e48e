/*
 * test_tls.c - node-to-node mutual TLS: a round trip with both names
 * checked, every refusal of a wrong identity, bad messages, time limits.
 *
 * The certificates are made here, as bootd makes them (pxe/ca.c), in a
 * temporary directory: CA A with node1 and node2, and an impostor CA B,
 * with the same name as A, that issued a certificate for node2; and a
 * certificate from A whose CN is not among its DNS names.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ctl.h"
#include "tls.h"

static char tmp[] = "/tmp/test_tls.XXXXXX";

/* the contexts of each identity: S_ accepts, C_ connects */
enum { S_NODE1, S_NODE2, S_ROGUE, C_NODE1, C_NODE2, C_ROGUE, C_BADSAN, C_BARE, NCTX };
static SSL_CTX *ctx[NCTX];
static const char *const ctx_dir[C_BARE] = {
	"node1", "node2", "rogue", "node1", "node2", "rogue", "badsan",
};

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ex)
		return -1;
	ok = X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
	return ok == 1 ? 0 : -1;
}

/* A CA certificate (@issuer NULL) or a node certificate, as bootd's. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *dns, X509 *issuer,
		       EVP_PKEY *ikey)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	char san[128];
	int bad;

	snprintf(san, sizeof(san), "DNS:%s,IP:127.0.0.1", dns);
	bad = X509_set_version(x, X509_VERSION_3) != 1 ||
	      ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) != 1 ||
	      !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	      !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					 (const unsigned char *)cn, -1, -1, 0) != 1 ||
	      X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
	      X509_set_pubkey(x, key) != 1;
	if (!issuer)
		bad = bad || add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
		      add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		      add_ext(x, x, NID_subject_key_identifier, "hash");
	else
		bad = bad || add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
		      add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") ||
		      add_ext(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth") ||
		      add_ext(x, issuer, NID_subject_alt_name, san) ||
		      add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	if (bad || !X509_sign(x, ikey ? ikey : key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int write_pem(const char *dir, const char *file, X509 *x, EVP_PKEY *key)
{
	char path[PATH_MAX];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s/%s", tmp, dir, file);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	return fclose(f) || ok != 1 ? -1 : 0;
}

/* TMP/@dir with node.crt @x, node.key @key and ca.crt @ca, as xenrack-enrol. */
static int write_node(const char *dir, X509 *x, EVP_PKEY *key, X509 *ca)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmp, dir);
	if (mkdir(path, 0700) || write_pem(dir, "node.crt", x, NULL) ||
	    write_pem(dir, "node.key", NULL, key) || write_pem(dir, "ca.crt", ca, NULL))
		return -1;
	return 0;
}

static int setup(void **state)
{
	EVP_PKEY *ka = EVP_EC_gen("P-256"), *kb = EVP_EC_gen("P-256"),
		 *k1 = EVP_EC_gen("P-256"), *k2 = EVP_EC_gen("P-256"),
		 *kr = EVP_EC_gen("P-256");
	X509 *ca = NULL, *cb = NULL, *n1 = NULL, *n2 = NULL, *rogue = NULL, *badsan = NULL;
	char err[CTL_ERR_LEN], dir[PATH_MAX];
	int rc = -1, i;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(tmp) || !ka || !kb || !k1 || !k2 || !kr)
		goto out;
	ca = make_cert(ka, "xenrack test CA", NULL, NULL, NULL);
	cb = make_cert(kb, "xenrack test CA", NULL, NULL, NULL);	/* same name, other key */
	n1 = ca ? make_cert(k1, "node1", "node1", ca, ka) : NULL;
	n2 = ca ? make_cert(k2, "node2", "node2", ca, ka) : NULL;
	badsan = ca ? make_cert(kr, "node3", "node4", ca, ka) : NULL;
	rogue = cb ? make_cert(kr, "node2", "node2", cb, kb) : NULL;
	/* the impostor trusts the real CA: only its own certificate is wrong */
	if (!n1 || !n2 || !rogue || !badsan || write_node("node1", n1, k1, ca) ||
	    write_node("node2", n2, k2, ca) || write_node("rogue", rogue, kr, ca) ||
	    write_node("badsan", badsan, kr, ca) || write_node("mismatch", n1, k2, ca))
		goto out;
	for (i = 0; i < C_BARE; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", tmp, ctx_dir[i]);
		ctx[i] = xr_tls_ctx(dir, i < C_NODE1, err);
		if (!ctx[i]) {
			fprintf(stderr, "%s\n", err);
			goto out;
		}
	}
	/* a client with no certificate at all */
	snprintf(dir, sizeof(dir), "%s/node1/ca.crt", tmp);
	ctx[C_BARE] = SSL_CTX_new(TLS_client_method());
	if (!ctx[C_BARE] || SSL_CTX_load_verify_locations(ctx[C_BARE], dir, NULL) != 1)
		goto out;
	SSL_CTX_set_verify(ctx[C_BARE], SSL_VERIFY_PEER, NULL);
	rc = 0;
out:
	X509_free(ca);
	X509_free(cb);
	X509_free(n1);
	X509_free(n2);
	X509_free(rogue);
	X509_free(badsan);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(kr);
	return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NCTX; i++)
		SSL_CTX_free(ctx[i]);
	return nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * The server: a thread that accepts one connection on 127.0.0.1, reads
 * one request and answers it with its "name" field.
 */
struct server {
	SSL_CTX *ctx;
	int lfd;
	uint16_t port;
	pthread_t th;
	/* what it saw */
	int accept_rc, recv_rc;
	uint16_t type;
	char peer[64], err[CTL_ERR_LEN];
};

static void *serve(void *arg)
{
	struct server *s = arg;
	struct pollfd p = { .fd = s->lfd, .events = POLLIN };
	struct json_object *req = NULL, *reply, *name;
	SSL *ssl;
	int fd;

	s->accept_rc = s->recv_rc = -ECANCELED;
	if (poll(&p, 1, 2000) != 1 || (fd = accept(s->lfd, NULL, NULL)) < 0)
		return NULL;
	s->accept_rc = xr_tls_accept(s->ctx, fd, 1000, &ssl, s->peer, sizeof(s->peer), s->err);
	if (s->accept_rc) {
		close(fd);
		return NULL;
	}
	s->recv_rc = xr_tls_recv(ssl, &s->type, &req, 1000, s->err);
	if (!s->recv_rc) {
		reply = json_object_new_object();
		json_object_object_get_ex(req, "name", &name);
		json_object_object_add(reply, "ok", json_object_new_boolean(1));
		json_object_object_add(reply, "name", json_object_get(name));
		json_object_object_add(reply, "peer", json_object_new_string(s->peer));
		xr_tls_send(ssl, CTL_REPLY, reply, 1000, s->err);
		json_object_put(reply);
		json_object_put(req);
	}
	xr_tls_close(ssl);
	return NULL;
}

/* A listening socket on 127.0.0.1, port chosen by the kernel. */
static void listen_any(struct server *s)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sin);

	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
}

static void start(struct server *s, SSL_CTX *c)
{
	memset(s, 0, sizeof(*s));
	s->ctx = c;
	listen_any(s);
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void finish(struct server *s)
{
	assert_int_equal(pthread_join(s->th, NULL), 0);
	close(s->lfd);
}

static struct json_object *request(const char *name)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	return o;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static void test_round_trip(void **state)
{
	struct json_object *o = request("NetBSD"), *got = NULL;
	char err[CTL_ERR_LEN];
	struct server s;
	uint16_t type = 0;
	SSL *ssl;

	(void)state;
	start(&s, ctx[S_NODE2]);
	assert_int_equal(xr_tls_connect(ctx[C_NODE1], "127.0.0.1", s.port, "node2", 1000,
					&ssl, err), 0);
	assert_int_equal(xr_tls_send(ssl, CTL_PAUSE, o, 1000, err), 0);
	assert_int_equal(xr_tls_recv(ssl, &type, &got, 1000, err), 0);
	assert_int_equal(type, CTL_REPLY);
	assert_string_equal(str(got, "name"), "NetBSD");
	assert_string_equal(str(got, "peer"), "node1");
	/* the server closed after one reply: a clean end */
	json_object_put(got);
	assert_int_equal(xr_tls_recv(ssl, &type, &got, 1000, err), -EPIPE);
	xr_tls_close(ssl);
	finish(&s);
	assert_int_equal(s.accept_rc, 0);
	assert_int_equal(s.recv_rc, 0);
	assert_int_equal(s.type, CTL_PAUSE);
	assert_string_equal(s.peer, "node1");
	json_object_put(o);
}

/*
 * A client the server refuses.  In TLS 1.3 the client's handshake ends
 * before the server has checked it: the refusal comes as an alert on the
 * client's first read.
 */
static void refused_client(SSL_CTX *c, const char *server_says)
{
	struct json_object *got = NULL;
	char err[CTL_ERR_LEN];
	struct server s;
	uint16_t type;
	SSL *ssl;

	start(&s, ctx[S_NODE1]);
	assert_int_equal(xr_tls_connect(c, "127.0.0.1", s.port, "node1", 1000, &ssl, err), 0);
	assert_int_equal(xr_tls_recv(ssl, &type, &got, 1000, err), -ECONNABORTED);
	print_message("  client: %s\n", err);
	assert_non_null(strstr(err, "reading a message: TLS: "));
	xr_tls_close(ssl);
	finish(&s);
	print_message("  server: %s\n", s.err);
	assert_int_equal(s.accept_rc, -EACCES);
	assert_non_null(strstr(s.err, server_says));
	assert_non_null(strstr(s.err, "127.0.0.1:"));
}

static void test_client_without_cert(void **state)
{
	(void)state;
	refused_client(ctx[C_BARE], "no client certificate");
}

static void test_client_other_ca(void **state)
{
	(void)state;
	refused_client(ctx[C_ROGUE], "certificate verify failed: ");
}

static void test_client_cn_not_dns(void **state)
{
	(void)state;
	refused_client(ctx[C_BADSAN], "client certificate CN 'node3' is not one of its "
		       "DNS names");
}

/* A server the client refuses: the refusal is xr_tls_connect()'s. */
static void refused_server(SSL_CTX *c, const char *expect, const char *says)
{
	char err[CTL_ERR_LEN], want[CTL_ERR_LEN];
	struct server s;
	SSL *ssl = NULL;

	start(&s, c);
	assert_int_equal(xr_tls_connect(ctx[C_NODE1], "127.0.0.1", s.port, expect, 1000,
					&ssl, err), -EACCES);
	assert_null(ssl);
	finish(&s);
	print_message("  client: %s\n  server: %s\n", err, s.err);
	snprintf(want, sizeof(want), "%s (127.0.0.1:%u): %s", expect, s.port, says);
	assert_string_equal(err, want);
	assert_true(s.accept_rc < 0);
}

static void test_server_wrong_name(void **state)
{
	(void)state;
	refused_server(ctx[S_NODE1], "node2", "certificate is for 'node1', not 'node2'");
}

static void test_server_other_ca(void **state)
{
	(void)state;
	refused_server(ctx[S_ROGUE], "node2",
		       "certificate verify failed: unable to get local issuer certificate");
}

/* TLS 1.2 is refused, even with a good certificate. */
static void test_tls12_refused(void **state)
{
	SSL_CTX *old = SSL_CTX_new(TLS_client_method());
	char err[CTL_ERR_LEN], path[PATH_MAX];
	struct server s;
	SSL *ssl = NULL;

	(void)state;
	assert_non_null(old);
	snprintf(path, sizeof(path), "%s/node1/node.crt", tmp);
	assert_int_equal(SSL_CTX_use_certificate_file(old, path, SSL_FILETYPE_PEM), 1);
	snprintf(path, sizeof(path), "%s/node1/node.key", tmp);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(old, path, SSL_FILETYPE_PEM), 1);
	snprintf(path, sizeof(path), "%s/node1/ca.crt", tmp);
	assert_int_equal(SSL_CTX_load_verify_locations(old, path, NULL), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(old, TLS1_2_VERSION), 1);
	start(&s, ctx[S_NODE2]);
	assert_int_equal(xr_tls_connect(old, "127.0.0.1", s.port, "node2", 1000, &ssl, err),
			 -ECONNABORTED);
	finish(&s);
	print_message("  client: %s\n  server: %s\n", err, s.err);
	assert_non_null(strstr(err, "TLS handshake failed: "));
	assert_int_equal(s.accept_rc, -ECONNABORTED);
	assert_non_null(strstr(s.err, "unsupported protocol"));
	SSL_CTX_free(old);
}

/* Nobody listening: refused at once, and said so. */
static void test_tcp_refused(void **state)
{
	char err[CTL_ERR_LEN], want[CTL_ERR_LEN];
	struct server s;
	SSL *ssl = NULL;

	(void)state;
	listen_any(&s);
	close(s.lfd);
	assert_int_equal(xr_tls_connect(ctx[C_NODE1], "127.0.0.1", s.port, "node2", 1000,
					&ssl, err), -ECONNREFUSED);
	snprintf(want, sizeof(want), "node2 (127.0.0.1:%u): connect: %s", s.port,
		 strerror(ECONNREFUSED));
	assert_string_equal(err, want);
}

/* Framing errors inside the session are the control protocol's. */
static void test_bad_messages(void **state)
{
	struct json_object *o = request("x"), *big;
	char err[CTL_ERR_LEN], *buf, *huge = malloc(CTL_MAX_BODY);
	struct server s;
	size_t len, n;
	SSL *ssl;

	(void)state;
	assert_non_null(huge);
	memset(huge, 'a', CTL_MAX_BODY);
	big = json_object_new_object();
	json_object_object_add(big, "config", json_object_new_string_len(huge, CTL_MAX_BODY));
	free(huge);

	start(&s, ctx[S_NODE2]);
	assert_int_equal(xr_tls_connect(ctx[C_NODE1], "127.0.0.1", s.port, "node2", 1000,
					&ssl, err), 0);
	/* too big to send: refused before a byte goes out */
	assert_int_equal(xr_tls_send(ssl, CTL_CREATE, big, 1000, err), -EMSGSIZE);
	assert_non_null(strstr(err, "create message body of"));
	/* a header with a wrong magic, sent as it is */
	assert_int_equal(ctl_encode(CTL_LIST, o, &buf, &len, err), 0);
	buf[0] ^= 0x20;
	assert_int_equal(SSL_write_ex(ssl, buf, len, &n), 1);
	free(buf);
	finish(&s);
	xr_tls_close(ssl);
	assert_int_equal(s.accept_rc, 0);
	assert_int_equal(s.recv_rc, -EPROTO);
	assert_string_equal(s.err, "bad magic 0x78524354: not a xenrack control message");
	json_object_put(o);
	json_object_put(big);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_timeouts(void **state)
{
	struct json_object *got = NULL;
	char err[CTL_ERR_LEN];
	struct timespec t0;
	struct server s;
	uint16_t type;
	long ms;
	SSL *ssl;

	(void)state;
	/* a server that never answers: the kernel takes the connection, nobody
	 * says hello */
	memset(&s, 0, sizeof(s));
	listen_any(&s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(xr_tls_connect(ctx[C_NODE1], "127.0.0.1", s.port, "node2", 200,
					&ssl, err), -ETIMEDOUT);
	ms = ms_since(&t0);
	close(s.lfd);
	print_message("  %s (%ld ms)\n", err, ms);
	assert_true(ms >= 190 && ms < 1000);
	assert_non_null(strstr(err, "TLS handshake timed out after 200 ms"));

	/* a server that takes the request and does not reply in time */
	start(&s, ctx[S_NODE2]);
	assert_int_equal(xr_tls_connect(ctx[C_NODE1], "127.0.0.1", s.port, "node2", 1000,
					&ssl, err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(xr_tls_recv(ssl, &type, &got, 150, err), -ETIMEDOUT);
	ms = ms_since(&t0);
	assert_true(ms >= 140 && ms < 1000);
	assert_string_equal(err, "reading a message: timed out after 150 ms");
	xr_tls_close(ssl);
	finish(&s);
	assert_int_equal(s.recv_rc, -EPIPE);	/* the client went away cleanly */
}

static void test_ctx_errors(void **state)
{
	char err[CTL_ERR_LEN], dir[PATH_MAX], want[PATH_MAX + 64];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/none", tmp);
	assert_null(xr_tls_ctx(dir, true, err));
	snprintf(want, sizeof(want), "%s/node.crt: No such file or directory", dir);
	assert_string_equal(err, want);
	snprintf(dir, sizeof(dir), "%s/mismatch", tmp);
	assert_null(xr_tls_ctx(dir, false, err));
	snprintf(want, sizeof(want), "%s/node.key is not the key of node.crt", dir);
	assert_string_equal(err, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_client_without_cert),
		cmocka_unit_test(test_client_other_ca),
		cmocka_unit_test(test_client_cn_not_dns),
		cmocka_unit_test(test_server_wrong_name),
		cmocka_unit_test(test_server_other_ca),
		cmocka_unit_test(test_tls12_refused),
		cmocka_unit_test(test_tcp_refused),
		cmocka_unit_test(test_bad_messages),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_ctx_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
