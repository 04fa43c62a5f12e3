// SPDX-License-Identifier: MIT
/*
 * tpolicy keygen: controller signing keys (Ed25519) and TP static keys
 * (X25519, WireGuard format). Secrets are only ever written to files created
 * with mode 0600, or to stdout when the operator asks for a TP key without
 * -o (as `wg genkey` does).
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp/base/keys.h"
#include "tpolicy.h"

static int write_pair(const char *out, const uint8_t secret[32], const uint8_t pub[32])
{
	char pubpath[4096];
	int rc;

	if (snprintf(pubpath, sizeof(pubpath), "%s.pub", out) >= (int)sizeof(pubpath)) {
		tpolicy_err("%s: path too long", out);
		return TPOLICY_USAGE;
	}
	rc = tp_key_write_file(out, secret, 0600);
	if (rc < 0) {
		tpolicy_err("%s: %s%s", out, strerror(-rc),
			    rc == -EEXIST ? " (refusing to overwrite a key)" : "");
		return TPOLICY_USAGE;
	}
	rc = tp_key_write_file(pubpath, pub, 0644);
	if (rc < 0) {
		tpolicy_err("%s: %s", pubpath, strerror(-rc));
		unlink(out);
		return TPOLICY_USAGE;
	}
	return TPOLICY_OK;
}

int tpolicy_cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{"controller", no_argument, NULL, 'c'}, {"tp", no_argument, NULL, 't'},
		{"public", no_argument, NULL, 'p'},	{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},	{NULL, 0, NULL, 0},
	};
	uint8_t secret[32], pub[32];
	char b64[TP_KEY_B64_LEN + 1], line[256];
	const char *out = NULL;
	int mode = 0, c, rc = TPOLICY_OK;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 't':
		case 'p':
			if (mode && mode != c)
				return tpolicy_usage("keygen");
			mode = c;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			return tpolicy_help("keygen");
		default:
			return tpolicy_usage("keygen");
		}
	}
	if (!mode || optind != argc || (mode == 'c' && !out) || (mode == 'p' && out))
		return tpolicy_usage("keygen");
	if (sodium_init() < 0) {
		tpolicy_err("libsodium failed to initialise");
		return TPOLICY_USAGE;
	}
	switch (mode) {
	case 'c':
		tp_key_controller_generate(secret, pub);
		rc = write_pair(out, secret, pub);
		if (rc == TPOLICY_OK) {
			tp_key_to_base64(pub, b64);
			printf("%s\n", b64);
			fprintf(stderr, "controller key: secret in %s, public key in %s.pub\n", out,
				out);
		}
		break;
	case 't':
		if (tp_key_wg_generate(secret, pub) < 0) {
			tpolicy_err("X25519 failed");
			rc = TPOLICY_USAGE;
			break;
		}
		if (out) {
			rc = write_pair(out, secret, pub);
			if (rc == TPOLICY_OK) {
				tp_key_to_base64(pub, b64);
				printf("%s\n", b64);
			}
		} else {
			tp_key_to_base64(secret, b64);
			printf("private_key: %s\n", b64);
			tp_key_to_base64(pub, b64);
			printf("public_key: %s\n", b64);
		}
		break;
	case 'p':
		/* like `wg pubkey`: private key on stdin, public key on stdout */
		if (!fgets(line, sizeof(line), stdin) || tp_key_from_base64(line, secret) < 0 ||
		    tp_key_wg_public(secret, pub) < 0) {
			tpolicy_err("stdin: expected a base64 32-byte private key");
			rc = TPOLICY_USAGE;
			break;
		}
		tp_key_to_base64(pub, b64);
		printf("%s\n", b64);
		break;
	}
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(line, sizeof(line));
	sodium_memzero(b64, sizeof(b64));
	return rc;
}
