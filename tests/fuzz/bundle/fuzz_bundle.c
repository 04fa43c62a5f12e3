// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for bundle decoding and acceptance.
 *
 * The first byte picks the mode:
 *   even: the rest is a SignedBundle from the network, checked as is (the
 *         framing and signature paths);
 *   odd:  the rest is a SignedBundle whose inner bundle bytes the harness
 *         re-signs with the pinned test key before checking, so mutations of
 *         the signed content reach decoding, conversion, lint and the
 *         compiler instead of stopping at the signature.
 * The seed corpus holds the example plants compiled with the test key
 * (Ed25519 seed: 32 bytes of 0x42), in both modes.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tableau.pb-c.h"
#include "tp/bundle.h"
#include "tp/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[32], sk[64];
static int ready;

static void check(const uint8_t *b, size_t n)
{
	struct tp_bundle_accept p = {.controller_pk = pk, .running_version = 1, .now = 1795000000};
	struct tp_bundle_info info;
	struct tp_engine *e = NULL;
	struct tp_site *site = NULL;
	char err[256];

	if (tp_bundle_check(b, n, &p, &info, &site, &e, err, sizeof(err)) == TP_BUNDLE_OK) {
		tp_engine_free(e);
		tp_site_free(site);
	}
	if (tp_bundle_open(b, n, pk, &info, &site, err, sizeof(err)) == TP_BUNDLE_OK)
		tp_site_free(site);
}

static void resign_and_check(const uint8_t *b, size_t n)
{
	Tableau__V1__SignedBundle *sb = tableau__v1__signed_bundle__unpack(NULL, n, b);
	size_t dl = strlen(TP_BUNDLE_DOMAIN), len;
	uint8_t sig[64], *msg, *out;
	ProtobufCBinaryData orig;

	if (!sb)
		return;
	msg = malloc(dl + sb->bundle.len + 1);
	if (!msg)
		goto out;
	memcpy(msg, TP_BUNDLE_DOMAIN, dl);
	if (sb->bundle.len)
		memcpy(msg + dl, sb->bundle.data, sb->bundle.len);
	crypto_sign_detached(sig, NULL, msg, dl + sb->bundle.len, sk);
	free(msg);
	orig = sb->signature;
	sb->signature.data = sig;
	sb->signature.len = sizeof(sig);
	len = tableau__v1__signed_bundle__get_packed_size(sb);
	out = malloc(len ? len : 1);
	if (out) {
		tableau__v1__signed_bundle__pack(sb, out);
		check(out, len);
		free(out);
	}
	/* give the unpacked struct back what it allocated */
	sb->signature = orig;
out:
	tableau__v1__signed_bundle__free_unpacked(sb, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t seed[32];

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		memset(seed, 0x42, sizeof(seed));
		crypto_sign_seed_keypair(pk, sk, seed);
		ready = 1;
	}
	if (size < 1)
		return 0;
	if (data[0] & 1)
		resign_and_check(data + 1, size - 1);
	else
		check(data + 1, size - 1);
	return 0;
}
