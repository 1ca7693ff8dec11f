//@ LAB 7 FILE
/*
 * The user programs' C library (lab 7): system call stubs (syscall.c, the
 * ABI in kernel/syscall_abi.h), printf on the kernel's fmt.c core
 * (printf.c), string functions (the kernel's lib/string.c), malloc on sbrk
 * (malloc.c). crt0.S's _start calls main(argc, argv) and exits with its
 * value.
 */
#ifndef STRATA_ULIB_H
#define STRATA_ULIB_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/syscall_abi.h"
#include "lib/string.h"

int write(const void *buf, size_t len);
/* Up to len bytes of console input, one line at most (waits for input). */
int read(void *buf, size_t len);
void exit(int status) __attribute__((noreturn));
int getpid(void);
int gettid(void);
int yield(void);
int sleep(unsigned ticks);
void *sbrk(int delta);		/* the old break, or (void *)-errno */
int spawn(const char *name, char *const argv[]);
int wait(int pid, int *status);
int pages(struct sys_pages *pc);
/* Threads of this process: fn(arg) runs on a stack of its own; its
 * return value (or thread_exit's) is what thread_join stores. */
int thread_create(int (*fn)(void *), void *arg);
void thread_exit(int value) __attribute__((noreturn));
int thread_join(int tid, int *value);
/* Any call by number, for the tests of bad arguments. */
int syscall(int num, uint32_t a, uint32_t b, uint32_t c);

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int puts(const char *s);	/* s and a newline */
#define snprintf fmt_snprintf
#include "lib/fmt.h"

void *malloc(size_t n);
void free(void *p);

#endif
