// SPDX-License-Identifier: MIT
/*
 * LD_PRELOAD shim for tests/lab/tpd-storage: rename(2) onto a path ending
 * in $TP_KILL_AT_RENAME kills the process with SIGKILL first, as a power
 * cut or the OOM killer would between a file's write and its rename (the
 * temporary file is complete and fsynced by then). Unset: a plain rename.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rename(const char *from, const char *to)
{
	static int (*real)(const char *, const char *);
	const char *suffix = getenv("TP_KILL_AT_RENAME");

	if (suffix && *suffix && to) {
		size_t a = strlen(to), b = strlen(suffix);

		if (a >= b && strcmp(to + a - b, suffix) == 0)
			raise(SIGKILL);
	}
	if (!real)
		real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	return real(from, to);
}
