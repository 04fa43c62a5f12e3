// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpus of fuzz_ctrl_server and fuzz_ctrl_client (one
 * input format, fuzz_keys.h): sequences of envelopes a TP or a controller
 * sends, with real bundles signed by the harnesses' controller key (and
 * one by another key) built from the example site. Run by hand when the
 * schema changes (see CMakeLists.txt); the output is checked in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_keys.h"
#include "tp/policy/bundle.h"
#include "tp/ctrl/msg.h"
#include "tp/policy/diag.h"
#include "tp/policy/yaml.h"

static uint8_t out[1 << 20];
static size_t n_out;
static const char *dir;
static struct fuzz_keys keys;
static struct tp_site *site;

static void begin(uint8_t flags)
{
	out[0] = flags;
	n_out = 1;
}

static void add(const Tableau__V1__Envelope *e)
{
	size_t n = tp_ctrl_msg_size(e);

	if (n > 0xffff || n_out + 2 + n > sizeof(out))
		abort();
	out[n_out] = (uint8_t)(n >> 8);
	out[n_out + 1] = (uint8_t)n;
	tp_ctrl_msg_pack(e, out + n_out + 2);
	n_out += 2 + n;
}

static void put(const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(out, 1, n_out, f) != n_out)
		abort();
	fclose(f);
}

static ProtobufCBinaryData signed_bundle(uint64_t v, const uint8_t *sk)
{
	struct tp_bundle_info info = {
		.version = v, .issued_at = FUZZ_T0 - 10, .expires_at = FUZZ_T0 + 86400};
	uint8_t *b = NULL;
	size_t n = 0;

	if (tp_bundle_build(site, &info, sk, &b, &n) != 0)
		abort();
	return (ProtobufCBinaryData){n, b};
}

static void hello(uint64_t v, const uint8_t *key)
{
	Tableau__V1__Envelope e = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Hello h = TABLEAU__V1__HELLO__INIT;

	h.tp_name = "tp1";
	h.public_key = (ProtobufCBinaryData){32, (uint8_t *)key};
	h.software_version = "fuzz";
	h.policy_version = v;
	e.msg_case = TABLEAU__V1__ENVELOPE__MSG_HELLO;
	e.hello = &h;
	add(&e);
}

static void status(uint64_t v)
{
	Tableau__V1__Envelope e = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Status st = TABLEAU__V1__STATUS__INIT;

	st.policy_version = v;
	st.policy_state = TABLEAU__V1__POLICY_STATE__POLICY_STATE_ENFORCING;
	e.msg_case = TABLEAU__V1__ENVELOPE__MSG_STATUS;
	e.status = &st;
	add(&e);
}

static void ack(uint64_t v)
{
	Tableau__V1__Envelope e = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Ack a = TABLEAU__V1__ACK__INIT;

	a.version = v;
	e.msg_case = TABLEAU__V1__ENVELOPE__MSG_ACK;
	e.ack = &a;
	add(&e);
}

static void proof(ProtobufCBinaryData b)
{
	Tableau__V1__Envelope e = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__ProofResponse p = TABLEAU__V1__PROOF_RESPONSE__INIT;

	p.signed_bundle = b;
	if (!b.len)
		p.error = "no bundle running";
	e.msg_case = TABLEAU__V1__ENVELOPE__MSG_PROOF_RESPONSE;
	e.proof_response = &p;
	add(&e);
}

static void push(ProtobufCBinaryData b, uint64_t v)
{
	Tableau__V1__Envelope e = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__PolicyPush p = TABLEAU__V1__POLICY_PUSH__INIT;

	p.signed_bundle = b;
	p.version = v;
	e.msg_case = TABLEAU__V1__ENVELOPE__MSG_PUSH;
	e.push = &p;
	add(&e);
}

static void simple(int arm)
{
	Tableau__V1__Envelope e = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Rekey r = TABLEAU__V1__REKEY__INIT;
	Tableau__V1__Ping ping = TABLEAU__V1__PING__INIT;
	Tableau__V1__ProofRequest pr = TABLEAU__V1__PROOF_REQUEST__INIT;
	Tableau__V1__ExportRequest xr = TABLEAU__V1__EXPORT_REQUEST__INIT;

	e.msg_case = (Tableau__V1__Envelope__MsgCase)arm;
	switch (arm) {
	case TABLEAU__V1__ENVELOPE__MSG_REKEY:
		e.rekey = &r;
		break;
	case TABLEAU__V1__ENVELOPE__MSG_PING:
		ping.id = 7;
		e.ping = &ping;
		break;
	case TABLEAU__V1__ENVELOPE__MSG_PROOF_REQUEST:
		pr.version = 3;
		e.proof_request = &pr;
		break;
	default:
		xr.id = 1;
		xr.format = "tableau-export-v1";
		e.export_request = &xr;
		break;
	}
	add(&e);
}

int main(int argc, char **argv)
{
	struct tp_diags d;
	ProtobufCBinaryData v1, v2, v7, v9, vmax, forged, none = {0, NULL};

	dir = argc > 1 ? argv[1] : "corpus";
	tp_crypto_init();
	fuzz_keys_make(&keys);
	tp_diag_init(&d, argc > 2 ? argv[2] : "deploy/examples/lab-plant.yaml");
	site = tp_yaml_read_file(argc > 2 ? argv[2] : "deploy/examples/lab-plant.yaml", &d, NULL);
	tp_diag_free(&d);
	if (!site)
		return 1;
	v1 = signed_bundle(1, keys.ctl_sk);
	v2 = signed_bundle(2, keys.ctl_sk);
	v7 = signed_bundle(7, keys.ctl_sk);
	v9 = signed_bundle(9, keys.ctl_sk);
	vmax = signed_bundle(UINT64_MAX, keys.ctl_sk);
	forged = signed_bundle(UINT64_MAX - 1, keys.other_sk);

	/* Server side: what TPs send. */
	begin(FUZZ_FLAG_REKEY);
	hello(UINT64_MAX - 1, keys.tp_pub[0]);
	status(UINT64_MAX - 1);
	proof(none);
	simple(TABLEAU__V1__ENVELOPE__MSG_REKEY);
	put("server_rogue_no_proof");
	begin(0);
	hello(UINT64_MAX, keys.tp_pub[0]);
	proof(forged);
	put("server_rogue_forged");
	begin(0);
	hello(UINT64_MAX, keys.tp_pub[0]);
	proof(vmax);
	put("server_rogue_max");
	begin(FUZZ_FLAG_REKEY);
	hello(7, keys.tp_pub[0]);
	proof(v7);
	ack(7);
	status(9);
	proof(v9);
	put("server_honest_catch_up");
	begin(0);
	hello(1, keys.tp_pub[1]);
	put("server_hello_other_key");
	begin(FUZZ_FLAG_UP | FUZZ_FLAG_REKEY);
	proof(v9); /* unasked */
	status(9);
	proof(v2);
	simple(TABLEAU__V1__ENVELOPE__MSG_PING);
	simple(TABLEAU__V1__ENVELOPE__MSG_REKEY);
	hello(9, keys.tp_pub[0]);
	put("server_up");

	/* Client side: what a controller sends. */
	begin(FUZZ_FLAG_REKEY);
	push(v1, 1);
	push(v2, 2);
	push(v1, 1); /* rollback */
	push(v2, 2); /* the same again */
	simple(TABLEAU__V1__ENVELOPE__MSG_PROOF_REQUEST);
	simple(TABLEAU__V1__ENVELOPE__MSG_REKEY);
	push(v9, 9);
	put("client_pushes");
	begin(0);
	push(forged, UINT64_MAX - 1);
	push(vmax, UINT64_MAX);
	push(v7, 7);
	simple(TABLEAU__V1__ENVELOPE__MSG_PING);
	simple(TABLEAU__V1__ENVELOPE__MSG_EXPORT_REQUEST);
	put("client_forged_then_real");
	free(v1.data);
	free(v2.data);
	free(v7.data);
	free(v9.data);
	free(vmax.data);
	free(forged.data);
	tp_site_free(site);
	return 0;
}
