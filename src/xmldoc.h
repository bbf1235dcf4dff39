/* xmldoc.h - an XML document written into memory with libxml2's text
 * writer, indented by two spaces, and handed out as one string under a
 * size cap: the frame the CAP (cap.c) and Atom (feed.c) documents share. */
#ifndef GA_XMLDOC_H
#define GA_XMLDOC_H

#include <libxml/xmlwriter.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct xmldoc {
	xmlBufferPtr buf;
	xmlTextWriterPtr w; /* writes into buf; NULL once finished */
};

/* Makes d's buffer and a writer into it that indents by two spaces, and
 * writes the XML declaration (version 1.0, encoding UTF-8). GA_ERR_NOMEM
 * when any of it fails; what was made is still in d for xmldoc_cleanup,
 * which the caller calls in every case. */
ga_err xmldoc_start(struct xmldoc *d);

/* Ends the document (closing every open element) unless failed says an
 * earlier write failed, frees the writer, and copies the document into
 * *out, a malloc'd string NUL-terminated after its *outlen bytes (the
 * caller frees). GA_ERR_NOMEM when failed or a write or an allocation
 * failed; GA_ERR_TOOBIG when it is longer than max bytes. *out is only
 * set on GA_OK (to NULL when the copy could not be allocated). */
ga_err xmldoc_finish(struct xmldoc *d, bool failed, size_t max, char **out, size_t *outlen);

/* Frees what d still holds (the writer, the buffer); d may be zeroed. */
void xmldoc_cleanup(struct xmldoc *d);

#endif
