#include "kernel/printk.h"
#include "kernel/symbols.h"
#include "lib/string.h"

extern const struct ksym ksyms[];
extern const uint32_t ksyms_count;
extern char etext[];

const struct ksym *ksym_lookup(uint32_t addr, uint32_t *offset)
{
	uint32_t lo = 0, hi = ksyms_count;

	if (hi == 0 || addr < ksyms[0].addr || addr >= (uint32_t)etext)
		return 0;
	while (hi - lo > 1) {	/* the last symbol at or below addr */
		uint32_t mid = (lo + hi) / 2;
		if (ksyms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	*offset = addr - ksyms[lo].addr;
	return &ksyms[lo];
}

void symbolize(uint32_t addr, char *buf, int size)
{
	uint32_t off;
	const struct ksym *s = ksym_lookup(addr, &off);

	if (s)
		snprintf(buf, size, "%s+0x%x", s->name, off);
	else
		snprintf(buf, size, "?");
}
