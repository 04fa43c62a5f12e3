/* SPDX-License-Identifier: MIT */
/*
 * RFC 3339 timestamps in UTC, the only form policy files accept:
 * "2026-12-01T08:00:00Z" (fractional seconds are refused: rule validity is
 * to the second). Offsets other than Z are refused too, so a timestamp read
 * in a file always means the same instant whatever the reader's timezone.
 * Durations (--valid-for) are spelt 30d, 12h, 90m, 3600s.
 */
#ifndef TP_POLICY_TIMEFMT_H
#define TP_POLICY_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse; false on anything but YYYY-MM-DDTHH:MM:SSZ naming a real instant
 * between 1970 and 9999. */
bool tp_time_parse(const char *s, int64_t *out);

/* Format as YYYY-MM-DDTHH:MM:SSZ; buf needs 21 bytes. */
const char *tp_time_format(int64_t t, char *buf, size_t len);

/* A duration: "30d", "12h", "90m", "3600s" or plain seconds, positive and
 * at most a quarter of INT64_MAX seconds; false otherwise. */
bool tp_time_parse_duration(const char *s, int64_t *out);

#endif /* TP_POLICY_TIMEFMT_H */
