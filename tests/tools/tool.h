/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tool.h: what the test tools in tests/tools/ share. Each tool sets
 * tool_name (for messages) before it parses its arguments.
 */
#ifndef CLEARDF_TOOL_H
#define CLEARDF_TOOL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char *tool_name = "tool";

/* num S MIN MAX WHAT: S as a number in MIN..MAX, or exit 2 with a message. */
static inline long num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "%s: bad %s '%s' (%ld..%ld)\n", tool_name, what, s,
			min, max);
		exit(2);
	}
	return v;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The Internet checksum over LEN bytes (even) sums to 0xffff when valid. */
static inline int ip_csum_ok(const uint8_t *p, unsigned int len)
{
	uint32_t sum = 0;
	unsigned int i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

#endif
