//@ LAB 7 FILE
/*
 * The timer (lab 7): the 8253/8254 PIT's channel 0 at PIT_HZ on IRQ 0. It
 * counts ticks, wakes sleepers and drives preemption (sched_tick). Lab 8
 * replaces it by each CPU's LAPIC timer for scheduling.
 */
#ifndef STRATA_PIT_H
#define STRATA_PIT_H

#include <stdint.h>

#define PIT_HZ	100

void pit_init(void);
/* Ticks since pit_init. */
uint32_t pit_ticks(void);
/* Blocks the calling thread for at least n ticks (n = 0: returns at once). */
void sleep_ticks(uint32_t n);
/* One tick of the clock: counts it, wakes the sleepers that are due (the
 * timer interrupt: the PIT's, or the boot CPU's LAPIC timer in lab 8). */
void clock_tick(void);
//@ LAB 8 BEGIN
/* Waits us microseconds, timed by the PIT (lab 8: before the LAPIC timers). */
void pit_delay_us(uint32_t us);
//@ LAB 8 END

#endif
