//@ LAB 8 FILE
/*
 * Two registers in the mapped page: IOREGSEL selects an internal
 * register, IOWIN reads or writes it. Register 1 is the version (bits
 * 16-23: the highest input), register 0x10 + 2n the low half of input n's
 * redirection entry and 0x11 + 2n its high half (bits 24-31: destination
 * APIC ID).
 */
#include <stdint.h>

#include "kernel/ioapic.h"

#define IOREGSEL	0x00
#define IOWIN		0x10
#define REG_VER		0x01
#define REG_REDTBL	0x10

#define RED_MASKED	0x10000
#define RED_LEVEL	0x08000
#define RED_LOW		0x02000	/* active low */

#define INTI_POLARITY(f)	((f) & 3)		/* 1 high, 3 low, 0 bus default */
#define INTI_TRIGGER(f)		(((f) >> 2) & 3)	/* 1 edge, 3 level, 0 bus default */

static volatile uint32_t *ioapic;
static uint32_t base;
static int inputs;

static uint32_t rd(uint32_t reg)
{
	ioapic[IOREGSEL / 4] = reg;
	return ioapic[IOWIN / 4];
}

static void wr(uint32_t reg, uint32_t v)
{
	ioapic[IOREGSEL / 4] = reg;
	ioapic[IOWIN / 4] = v;
}

volatile void *ioapic_regs(void)
{
	return ioapic;
}

int ioapic_init(volatile void *mmio, uint32_t gsi_base)
{
	ioapic = mmio;
	base = gsi_base;
	inputs = ((rd(REG_VER) >> 16) & 0xFF) + 1;
	for (int i = 0; i < inputs; i++) {
		wr(REG_REDTBL + 2 * i, RED_MASKED);
		wr(REG_REDTBL + 2 * i + 1, 0);
	}
	return inputs;
}

int ioapic_route(uint32_t gsi, int vector, int dest, uint16_t flags)
{
	uint32_t lo = (uint32_t)vector;	/* fixed delivery, physical destination */
	uint32_t n = gsi - base;

	if (!ioapic || gsi < base || n >= (uint32_t)inputs)
		return -1;
	if (INTI_POLARITY(flags) == 3)
		lo |= RED_LOW;
	if (INTI_TRIGGER(flags) == 3)
		lo |= RED_LEVEL;
	wr(REG_REDTBL + 2 * n + 1, (uint32_t)dest << 24);
	wr(REG_REDTBL + 2 * n, lo);
	return 0;
}
