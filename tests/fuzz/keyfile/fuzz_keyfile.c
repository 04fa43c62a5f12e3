// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the key parser (tp/base/keys.h: every key file, and
 * the controller_key of tpd.conf) and the rollback-floor file parser
 * (tp/ctrl/lkg.h). Both read bytes from disk or configuration that the host
 * around the TP controls.
 *
 * Invariants (abort on violation):
 *  - tp_key_parse accepts => the input without surrounding whitespace is
 *    exactly the canonical encoding of the key it returned (one spelling
 *    per key), and that encoding parses back to the same key;
 *  - tp_config_key_decode (tpd.conf's controller_key) accepts exactly when
 *    the input is 44 characters that tp_key_parse accepts, with the same
 *    key;
 *  - tp_lkg_floor_parse accepts => saving the floor it returned writes
 *    exactly the input bytes (the file has one form), and every strict
 *    prefix of the input (a torn write) is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/dp/config.h"
#include "tp/base/keys.h"
#include "tp/ctrl/lkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void keys(const char *s, size_t n)
{
	uint8_t k[32], k2[32];
	char enc[TP_KEY_B64_LEN + 1], *z;
	size_t a = 0, b = n;
	bool ok = tp_key_parse(s, n, k) == 0, ok2;

	while (a < b && space(s[a]))
		a++;
	while (b > a && space(s[b - 1]))
		b--;
	if (ok) {
		tp_key_to_base64(k, enc);
		if (b - a != TP_KEY_B64_LEN || memcmp(s + a, enc, TP_KEY_B64_LEN) != 0)
			abort();
		if (tp_key_parse(enc, TP_KEY_B64_LEN, k2) != 0 || memcmp(k, k2, 32) != 0)
			abort();
	}
	if (memchr(s, 0, n))
		return;
	z = malloc(n + 1);
	if (!z)
		return;
	memcpy(z, s, n);
	z[n] = 0;
	ok2 = tp_config_key_decode(z, k2);
	if (ok2 != (ok && n == TP_KEY_B64_LEN) || (ok2 && memcmp(k, k2, 32) != 0))
		abort();
	free(z);
}

static void cleanup(void)
{
	char path[96];

	snprintf(path, sizeof(path), "%s/%s", dir, TP_LKG_FLOOR_FILE);
	unlink(path);
	rmdir(dir);
}

static void floor_file(const char *s, size_t n)
{
	struct tp_lkg_floor f, g;
	char path[96], back[256];
	size_t got;
	FILE *fp;

	if (tp_lkg_floor_parse(s, n, &f) != 0)
		return;
	for (size_t k = 0; k < n; k++)
		if (tp_lkg_floor_parse(s, k, &g) == 0)
			abort();
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_keyfile.%d", (int)getpid());
		if (mkdir(dir, 0700) != 0)
			abort();
		atexit(cleanup);
	}
	if (tp_lkg_floor_save(dir, &f) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/%s", dir, TP_LKG_FLOOR_FILE);
	fp = fopen(path, "r");
	if (!fp)
		abort();
	got = fread(back, 1, sizeof(back), fp);
	fclose(fp);
	if (got != n || memcmp(back, s, n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keys((const char *)data, size);
	floor_file((const char *)data, size);
	return 0;
}
