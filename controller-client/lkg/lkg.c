// SPDX-License-Identifier: MIT
/* Last-known-good persistence (tp/lkg.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/lkg.h"

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int tp_lkg_save(const char *dir, const uint8_t *buf, size_t len)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int fd, dfd, rc;

	if (snprintf(dst, sizeof(dst), "%s/%s", dir, TP_LKG_FILE) >= (int)sizeof(dst) ||
	    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, TP_LKG_FILE) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, buf, len);
	if (!rc && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (rc)
		goto remove_tmp;
	if (rename(tmp, dst) != 0) {
		rc = -errno;
		goto remove_tmp;
	}
	/* The rename is durable only once the directory is. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fsync(dfd) != 0)
		rc = -errno;
	close(dfd);
	return rc;
remove_tmp:
	unlink(tmp);
	return rc;
}

int tp_lkg_read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	uint8_t *b = NULL;
	int fd, rc = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO; /* shrank under us */
			goto out;
		}
		got += (size_t)n;
	}
	*buf = b;
	*len = got;
	b = NULL;
out:
	free(b);
	close(fd);
	return rc;
}

int tp_lkg_load(const char *dir, size_t max, uint8_t **buf, size_t *len)
{
	char path[PATH_MAX];

	*buf = NULL;
	*len = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, TP_LKG_FILE) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return tp_lkg_read_file(path, max, buf, len);
}
