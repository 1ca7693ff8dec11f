//@ LAB 5 FILE
/*
 * kvmalloc (lab 5): pages of kernel memory, shaped like ppalloc/ppfree.
 * n physical pages (not necessarily contiguous) mapped at n contiguous
 * kernel virtual pages, writable, page aligned. For page-sized structures
 * (page directories, malloc's arenas).
 */
#ifndef STRATA_KVMALLOC_H
#define STRATA_KVMALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Between min_pages and max_pages; returns the count and the virtual start
 * in *start, or 0 when out of physical or kernel virtual pages, in which
 * case nothing stays allocated. */
size_t kvmalloc(size_t min_pages, size_t max_pages, uintptr_t *start);
/* Unmaps and frees exactly what one kvmalloc returned; misuse panics. */
void kvfree(uintptr_t start, size_t n_pages);

struct pagedir;
/* A whole new directory (its page and the struct, paging.h) from kvmalloc;
 * NULL when out of memory. pagedir_destroy releases and frees it. */
struct pagedir *pagedir_create(void);
void pagedir_destroy(struct pagedir *pd);

#endif
