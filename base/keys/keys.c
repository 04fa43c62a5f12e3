// SPDX-License-Identifier: MIT
/* Keys, key files and key generation (see tp/base/keys.h). */
#include "tp/base/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/base/crypto.h"

void tp_key_to_base64(const uint8_t key[32], char buf[TP_KEY_B64_LEN + 1])
{
	sodium_bin2base64(buf, TP_KEY_B64_LEN + 1, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

int tp_key_from_base64(const char *s, uint8_t key[32])
{
	uint8_t tmp[32];
	const char *end;
	size_t n, bin_len = 0;
	int rc = -EINVAL;

	if (!s)
		return -EINVAL;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	n = (size_t)(end - s);
	if (n != TP_KEY_B64_LEN)
		return -EINVAL;
	/* decoded into tmp: key is written only on success */
	if (sodium_base642bin(tmp, sizeof(tmp), s, n, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != 32)
		goto out;
	memcpy(key, tmp, 32);
	rc = 0;
out:
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}

void tp_key_controller_expand(const uint8_t seed[32], uint8_t sk[64], uint8_t pk[32])
{
	crypto_sign_seed_keypair(pk, sk, seed);
}

void tp_key_controller_generate(uint8_t seed[32], uint8_t pk[32])
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];

	randombytes_buf(seed, 32);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
}

int tp_key_wg_public(const uint8_t priv[32], uint8_t pub[32])
{
	uint8_t k[32];
	int rc;

	memcpy(k, priv, 32);
	tp_crypto_clamp(k);
	rc = tp_crypto_pubkey(pub, k) ? 0 : -EINVAL;
	sodium_memzero(k, sizeof(k));
	return rc;
}

int tp_key_wg_generate(uint8_t priv[32], uint8_t *pub)
{
	if (tp_crypto_init() < 0)
		return -EIO;
	randombytes_buf(priv, 32);
	tp_crypto_clamp(priv);
	return pub ? tp_key_wg_public(priv, pub) : 0;
}

int tp_key_write_file(const char *path, const uint8_t key[32], unsigned mode)
{
	char line[TP_KEY_B64_LEN + 2];
	ssize_t w;
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return -errno;
	tp_key_to_base64(key, line);
	line[TP_KEY_B64_LEN] = '\n';
	line[TP_KEY_B64_LEN + 1] = '\0';
	w = write(fd, line, TP_KEY_B64_LEN + 1);
	if (w != TP_KEY_B64_LEN + 1)
		rc = w < 0 ? -errno : -EIO;
	if (fsync(fd) != 0 && !rc)
		rc = -errno;
	if (close(fd) != 0 && !rc)
		rc = -errno;
	sodium_memzero(line, sizeof(line));
	if (rc)
		unlink(path);
	return rc;
}

int tp_key_parse(const char *buf, size_t len, uint8_t key[32])
{
	char canon[TP_KEY_B64_LEN + 1];
	uint8_t k[32];
	size_t bin_len = 0;

	while (len && (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n' || buf[0] == '\r')) {
		buf++;
		len--;
	}
	while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\n' ||
		       buf[len - 1] == '\r'))
		len--;
	if (len != TP_KEY_B64_LEN)
		return -EINVAL;
	if (sodium_base642bin(k, sizeof(k), buf, len, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != 32)
		goto bad;
	/* one spelling per key: what wg and tp_key_to_base64 write */
	tp_key_to_base64(k, canon);
	if (memcmp(canon, buf, TP_KEY_B64_LEN) != 0)
		goto bad;
	memcpy(key, k, 32);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(canon, sizeof(canon));
	return 0;
bad:
	sodium_memzero(k, sizeof(k));
	sodium_memzero(canon, sizeof(canon));
	return -EINVAL;
}

static int __attribute__((format(printf, 4, 5)))
key_fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

int tp_key_load(const char *path, uint8_t key[32], bool secret, char *err, size_t errlen)
{
	char buf[TP_KEY_FILE_MAX + 1];
	struct stat st;
	size_t got = 0;
	int fd, rc;

	/* O_NONBLOCK: a FIFO without a writer is refused below (not a
	 * regular file) rather than waited on forever; it changes nothing for
	 * a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		return key_fail(rc, err, errlen, "key file %s: %s", path, strerror(-rc));
	}
	if (fstat(fd, &st) != 0) {
		rc = key_fail(-errno, err, errlen, "key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = key_fail(-EINVAL, err, errlen, "key file %s: not a regular file", path);
		goto out;
	}
	/* the one rule for every secret: only its owner, the user reading it */
	if (secret && st.st_uid != geteuid()) {
		rc = key_fail(-EPERM, err, errlen,
			      "key file %s: owned by uid %u, not by the user reading it (uid %u): "
			      "chown it",
			      path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if (secret && (st.st_mode & 077)) {
		rc = key_fail(-EPERM, err, errlen,
			      "key file %s: mode %04o gives access to %s%s%s: chmod 600 it", path,
			      (unsigned)(st.st_mode & 07777), st.st_mode & 070 ? "its group" : "",
			      (st.st_mode & 070) && (st.st_mode & 07) ? " and " : "",
			      st.st_mode & 07 ? "other users" : "");
		goto out;
	}
	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = key_fail(-errno, err, errlen, "key file %s: %s", path,
				      strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > TP_KEY_FILE_MAX || tp_key_parse(buf, got, key) != 0) {
		rc = key_fail(-EINVAL, err, errlen,
			      "key file %s: not a WireGuard key (44 characters of base64 and a "
			      "newline, as "
			      "wg genkey prints)",
			      path);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

int tp_key_read_file(const char *path, uint8_t key[32], int secret)
{
	return tp_key_load(path, key, secret != 0, NULL, 0);
}
