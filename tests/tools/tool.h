/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tool.h: what the test tools in tests/tools/ and the benchmark's
 * bench/udpblast.c share. Each tool sets tool_name (for messages) before
 * it parses its arguments.
 */
#ifndef CLEARDF_TOOL_H
#define CLEARDF_TOOL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * 64-bit FNV-1a over N bytes, continuing from H (FNV1A_INIT to start):
 * pcapip's reassembly hash and the payload hashes of udpseq and udpblast
 * are this one function, so that they can be compared.
 */
#define FNV1A_INIT 0xcbf29ce484222325ULL

static inline uint64_t fnv1a(const uint8_t *p, size_t n, uint64_t h)
{
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct tool_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
};

/*
 * tool_dispatch: `tool CMD ARGS...` runs the CMD of CMDS (ended by a NULL
 * name) with argv[0] = CMD; -h/--help prints USAGE to stdout; anything
 * else prints it to stderr and returns 2.
 */
static inline int tool_dispatch(int argc, char **argv, const struct tool_cmd *cmds,
				void (*usage)(FILE *f))
{
	const struct tool_cmd *c;

	if (argc >= 2) {
		for (c = cmds; c->name; c++)
			if (!strcmp(argv[1], c->name))
				return c->run(argc - 1, argv + 1);
		if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			usage(stdout);
			return 0;
		}
	}
	usage(stderr);
	return 2;
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
