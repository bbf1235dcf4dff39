/* text.h - what every published text shares, whatever its source (a
 * station's report, an officer's edit, the registry, the config): the
 * Unicode bidirectional controls that could make it display otherwise
 * than it reads.
 *
 * Two sets, decided in docs/security.md ("Bidirectional controls"):
 *   - the embeddings, overrides and isolates (U+202A..U+202E,
 *     U+2066..U+2069) open a state that reverses or reorders what
 *     follows; a report carrying one is rejected (report_check.c);
 *   - the marks (U+200E LRM, U+200F RLM, U+061C ALM) act as an invisible
 *     letter and can still swap space-separated numbers; a report may
 *     carry them (an Uyghur place name may), but like the first set they
 *     are removed from every published text. */
#ifndef GA_TEXT_H
#define GA_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The byte length (2 or 3) of the bidirectional control s starts with,
 * embedding/override/isolate or mark; 0 when s starts with none. s must
 * be NUL-terminated. */
/* Unicode code points of the UTF-8 string s: what every limit "in
 * characters" counts (reports, alerts, channels). */
size_t text_chars(const char *s);

size_t text_bidi_len(const char *s);

/* Whether s starts with an embedding, override or isolate (the set a
 * report may not carry). */
bool text_bidi_is_control(const char *s);

/* The byte offset of the first embedding, override or isolate in s, or
 * -1 when it has none. */
long text_bidi_find(const char *s);

/* Whether s holds a bidirectional control of either set. */
bool text_has_bidi(const char *s);

/* Removes every bidirectional control (both sets) from s in place;
 * returns how many. */
size_t text_strip_bidi(char *s);

/* Removes them from every string in j (objects, arrays, nested) in
 * place; false only when out of memory (j then partly cleaned). */
bool text_json_strip_bidi(json_t *j);

#endif
