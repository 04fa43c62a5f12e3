// SPDX-License-Identifier: MIT
/* Whole-file read and the one durable write (see tp/base/file.h). */
#include "tp/base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int tp_file_sync_dir(const char *dir)
{
	int dfd, rc = 0;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fsync(dfd) != 0)
		rc = -errno;
	close(dfd);
	return rc;
}

int tp_file_write_durable(const char *path, const void *buf, size_t len, unsigned mode,
			  unsigned flags)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash;
	int fd, n, rc;

	if (flags & TP_FILE_TMP_PID)
		n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	else
		n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || n >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, buf, len);
	if (!rc && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (rc)
		goto remove_tmp;
	if (rename(tmp, path) != 0) {
		rc = -errno;
		goto remove_tmp;
	}
	/* The rename is durable only once the directory is. */
	if (flags & TP_FILE_NO_DIR_SYNC)
		return 0;
	slash = strrchr(path, '/');
	if (!slash)
		return tp_file_sync_dir(".");
	if (slash == path)
		return tp_file_sync_dir("/");
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	return tp_file_sync_dir(dir);
remove_tmp:
	unlink(tmp);
	return rc;
}

int tp_file_read(const char *path, size_t max, uint8_t **buf, size_t *len)
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
