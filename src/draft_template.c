/* draft_template.c - compiling and rendering the alert text templates.
 * The language is in draft_template.h: substitution, presence blocks and
 * joins, nothing that runs code. Templates are compiled once at load into
 * a small tree; rendering walks it with the values of one draft. */
#include "draft_template.h"
#include "file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ELLIPSIS "\xe2\x80\xa6" /* "…" */
#define ELLIPSIS_LEN 3
#define TAG_MAX 256 /* bytes between "{" and "}" */

enum tnode_type { TN_TEXT, TN_VAR, TN_IF, TN_JOIN, TN_SEP, TN_BR };

struct tnode {
	enum tnode_type type;
	struct tnode *next;
	struct tnode *child; /* TN_IF, TN_JOIN */
	char *text;	     /* TN_TEXT; TN_JOIN: the separator */
	size_t len;
	int var;			 /* TN_VAR */
	int alt[DRAFT_TEMPLATE_MAX_ALT]; /* TN_IF */
	int nalt;
	bool negate; /* TN_IF: {!...} */
};

struct draft_template {
	struct tnode *root;
};

/* A block being compiled: where its next child goes. */
struct frame {
	struct tnode *node; /* NULL for the top level */
	struct tnode **tail;
	char label[TAG_MAX];
	char opener[TAG_MAX + 2];
	int line;
};

struct compiler {
	const char *path;
	draft_template_lookup lookup;
	struct frame stack[DRAFT_TEMPLATE_MAX_DEPTH + 1];
	int depth; /* stack[depth] is the innermost open block */
	int line;
	char *err;
	size_t errlen;
};

static void tnode_free(struct tnode *n)
{
	while (n != NULL) {
		struct tnode *next = n->next;
		tnode_free(n->child);
		free(n->text);
		free(n);
		n = next;
	}
}

void draft_template_free(struct draft_template *t)
{
	if (t == NULL)
		return;
	tnode_free(t->root);
	free(t);
}

bool draft_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned c = *p;
		int n;
		unsigned cp, min;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (end - p <= n)
			return false;
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

bool draft_utf8_fit(char *s, size_t cap)
{
	size_t n = strlen(s), k;

	if (n <= cap)
		return false;
	k = cap >= ELLIPSIS_LEN ? cap - ELLIPSIS_LEN : cap;
	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	if (cap >= ELLIPSIS_LEN)
		memcpy(s + k, ELLIPSIS, ELLIPSIS_LEN + 1);
	else
		s[k] = '\0';
	return true;
}

static ga_err compile_error(struct compiler *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static ga_err compile_error(struct compiler *c, const char *fmt, ...)
{
	char what[TAG_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s:%d: %s", c->path, c->line, what);
	return GA_ERR_CONFIG;
}

static ga_err compile_append(struct compiler *c, struct tnode *n)
{
	struct frame *f = &c->stack[c->depth];

	*f->tail = n;
	f->tail = &n->next;
	return GA_OK;
}

static struct tnode *tnode_new(enum tnode_type type)
{
	struct tnode *n = calloc(1, sizeof(*n));

	if (n != NULL)
		n->type = type;
	return n;
}

static ga_err compile_text(struct compiler *c, const char *s, size_t len)
{
	struct tnode *n;

	if (len == 0)
		return GA_OK;
	if ((n = tnode_new(TN_TEXT)) == NULL || (n->text = malloc(len + 1)) == NULL) {
		free(n);
		snprintf(c->err, c->errlen, "%s: out of memory", c->path);
		return GA_ERR_NOMEM;
	}
	memcpy(n->text, s, len);
	n->text[len] = '\0';
	n->len = len;
	return compile_append(c, n);
}

/* Resolves one name of s[0..len); writes its index into *var. */
static ga_err compile_name(struct compiler *c, const char *s, size_t len, int *var)
{
	char name[DRAFT_TEMPLATE_NAME_MAX];

	if (len == 0 || len >= sizeof(name))
		return compile_error(c, "bad placeholder name (1 to %d bytes)",
				     DRAFT_TEMPLATE_NAME_MAX - 1);
	memcpy(name, s, len);
	name[len] = '\0';
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
			return compile_error(c, "bad placeholder name {%s}", name);
	}
	if ((*var = c->lookup(s, len)) < 0)
		return compile_error(c, "unknown placeholder {%s}", name);
	return GA_OK;
}

static ga_err compile_open(struct compiler *c, struct tnode *n, const char *label, size_t len,
			   const char *opener)
{
	struct frame *f;

	if (c->depth >= DRAFT_TEMPLATE_MAX_DEPTH) {
		tnode_free(n);
		return compile_error(c, "blocks nested deeper than %d", DRAFT_TEMPLATE_MAX_DEPTH);
	}
	compile_append(c, n);
	f = &c->stack[++c->depth];
	f->node = n;
	f->tail = &n->child;
	f->line = c->line;
	snprintf(f->label, sizeof(f->label), "%.*s", (int)len, label);
	snprintf(f->opener, sizeof(f->opener), "%s", opener);
	return GA_OK;
}

/* One placeholder: the len bytes between "{" and "}". */
static ga_err compile_tag(struct compiler *c, const char *s, size_t len)
{
	char tag[TAG_MAX];
	struct tnode *n;
	ga_err rc;

	if (len >= sizeof(tag))
		return compile_error(c, "placeholder longer than %d bytes", TAG_MAX - 1);
	memcpy(tag, s, len);
	tag[len] = '\0';
	if (len == 2 && memcmp(s, "br", 2) == 0) {
		if ((n = tnode_new(TN_BR)) == NULL)
			return GA_ERR_NOMEM;
		return compile_append(c, n);
	}
	if (len == 1 && s[0] == '|') {
		struct frame *f = &c->stack[c->depth];
		if (f->node == NULL || f->node->type != TN_JOIN)
			return compile_error(c, "%s outside a {join} block", "{|}");
		if ((n = tnode_new(TN_SEP)) == NULL)
			return GA_ERR_NOMEM;
		return compile_append(c, n);
	}
	if (len >= 1 && s[0] == '/') {
		struct frame *f = &c->stack[c->depth];
		if (c->depth == 0)
			return compile_error(c, "{%s} closes no block", tag);
		if (len > 1 && (len - 1 != strlen(f->label) || memcmp(s + 1, f->label, len - 1)))
			return compile_error(c, "{%s} does not close %s opened at line %d", tag,
					     f->opener, f->line);
		c->depth--;
		return GA_OK;
	}
	if (len >= 5 && memcmp(s, "join ", 5) == 0) {
		size_t sl = len - 5;
		if (sl == 0 || sl > DRAFT_TEMPLATE_SEP_MAX)
			return compile_error(c, "join separator must be 1 to %d bytes",
					     DRAFT_TEMPLATE_SEP_MAX);
		if ((n = tnode_new(TN_JOIN)) == NULL || (n->text = malloc(sl + 1)) == NULL) {
			free(n);
			return GA_ERR_NOMEM;
		}
		memcpy(n->text, s + 5, sl);
		n->text[sl] = '\0';
		n->len = sl;
		return compile_open(c, n, "join", 4, "{join}");
	}
	if (len >= 1 && (s[0] == '?' || s[0] == '!')) {
		const char *p = s + 1, *end = s + len;
		char opener[sizeof(c->stack[0].opener)];
		if ((n = tnode_new(TN_IF)) == NULL)
			return GA_ERR_NOMEM;
		n->negate = s[0] == '!';
		while (p <= end) {
			const char *bar = memchr(p, '|', (size_t)(end - p));
			const char *e = bar ? bar : end;
			if (n->nalt == DRAFT_TEMPLATE_MAX_ALT) {
				tnode_free(n);
				return compile_error(c, "more than %d names in one block",
						     DRAFT_TEMPLATE_MAX_ALT);
			}
			if ((rc = compile_name(c, p, (size_t)(e - p), &n->alt[n->nalt++])) !=
			    GA_OK) {
				tnode_free(n);
				return rc;
			}
			p = e + 1;
		}
		snprintf(opener, sizeof(opener), "{%s}", tag);
		return compile_open(c, n, s + 1, len - 1, opener);
	}
	if ((n = tnode_new(TN_VAR)) == NULL)
		return GA_ERR_NOMEM;
	if ((rc = compile_name(c, s, len, &n->var)) != GA_OK) {
		free(n);
		return rc;
	}
	return compile_append(c, n);
}

/* One line, already trimmed and not a comment. */
static ga_err compile_line(struct compiler *c, const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	ga_err rc;

	while (p < end) {
		const char *open = memchr(p, '{', (size_t)(end - p));
		const char *close;

		if (open == NULL)
			return compile_text(c, p, (size_t)(end - p));
		if ((rc = compile_text(c, p, (size_t)(open - p))) != GA_OK)
			return rc;
		if (open + 1 < end && open[1] == '{') {
			if ((rc = compile_text(c, "{", 1)) != GA_OK)
				return rc;
			p = open + 2;
			continue;
		}
		if ((close = memchr(open, '}', (size_t)(end - open))) == NULL)
			return compile_error(c, "%s",
					     "unterminated placeholder (a \"{\" needs "
					     "its \"}\" on the same line; write \"{{\" for "
					     "a literal brace)");
		if ((rc = compile_tag(c, open + 1, (size_t)(close - open - 1))) != GA_OK)
			return rc;
		p = close + 1;
	}
	return GA_OK;
}

ga_err draft_template_compile(const char *path, const char *text, size_t len,
			      draft_template_lookup lookup, struct draft_template **out, char *err,
			      size_t errlen)
{
	struct compiler c;
	struct draft_template *t = NULL;
	const char *p = text, *end = text + len;
	ga_err rc = GA_ERR_NOMEM;

	memset(&c, 0, sizeof(c));
	c.path = path;
	c.lookup = lookup;
	c.err = err;
	c.errlen = errlen;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	c.stack[0].tail = &t->root;
	rc = GA_ERR_CONFIG;
	if (len > DRAFT_TEMPLATE_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, DRAFT_TEMPLATE_MAX_BYTES);
		goto out;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *b = p, *e = le;

		c.line++;
		if (memchr(b, '\0', (size_t)(e - b)) != NULL ||
		    !draft_utf8_valid(b, (size_t)(e - b))) {
			rc = compile_error(&c, "%s", "not valid UTF-8 text");
			goto out;
		}
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (b < e && *b != '#' && (rc = compile_line(&c, b, (size_t)(e - b))) != GA_OK)
			goto out;
		p = nl ? nl + 1 : end;
	}
	rc = GA_ERR_CONFIG;
	if (c.depth > 0) {
		c.line = c.stack[c.depth].line;
		rc = compile_error(&c, "%s is never closed", c.stack[c.depth].opener);
		goto out;
	}
	*out = t;
	t = NULL;
	rc = GA_OK;
out:
	draft_template_free(t);
	return rc;
}

ga_err draft_template_load(const char *path, draft_template_lookup lookup,
			   struct draft_template **out, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t n;
	ga_err rc = file_read(path, DRAFT_TEMPLATE_MAX_BYTES, &buf, &n, err, errlen);

	if (rc != GA_OK) {
		if (rc == GA_ERR_NOTFOUND)
			rc = GA_ERR_IO;
		goto out;
	}
	rc = draft_template_compile(path, buf, n, lookup, out, err, errlen);
out:
	free(buf);
	return rc;
}

/* Output of one render: keeps at most limit bytes, then notes overflow. */
struct rbuf {
	char *p;
	size_t len, size, limit;
	bool over;
	bool nomem;
};

static void rbuf_add(struct rbuf *b, const char *s, size_t n)
{
	if (b->nomem || n == 0)
		return;
	if (b->len + n > b->limit) {
		n = b->limit - b->len;
		b->over = true;
	}
	if (b->len + n + 1 > b->size) {
		size_t want = b->size ? b->size : 256;
		char *np;
		while (want < b->len + n + 1)
			want *= 2;
		if ((np = realloc(b->p, want)) == NULL) {
			b->nomem = true;
			return;
		}
		b->p = np;
		b->size = want;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static bool present(const char *const *vals, int i)
{
	return vals[i] != NULL && vals[i][0] != '\0';
}

/* Renders the siblings from n up to (not including) stop. */
static void render_nodes(const struct tnode *n, const struct tnode *stop, const char *const *vals,
			 struct rbuf *b);

static void render_join(const struct tnode *j, const char *const *vals, struct rbuf *b)
{
	const struct tnode *n = j->child;
	bool first = true;

	while (!b->nomem && !b->over) {
		struct rbuf part = {.limit = b->limit};
		const struct tnode *start = n;
		/* A part runs to the next {|} at this level or to the end. */
		while (n != NULL && n->type != TN_SEP)
			n = n->next;
		render_nodes(start, n, vals, &part);
		b->nomem |= part.nomem;
		if (part.len > 0) {
			if (!first)
				rbuf_add(b, j->text, j->len);
			rbuf_add(b, part.p, part.len);
			b->over |= part.over;
			first = false;
		}
		free(part.p);
		if (n == NULL)
			break;
		n = n->next;
	}
}

static void render_nodes(const struct tnode *n, const struct tnode *stop, const char *const *vals,
			 struct rbuf *b)
{
	for (; n != stop && !b->nomem && !b->over; n = n->next) {
		switch (n->type) {
		case TN_TEXT:
			rbuf_add(b, n->text, n->len);
			break;
		case TN_VAR:
			if (present(vals, n->var))
				rbuf_add(b, vals[n->var], strlen(vals[n->var]));
			break;
		case TN_BR:
			rbuf_add(b, "\n", 1);
			break;
		case TN_IF: {
			bool any = false;
			for (int i = 0; i < n->nalt && !any; i++)
				any = present(vals, n->alt[i]);
			if (any != n->negate)
				render_nodes(n->child, NULL, vals, b);
			break;
		}
		case TN_JOIN:
			render_join(n, vals, b);
			break;
		case TN_SEP:
			break;
		}
	}
}

ga_err draft_template_render(const struct draft_template *t, const char *const *vals, size_t cap,
			     char **out, bool *truncated)
{
	struct rbuf b = {.limit = cap + 1};

	render_nodes(t->root, NULL, vals, &b);
	rbuf_add(&b, "", 0);
	if (b.p == NULL && !b.nomem && (b.p = calloc(1, 1)) == NULL)
		b.nomem = true;
	if (b.nomem) {
		free(b.p);
		return GA_ERR_NOMEM;
	}
	if (truncated != NULL)
		*truncated = draft_utf8_fit(b.p, cap);
	else
		draft_utf8_fit(b.p, cap);
	*out = b.p;
	return GA_OK;
}
