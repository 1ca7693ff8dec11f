//@ LAB 7 FILE
/*
 * User memory (lab 7): the pages of a process's user half, checked access
 * to them for system calls, thread stacks that grow, the heap (sbrk).
 *
 *   0xC0000000  KERNBASE: user space ends
 *               user virtual ranges (the process's vpallocator); per thread
 *               a USTACK_BLOCK-page block whose top USTACK_PAGES are its
 *               stack, the page below them the guard (never mapped):
 *                 ustack_top   +---------------------+
 *                              | top page: mapped    |
 *                              | grows down on fault |
 *                              |   (16 pages)        |
 *                 ustack_guard +---------------------+
 *                              | guard: unmapped     | -> "stack overflow"
 *                              +---------------------+
 *                              | rest of the block   |
 *   0x80000000  UVIRT_START    +---------------------+
 *               (unused)
 *               heap: [heap_start, brk), grown and shrunk by sbrk
 *               the binary's segments (text read-only, data, bss)
 *   0x00400000  USER_BINARY_BASE
 *   0x00000000  never mapped: NULL and small offsets fault
 *
 * Every user page is its own ppalloc(1, 1) page (process.h): teardown
 * frees each present user PTE's page.
 *
 * The stack-growth rule: a fault (from user mode, or from the kernel's
 * ucopy of a system call's data) at an address inside the thread's
 * reserved USTACK_PAGES maps every page from the faulting one up to the
 * lowest mapped one, zeroed. The guard page kills the process (stack
 * overflow).
 */
#ifndef STRATA_UVM_H
#define STRATA_UVM_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/process.h"
#include "kernel/syscall_abi.h"

#define USTACK_BLOCK	32	/* vpalloc'd per thread: a power of two >= 17 */

/* Maps a new zeroed user page at va in p (p's directory loaded), writable
 * if writable. 0, or -ENOMEM (nothing mapped). */
int umap_zero(struct process *p, uintptr_t va, int writable);
/* Whether the user page at va is mapped in p. */
int ucheck_mapped(struct process *p, uintptr_t va);
/* Makes the user page at va read-only. */
void uprotect(struct process *p, uintptr_t va);

/* Checks [va, va + len) for a system call of the current thread: inside
 * USER_START .. USER_END without wrapping, every page present and user
 * (and writable if write), or inside the thread's reserved stack (grown
 * when the copy touches it). 0 or -EFAULT. Changes nothing. */
int ucheck(uintptr_t va, size_t len, int write);

/*
 * Copies to and from user memory: the only way the kernel touches it.
 * ucopy_in/ucopy_out check the range first (ucheck), then copy with
 * ucopy, whose faults never panic (ucopy_fault): growth of the thread's
 * stack, or -EFAULT (a page unmapped by another thread since the check,
 * or no memory to grow the stack). 0 or -EFAULT.
 */
int ucopy_in(void *dst, uintptr_t usrc, size_t len);
int ucopy_out(uintptr_t udst, const void *src, size_t len);
/* Copies the NUL-terminated string at usrc into dst (max bytes with the
 * NUL): its length, -EFAULT (not mapped before the NUL), -EINVAL (too
 * long). */
int ucopy_str(char *dst, uintptr_t usrc, size_t max);
/* uentry.S: the copy itself, ucheck'd ranges only; its faulting
 * instruction and the -EFAULT exit ucopy_fault sends faults to. */
int ucopy(void *dst, const void *src, size_t n);
extern char ucopy_insn[], ucopy_failed[];
struct trapframe;
/* The kernel page-fault fixup for ucopy (trap.h's trap_fixup). */
int ucopy_fault(struct trapframe *tf);

/* The current thread's user stack: reserved and top page mapped. 0 or
 * -ENOMEM. */
int ustack_create(struct thread *t);
/* Frees the stack block at block (an exiting thread's): its mapped pages
 * and its reservation. */
void ustack_free(struct process *p, uintptr_t block);
/* If va is in t's reserved stack below ustack_low: grows it down to va's
 * page and returns 1 (or -ENOMEM); 0 if va is not in the reserved part. */
int ustack_grow(struct thread *t, uintptr_t va);
/* 1 if va is in t's guard page. */
int ustack_in_guard(struct thread *t, uintptr_t va);

/* sbrk for the current process: the old break, -ENOMEM (nothing changed)
 * or -EINVAL (below the heap's start). */
int32_t usbrk(int32_t delta);

#endif
