// SPDX-License-Identifier: MIT
/* Last-known-good bundle persistence (see tp/lkg.h). */
#include "tp/lkg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int tp_lkg_save(const char *dir, const uint8_t *buf, size_t len)
{
	char tmp[512], dst[512];
	int fd = -1, dfd = -1, rc;

	if (snprintf(dst, sizeof(dst), "%s/%s", dir, TP_LKG_FILE) >= (int)sizeof(dst) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, TP_LKG_FILE) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, buf, len);
	if (rc)
		goto fail_unlink;
	/* the data must be on disk before the rename makes it the LKG */
	if (fsync(fd) != 0) {
		rc = -errno;
		goto fail_unlink;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = -errno;
		goto fail_unlink;
	}
	fd = -1;
	if (rename(tmp, dst) != 0) {
		rc = -errno;
		goto fail_unlink;
	}
	/* and the rename must be on disk before we call it saved */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	rc = fsync(dfd) != 0 ? -errno : 0;
	close(dfd);
	return rc;
fail_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int tp_lkg_read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;
	int fd, rc = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out_close;
	}
	if ((size_t)st.st_size > max) {
		rc = -EFBIG;
		goto out_close;
	}
	b = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!b) {
		rc = -ENOMEM;
		goto out_close;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO; /* shrank under us */
			goto out_free;
		}
		got += (size_t)r;
	}
	*buf = b;
	*len = got;
	goto out_close;
out_free:
	free(b);
out_close:
	close(fd);
	return rc;
}

int tp_lkg_load(const char *dir, size_t max, uint8_t **buf, size_t *len)
{
	char path[512];

	if (snprintf(path, sizeof(path), "%s/%s", dir, TP_LKG_FILE) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return tp_lkg_read_file(path, max, buf, len);
}
