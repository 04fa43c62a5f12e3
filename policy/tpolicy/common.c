// SPDX-License-Identifier: MIT
/* Helpers shared by the tpolicy subcommands (see tpolicy.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tp/policy/diag.h"
#include "tp/policy/engine.h"
#include "tp/base/file.h"
#include "tp/policy/flowspec.h"
#include "tp/base/keys.h"
#include "tp/policy/lint.h"
#include "tp/policy/timefmt.h"
#include "tp/policy/yaml.h"
#include "tpolicy.h"

void tpolicy_err(const char *fmt, ...)
{
	va_list ap;

	fputs("tpolicy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool tpolicy_parse_time(const char *s, int64_t *out)
{
	if (strcmp(s, "now") == 0) {
		*out = (int64_t)time(NULL);
		return true;
	}
	return tp_time_parse(s, out);
}

bool tpolicy_is_yaml(const char *path)
{
	size_t n = strlen(path);

	return (n > 5 && strcmp(path + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(path + n - 4, ".yml") == 0);
}

int tpolicy_controller_pub(const char *pub_path, const char *key_path, uint8_t pk[32])
{
	uint8_t seed[32], sk[64];
	char kerr[320];
	int rc;

	if (!!pub_path == !!key_path) {
		tpolicy_err("give the controller key: --pub KEY.pub or --key KEY");
		return TPOLICY_USAGE;
	}
	if (pub_path) {
		rc = tp_key_load(pub_path, pk, false, kerr, sizeof(kerr));
		if (rc < 0) {
			tpolicy_err("%s", kerr);
			return TPOLICY_USAGE;
		}
		return TPOLICY_OK;
	}
	rc = tp_key_load(key_path, seed, true, kerr, sizeof(kerr));
	if (rc < 0) {
		tpolicy_err("%s", kerr);
		return TPOLICY_USAGE;
	}
	tp_key_controller_expand(seed, sk, pk);
	memset(seed, 0, sizeof(seed));
	memset(sk, 0, sizeof(sk));
	return TPOLICY_OK;
}

int tpolicy_load(const char *path, const uint8_t *pk, int64_t now, struct tp_site **site,
		 struct tp_bundle_info *info)
{
	struct tp_lint_opts lo = {.now = now, .structure_only = true};
	enum tp_bundle_status st;
	struct tp_site_locs *locs = NULL;
	struct tp_diags d;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256];
	int rc;

	memset(info, 0, sizeof(*info));
	*site = NULL;
	if (tpolicy_is_yaml(path)) {
		tp_diag_init(&d, path);
		*site = tp_yaml_read_file(path, &d, &locs);
		if (*site && !tp_lint_site(*site, locs, &lo, &d)) {
			tp_site_free(*site);
			*site = NULL;
		}
		tp_diag_sort(&d);
		tp_diag_print(&d, stderr);
		tp_diag_free(&d);
		tp_site_locs_free(locs);
		return *site ? TPOLICY_OK : TPOLICY_REFUSED;
	}
	if (!pk) {
		tpolicy_err("%s: a bundle needs the controller key: --pub KEY.pub or --key KEY",
			    path);
		return TPOLICY_USAGE;
	}
	rc = tp_file_read(path, TP_BUNDLE_MAX_BYTES, &buf, &len);
	if (rc < 0) {
		tpolicy_err("%s: %s", path, strerror(-rc));
		return TPOLICY_USAGE;
	}
	st = tp_bundle_open(buf, len, pk, info, site, err, sizeof(err));
	free(buf);
	if (st != TP_BUNDLE_OK) {
		tpolicy_err("%s: refused (%s): %s", path, tp_bundle_status_name(st), err);
		return TPOLICY_REFUSED;
	}
	return TPOLICY_OK;
}

int tpolicy_load_keyed(const char *path, const char *pub_path, const char *key_path, int64_t now,
		       struct tp_site **site, struct tp_bundle_info *info)
{
	uint8_t pk[32];
	int rc;

	if (tpolicy_is_yaml(path))
		return tpolicy_load(path, NULL, now, site, info);
	rc = tpolicy_controller_pub(pub_path, key_path, pk);
	if (rc != TPOLICY_OK)
		return rc;
	return tpolicy_load(path, pk, now, site, info);
}

static void append(char *buf, size_t len, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *at, len - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at += (size_t)n;
}

static void ranges(char *buf, size_t len, size_t *at, const struct tp_port_range *r, size_t n)
{
	if (!n) {
		append(buf, len, at, "any");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (r[i].lo == r[i].hi)
			append(buf, len, at, "%s%u", i ? "," : "", r[i].lo);
		else
			append(buf, len, at, "%s%u-%u", i ? "," : "", r[i].lo, r[i].hi);
	}
}

const char *tpolicy_rule_match(const struct tp_rule *r, char *buf, size_t len)
{
	char pn[8];
	size_t at = 0;

	buf[0] = '\0';
	append(buf, len, &at, "%s", r->proto ? tp_proto_name(r->proto, pn, sizeof(pn)) : "any");
	if (r->n_dst_ports || r->n_src_ports) {
		append(buf, len, &at, " dst ");
		ranges(buf, len, &at, r->dst_ports, r->n_dst_ports);
		if (r->n_src_ports) {
			append(buf, len, &at, " src ");
			ranges(buf, len, &at, r->src_ports, r->n_src_ports);
		}
	}
	for (size_t i = 0; i < r->n_icmp; i++) {
		if (r->icmp[i].code < 0)
			append(buf, len, &at, "%s%u", i ? "," : " type ", r->icmp[i].type);
		else
			append(buf, len, &at, "%s%u/%d", i ? "," : " type ", r->icmp[i].type,
			       r->icmp[i].code);
	}
	return buf;
}
