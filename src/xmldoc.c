/* xmldoc.c - an XML document written into memory (xmldoc.h). */
#include "xmldoc.h"

#include <stdlib.h>
#include <string.h>

ga_err xmldoc_start(struct xmldoc *d)
{
	d->buf = NULL;
	d->w = NULL;
	if ((d->buf = xmlBufferCreate()) == NULL ||
	    (d->w = xmlNewTextWriterMemory(d->buf, 0)) == NULL)
		return GA_ERR_NOMEM;
	xmlTextWriterSetIndent(d->w, 1);
	xmlTextWriterSetIndentString(d->w, BAD_CAST "  ");
	if (xmlTextWriterStartDocument(d->w, NULL, "UTF-8", NULL) < 0)
		return GA_ERR_NOMEM;
	return GA_OK;
}

ga_err xmldoc_finish(struct xmldoc *d, bool failed, size_t max, char **out, size_t *outlen)
{
	size_t n;

	if (!failed && xmlTextWriterEndDocument(d->w) < 0)
		failed = true;
	xmlFreeTextWriter(d->w); /* flushes into buf */
	d->w = NULL;
	if (failed)
		return GA_ERR_NOMEM;
	n = (size_t)xmlBufferLength(d->buf);
	if (n > max)
		return GA_ERR_TOOBIG;
	if ((*out = malloc(n + 1)) == NULL)
		return GA_ERR_NOMEM;
	memcpy(*out, xmlBufferContent(d->buf), n);
	(*out)[n] = '\0';
	*outlen = n;
	return GA_OK;
}

void xmldoc_cleanup(struct xmldoc *d)
{
	if (d->w != NULL)
		xmlFreeTextWriter(d->w);
	if (d->buf != NULL)
		xmlBufferFree(d->buf);
	d->w = NULL;
	d->buf = NULL;
}
