/* draft_internal.h - private to draft.c and draft_warning.c: the
 * templates of a warning's sections, loaded with the report drafts'
 * (draft_templates_load), and the hazard texts they share. */
#ifndef GA_DRAFT_INTERNAL_H
#define GA_DRAFT_INTERNAL_H

#include <stddef.h>

#include "draft.h"
#include "draft_template.h"

/* The sections of a draft, in the order of struct draft_text. */
enum draft_section { SEC_HEADLINE, SEC_SITUATION, SEC_CAUSES, SEC_RESPONSE, SEC_TREND, SEC_COUNT };

/* The file of section i of a warning ("warning_headline.txt", ...). */
const char *draft_warning_file(int i);

/* Maps a warning template's placeholder to its value index (-1: unknown). */
int draft_warning_var_lookup(const char *name, size_t len);

/* Section i of the warning templates of t (borrowed). */
const struct draft_template *draft_templates_warning(const struct draft_templates *t, int i);

/* The hazard type's default causes (hazards.txt), "" when t is NULL. */
const char *draft_templates_causes(const struct draft_templates *t, enum hazard_type h);

/* admin followed by place, without repeating the part of admin place
 * starts with ("江苏省南京市浦口区" + "浦口区永宁街道" ->
 * "江苏省南京市浦口区永宁街道"), cut to len on a UTF-8 boundary. */
void draft_location(const char *admin, const char *place, char *buf, size_t len);

/* The cap of section i: DRAFT_HEADLINE_MAX or DRAFT_TEXT_MAX. */
size_t draft_section_cap(int i);

#endif
