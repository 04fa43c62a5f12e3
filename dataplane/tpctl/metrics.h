/* SPDX-License-Identifier: MIT */
/* tpctl metrics: tpd's counters as a Prometheus exposition (tp/dp/metrics.h). */
#ifndef TPCTL_METRICS_H
#define TPCTL_METRICS_H

/* tpctl [--socket PATH] metrics [openmetrics|text]: argv[0] is "metrics".
 * Returns the exit status (tpctl's codes). */
int tpctl_metrics(const char *socket_path, int argc, char **argv);

#endif /* TPCTL_METRICS_H */
