//@ LAB 6 FILE
/*
 * The kernel's side of malloc: the page source it runs on (malloc.h) and
 * the monitor's view of the heap. malloc*.c themselves include no kernel
 * header, so the host tests build them on their own page source.
 */
//@ LAB 7 BEGIN
#include "kernel/lock.h"
//@ LAB 7 END

//@ LAB 8 BEGIN
#include "kernel/cpu.h"
//@ LAB 8 END
#include "kernel/monitor.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "mm/kvmalloc.h"
#include "mm/malloc.h"
//@ LAB 7 BEGIN
#include "mm/mmlock.h"

/* The kernel heap: every chunk, arena and free list, and malloc_op.
 * Outermost of the memory layers (mm/mmlock.h): malloc holds it while it
 * gets pages from kvmalloc. */
static struct lock heap_lock = LOCK_INIT("heap", MM_RANK_HEAP);

static int heap_take(void)
{
	if (lock_held(&heap_lock))
		return 0;
	lock_acquire(&heap_lock);
	return 1;
}

static void heap_give(void)
{
	lock_release(&heap_lock);
}
//@ LAB 7 END

//@ LAB 8 BEGIN
/*
 * The per-CPU caches (malloc_cache.h) use this CPU's magazines with
 * interrupts off: no interrupt and no other thread comes in between, and
 * no other CPU touches them (no lock).
 */
static unsigned heap_cpu_enter(void)
{
	irq_push();
	return (unsigned)mycpu()->id;
}

static void heap_cpu_leave(void)
{
	irq_pop();
}

static int heap_wait_cpus(int (*pending)(void *arg, int cpu), void *arg)
{
	return cpu_wait_each(pending, arg, CACHE_FLUSH_TICKS);
}
//@ LAB 8 END

const struct malloc_pages malloc_pages = {
	.alloc = kvmalloc, .free = kvfree, .panic = panic,
	//@ LAB 7 BEGIN
	.lock = heap_take, .unlock = heap_give,
	//@ LAB 7 END

	//@ LAB 8 BEGIN
	.cpu_enter = heap_cpu_enter, .cpu_leave = heap_cpu_leave, .wait_cpus = heap_wait_cpus,
	//@ LAB 8 END
};

MONITOR_COMMAND(heap, "the kernel heap: pages, used and free bytes, chunks")
{
	struct malloc_stats st;

	(void)argc, (void)argv;
	malloc_stats(&st);
	printk("heap: %u pages, %u bytes used, %u bytes free, %u chunks (%u free)\n",
	       st.pages, st.used_bytes, st.free_bytes, st.chunks, st.free_chunks);

	//@ LAB 8 BEGIN
	struct malloc_cache_stats cs;

	malloc_cache_stats(&cs);
	printk("heap: caches: %u chunks (%u bytes) in magazines, %u pages parked; "
	       "%u refills, %u flushes\n", cs.cached_chunks, cs.cached_bytes, cs.parked_pages,
	       cs.refills, cs.flushes);
	//@ LAB 8 END

	return malloc_check() == 0 ? 0 : -1;
}
