/* strbuf.h - a growable string under a cap fixed at creation (as curl's
 * dynbuf): a write past the cap or a failed allocation marks the buffer
 * failed and later writes are dropped, so a writer tests once, at the end
 * (the public HTML pages, the canonical JSON that signatures cover). */
#ifndef GA_STRBUF_H
#define GA_STRBUF_H

#include <stddef.h>

#include "error.h"

struct strbuf {
	char *p;     /* NUL-terminated after n bytes; NULL before the first write */
	size_t n;    /* bytes written */
	size_t size; /* bytes allocated */
	size_t max;  /* cap on n */
	ga_err err;  /* first failure (GA_ERR_TOOBIG, GA_ERR_NOMEM); GA_OK */
};

/* An empty buffer that holds at most max bytes (the NUL not counted). */
#define STRBUF_INIT(max)                                                                           \
	{                                                                                          \
		NULL, 0, 0, (max), GA_OK                                                           \
	}

/* Appends n bytes of s (the first write allocates even when n is 0).
 * Past max, sets err to GA_ERR_TOOBIG and writes nothing; when growing
 * fails, GA_ERR_NOMEM. Does nothing once err is set. The caller frees p. */
void strbuf_put(struct strbuf *b, const char *s, size_t n);

/* strbuf_put of the NUL-terminated s. */
void strbuf_puts(struct strbuf *b, const char *s);

#endif
