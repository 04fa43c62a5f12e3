// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for tp_flow_parse(): arbitrary bytes as an IP packet.
 * What parses is also classified against a small fixed policy, so the
 * flow table's handling of parsed fields (ICMP errors, echo ids, TCP
 * flags) runs on every accepted input. Invariants checked: an ICMP error
 * has a quote of its own family; the parse is deterministic.
 */
#include <stdlib.h>
#include <string.h>

#include "tp/policy/engine.h"
#include "tp/policy/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tp_engine *engine;
static struct tp_flow_table *table;
static uint64_t fake_ns;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_ns += 1000000;
}

static void setup(void)
{
	static struct tp_prefix pfx[4];
	static struct tp_zone zones[2];
	static struct tp_tpoint tp;
	static struct tp_rule rule = {
		.id = 1, .from_zone = 0, .to_zone = 1, .action = TP_ACTION_ALLOW, .stateful = true};
	static struct tp_site site;
	struct tp_flow_config cfg;
	char err[100];

	tp_prefix_parse("0.0.0.0/1", &pfx[0]);
	tp_prefix_parse("::/1", &pfx[1]);
	tp_prefix_parse("128.0.0.0/1", &pfx[2]);
	tp_prefix_parse("8000::/1", &pfx[3]);
	zones[0].prefixes = &pfx[0];
	zones[1].prefixes = &pfx[2];
	zones[0].n_prefixes = zones[1].n_prefixes = 2;
	site.zones = zones;
	site.n_zones = 2;
	site.tps = &tp;
	site.n_tps = 1;
	site.rules = &rule;
	site.n_rules = 1;
	if (tp_engine_compile(&site, 0, &engine, err, sizeof(err)))
		abort();
	tp_flow_config_default(&cfg);
	cfg.capacity = 64;
	cfg.clock_ns = fake_clock;
	table = tp_flow_table_new(&cfg);
	if (!table)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_flow_pkt a, b;
	struct tp_decision d;
	enum tp_parse_result r;

	if (!engine)
		setup();
	r = tp_flow_parse(data, size, &a);
	if (tp_flow_parse(data, size, &b) != r || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (r != TP_PARSE_OK)
		return 0;
	if (a.icmp_error && a.inner.src.family != a.f.src.family)
		abort();
	tp_flow_classify(table, engine, &a, &d);
	return 0;
}
