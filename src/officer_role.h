/* officer_role.h - the officers' roles and their contract names (spec
 * §8): the vocabulary both officer.c (what each role may do) and the
 * store (the officers table) use, below both. */
#ifndef GA_OFFICER_ROLE_H
#define GA_OFFICER_ROLE_H

#include "error.h"

enum officer_role { OFFICER_DUTY_OFFICER, OFFICER_SUPERVISOR, OFFICER_ADMIN, OFFICER_ROLE_COUNT };

/* Contract names ("duty_officer", ...); "?" for a value out of range. */
const char *officer_role_name(enum officer_role role);
/* GA_OK and *role set, or GA_ERR_INVAL for an unknown name. */
ga_err officer_role_parse(const char *name, enum officer_role *role);

#endif
