/*
 * mark.c - the marks of migrations under way (MIG_RUN_DIR/NAME.out on the
 * source, NAME.in on the target, each holding its worker's pid): one
 * migration of a domain at a time, --cancel finds its worker, and clusterd
 * cleans up after a receiver that died.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clu.h"
#include "ctl.h"
#include "log.h"
#include "mig.h"
#include "storage.h"

static pid_t mark_pid(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? (pid_t)atol(buf) : -1;
}

static bool alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int mig_mark(const char *domain, const char *side, char *path, size_t len, char *err)
{
	char pid[24];
	int fd, n;

	mkdir("/run/xenrack", 0755);
	if (mkdir(MIG_RUN_DIR, 0700) && errno != EEXIST) {
		snprintf(err, CTL_ERR_LEN, "%s: %s", MIG_RUN_DIR, strerror(errno));
		return -errno;
	}
	snprintf(path, len, "%s/%s.%s", MIG_RUN_DIR, domain, side);
	for (int tries = 0; tries < 2; tries++) {
		pid_t other;

		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
		other = mark_pid(path);
		if (alive(other)) {
			snprintf(err, CTL_ERR_LEN, "%s is already being migrated (process %d)",
				 domain, (int)other);
			path[0] = '\0';	/* not ours to remove */
			return -EBUSY;
		}
		unlink(path);	/* its worker is gone */
	}
	if (fd < 0) {
		int e = errno;

		snprintf(err, CTL_ERR_LEN, "%s: %s", path, strerror(e));
		path[0] = '\0';
		return -e;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (write(fd, pid, (size_t)n) != n) {
		close(fd);
		unlink(path);
		snprintf(err, CTL_ERR_LEN, "%s: cannot write", path);
		path[0] = '\0';
		return -EIO;
	}
	close(fd);
	return 0;
}

int mig_cancel(const char *domain, char *err)
{
	char path[PATH_MAX];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s.out", MIG_RUN_DIR, domain);
	pid = mark_pid(path);
	if (!alive(pid) || kill(pid, SIGUSR1)) {
		snprintf(err, CTL_ERR_LEN, "no migration of '%s' is under way from here", domain);
		return -ENOENT;
	}
	return 0;
}

void mig_reap(struct clu_daemon *d)
{
	struct hv_dominfo *v = NULL;
	char err[HV_ERR_LEN];
	struct dirent *e;
	size_t n = 0;
	DIR *dir = opendir(MIG_RUN_DIR);

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char path[PATH_MAX], name[HV_NAME_MAX + 1];
		size_t len = strlen(e->d_name);
		struct st_res *res = NULL;
		size_t nres = 0, i;

		if (len < 4 || len - 3 > sizeof(name) || strcmp(e->d_name + len - 3, ".in"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", MIG_RUN_DIR, e->d_name);
		if (alive(mark_pid(path)))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 3), e->d_name);
		/* Its receiver died before COMMIT: what it made goes. */
		if (!v && d->hv->list(d->be, &v, &n, err))
			break;
		for (i = 0; i < n; i++) {
			if (strcmp(v[i].name, name))
				continue;
			if (v[i].state[2] != 'p') {
				log_warn("migrate %s: its receiver died, but it runs here: kept",
					 name);
				break;
			}
			log_warn("migrate %s: its receiver died before the commit; destroying "
				 "the paused copy here (id %u)", name, v[i].domid);
			if (d->hv->destroy(d->be, v[i].domid, err))
				log_err("migrate %s: %s", name, err);
			break;
		}
		if (i == n || v[i].state[2] == 'p') {
			if (!st_load_domain(name, &res, &nres, err))
				for (size_t j = 0; j < nres; j++)
					if (res[j].replicated && st_secondary(&res[j], err))
						log_err("migrate %s: %s", name, err);
			free(res);
		}
		unlink(path);
	}
	closedir(dir);
	free(v);
}
