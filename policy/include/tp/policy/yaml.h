/* SPDX-License-Identifier: MIT */
/*
 * The YAML authoring format (documented in policy/README.md) to struct
 * tp_site. Every item keeps the line:column where it was written, so lint
 * can point at it.
 *
 * The reader is strict: unknown keys, duplicate keys, wrong types, bad
 * prefixes, ports out of range, inverted ranges, bad timestamps and names
 * that refer to nothing are errors, each reported at its own location, and
 * reading goes on to report every error of the file at once. A file with
 * any error gives no site. Anchors and aliases are refused (they make the
 * size of the document independent of the size of the file), as are
 * documents nested deeper than TP_YAML_MAX_DEPTH or bigger than
 * TP_YAML_MAX_BYTES.
 */
#ifndef TP_POLICY_YAML_H
#define TP_POLICY_YAML_H

#include <stddef.h>

#include "tp/policy/diag.h"
#include "tp/policy/site.h"

#define TP_YAML_MAX_BYTES (16u << 20)
#define TP_YAML_MAX_DEPTH 32

/* Read a policy from buf (len bytes, no NUL needed). Errors go to d (whose
 * file name is used for messages). On success returns a site (free with
 * tp_site_free) and, when locs is not NULL, the extra locations (free with
 * tp_site_locs_free); on any error returns NULL and sets *locs to NULL. */
struct tp_site *tp_yaml_read(const char *buf, size_t len, struct tp_diags *d,
			     struct tp_site_locs **locs);

/* Same, from a file; site->source_file is set to path. */
struct tp_site *tp_yaml_read_file(const char *path, struct tp_diags *d, struct tp_site_locs **locs);

#endif /* TP_POLICY_YAML_H */
