/* error.h - the one error type of geoalert.
 *
 * Every fallible function returns a ga_err. Library codes (MOSQ_ERR_*,
 * SQLITE_*, CURLcode, PROJ errno) are translated at the module boundary and
 * logged once there; callers only see these. */
#ifndef GA_ERROR_H
#define GA_ERROR_H

typedef enum ga_err {
	GA_OK = 0,
	GA_ERR_NOMEM,	  /* allocation failed */
	GA_ERR_INVAL,	  /* bad argument or bad input */
	GA_ERR_IO,	  /* file or socket error */
	GA_ERR_CONFIG,	  /* configuration or data file is wrong */
	GA_ERR_DB,	  /* database error */
	GA_ERR_FULL,	  /* database or queue full: refuse, do not acknowledge */
	GA_ERR_BUSY,	  /* database locked by another process */
	GA_ERR_MQTT,	  /* broker connection or protocol error */
	GA_ERR_GEO,	  /* coordinate transform failed */
	GA_ERR_NOTFOUND,  /* no such record */
	GA_ERR_DUPLICATE, /* record exists already */
	GA_ERR_CONFLICT,  /* state does not allow the action */
	GA_ERR_TOOBIG,	  /* input past its cap */
	GA_ERR_SHUTDOWN,  /* service is stopping */
} ga_err;

/* Returns a static, human-readable string for err; never NULL. */
const char *ga_strerror(ga_err err);

#endif
