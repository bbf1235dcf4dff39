/* file.h - reading a whole data file under a size cap; writing a new
 * secret file. */
#ifndef GA_FILE_H
#define GA_FILE_H

#include <stddef.h>

#include "error.h"

/* Reads the regular file at path, at most cap bytes, into a malloc'd
 * buffer, NUL-terminated after its *len bytes (*buf; the caller frees). On error
 * writes "PATH: problem" into err: GA_ERR_NOTFOUND (no such file),
 * GA_ERR_IO (cannot open or read), GA_ERR_CONFIG (not a regular file, or
 * past cap), GA_ERR_NOMEM. */
ga_err file_read(const char *path, size_t cap, char **buf, size_t *len, char *err, size_t errlen);

/* Creates path with mode 0600 — never over an existing file — and writes
 * len bytes of data to it, fsync'd (a key made at start must survive a
 * crash right after). On error nothing is left at path, err says
 * "PATH: problem", and the result is GA_ERR_IO. */
ga_err file_write_secret(const char *path, const void *data, size_t len, char *err, size_t errlen);

#endif
