// SPDX-License-Identifier: MIT
/* Key files and key generation (see tp/keys.h). */
#include "tp/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void tp_key_to_base64(const uint8_t key[32], char buf[TP_KEY_B64_LEN + 1])
{
	sodium_bin2base64(buf, TP_KEY_B64_LEN + 1, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

int tp_key_from_base64(const char *s, uint8_t key[32])
{
	const char *end;
	size_t n, bin_len = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	n = (size_t)(end - s);
	if (n != TP_KEY_B64_LEN)
		return -EINVAL;
	if (sodium_base642bin(key, 32, s, n, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != 32)
		return -EINVAL;
	return 0;
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

static void clamp(uint8_t k[32])
{
	k[0] &= 248;
	k[31] = (uint8_t)((k[31] & 127) | 64);
}

int tp_key_wg_public(const uint8_t priv[32], uint8_t pub[32])
{
	uint8_t k[32];
	int rc;

	memcpy(k, priv, 32);
	clamp(k);
	rc = crypto_scalarmult_base(pub, k) == 0 ? 0 : -EINVAL;
	sodium_memzero(k, sizeof(k));
	return rc;
}

int tp_key_wg_generate(uint8_t priv[32], uint8_t pub[32])
{
	randombytes_buf(priv, 32);
	clamp(priv);
	return tp_key_wg_public(priv, pub);
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

int tp_key_read_file(const char *path, uint8_t key[32], int secret)
{
	char buf[128];
	struct stat st;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (secret && (st.st_mode & 077)) {
		rc = -EPERM;
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	buf[n] = '\0';
	rc = tp_key_from_base64(buf, key);
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}
