/* strbuf.c - a growable string under a cap (strbuf.h). */
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

#define STRBUF_FIRST 1024 /* bytes of the first allocation */

void strbuf_put(struct strbuf *b, const char *s, size_t n)
{
	if (b->err != GA_OK)
		return;
	if (b->n > b->max || n > b->max - b->n) {
		b->err = GA_ERR_TOOBIG;
		return;
	}
	if (b->n + n + 1 > b->size) {
		size_t size = b->size ? b->size : STRBUF_FIRST;
		char *p;

		while (size < b->n + n + 1)
			size *= 2;
		if ((p = realloc(b->p, size)) == NULL) {
			b->err = GA_ERR_NOMEM;
			return;
		}
		b->p = p;
		b->size = size;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void strbuf_puts(struct strbuf *b, const char *s)
{
	strbuf_put(b, s, strlen(s));
}
