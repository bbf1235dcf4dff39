/* geojson.h - walking a GeoJSON FeatureCollection one feature at a time,
 * so a loader holds the decoded tree of one feature, never the whole file's
 * (the regions file's tree is ~8x its size). */
#ifndef GA_GEOJSON_H
#define GA_GEOJSON_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

/* Called for each element of "features", in file order, with its index.
 * feature is borrowed: it is freed when the callback returns (take a
 * reference to keep it). Return GA_OK to go on; anything else stops the
 * walk and is returned by geojson_each_feature, with the callback's
 * message in err (the callback names path in it). */
typedef ga_err (*geojson_feature_cb)(json_t *feature, size_t index, void *arg, char *err,
				     size_t errlen);

/* Walks the FeatureCollection in buf[0, len) (the contents of path, used
 * only in messages), calling cb for each feature. The top level is checked
 * as json_loadb(JSON_REJECT_DUPLICATES) would check it: one object, then
 * only whitespace; keys unique; other keys (any JSON) allowed. Features
 * and other values are decoded with jansson, duplicate keys rejected.
 * Returns GA_OK when the whole file is a valid FeatureCollection and cb
 * accepted every feature. GA_ERR_CONFIG with "PATH:LINE: problem" for JSON
 * syntax errors (LINE is 1-based) or "PATH: not a GeoJSON FeatureCollection"
 * when the top level lacks "type": "FeatureCollection" or an array
 * "features". Features are passed as they are read, so cb may already
 * have run when a later error is found. */
ga_err geojson_each_feature(const char *path, const char *buf, size_t len, geojson_feature_cb cb,
			    void *arg, char *err, size_t errlen);

#endif
