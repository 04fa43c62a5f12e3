/* SPDX-License-Identifier: MIT */
/* tpctl export: fetch tpd's verification export (tp/policy/export.h). */
#ifndef TPCTL_EXPORT_H
#define TPCTL_EXPORT_H

/* tpctl [--socket PATH] export [FILE]: argv[0] is "export". Returns the
 * exit status (tpctl's codes). */
int tpctl_export(const char *socket_path, int argc, char **argv);

#endif /* TPCTL_EXPORT_H */
