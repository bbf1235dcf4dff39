/* recipients.c - the SMS channel's recipient lists (recipients.h): one
 * file of numbers per county, city and province in a directory, checked
 * at open, read when an alert needs a county, kept while unchanged. */
#include "recipients.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

#define RECIPIENTS_MIN_DIGITS 5
#define RECIPIENTS_LEVELS 3 /* county, city, province */
#define RECIPIENTS_CACHE 4  /* counties' lists kept */

/* What a file was when it was read: reread when it changed. */
struct recipients_fileid {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* The sorted, unique numbers an alert to county code goes to. */
struct recipients_county {
	char code[7];
	struct recipients_fileid ids[RECIPIENTS_LEVELS];
	recipients_phone *phones;
	size_t n;
	unsigned long used; /* for evicting the least recently used */
};

struct recipients {
	char dir[CONFIG_PATH_MAX];
	struct recipients_county lists[RECIPIENTS_CACHE];
	unsigned long tick;
};

/* Whether tok (len bytes) is a number: an optional "+", 5 to 15 digits. */
static bool recipients_number_ok(const char *tok, size_t len)
{
	size_t i = tok[0] == '+' ? 1 : 0;

	if (len - i < RECIPIENTS_MIN_DIGITS || len - i > RECIPIENTS_PHONE_MAX - 1)
		return false;
	for (; i < len; i++)
		if (tok[i] < '0' || tok[i] > '9')
			return false;
	return true;
}

static bool recipients_grow(recipients_phone **v, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 1024;
	recipients_phone *p;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	if ((p = realloc(*v, n * sizeof(**v))) == NULL)
		return false;
	*v = p;
	*cap = n;
	return true;
}

/* Reads the numbers of path, appending them to *v (n of cap). A file
 * that does not exist is no error (*exists false). Errors name
 * "path:line", never the line's content. */
static ga_err recipients_read_file(const char *path, recipients_phone **v, size_t *n, size_t *cap,
				   struct recipients_fileid *id, char *err, size_t errlen)
{
	char line[RECIPIENTS_LINE_MAX + 2];
	size_t count = 0;
	struct stat st;
	ga_err e = GA_OK;
	int lineno = 0;
	FILE *f;

	memset(id, 0, sizeof(*id));
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return GA_OK;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return GA_ERR_IO;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		e = GA_ERR_IO;
		goto out;
	}
	id->exists = true;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		char *p = line, *tok;
		lineno++;
		if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line longer than %d bytes", path, lineno,
				 RECIPIENTS_LINE_MAX);
			e = GA_ERR_CONFIG;
			goto out;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
			continue;
		tok = p;
		p += strcspn(p, " \t\r\n#");
		len = (size_t)(p - tok);
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!recipients_number_ok(tok, len) || (*p != '\0' && *p != '#')) {
			snprintf(err, errlen,
				 "%s:%d: not a phone number (an optional + and %d to %d digits, "
				 "one a line, # comments)",
				 path, lineno, RECIPIENTS_MIN_DIGITS, RECIPIENTS_PHONE_MAX - 1);
			e = GA_ERR_CONFIG;
			goto out;
		}
		if (++count > RECIPIENTS_FILE_MAX) {
			snprintf(err, errlen, "%s:%d: more than %d numbers in one file", path,
				 lineno, RECIPIENTS_FILE_MAX);
			e = GA_ERR_CONFIG;
			goto out;
		}
		if (!recipients_grow(v, cap, *n + 1)) {
			e = GA_ERR_NOMEM;
			snprintf(err, errlen, "%s: out of memory", path);
			goto out;
		}
		memcpy((*v)[*n], tok, len);
		(*v)[*n][len] = '\0';
		(*n)++;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		e = GA_ERR_IO;
	}
out:
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return e;
}

static int recipients_cmp(const void *a, const void *b)
{
	return strcmp(*(const recipients_phone *)a, *(const recipients_phone *)b);
}

/* The files an alert to county code reads: its own, its city's, its
 * province's (the same name only once). */
static int recipients_paths(const char *dir, const char *code,
			    char paths[RECIPIENTS_LEVELS][CONFIG_PATH_MAX + 16])
{
	char c[RECIPIENTS_LEVELS][7];
	int n = 0;

	snprintf(c[0], sizeof(c[0]), "%s", code);
	snprintf(c[1], sizeof(c[1]), "%.4s00", code);
	snprintf(c[2], sizeof(c[2]), "%.2s0000", code);
	for (int i = 0; i < RECIPIENTS_LEVELS; i++) {
		if (i > 0 && strcmp(c[i], c[i - 1]) == 0)
			continue;
		snprintf(paths[n++], CONFIG_PATH_MAX + 16, "%s/%s.txt", dir, c[i]);
	}
	return n;
}

/* Reads county code's list into l (sorted, each number once). */
static ga_err recipients_load(const struct recipients *s, const char *code,
			      struct recipients_county *l, char *err, size_t errlen)
{
	char paths[RECIPIENTS_LEVELS][CONFIG_PATH_MAX + 16];
	struct recipients_fileid ids[RECIPIENTS_LEVELS] = {0};
	recipients_phone *v = NULL;
	size_t n = 0, cap = 0, u = 0;
	int np = recipients_paths(s->dir, code, paths);
	ga_err e;

	for (int i = 0; i < np; i++)
		if ((e = recipients_read_file(paths[i], &v, &n, &cap, &ids[i], err, errlen)) !=
		    GA_OK) {
			free(v);
			return e;
		}
	if (n > 0)
		qsort(v, n, sizeof(*v), recipients_cmp);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || strcmp(v[i], v[u - 1]) != 0)
			memmove(v[u++], v[i], sizeof(*v));
	free(l->phones);
	memset(l, 0, sizeof(*l));
	snprintf(l->code, sizeof(l->code), "%s", code);
	memcpy(l->ids, ids, sizeof(ids));
	l->phones = v;
	l->n = u;
	return GA_OK;
}

/* Whether l was read from the files as they are now. */
static bool recipients_fresh(const struct recipients *s, const struct recipients_county *l)
{
	char paths[RECIPIENTS_LEVELS][CONFIG_PATH_MAX + 16];
	int np = recipients_paths(s->dir, l->code, paths);
	struct stat st;

	for (int i = 0; i < np; i++) {
		const struct recipients_fileid *id = &l->ids[i];
		bool exists = stat(paths[i], &st) == 0;
		if (exists != id->exists)
			return false;
		if (exists && (st.st_dev != id->dev || st.st_ino != id->ino ||
			       st.st_size != id->size || st.st_mtim.tv_sec != id->mtime.tv_sec ||
			       st.st_mtim.tv_nsec != id->mtime.tv_nsec))
			return false;
	}
	return true;
}

/* Checks every *.txt of dir, which must each be named by a 6-digit
 * admin code. */
static ga_err recipients_check_dir(const char *dir, char *err, size_t errlen)
{
	char path[CONFIG_PATH_MAX + 300];
	struct recipients_fileid id;
	struct dirent *de;
	recipients_phone *v = NULL;
	size_t n, cap = 0;
	int files = 0;
	ga_err e = GA_OK;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return GA_ERR_CONFIG;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 4, ".txt") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (len != 10 || strspn(de->d_name, "0123456789") != 6) {
			snprintf(err, errlen,
				 "%s: not named by a 6-digit admin code (320111.txt, 320100.txt, "
				 "320000.txt)",
				 path);
			e = GA_ERR_CONFIG;
			break;
		}
		if (++files > RECIPIENTS_FILES_MAX) {
			snprintf(err, errlen, "%s: more than %d recipient files", dir,
				 RECIPIENTS_FILES_MAX);
			e = GA_ERR_CONFIG;
			break;
		}
		n = 0;
		if ((e = recipients_read_file(path, &v, &n, &cap, &id, err, errlen)) != GA_OK)
			break;
	}
	closedir(d);
	free(v);
	return e;
}

ga_err recipients_open(const char *dir, struct recipients **out, char *err, size_t errlen)
{
	struct recipients *r;
	ga_err e;

	if (strlen(dir) >= sizeof(r->dir)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return GA_ERR_CONFIG;
	}
	if ((e = recipients_check_dir(dir, err, errlen)) != GA_OK)
		return e;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return GA_ERR_NOMEM;
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	*out = r;
	return GA_OK;
}

ga_err recipients_get(struct recipients *s, const char *code, struct recipients_list *out,
		      char *err, size_t errlen)
{
	struct recipients_county *l = NULL, *lru = &s->lists[0];
	ga_err e;

	for (int i = 0; i < RECIPIENTS_CACHE; i++) {
		if (s->lists[i].code[0] && strcmp(s->lists[i].code, code) == 0)
			l = &s->lists[i];
		if (s->lists[i].used < lru->used)
			lru = &s->lists[i];
	}
	if (l == NULL || !recipients_fresh(s, l)) {
		if (l == NULL)
			l = lru;
		if ((e = recipients_load(s, code, l, err, errlen)) != GA_OK) {
			free(l->phones);
			memset(l, 0, sizeof(*l));
			return e;
		}
	}
	l->used = ++s->tick;
	out->phones = (const recipients_phone *)l->phones;
	out->n = l->n;
	return GA_OK;
}

ga_err recipients_file(struct recipients *r, const char *code, recipients_phone **phones, size_t *n,
		       char *err, size_t errlen)
{
	char path[CONFIG_PATH_MAX + 16];
	struct recipients_fileid id;
	size_t cap = 0;
	ga_err e;

	*phones = NULL;
	*n = 0;
	if (strlen(code) != 6 || strspn(code, "0123456789") != 6) {
		snprintf(err, errlen, "not a 6-digit code");
		return GA_ERR_INVAL;
	}
	snprintf(path, sizeof(path), "%s/%s.txt", r->dir, code);
	if ((e = recipients_read_file(path, phones, n, &cap, &id, err, errlen)) != GA_OK) {
		free(*phones);
		*phones = NULL;
		*n = 0;
	}
	return e;
}

void recipients_free(struct recipients *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < RECIPIENTS_CACHE; i++)
		free(r->lists[i].phones);
	free(r);
}
