/* service_lock.c - one `geoalert serve` per SQLite database (see
 * service_lock.h for why an fcntl lock and not a pid file). */
#include "service_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERVICE_LOCK_PATH_MAX 4096
#define SERVICE_LOCK_COMM_MAX 64

/* The command name of pid from /proc (cut to fit), "" when unreadable. */
static void service_lock_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	if (fgets(comm, (int)len, f) == NULL)
		comm[0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

ga_err service_lock_take(const char *db_path, int *fd, char *err, size_t errlen)
{
	char path[SERVICE_LOCK_PATH_MAX];
	char comm[SERVICE_LOCK_COMM_MAX];
	char pidtext[32];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	ga_err e = GA_ERR_IO;
	int f = -1;
	int n;

	*fd = -1;
	n = snprintf(path, sizeof(path), "%s.lock", db_path);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "database %s: path too long for its lock file", db_path);
		goto out;
	}
	if ((f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, errlen, "database %s: cannot open %s: %s", db_path, path,
			 strerror(errno));
		goto out;
	}
	if (fcntl(f, F_SETLK, &fl) < 0) {
		if (errno != EACCES && errno != EAGAIN) {
			snprintf(err, errlen, "database %s: cannot lock %s: %s", db_path, path,
				 strerror(errno));
			goto out;
		}
		/* Held: ask the kernel who holds it (the file's pid may be stale). */
		fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET};
		if (fcntl(f, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
			fl.l_pid = 0;
		service_lock_comm(fl.l_pid, comm, sizeof(comm));
		snprintf(err, errlen,
			 "database %s is in use by another geoalert serve (pid %ld%s%s): one "
			 "instance per SQLite file; stop it first, or share a PostgreSQL "
			 "database ([store] url) between instances",
			 db_path, (long)fl.l_pid, comm[0] ? ", " : "", comm);
		e = GA_ERR_BUSY;
		goto out;
	}
	n = snprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	if (ftruncate(f, 0) < 0 || pwrite(f, pidtext, (size_t)n, 0) != n) {
		snprintf(err, errlen, "database %s: cannot write %s: %s", db_path, path,
			 strerror(errno));
		goto out;
	}
	*fd = f;
	f = -1;
	e = GA_OK;
out:
	if (f >= 0)
		close(f);
	return e;
}

void service_lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
