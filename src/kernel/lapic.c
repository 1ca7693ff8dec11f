//@ LAB 8 FILE
/*
 * The local APIC's registers are 32 bits wide, 16 bytes apart, in one
 * page (Intel SDM vol. 3, table 10-1). Only aligned 32-bit accesses.
 */
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/lapic.h"
#include "kernel/trap.h"
#include "kernel/x86.h"

#define REG_ID		0x020	/* bits 31-24: APIC ID */
#define REG_VER		0x030
#define REG_TPR		0x080	/* task priority: 0 accepts every vector */
#define REG_EOI		0x0B0
#define REG_SVR		0x0F0	/* spurious vector, bit 8: APIC enabled */
#define REG_ESR		0x280	/* error status */
#define REG_ICRLO	0x300	/* interrupt command: writing it sends */
#define REG_ICRHI	0x310	/* bits 31-24: destination APIC ID */
#define REG_TIMER	0x320	/* LVT timer */
#define REG_LINT0	0x350
#define REG_LINT1	0x360
#define REG_ERROR	0x370	/* LVT error */
#define REG_TICR	0x380	/* timer initial count */
#define REG_TCCR	0x390	/* timer current count */
#define REG_TDCR	0x3E0	/* timer divide configuration */

#define SVR_ENABLE	0x100
#define LVT_MASKED	0x10000
#define TIMER_PERIODIC	0x20000
#define TDCR_DIV16	0x3
#define ICR_FIXED	0x000
#define ICR_INIT	0x500
#define ICR_STARTUP	0x600
#define ICR_PENDING	0x1000	/* delivery status: send pending */
#define ICR_ASSERT	0x4000
#define ICR_LEVEL	0x8000	/* trigger mode level (INIT deassert) */

static volatile uint32_t *lapic;

static uint32_t rd(uint32_t reg)
{
	return lapic[reg / 4];
}

static void wr(uint32_t reg, uint32_t v)
{
	lapic[reg / 4] = v;
	(void)lapic[REG_ID / 4];	/* wait for the write to be done */
}

void lapic_enable(void)
{
	wr(REG_SVR, SVR_ENABLE | T_SPURIOUS);
	wr(REG_LINT0, LVT_MASKED);
	wr(REG_LINT1, LVT_MASKED);
	wr(REG_TIMER, LVT_MASKED);
	wr(REG_ERROR, LVT_MASKED);
	wr(REG_ESR, 0);		/* the ESR is cleared by two writes */
	wr(REG_ESR, 0);
	wr(REG_EOI, 0);		/* anything left from before */
	wr(REG_TPR, 0);
}

volatile void *lapic_regs(void)
{
	return lapic;
}

void lapic_init(volatile void *mmio)
{
	lapic = mmio;
	lapic_enable();
}

int lapic_present(void)
{
	return lapic != 0;
}

void lapic_eoi(void)
{
	if (lapic)
		wr(REG_EOI, 0);
}

int lapic_id(void)
{
	return lapic ? (int)(rd(REG_ID) >> 24) : 0;
}

/* Sends the command lo to apic_id; waits until the LAPIC took it. The two
 * ICR writes are one step: an interrupt handler between them that sends
 * an IPI itself would change the destination. */
static int icr_send(int apic_id, uint32_t lo)
{
	uint32_t eflags;
	int err = -1;

	__asm__ volatile("pushfl; popl %0; cli" : "=r"(eflags) : : "memory");
	wr(REG_ICRHI, (uint32_t)apic_id << 24);
	wr(REG_ICRLO, lo);
	for (int i = 0; i < 1000000; i++)
		if (!(rd(REG_ICRLO) & ICR_PENDING)) {
			err = 0;
			break;
		}
	if (eflags & FL_IF)
		__asm__ volatile("sti" ::: "memory");
	return err;
}

void lapic_ipi(int apic_id, int vector)
{
	if (lapic)
		icr_send(apic_id, ICR_FIXED | ICR_ASSERT | (uint32_t)vector);
}

void lapic_ipi_others(int vector)
{
	int self;

	if (!lapic)
		return;
	self = lapic_id();
	for (int i = 0; i < ncpu; i++)
		if (cpus[i].online && cpus[i].apic_id != self)
			lapic_ipi(cpus[i].apic_id, vector);
}

int lapic_ipi_init(int apic_id)
{
	if (icr_send(apic_id, ICR_INIT | ICR_LEVEL | ICR_ASSERT) < 0)
		return -1;
	return icr_send(apic_id, ICR_INIT | ICR_LEVEL);
}

int lapic_ipi_startup(int apic_id, uint32_t page_phys)
{
	return icr_send(apic_id, ICR_STARTUP | (page_phys >> 12));
}

void lapic_timer_count(void)
{
	wr(REG_TDCR, TDCR_DIV16);
	wr(REG_TIMER, LVT_MASKED);
	wr(REG_TICR, 0xFFFFFFFF);
}

uint32_t lapic_timer_elapsed(void)
{
	uint32_t left = rd(REG_TCCR);

	wr(REG_TICR, 0);	/* stop it */
	return 0xFFFFFFFF - left;
}

void lapic_timer_start(uint32_t initial_count)
{
	wr(REG_TDCR, TDCR_DIV16);
	wr(REG_TIMER, TIMER_PERIODIC | T_LAPIC_TIMER);
	wr(REG_TICR, initial_count);
}
