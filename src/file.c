/* file.c - whole-file reads with a cap. */
#include "file.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

ga_err file_read(const char *path, size_t cap, char **buf, size_t *len, char *err, size_t errlen)
{
	FILE *fp = NULL;
	struct stat st;
	char *b = NULL;
	ga_err rc = GA_ERR_IO;

	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(fp), &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uintmax_t)st.st_size > (uintmax_t)cap) {
		snprintf(err, errlen, "%s: not a regular file of at most %zu bytes", path, cap);
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
