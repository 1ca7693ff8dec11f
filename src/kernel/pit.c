//@ LAB 7 FILE
#include <stdint.h>

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

/* ticks and the sleepers' queue; rank SCHED_RANK_TICKS, taken before
 * sched_lock (sched.h). */
static struct lock tick_lock = LOCK_INIT("ticks", SCHED_RANK_TICKS);
static struct waitq tick_wait = WAITQ_INIT("sleep");
static volatile uint32_t ticks;

/* IRQ 0. The end of interrupt goes out first: sched_tick may switch to
 * another thread, and the next tick must reach whoever runs then. */
static void pit_irq(struct trapframe *tf)
{
	(void)tf;
	pic_eoi(0);
	lock_acquire(&tick_lock);
	ticks++;
	waitq_wakeup(&tick_wait);
	lock_release(&tick_lock);
	sched_tick();
}

void pit_init(void)
{
	uint32_t divisor = (PIT_INPUT_HZ + PIT_HZ / 2) / PIT_HZ;

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
