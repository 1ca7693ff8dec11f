//@ LAB 8 FILE
/*
 * TLB shootdown (lab 8). Each CPU caches translations in its own TLB, and
 * invlpg or a CR3 load flushes only the calling CPU's. When a mapping that
 * another CPU may have cached is removed or changed, that CPU must flush it
 * too before the page behind it is used for anything else, or it goes on
 * reading (and writing) the old page through its stale entry.
 *
 * Who may have cached a mapping:
 *  - a kernel mapping (the kernel half is shared by every directory):
 *    every online CPU;
 *  - a user mapping of directory D: the CPUs whose cpus[i].cr3 is D (a
 *    CPU running a thread of D's process). Any other CPU flushed D's
 *    entries when it last loaded another directory; as no directory uses
 *    global pages (PTE_GLOBAL), a CR3 load flushes everything.
 *  - a CPU not yet online is never asked: an AP reloads CR3 right after
 *    it sets online (a fence between), which drops anything it cached of
 *    a shootdown whose sender still read online as 0; before that it
 *    touches only memory nobody unmaps (ap_main, smp.c).
 *
 * Kernel pages freed for good (thread stacks, kvfree) are not shot down
 * one by one: paging.c's unmap_lazy batches them, one tlb_shootdown per
 * batch, the frames freed after it.
 *
 * The protocol (sender: tlb_shootdown; receivers: the IPI or tlb_poll):
 *
 *   sender, interrupts off               every other CPU i in the mask
 *   ----------------------               -----------------------------
 *   PTEs already changed by the caller
 *   flush its own TLB
 *   wait for the request slot (serving
 *     requests aimed at it meanwhile)
 *   req = {cr3, va, n}, pending = mask
 *   IPI T_IPI_TLB to each CPU in mask --> (interrupt, or tlb_poll in a spin)
 *                                         reads req, flushes its TLB,
 *                                         clears its bit in pending
 *   spin until pending == 0          <--
 *   free the slot; return: the caller may now free the pages
 *
 * One request is in flight at a time (the slot is a spin flag, not a
 * struct lock: a CPU waiting for it with interrupts off must serve the
 * request in flight, or two senders would wait for each other).
 *
 * Deadlock rule: a CPU spinning with interrupts off, for any reason, must
 * call tlb_poll() in its loop. The sender may hold any lock (kvfree holds
 * the allocators' locks while it unmaps), and the CPU it waits for may be
 * spinning for that very lock with interrupts off: lock_acquire's spin
 * serves shootdowns, so that CPU acknowledges and the sender goes on.
 * The slot flag is therefore the innermost "lock": taken after every
 * other, never held across anything but the flushes.
 *
 * Ordering: the sender reads cpus[i].cr3 after its PTE writes (with a full
 * fence between); a CPU that loads a directory stores cpus[i].cr3 before
 * its CR3 load. So a CPU the sender skips has either left the directory
 * already or loads it afterwards, and then its TLB sees the new PTEs.
 *
 * Cost: a shootdown of more than TLB_FULL_PAGES pages is a full flush (a
 * CR3 reload) on every CPU it reaches; with one CPU, or when no other CPU
 * has the directory loaded, it is just the local flush (no IPI).
 */
#ifndef STRATA_TLB_H
#define STRATA_TLB_H

#include <stddef.h>
#include <stdint.h>

#define TLB_FULL_PAGES	32	/* above this, flush everything instead */

/*
 * Flushes the n_pages pages from va (page aligned) of the directory whose
 * physical address is cr3 (0: the kernel half, every directory) on every
 * CPU that may hold them, this one included; returns once all have (the
 * caller may then free the pages). The caller has already changed the
 * PTEs. Any context with or without interrupts on, any lock held; never
 * sleeps.
 */
void tlb_shootdown(uint32_t cr3, uintptr_t va, size_t n_pages);
/* The same for the other CPUs only: for a caller that flushes this CPU's
 * TLB itself (map_mem's loop, lab 4, invlpgs every page it changes). */
void tlb_shootdown_others(uint32_t cr3, uintptr_t va, size_t n_pages);

/* Serves the shootdown request aimed at this CPU, if there is one: call
 * it in every loop that spins with interrupts off (see above). Cheap when
 * there is none. */
void tlb_poll(void);

/* Installs the T_IPI_TLB handler (trap.c's table); before the APs start. */
void tlb_init(void);

/* Counts, for tests and the monitor's `tlb`. */
struct tlb_stats {
	uint32_t shootdowns;	/* tlb_shootdown calls */
	uint32_t remote;	/* of which reached another CPU */
	uint32_t ipis;		/* IPIs sent (resends included) */
	uint32_t full;		/* full flushes done, any CPU */
};
void tlb_get_stats(struct tlb_stats *st);
/* Requests cpus[cpu] has served (interrupt or poll). */
uint32_t tlb_served(int cpu);

#endif
