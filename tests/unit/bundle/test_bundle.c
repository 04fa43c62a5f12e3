// SPDX-License-Identifier: MIT
/*
 * Bundles: a signed bundle round-trips byte for byte; tp_bundle_check()
 * refuses each bad bundle with its own reason and hands out nothing when it
 * refuses; unknown fields are tolerated; hostile bytes are refused without
 * crashing. Key helpers against RFC 7748 and wg's file format.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tableau.pb-c.h"
#include "tp/policy/bundle.h"
#include "tp/policy/engine.h"
#include "tp/base/keys.h"
#include "tp/policy/yaml.h"

#include "../../lib/tl_site.h"
#include "../../lib/tl_cunit.h"

static const char *examples_dir;
static uint8_t pk[32], sk[64], other_pk[32], other_sk[64];
static const int64_t t0 = 1795000000;

static struct tp_site *lab_site(void)
{
	return tl_example_site(examples_dir, "lab-plant.yaml");
}

static struct tp_bundle_info info_v(uint64_t v)
{
	return (struct tp_bundle_info){.version = v, .issued_at = t0, .expires_at = t0 + 3600};
}

static enum tp_bundle_status check(const uint8_t *b, size_t n, uint64_t running, int64_t now,
				   struct tp_site **site, struct tp_engine **engine)
{
	struct tp_bundle_accept p = {.controller_pk = pk, .running_version = running, .now = now};
	struct tp_bundle_info info;
	char err[256];

	return tp_bundle_check(b, n, &p, &info, site, engine, err, sizeof(err));
}

/* A refusal leaves nothing behind for the caller to run. */
static void expect_refusal(const uint8_t *b, size_t n, uint64_t running, int64_t now,
			   enum tp_bundle_status want)
{
	struct tp_site *site = (struct tp_site *)1;
	struct tp_engine *engine = (struct tp_engine *)1;
	enum tp_bundle_status st = check(b, n, running, now, &site, &engine);

	CU_ASSERT_EQUAL(st, want);
	if (st != want)
		fprintf(stderr, "\n  got '%s', want '%s'\n", tp_bundle_status_name(st),
			tp_bundle_status_name(want));
	CU_ASSERT_PTR_NULL(site);
	CU_ASSERT_PTR_NULL(engine);
	if (st == TP_BUNDLE_OK) {
		tp_site_free(site);
		tp_engine_free(engine);
	}
}

/* Sign arbitrary Bundle bytes the way the controller does. */
static uint8_t *sign_raw(const uint8_t *bundle, size_t blen, const uint8_t *key, size_t *out_len)
{
	Tableau__V1__SignedBundle sb = TABLEAU__V1__SIGNED_BUNDLE__INIT;
	size_t dl = strlen(TP_BUNDLE_DOMAIN);
	uint8_t *msg = malloc(dl + blen + 1), sig[64], *out;

	memcpy(msg, TP_BUNDLE_DOMAIN, dl);
	memcpy(msg + dl, bundle, blen);
	crypto_sign_detached(sig, NULL, msg, dl + blen, key);
	free(msg);
	sb.bundle.data = (uint8_t *)bundle;
	sb.bundle.len = blen;
	sb.signature.data = sig;
	sb.signature.len = 64;
	*out_len = tableau__v1__signed_bundle__get_packed_size(&sb);
	out = malloc(*out_len);
	tableau__v1__signed_bundle__pack(&sb, out);
	return out;
}

static void test_round_trip(void)
{
	struct tp_site *s = lab_site(), *back = NULL;
	struct tp_bundle_info info = info_v(7), got;
	struct tp_bundle_accept p = {.controller_pk = pk, .running_version = 6, .now = t0};
	struct tp_engine *e = NULL;
	uint8_t *b1, *b2, id[8];
	size_t n1, n2;
	char err[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &b1, &n1), 0);
	tp_bundle_key_id(pk, id);
	CU_ASSERT_EQUAL(memcmp(info.key_id, id, 8), 0);
	CU_ASSERT_EQUAL_FATAL(tp_bundle_check(b1, n1, &p, &got, &back, &e, err, sizeof(err)),
			      TP_BUNDLE_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_PTR_NOT_NULL(e);
	CU_ASSERT_EQUAL(got.version, 7);
	CU_ASSERT_EQUAL(got.issued_at, t0);
	CU_ASSERT_EQUAL(got.expires_at, t0 + 3600);
	CU_ASSERT_EQUAL(memcmp(got.key_id, id, 8), 0);
	CU_ASSERT_EQUAL(back->n_zones, s->n_zones);
	CU_ASSERT_EQUAL(back->n_rules, s->n_rules);
	CU_ASSERT_EQUAL(back->n_assertions, s->n_assertions);
	/* Everything survived: encoding the decoded site gives the same bytes
	 * (Ed25519 is deterministic). */
	CU_ASSERT_EQUAL(tp_bundle_build(back, &info, sk, &b2, &n2), 0);
	CU_ASSERT_EQUAL(n1, n2);
	CU_ASSERT_EQUAL(memcmp(b1, b2, n1), 0);
	free(b1);
	free(b2);
	tp_engine_free(e);
	tp_site_free(back);
	tp_site_free(s);
}

static void test_refusals(void)
{
	struct tp_site *s = lab_site();
	struct tp_bundle_info info = info_v(5);
	struct tp_site *site;
	uint8_t *b, *u, *w, *nb;
	size_t n, nu, nw, nn;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &b, &n), 0);
	/* the good one, for contrast */
	CU_ASSERT_EQUAL(check(b, n, 4, t0, &site, NULL), TP_BUNDLE_OK);
	tp_site_free(site);

	info = info_v(5);
	CU_ASSERT_EQUAL_FATAL(tp_bundle_build_unsigned(s, &info, pk, &u, &nu), 0);
	expect_refusal(u, nu, 0, t0, TP_BUNDLE_UNSIGNED);

	info = info_v(5);
	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, other_sk, &w, &nw), 0);
	expect_refusal(w, nw, 0, t0, TP_BUNDLE_WRONG_KEY);

	/* our key id, but the signature does not verify: tampered (the middle
	 * byte lies in the signed bundle bytes) */
	b[n / 2] ^= 0x01;
	expect_refusal(b, n, 0, t0, TP_BUNDLE_BAD_SIGNATURE);
	b[n / 2] ^= 0x01;

	expect_refusal(b, n, 5, t0, TP_BUNDLE_ROLLBACK);
	expect_refusal(b, n, 6, t0, TP_BUNDLE_ROLLBACK);
	expect_refusal(b, n, 0, t0 + 3600, TP_BUNDLE_EXPIRED);

	info = info_v(6);
	info.not_before = t0 + 60;
	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &nb, &nn), 0);
	expect_refusal(nb, nn, 0, t0 + 59, TP_BUNDLE_NOT_YET_VALID);
	CU_ASSERT_EQUAL(check(nb, nn, 0, t0 + 60, &site, NULL), TP_BUNDLE_OK);
	tp_site_free(site);

	expect_refusal((const uint8_t *)"\xff\xff\xff", 3, 0, t0, TP_BUNDLE_UNDECODABLE);
	expect_refusal(b, 0, 0, t0, TP_BUNDLE_UNDECODABLE);
	expect_refusal(NULL, 0, 0, t0, TP_BUNDLE_UNDECODABLE);
	expect_refusal(b, n / 2, 0, t0, TP_BUNDLE_UNDECODABLE);
	free(b);
	free(u);
	free(w);
	free(nb);
	tp_site_free(s);
}

static void test_undecodable_signed(void)
{
	Tableau__V1__Bundle bu = TABLEAU__V1__BUNDLE__INIT;
	Tableau__V1__Site site = TABLEAU__V1__SITE__INIT;
	Tableau__V1__Rule rule = TABLEAU__V1__RULE__INIT, *rules[1] = {&rule};
	uint8_t buf[256], *sb;
	size_t n, len;

	/* correctly signed bytes that are not a Bundle */
	sb = sign_raw((const uint8_t *)"\x0a\xff", 2, sk, &n);
	expect_refusal(sb, n, 0, t0, TP_BUNDLE_UNDECODABLE);
	free(sb);
	/* a Bundle whose rule names a zone that does not exist */
	bu.version = 1;
	bu.expires_at = t0 + 10;
	bu.site = &site;
	site.n_rules = 1;
	site.rules = rules;
	rule.id = 1;
	rule.from_zone = "nowhere";
	rule.to_zone = "nowhere";
	rule.action = TABLEAU__V1__ACTION__ACTION_ALLOW;
	len = tableau__v1__bundle__pack(&bu, buf);
	sb = sign_raw(buf, len, sk, &n);
	expect_refusal(sb, n, 0, t0, TP_BUNDLE_UNDECODABLE);
	free(sb);
	/* no expiry */
	site.n_rules = 0;
	bu.expires_at = 0;
	len = tableau__v1__bundle__pack(&bu, buf);
	sb = sign_raw(buf, len, sk, &n);
	expect_refusal(sb, n, 0, t0, TP_BUNDLE_UNDECODABLE);
	free(sb);
}

static void test_uncompilable(void)
{
	struct tp_site *s = lab_site();
	struct tp_bundle_info info = info_v(9);
	uint8_t *b, fc[] = {0};
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* the engine refuses a profile it cannot enforce: function code 0
	 * is no request */
	s->rules[0].profile = TP_PROFILE_MODBUS;
	s->rules[0].modbus.function_codes = malloc(1);
	memcpy(s->rules[0].modbus.function_codes, fc, 1);
	s->rules[0].modbus.n_function_codes = 1;
	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &b, &n), 0);
	expect_refusal(b, n, 0, t0, TP_BUNDLE_UNCOMPILABLE);
	free(b);
	/* a prefix in two zones fails the structural lint */
	s->rules[0].profile = TP_PROFILE_NONE;
	s->zones[1].prefixes[0] = s->zones[0].prefixes[0];
	info = info_v(9);
	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &b, &n), 0);
	expect_refusal(b, n, 0, t0, TP_BUNDLE_UNCOMPILABLE);
	free(b);
	tp_site_free(s);
}

static void test_unknown_fields(void)
{
	struct tp_site *s = lab_site(), *site = NULL;
	struct tp_bundle_info info = info_v(3);
	Tableau__V1__SignedBundle *sb;
	uint8_t *b, *ext, *resigned;
	size_t n, elen, rn;
	/* field 99 (varint 1) and field 100 (length-delimited "hi"): from a
	 * future schema */
	static const uint8_t extra[] = {0x98, 0x06, 0x01, 0xa2, 0x06, 0x02, 'h', 'i'};

	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &b, &n), 0);
	sb = tableau__v1__signed_bundle__unpack(NULL, n, b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	elen = sb->bundle.len + sizeof(extra);
	ext = malloc(elen);
	memcpy(ext, sb->bundle.data, sb->bundle.len);
	memcpy(ext + sb->bundle.len, extra, sizeof(extra));
	resigned = sign_raw(ext, elen, sk, &rn);
	CU_ASSERT_EQUAL(check(resigned, rn, 0, t0, &site, NULL), TP_BUNDLE_OK);
	CU_ASSERT_PTR_NOT_NULL(site);
	tp_site_free(site);
	tableau__v1__signed_bundle__free_unpacked(sb, NULL);
	free(ext);
	free(resigned);
	free(b);
	tp_site_free(s);
}

/* A conduit with a field this reader does not know: refused, not widened. */
static void test_unknown_rule_field(void)
{
	Tableau__V1__Bundle bu = TABLEAU__V1__BUNDLE__INIT;
	Tableau__V1__Site site = TABLEAU__V1__SITE__INIT;
	Tableau__V1__TransitionPoint tp = TABLEAU__V1__TRANSITION_POINT__INIT, *tps[1] = {&tp};
	Tableau__V1__Zone z1 = TABLEAU__V1__ZONE__INIT, z2 = TABLEAU__V1__ZONE__INIT;
	Tableau__V1__Zone *zones[2] = {&z1, &z2};
	Tableau__V1__Prefix p1 = TABLEAU__V1__PREFIX__INIT, p2 = TABLEAU__V1__PREFIX__INIT;
	Tableau__V1__Prefix *pp1[1] = {&p1}, *pp2[1] = {&p2};
	Tableau__V1__Rule rule = TABLEAU__V1__RULE__INIT, *rules[1] = {&rule};
	/* Rule field 16 (a future profile arm), length-delimited, empty */
	/* protobuf-c keeps a length-delimited unknown field's length prefix in
	 * its data: an empty payload is the one byte 0 */
	static uint8_t empty[1] = {0};
	ProtobufCMessageUnknownField uf = {.tag = 16,
					   .wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
					   .len = 1,
					   .data = empty};
	uint8_t key[32] = {1}, a1[4] = {10, 1, 0, 0}, a2[4] = {10, 2, 0, 0}, buf[512], *sb;
	struct tp_site *s;
	size_t n, len;

	tp.name = "tp1";
	tp.public_key.data = key;
	tp.public_key.len = 32;
	z1.name = "z1";
	z1.id = 1;
	z1.transition_point = "tp1";
	z1.n_prefixes = 1;
	z1.prefixes = pp1;
	p1.addr.data = a1;
	p1.addr.len = 4;
	p1.len = 16;
	z2 = z1;
	z2.name = "z2";
	z2.id = 2;
	z2.prefixes = pp2;
	p2 = p1;
	p2.addr.data = a2;
	rule.id = 1;
	rule.from_zone = "z1";
	rule.to_zone = "z2";
	rule.action = TABLEAU__V1__ACTION__ACTION_ALLOW;
	rule.protocol = 6;
	site.n_transition_points = 1;
	site.transition_points = tps;
	site.n_zones = 2;
	site.zones = zones;
	site.n_rules = 1;
	site.rules = rules;
	bu.version = 1;
	bu.expires_at = t0 + 10;
	bu.site = &site;
	/* without the unknown field it is accepted ... */
	len = tableau__v1__bundle__pack(&bu, buf);
	sb = sign_raw(buf, len, sk, &n);
	CU_ASSERT_EQUAL(check(sb, n, 0, t0, &s, NULL), TP_BUNDLE_OK);
	tp_site_free(s);
	free(sb);
	/* ... with it, refused */
	rule.base.n_unknown_fields = 1;
	rule.base.unknown_fields = &uf;
	CU_ASSERT_TRUE_FATAL(tableau__v1__bundle__get_packed_size(&bu) <= sizeof(buf));
	len = tableau__v1__bundle__pack(&bu, buf);
	sb = sign_raw(buf, len, sk, &n);
	expect_refusal(sb, n, 0, t0, TP_BUNDLE_UNCOMPILABLE);
	free(sb);
}

/* Bundle.site (6) { zones (3) {} x N }: small on the wire, huge decoded. */
static uint8_t *zone_bomb(size_t big, size_t *len)
{
	uint8_t *bomb = malloc(big);
	size_t i = 0;

	bomb[i++] = 0x32;
	bomb[i++] = 0x80 | ((big - 6) & 0x7f);
	bomb[i++] = 0x80 | (((big - 6) >> 7) & 0x7f);
	bomb[i++] = ((big - 6) >> 14) & 0x7f;
	while (i + 2 <= big - 2) {
		bomb[i++] = 0x1a;
		bomb[i++] = 0x00;
	}
	*len = i;
	return bomb;
}

static void test_hostile_bytes(void)
{
	struct tp_site *s = lab_site(), *site;
	struct tp_bundle_info info = info_v(3);
	uint64_t x = 0x1234567;
	uint8_t *b, *m;
	size_t n;
	int ok = 0;

	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &b, &n), 0);
	m = malloc(n);
	for (int i = 0; i < 3000; i++) {
		enum tp_bundle_status st;

		memcpy(m, b, n);
		for (int k = 0; k < 1 + i % 4; k++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			m[(x >> 33) % n] ^= (uint8_t)(1u << ((x >> 20) % 8));
		}
		st = check(m, n, 0, t0, &site, NULL);
		ok += st == TP_BUNDLE_OK;
		if (st == TP_BUNDLE_OK)
			tp_site_free(site);
	}
	/* a flipped bit can only survive where the signature does not look */
	CU_ASSERT_TRUE(ok < 100);
	/* a repeated-field bomb: many empty zones in a small input */
	{
		size_t bn, sn;
		uint8_t *bomb = zone_bomb(1u << 20, &bn), *sb = sign_raw(bomb, bn, sk, &sn);

		expect_refusal(sb, sn, 0, t0, TP_BUNDLE_UNDECODABLE);
		free(sb);
		free(bomb);
	}
	free(m);
	free(b);
	tp_site_free(s);
}

/*
 * Every decode of a Bundle goes through here: the test binary is linked
 * with --wrap=tableau__v1__bundle__unpack (CMakeLists.txt), so the count is
 * of the library's own calls, not a hook in it.
 */
Tableau__V1__Bundle *__real_tableau__v1__bundle__unpack(ProtobufCAllocator *a, size_t len,
							const uint8_t *data);
Tableau__V1__Bundle *__wrap_tableau__v1__bundle__unpack(ProtobufCAllocator *a, size_t len,
							const uint8_t *data);
static unsigned bundle_decodes;

Tableau__V1__Bundle *__wrap_tableau__v1__bundle__unpack(ProtobufCAllocator *a, size_t len,
							const uint8_t *data)
{
	bundle_decodes++;
	return __real_tableau__v1__bundle__unpack(a, len, data);
}

/* sign_raw() (or a forged signature when key is NULL), then the unsigned
 * key id hint (SignedBundle field 3) appended the way an encoder writes it
 * when hint is not NULL. */
static uint8_t *sign_hinted(const uint8_t *bundle, size_t blen, const uint8_t *key,
			    const uint8_t hint[8], size_t *out_len)
{
	uint8_t *b = sign_raw(bundle, blen, key ? key : sk, out_len), *out;

	if (!key) /* the signature is the last field sign_raw writes */
		b[*out_len - 1] ^= 0x80;
	if (!hint)
		return b;
	out = realloc(b, *out_len + 10);
	out[(*out_len)++] = 0x1a;
	out[(*out_len)++] = 8;
	memcpy(out + *out_len, hint, 8);
	*out_len += 8;
	return out;
}

/* Defect 6 of issue 11: the signature is checked over the exact bytes
 * before any of them is decoded; the key id is a hint for the wording
 * only, never a decision. */
static void test_verify_before_decode(void)
{
	struct tp_site *s = lab_site(), *site = NULL;
	struct tp_bundle_info info = info_v(9), got;
	uint8_t my_id[8], other_id[8], *bomb, *sb, *good, *payload;
	size_t bomb_len, sn, gn, plen;
	char err[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	tp_bundle_key_id(pk, my_id);
	tp_bundle_key_id(other_pk, other_id);
	bomb = zone_bomb(1u << 20, &bomb_len);

	/* a forged signature over a decoder bomb, with each kind of hint:
	 * refused by the signature, the bomb never decoded */
	bundle_decodes = 0;
	sb = sign_hinted(bomb, bomb_len, NULL, NULL, &sn);
	expect_refusal(sb, sn, 0, t0, TP_BUNDLE_BAD_SIGNATURE);
	free(sb);
	sb = sign_hinted(bomb, bomb_len, NULL, my_id, &sn);
	expect_refusal(sb, sn, 0, t0, TP_BUNDLE_BAD_SIGNATURE);
	free(sb);
	sb = sign_hinted(bomb, bomb_len, NULL, other_id, &sn);
	expect_refusal(sb, sn, 0, t0, TP_BUNDLE_WRONG_KEY);
	free(sb);
	/* really signed, by another key, naming it: refused, not decoded */
	sb = sign_hinted(bomb, bomb_len, other_sk, other_id, &sn);
	expect_refusal(sb, sn, 0, t0, TP_BUNDLE_WRONG_KEY);
	CU_ASSERT_EQUAL(tp_bundle_open(sb, sn, pk, &got, &site, err, sizeof(err)),
			TP_BUNDLE_WRONG_KEY);
	CU_ASSERT_PTR_NULL(site);
	free(sb);
	/* ... or lying that it is ours: still the other key's, a bad signature */
	sb = sign_hinted(bomb, bomb_len, other_sk, my_id, &sn);
	expect_refusal(sb, sn, 0, t0, TP_BUNDLE_BAD_SIGNATURE);
	free(sb);
	CU_ASSERT_EQUAL(bundle_decodes, 0);

	/* The real bundle's bytes, re-wrapped: the signature decides, the
	 * hint does not. Signed by us but naming another key: accepted. */
	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &good, &gn), 0);
	{
		Tableau__V1__SignedBundle *w = tableau__v1__signed_bundle__unpack(NULL, gn, good);

		CU_ASSERT_PTR_NOT_NULL_FATAL(w);
		plen = w->bundle.len;
		payload = malloc(plen);
		memcpy(payload, w->bundle.data, plen);
		tableau__v1__signed_bundle__free_unpacked(w, NULL);
	}
	bundle_decodes = 0;
	sb = sign_hinted(payload, plen, sk, other_id, &sn);
	CU_ASSERT_EQUAL(check(sb, sn, 0, t0, &site, NULL), TP_BUNDLE_OK);
	tp_site_free(site);
	site = NULL;
	free(sb);
	/* no hint at all (an older controller's bundle): accepted */
	sb = sign_hinted(payload, plen, sk, NULL, &sn);
	CU_ASSERT_EQUAL(check(sb, sn, 0, t0, &site, NULL), TP_BUNDLE_OK);
	tp_site_free(site);
	site = NULL;
	free(sb);
	/* what tp_bundle_build writes carries our id as the hint */
	CU_ASSERT_EQUAL(check(good, gn, 0, t0, &site, NULL), TP_BUNDLE_OK);
	tp_site_free(site);
	CU_ASSERT_EQUAL(bundle_decodes, 3);
	/* tampered content under our own hint: a bad signature, not decoded */
	bundle_decodes = 0;
	payload[plen / 2] ^= 0x01;
	sb = sign_hinted(payload, plen, other_sk, my_id, &sn);
	expect_refusal(sb, sn, 0, t0, TP_BUNDLE_BAD_SIGNATURE);
	free(sb);
	CU_ASSERT_EQUAL(bundle_decodes, 0);
	free(payload);
	free(good);
	free(bomb);
	tp_site_free(s);
}

/* A site of many zones on several TPs, rules between random zones. */
static struct tp_site *zoo_site(size_t n_tps, size_t n_zones, size_t n_rules)
{
	struct tp_site *s = calloc(1, sizeof(*s));
	uint64_t x = 0x5eed;

	snprintf(s->name, sizeof(s->name), "zoo");
	s->tps = calloc(n_tps, sizeof(*s->tps));
	s->zones = calloc(n_zones, sizeof(*s->zones));
	s->rules = calloc(n_rules, sizeof(*s->rules));
	s->n_tps = n_tps;
	s->n_zones = n_zones;
	s->n_rules = n_rules;
	for (size_t i = 0; i < n_tps; i++) {
		snprintf(s->tps[i].name, sizeof(s->tps[i].name), "tp-%zu", i);
		s->tps[i].pubkey[0] = (uint8_t)i;
		s->tps[i].pubkey[1] = (uint8_t)(i >> 8);
	}
	tl_gen_zones(s->zones, n_zones, n_tps);
	for (size_t i = 0; i < n_rules; i++) {
		struct tp_rule *r = &s->rules[i];

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		r->id = (uint32_t)i + 1;
		r->from_zone = (uint32_t)((x >> 33) % n_zones);
		r->to_zone = (uint32_t)((r->from_zone + 1 + (x >> 13) % (n_zones - 1)) % n_zones);
		r->action = TP_ACTION_ALLOW;
		r->proto = 6;
		r->stateful = true;
	}
	return s;
}

/* Names resolve through an index built once per conversion (convert.c):
 * every rule, zone and TP list must come back to the same items, and a
 * zone name given twice is still refused. */
static void test_many_zones(void)
{
	struct tp_site *s = zoo_site(40, 3000, 6000), *back = NULL;
	struct tp_bundle_info info = info_v(4), got;
	uint8_t *b;
	size_t n;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &b, &n), 0);
	CU_ASSERT_EQUAL_FATAL(tp_bundle_open(b, n, pk, &got, &back, err, sizeof(err)),
			      TP_BUNDLE_OK);
	CU_ASSERT_EQUAL_FATAL(back->n_rules, s->n_rules);
	CU_ASSERT_EQUAL_FATAL(back->n_zones, s->n_zones);
	for (size_t i = 0; i < s->n_zones; i++)
		CU_ASSERT_EQUAL(back->zones[i].tp, s->zones[i].tp);
	for (size_t i = 0; i < s->n_rules; i++) {
		CU_ASSERT_EQUAL(back->rules[i].from_zone, s->rules[i].from_zone);
		CU_ASSERT_EQUAL(back->rules[i].to_zone, s->rules[i].to_zone);
	}
	tp_site_free(back);
	back = NULL;
	free(b);
	/* the last zone takes the name of one in the middle */
	snprintf(s->zones[2999].name, sizeof(s->zones[2999].name), "zone-1500");
	info = info_v(5);
	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &b, &n), 0);
	CU_ASSERT_EQUAL(tp_bundle_open(b, n, pk, &got, &back, err, sizeof(err)),
			TP_BUNDLE_UNDECODABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "zone 'zone-1500' defined twice"));
	CU_ASSERT_PTR_NULL(back);
	free(b);
	tp_site_free(s);
}

/*
 * Counted through --wrap (CMakeLists.txt): malloc() and strcmp() as the
 * library's own objects call them (the decoder's budget allocator, the
 * site conversion); libprotobuf-c and libc inside are not counted.
 */
void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
int __real_strcmp(const char *a, const char *b);
int __wrap_strcmp(const char *a, const char *b);
static unsigned long mallocs, strcmps;

void *__wrap_malloc(size_t size)
{
	mallocs++;
	return __real_malloc(size);
}

int __wrap_strcmp(const char *a, const char *b)
{
	strcmps++;
	return __real_strcmp(a, b);
}

/*
 * Defect 10 of issue 11, without a clock: opening a bundle costs in
 * proportion to it. A 10k-rule bundle on 1000 zones used to take one
 * malloc per decoded message, array and string (then as many frees), and
 * a linear search of the zones for each zone name a rule gives (10M
 * string comparisons); now the decoder allocates in chunks and names
 * resolve through an index, with about one comparison each.
 */
static void test_open_is_linear(void)
{
	struct tp_site *s = zoo_site(100, 1000, 10000), *back = NULL;
	struct tp_bundle_info info = info_v(6), got;
	unsigned long m, c;
	uint8_t *b;
	size_t n;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &b, &n), 0);
	mallocs = strcmps = 0;
	CU_ASSERT_EQUAL(tp_bundle_open(b, n, pk, &got, &back, err, sizeof(err)), TP_BUNDLE_OK);
	m = mallocs;
	c = strcmps;
	printf("\n  open of %zu bytes: %lu mallocs, %lu strcmps\n", n, m, c);
	CU_ASSERT(m < 1000);
	CU_ASSERT(c < 4 * (s->n_rules * 2 + s->n_zones + s->n_tps));
	tp_site_free(back);
	free(b);
	tp_site_free(s);
}

static void test_status_names(void)
{
	CU_ASSERT_STRING_EQUAL(tp_bundle_status_name(TP_BUNDLE_ROLLBACK),
			       "rollback: version not newer than the running one");
	CU_ASSERT_STRING_EQUAL(tp_bundle_status_name(TP_BUNDLE_UNSIGNED), "unsigned");
	CU_ASSERT_STRING_EQUAL(tp_bundle_status_name((enum tp_bundle_status)99), "?");
}

static void test_keys(void)
{
	/* RFC 7748 §6.1, Alice */
	static const char alice_priv[] = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
	static const char alice_pub[] = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
	char b64[TP_KEY_B64_LEN + 1], path[] = "/tmp/tp-test-keyXXXXXX";
	uint8_t priv[32], pub[32], back[32], seed[32], cpk[32], csk[64];
	struct stat st;
	int fd;

	CU_ASSERT_EQUAL(tp_key_from_base64(alice_priv, priv), 0);
	CU_ASSERT_EQUAL(tp_key_wg_public(priv, pub), 0);
	tp_key_to_base64(pub, b64);
	CU_ASSERT_STRING_EQUAL(b64, alice_pub);
	CU_ASSERT_EQUAL(
		tp_key_from_base64("  hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n", back), 0);
	CU_ASSERT_EQUAL(memcmp(back, pub, 32), 0);
	CU_ASSERT_EQUAL(tp_key_from_base64("c2hvcnQ=", back), -EINVAL);
	CU_ASSERT_EQUAL(tp_key_from_base64("hSDwCYkwp1R0i3vctD73Wg2/Og0mOBr066SpjqqbTm!=", back),
			-EINVAL);
	/* generated WireGuard keys are clamped */
	CU_ASSERT_EQUAL(tp_key_wg_generate(priv, pub), 0);
	CU_ASSERT_EQUAL(priv[0] & 7, 0);
	CU_ASSERT_EQUAL(priv[31] & 0xc0, 0x40);
	/* controller key files: 0600, never overwritten, refused when open */
	fd = mkstemp(path);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	close(fd);
	unlink(path);
	tp_key_controller_generate(seed, cpk);
	CU_ASSERT_EQUAL(tp_key_write_file(path, seed, 0600), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(tp_key_write_file(path, seed, 0600), -EEXIST);
	CU_ASSERT_EQUAL(tp_key_read_file(path, back, 1), 0);
	CU_ASSERT_EQUAL(memcmp(back, seed, 32), 0);
	tp_key_controller_expand(back, csk, pub);
	CU_ASSERT_EQUAL(memcmp(pub, cpk, 32), 0);
	chmod(path, 0644);
	CU_ASSERT_EQUAL(tp_key_read_file(path, back, 1), -EPERM);
	CU_ASSERT_EQUAL(tp_key_read_file(path, back, 0), 0);
	unlink(path);
	CU_ASSERT_EQUAL(tp_key_read_file(path, back, 0), -ENOENT);
}

/*
 * A key path that is a FIFO with no writer (a stale named pipe, a path
 * mistyped onto one) is refused at once as not a regular file; tpd and
 * tpolicy must not block forever in open(). The load runs in a child so
 * that a blocking open cannot hang the suite: the alarm only ends a child
 * that is already stuck.
 */
static void test_key_fifo(void)
{
	char path[] = "/tmp/tp-key-fifo-XXXXXX";
	int fd, status = 0;
	pid_t pid;

	fd = mkstemp(path);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	close(fd);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
	pid = fork();
	CU_ASSERT_TRUE_FATAL(pid >= 0);
	if (pid == 0) {
		uint8_t k[32];
		char err[256];

		alarm(10);
		_exit(tp_key_load(path, k, true, err, sizeof(err)) == -EINVAL &&
				      strstr(err, "not a regular file")
			      ? 0
			      : 1);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(path);
}

int main(int argc, char **argv)
{
	static const struct tl_test tests[] = {
		{"round trip, byte for byte", test_round_trip},
		{"one refusal per reason", test_refusals},
		{"signed but undecodable", test_undecodable_signed},
		{"uncompilable", test_uncompilable},
		{"unknown fields tolerated", test_unknown_fields},
		{"unknown conduit field refused", test_unknown_rule_field},
		{"hostile bytes", test_hostile_bytes},
		{"signature verified before anything is decoded", test_verify_before_decode},
		{"many zones: names resolve to the same items", test_many_zones},
		{"opening a bundle is linear in it", test_open_is_linear},
		{"status names", test_status_names},
		{"keys", test_keys},
		{"key file: a FIFO is refused, not waited on", test_key_fifo},
	};
	int failed;
	uint8_t seed[32];

	examples_dir = argc > 1 ? argv[1] : "deploy/examples";
	if (sodium_init() < 0)
		return 2;
	/* fixed keys: the test is reproducible */
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(seed, 0x43, sizeof(seed));
	crypto_sign_seed_keypair(other_pk, other_sk, seed);
	failed = tl_cunit_run("bundle", tests, TL_N_TESTS(tests));
	return failed ? 1 : 0;
}
