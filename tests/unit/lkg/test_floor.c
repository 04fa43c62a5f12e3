// SPDX-License-Identifier: MIT
/*
 * The rollback floor and the policy clock of the apply path
 * (tp/ctrl/apply.h, tp/ctrl/lkg.h, tp/ctrl/failmode.h), through the same object
 * tpd and tp-ctrl-agent use, with the state directory on disk and the clock
 * injected (every time below is a parameter, nothing reads the wall):
 *
 *  - the floor survives the loss of the LKG: deleted, corrupt, expired
 *    under fail-closed, or replaced by an older signed bundle;
 *  - the LKG survives the loss of the floor: missing, corrupt, torn;
 *  - the bundle that set the floor may come again (the controller re-sends
 *    it after the LKG was lost), nothing older;
 *  - version 2^64-1 is refused;
 *  - a bundle issued beyond the allowed skew is refused; validity is judged
 *    on max(clock, times seen, highest issued_at), so a clock stepped back
 *    revives neither an expired bundle nor an expired conduit;
 *  - not_before 0 means "from issued_at".
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/ctrl/apply.h"
#include "tp/policy/engine.h"
#include "tp/ctrl/lkg.h"
#include "tp/policy/yaml.h"

#include "../../lib/tl_site.h"
#include "../../lib/tl_cunit.h"

static const char *examples_dir;
static char dir[64];
static uint8_t pk[32], sk[64];
static const int64_t t0 = 1795000000;
static struct tp_site *site;
static char last_log[512];

static void log_cb(void *arg, const char *msg)
{
	(void)arg;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

static uint8_t *bundle_of(const struct tp_site *s, uint64_t v, int64_t issued, int64_t expires,
			  size_t *len)
{
	struct tp_bundle_info info = {.version = v, .issued_at = issued, .expires_at = expires};
	uint8_t *out = NULL;

	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(s, &info, sk, &out, len), 0);
	return out;
}

static uint8_t *bundle(uint64_t v, int64_t issued, int64_t expires, size_t *len)
{
	return bundle_of(site, v, issued, expires, len);
}

/* tpd's start: a fresh object on the state directory, then the LKG. */
static enum tp_bundle_status restart(struct tp_ctrl_apply *a, int64_t now, bool *found)
{
	tp_ctrl_apply_fini(a);
	tp_ctrl_apply_init(a, pk, dir, TP_FAILMODE_EXPIRY_CLOSED, false, log_cb, NULL, now);
	return tp_ctrl_apply_boot(a, now, found);
}

static int apply(struct tp_ctrl_apply *a, uint64_t v, int64_t issued, int64_t expires, int64_t now,
		 struct tp_ctrl_apply_result *res)
{
	size_t n;
	uint8_t *b = bundle(v, issued, expires, &n);
	int rc;

	memset(res, 0, sizeof(*res));
	rc = tp_ctrl_apply_bundle(a, b, n, now, "file", res);
	free(b);
	return rc;
}

static void file_put(const char *name, const char *bytes, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(bytes, 1, len, f), len);
	fclose(f);
}

static void file_rm(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static size_t file_get(const char *name, char *buf, size_t cap)
{
	char path[128];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void clean(void)
{
	file_rm(TP_LKG_FILE);
	file_rm(TP_LKG_FLOOR_FILE);
}

/* A first start at t0 on an empty state directory. */
static void fresh(struct tp_ctrl_apply *a)
{
	clean();
	tp_ctrl_apply_init(a, pk, dir, TP_FAILMODE_EXPIRY_CLOSED, false, log_cb, NULL, t0);
}

/* A copy of the lab site whose first rule the test edits; NULL (after a
 * failed fatal assertion) when there is none. */
static struct tp_site *lab_copy(void)
{
	struct tp_site *s = tp_site_clone(site);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_FATAL(s && s->n_rules > 0);
	if (s && !s->n_rules) {
		tp_site_free(s);
		return NULL;
	}
	return s;
}

/* v5 runs and is persisted; then the LKG goes away in some way. */
static void v5_then(struct tp_ctrl_apply *a, void (*damage)(void))
{
	struct tp_ctrl_apply_result res;

	fresh(a);
	CU_ASSERT_EQUAL_FATAL(apply(a, 5, t0, t0 + 3600, t0, &res), 0);
	if (damage)
		damage();
}

static void lkg_delete(void)
{
	file_rm(TP_LKG_FILE);
}

static void lkg_corrupt(void)
{
	file_put(TP_LKG_FILE, "\x0a\x05garbage", 9);
}

static void expect_rollback(struct tp_ctrl_apply *a, uint64_t v, int64_t now)
{
	struct tp_ctrl_apply_result res;

	CU_ASSERT_NOT_EQUAL(apply(a, v, t0 - 100, t0 + 3600, now, &res), 0);
	CU_ASSERT_EQUAL(res.reason, TP_BUNDLE_ROLLBACK);
	if (res.reason != TP_BUNDLE_ROLLBACK)
		fprintf(stderr, "\n  v%llu: %s\n", (unsigned long long)v, res.text);
}

static void test_lkg_deleted(void)
{
	struct tp_ctrl_apply a;
	struct tp_ctrl_apply_result res;
	bool found = true;
	size_t n;
	uint8_t *v5;

	v5_then(&a, lkg_delete);
	CU_ASSERT_EQUAL(restart(&a, t0 + 10, &found), TP_BUNDLE_UNDECODABLE);
	CU_ASSERT_FALSE(found);
	CU_ASSERT_FALSE(a.has_policy);
	expect_rollback(&a, 3, t0 + 10);
	expect_rollback(&a, 4, t0 + 10);
	CU_ASSERT_FALSE(a.has_policy);
	/* the very bundle that set the floor comes again: it is no rollback */
	v5 = bundle(5, t0, t0 + 3600, &n);
	CU_ASSERT_EQUAL(tp_ctrl_apply_bundle(&a, v5, n, t0 + 11, "controller", &res), 0);
	CU_ASSERT_EQUAL(a.info.version, 5);
	/* ... but not twice while it runs */
	CU_ASSERT_NOT_EQUAL(tp_ctrl_apply_bundle(&a, v5, n, t0 + 12, "controller", &res), 0);
	CU_ASSERT_EQUAL(res.reason, TP_BUNDLE_ROLLBACK);
	free(v5);
	tp_ctrl_apply_fini(&a);
	/* another bundle of version 5 (not the one the floor names) is refused */
	v5_then(&a, lkg_delete);
	CU_ASSERT_EQUAL(restart(&a, t0 + 10, &found), TP_BUNDLE_UNDECODABLE);
	CU_ASSERT_NOT_EQUAL(apply(&a, 5, t0 + 1, t0 + 3600, t0 + 10, &res), 0);
	CU_ASSERT_EQUAL(res.reason, TP_BUNDLE_ROLLBACK);
	CU_ASSERT_EQUAL(apply(&a, 6, t0 + 1, t0 + 3600, t0 + 10, &res), 0);
	tp_ctrl_apply_fini(&a);
}

static void test_lkg_corrupt(void)
{
	struct tp_ctrl_apply a;
	bool found = false;

	v5_then(&a, lkg_corrupt);
	CU_ASSERT_EQUAL(restart(&a, t0 + 10, &found), TP_BUNDLE_UNDECODABLE);
	CU_ASSERT_TRUE(found);
	expect_rollback(&a, 3, t0 + 10);
	tp_ctrl_apply_fini(&a);
}

static void test_lkg_expired(void)
{
	struct tp_ctrl_apply a;
	struct tp_ctrl_apply_result res;
	bool found = false;

	/* fail-closed refuses the expired LKG; the floor still holds */
	v5_then(&a, NULL);
	CU_ASSERT_EQUAL(restart(&a, t0 + 4000, &found), TP_BUNDLE_EXPIRED);
	CU_ASSERT_NOT_EQUAL(apply(&a, 3, t0 + 3990, t0 + 9000, t0 + 4000, &res), 0);
	CU_ASSERT_EQUAL(res.reason, TP_BUNDLE_ROLLBACK);
	tp_ctrl_apply_fini(&a);
}

static void test_lkg_older(void)
{
	struct tp_ctrl_apply a;
	bool found = false;
	size_t n;
	uint8_t *v3 = bundle(3, t0 - 100, t0 + 3600, &n);

	/* someone puts an older, validly signed bundle in place of the LKG */
	v5_then(&a, NULL);
	file_put(TP_LKG_FILE, (const char *)v3, n);
	CU_ASSERT_EQUAL(restart(&a, t0 + 10, &found), TP_BUNDLE_ROLLBACK);
	CU_ASSERT_FALSE(a.has_policy);
	free(v3);
	tp_ctrl_apply_fini(&a);
}

static void floor_missing(void)
{
	file_rm(TP_LKG_FLOOR_FILE);
}

static void floor_garbage(void)
{
	file_put(TP_LKG_FLOOR_FILE, "tableau-floor/1 oops\n", 21);
}

/* A torn write: the first half of the real line. */
static void floor_torn(void)
{
	char line[256];
	size_t n = file_get(TP_LKG_FLOOR_FILE, line, sizeof(line));

	CU_ASSERT_FATAL(n > 20);
	file_put(TP_LKG_FLOOR_FILE, line, n / 2);
}

/* A bit flipped in the version (5 -> 1): the checksum catches it. */
static void floor_bitflip(void)
{
	char line[256];
	size_t n = file_get(TP_LKG_FLOOR_FILE, line, sizeof(line) - 1);
	char *v;

	line[n] = '\0';
	v = strstr(line, " 5 ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	if (!v)
		return;
	v[1] = '1';
	file_put(TP_LKG_FLOOR_FILE, line, n);
}

/* With a good LKG, a lost or broken floor costs nothing: the LKG's version
 * is the floor, the file is rewritten, the error names the file. */
static void floor_damaged(void (*damage)(void), int want_status)
{
	struct tp_ctrl_apply a;
	struct tp_lkg_floor f;
	char path[128];
	bool found = false;

	v5_then(&a, damage);
	last_log[0] = 0;
	tp_ctrl_apply_fini(&a);
	tp_ctrl_apply_init(&a, pk, dir, TP_FAILMODE_EXPIRY_CLOSED, false, log_cb, NULL, t0 + 10);
	CU_ASSERT_EQUAL(a.floor_status, want_status);
	snprintf(path, sizeof(path), "%s/%s", dir, TP_LKG_FLOOR_FILE);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.floor_note, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(last_log, path));
	CU_ASSERT_EQUAL(tp_ctrl_apply_boot(&a, t0 + 10, &found), TP_BUNDLE_OK);
	CU_ASSERT_EQUAL(a.info.version, 5);
	CU_ASSERT_EQUAL(a.floor.version, 5);
	expect_rollback(&a, 4, t0 + 10);
	/* repaired on disk: now the LKG may go too */
	CU_ASSERT_EQUAL(tp_lkg_floor_load(dir, &f), 0);
	CU_ASSERT_EQUAL(f.version, 5);
	lkg_delete();
	CU_ASSERT_EQUAL(restart(&a, t0 + 20, &found), TP_BUNDLE_UNDECODABLE);
	expect_rollback(&a, 4, t0 + 20);
	tp_ctrl_apply_fini(&a);
}

static void test_floor_missing(void)
{
	floor_damaged(floor_missing, -ENOENT);
}

static void test_floor_corrupt(void)
{
	floor_damaged(floor_garbage, -EBADMSG);
}

static void test_floor_torn(void)
{
	floor_damaged(floor_torn, -EBADMSG);
	floor_damaged(floor_bitflip, -EBADMSG);
}

/* The floor file is written (and fsynced) before the LKG's rename: if the
 * LKG cannot be written, the floor is already there. */
static void test_floor_before_lkg(void)
{
	struct tp_ctrl_apply a;
	struct tp_ctrl_apply_result res;
	struct tp_lkg_floor f;
	char lkgdir[128];

	fresh(&a);
	/* lkg.tpb.tmp cannot be created: a directory is in its way */
	snprintf(lkgdir, sizeof(lkgdir), "%s/%s.tmp", dir, TP_LKG_FILE);
	CU_ASSERT_EQUAL_FATAL(mkdir(lkgdir, 0700), 0);
	CU_ASSERT_NOT_EQUAL(apply(&a, 7, t0, t0 + 3600, t0, &res), 0);
	CU_ASSERT_EQUAL(res.reason, 20 /* NACK_PERSIST_FAILED */);
	CU_ASSERT_EQUAL(tp_lkg_floor_load(dir, &f), 0);
	CU_ASSERT_EQUAL(f.version, 7);
	rmdir(lkgdir);
	/* the same bundle again goes through (the controller retries it) */
	CU_ASSERT_EQUAL(apply(&a, 7, t0, t0 + 3600, t0 + 1, &res), 0);
	tp_ctrl_apply_fini(&a);
}

/*
 * The LKG write fails (disk full), or tpd crashes between the floor's
 * rename and the LKG's: floor v7, LKG v6, and v6 is what ran. A restart
 * while the controller is gone must boot on v6 (island on the LKG), not
 * refuse it as a rollback and carry nothing. Once v7 is the LKG, v6 put
 * back on the disk is a rollback again.
 */
static void test_boot_after_persist_fail(void)
{
	struct tp_ctrl_apply a;
	struct tp_ctrl_apply_result res;
	char lkgdir[128];
	uint8_t *b6;
	size_t n6;
	bool found;

	clean();
	tp_ctrl_apply_init(&a, pk, dir, TP_FAILMODE_EXPIRY_CLOSED, false, log_cb, NULL, t0);
	CU_ASSERT_EQUAL(apply(&a, 6, t0, t0 + 3600, t0, &res), 0);
	snprintf(lkgdir, sizeof(lkgdir), "%s/%s.tmp", dir, TP_LKG_FILE);
	CU_ASSERT_EQUAL_FATAL(mkdir(lkgdir, 0700), 0);
	CU_ASSERT_NOT_EQUAL(apply(&a, 7, t0, t0 + 3600, t0, &res), 0);
	CU_ASSERT_EQUAL(res.reason, 20 /* NACK_PERSIST_FAILED */);
	rmdir(lkgdir);
	CU_ASSERT_EQUAL(restart(&a, t0 + 10, &found), TP_BUNDLE_OK);
	CU_ASSERT_TRUE(found);
	CU_ASSERT_EQUAL(a.info.version, 6);
	CU_ASSERT_TRUE(tp_failmode_enforcing(&a.fm));
	CU_ASSERT_EQUAL(a.floor.version, 7);
	/* the controller comes back with v7: taken */
	CU_ASSERT_EQUAL(apply(&a, 7, t0, t0 + 3600, t0 + 20, &res), 0);
	CU_ASSERT_EQUAL(a.info.version, 7);
	/* v6 put back as the LKG: refused, as any older bundle */
	b6 = bundle(6, t0, t0 + 3600, &n6);
	file_put(TP_LKG_FILE, (const char *)b6, n6);
	free(b6);
	CU_ASSERT_EQUAL(restart(&a, t0 + 30, &found), TP_BUNDLE_ROLLBACK);
	CU_ASSERT_FALSE(a.has_policy);
	tp_ctrl_apply_fini(&a);
}

static void test_parse(void)
{
	struct tp_lkg_floor f = {.version = 18446744073709551614ull, .issued_at = -5}, g;
	char line[256];
	size_t n;

	memset(f.hash, 0xab, sizeof(f.hash));
	clean();
	CU_ASSERT_EQUAL(tp_lkg_floor_save(dir, &f), 0);
	CU_ASSERT_EQUAL(tp_lkg_floor_load(dir, &g), 0);
	CU_ASSERT_EQUAL(memcmp(&f, &g, sizeof(f)), 0);
	n = file_get(TP_LKG_FLOOR_FILE, line, sizeof(line));
	/* every strict prefix, and anything appended, is refused */
	for (size_t k = 0; k < n; k++)
		CU_ASSERT_EQUAL(tp_lkg_floor_parse(line, k, &g), -EBADMSG);
	line[n] = ' ';
	CU_ASSERT_EQUAL(tp_lkg_floor_parse(line, n + 1, &g), -EBADMSG);
	CU_ASSERT_EQUAL(g.version, 0);
	clean();
	CU_ASSERT_EQUAL(tp_lkg_floor_load(dir, &g), -ENOENT);
}

static void test_version_max(void)
{
	struct tp_ctrl_apply a;
	struct tp_ctrl_apply_result res;

	fresh(&a);
	CU_ASSERT_EQUAL(apply(&a, 5, t0, t0 + 3600, t0, &res), 0);
	CU_ASSERT_NOT_EQUAL(apply(&a, UINT64_MAX, t0, t0 + 3600, t0, &res), 0);
	CU_ASSERT_EQUAL(res.reason, TP_BUNDLE_UNDECODABLE);
	CU_ASSERT_EQUAL(a.info.version, 5);
	CU_ASSERT_EQUAL(a.floor.version, 5);
	CU_ASSERT_EQUAL(apply(&a, UINT64_MAX - 1, t0, t0 + 3600, t0, &res), 0);
	tp_ctrl_apply_fini(&a);
}

/* ---- the clock ---- */

static void test_future_skew(void)
{
	struct tp_ctrl_apply a;
	struct tp_ctrl_apply_result res;

	fresh(&a);
	a.max_skew_s = 300;
	CU_ASSERT_NOT_EQUAL(apply(&a, 5, t0 + 301, t0 + 3600, t0, &res), 0);
	CU_ASSERT_EQUAL(res.reason, TP_BUNDLE_NOT_YET_VALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.text, "ahead of this TP's clock"));
	CU_ASSERT_FALSE(a.has_policy);
	CU_ASSERT_EQUAL(a.floor.version, 0);
	/* within the skew: it runs as of its issue time */
	CU_ASSERT_EQUAL(apply(&a, 5, t0 + 300, t0 + 3600, t0, &res), 0);
	CU_ASSERT_EQUAL(tp_failmode_clock(&a.fm, t0), t0 + 300);
	tp_ctrl_apply_fini(&a);
}

/* An expired bundle stays expired when the clock steps back, in the
 * running process and across a restart. */
static void test_clock_back_bundle(void)
{
	struct tp_ctrl_apply a;
	struct tp_ctrl_apply_result res;
	bool found;

	fresh(&a);
	CU_ASSERT_EQUAL(apply(&a, 5, t0, t0 + 100, t0, &res), 0);
	tp_failmode_tick(&a.fm, t0 + 200);
	CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_FAIL_CLOSED);
	tp_failmode_tick(&a.fm, t0 + 50); /* RTC reset, forged NTP */
	CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_FAIL_CLOSED);
	CU_ASSERT_FALSE(tp_failmode_enforcing(&a.fm));

	/* v6 issued at t0+1000 ran; the LKG is lost, the clock is back at
	 * t0+50: a bundle that expired at t0+100 is refused as expired */
	CU_ASSERT_EQUAL(apply(&a, 6, t0 + 1000, t0 + 2000, t0 + 1000, &res), 0);
	lkg_delete();
	CU_ASSERT_EQUAL(restart(&a, t0 + 50, &found), TP_BUNDLE_UNDECODABLE);
	CU_ASSERT_EQUAL(tp_failmode_clock(&a.fm, t0 + 50), t0 + 1000);
	CU_ASSERT_NOT_EQUAL(apply(&a, 7, t0, t0 + 100, t0 + 50, &res), 0);
	CU_ASSERT_EQUAL(res.reason, TP_BUNDLE_EXPIRED);
	/* and the LKG itself, once expired by the floor's time, stays so */
	CU_ASSERT_NOT_EQUAL(apply(&a, 8, t0 + 1500, t0 + 1600, t0 + 50, &res), 0);
	CU_ASSERT_EQUAL(res.reason, TP_BUNDLE_NOT_YET_VALID); /* 500 s ahead of t0+1000 */
	CU_ASSERT_EQUAL(apply(&a, 9, t0 + 1700, t0 + 1800, t0 + 1700, &res), 0);
	CU_ASSERT_EQUAL(restart(&a, t0 + 60, &found), TP_BUNDLE_OK);
	tp_failmode_tick(&a.fm, t0 + 1900);
	CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_FAIL_CLOSED);
	tp_failmode_tick(&a.fm, t0 + 1750);
	CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_FAIL_CLOSED);
	tp_ctrl_apply_fini(&a);
}

/*
 * A clock that glitches forward for a moment (RTC, a bad NTP answer) must
 * not brick the TP: the policy clock keeps the running bundle expired
 * (the ratchet), but the controller's next bundle, valid on the wall
 * clock and above the floor's issued_at, is accepted and enforced, and
 * re-bases the policy clock. Without this, every later bundle is refused
 * as expired until tpd restarts.
 */
static void test_clock_glitch_forward(void)
{
	struct tp_ctrl_apply a;
	struct tp_ctrl_apply_result res;
	const int64_t year = 365 * 86400;

	clean();
	tp_ctrl_apply_init(&a, pk, dir, TP_FAILMODE_EXPIRY_CLOSED, false, log_cb, NULL, t0);
	CU_ASSERT_EQUAL(apply(&a, 5, t0, t0 + 86400, t0, &res), 0);
	tp_failmode_tick(&a.fm, t0 + 10 * year); /* the glitch */
	CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_FAIL_CLOSED);
	tp_failmode_tick(&a.fm, t0 + 60);		      /* the clock is right again */
	CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_FAIL_CLOSED); /* no revival */
	/* the controller re-signs: taken, and enforced */
	CU_ASSERT_EQUAL(apply(&a, 6, t0 + 60, t0 + 60 + 86400, t0 + 60, &res), 0);
	CU_ASSERT_EQUAL(a.info.version, 6);
	CU_ASSERT_TRUE(tp_failmode_enforcing(&a.fm));
	CU_ASSERT_EQUAL(tp_failmode_clock(&a.fm, t0 + 70), t0 + 70);
	/* the ratchet still holds after the re-base: v6 expires for good */
	tp_failmode_tick(&a.fm, t0 + 60 + 86400);
	CU_ASSERT_FALSE(tp_failmode_enforcing(&a.fm));
	tp_failmode_tick(&a.fm, t0 + 80);
	CU_ASSERT_FALSE(tp_failmode_enforcing(&a.fm));
	/* an older-issued bundle still cannot pass the floor's issued_at */
	CU_ASSERT_NOT_EQUAL(apply(&a, 7, t0 + 30, t0 + 40, t0 + 80, &res), 0);
	CU_ASSERT_EQUAL(res.reason, TP_BUNDLE_EXPIRED);
	tp_ctrl_apply_fini(&a);
}

/* A conduit whose not_after passed stays off: the engine is compiled on
 * the policy clock, not the stepped-back wall clock. */
static void test_clock_back_conduit(void)
{
	struct tp_ctrl_apply a;
	struct tp_ctrl_apply_result res;
	struct tp_site *s = lab_copy();
	bool found;
	size_t n;
	uint8_t *b;

	if (!s)
		return;
	s->rules[0].not_after = t0 + 500;
	fresh(&a);
	b = bundle_of(s, 5, t0 + 1000, t0 + 5000, &n);
	CU_ASSERT_EQUAL(tp_ctrl_apply_bundle(&a, b, n, t0 + 1000, "file", &res), 0);
	/* compiled after not_after: the rule is out, valid from its end */
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.engine);
	CU_ASSERT_TRUE(tp_engine_valid_from(a.engine) >= t0 + 500);
	/* restart with the clock at t0 + 100 (before not_after): still out */
	CU_ASSERT_EQUAL(restart(&a, t0 + 100, &found), TP_BUNDLE_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.engine);
	CU_ASSERT_FALSE(tp_engine_valid_at(a.engine, t0 + 100));
	CU_ASSERT_TRUE(tp_engine_valid_at(a.engine, t0 + 1000));
	free(b);
	tp_site_free(s);
	tp_ctrl_apply_fini(&a);
}

/* not_before 0: valid from issued_at (tableau.proto), not from receipt. A
 * rule opening between the clock and issued_at is on. */
static void test_not_before_zero(void)
{
	struct tp_ctrl_apply a;
	struct tp_ctrl_apply_result res;
	struct tp_site *s = lab_copy();
	size_t n;
	uint8_t *b;

	if (!s)
		return;
	s->rules[0].not_before = t0 + 50;
	fresh(&a);
	b = bundle_of(s, 5, t0 + 100, t0 + 5000, &n);
	CU_ASSERT_EQUAL(tp_ctrl_apply_bundle(&a, b, n, t0, "file", &res), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.engine);
	CU_ASSERT_TRUE(tp_engine_valid_at(a.engine, t0 + 100));
	CU_ASSERT_FALSE(tp_engine_valid_at(a.engine, t0));
	free(b);
	/* a bundle that expires before it is issued is never valid */
	CU_ASSERT_NOT_EQUAL(apply(&a, 6, t0 + 100, t0 + 90, t0, &res), 0);
	CU_ASSERT_EQUAL(res.reason, TP_BUNDLE_EXPIRED);
	tp_site_free(s);
	tp_ctrl_apply_fini(&a);
}

int main(int argc, char **argv)
{
	static const struct tl_test tests[] = {
		{"floor file: canonical, prefixes refused", test_parse},
		{"LKG deleted: v3 refused, v5 itself again", test_lkg_deleted},
		{"LKG corrupt: v3 refused", test_lkg_corrupt},
		{"LKG expired under fail-closed: v3 refused", test_lkg_expired},
		{"LKG replaced by an older bundle: refused", test_lkg_older},
		{"floor missing, good LKG", test_floor_missing},
		{"floor corrupt, good LKG", test_floor_corrupt},
		{"floor torn or bit-flipped, good LKG", test_floor_torn},
		{"floor persisted before the LKG", test_floor_before_lkg},
		{"LKG write failed: boot on the previous LKG", test_boot_after_persist_fail},
		{"version 2^64-1 refused", test_version_max},
		{"issued beyond the skew: refused", test_future_skew},
		{"clock back: an expired bundle stays expired", test_clock_back_bundle},
		{"clock back: an expired conduit stays off", test_clock_back_conduit},
		{"clock glitch forward: the next bundle is taken", test_clock_glitch_forward},
		{"not_before 0 is issued_at", test_not_before_zero},
	};
	int failed;
	uint8_t seed[32];
	char cmd[128];

	examples_dir = argc > 1 ? argv[1] : "deploy/examples";
	if (sodium_init() < 0)
		return 2;
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	site = tl_example_site(examples_dir, "lab-plant.yaml");
	if (!site)
		return 2;
	snprintf(dir, sizeof(dir), "/tmp/test_lkg_floor.%d", (int)getpid());
	if (mkdir(dir, 0700) != 0)
		return 2;
	failed = tl_cunit_run("floor", tests, TL_N_TESTS(tests));
	tp_site_free(site);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		failed++;
	return failed ? 1 : 0;
}
