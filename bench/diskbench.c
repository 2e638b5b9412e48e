/*
 * diskbench.c - write throughput and latency of a block device, for
 * bench/storage.sh: the same figures for a DRBD device and for the same
 * disk unreplicated.  It overwrites the device: point it at scratch only.
 *
 *   xenrack-diskbench DEVICE [MiB]
 *
 * Two passes, each write O_DIRECT | O_DSYNC (acknowledged by the disk, as
 * a guest's synchronous write through blkback would be):
 *   seq   1 MiB writes over the first MiB of the device (default 64 MiB)
 *   rand  4 KiB writes at random 4 KiB offsets in that range, 4 per MiB
 * One line each: throughput in MiB/s and latency p50 / p99 / max in us.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One pass of @count writes of @bs bytes, in order or at random blocks. */
static int pass(int fd, const char *name, size_t bs, uint64_t range, size_t count,
		bool at_random, void *buf)
{
	double *lat = calloc(count, sizeof(double)), t0, total = 0;
	uint64_t blocks = range / bs, x = 0x9e3779b97f4a7c15ull;

	if (!lat)
		return -1;
	for (size_t i = 0; i < count; i++) {
		uint64_t blk = i % blocks;
		off_t off;

		if (at_random) {	/* xorshift64: the same offsets every run */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			blk = x % blocks;
		}
		off = (off_t)(blk * bs);
		memset(buf, (int)(i & 0xff), 64);
		t0 = now_us();
		if (pwrite(fd, buf, bs, off) != (ssize_t)bs) {
			fprintf(stderr, "diskbench: %s write at %jd: %s\n", name, (intmax_t)off,
				strerror(errno));
			free(lat);
			return -1;
		}
		lat[i] = now_us() - t0;
		total += lat[i];
	}
	qsort(lat, count, sizeof(double), cmp_double);
	printf("%-4s bs=%zu writes=%zu MiB/s=%.2f p50_us=%.0f p99_us=%.0f max_us=%.0f\n",
	       name, bs, count, (double)bs * (double)count / (1 << 20) / (total / 1e6),
	       lat[count / 2], lat[count * 99 / 100], lat[count - 1]);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t size = 0, mib = 64;
	void *buf;
	int fd;

	if (argc < 2 || argc > 3 || (argc == 3 && !(mib = strtoull(argv[2], NULL, 10)))) {
		fprintf(stderr, "usage: xenrack-diskbench DEVICE [MiB]  (overwrites DEVICE)\n");
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_DIRECT | O_DSYNC | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size)) {
		fprintf(stderr, "diskbench: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (size < mib << 20) {
		fprintf(stderr, "diskbench: %s: %ju MiB, smaller than the %ju MiB asked for\n",
			argv[1], (uintmax_t)(size >> 20), (uintmax_t)mib);
		return 1;
	}
	if (posix_memalign(&buf, 4096, 1 << 20))
		return 1;
	memset(buf, 0xa5, 1 << 20);
	if (pass(fd, "seq", 1 << 20, mib << 20, (size_t)mib, false, buf) ||
	    pass(fd, "rand", 4096, mib << 20, (size_t)mib * 4, true, buf))
		return 1;
	free(buf);
	close(fd);
	return 0;
}
