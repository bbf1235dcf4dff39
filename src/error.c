#include "error.h"

const char *ga_strerror(ga_err err)
{
	switch (err) {
	case GA_OK:
		return "success";
	case GA_ERR_NOMEM:
		return "out of memory";
	case GA_ERR_INVAL:
		return "invalid argument";
	case GA_ERR_IO:
		return "input/output error";
	case GA_ERR_CONFIG:
		return "configuration error";
	case GA_ERR_DB:
		return "database error";
	case GA_ERR_FULL:
		return "storage full";
	case GA_ERR_BUSY:
		return "database locked by another process";
	case GA_ERR_MQTT:
		return "MQTT error";
	case GA_ERR_GEO:
		return "coordinate transform failed";
	case GA_ERR_NOTFOUND:
		return "not found";
	case GA_ERR_DUPLICATE:
		return "duplicate";
	case GA_ERR_CONFLICT:
		return "state conflict";
	case GA_ERR_TOOBIG:
		return "too big";
	case GA_ERR_SHUTDOWN:
		return "shutting down";
	}
	return "unknown error";
}
