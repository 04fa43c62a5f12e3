/* SPDX-License-Identifier: MIT */
/* Reading one conduit, shared by the site and the export readers. */
#ifndef TP_EXPORT_SITEJSON_H
#define TP_EXPORT_SITEJSON_H

#include <jansson.h>

#include "jr.h"
#include "tp/policy/site.h"

/* Read one conduit (zones resolved in s; an optional "hits" key is left to
 * the caller). Frees nothing on failure: the caller frees the rule. */
bool tp_export_rule_read(struct jr *r, const struct tp_site *s, json_t *o, const char *path,
			 struct tp_rule *rule);

#endif /* TP_EXPORT_SITEJSON_H */
