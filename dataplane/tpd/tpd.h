/* SPDX-License-Identifier: MIT */
/*
 * The daemon's state, shared by main.c (start-up, control loop), admin.c
 * (admin socket commands) and telemetry.c (DPDK telemetry commands).
 *
 * Owned by the control thread. After start-up the fields that change are
 * the counters (written by their slot owners, read by anyone) and the
 * policy and controller state (control thread only: the admin socket and
 * the controller session run there too); the DPDK telemetry thread reads
 * only the counters and what is constant by then.
 */
#ifndef TPD_H
#define TPD_H

#include <stdint.h>

#include <jansson.h>

#include "tp/base/admin.h"
#include "tp/dp/audit.h"
#include "tp/base/clock.h"
#include "tp/dp/config.h"
#include "tp/ctrl/apply.h"
#include "tp/ctrl/client.h"
#include "tp/dp/counters.h"
#include "tp/dp/fwd.h"
#include "tp/dp/metrics.h"
#include "tp/dp/neigh.h"
#include "tp/dp/runtime.h"

struct tpd {
	struct tp_config cfg;
	uint8_t private_key[TP_CONFIG_KEY_LEN]; /* wiped at exit */
	uint8_t public_key[TP_CONFIG_KEY_LEN];
	struct tp_clock clock;
	struct tp_counters *counters; /* n_workers slots + one for control */
	struct tp_runtime rt;
	struct tp_admin *admin;
	struct tp_neigh *neigh; /* xdp mode: next hops on the two interfaces */
	struct tp_fwd *fwd;	/* forwarding: policy, tunnel, stages */
	int udp_fd;		/* holds listen_port in xdp mode so nothing else takes it */
	int sig_fd;
	uint64_t start_ns;
	uint64_t next_tick_ns;
	/* the running policy: the one apply path (policy.c); changes only on
	 * the control thread */
	struct tp_ctrl_apply policy;
	struct tp_ctrl_client *ctrl; /* NULL without controller_address */
	uint64_t last_acked_version;
	/* the /metrics endpoint; NULL without metrics_listen */
	struct tp_metrics_http *metrics;
	struct tp_audit *audit; /* NULL with audit = off (tp/dp/audit.h) */
};

/* The counter slot of the control thread. */
static inline struct tp_counters_slot *tpd_control_slot(struct tpd *d)
{
	return tp_counters_slot(d->counters, d->cfg.n_workers);
}

/* Views shared by the admin socket and telemetry (new references). */
json_t *tpd_status_json(struct tpd *d);
json_t *tpd_counters_json(struct tpd *d);

/* policy.c: the running policy (tp/ctrl/apply.h) published into fwd, and
 * the controller session when controller_address is set. */
int tpd_policy_start(struct tpd *d, char *err, size_t errlen);
void tpd_policy_stop(struct tpd *d);
void tpd_policy_tick(struct tpd *d);
int tpd_policy_apply_file(struct tpd *d, const char *path, char *err, size_t errlen);
json_t *tpd_policy_json(struct tpd *d);
json_t *tpd_controller_json(struct tpd *d);

/* The admin socket's commands. */
extern const struct tp_admin_cmd tpd_admin_cmds[];
extern const size_t tpd_admin_n_cmds;

/* The /metrics body: the admin commands tp_metrics_sources names, called
 * in process, through the formatter (tp_metrics_body_fn; arg is the tpd). */
char *tpd_metrics_text(void *arg, enum tp_metrics_format fmt, size_t *len);

/* Register /tableau/... telemetry commands; d must outlive EAL. */
int tpd_telemetry_register(struct tpd *d);

#endif /* TPD_H */
