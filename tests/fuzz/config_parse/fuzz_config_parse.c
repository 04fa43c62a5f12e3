// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the tpd.conf parser: any text either parses into a
 * configuration that passes its own checks, or fails with a line number
 * inside the text and a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dp/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_config cfg;
	struct tp_config_err err;
	unsigned lines = 1;
	char *text;

	if (size > 1 << 16)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < size; i++)
		lines += text[i] == '\n';
	if (tp_config_parse(text, &cfg, &err) == 0) {
		if (cfg.n_workers < 1 || cfg.n_workers > TP_CONFIG_WORKERS_MAX || cfg.burst < 1 ||
		    cfg.admin_socket[0] != '/' || !memchr(cfg.name, '\0', sizeof(cfg.name)))
			abort();
	} else if (err.line > lines || !err.msg[0]) {
		abort();
	}
	free(text);
	return 0;
}
