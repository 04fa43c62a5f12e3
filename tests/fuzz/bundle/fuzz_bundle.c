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
 *
 * Invariants (abort on violation), beyond "no crash":
 *  - a refusal hands out nothing (site and engine NULL);
 *  - check accepts => open accepts the same bytes and gives the same
 *    content: the same envelope (version, times, key id) and a site that
 *    encodes to the same bytes;
 *  - the engine check compiled is valid at the time it was compiled for
 *    (max(now, issued_at)) and decides, for packets derived from the
 *    decoded site (each rule's zones' addresses, its ports and their
 *    neighbours, its ICMP types, other protocols), exactly what the
 *    reference evaluator decides on that site at that time (DESIGN.md §7).
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tableau.pb-c.h"
#include "tp/policy/bundle.h"
#include "tp/policy/engine.h"
#include "tp/policy/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[32], sk[64];
static int ready;

static const int64_t now0 = 1795000000;

/* The site's content as bytes (the encoder is deterministic). */
static uint8_t *encode(const struct tp_site *site, const struct tp_bundle_info *info, size_t *len)
{
	struct tp_bundle_info copy = *info;
	uint8_t *out = NULL;

	if (tp_bundle_build_unsigned(site, &copy, pk, &out, len) != 0)
		abort(); /* an accepted site must be encodable */
	return out;
}

static void same_content(const struct tp_bundle_info *a, const struct tp_site *sa,
			 const struct tp_bundle_info *b, const struct tp_site *sb)
{
	size_t la, lb;
	uint8_t *ea, *eb;

	if (a->version != b->version || a->issued_at != b->issued_at ||
	    a->expires_at != b->expires_at || a->not_before != b->not_before ||
	    memcmp(a->key_id, b->key_id, sizeof(a->key_id)) != 0)
		abort();
	ea = encode(sa, a, &la);
	eb = encode(sb, b, &lb);
	if (la != lb || memcmp(ea, eb, la) != 0)
		abort();
	free(ea);
	free(eb);
}

static void first_addr(const struct tp_site *s, uint32_t zone, unsigned k, struct tp_prefix *out)
{
	const struct tp_zone *z = &s->zones[zone];
	const struct tp_prefix *p;

	memset(out, 0, sizeof(*out));
	if (!z->n_prefixes)
		return;
	p = &z->prefixes[k % z->n_prefixes];
	*out = *p;
	out->len = p->family == TP_AF_INET ? 32 : 128;
	out->addr[(p->family == TP_AF_INET ? 4 : 16) - 1] |= (uint8_t)(k & 1); /* .0 and .1 */
}

static void agree(const struct tp_site *s, const struct tp_engine *e, const struct tp_flow *f,
		  int64_t t)
{
	struct tp_decision want, got;

	tp_ref_evaluate(s, f, t, &want);
	tp_engine_decide(e, f, &got);
	if (want.verdict != got.verdict || want.reason != got.reason ||
	    want.rule_id != got.rule_id || want.stateful != got.stateful ||
	    want.profile != got.profile || want.from_zone != got.from_zone ||
	    want.to_zone != got.to_zone)
		abort();
}

/* Packets derived from each rule of the site (bounded work per input). */
static void engine_agrees(const struct tp_site *s, const struct tp_engine *e, int64_t t)
{
	static const uint8_t other_protos[] = {6, 17, 1, 58, 132};
	size_t budget = 4096;

	if (!tp_engine_valid_at(e, t))
		abort();
	for (size_t i = 0; i < s->n_rules && i < 256 && budget; i++) {
		const struct tp_rule *r = &s->rules[i];
		struct tp_flow f = {0};

		if (r->from_zone >= s->n_zones || r->to_zone >= s->n_zones)
			abort(); /* check accepted it: lint guarantees the indices */
		for (unsigned k = 0; k < 4 && budget; k++) {
			first_addr(s, r->from_zone, k, &f.src);
			first_addr(s, r->to_zone, k + 1, &f.dst);
			if (f.src.family != f.dst.family)
				continue;
			for (size_t pi = 0; pi <= sizeof(other_protos) && budget; pi++) {
				f.proto = pi == 0 ? r->proto : other_protos[pi - 1];
				for (size_t d = 0; d < 3 * (r->n_dst_ports ? r->n_dst_ports : 1) &&
						   d < 12 && budget;
				     d++, budget--) {
					const struct tp_port_range *pr =
						r->n_dst_ports
							? &r->dst_ports[(d / 3) % r->n_dst_ports]
							: NULL;
					uint16_t base = pr ? (d % 3 == 1 ? pr->hi : pr->lo) : 502;

					f.dport = (uint16_t)(d % 3 == 2 ? base + 1 : base);
					f.sport = r->n_src_ports ? r->src_ports[0].lo : 40000;
					f.icmp_type = r->n_icmp ? r->icmp[d % r->n_icmp].type : 8;
					f.icmp_code = r->n_icmp && r->icmp[d % r->n_icmp].code > 0
							      ? (uint8_t)r->icmp[d % r->n_icmp].code
							      : 0;
					agree(s, e, &f, t);
				}
			}
		}
	}
}

static void check(const uint8_t *b, size_t n)
{
	struct tp_bundle_accept p = {
		.controller_pk = pk, .running_version = 1, .now = now0, .max_skew_s = 300};
	struct tp_bundle_info info, oinfo;
	struct tp_engine *e = (struct tp_engine *)1;
	struct tp_site *site = (struct tp_site *)1, *osite = NULL;
	enum tp_bundle_status st;
	char err[256];

	st = tp_bundle_check(b, n, &p, &info, &site, &e, err, sizeof(err));
	if (st != TP_BUNDLE_OK) {
		if (site || e)
			abort();
	} else {
		if (!site || !e)
			abort();
		if (tp_bundle_open(b, n, pk, &oinfo, &osite, err, sizeof(err)) != TP_BUNDLE_OK)
			abort();
		same_content(&info, site, &oinfo, osite);
		engine_agrees(site, e, info.issued_at > now0 ? info.issued_at : now0);
		tp_site_free(osite);
		tp_engine_free(e);
		tp_site_free(site);
		return;
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
