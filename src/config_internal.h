/* config_internal.h - what config.c (reading the lines) and
 * config_check.c (checking the whole) share. */
#ifndef GA_CONFIG_INTERNAL_H
#define GA_CONFIG_INTERNAL_H

#include <stddef.h>

#include "error.h"

struct config;

/* Checks c as a whole after every line is read, and fills the defaults
 * that depend on other options: GA_OK, or GA_ERR_CONFIG with err naming
 * the problem (a channel's error names its section's line). */
ga_err config_check(struct config *c, char *err, size_t errlen);

#endif
