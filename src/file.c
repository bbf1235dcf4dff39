/* file.c - whole-file reads with a cap; new secret files. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ga_err file_read(const char *path, size_t cap, char **buf, size_t *len, char *err, size_t errlen)
{
	FILE *fp = NULL;
	struct stat st;
	char *b = NULL;
	ga_err rc = GA_ERR_IO;

	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (errno == ENOENT)
			rc = GA_ERR_NOTFOUND;
		goto out;
	}
	if (fstat(fileno(fp), &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file of at most %zu bytes", path, cap);
		rc = GA_ERR_CONFIG;
		goto out;
	}
	if ((uintmax_t)st.st_size > (uintmax_t)cap) {
		snprintf(err, errlen,
			 "%s: larger than %zu bytes (read: a regular file of at most %zu bytes)",
			 path, cap, cap);
		rc = GA_ERR_CONFIG;
		goto out;
	}
	if ((b = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = GA_ERR_NOMEM;
		goto out;
	}
	if (fread(b, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: short read", path);
		goto out;
	}
	b[st.st_size] = '\0';
	*buf = b;
	*len = (size_t)st.st_size;
	b = NULL;
	rc = GA_OK;
out:
	free(b);
	if (fp != NULL)
		fclose(fp);
	return rc;
}

ga_err file_write_secret(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return GA_ERR_IO;
	}
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return GA_ERR_IO;
	}
	if (close(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		unlink(path);
		return GA_ERR_IO;
	}
	return GA_OK;
}
