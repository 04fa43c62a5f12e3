/* SPDX-License-Identifier: MIT */
/* The admin socket's "export" command: the verification export (tp/policy/export.h). */
#ifndef TPD_EXPORT_H
#define TPD_EXPORT_H

#include <stddef.h>

#include <jansson.h>

/* Handler for tpd_admin_cmds; arg is struct tpd. */
json_t *tpd_cmd_export(void *arg, json_t *req, char *err, size_t errlen);

struct tpd;

/* The same document as canonical bytes (what `tpctl export` writes), for
 * the controller's ExportRequest. malloc'd; NULL with err set. */
char *tpd_export_bytes(struct tpd *d, size_t *len, char *err, size_t errlen);

#endif /* TPD_EXPORT_H */
