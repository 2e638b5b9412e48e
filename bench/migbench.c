/*
 * migbench.c - the migration transport alone, on loopback: a save stream
 * made of a memory image goes through the real pump (hash, zstd, frames,
 * TLS 1.3 with both node certificates) and the real feeder (frames, the
 * stream check, the hash) into /dev/null.  bench/migrate-transport.sh runs
 * it beside `openssl speed` and an ssh pipe.
 *
 * usage: xenrack-migbench SERVER_CERT_DIR CLIENT_CERT_DIR IMAGE [--compress]
 * Prints one line: stream bytes, wire bytes, seconds, MiB/s of stream.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "ctl.h"
#include "mig.h"
#include "tls.h"
#include "util.h"

struct writer {
	int fd;
	const uint8_t *img;
	size_t pages;
};

static void put32le(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put32be(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

/* A PV save stream, as libxc writes one: headers, PAGE_DATA records of
 * 1024 pages, END; around it libxl's head and tail. */
static void *write_stream(void *arg)
{
	struct writer *w = arg;
	uint8_t hdr[24 + 24 + 16], rec[16 + 8 * 1024], tail[8], end[8] = { 0 };

	mig_stream_head(hdr);
	memset(hdr + 24, 0xff, 8);
	put32be(hdr + 32, 0x58454e46);
	put32be(hdr + 36, 3);
	memset(hdr + 40, 0, 8);
	put32le(hdr + 48, 1);
	put32le(hdr + 52, 12);
	put32le(hdr + 56, 4);
	put32le(hdr + 60, 17);
	if (xr_write_all(w->fd, hdr, sizeof(hdr)))
		goto out;
	for (size_t pfn = 0; pfn < w->pages; pfn += 1024) {
		uint32_t n = w->pages - pfn < 1024 ? (uint32_t)(w->pages - pfn) : 1024;

		put32le(rec, 1);
		put32le(rec + 4, 8 + 8 * n + n * MIG_PAGE);
		put32le(rec + 8, n);
		put32le(rec + 12, 0);
		for (uint32_t i = 0; i < n; i++) {
			uint64_t v = htole64(pfn + i);

			memcpy(rec + 16 + 8 * i, &v, 8);
		}
		if (xr_write_all(w->fd, rec, 16 + 8 * n) ||
		    xr_write_all(w->fd, w->img + pfn * MIG_PAGE, (size_t)n * MIG_PAGE))
			goto out;
	}
	mig_stream_tail(tail);
	if (!xr_write_all(w->fd, end, sizeof(end)))
		xr_write_all(w->fd, tail, sizeof(tail));
out:
	close(w->fd);
	return NULL;
}

static void *drain(void *arg)
{
	static uint8_t buf[1 << 20];
	int fd = *(int *)arg;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return NULL;
}

struct server {
	SSL_CTX *ctx;
	int lfd;
	struct mig_feed feed;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	char peer[64], err[CTL_ERR_LEN];
	pthread_t dt;
	int p[2], fd = accept(s->lfd, NULL, NULL);
	SSL *ssl;

	if (fd < 0 || xr_tls_accept(s->ctx, fd, 10000, &ssl, peer, sizeof(peer), err)) {
		fprintf(stderr, "migbench: accept: %s\n", fd < 0 ? strerror(errno) : err);
		exit(1);
	}
	if (pipe(p))
		exit(1);
	pthread_create(&dt, NULL, drain, &p[0]);
	s->feed = (struct mig_feed){ .ssl = ssl, .out = p[1], .check = true, .fault = "" };
	mig_feed(&s->feed);
	pthread_join(dt, NULL);
	xr_tls_close(ssl);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct server srv = { 0 };
	struct mig_pump pump = { .fault = "" };
	struct writer w;
	char err[CTL_ERR_LEN], port[8];
	pthread_t st, wt, pt;
	SSL_CTX *cctx;
	SSL *ssl;
	struct stat stt;
	uint8_t *img;
	int fd, p[2];
	int64_t t0, t1;

	if (argc < 4) {
		fprintf(stderr, "usage: xenrack-migbench SERVER_DIR CLIENT_DIR IMAGE [--compress]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	pump.compress = argc > 4 && !strcmp(argv[4], "--compress");
	fd = open(argv[3], O_RDONLY);
	if (fd < 0 || fstat(fd, &stt) || stt.st_size < MIG_PAGE) {
		fprintf(stderr, "migbench: %s: not a readable image\n", argv[3]);
		return 1;
	}
	img = malloc((size_t)stt.st_size);
	for (off_t got = 0, n = 1; img && got < stt.st_size && n > 0; got += n)
		n = read(fd, img + got, (size_t)(stt.st_size - got));	/* at most 2 GiB a call */
	if (!img || lseek(fd, 0, SEEK_CUR) != stt.st_size) {
		fprintf(stderr, "migbench: cannot read %s\n", argv[3]);
		return 1;
	}
	close(fd);
	srv.ctx = xr_tls_ctx(argv[1], true, err);
	cctx = srv.ctx ? xr_tls_ctx(argv[2], false, err) : NULL;
	if (!cctx) {
		fprintf(stderr, "migbench: %s\n", err);
		return 1;
	}
	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(srv.lfd, 1) ||
	    getsockname(srv.lfd, (struct sockaddr *)&sa, &sl)) {
		perror("migbench: listen");
		return 1;
	}
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
	pthread_create(&st, NULL, serve, &srv);
	if (xr_tls_connect(cctx, "127.0.0.1", ntohs(sa.sin_port), "node2", 10000, &ssl, err)) {
		fprintf(stderr, "migbench: connect: %s\n", err);
		return 1;
	}
	if (pipe(p))
		return 1;
	fcntl(p[1], F_SETPIPE_SZ, MIG_CHUNK_MAX);
	w = (struct writer){ .fd = p[1], .img = img, .pages = (size_t)stt.st_size / MIG_PAGE };
	pump.in = p[0];
	pump.ssl = ssl;
	t0 = xr_now_ms();
	pthread_create(&wt, NULL, write_stream, &w);
	pthread_create(&pt, NULL, mig_pump, &pump);
	pthread_join(pt, NULL);
	pthread_join(wt, NULL);
	pthread_join(st, NULL);
	t1 = xr_now_ms();
	if (pump.rc || srv.feed.rc) {
		fprintf(stderr, "migbench: %s\n", pump.rc ? pump.err : srv.feed.err);
		return 1;
	}
	{
		size_t zero = 0;

		for (size_t i = 0; i < w.pages; i++) {
			const uint8_t *pg = img + i * MIG_PAGE;

			zero += !pg[0] && !memcmp(pg, pg + 1, MIG_PAGE - 1);
		}
		printf("%.1f%% zero pages; ", 100.0 * (double)zero / (double)w.pages);
	}
	printf("stream %llu bytes, wire %llu bytes (%.3f), %.3f s, %.1f MiB/s of stream\n",
	       (unsigned long long)pump.stream_bytes, (unsigned long long)pump.wire_bytes,
	       (double)pump.wire_bytes / (double)pump.stream_bytes, (double)(t1 - t0) / 1000,
	       (double)pump.stream_bytes / (1 << 20) / ((double)(t1 - t0) / 1000));
	xr_tls_close(ssl);
	SSL_CTX_free(cctx);
	SSL_CTX_free(srv.ctx);
	free(img);
	return 0;
}
