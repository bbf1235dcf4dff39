/* http.h - the HTTP server (libmicrohttpd, one internal thread; password
 * hashes on worker threads): /healthz, the officer API /api/v1/
 * (http_api.c) and the duty officers' console /console/ (http_console.c);
 * spec §8. It keeps a store connection of its own, used only by its
 * thread (and one per worker thread). */
#ifndef GA_HTTP_H
#define GA_HTTP_H

#include <stddef.h>

#include "error.h"

struct service;
struct http;

/* Opens its own store connection (svc->wf must be set up: the API acts
 * through the workflow) and listens on cfg.http.listen ("HOST:PORT",
 * "[V6]:PORT"; port 0 picks a free one: see http_port). On error err
 * says what. */
ga_err http_start(struct service *svc, struct http **out, char *err, size_t errlen);
int http_port(struct http *h);
void http_stop(struct http *h);

#endif
