/* test_xmldoc.c - the in-memory XML document frame (xmldoc.h): the
 * declaration and two-space indenting, open elements closed at the end,
 * the size cap at and one past the document's length, an earlier failed
 * write refusing the document, and cleanup of a finished or unused doc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "xmldoc.h"

static const char expect[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			     "<a xmlns=\"urn:x\">\n"
			     "  <b>x &amp; y</b>\n"
			     "  <c/>\n"
			     "</a>\n";

/* Writes the test document into d (started), leaving <a> open. */
static void write_doc(struct xmldoc *d)
{
	assert_true(xmlTextWriterStartElementNS(d->w, NULL, BAD_CAST "a", BAD_CAST "urn:x") >= 0);
	assert_true(xmlTextWriterWriteElement(d->w, BAD_CAST "b", BAD_CAST "x & y") >= 0);
	assert_true(xmlTextWriterStartElement(d->w, BAD_CAST "c") >= 0);
	assert_true(xmlTextWriterEndElement(d->w) >= 0);
}

static void test_document(void **state)
{
	struct xmldoc d;
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(xmldoc_start(&d), GA_OK);
	write_doc(&d);
	assert_int_equal(xmldoc_finish(&d, false, strlen(expect), &out, &len), GA_OK);
	assert_null(d.w);
	assert_int_equal(len, strlen(expect));
	assert_string_equal(out, expect);
	xmldoc_cleanup(&d);
	assert_null(d.buf);
	free(out);
}

static void test_cap(void **state)
{
	struct xmldoc d;
	char *out = NULL;
	size_t len = 7;

	(void)state;
	assert_int_equal(xmldoc_start(&d), GA_OK);
	write_doc(&d);
	assert_int_equal(xmldoc_finish(&d, false, strlen(expect) - 1, &out, &len), GA_ERR_TOOBIG);
	assert_null(out);
	assert_int_equal(len, 7);
	assert_null(d.w);
	xmldoc_cleanup(&d);
}

static void test_failed(void **state)
{
	struct xmldoc d;
	char *out = NULL;
	size_t len = 7;

	(void)state;
	assert_int_equal(xmldoc_start(&d), GA_OK);
	write_doc(&d);
	assert_int_equal(xmldoc_finish(&d, true, 1u << 20, &out, &len), GA_ERR_NOMEM);
	assert_null(out);
	assert_int_equal(len, 7);
	assert_null(d.w);
	xmldoc_cleanup(&d);
}

static void test_cleanup_unfinished(void **state)
{
	struct xmldoc d, z = {NULL, NULL};

	(void)state;
	assert_int_equal(xmldoc_start(&d), GA_OK);
	write_doc(&d);
	xmldoc_cleanup(&d); /* never finished: frees writer and buffer */
	assert_null(d.w);
	assert_null(d.buf);
	xmldoc_cleanup(&z); /* zeroed: nothing to free */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_document),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_failed),
	    cmocka_unit_test(test_cleanup_unfinished),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
