// SPDX-License-Identifier: MIT
/* tpolicy: dispatch to subcommands (see tpolicy.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tpolicy.h"

static const struct tpolicy_cmd cmds[] = {
	{"keygen", tpolicy_cmd_keygen, "generate a controller signing key or a TP static key",
	 "keygen --controller -o FILE      (secret to FILE, mode 0600; public key to "
	 "FILE.pub and stdout)\n"
	 "       keygen --tp [-o FILE]            (WireGuard private and public key)\n"
	 "       keygen --public < PRIVATE        (public key of a WireGuard private key)",
	 NULL},
	{"lint", tpolicy_cmd_lint, "check a YAML policy; errors as file:line:col",
	 "lint FILE.yaml [--now TIME] [--werror] [--json]", NULL},
	{"compile", tpolicy_cmd_compile, "lint, then build and sign a bundle",
	 "compile FILE.yaml -o SITE.tpb --key KEY --version N [--valid-for DURATION | "
	 "--expires TIME] [--not-before TIME] [--now TIME]",
	 NULL},
	{"show", tpolicy_cmd_show, "verify a bundle's signature and print it",
	 "show FILE.tpb (--pub KEY.pub | --key KEY) [--json]", NULL},
	{"check", tpolicy_cmd_check, "decide one flow against a policy or bundle",
	 "check FILE.tpb|FILE.yaml --flow 'tcp 10.1.0.5:40000 -> 10.2.0.7:502' [--at TIME] "
	 "[--json] [--pub KEY.pub | --key KEY]",
	 NULL},
	{"export", tpolicy_cmd_export, "write the export each TP should produce (the intent)",
	 "export FILE.yaml|FILE.tpb -o DIR [--format json|ietf-acl] [--tp NAME] [--now TIME] "
	 "[--pub KEY.pub | --key KEY]",
	 NULL},
	{"verify", tpolicy_cmd_verify, "check a folder of TP exports (10 checks)",
	 "verify DIR [--site FILE.yaml|FILE.tpb] [--bundle FILE.tpb] [--pub KEY.pub | --key KEY] "
	 "[--now TIME] [--json] [--svg FILE]",
	 NULL},
	{"diff", tpolicy_cmd_diff, "flows newly allowed / denied between two policies",
	 "diff OLD NEW [--now TIME] [--json] [--pub KEY.pub | --key KEY]   (exit 1: differences)",
	 NULL},
	{"serve", NULL, "reference controller: compile, sign, push to every TP",
	 "serve ARGS   (the program tpolicy-serve: tpolicy serve --help)", "tpolicy-serve"},
	{"status", tpolicy_cmd_status, "ask a running serve what every TP runs",
	 "status [--state DIR | --socket PATH] [--json] [--wait VERSION [--timeout S]]", NULL},
};

int tpolicy_usage(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			fprintf(stderr, "usage: tpolicy %s\n", cmds[i].usage);
	return TPOLICY_USAGE;
}

int tpolicy_help(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			printf("usage: tpolicy %s\n\n%s.\n", cmds[i].usage, cmds[i].summary);
	return TPOLICY_OK;
}

static int help(FILE *f)
{
	fprintf(f, "usage: tpolicy COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nTIME is RFC 3339 UTC (2026-12-01T08:00:00Z) or 'now'.\n"
		   "'tpolicy COMMAND --help' shows a command's options.\n"
		   "Exit status: 0 ok, 1 refused (lint errors, bad bundle), 2 usage or I/O.\n");
	return f == stdout ? TPOLICY_OK : TPOLICY_USAGE;
}

/*
 * Run a command that is a program of its own, git-style: exec (the same
 * process: a supervisor's pid, signals and exit status stay the command's)
 * PROGRAM from the directory of tpolicy's own executable (a build tree),
 * else from ../lib/tableau/ beside it (the package: /usr/bin/tpolicy,
 * /usr/lib/tableau/PROGRAM), else from PATH. argv[0] becomes PROGRAM.
 */
static int run_program(const char *name, const char *program, char **argv)
{
	static const char *const beside[] = {"%s/%s", "%s/../lib/tableau/%s"};
	char self[PATH_MAX] = "", path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	int err = ENOENT;

	argv[0] = (char *)program;
	self[n > 0 ? n : 0] = '\0';
	slash = strrchr(self, '/');
	if (slash) {
		*slash = '\0';
		for (size_t i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
			if (snprintf(path, sizeof(path), beside[i], self, program) >=
			    (int)sizeof(path))
				continue;
			execv(path, argv);
			if (err == ENOENT) /* the first reason that is not "absent" */
				err = errno;
		}
	}
	execvp(program, argv);
	if (err == ENOENT)
		err = errno;
	fprintf(stderr,
		"tpolicy: %s needs the program %s, not found next to tpolicy in %s, in "
		"%s/../lib/tableau or on PATH (%s)\n",
		name, program, self, self, strerror(err));
	return TPOLICY_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return help(stderr);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return help(stdout);
	if (strcmp(argv[1], "--version") == 0) {
		printf("tpolicy %s\n", TP_VERSION);
		return TPOLICY_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, argv[1]) == 0)
			return cmds[i].program
				       ? run_program(cmds[i].name, cmds[i].program, argv + 1)
				       : cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "tpolicy: unknown command '%s'\n", argv[1]);
	return help(stderr);
}
