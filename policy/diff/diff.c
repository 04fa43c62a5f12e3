// SPDX-License-Identifier: MIT
/* Policy diff (see tp/policy/diff.h). */
#include "tp/policy/diff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/flowspec.h"
#include "tp/policy/space.h"

struct names {
	char (*v)[TP_NAME_MAX];
	size_t n;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Sorted union of the zone names of both sites. */
static int zone_union(const struct tp_site *a, const struct tp_site *b, struct names *out)
{
	out->v = calloc(a->n_zones + b->n_zones + 1, TP_NAME_MAX);
	out->n = 0;
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < a->n_zones; i++)
		memcpy(out->v[out->n++], a->zones[i].name, TP_NAME_MAX);
	for (size_t i = 0; i < b->n_zones; i++)
		if (tp_site_zone_by_name(a, b->zones[i].name) == TP_ZONE_NONE)
			memcpy(out->v[out->n++], b->zones[i].name, TP_NAME_MAX);
	qsort(out->v, out->n, TP_NAME_MAX, cmp_name);
	return 0;
}

static bool push_flow(struct tp_diff *d, size_t *cap, const struct tp_diff_flow *f)
{
	if (d->n_flows == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct tp_diff_flow *v = realloc(d->flows, nc * sizeof(*v));

		if (!v)
			return false;
		d->flows = v;
		*cap = nc;
	}
	d->flows[d->n_flows++] = *f;
	return true;
}

static bool same_prefixes(const struct tp_zone *a, const struct tp_zone *b)
{
	if (a->n_prefixes != b->n_prefixes)
		return false;
	for (size_t i = 0; i < a->n_prefixes; i++) {
		size_t j;

		for (j = 0; j < b->n_prefixes; j++)
			if (!memcmp(&a->prefixes[i], &b->prefixes[j], sizeof(struct tp_prefix)))
				break;
		if (j == b->n_prefixes)
			return false;
	}
	return true;
}

static int zone_changes(const struct tp_site *o, const struct tp_site *n, const struct names *all,
			struct tp_diff *d)
{
	d->zones = calloc(all->n + 1, sizeof(*d->zones));
	if (!d->zones)
		return -ENOMEM;
	for (size_t i = 0; i < all->n; i++) {
		uint32_t a = tp_site_zone_by_name(o, all->v[i]),
			 b = tp_site_zone_by_name(n, all->v[i]);
		const char *ch = NULL;

		if (a == TP_ZONE_NONE)
			ch = "added";
		else if (b == TP_ZONE_NONE)
			ch = "removed";
		else if (!same_prefixes(&o->zones[a], &n->zones[b]))
			ch = "prefixes";
		else if (strcmp(o->tps[o->zones[a].tp].name, n->tps[n->zones[b].tp].name) != 0)
			ch = "moved";
		if (!ch)
			continue;
		memcpy(d->zones[d->n_zones].name, all->v[i], TP_NAME_MAX);
		snprintf(d->zones[d->n_zones].change, sizeof(d->zones[0].change), "%s", ch);
		d->n_zones++;
	}
	return 0;
}

int tp_diff_sites(const struct tp_site *o, const struct tp_site *n, int64_t now, struct tp_diff *d)
{
	const struct tp_site *sites[2] = {o, n};
	struct names all = {0};
	size_t cap = 0;
	int rc = -ENOMEM;

	memset(d, 0, sizeof(*d));
	if (zone_union(o, n, &all) < 0 || zone_changes(o, n, &all, d) < 0)
		goto out;
	for (size_t a = 0; a < all.n; a++) {
		for (size_t b = 0; b < all.n; b++) {
			struct tp_space sp;
			size_t i = 0;

			if (a == b)
				continue;
			if (tp_space_build(sites, 2, all.v[a], all.v[b], &sp) < 0)
				goto out;
			while (i < sp.n) {
				struct tp_decision dold, dnew, xo, xn;
				struct tp_diff_flow f = {0};
				struct tp_cell merged = sp.cells[i];
				size_t j = i + 1;

				tp_space_decide(o, all.v[a], all.v[b], &sp.cells[i], now, &dold);
				tp_space_decide(n, all.v[a], all.v[b], &sp.cells[i], now, &dnew);
				/* extend over neighbours with the same pair of verdicts */
				while (j < sp.n && tp_space_cell_adjacent(&merged, &sp.cells[j])) {
					tp_space_decide(o, all.v[a], all.v[b], &sp.cells[j], now,
							&xo);
					tp_space_decide(n, all.v[a], all.v[b], &sp.cells[j], now,
							&xn);
					if (xo.verdict != dold.verdict ||
					    xn.verdict != dnew.verdict)
						break;
					merged.dhi = sp.cells[j].dhi;
					j++;
				}
				if (dold.verdict != dnew.verdict) {
					memcpy(f.from, all.v[a], TP_NAME_MAX);
					memcpy(f.to, all.v[b], TP_NAME_MAX);
					tp_space_cell_format(&merged, f.service, sizeof(f.service));
					f.allowed = dnew.verdict == TP_VERDICT_ALLOW;
					f.old_rule = dold.rule_id;
					f.new_rule = dnew.rule_id;
					if (!tp_space_flow(n, all.v[a], all.v[b], &sp.cells[i],
							   &f.example))
						tp_space_flow(o, all.v[a], all.v[b], &sp.cells[i],
							      &f.example);
					if (!push_flow(d, &cap, &f)) {
						tp_space_free(&sp);
						goto out;
					}
				}
				i = j;
			}
			tp_space_free(&sp);
		}
	}
	rc = 0;
out:
	free(all.v);
	if (rc)
		tp_diff_free(d);
	return rc;
}

void tp_diff_free(struct tp_diff *d)
{
	free(d->flows);
	free(d->zones);
	memset(d, 0, sizeof(*d));
}

void tp_diff_print(const struct tp_diff *d, FILE *f)
{
	size_t na = 0;

	for (size_t i = 0; i < d->n_zones; i++)
		fprintf(f, "~ zone %s: %s\n", d->zones[i].name, d->zones[i].change);
	for (size_t i = 0; i < d->n_flows; i++) {
		const struct tp_diff_flow *x = &d->flows[i];

		na += x->allowed;
		if (x->allowed)
			fprintf(f, "+ %s -> %s %s (conduit %u)\n", x->from, x->to, x->service,
				x->new_rule);
		else if (x->old_rule)
			fprintf(f, "- %s -> %s %s (was conduit %u)\n", x->from, x->to, x->service,
				x->old_rule);
		else
			fprintf(f, "- %s -> %s %s\n", x->from, x->to, x->service);
	}
	fprintf(f, "%zu newly allowed, %zu newly denied\n", na, d->n_flows - na);
}

json_t *tp_diff_json(const struct tp_diff *d)
{
	json_t *flows = json_array(), *zones = json_array();

	for (size_t i = 0; i < d->n_zones; i++)
		json_array_append_new(zones, json_pack("{s:s, s:s}", "zone", d->zones[i].name,
						       "change", d->zones[i].change));
	for (size_t i = 0; i < d->n_flows; i++) {
		const struct tp_diff_flow *x = &d->flows[i];
		char fl[200];

		json_array_append_new(flows,
				      json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "from",
						x->from, "to", x->to, "service", x->service,
						"change", x->allowed ? "allowed" : "denied",
						"old_rule", (json_int_t)x->old_rule, "new_rule",
						(json_int_t)x->new_rule, "example",
						tp_flowspec_format(&x->example, fl, sizeof(fl))));
	}
	return json_pack("{s:o, s:o}", "zones", zones, "flows", flows);
}
