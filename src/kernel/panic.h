/*
 * panic: the kernel cannot go on. Prints "panic: <message>" and a
 * symbolized backtrace, then leaves QEMU through isa-debug-exit with the
 * "panic" status (outside QEMU: halts).
 */
#ifndef STRATA_PANIC_H
#define STRATA_PANIC_H

/* isa-debug-exit (port 0xf4): QEMU exits with status (value << 1) | 1. */
#define DEBUG_EXIT_PORT	0xF4
#define EXIT_PASS	0x10	/* QEMU status 33 */
#define EXIT_FAIL	0x11	/* 35 */
#define EXIT_PANIC	0x12	/* 37 */
#define EXIT_LOADER	0x13	/* 39: GRUB could not load the kernel (tools/grub.cfg) */

#ifndef __ASSEMBLER__
#include <stdarg.h>
#include <stdint.h>

void panic(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
/* The message, the backtrace from (eip, ebp), then out of QEMU: panic's
 * and panic_trap's (trap.h) common part. */
void vpanic(uint32_t eip, uint32_t ebp, const char *fmt, va_list ap)
	__attribute__((noreturn));

/* Prints "  #i 0x<eip> name+0xoff" for eip, then each return address
 * found by following the saved-%ebp chain that starts at ebp. */
void backtrace(uint32_t eip, uint32_t ebp);
/* backtrace's arguments for the caller of the current function: the call
 * site (return address - 1, inside the call instruction) and its frame. */
#define BACKTRACE_HERE	((uint32_t)__builtin_return_address(0) - 1), \
			(*(uint32_t *)__builtin_frame_address(0))

/* fn runs at the end of every later panic, after the backtrace and just
 * before QEMU exits: the test framework (a higher layer) prints its final
 * line there. */
void panic_at_end(void (*fn)(void));

void machine_exit(int value) __attribute__((noreturn));
void machine_reboot(void) __attribute__((noreturn));
#endif /* !__ASSEMBLER__ */

#endif
