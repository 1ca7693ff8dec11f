//@ LAB 6 FILE
/*
 * The kernel's side of malloc: the page source it runs on (malloc.h) and
 * the monitor's view of the heap. malloc*.c themselves include no kernel
 * header, so the host tests build them on their own page source.
 */
#include "kernel/monitor.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "mm/kvmalloc.h"
#include "mm/malloc.h"

const struct malloc_pages malloc_pages = { kvmalloc, kvfree, panic };

MONITOR_COMMAND(heap, "the kernel heap: pages, used and free bytes, chunks")
{
	struct malloc_stats st;

	(void)argc, (void)argv;
	malloc_stats(&st);
	printk("heap: %u pages, %u bytes used, %u bytes free, %u chunks (%u free)\n",
	       st.pages, st.used_bytes, st.free_bytes, st.chunks, st.free_chunks);
	return malloc_check() == 0 ? 0 : -1;
}
