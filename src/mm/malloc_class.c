//@ LAB 6 FILE
/* malloc's size classes and free lists (malloc_class.h): their state. */
#include "mm/malloc_class.h"

struct chunk freelist[NCLASS];
uint32_t nonempty[NWORDS];
bool lists_ready;

void lists_init(void)
{
	unsigned cls;

	for (cls = 0; cls < NCLASS; cls++)
		freelist[cls].next = freelist[cls].prev = &freelist[cls];
	lists_ready = true;
}
