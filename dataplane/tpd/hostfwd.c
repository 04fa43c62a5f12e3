// SPDX-License-Identifier: MIT
/* The host's IP forwarding on the TP's ports: see hostfwd.h. */
#include "hostfwd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Value of a 0/1 sysctl: 0, 1, -ENOENT (absent: older kernel, no IPv6) or
 * -errno. */
static int read_flag(const char *path)
{
	char buf[16] = {0};
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	return buf[0] == '0' ? 0 : 1;
}

static int write_zero(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, "0\n", 2) != 2)
		rc = errno ? -errno : -EIO;
	close(fd);
	return rc;
}

/* Turn one per-port switch off; 0 if it is off now or absent. */
static int turn_off(const char *root, const char *fmt, const char *port, const char *why,
		    void (*say)(void *, const char *), void *arg, char *err, size_t errlen)
{
	char path[512], name[256], line[512];
	int v, rc;

	snprintf(path, sizeof(path), fmt, root, port);
	v = read_flag(path);
	if (v == -ENOENT || v == 0)
		return 0;
	/* the sysctl's name: the path below root, dots for slashes */
	snprintf(name, sizeof(name), "%s", path + strlen(root) + 1);
	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '.';
	if (v < 0) {
		snprintf(err, errlen, "cannot read %s: %s", name, strerror(-v));
		return v;
	}
	rc = write_zero(path);
	if (rc) {
		snprintf(err, errlen, "%s is 1 and cannot be turned off (%s): set it to 0", name,
			 strerror(-rc));
		return rc;
	}
	snprintf(line, sizeof(line), "turned off %s (was 1): %s", name, why);
	say(arg, line);
	return 0;
}

int tpd_hostfwd_lock(const char *root, const char *const *ports, size_t n_ports,
		     void (*say)(void *arg, const char *line), void *arg, char *err, size_t errlen)
{
	static const char why[] = "only tpd carries traffic between its ports";
	char path[512];
	int v, rc;

	/* refuse before changing anything */
	snprintf(path, sizeof(path), "%s/net/ipv6/conf/all/forwarding", root);
	v = read_flag(path);
	if (v == 1) {
		snprintf(err, errlen,
			 "IPv6 forwarding is on (net.ipv6.conf.all.forwarding = 1): the kernel "
			 "could route between %s and %s outside tpd; set it to 0",
			 n_ports > 0 ? ports[0] : "?", n_ports > 1 ? ports[1] : "?");
		return -EPERM;
	}
	if (v < 0 && v != -ENOENT) {
		snprintf(err, errlen, "cannot read net.ipv6.conf.all.forwarding: %s", strerror(-v));
		return v;
	}
	for (size_t i = 0; i < n_ports; i++) {
		rc = turn_off(root, "%s/net/ipv4/conf/%s/forwarding", ports[i], why, say, arg, err,
			      errlen);
		rc = rc
			     ?: turn_off(root, "%s/net/ipv6/conf/%s/force_forwarding", ports[i],
					 why, say, arg, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}
