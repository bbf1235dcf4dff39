/* draft_template.h - the small template engine the alert texts are
 * written in (alerts/templates/README.md describes the language).
 *
 * A template is text with placeholders. It never executes anything: the
 * only operations are substituting a value, keeping or dropping a block
 * depending on whether values are present, and joining the non-empty
 * parts of a list with a separator.
 *
 *   {name}              the value of name ("" when absent)
 *   {?a|b} ... {/}      kept when a or b is present (non-empty)
 *   {!a|b} ... {/}      kept when neither a nor b is present
 *   {join SEP}x{|}y{/}  the non-empty parts x, y, ... joined with SEP
 *   {br}                a line break
 *   {{                  a literal "{"
 *
 * A block may be closed by {/} or by {/NAME} where NAME repeats what
 * follows the opener's sigil ({?a|b} ... {/a|b}, {join ...} ... {/join}).
 * Files are read line by line: lines starting with '#' are comments,
 * leading and trailing blanks are dropped and lines are joined with
 * nothing in between (Chinese text needs no spaces), so a long sentence
 * can be spread over several lines. */
#ifndef GA_DRAFT_TEMPLATE_H
#define GA_DRAFT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define DRAFT_TEMPLATE_MAX_BYTES 65536 /* size cap of a template file */
#define DRAFT_TEMPLATE_MAX_DEPTH 16    /* nesting cap of blocks */
#define DRAFT_TEMPLATE_MAX_ALT 8       /* names in one {?a|b|...} */
#define DRAFT_TEMPLATE_NAME_MAX 32     /* bytes of a placeholder name */
#define DRAFT_TEMPLATE_SEP_MAX 16      /* bytes of a join separator */

struct draft_template;

/* Maps a placeholder name (len bytes, not NUL-terminated) to the index of
 * its value in the array draft_template_render gets, or -1 when unknown. */
typedef int (*draft_template_lookup)(const char *name, size_t len);

/* Compiles text (len bytes, UTF-8) read from path (used in messages).
 * Every placeholder is resolved through lookup now, so an unknown name is
 * an error at load, not a hole in a published alert. On error returns
 * GA_ERR_CONFIG (GA_ERR_NOMEM) with "path:line: what" in err and leaves
 * *out unchanged; on success *out owns a new template. */
ga_err draft_template_compile(const char *path, const char *text, size_t len,
			      draft_template_lookup lookup, struct draft_template **out, char *err,
			      size_t errlen);

/* Reads path (at most DRAFT_TEMPLATE_MAX_BYTES) and compiles it. A file
 * that cannot be read gives GA_ERR_IO with "path: reason" in err. */
ga_err draft_template_load(const char *path, draft_template_lookup lookup,
			   struct draft_template **out, char *err, size_t errlen);

void draft_template_free(struct draft_template *t);

/* Renders t with vals (indexed as lookup answered; NULL or "" = absent)
 * into a new NUL-terminated string *out (caller frees) of at most cap
 * bytes. A longer text is cut on a UTF-8 character boundary and ends in
 * "…" (within cap); *truncated says so (may be NULL). cap >= 8.
 * Returns GA_OK or GA_ERR_NOMEM (*out unchanged). */
ga_err draft_template_render(const struct draft_template *t, const char *const *vals, size_t cap,
			     char **out, bool *truncated);

/* Cuts the NUL-terminated UTF-8 string s so that it fits in cap bytes
 * (NUL not counted), never inside a character; when something is cut,
 * "…" is appended within cap. Returns true when s was cut. */
bool draft_utf8_fit(char *s, size_t cap);

/* True when the len bytes at s are well-formed UTF-8 (no overlongs,
 * surrogates or code points past U+10FFFF). */
bool draft_utf8_valid(const char *s, size_t len);

#endif
