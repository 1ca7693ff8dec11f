//@ LAB 7 FILE
/*
 * The memory layers' locks, and their order (lock.h has the whole order).
 *
 * From lab 7 every shared allocator locks itself, so any thread (lab 8:
 * any CPU) may call any of them at any time; no caller holds a lock for
 * them. The algorithms stay lock-free (buddy.c, malloc.c and its parts
 * are host-compiled): the lock is taken by the layer that owns the state.
 * Each layer holds its lock across the calls it makes into the layers
 * below, so the order is the layering, outermost first:
 *
 *   rank  lock          protects                                  calls, holding it
 *   30    heap          the kernel heap (malloc_kernel.c: every    kvmalloc, kvfree
 *                       malloc, free, malloc_check, malloc_stats)
 *   40    kvmalloc      a kvmalloc or kvfree as a whole: the       vpalloc, ppalloc,
 *                       check-then-free of kvfree; the pages        map_mem
 *                       command's figures
 *   50    paging        the directory list, the kernel page        ppalloc, vpalloc,
 *                       tables (kvpd, creation in every             ppfree, vpfree
 *                       directory), every map_mem (PTE writes,
 *                       user table creation)
 *   60    vpa:<name>    one vpallocator's buddy (the kernel's       -
 *                       "vpa:kernel"; each process's "vpa:user")
 *   70    ppalloc       the physical buddy                         -
 *
 * A layer never calls up (ppalloc and vpalloc call only the buddy), and
 * nothing here blocks, so a lock is held only for the few microseconds
 * of one call. Out of memory is reported while unlocking: every failure
 * path releases what it holds before returning its error.
 */
#ifndef STRATA_MMLOCK_H
#define STRATA_MMLOCK_H

#define MM_RANK_HEAP		30
#define MM_RANK_KVMALLOC	40
#define MM_RANK_PAGING		50
#define MM_RANK_VPA		60
#define MM_RANK_PPALLOC		70

#endif
