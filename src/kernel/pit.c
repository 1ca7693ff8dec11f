//@ LAB 7 FILE
#include <stdint.h>

//@ LAB 8 BEGIN
#include "kernel/lapic.h"
//@ LAB 8 END
#include "kernel/lock.h"
#include "kernel/pic.h"
#include "kernel/pit.h"
#include "kernel/sched.h"
#include "kernel/trap.h"
#include "kernel/x86.h"

#define PIT_CH0		0x40
#define PIT_CMD		0x43
#define PIT_INPUT_HZ	1193182	/* the PIT's input clock */
#define PIT_RATE_GEN	0x34	/* channel 0, low then high byte, mode 2 */
#define PIT_ONE_SHOT	0x30	/* channel 0, low then high byte, mode 0 */
#define PIT_READ_BACK	0xE2	/* latch channel 0's status, not its count */
#define PIT_STATUS_OUT	0x80	/* the channel's output pin */

/* ticks and the sleepers' queue; rank SCHED_RANK_TICKS, taken before
 * sched_lock (sched.h). */
static struct lock tick_lock = LOCK_INIT("ticks", SCHED_RANK_TICKS);
static struct waitq tick_wait = WAITQ_INIT("sleep");
static volatile uint32_t ticks;

void clock_tick(void)
{
	lock_acquire(&tick_lock);
	ticks++;
	waitq_wakeup(&tick_wait);
	lock_release(&tick_lock);
}

/* IRQ 0. The end of interrupt goes out first: sched_tick may switch to
 * another thread, and the next tick must reach whoever runs then. */
static void pit_irq(struct trapframe *tf)
{
	(void)tf;
	pic_eoi(0);
	clock_tick();
	sched_tick();
}

void pit_init(void)
{
	uint32_t divisor = (PIT_INPUT_HZ + PIT_HZ / 2) / PIT_HZ;

	//@ LAB 8 BEGIN
	if (lapic_present())
		return;		/* the LAPIC timers tick instead (smp.c) */
	//@ LAB 8 END

	outb(PIT_CMD, PIT_RATE_GEN);
	outb(PIT_CH0, divisor & 0xFF);
	outb(PIT_CH0, divisor >> 8);
	trap_set_handler(T_IRQ0 + 0, pit_irq);
	pic_enable(0);
}

uint32_t pit_ticks(void)
{
	return ticks;
}

/* Every tick wakes every sleeper, and each one that is not due sleeps
 * again: simple, and the sleep/wakeup protocol makes it exact. */
void sleep_ticks(uint32_t n)
{
	uint32_t end;

	lock_acquire(&tick_lock);
	end = ticks + n;
	while ((int32_t)(ticks - end) < 0)
		waitq_sleep(&tick_wait, &tick_lock);
	lock_release(&tick_lock);
}

//@ LAB 8 BEGIN
/*
 * Busy-waits us microseconds on the PIT, interrupts or not: channel 0 in
 * mode 0 counts down once from the count written, and its output goes high
 * at 0, which the read-back command shows in the status byte. At most
 * 50 ms a count (the counter has 16 bits). Only before pit_init, or when the
 * PIT is not the tick (lab 8: the LAPIC timers are).
 */
void pit_delay_us(uint32_t us)
{
	while (us > 0) {
		uint32_t part = us > 50000 ? 50000 : us;
		uint32_t count = part * (PIT_INPUT_HZ / 100) / 10000;	/* < 2^32 */

		if (count < 2)
			count = 2;
		outb(PIT_CMD, PIT_ONE_SHOT);
		outb(PIT_CH0, count & 0xFF);
		outb(PIT_CH0, count >> 8);
		do
			outb(PIT_CMD, PIT_READ_BACK);
		while (!(inb(PIT_CH0) & PIT_STATUS_OUT));
		us -= part;
	}
}
//@ LAB 8 END
