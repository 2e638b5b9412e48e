/*
 * enrol.c - xenrack-enrol, run by the Dom0 init of a node at boot.
 *
 * Reads xenrack.bootd=, xenrack.node= and xenrack.token= from the kernel
 * command line, makes the node's key, sends a CSR with the token to
 * bootd's /enrol and writes node.key, node.crt, ca.crt and node.json after
 * checking them.  The appliance installs it as /usr/libexec/xenrack/enrol.
 * Exit status: 0 enrolled, 1 failed, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "log.h"
#include "pxe.h"
#include "util.h"

#define EXIT_USAGE     2
#define REPLY_MAX      (1u << 20)
#define CMDLINE_MAX    8192
#define DEFAULT_DIR    "/etc/xenrack"
#define DEFAULT_COROSYNC "/etc/corosync/corosync.conf"
#define URL_MAX        512

struct buf {
	char *p;
	size_t len;
	bool too_big;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: xenrack-enrol [options]\n"
		"  -c, --cmdline FILE   kernel command line to read (default /proc/cmdline)\n"
		"  -d, --dir DIR        where to write node.key, node.crt, ca.crt,\n"
		"                       node.json (default " DEFAULT_DIR ")\n"
		"      --corosync PATH  where to write corosync.conf (default\n"
		"                       " DEFAULT_COROSYNC "; \"\" writes none)\n"
		"      --corosync-only  only write corosync.conf, from DIR/node.json\n"
		"      --bootd URL      instead of xenrack.bootd=\n"
		"      --node NAME      instead of xenrack.node=\n"
		"      --token TOKEN    instead of xenrack.token=\n"
		"      --retries N      tries while bootd cannot be reached (default 10)\n"
		"      --timeout S      seconds per try (default 30)\n"
		"  -h, --help           this text\n");
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *cls)
{
	struct buf *b = cls;
	size_t n = size * nmemb;
	char *np;

	if (b->len + n > REPLY_MAX) {
		b->too_big = true;
		return 0;
	}
	np = realloc(b->p, b->len + n + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, ptr, n);
	b->p = np;
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static char *read_cmdline(const char *path)
{
	char *buf = malloc(CMDLINE_MAX + 1);
	size_t n = 0;
	ssize_t r;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_err("%s: %s", path, strerror(errno));
		free(buf);
		return NULL;
	}
	while (n < CMDLINE_MAX && (r = read(fd, buf + n, CMDLINE_MAX - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = '\0';
	return buf;
}

/* One of the three parameters: from an option, else from the command line. */
static int param(const char *opt, const char *cmdline, const char *cmdline_path,
		 const char *key, char *out, size_t len)
{
	int rc;

	if (opt) {
		if (strlen(opt) >= len) {
			log_err("%s: too long", key);
			return -ENAMETOOLONG;
		}
		snprintf(out, len, "%s", opt);
		return 0;
	}
	rc = pxe_cmdline_get(cmdline, key, out, len);
	if (rc == -ENOENT)
		log_err("%s: no %s= on the kernel command line (was this node booted "
			"by bootd?)", cmdline_path, key);
	else if (rc)
		log_err("%s: %s= is too long", cmdline_path, key);
	return rc;
}

/* POST @body to @url; retry while bootd cannot be reached or fails (5xx). */
static int post(const char *url, const char *body, unsigned retries,
		unsigned timeout, long *code, struct buf *reply)
{
	struct curl_slist *hdr = NULL;
	char cerr[CURL_ERROR_SIZE];
	CURL *c = curl_easy_init();
	unsigned attempt;
	CURLcode cc = CURLE_OK;
	int rc = -EIO;

	if (!c)
		return -ENOMEM;
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	for (attempt = 1; attempt <= retries; attempt++) {
		free(reply->p);
		memset(reply, 0, sizeof(*reply));
		cerr[0] = '\0';
		*code = 0;
		cc = curl_easy_perform(c);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
		if (cc == CURLE_OK && *code < 500) {
			rc = 0;
			break;
		}
		if (reply->too_big) {
			log_err("%s: answer larger than %u bytes", url, REPLY_MAX);
			break;
		}
		if (cc != CURLE_OK)
			log_warn("%s: %s (try %u of %u)", url, cerr[0] ? cerr :
				 curl_easy_strerror(cc), attempt, retries);
		else
			log_warn("%s: HTTP %ld (try %u of %u)", url, *code, attempt, retries);
		if (attempt < retries)
			sleep(attempt < 5 ? attempt : 5);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return rc;
}

static const char *reply_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int mkdir_p(const char *dir)
{
	char *p = strdup(dir), *s;
	int rc = 0;

	if (!p)
		return -ENOMEM;
	for (s = p + 1; ; s++) {
		if (*s == '/' || !*s) {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0755) && errno != EEXIST) {
				rc = -errno;
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return rc;
}

/* corosync.conf from the enrolment data, in @path's directory. */
static int write_corosync_conf(struct json_object *data, const char *path)
{
	char err[PXE_ERR_LEN], *text = NULL, *copy = strdup(path);
	const char *base = strrchr(path, '/'), *dir;
	int rc;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	base = base ? base + 1 : path;
	rc = pxe_corosync_conf(data, &text, err);
	if (rc)
		log_err("%s", err);
	else if ((rc = mkdir_p(dir)) || (rc = xr_write_atomic(dir, base, text, strlen(text), 0644)))
		log_err("%s: %s", path, strerror(-rc));
	free(text);
	free(copy);
	return rc;
}

/* --corosync-only: corosync.conf again, from the node.json enrolment wrote. */
static int corosync_from(const char *dir, const char *path)
{
	char file[PATH_MAX], err[PXE_ERR_LEN], *text = NULL;
	struct json_object *o;
	size_t len;
	int rc;

	snprintf(file, sizeof(file), "%s/node.json", dir);
	rc = xr_read_file(file, REPLY_MAX, &text, &len, "the enrolment data", err, sizeof(err));
	if (rc) {
		log_err("%s", err);
		return rc;
	}
	o = json_tokener_parse(text);
	free(text);
	if (!o) {
		log_err("%s: not JSON", file);
		return -EINVAL;
	}
	rc = write_corosync_conf(o, path);
	json_object_put(o);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "cmdline", required_argument, NULL, 'c' },
		{ "dir", required_argument, NULL, 'd' },
		{ "bootd", required_argument, NULL, 'B' },
		{ "corosync", required_argument, NULL, 'C' },
		{ "corosync-only", no_argument, NULL, 'Y' },
		{ "node", required_argument, NULL, 'N' },
		{ "token", required_argument, NULL, 'T' },
		{ "retries", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmdline_path = "/proc/cmdline", *dir = DEFAULT_DIR;
	const char *corosync = DEFAULT_COROSYNC;
	bool only_corosync = false;
	const char *o_bootd = NULL, *o_node = NULL, *o_token = NULL;
	char bootd[URL_MAX], node[PXE_NAME_MAX + 1], token[PXE_TOKEN_LEN + 8];
	char url[URL_MAX + 16], err[PXE_ERR_LEN];
	unsigned retries = 10, timeout = 30;
	struct json_object *req = NULL, *rep = NULL, *data;
	struct buf reply = { 0 };
	char *cmdline = NULL, *csr = NULL, *key_pem = NULL;
	const char *cert, *ca, *why;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	long code = 0;
	int c, rc, ret = 1;

	log_init("xenrack-enrol", false);
	while ((c = getopt_long(argc, argv, "c:d:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': cmdline_path = optarg; break;
		case 'd': dir = optarg; break;
		case 'B': o_bootd = optarg; break;
		case 'C': corosync = optarg; break;
		case 'Y': only_corosync = true; break;
		case 'N': o_node = optarg; break;
		case 'T': o_token = optarg; break;
		case 'R': retries = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'O': timeout = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc || !retries || !timeout || (only_corosync && !corosync[0])) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (only_corosync)
		return corosync_from(dir, corosync) ? 1 : 0;
	if (!o_bootd || !o_node || !o_token) {
		cmdline = read_cmdline(cmdline_path);
		if (!cmdline)
			goto out;
	}
	if (param(o_bootd, cmdline, cmdline_path, "xenrack.bootd", bootd, sizeof(bootd)) ||
	    param(o_node, cmdline, cmdline_path, "xenrack.node", node, sizeof(node)) ||
	    param(o_token, cmdline, cmdline_path, "xenrack.token", token, sizeof(token)))
		goto out;
	if (strncmp(bootd, "http://", 7) && strncmp(bootd, "https://", 8)) {
		log_err("xenrack.bootd=%s: expected an http:// or https:// URL", bootd);
		goto out;
	}
	if ((why = pxe_name_check(node, NULL))) {
		log_err("xenrack.node=%s: %s", node, why);
		goto out;
	}
	if (strlen(token) != PXE_TOKEN_LEN || strspn(token, "0123456789abcdef") != PXE_TOKEN_LEN) {
		log_err("xenrack.token: expected %d lowercase hex digits", PXE_TOKEN_LEN);
		goto out;
	}
	while (strlen(bootd) > 8 && bootd[strlen(bootd) - 1] == '/')
		bootd[strlen(bootd) - 1] = '\0';
	snprintf(url, sizeof(url), "%s/enrol", bootd);

	if (pxe_node_keygen(&key) || pxe_node_csr(key, node, &csr)) {
		log_err("cannot make the node key and CSR");
		goto out;
	}
	req = json_object_new_object();
	if (!req)
		goto out;
	json_object_object_add(req, "node", json_object_new_string(node));
	json_object_object_add(req, "token", json_object_new_string(token));
	json_object_object_add(req, "csr", json_object_new_string(csr));

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = post(url, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
		  retries, timeout, &code, &reply);
	curl_global_cleanup();
	if (rc) {
		log_err("%s: bootd could not be reached; giving up", url);
		goto out;
	}
	rep = reply.p ? json_tokener_parse(reply.p) : NULL;
	if (code != 200) {
		const char *e = reply_str(rep, "error");

		log_err("%s: HTTP %ld: %s", url, code, e ? e : "no reason given");
		goto out;
	}
	cert = reply_str(rep, "certificate");
	ca = reply_str(rep, "ca");
	if (!cert || !ca || !json_object_object_get_ex(rep, "enrolment", &data) ||
	    !json_object_is_type(data, json_type_object)) {
		log_err("%s: answer lacks 'certificate', 'ca' or 'enrolment'", url);
		goto out;
	}
	if (pxe_node_verify(key, node, cert, ca, err)) {
		log_err("%s: %s; nothing written", url, err);
		goto out;
	}

	bio = BIO_new(BIO_s_mem());
	if (!bio || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	{
		char *p;
		long len = BIO_get_mem_data(bio, &p);

		key_pem = len > 0 ? strndup(p, (size_t)len) : NULL;
	}
	if (!key_pem)
		goto out;
	if ((rc = mkdir_p(dir)) ||
	    (rc = xr_write_atomic(dir, "node.key", key_pem, strlen(key_pem), 0600)) ||
	    (rc = xr_write_atomic(dir, "node.crt", cert, strlen(cert), 0644)) ||
	    (rc = xr_write_atomic(dir, "ca.crt", ca, strlen(ca), 0644))) {
		log_err("%s: %s", dir, strerror(-rc));
		goto out;
	}
	{
		const char *js = json_object_to_json_string_ext(data, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
		char *line = NULL;

		if (asprintf(&line, "%s\n", js) < 0)
			goto out;
		rc = xr_write_atomic(dir, "node.json", line, strlen(line), 0644);
		free(line);
		if (rc) {
			log_err("%s/node.json: %s", dir, strerror(-rc));
			goto out;
		}
	}
	if (corosync[0] && write_corosync_conf(data, corosync))
		goto out;
	log_info("%s enrolled with %s: %s/node.crt, node.key, ca.crt, node.json%s%s",
		 node, bootd, dir, corosync[0] ? ", " : "", corosync);
	ret = 0;
out:
	if (key_pem) {
		OPENSSL_cleanse(key_pem, strlen(key_pem));
		free(key_pem);
	}
	OPENSSL_cleanse(token, sizeof(token));
	BIO_free(bio);
	EVP_PKEY_free(key);
	json_object_put(req);
	json_object_put(rep);
	free(reply.p);
	free(csr);
	free(cmdline);
	return ret;
}
