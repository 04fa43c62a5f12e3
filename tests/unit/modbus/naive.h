/* SPDX-License-Identifier: MIT */
/* A naive reading of a whole client stream against a profile, written
 * independently of policy/modbus for the differential test. */
#ifndef NAIVE_H
#define NAIVE_H

#include <stddef.h>

#include "tp/policy/modbus.h"

struct naive_result {
	enum tp_modbus_result result; /* of the first refused request, or OK */
	size_t at;		      /* index of the byte that decides it */
};

/* The stream s[0..len) may end inside an ADU (undecided: OK). */
struct naive_result naive_check(const struct tp_modbus_profile *p, const uint8_t *s, size_t len);

/* The same against several profiles: a request passes if one admits it
 * whole (DESIGN.md §7.3); one that none admits is decided by the profile
 * whose deciding byte comes last. */
struct naive_result naive_check_any(const struct tp_modbus_profile *const *p, size_t n,
				    const uint8_t *s, size_t len);

#endif
