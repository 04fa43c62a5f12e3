// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpus of fuzz_ctrl_frame: one framed envelope of every
 * message type, a stream of several frames, and a bare envelope. Run by
 * hand (see CMakeLists.txt) when the schema changes; the output is checked
 * in.
 */
#include <stdio.h>
#include <string.h>

#include "tp/base/crypto.h"
#include "tp/ctrl/frame.h"
#include "tp/ctrl/msg.h"
#include "tp/ctrl/noise.h"

static size_t frame(const Tableau__V1__Envelope *e, uint8_t *out)
{
	size_t n = tp_ctrl_msg_pack(e, out + 4);

	tp_ctrl_frame_put_len(out, (uint32_t)n);
	return n + 4;
}

static void put(const char *dir, const char *name, const uint8_t *b, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(b, 1, n, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	static uint8_t buf[8192], stream[16384];
	uint8_t key[32], bundle[64];
	Tableau__V1__Envelope e[12];
	Tableau__V1__Hello hello = TABLEAU__V1__HELLO__INIT;
	Tableau__V1__PolicyPush push = TABLEAU__V1__POLICY_PUSH__INIT;
	Tableau__V1__Ack ack = TABLEAU__V1__ACK__INIT;
	Tableau__V1__Nack nack = TABLEAU__V1__NACK__INIT;
	Tableau__V1__Status st = TABLEAU__V1__STATUS__INIT;
	Tableau__V1__PeerState peer = TABLEAU__V1__PEER_STATE__INIT, *peers[] = {&peer};
	Tableau__V1__Counter ctr = TABLEAU__V1__COUNTER__INIT, *ctrs[] = {&ctr};
	Tableau__V1__ExportRequest xq = TABLEAU__V1__EXPORT_REQUEST__INIT;
	Tableau__V1__ExportResponse xr = TABLEAU__V1__EXPORT_RESPONSE__INIT;
	Tableau__V1__Ping ping = TABLEAU__V1__PING__INIT;
	Tableau__V1__Pong pong = TABLEAU__V1__PONG__INIT;
	Tableau__V1__ProofRequest preq = TABLEAU__V1__PROOF_REQUEST__INIT;
	Tableau__V1__ProofResponse pres = TABLEAU__V1__PROOF_RESPONSE__INIT;
	Tableau__V1__Rekey rekey = TABLEAU__V1__REKEY__INIT;
	const char *names[12] = {"hello",
				 "push",
				 "ack",
				 "nack",
				 "status",
				 "export_request",
				 "export_response",
				 "ping",
				 "pong",
				 "proof_request",
				 "proof_response",
				 "rekey"};
	size_t n, sn = 0;
	const char *dir = argc > 1 ? argv[1] : "corpus";

	memset(key, 0x11, sizeof(key));
	memset(bundle, 0x22, sizeof(bundle));
	for (int i = 0; i < 12; i++)
		tableau__v1__envelope__init(&e[i]);
	hello.tp_name = "tp1";
	hello.public_key = (ProtobufCBinaryData){32, key};
	hello.software_version = "0.1.0";
	hello.policy_version = 7;
	e[0].msg_case = TABLEAU__V1__ENVELOPE__MSG_HELLO, e[0].hello = &hello;
	push.signed_bundle = (ProtobufCBinaryData){sizeof(bundle), bundle};
	push.version = 8;
	e[1].msg_case = TABLEAU__V1__ENVELOPE__MSG_PUSH, e[1].push = &push;
	ack.version = 8;
	e[2].msg_case = TABLEAU__V1__ENVELOPE__MSG_ACK, e[2].ack = &ack;
	nack.version = 9;
	nack.reason = TABLEAU__V1__NACK_REASON__NACK_ROLLBACK;
	nack.text = "rollback: version not newer than the running one";
	e[3].msg_case = TABLEAU__V1__ENVELOPE__MSG_NACK, e[3].nack = &nack;
	peer.name = "tp2";
	peer.up = 1;
	peer.last_handshake = 1795000000;
	ctr.name = "drop_no_zone";
	ctr.value = 42;
	st.policy_version = 8;
	st.policy_state = TABLEAU__V1__POLICY_STATE__POLICY_STATE_ISLAND;
	st.n_peers = 1, st.peers = peers;
	st.n_counters = 1, st.counters = ctrs;
	e[4].msg_case = TABLEAU__V1__ENVELOPE__MSG_STATUS, e[4].status = &st;
	xq.id = 1, xq.format = "tableau-export-v1";
	e[5].msg_case = TABLEAU__V1__ENVELOPE__MSG_EXPORT_REQUEST, e[5].export_request = &xq;
	xr.id = 1, xr.error = "not supported";
	e[6].msg_case = TABLEAU__V1__ENVELOPE__MSG_EXPORT_RESPONSE, e[6].export_response = &xr;
	ping.id = 3;
	e[7].msg_case = TABLEAU__V1__ENVELOPE__MSG_PING, e[7].ping = &ping;
	pong.id = 3;
	e[8].msg_case = TABLEAU__V1__ENVELOPE__MSG_PONG, e[8].pong = &pong;
	preq.version = 18446744073709551614ull;
	e[9].msg_case = TABLEAU__V1__ENVELOPE__MSG_PROOF_REQUEST, e[9].proof_request = &preq;
	pres.signed_bundle = (ProtobufCBinaryData){sizeof(bundle), bundle};
	e[10].msg_case = TABLEAU__V1__ENVELOPE__MSG_PROOF_RESPONSE, e[10].proof_response = &pres;
	e[11].msg_case = TABLEAU__V1__ENVELOPE__MSG_REKEY, e[11].rekey = &rekey;
	for (int i = 0; i < 12; i++) {
		char bare[64];

		n = frame(&e[i], buf);
		put(dir, names[i], buf, n);
		memcpy(stream + sn, buf, n);
		sn += n;
		snprintf(bare, sizeof(bare), "bare_%s", names[i]);
		put(dir, bare, buf + 4, n - 4);
	}
	put(dir, "stream", stream, sn);
	/* A valid message 1 to the harness's fixed responder key (1..32). */
	{
		uint8_t r_priv[32], r_pub[32], i_priv[32], m1[TP_CTRL_NOISE_MSG1_OVERHEAD];
		struct tp_ctrl_noise hs;

		for (int i = 0; i < 32; i++)
			r_priv[i] = (uint8_t)(i + 1), i_priv[i] = (uint8_t)(0x40 + i);
		tp_crypto_init();
		tp_crypto_clamp(i_priv);
		tp_crypto_pubkey(r_pub, r_priv);
		tp_ctrl_noise_init(&hs, true, i_priv, r_pub);
		tp_ctrl_noise_write1(&hs, i_priv, NULL, 0, m1, sizeof(m1));
		put(dir, "msg1", m1, sizeof(m1));
		tp_ctrl_noise_wipe(&hs);
	}
	/* A handshake payload announcing FEATURE_REKEY. */
	n = tp_ctrl_msg_pack_features(TABLEAU__V1__FEATURE__FEATURE_REKEY, buf, sizeof(buf));
	put(dir, "features", buf, n);
	return 0;
}
