// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the transition point's handling of decoded
 * controller messages (controller-client/session/client.c, compiled in so
 * its static handlers are reachable and instrumented): an established
 * session, its apply callback the real policy object (tp_ctrl_apply,
 * without persistence), fed the envelopes of the input as if decrypted
 * from the channel. After every message:
 *   - the running version changes only on a PolicyPush, only upward, and
 *     only to the version of a bundle the pinned key signed: a push of a
 *     version at or below the running one never replaces it;
 *   - a push is acked exactly when it was applied and nacked otherwise;
 *     nothing else acks, nacks or touches the policy;
 *   - the receiving key changes exactly on a Rekey;
 *   - the session stays established (no message from an authenticated
 *     controller is a reason to drop it).
 */
#include "../../../controller-client/session/client.c"

#include "fuzz_keys.h"
#include "tp/ctrl/apply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_keys keys;
static struct tp_ctrl_apply policy;
static uint64_t now_v;

static uint64_t clk(void *arg)
{
	return now_v;
}

static int cb_apply(void *arg, const uint8_t *b, size_t n, struct tp_ctrl_apply_result *res)
{
	return tp_ctrl_apply_bundle(&policy, b, n, FUZZ_T0, "controller", res);
}

static uint64_t cb_version(void *arg)
{
	return policy.has_policy ? policy.info.version : 0;
}

static const uint8_t *cb_running(void *arg, size_t *len)
{
	*len = policy.has_policy ? policy.bundle_len : 0;
	return policy.has_policy ? policy.bundle : NULL;
}

/* The version of a push's bundle if the pinned key signed it, else 0. */
static uint64_t signed_version(const Tableau__V1__Envelope *e)
{
	uint64_t v;

	return fuzz_signed(e->push->signed_bundle.data, e->push->signed_bundle.len, keys.ctl_pk, &v)
		       ? v
		       : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_ctrl_client_config cfg = {
		.clock = {clk, NULL}, .address = "127.0.0.1:9", .rekey_frames = 2};
	struct tp_ctrl_client_callbacks cb = {
		.apply = cb_apply, .policy_version = cb_version, .running_bundle = cb_running};
	const uint8_t *p = data + 1, *end = data + size, *rec;
	struct tp_ctrl_noise_keys k;
	struct tp_ctrl_client *c;
	size_t len;
	int sv[2];

	fuzz_keys_once(&keys);
	if (size < 1)
		return 0;
	now_v = 1000000000ull;
	memcpy(cfg.static_priv, keys.tp_priv[0], 32);
	memcpy(cfg.controller_pk, keys.ctl_pk, 32);
	tp_ctrl_apply_init(&policy, keys.ctl_pk, "", TP_FAILMODE_EXPIRY_CLOSED, true, NULL, NULL,
			   FUZZ_T0);
	c = tp_ctrl_client_new(&cfg, &cb);
	if (!c || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	tp_ctrl_conn_init(&c->conn, sv[0], TP_CTRL_FRAME_PREAUTH_MAX,
			  2 * (size_t)TP_CTRL_FRAME_MAX);
	memset(&k, 0x66, sizeof(k));
	tp_ctrl_conn_set_keys(&c->conn, &k, TP_CTRL_FRAME_MAX);
	c->state = TP_CTRL_CLIENT_ESTABLISHED;
	c->peer_features = data[0] & FUZZ_FLAG_REKEY ? TABLEAU__V1__FEATURE__FEATURE_REKEY : 0;
	c->session_start_ns = c->conn.send_key_ns = now_v;

	while (fuzz_next(&p, end, &rec, &len)) {
		struct tp_ctrl_msg *m = tp_ctrl_msg_decode(rec, len);
		uint64_t running = cb_version(NULL), acks = c->stats.acks, nacks = c->stats.nacks;
		const struct tp_site *site = policy.site;
		uint8_t recv_key[32];
		bool push;

		if (!m)
			break;
		push = m->env->msg_case == TABLEAU__V1__ENVELOPE__MSG_PUSH;
		memcpy(recv_key, c->conn.recv_key, 32);
		handle_msg(c, m->env);
		if (c->state != TP_CTRL_CLIENT_ESTABLISHED)
			abort();
		if (cb_version(NULL) != running) {
			if (!push || cb_version(NULL) <= running ||
			    signed_version(m->env) != cb_version(NULL) ||
			    c->stats.acks != acks + 1 || c->stats.nacks != nacks)
				abort();
		} else if (push) {
			/* refused: the old policy object stays in place */
			if (policy.site != site || c->stats.nacks != nacks + 1 ||
			    c->stats.acks != acks)
				abort();
		} else if (c->stats.acks != acks || c->stats.nacks != nacks ||
			   policy.site != site) {
			abort();
		}
		if ((memcmp(recv_key, c->conn.recv_key, 32) != 0) !=
		    (m->env->msg_case == TABLEAU__V1__ENVELOPE__MSG_REKEY))
			abort();
		tp_ctrl_msg_free(m);
		/* what the controller would read: keep the queue short */
		c->conn.tx_off = c->conn.tx_len = 0;
		now_v += 1000000ull;
	}
	tp_ctrl_client_free(c);
	tp_ctrl_apply_fini(&policy);
	close(sv[1]);
	return 0;
}
