/*
 * panic: the kernel cannot go on. Prints "panic: <message>" and a
 * symbolized backtrace, then leaves QEMU through isa-debug-exit with the
 * "panic" status (outside QEMU: halts).
 */
#ifndef STRATA_PANIC_H
#define STRATA_PANIC_H

#include <stdint.h>

struct trapframe;

void panic(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
/* A panic caused by a trap: the backtrace starts at the faulting eip. */
void panic_trap(struct trapframe *tf, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/* Prints "  #i 0x<eip> name+0xoff" for eip, then each return address
 * found by following the saved-%ebp chain that starts at ebp. */
void backtrace(uint32_t eip, uint32_t ebp);

/* isa-debug-exit (port 0xf4): QEMU exits with status (value << 1) | 1. */
#define EXIT_PASS	0x10	/* QEMU status 33 */
#define EXIT_FAIL	0x11	/* 35 */
#define EXIT_PANIC	0x12	/* 37 */
void machine_exit(int value) __attribute__((noreturn));
void machine_reboot(void) __attribute__((noreturn));

#endif
