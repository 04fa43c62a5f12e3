/* SPDX-License-Identifier: MIT */
/*
 * The host's own IP forwarding on the TP's ports (DESIGN.md §2.7: nothing
 * crosses between the ports except through tpd, whatever the host's
 * settings). The XDP programs already hand the kernel nothing it could
 * forward; this is the second wall, checked once at start in xdp mode:
 *
 *   net.ipv4.conf.PORT.forwarding = 1   turned off, and said (the kernel
 *                                       decides IPv4 forwarding by the
 *                                       input port)
 *   net.ipv6.conf.PORT.force_forwarding turned off, and said (Linux 6.17+)
 *   net.ipv6.conf.all.forwarding = 1    refused, one line naming it: IPv6
 *                                       forwarding is one switch for the
 *                                       whole namespace, and turning it off
 *                                       would change the host's other
 *                                       interfaces behind the operator's back
 *
 * A later write to net.ipv4.ip_forward or net.ipv4.conf.all.forwarding
 * turns every port's IPv4 forwarding back on: the XDP layer holds alone
 * then (tests/lab/tpd-nobypass proves it).
 */
#ifndef TPD_HOSTFWD_H
#define TPD_HOSTFWD_H

#include <stddef.h>

/*
 * ports: interface names; root: "/proc/sys" (tests pass a directory tree
 * laid out the same way). say() gets one line per setting changed. Returns
 * 0, or -EPERM with err naming the sysctl to change (nothing further is
 * changed), or -errno when a setting could not be read or written.
 */
int tpd_hostfwd_lock(const char *root, const char *const *ports, size_t n_ports,
		     void (*say)(void *arg, const char *line), void *arg, char *err, size_t errlen);

#endif /* TPD_HOSTFWD_H */
