/* cap_testutil.h - what test_cap.c and test_cap_sign.c share: the CAP
 * writer's options, the start of the alert both write as CAP, and the
 * OASIS schema (tests/data/cap12.xsd) loaded for validation. */
#ifndef GA_CAP_TESTUTIL_H
#define GA_CAP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <libxml/xmlschemas.h>

#include "cap.h"

/* The alert's JSON up to and including its area; each test ends the
 * object its own way. */
#define CAPTEST_ALERT_HEAD                                                                              \
	"{\"schema\": \"geohazard.alert/1\", \"alert_id\": \"JS-20261126-0003\", \"version\": 1,"       \
	" \"msg_type\": \"alert\", \"status\": \"actual\", \"incident_id\": \"JS-20261126-0003\","      \
	" \"sender\": \"江苏省自然资源厅\", \"sent\": \"2026-11-26T15:10:00+08:00\","           \
	" \"kind\": \"danger\", \"hazard_type\": \"landslide\", \"hazard_type_zh\": \"滑坡\","        \
	" \"level\": \"large\", \"level_zh\": \"大型\", \"response_level\": \"II\","                  \
	" \"color\": \"orange\", \"headline\": \"【大型滑坡险情】青山村后山\","            \
	" \"situation\": \"坡体变形。\", \"causes\": \"连续强降雨。\", \"response\": "       \
	"\"已撤离。\","                                                                             \
	" \"trend\": \"可能下滑。\", \"area\": {\"admin_code\": \"320111\","                       \
	" \"admin_name\": \"江苏省南京市浦口区\", \"place\": \"永宁街道青山村后山\"," \
	" \"lon\": 118.62, \"lat\": 32.06},"

static const struct cap_opts opts = {"alerts.example.gov.cn", "https://alerts.example.gov.cn", 1.0};

/* The OASIS CAP 1.2 schema, parsed (free it with xmlSchemaFree). */
static inline xmlSchemaPtr captest_schema_load(void)
{
	char path[1024];
	const char *src = getenv("GA_SOURCE_DIR");
	xmlSchemaPtr schema;

	snprintf(path, sizeof(path), "%s/tests/data/cap12.xsd", src ? src : GA_DATADIR);
	xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
	assert_non_null(pc);
	schema = xmlSchemaParse(pc);
	xmlSchemaFreeParserCtxt(pc);
	assert_non_null(schema);
	return schema;
}

#endif
