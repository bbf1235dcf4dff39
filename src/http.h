/* http.h - the HTTP server (libmicrohttpd, its own thread pool): for now
 * /healthz; the officer API, console and public pages mount here later. */
#ifndef GA_HTTP_H
#define GA_HTTP_H

#include <stddef.h>

#include "error.h"

struct service;
struct http;

/* Listens on cfg.http.listen ("HOST:PORT", "[V6]:PORT"; port 0 picks a
 * free one: see http_port). */
ga_err http_start(struct service *svc, struct http **out, char *err, size_t errlen);
int http_port(struct http *h);
void http_stop(struct http *h);

#endif
