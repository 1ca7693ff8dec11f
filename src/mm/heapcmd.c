//@ LAB 6 FILE
/* The monitor's view of the kernel heap (malloc.c stays free of kernel headers). */
#include "kernel/monitor.h"
#include "kernel/printk.h"
#include "mm/malloc.h"

MONITOR_COMMAND(heap, "the kernel heap: pages, used and free bytes, chunks")
{
	struct malloc_stats st;

	(void)argc, (void)argv;
	malloc_stats(&st);
	printk("heap: %u pages, %u bytes used, %u bytes free, %u chunks (%u free)\n",
	       st.pages, st.used_bytes, st.free_bytes, st.chunks, st.free_chunks);
	return malloc_check() == 0 ? 0 : -1;
}
