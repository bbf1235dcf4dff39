/* feed.c - the Atom feed of published alerts (feed.h). */
#include "feed.h"

#include <libxml/xmlwriter.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmldoc.h"

#define FEED_NS "http://www.w3.org/2005/Atom"
#define FEED_URL_MAX 1024

struct feed_w {
	xmlTextWriterPtr w;
	bool failed;
};

static void feed_elem(struct feed_w *f, const char *name, const char *text)
{
	if (!f->failed && xmlTextWriterWriteElement(f->w, BAD_CAST name, BAD_CAST text) < 0)
		f->failed = true;
}

/* <link rel= type= href=/> */
static void feed_link(struct feed_w *f, const char *rel, const char *type, const char *href)
{
	if (f->failed)
		return;
	if (xmlTextWriterStartElement(f->w, BAD_CAST "link") < 0 ||
	    xmlTextWriterWriteAttribute(f->w, BAD_CAST "rel", BAD_CAST rel) < 0 ||
	    (type && xmlTextWriterWriteAttribute(f->w, BAD_CAST "type", BAD_CAST type) < 0) ||
	    xmlTextWriterWriteAttribute(f->w, BAD_CAST "href", BAD_CAST href) < 0 ||
	    xmlTextWriterEndElement(f->w) < 0)
		f->failed = true;
}

static void feed_start(struct feed_w *f, const char *name)
{
	if (!f->failed && xmlTextWriterStartElement(f->w, BAD_CAST name) < 0)
		f->failed = true;
}

static void feed_end(struct feed_w *f)
{
	if (!f->failed && xmlTextWriterEndElement(f->w) < 0)
		f->failed = true;
}

static const char *feed_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Text fit for XML 1.0 (C0 controls but tab and newlines become spaces),
 * into a malloc'd copy; NULL on allocation failure. */
static char *feed_clean(const char *s)
{
	char *p = strdup(s);

	for (char *q = p; q != NULL && *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t' && *q != '\n' && *q != '\r')
			*q = ' ';
	return p;
}

static void feed_text(struct feed_w *f, const char *name, const char *text)
{
	char *t = feed_clean(text ? text : "");

	if (t == NULL)
		f->failed = true;
	else
		feed_elem(f, name, t);
	free(t);
}

static void feed_entry(struct feed_w *f, const struct feed_opts *o, const json_t *a)
{
	const char *id = feed_str(a, "alert_id"), *sent = feed_str(a, "sent");
	const char *headline = feed_str(a, "headline"), *mt = feed_str(a, "msg_type");
	json_t *version = json_object_get(a, "version");
	char cap[FEED_URL_MAX], page[FEED_URL_MAX], title[1024];
	bool exercise = feed_str(a, "status") && strcmp(feed_str(a, "status"), "exercise") == 0;

	if (id == NULL || sent == NULL || headline == NULL || !json_is_integer(version))
		return;
	snprintf(cap, sizeof(cap), "%s/alerts/%s/v%d.xml", o->base_url, id,
		 (int)json_integer_value(version));
	snprintf(page, sizeof(page), "%s/alerts/%s", o->base_url, id);
	snprintf(title, sizeof(title), "%s%s", exercise ? "【演练】" : "", headline);
	feed_start(f, "entry");
	feed_elem(f, "id", cap);
	feed_text(f, "title", title);
	feed_elem(f, "updated", sent);
	feed_elem(f, "published", sent);
	feed_start(f, "author");
	feed_text(f, "name", feed_str(a, "sender") ? feed_str(a, "sender") : o->author);
	feed_end(f);
	feed_link(f, "alternate", "application/cap+xml", cap);
	feed_link(f, "related", "text/html", page);
	if (mt != NULL && !f->failed &&
	    (xmlTextWriterStartElement(f->w, BAD_CAST "category") < 0 ||
	     xmlTextWriterWriteAttribute(f->w, BAD_CAST "term", BAD_CAST mt) < 0 ||
	     xmlTextWriterEndElement(f->w) < 0))
		f->failed = true;
	feed_text(f, "summary", feed_str(a, "situation"));
	feed_end(f);
}

/* A risk warning's entry: its id the CAP document's URL; title, category
 * and updated tell an expired or cancelled one. */
static void feed_warning(struct feed_w *f, const struct feed_opts *o, const json_t *w)
{
	const char *id = feed_str(w, "product_id"), *sent = feed_str(w, "published_at");
	const char *state = feed_str(w, "state"), *until = feed_str(w, "valid_to");
	char cap[FEED_URL_MAX], page[FEED_URL_MAX], title[512];

	if (id == NULL || sent == NULL || sent[0] == '\0' || state == NULL || until == NULL)
		return;
	snprintf(cap, sizeof(cap), "%s/warnings/%s.xml", o->base_url, id);
	snprintf(page, sizeof(page), "%s/warnings/%s", o->base_url, id);
	snprintf(title, sizeof(title), "%s地质灾害气象风险预警（有效期至%s）",
		 strcmp(state, "expired") == 0	   ? "【已过有效期】"
		 : strcmp(state, "cancelled") == 0 ? "【已解除】"
						   : "",
		 until);
	feed_start(f, "entry");
	feed_elem(f, "id", cap);
	feed_text(f, "title", title);
	feed_elem(f, "updated", sent);
	feed_elem(f, "published", sent);
	feed_start(f, "author");
	feed_text(f, "name", o->author);
	feed_end(f);
	feed_link(f, "alternate", "application/cap+xml", cap);
	feed_link(f, "related", "text/html", page);
	if (!f->failed && (xmlTextWriterStartElement(f->w, BAD_CAST "category") < 0 ||
			   xmlTextWriterWriteAttribute(f->w, BAD_CAST "term", BAD_CAST state) < 0 ||
			   xmlTextWriterEndElement(f->w) < 0))
		f->failed = true;
	feed_text(f, "summary", feed_str(w, "rain_summary"));
	feed_end(f);
}

ga_err feed_write(const struct feed_opts *o, const json_t *alerts, char **out, size_t *outlen)
{
	return feed_write_all(o, NULL, alerts, out, outlen);
}

ga_err feed_write_all(const struct feed_opts *o, const json_t *warnings, const json_t *alerts,
		      char **out, size_t *outlen)
{
	struct feed_w f = {NULL, false};
	char self[FEED_URL_MAX], home[FEED_URL_MAX];
	struct xmldoc doc = {NULL, NULL};
	ga_err e;
	const char *updated;

	if (o == NULL || o->base_url == NULL || o->title == NULL || o->author == NULL ||
	    o->updated == NULL || !json_is_array(alerts) || out == NULL || outlen == NULL)
		return GA_ERR_INVAL;
	updated = json_array_size(alerts) > 0 ? feed_str(json_array_get(alerts, 0), "sent") : NULL;
	snprintf(self, sizeof(self), "%s/feed.atom", o->base_url);
	snprintf(home, sizeof(home), "%s/", o->base_url);
	if ((e = xmldoc_start(&doc)) != GA_OK)
		goto out;
	f.w = doc.w;
	if (xmlTextWriterStartElementNS(f.w, NULL, BAD_CAST "feed", BAD_CAST FEED_NS) < 0 ||
	    xmlTextWriterWriteAttribute(f.w, BAD_CAST "xml:lang", BAD_CAST "zh-CN") < 0)
		f.failed = true;
	feed_elem(&f, "id", self);
	feed_text(&f, "title", o->title);
	feed_elem(&f, "updated", updated ? updated : o->updated);
	feed_start(&f, "author");
	feed_text(&f, "name", o->author);
	feed_end(&f);
	feed_link(&f, "self", "application/atom+xml", self);
	feed_link(&f, "alternate", "text/html", home);
	for (size_t i = 0; i < json_array_size(warnings) && i < FEED_ENTRIES_MAX; i++)
		feed_warning(&f, o, json_array_get(warnings, i));
	for (size_t i = 0; i < json_array_size(alerts) && i < FEED_ENTRIES_MAX; i++)
		feed_entry(&f, o, json_array_get(alerts, i));
	e = xmldoc_finish(&doc, f.failed, FEED_XML_MAX, out, outlen);
out:
	xmldoc_cleanup(&doc);
	return e;
}
