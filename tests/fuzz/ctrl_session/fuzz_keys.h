/* SPDX-License-Identifier: MIT */
/*
 * Fixed keys and clock of the controller-message harnesses and their seed
 * generator, so that the checked-in seeds (signed bundles, a Hello naming
 * the TP's key) mean the same thing to the harnesses.
 *
 * Input format: one flags byte, then records of a 16-bit big-endian length
 * and that many bytes of one Envelope, handled in order as if decrypted
 * from the channel. The first record that does not decode ends the input
 * (the real session ends there too).
 */
#ifndef FUZZ_CTRL_KEYS_H
#define FUZZ_CTRL_KEYS_H

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "tp/policy/bundle.h"
#include "tp/base/crypto.h"

#define FUZZ_T0		1795000000 /* wall clock of every apply */
#define FUZZ_PUBLISHED	5	   /* the server harness's published version */
#define FUZZ_FLAG_UP	0x01	   /* server: the connection starts UP */
#define FUZZ_FLAG_REKEY 0x02	   /* the peer announced FEATURE_REKEY */

struct fuzz_keys {
	uint8_t ctl_seed[32], ctl_pk[32], ctl_sk[64];
	uint8_t other_pk[32], other_sk[64];
	uint8_t tp_priv[2][32], tp_pub[2][32];
};

static inline void fuzz_keys_make(struct fuzz_keys *k)
{
	uint8_t seed[32];

	memset(k->ctl_seed, 0x42, 32);
	crypto_sign_seed_keypair(k->ctl_pk, k->ctl_sk, k->ctl_seed);
	memset(seed, 0x43, 32);
	crypto_sign_seed_keypair(k->other_pk, k->other_sk, seed);
	for (int i = 0; i < 2; i++) {
		memset(k->tp_priv[i], 0x50 + i, 32);
		tp_crypto_clamp(k->tp_priv[i]);
		tp_crypto_pubkey(k->tp_pub[i], k->tp_priv[i]);
	}
}

/* The keys, made on the first input (libFuzzer has no set-up hook here). */
static inline void fuzz_keys_once(struct fuzz_keys *k)
{
	static int done;

	if (!done) {
		tp_crypto_init();
		fuzz_keys_make(k);
		done = 1;
	}
}

/* 1 with *version when PK signed the bundle B of N bytes, else 0. */
static inline int fuzz_signed(const uint8_t *b, size_t n, const uint8_t *pk, uint64_t *version)
{
	struct tp_bundle_info info;
	struct tp_site *site = NULL;
	char err[160];
	enum tp_bundle_status st;

	st = tp_bundle_open(b, n, pk, &info, &site, err, sizeof(err));
	tp_site_free(site);
	*version = st == TP_BUNDLE_OK ? info.version : 0;
	return st == TP_BUNDLE_OK;
}

/* Next record: 1 with *env and *len, 0 at the end of the input. */
static inline int fuzz_next(const uint8_t **p, const uint8_t *end, const uint8_t **env, size_t *len)
{
	size_t n;

	if (end - *p < 2)
		return 0;
	n = (size_t)(*p)[0] << 8 | (*p)[1];
	*p += 2;
	if ((size_t)(end - *p) < n)
		n = (size_t)(end - *p);
	*env = *p;
	*len = n;
	*p += n;
	return 1;
}

#endif /* FUZZ_CTRL_KEYS_H */
