/* feed.h - the public Atom feed of published alerts (spec §8 /feed.atom):
 * one entry per published version, newest first, each linking its CAP 1.2
 * document (rel="alternate", type="application/cap+xml") at
 * /alerts/{id}/v{n}.xml and its page (rel="related", text/html). Written
 * with libxml2's xmlTextWriter; pure (the caller picks the versions:
 * FEED_DAYS days, at most FEED_ENTRIES_MAX). */
#ifndef GA_FEED_H
#define GA_FEED_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

#define FEED_DAYS 7
#define FEED_ENTRIES_MAX 100
#define FEED_XML_MAX (2u * 1024 * 1024) /* bytes of the feed */

struct feed_opts {
	const char *base_url; /* public_base_url, without a trailing slash */
	const char *title;    /* the feed's title */
	const char *author;   /* the sender's name */
	const char *updated;  /* RFC 3339 with offset: used when there is no entry */
};

/* Writes the feed of alerts (an array of published alert JSON, spec §6,
 * newest first; the first FEED_ENTRIES_MAX are taken). Entries whose
 * alert lacks alert_id, version, sent or headline are skipped. On GA_OK
 * *out is malloc'd, NUL-terminated, *outlen bytes. GA_ERR_INVAL,
 * GA_ERR_TOOBIG past FEED_XML_MAX, GA_ERR_NOMEM. */
ga_err feed_write(const struct feed_opts *o, const json_t *alerts, char **out, size_t *outlen);

/* feed_write with the risk warnings published (issue 14) too: warnings
 * their public JSON (riskwarning_page.h; NULL: none), newest first,
 * written before the alerts (the first FEED_ENTRIES_MAX), each with its
 * CAP document at /warnings/{product_id}.xml, an expired or cancelled
 * one marked so in its title and its category (the state). */
ga_err feed_write_all(const struct feed_opts *o, const json_t *warnings, const json_t *alerts,
		      char **out, size_t *outlen);

#endif
