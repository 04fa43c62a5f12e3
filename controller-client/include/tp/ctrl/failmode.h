/* SPDX-License-Identifier: MIT */
/*
 * The transition point's policy state (DESIGN.md §2.6; IEC 62443-4-2
 * NDR 5.2: deny by default, island mode, fail close).
 *
 *   NO_POLICY    no valid bundle (first boot, LKG missing or refused):
 *                inter-zone traffic is dropped until a valid bundle arrives
 *   ENFORCING    a valid bundle runs, the controller is connected (or none
 *                is configured)
 *   ISLAND       a valid bundle runs, the controller is unreachable: keep
 *                enforcing it (the zone keeps working)
 *   FAIL_CLOSED  the bundle expired, mode fail-closed: inter-zone dropped
 *   FAIL_STATIC  the bundle expired, mode fail-static: keep enforcing it
 *
 * The state is a pure function of the inputs (policy present, its expiry,
 * controller configured and connected, the expiry mode, the time); the
 * object recomputes it on every input and logs each transition exactly
 * once, with the reason, which it also keeps for `tpctl status`. Times are
 * Unix seconds from the caller's clock, read through the policy clock
 * (never behind a time already seen or an accepted issued_at). Values match tableau.v1.PolicyState.
 */
#ifndef TP_CTRL_FAILMODE_H
#define TP_CTRL_FAILMODE_H

#include <stdbool.h>
#include <stdint.h>

enum tp_failmode_state {
	TP_FAILMODE_NO_POLICY = 1,
	TP_FAILMODE_ENFORCING = 2,
	TP_FAILMODE_ISLAND = 3,
	TP_FAILMODE_FAIL_CLOSED = 4,
	TP_FAILMODE_FAIL_STATIC = 5,
};

/* What to do once the bundle expired (values of tpd.conf failure_mode). */
enum tp_failmode_expiry {
	TP_FAILMODE_EXPIRY_CLOSED = 1,
	TP_FAILMODE_EXPIRY_STATIC = 2,
};

struct tp_failmode {
	enum tp_failmode_expiry on_expiry;
	bool controller_configured;
	bool has_policy;
	uint64_t version;
	int64_t expires_at;
	bool controller_up;
	enum tp_failmode_state state;
	int64_t since; /* time of the last transition (policy clock) */
	/* The policy clock: the highest of every time this object was given
	 * and of the floor (tp_failmode_floor: the highest issued_at
	 * accepted). It never goes back, so a clock stepped back (RTC reset,
	 * forged NTP) cannot un-expire a bundle. */
	int64_t clock;
	uint64_t transitions;
	char reason[192];
	void (*log)(void *arg, const char *msg); /* once per transition; optional */
	void *log_arg;
};

/* Starts in NO_POLICY (logged). */
void tp_failmode_init(struct tp_failmode *fm, enum tp_failmode_expiry on_expiry,
		      bool controller_configured, void (*log)(void *arg, const char *msg),
		      void *log_arg, int64_t now);

/* A bundle became the running policy. */
void tp_failmode_set_policy(struct tp_failmode *fm, uint64_t version, int64_t expires_at,
			    int64_t now);
void tp_failmode_set_controller(struct tp_failmode *fm, bool up, int64_t now);
/* Time passes (expiry). */
void tp_failmode_tick(struct tp_failmode *fm, int64_t now);

/* The policy clock at wall time now (raised to now if that is later). */
int64_t tp_failmode_clock(struct tp_failmode *fm, int64_t now);
/* Raise the policy clock to t (the issued_at of an accepted bundle). */
void tp_failmode_floor(struct tp_failmode *fm, int64_t t);
/* Set the policy clock to t, even back: only when a newer signed bundle
 * was accepted on t = max(wall clock, highest issued_at accepted). The
 * controller's signature outweighs a time this object was once given: a
 * wall clock that glitched forward and came back must not keep every
 * later bundle expired until a restart. */
void tp_failmode_rebase(struct tp_failmode *fm, int64_t t);

/* true: enforce the running policy; false: drop every inter-zone packet. */
bool tp_failmode_enforcing(const struct tp_failmode *fm);

const char *tp_failmode_state_name(enum tp_failmode_state st);
const char *tp_failmode_expiry_name(enum tp_failmode_expiry e);

#endif /* TP_CTRL_FAILMODE_H */
