/* SPDX-License-Identifier: MIT */
/*
 * tpolicy: the operator's policy tool. Each subcommand lives in its own
 * cmd_<name>.c and is listed in main.c's table, except `serve`: the
 * reference controller is controller code (controller-client/serve/), a
 * program of its own, tpolicy-serve, which the table execs.
 *
 * Exit status, for every subcommand: 0 success, 1 the policy or bundle was
 * refused (lint errors, bad signature, ...), 2 usage or I/O error.
 */
#ifndef TPOLICY_H
#define TPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/policy/bundle.h"
#include "tp/policy/site.h"

#define TPOLICY_OK	0
#define TPOLICY_REFUSED 1
#define TPOLICY_USAGE	2

struct tpolicy_cmd {
	const char *name;
	int (*run)(int argc, char **argv); /* NULL: program runs it */
	const char *summary;
	const char *usage;
	/* A command that is a program of its own, git-style: tpolicy execs it
	 * with the command's arguments (main.c). */
	const char *program;
};

int tpolicy_cmd_keygen(int argc, char **argv);
int tpolicy_cmd_lint(int argc, char **argv);
int tpolicy_cmd_compile(int argc, char **argv);
int tpolicy_cmd_show(int argc, char **argv);
int tpolicy_cmd_check(int argc, char **argv);
int tpolicy_cmd_export(int argc, char **argv);
int tpolicy_cmd_verify(int argc, char **argv);
int tpolicy_cmd_diff(int argc, char **argv);
int tpolicy_cmd_status(int argc, char **argv); /* status.c: ask a running serve */

/* Print "tpolicy NAME: usage..." for the named command to stderr and return
 * TPOLICY_USAGE. */
int tpolicy_usage(const char *name);

/* The same on stdout, for --help; returns TPOLICY_OK. */
int tpolicy_help(const char *name);

/* Print "tpolicy: msg" to stderr. */
void tpolicy_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "now" (the wall clock) or an RFC 3339 UTC timestamp. */
bool tpolicy_parse_time(const char *s, int64_t *out);

/* Is path a YAML policy (by extension .yaml/.yml) rather than a bundle? */
bool tpolicy_is_yaml(const char *path);

/* Controller public key from --pub FILE, or derived from --key FILE (the
 * secret). Exactly one of the two is used. Returns 0 or an exit status
 * after printing why. */
int tpolicy_controller_pub(const char *pub_path, const char *key_path, uint8_t pk[32]);

/* Open a YAML policy (read + structural lint) or a bundle (verify with pk,
 * decode). On success *site is set; *info too for a bundle (zeroed for
 * YAML). Prints the problems and returns an exit status on failure. */
int tpolicy_load(const char *path, const uint8_t *pk, int64_t now, struct tp_site **site,
		 struct tp_bundle_info *info);

/* tpolicy_load() of a path given with --pub/--key: the controller key is
 * read (and required) only when the path is a bundle. */
int tpolicy_load_keyed(const char *path, const char *pub_path, const char *key_path, int64_t now,
		       struct tp_site **site, struct tp_bundle_info *info);

/* Human-readable conduit match ("tcp dst 502,1000-2000 src any"). */
const char *tpolicy_rule_match(const struct tp_rule *r, char *buf, size_t len);

#endif /* TPOLICY_H */
