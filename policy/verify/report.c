// SPDX-License-Identifier: MIT
/* The verifier's report as text, JSON and Graphviz (see tp/policy/verify.h). */
#include <stdlib.h>
#include <string.h>

#include "tp/policy/flowspec.h"
#include "verify_int.h"

static void print_finding(const struct tp_verify_finding *f, FILE *out)
{
	char fl[200];

	fprintf(out, "       %s %s%s%s\n", f->fail ? "-" : "note:", f->tp[0] ? f->tp : "",
		f->tp[0] ? ": " : "", f->msg);
	if (f->has_flow)
		fprintf(out, "           flow: %s\n", tp_flowspec_format(&f->flow, fl, sizeof(fl)));
	if (f->n_rules) {
		fprintf(out, "           conduits:");
		for (size_t i = 0; i < f->n_rules; i++)
			fprintf(out, " %u", f->rules[i]);
		fputc('\n', out);
	}
}

void tp_verify_print(const struct tp_verify_report *r, FILE *out)
{
	size_t failed = 0;
	const char *prev_from = "", *prev_to = "";

	fprintf(out, "verify: %zu export(s), reference policy '%s' (from %s)\n", r->n_exports,
		r->site ? r->site->name : "?", r->site_from);
	for (int k = 1; k < TP_VERIFY__COUNT; k++) {
		failed += r->failed[k];
		fprintf(out, "[%s] %2d %-13s %s\n", r->failed[k] ? "FAIL" : "PASS", k,
			tp_verify_check_name(k), tp_verify_check_help(k));
		for (size_t i = 0; i < r->n_findings; i++)
			if (r->findings[i].check == (enum tp_verify_check)k)
				print_finding(&r->findings[i], out);
	}
	fprintf(out, "reachability (allowed; * = intent and effective state differ):\n");
	for (size_t i = 0; i < r->n_matrix; i++) {
		const struct tp_verify_cell *m = &r->matrix[i];

		if (strcmp(m->from, prev_from) != 0 || strcmp(m->to, prev_to) != 0)
			fprintf(out, "%s  %s -> %s:", i ? "\n" : "", m->from, m->to);
		fprintf(out, " %s%s", m->service, m->intent != m->effective ? "*" : "");
		if (m->rule)
			fprintf(out, " (%u)", m->rule);
		prev_from = m->from;
		prev_to = m->to;
	}
	fprintf(out, "%s", r->n_matrix ? "\n" : "  (nothing)\n");
	fprintf(out, "result: %s (%zu of %d checks failed)\n", failed ? "FAIL" : "PASS", failed,
		TP_VERIFY__COUNT - 1);
}

json_t *tp_verify_json(const struct tp_verify_report *r)
{
	json_t *checks = json_array(), *matrix = json_array();
	char fl[200];

	for (int k = 1; k < TP_VERIFY__COUNT; k++) {
		json_t *fs = json_array();

		for (size_t i = 0; i < r->n_findings; i++) {
			const struct tp_verify_finding *f = &r->findings[i];
			json_t *ids, *o;

			if (f->check != (enum tp_verify_check)k)
				continue;
			ids = json_array();
			for (size_t j = 0; j < f->n_rules; j++)
				json_array_append_new(ids, json_integer(f->rules[j]));
			o = json_pack("{s:s, s:s, s:o}", "severity", f->fail ? "fail" : "note",
				      "message", f->msg, "conduits", ids);
			if (f->tp[0])
				json_object_set_new(o, "tp", json_string(f->tp));
			if (f->from[0])
				json_object_set_new(o, "from", json_string(f->from));
			if (f->to[0])
				json_object_set_new(o, "to", json_string(f->to));
			if (f->has_flow)
				json_object_set_new(
					o, "flow",
					json_string(tp_flowspec_format(&f->flow, fl, sizeof(fl))));
			json_array_append_new(fs, o);
		}
		json_array_append_new(checks,
				      json_pack("{s:i, s:s, s:s, s:s, s:o}", "number", k, "name",
						tp_verify_check_name(k), "description",
						tp_verify_check_help(k), "status",
						r->failed[k] ? "fail" : "pass", "findings", fs));
	}
	for (size_t i = 0; i < r->n_matrix; i++) {
		const struct tp_verify_cell *m = &r->matrix[i];

		json_array_append_new(matrix,
				      json_pack("{s:s, s:s, s:s, s:b, s:b, s:I}", "from", m->from,
						"to", m->to, "service", m->service, "intent",
						m->intent, "effective", m->effective, "conduit",
						(json_int_t)m->rule));
	}
	return json_pack("{s:s, s:s, s:s, s:I, s:o, s:o}", "result",
			 tp_verify_failed(r) ? "fail" : "pass", "site",
			 r->site ? r->site->name : "", "reference", r->site_from, "exports",
			 (json_int_t)r->n_exports, "checks", checks, "matrix", matrix);
}

/* Graphviz identifiers and labels: quote, escape quotes and backslashes. */
static void dot_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\n') {
			fputs("\\n", f); /* Graphviz's centred line break */
			continue;
		}
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static bool pair_failed(const struct tp_verify_report *r, const char *a, const char *b)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (r->findings[i].fail && !strcmp(r->findings[i].from, a) &&
		    !strcmp(r->findings[i].to, b))
			return true;
	return false;
}

static bool tp_failed(const struct tp_verify_report *r, const char *tp)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (r->findings[i].fail && !strcmp(r->findings[i].tp, tp))
			return true;
	return false;
}

int tp_verify_dot(const struct tp_verify_report *r, FILE *f)
{
	const struct tp_site *s = r->site;

	if (!s)
		return -1;
	fprintf(f, "digraph plant {\n\trankdir=LR;\n\tlabelloc=t;\n\tfontname=\"Helvetica\";\n"
		   "\tlabel=");
	{
		char title[160];

		snprintf(title, sizeof(title), "%s: verify %s", s->name,
			 tp_verify_failed(r) ? "FAILED" : "passed");
		dot_str(f, title);
	}
	fprintf(f, ";\n\tnode [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
		   "\tedge [fontname=\"Helvetica\", fontsize=10];\n");
	for (size_t t = 0; t < s->n_tps; t++) {
		bool bad = tp_failed(r, s->tps[t].name);

		fprintf(f, "\tsubgraph \"cluster_%zu\" {\n\t\tlabel=", t);
		dot_str(f, s->tps[t].name);
		fprintf(f, ";\n\t\tcolor=%s;\n\t\tfontcolor=%s;\n", bad ? "red" : "gray40",
			bad ? "red" : "black");
		for (size_t z = 0; z < s->n_zones; z++) {
			if (s->zones[z].tp != t)
				continue;
			fprintf(f, "\t\t");
			dot_str(f, s->zones[z].name);
			fprintf(f, ";\n");
		}
		fprintf(f, "\t}\n");
	}
	for (size_t i = 0; i < r->n_matrix;) {
		const struct tp_verify_cell *m = &r->matrix[i];
		bool bad = pair_failed(r, m->from, m->to);
		char label[1024];
		size_t at = 0, j = i;

		label[0] = '\0';
		for (; j < r->n_matrix && !strcmp(r->matrix[j].from, m->from) &&
		       !strcmp(r->matrix[j].to, m->to);
		     j++) {
			bad |= r->matrix[j].intent != r->matrix[j].effective;
			if (at < sizeof(label))
				at += (size_t)snprintf(label + at, sizeof(label) - at, "%s%s",
						       j > i ? "\n" : "", r->matrix[j].service);
		}
		fprintf(f, "\t");
		dot_str(f, m->from);
		fprintf(f, " -> ");
		dot_str(f, m->to);
		fprintf(f, " [label=");
		dot_str(f, label);
		fprintf(f, "%s];\n", bad ? ", color=red, fontcolor=red, penwidth=2" : "");
		i = j;
	}
	/* failures on pairs nothing allows (a must-allow that is denied, a
	 * black hole): a dashed red edge */
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct tp_verify_finding *x = &r->findings[i];
		bool drawn = false;

		if (!x->fail || !x->from[0] || !x->to[0] ||
		    tp_site_zone_by_name(s, x->from) == TP_ZONE_NONE ||
		    tp_site_zone_by_name(s, x->to) == TP_ZONE_NONE)
			continue;
		for (size_t j = 0; j < r->n_matrix && !drawn; j++)
			drawn = !strcmp(r->matrix[j].from, x->from) &&
				!strcmp(r->matrix[j].to, x->to);
		for (size_t j = 0; j < i && !drawn; j++)
			drawn = r->findings[j].fail && !strcmp(r->findings[j].from, x->from) &&
				!strcmp(r->findings[j].to, x->to);
		if (drawn)
			continue;
		fprintf(f, "\t");
		dot_str(f, x->from);
		fprintf(f, " -> ");
		dot_str(f, x->to);
		fprintf(f, " [style=dashed, color=red, fontcolor=red, label=");
		dot_str(f, tp_verify_check_name(x->check));
		fprintf(f, "];\n");
	}
	fprintf(f, "}\n");
	return 0;
}
