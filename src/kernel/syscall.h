//@ LAB 7 FILE
/*
 * User mode (lab 7): programs from the archive run as processes, their
 * traps and system calls (the ABI: syscall_abi.h).
 *
 * The path of a system call: user code does int $0x80; the CPU, at CPL 3
 * through a DPL 3 gate, loads ss:esp from the TSS (SEG_KDATA, esp0 = the
 * top of the running thread's kernel stack, set by sched() on each switch)
 * and pushes ss, esp, eflags, cs, eip; trapentry.S pushes the rest of the
 * struct trapframe; trap() sees cs's RPL 3 and calls user_trap, which
 * dispatches on eax and stores the result in the frame's eax; trapret's
 * iret goes back to user mode.
 *
 * The fault policy: an exception from user mode that is not stack growth
 * kills the process (all its threads) with one decoded line,
 *   user fault: pid P tid T 'NAME' TRAP [va=... ]eip=... err=... [...] -- killed
 * (`stack overflow` for the guard page); its status is -1.
 */
#ifndef STRATA_SYSCALL_H
#define STRATA_SYSCALL_H

#include <stddef.h>

/* Installs the user-mode trap handler (first spawn does it too). */
void syscall_init(void);
/* Spawns the program name from the archive with argc arguments argv (in
 * kernel memory; argv[0] is the program's name by convention), a child of
 * the current process. Its pid, or -ENOENT, -ENOEXEC (the reason printed),
 * -E2BIG, -ENOMEM. */
int spawn(const char *name, int argc, const char *const argv[]);

/* Console input for the read system call (tests): appends n bytes of s to
 * what read returns before the serial line's; how many fitted. */
size_t uinput_feed(const char *s, size_t n);
/* How many fed bytes no read has taken yet. */
size_t uinput_pending(void);

#endif
