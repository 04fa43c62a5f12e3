// SPDX-License-Identifier: MIT
/*
 * tpctl -i NAME: from an instance name to its admin socket (instance.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tp/dp/config.h"
#include "instance.h"

#define NAME_MAX_LEN 64

static bool valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
		return false;
	/* no '/': the name must not leave conf_dir */
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") ==
	       n;
}

int tpctl_instance_socket(const char *conf_dir, const char *name, char *out, size_t outlen,
			  char *err, size_t errlen)
{
	struct tp_config cfg;
	struct tp_config_err cerr;
	char path[4096];
	int rc;

	if (!valid_name(name)) {
		snprintf(err, errlen,
			 "bad instance name '%s': 1..%d of A-Z a-z 0-9 _ . : -, not starting "
			 "with '.'",
			 name, NAME_MAX_LEN);
		return -EINVAL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.conf", conf_dir, name) >= sizeof(path)) {
		snprintf(err, errlen, "config path of instance '%s' too long", name);
		return -ENAMETOOLONG;
	}
	rc = tp_config_load(path, &cfg, &cerr);
	if (rc) {
		if (cerr.line)
			snprintf(err, errlen, "instance %s: %s:%u: %s", name, path, cerr.line,
				 cerr.msg);
		else
			snprintf(err, errlen, "instance %s: %s: %s", name, path, cerr.msg);
		/* -EINVAL stays the caller's usage error: a bad name */
		return rc == -EINVAL || rc >= 0 ? -EBADMSG : rc;
	}
	if ((size_t)snprintf(out, outlen, "%s", cfg.admin_socket) >= outlen) {
		snprintf(err, errlen, "instance %s: admin_socket too long", name);
		return -ENAMETOOLONG;
	}
	return 0;
}
