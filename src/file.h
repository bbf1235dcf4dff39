/* file.h - reading a whole data file under a size cap. */
#ifndef GA_FILE_H
#define GA_FILE_H

#include <stddef.h>

#include "error.h"

/* Reads the regular file at path, at most cap bytes, into a malloc'd
 * buffer with one spare byte (*buf, *len; the caller frees). On error
 * writes "PATH: problem" into err: GA_ERR_IO (cannot open or read),
 * GA_ERR_CONFIG (not a regular file, or past cap), GA_ERR_NOMEM. */
ga_err file_read(const char *path, size_t cap, char **buf, size_t *len, char *err, size_t errlen);

#endif
