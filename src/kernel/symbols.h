/*
 * The kernel's text symbols, embedded at build time (tools/mksyms.sh) so
 * that backtraces name functions without a debugger.
 */
#ifndef STRATA_SYMBOLS_H
#define STRATA_SYMBOLS_H

#include <stdint.h>

struct ksym {
	uint32_t addr;
	const char *name;
};

/* The symbol containing addr, or NULL; *offset gets addr - symbol. */
const struct ksym *ksym_lookup(uint32_t addr, uint32_t *offset);
/* Writes "name+0xoff" (or "?") into buf. */
void symbolize(uint32_t addr, char *buf, int size);

#endif
