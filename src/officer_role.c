/* officer_role.c - the roles' contract names (officer_role.h). */
#include "officer_role.h"

#include <string.h>

static const char *const officer_role_names[OFFICER_ROLE_COUNT] = {
    [OFFICER_DUTY_OFFICER] = "duty_officer",
    [OFFICER_SUPERVISOR] = "supervisor",
    [OFFICER_ADMIN] = "admin",
};

const char *officer_role_name(enum officer_role role)
{
	if (role < 0 || role >= OFFICER_ROLE_COUNT)
		return "?";
	return officer_role_names[role];
}

ga_err officer_role_parse(const char *name, enum officer_role *role)
{
	for (int i = 0; name != NULL && i < OFFICER_ROLE_COUNT; i++) {
		if (strcmp(name, officer_role_names[i]) == 0) {
			*role = (enum officer_role)i;
			return GA_OK;
		}
	}
	return GA_ERR_INVAL;
}
