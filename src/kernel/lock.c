//@ LAB 7 FILE
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/lock.h"
#include "kernel/panic.h"
#include "kernel/x86.h"

static inline uint32_t read_eflags(void)
{
	uint32_t v;

	__asm__ volatile("pushfl; popl %0" : "=r"(v));
	return v;
}

struct lock mm_lock = LOCK_INIT("mm");

void irq_push(void)
{
	uint32_t eflags = read_eflags();
	struct cpu *c;

	cli();
	c = mycpu();
	if (c->noff++ == 0)
		c->intena = (eflags & FL_IF) != 0;
}

void irq_pop(void)
{
	struct cpu *c = mycpu();

	if (c->noff < 1)
		panic("irq_pop: not pushed");
	if (--c->noff == 0 && c->intena)
		__asm__ volatile("sti" ::: "memory");
}

void lock_init(struct lock *lk, const char *name)
{
	lk->name = name;
	lk->holder = 0;
	lk->caller = 0;
}

void lock_acquire(struct lock *lk)
{
	irq_push();
	if (lk->holder == mycpu())
		panic("lock_acquire: %s already held (taken at 0x%08x)", lk->name, lk->caller);
	/* Lab 8: spin here (xchg) until the lock is free. */
	lk->holder = mycpu();
	lk->caller = (uint32_t)__builtin_return_address(0);
}

void lock_release(struct lock *lk)
{
	if (lk->holder != mycpu())
		panic("lock_release: %s not held by this CPU", lk->name);
	lk->holder = 0;
	lk->caller = 0;
	irq_pop();
}

int lock_held(struct lock *lk)
{
	int held;

	irq_push();
	held = lk->holder == mycpu();
	irq_pop();
	return held;
}
