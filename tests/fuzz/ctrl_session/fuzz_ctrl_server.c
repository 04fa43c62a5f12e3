// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the controller's handling of decoded messages
 * (controller-client/server/server.c, compiled in so its static handlers
 * are reachable and instrumented): one connection of a known TP, in
 * AWAIT_HELLO or UP, fed the envelopes of the input as if they had been
 * decrypted from the channel. After every message:
 *   - nothing a TP says changes what the controller publishes (version,
 *     bundle);
 *   - proven_version only rises, and only on a ProofResponse that answers
 *     an outstanding request with a bundle the controller's key signed, at
 *     that bundle's version, never 0 or 2^64-1;
 *   - a connection leaves AWAIT_HELLO only to UP, on a Hello naming its
 *     handshake key, or to closed; frames above the pre-auth maximum are
 *     accepted only when UP;
 *   - the TP's connection is this one exactly when it is UP and open;
 *   - the receiving key changes exactly on a Rekey of an UP session.
 */
#include "../../../controller-client/server/server.c"

#include "fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_keys keys;
static uint64_t now_v;

static uint64_t clk(void *arg)
{
	return now_v;
}

static bool proves(const Tableau__V1__Envelope *e, uint64_t version)
{
	const Tableau__V1__ProofResponse *p = e->proof_response;
	uint64_t v;

	if (e->msg_case != TABLEAU__V1__ENVELOPE__MSG_PROOF_RESPONSE || !p->signed_bundle.len)
		return false;
	return fuzz_signed(p->signed_bundle.data, p->signed_bundle.len, keys.ctl_pk, &v) &&
	       v == version;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t published[] = "published bundle";
	struct tp_ctrl_server_config cfg = {
		.clock = {clk, NULL}, .listen = "127.0.0.1:0", .rekey_frames = 2};
	struct tp_ctrl_server_tp_spec spec[2];
	struct tp_ctrl_noise_keys k;
	const uint8_t *p = data + 1, *end = data + size, *rec;
	struct tp_ctrl_server *s;
	struct sconn *c;
	char err[200];
	size_t len;
	int sv[2];

	fuzz_keys_once(&keys);
	if (size < 1)
		return 0;
	now_v = 1000000000ull;
	tp_ctrl_noise_priv_from_ed25519(cfg.static_priv, keys.ctl_seed);
	memcpy(cfg.bundle_pk, keys.ctl_pk, 32);
	s = tp_ctrl_server_new(&cfg, err, sizeof(err));
	if (!s)
		abort();
	memset(spec, 0, sizeof(spec));
	for (int i = 0; i < 2; i++) {
		snprintf(spec[i].name, sizeof(spec[i].name), "tp%d", i + 1);
		memcpy(spec[i].pubkey, keys.tp_pub[i], 32);
	}
	if (tp_ctrl_server_set_tps(s, spec, 2) != 0 ||
	    tp_ctrl_server_publish(s, FUZZ_PUBLISHED, published, sizeof(published)) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	tp_ctrl_conn_init(&c->conn, sv[0], TP_CTRL_FRAME_PREAUTH_MAX,
			  2 * (size_t)TP_CTRL_FRAME_MAX);
	memset(&k, 0x77, sizeof(k));
	tp_ctrl_conn_set_keys(&c->conn, &k, TP_CTRL_FRAME_PREAUTH_MAX);
	c->tp = 0;
	memcpy(c->peer_key, keys.tp_pub[0], 32);
	snprintf(c->addr, sizeof(c->addr), "fuzz");
	c->features = data[0] & FUZZ_FLAG_REKEY ? TABLEAU__V1__FEATURE__FEATURE_REKEY : 0;
	c->phase = AWAIT_HELLO;
	if (data[0] & FUZZ_FLAG_UP) {
		c->phase = UP;
		c->conn.rx.max = TP_CTRL_FRAME_MAX;
		s->up[0] = c;
		s->tps[0].connected = true;
	}
	s->conns[s->n_conns++] = c;

	while (fuzz_next(&p, end, &rec, &len)) {
		struct tp_ctrl_msg *m = tp_ctrl_msg_decode(rec, len);
		const struct tp_ctrl_server_tp *tp = &s->tps[0];
		enum phase was = c->phase;
		uint64_t proven = tp->proven_version;
		bool pending = c->proof_pending;
		uint8_t recv_key[32];
		int arm;

		if (!m)
			break;
		arm = m->env->msg_case;
		memcpy(recv_key, c->conn.recv_key, 32);
		on_msg(s, c, m->env);
		if (s->version != FUZZ_PUBLISHED || s->bundle_len != sizeof(published) ||
		    memcmp(s->bundle, published, sizeof(published)) != 0)
			abort();
		if (tp->proven_version < proven)
			abort();
		if (tp->proven_version != proven &&
		    (!pending || !proves(m->env, tp->proven_version) ||
		     tp->proven_version == UINT64_MAX || tp->proven_version == 0))
			abort();
		if (s->tps[1].proven_version)
			abort();
		if (was == AWAIT_HELLO && c->phase == UP &&
		    (arm != TABLEAU__V1__ENVELOPE__MSG_HELLO ||
		     !tp_crypto_equal(m->env->hello->public_key.data, keys.tp_pub[0], 32)))
			abort();
		if (was == AWAIT_HELLO && c->phase == AWAIT_HELLO && !c->dead)
			abort();
		if (c->conn.rx.max !=
		    (c->phase == UP ? TP_CTRL_FRAME_MAX : TP_CTRL_FRAME_PREAUTH_MAX))
			abort();
		if ((s->up[0] == c) != (c->phase == UP && !c->dead) || s->up[1])
			abort();
		if (s->tps[0].connected != (s->up[0] != NULL))
			abort();
		if ((memcmp(recv_key, c->conn.recv_key, 32) != 0) !=
		    (arm == TABLEAU__V1__ENVELOPE__MSG_REKEY && was == UP && !c->dead))
			abort();
		tp_ctrl_msg_free(m);
		if (c->dead)
			break; /* the server reads nothing more from it */
		now_v += 1000000ull;
	}
	tp_ctrl_server_free(s);
	close(sv[1]);
	return 0;
}
