/* SPDX-License-Identifier: MIT */
/*
 * tpctl -i NAME: the admin socket of the tpd instance NAME, the one
 * tpd@NAME.service runs with CONFIG_DIR/NAME.conf. The socket is whatever
 * that file's admin_socket says (tpd's default when it says nothing), so
 * tpctl and tpd can never disagree about it. CONFIG_DIR is /etc/tableau,
 * or $TABLEAU_CONFIG_DIR when set (tests, staged installs).
 */
#ifndef TPCTL_INSTANCE_H
#define TPCTL_INSTANCE_H

#include <stddef.h>

#define TPCTL_CONFIG_DIR     "/etc/tableau"
#define TPCTL_CONFIG_DIR_ENV "TABLEAU_CONFIG_DIR"

/*
 * Writes the admin socket path of instance name (read from
 * conf_dir/NAME.conf) into out. A name is what systemd accepts as an
 * instance and tpd as a file name: 1..64 of [A-Za-z0-9_.:-], not starting
 * with '.'. Returns 0, or -EINVAL (bad name), -EBADMSG (the file is not a
 * valid tpd.conf), -ENAMETOOLONG, or -errno of reading the file (-ENOENT:
 * no such instance), with one line in err naming the file.
 */
int tpctl_instance_socket(const char *conf_dir, const char *name, char *out, size_t outlen,
			  char *err, size_t errlen);

#endif /* TPCTL_INSTANCE_H */
