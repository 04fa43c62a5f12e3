// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for tp_audit_format(): the input is cut into three
 * parameter values and a MSG (first bytes: the cut points; the output
 * buffer size). Invariants: the line is no longer than the buffer, has no
 * control character (one line), is valid UTF-8 (glibc's decoder, not
 * ours), and its structured data reads back as the parameters given, in
 * order (one that does not fit whole is left out, never cut; from 1024
 * bytes on all must fit), each value no longer than its input and with
 * unescaped '"', '\' and ']' only where the input had them.
 */
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dp/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tp_audit *audit;

static uint64_t fixed_wall(void *arg)
{
	(void)arg;
	return 1796200000123456789ull;
}

static bool sink(void *arg, const char *line, size_t len)
{
	(void)arg;
	(void)line;
	(void)len;
	return true;
}

static void setup(void)
{
	struct tp_audit_params p = {.sink = TP_AUDIT_SINK_FUNC,
				    .hostname = "fuzz",
				    .procid = 1,
				    .wall_ns = fixed_wall,
				    .write = sink};

	setlocale(LC_ALL, "C.UTF-8");
	audit = tp_audit_new(&p);
	if (!audit)
		abort();
}

/* Read one PARAM-VALUE at *p (after the opening quote), unescaping. */
static size_t read_value(const char **p, char *out)
{
	size_t n = 0;

	while (**p != '"') {
		if (**p == 0 || **p == ']')
			abort(); /* unterminated, or an unescaped ']' */
		if (**p == '\\' && ((*p)[1] == '"' || (*p)[1] == '\\' || (*p)[1] == ']'))
			(*p)++;
		out[n++] = *(*p)++;
	}
	(*p)++;
	out[n] = 0;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[3] = {"a", "reason", "peer"};
	static char vals[3][4096], msg[4096], line[TP_AUDIT_LINE_MAX], got[4096];
	struct tp_audit_param sd[3];
	size_t cut[3], off = 4, len, n;
	const char *p;

	if (!audit)
		setup();
	if (size < 4)
		return 0;
	len = TP_AUDIT_FORMAT_MIN + (size_t)data[0] * 6; /* 512 .. 2042 */
	for (int i = 0; i < 3; i++) {
		cut[i] = data[i + 1] % 64;
		if (cut[i] > size - off)
			cut[i] = size - off;
		memcpy(vals[i], data + off, cut[i]);
		vals[i][cut[i]] = 0; /* an embedded NUL just ends the value */
		off += cut[i];
		sd[i] = (struct tp_audit_param){names[i], vals[i]};
	}
	memcpy(msg, data + off, size - off < sizeof(msg) - 1 ? size - off : sizeof(msg) - 1);
	msg[size - off < sizeof(msg) - 1 ? size - off : sizeof(msg) - 1] = 0;

	n = tp_audit_format(audit, fixed_wall(NULL), TP_AUDIT_WARNING, "fuzz", sd, 3, msg, line,
			    len);
	if (n >= len || strlen(line) != n)
		abort();
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			abort();
	}
	if (mbstowcs(NULL, line, 0) == (size_t)-1)
		abort();
	p = strstr(line, "[" TP_AUDIT_SD_ID);
	if (!p)
		abort();
	p += strlen(TP_AUDIT_SD_ID) + 1;
	/* A parameter that does not fit whole is left out, never cut: those
	 * present come in order. Three values of at most 63 bytes escape to
	 * at most 3 * 136 bytes beside a ~70-byte header, so from 1024 on
	 * every one must be there. */
	for (int i = 0; i < 3; i++) {
		size_t k = strlen(names[i]);

		if (p[0] != ' ' || strncmp(p + 1, names[i], k) != 0 || p[k + 1] != '=') {
			if (len >= 1024)
				abort(); /* left out although it fits */
			continue;
		}
		if (p[k + 2] != '"')
			abort();
		p += k + 3;
		if (read_value(&p, got) > strlen(vals[i]))
			abort();
		for (const char *c = got; *c; c++) {
			if ((*c == '"' || *c == '\\' || *c == ']') && !strchr(vals[i], *c))
				abort();
		}
	}
	if (*p != ']' || (p[1] && p[1] != ' '))
		abort();
	return 0;
}
