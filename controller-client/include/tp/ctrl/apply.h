/* SPDX-License-Identifier: MIT */
/*
 * The TP's running policy as the controller client sees it: one object that
 * takes a bundle (pushed, from a file, or the last-known-good at boot),
 * runs the acceptance checks (tp_bundle_check), persists it as the LKG,
 * makes it live through the owner's publish callback (tpd: the RCU swap of
 * the engine), and drives the policy-state machine (tp/ctrl/failmode.h).
 *
 * Order of a successful apply: check -> persist (the rollback floor, then
 * the LKG; each fsync + rename) -> publish -> record. A failure at any step
 * leaves the running policy as it was (a bundle persisted but not
 * published is harmless: it is the newer signed bundle and the next boot
 * verifies it again; the floor it raised lets exactly that bundle in again).
 *
 * Rollback floor (tp/ctrl/lkg.h, STATE_DIR/floor): the highest version and
 * issued_at ever accepted. A bundle must be newer than the higher of the
 * floor and the LKG's version (when the LKG's signature verifies, even if
 * it is expired or refused otherwise), except the one bundle the floor was
 * written for (same hash) when it is not the one running. Loading it at
 * init: missing -> the LKG's version alone (logged: first boot, or the
 * floor was lost); corrupt or torn -> the same, with an error naming the
 * file; either way the file is rewritten from what is known at boot. With
 * both lost the floor is 0: nothing on the disk remains to say otherwise.
 *
 * Clock floor: the running bundle is judged on the policy clock of
 * tp/ctrl/failmode.h, max(wall clock, every time seen, the highest issued_at
 * accepted); a newer bundle on max(wall clock, the highest issued_at
 * accepted), which becomes the policy clock once it is accepted (a clock
 * glitch forward must not refuse every later bundle). A bundle issued
 * more than max_skew_s ahead of that is refused.
 *
 * Owned by the control thread; not thread-safe.
 */
#ifndef TP_CTRL_APPLY_H
#define TP_CTRL_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/policy/bundle.h"
#include "tp/ctrl/client.h"
#include "tp/ctrl/failmode.h"
#include "tp/ctrl/lkg.h"

struct tp_engine;
struct tp_site;

struct tp_ctrl_apply {
	uint8_t controller_pk[32]; /* pinned Ed25519 key */
	char state_dir[256];	   /* where lkg.tpb lives; "" = do not persist */
	int64_t max_skew_s;	   /* tpd.conf max_clock_skew; TP_CTRL_APPLY_SKEW_DEFAULT_S */
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
	/* The rollback floor as known (file and LKG combined); floor_status
	 * is how loading the file went (0, -ENOENT, -EBADMSG, -errno). */
	struct tp_lkg_floor floor;
	int floor_status;
	char floor_note[256];
	/* tp_ctrl_apply_boot took the LKG below the floor: the bundle that ran
	 * before a save that did not finish (the floor's PREV) */
	bool boot_prev;
};

#define TP_CTRL_APPLY_SKEW_DEFAULT_S 300

/* Set up (no policy yet: NO_POLICY) and load the rollback floor from
 * state_dir (the policy clock starts at its issued_at). */
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
