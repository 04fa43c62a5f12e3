/* SPDX-License-Identifier: MIT */
/*
 * The TP's running policy as the controller client sees it: one object that
 * takes a bundle (pushed, from a file, or the last-known-good at boot),
 * runs the acceptance checks (tp_bundle_check), persists it as the LKG,
 * makes it live through the owner's publish callback (tpd: the RCU swap of
 * the engine), and drives the policy-state machine (tp/failmode.h).
 *
 * Order of a successful apply: check -> persist (fsync + rename) ->
 * publish -> record. A failure at any step leaves the running policy as it
 * was (a bundle persisted but not published is harmless: it is the newer
 * signed bundle and the next boot verifies it again).
 *
 * Owned by the control thread; not thread-safe.
 */
#ifndef TP_CTRL_APPLY_H
#define TP_CTRL_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/bundle.h"
#include "tp/ctrl_client.h"
#include "tp/failmode.h"

struct tp_engine;
struct tp_site;

struct tp_ctrl_apply {
	uint8_t controller_pk[32]; /* pinned Ed25519 key */
	char state_dir[256];	   /* where lkg.tpb lives; "" = do not persist */
	/* Make engine (compiled from site) live; on 0 the callee owns the
	 * engine, site stays this object's (copy what you keep). On failure
	 * the engine is still the caller's. NULL: this object keeps the
	 * engine (tests, tools). tpd: engine RCU swap + XDP tables + flow
	 * re-check (tp_fwd_publish). */
	int (*publish)(void *arg, const struct tp_site *site, struct tp_engine *engine);
	void *publish_arg;
	/* Optional, before anything is persisted: can this dataplane run the
	 * site at all (tpd: is this TP's key in it)? false nacks with
	 * NACK_APPLY_FAILED and why, the running policy and the LKG unchanged. */
	bool (*accept)(void *arg, const struct tp_site *site, char *why, size_t whylen);

	/* The running policy (site and engine owned unless published). */
	bool has_policy;
	struct tp_bundle_info info;
	struct tp_site *site;
	struct tp_engine *engine;
	uint8_t *bundle; /* the running bundle's signed bytes (owned; export hashes them) */
	size_t bundle_len;
	char source[16]; /* "lkg", "controller", "file" */
	struct tp_failmode fm;
	uint64_t applied, refused;
	enum tp_bundle_status last_refusal;
	char last_error[160];
};

/* Set up (no policy yet: NO_POLICY). */
void tp_ctrl_apply_init(struct tp_ctrl_apply *a, const uint8_t controller_pk[32],
			const char *state_dir, enum tp_failmode_expiry on_expiry,
			bool controller_configured, void (*log)(void *arg, const char *msg),
			void *log_arg, int64_t now);
void tp_ctrl_apply_fini(struct tp_ctrl_apply *a);

/*
 * Boot: load STATE_DIR/lkg.tpb and verify it again. An expired LKG is
 * still loaded under fail-static (signature and form checked; the state is
 * FAIL_STATIC at once); under fail-closed it is refused. Returns
 * TP_BUNDLE_OK, or the refusal (the state stays NO_POLICY); -ENOENT-like
 * "nothing saved" is reported as TP_BUNDLE_UNDECODABLE with last_error
 * saying so and *found false.
 */
enum tp_bundle_status tp_ctrl_apply_boot(struct tp_ctrl_apply *a, int64_t now, bool *found);

/* Apply a bundle from source ("controller", "file"). 0 when it is live and
 * persisted; otherwise negative with res->reason (a NackReason) and text. */
int tp_ctrl_apply_bundle(struct tp_ctrl_apply *a, const uint8_t *buf, size_t len, int64_t now,
			 const char *source, struct tp_ctrl_apply_result *res);

#endif /* TP_CTRL_APPLY_H */
