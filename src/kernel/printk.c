#include "kernel/console.h"
#include "kernel/printk.h"
//@ LAB 7 BEGIN
#include "kernel/x86.h"

/*
 * The console lock (lab 7 on): lines never interleave, between threads
 * (preemption) or CPUs (lab 8).
 *
 * A printk call prints holding the console, and a call that ends inside a
 * line (no final "\n") keeps it for its owner until the line is finished,
 * so a line printed in pieces ("TEST x: " ... "PASS\n") stays whole. The
 * owner is the running thread (the CPU before threads run), as the hook
 * lock.c registers tells; without it (labs 1-6, early boot) everyone is one
 * owner. A printk by the owner while it holds the console (an interrupt
 * handler's message, a panic in the middle of a line) goes through: the
 * console nests.
 *
 * This lock is below struct lock (whose panics print through here) and
 * takes no other lock, so printk may be called holding any lock. Waiting,
 * a CPU keeps its caller's interrupt state, so it still takes interrupts
 * (and lab 8's IPIs) and its own preempted owner of a line can run. A line
 * left open longer than LINE_WAIT spins is ended ("\n") and taken over: its
 * owner may be a thread that cannot run until the waiter does. A panic
 * waits at most PANIC_WAIT spins for a printk in progress, then takes the
 * console (printk_panic). A waiter calls the poll hook in its loop (lab 8:
 * tlb_poll, so a CPU waiting here with interrupts off still answers TLB
 * shootdowns).
 */
#define LINE_WAIT	(1u << 21)
#define PANIC_WAIT	(1u << 23)

static volatile uint32_t console_word;	/* 1 while someone owns the console */
static const void *volatile console_holder;
static volatile int console_depth;	/* printk calls of the holder in progress */
static int line_open;			/* the holder's line has no "\n" yet */
static const void *(*owner_of)(void);
static void (*poll_while_waiting)(void);

void printk_set_owner(const void *(*owner)(void), void (*poll)(void))
{
	owner_of = owner;
	poll_while_waiting = poll;
}

static inline uint32_t console_xchg(uint32_t v)
{
	__asm__ volatile("xchgl %0, %1" : "+m"(console_word), "+r"(v) : : "memory");
	return v;
}

static inline uint32_t flags_save(void)
{
	uint32_t v;

	__asm__ volatile("pushfl; popl %0; cli" : "=r"(v) : : "memory");
	return v;
}

static inline void flags_restore(uint32_t v)
{
	__asm__ volatile("pushl %0; popfl" : : "r"(v) : "memory", "cc");
}

static const void *me(void)
{
	return owner_of ? owner_of() : (const void *)1;
}

/* Takes the console (interrupts off on return; *flags: the caller's). */
static void console_lock(uint32_t *flags)
{
	uint32_t waited = 0;

	*flags = flags_save();
	if (console_word && console_holder == me()) {
		console_depth++;	/* nested, or the rest of our line */
		return;
	}
	while (console_xchg(1) != 0) {
		flags_restore(*flags);	/* wait with the caller's interrupts */
		while (console_word) {
			__asm__ volatile("pause");
			if (poll_while_waiting)
				poll_while_waiting();
			if (++waited > LINE_WAIT && console_depth == 0)
				break;	/* a line left open: take it over */
		}
		*flags = flags_save();
		if (waited > LINE_WAIT && console_word && console_depth == 0) {
			console_putc('\n');	/* end the abandoned line */
			break;
		}
	}
	console_holder = me();
	console_depth = 1;
	line_open = 0;
}

static void console_unlock(uint32_t flags)
{
	if (--console_depth == 0 && !line_open) {
		console_holder = 0;
		console_xchg(0);
	}
	flags_restore(flags);
}

void printk_panic(void)
{
	uint32_t waited = 0, flags = flags_save();

	(void)flags;	/* a panic keeps interrupts off */
	if (console_word && console_holder == me())
		return;
	while (console_xchg(1) != 0 && ++waited < PANIC_WAIT) {
		__asm__ volatile("pause");
		if (poll_while_waiting)
			poll_while_waiting();
	}
	if (waited >= PANIC_WAIT || line_open)
		console_putc('\n');
	console_holder = me();
	console_depth = 0;
	line_open = 0;
}
//@ LAB 7 END

static void console_emit(char c, void *arg)
{
	(void)arg;
	console_putc(c);
	//@ LAB 7 BEGIN
	line_open = c != '\n';
	//@ LAB 7 END
}

int vprintk(const char *fmt, va_list ap)
{
	int n;
	//@ LAB 7 BEGIN
	uint32_t flags;

	console_lock(&flags);
	//@ LAB 7 END
	n = fmt_vformat(console_emit, 0, fmt, ap);
	//@ LAB 7 BEGIN
	console_unlock(flags);
	//@ LAB 7 END
	return n;
}

int printk(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}
