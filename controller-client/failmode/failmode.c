// SPDX-License-Identifier: MIT
/* Policy state machine (tp/ctrl/failmode.h). */
#include <stdio.h>
#include <string.h>

#include "tp/ctrl/failmode.h"

const char *tp_failmode_state_name(enum tp_failmode_state st)
{
	switch (st) {
	case TP_FAILMODE_NO_POLICY:
		return "no-policy";
	case TP_FAILMODE_ENFORCING:
		return "enforcing";
	case TP_FAILMODE_ISLAND:
		return "island";
	case TP_FAILMODE_FAIL_CLOSED:
		return "fail-closed";
	case TP_FAILMODE_FAIL_STATIC:
		return "fail-static";
	}
	return "?";
}

const char *tp_failmode_expiry_name(enum tp_failmode_expiry e)
{
	return e == TP_FAILMODE_EXPIRY_STATIC ? "fail-static" : "fail-closed";
}

static enum tp_failmode_state compute(const struct tp_failmode *fm, int64_t now)
{
	if (!fm->has_policy)
		return TP_FAILMODE_NO_POLICY;
	if (now >= fm->expires_at)
		return fm->on_expiry == TP_FAILMODE_EXPIRY_STATIC ? TP_FAILMODE_FAIL_STATIC
								  : TP_FAILMODE_FAIL_CLOSED;
	if (fm->controller_configured && !fm->controller_up)
		return TP_FAILMODE_ISLAND;
	return TP_FAILMODE_ENFORCING;
}

static void describe(struct tp_failmode *fm)
{
	unsigned long long v = (unsigned long long)fm->version;
	long long exp = (long long)fm->expires_at;

	switch (fm->state) {
	case TP_FAILMODE_NO_POLICY:
		snprintf(
			fm->reason, sizeof(fm->reason),
			"no valid policy: inter-zone traffic dropped until a valid bundle arrives");
		break;
	case TP_FAILMODE_ENFORCING:
		snprintf(fm->reason, sizeof(fm->reason), "enforcing policy version %llu", v);
		break;
	case TP_FAILMODE_ISLAND:
		snprintf(fm->reason, sizeof(fm->reason),
			 "controller unreachable: enforcing last-known-good version %llu until it "
			 "expires (%lld)",
			 v, exp);
		break;
	case TP_FAILMODE_FAIL_CLOSED:
		snprintf(fm->reason, sizeof(fm->reason),
			 "policy version %llu expired (%lld), fail-closed: inter-zone traffic "
			 "dropped",
			 v, exp);
		break;
	case TP_FAILMODE_FAIL_STATIC:
		snprintf(fm->reason, sizeof(fm->reason),
			 "policy version %llu expired (%lld), fail-static: still enforcing it", v,
			 exp);
		break;
	}
}

int64_t tp_failmode_clock(struct tp_failmode *fm, int64_t now)
{
	if (now > fm->clock)
		fm->clock = now;
	return fm->clock;
}

void tp_failmode_floor(struct tp_failmode *fm, int64_t t)
{
	(void)tp_failmode_clock(fm, t);
}

void tp_failmode_rebase(struct tp_failmode *fm, int64_t t)
{
	fm->clock = t;
}

static void update(struct tp_failmode *fm, int64_t wall, bool force_log)
{
	int64_t now = tp_failmode_clock(fm, wall);
	enum tp_failmode_state old = fm->state, st = compute(fm, now);
	char msg[256];

	if (st == old && !force_log)
		return;
	fm->state = st;
	if (st != old) {
		fm->since = now;
		fm->transitions++;
	}
	describe(fm);
	if (fm->log) {
		if (st != old && old)
			snprintf(msg, sizeof(msg), "policy state %s -> %s: %s",
				 tp_failmode_state_name(old), tp_failmode_state_name(st),
				 fm->reason);
		else
			snprintf(msg, sizeof(msg), "policy state %s: %s",
				 tp_failmode_state_name(st), fm->reason);
		fm->log(fm->log_arg, msg);
	}
}

void tp_failmode_init(struct tp_failmode *fm, enum tp_failmode_expiry on_expiry,
		      bool controller_configured, void (*log)(void *arg, const char *msg),
		      void *log_arg, int64_t now)
{
	memset(fm, 0, sizeof(*fm));
	fm->on_expiry = on_expiry;
	fm->controller_configured = controller_configured;
	fm->log = log;
	fm->log_arg = log_arg;
	fm->clock = INT64_MIN;
	update(fm, now, true);
}

void tp_failmode_set_policy(struct tp_failmode *fm, uint64_t version, int64_t expires_at,
			    int64_t now)
{
	/* A new version in the same state (ENFORCING -> ENFORCING) is not a
	 * transition of the state machine but is worth its one line. */
	bool changed = !fm->has_policy || fm->version != version;

	fm->has_policy = true;
	fm->version = version;
	fm->expires_at = expires_at;
	update(fm, now, changed && compute(fm, tp_failmode_clock(fm, now)) == fm->state);
}

void tp_failmode_set_controller(struct tp_failmode *fm, bool up, int64_t now)
{
	fm->controller_up = up;
	update(fm, now, false);
}

void tp_failmode_tick(struct tp_failmode *fm, int64_t now)
{
	update(fm, now, false);
}

bool tp_failmode_enforcing(const struct tp_failmode *fm)
{
	return fm->state == TP_FAILMODE_ENFORCING || fm->state == TP_FAILMODE_ISLAND ||
	       fm->state == TP_FAILMODE_FAIL_STATIC;
}
