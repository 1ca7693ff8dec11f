//@ LAB 7 FILE
/* User memory: pages, checked ranges, growing stacks, sbrk (uvm.h). */
#include <stddef.h>
#include <stdint.h>

#include "kernel/layout.h"
#include "kernel/lock.h"
#include "kernel/panic.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/trap.h"
#include "kernel/uvm.h"
#include "kernel/x86.h"
#include "lib/string.h"
#include "mm/paging.h"
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"

#define UFLAGS	(PTE_PRESENT | PTE_USER)

/* User address spaces: a user page's mapping and its frame change together
 * (map, unmap and free as one step), and a process's brk. Rank UVM_RANK
 * (process.h): taken before the memory layers' locks. */
static struct lock uvm_lock = LOCK_INIT("uvm", UVM_RANK);

/* Called with uvm_lock held. */
static int map_one(struct process *p, uintptr_t va, int writable)
{
	uintptr_t pa;

	if (!ppalloc(1, 1, &pa))
		return -ENOMEM;
	if (map_mem(p->pagedir, pa, va, 1, UFLAGS | PTE_WRITABLE) < 0) {
		ppfree(pa, 1);
		return -ENOMEM;
	}
	memset((void *)va, 0, PAGE_SIZE);	/* p's directory is loaded */
	if (!writable)
		map_mem(p->pagedir, pa, va, 1, UFLAGS);
	return 0;
}

int umap_zero(struct process *p, uintptr_t va, int writable)
{
	int err;

	lock_acquire(&uvm_lock);
	err = map_one(p, va, writable);
	lock_release(&uvm_lock);
	return err;
}

int ucheck_mapped(struct process *p, uintptr_t va)
{
	uintptr_t pa;
	uint32_t flags;

	return vm_translate(p->pagedir, va, &pa, &flags) == 0;
}

void uprotect(struct process *p, uintptr_t va)
{
	uintptr_t pa;
	uint32_t flags;

	lock_acquire(&uvm_lock);
	if (vm_translate(p->pagedir, va, &pa, &flags) == 0)
		map_mem(p->pagedir, PAGE_ROUNDDOWN(pa), va, 1, UFLAGS);
	lock_release(&uvm_lock);
}

/* Unmaps and frees the user page at va, if mapped. uvm_lock held. */
static void unmap_one(struct process *p, uintptr_t va)
{
	uintptr_t pa;
	uint32_t flags;

	if (vm_translate(p->pagedir, va, &pa, &flags) < 0)
		return;
	map_mem(p->pagedir, 0, va, 1, 0);
	ppfree(PAGE_ROUNDDOWN(pa), 1);
}

static int in_reserved_stack(struct thread *t, uintptr_t va)
{
	return t->ustack_top && va >= t->ustack_guard + PAGE_SIZE && va < t->ustack_low;
}

int ustack_in_guard(struct thread *t, uintptr_t va)
{
	return t->ustack_top && va >= t->ustack_guard && va < t->ustack_guard + PAGE_SIZE;
}

int ustack_grow(struct thread *t, uintptr_t va)
{
	//@ LAB 7 BEGIN
	uintptr_t page = PAGE_ROUNDDOWN(va);

	if (!in_reserved_stack(t, va))
		return 0;
	/* Every page from the faulting one up to the lowest mapped one. */
	while (t->ustack_low > page) {
		if (umap_zero(t->process, t->ustack_low - PAGE_SIZE, 1) < 0)
			return -ENOMEM;
		t->ustack_low -= PAGE_SIZE;
	}
	return 1;
	//@ LAB 7 STUB
	//@ /* LAB 7 exercise 5: the stack-growth rule (handouts/lab7-threads.md). */
	//@ (void)t, (void)va, (void)in_reserved_stack;
	//@ return 0;
	//@ LAB 7 END
}

int ustack_create(struct thread *t)
{
	uintptr_t va;
	struct process *p = t->process;

	lock_acquire(&uvm_lock);
	if (!vpalloc(&p->vpa, USTACK_BLOCK, USTACK_BLOCK, &va)) {
		lock_release(&uvm_lock);
		return -ENOMEM;
	}
	lock_release(&uvm_lock);
	t->ustack_block = va;
	t->ustack_top = va + USTACK_BLOCK * PAGE_SIZE;
	t->ustack_guard = t->ustack_top - (USTACK_PAGES + 1) * PAGE_SIZE;
	t->ustack_low = t->ustack_top;
	if (umap_zero(p, t->ustack_top - PAGE_SIZE, 1) < 0)
		return -ENOMEM;	/* the block goes with the process */
	t->ustack_low -= PAGE_SIZE;
	return 0;
}

void ustack_free(struct process *p, uintptr_t block)
{
	if (!block)
		return;
	lock_acquire(&uvm_lock);
	for (uintptr_t va = block; va < block + USTACK_BLOCK * PAGE_SIZE; va += PAGE_SIZE)
		unmap_one(p, va);
	vpfree(&p->vpa, block, USTACK_BLOCK);
	lock_release(&uvm_lock);
}

/* One page of a checked range: usable as it is (1), a stack page still
 * to grow (2), or not usable (0). */
static int page_ok(struct thread *t, uintptr_t page, int write)
{
	uintptr_t pa;
	uint32_t flags;

	if (vm_translate(t->process->pagedir, page, &pa, &flags) == 0)
		return (flags & PTE_USER) && (!write || (flags & PTE_WRITABLE));
	return in_reserved_stack(t, page) ? 2 : 0;
}

int ucheck(uintptr_t va, size_t len, int write)
{
	//@ LAB 7 BEGIN
	struct thread *t = current_thread();
	uintptr_t end = va + len, page;

	if (len == 0)
		return 0;
	if (va < USER_START || end < va || end > USER_END)
		return -EFAULT;		/* outside user space, or wraps */
	/* Every page: mapped for user access, or the thread's own stack still
	 * to grow (the copy's fault grows it: ucopy_fault). */
	for (page = PAGE_ROUNDDOWN(va); page < end; page += PAGE_SIZE) {
		if (!page_ok(t, page, write))
			return -EFAULT;
		if (page + PAGE_SIZE < page)
			break;
	}
	return 0;
	//@ LAB 7 STUB
	//@ /* LAB 7 exercise 6: check a user range (handouts/lab7-threads.md). */
	//@ (void)va, (void)len, (void)write, (void)page_ok;
	//@ return 0;
	//@ LAB 7 END
}

int ucopy_in(void *dst, uintptr_t usrc, size_t len)
{
	if (ucheck(usrc, len, 0) < 0)
		return -EFAULT;
	return ucopy(dst, (const void *)usrc, len);
}

int ucopy_out(uintptr_t udst, const void *src, size_t len)
{
	if (ucheck(udst, len, 1) < 0)
		return -EFAULT;
	return ucopy((void *)udst, src, len);
}

int ucopy_str(char *dst, uintptr_t usrc, size_t max)
{
	for (size_t n = 0; n < max; n++) {
		if (ucopy_in(dst + n, usrc + n, 1) < 0)
			return -EFAULT;	/* unmapped before the NUL */
		if (dst[n] == 0)
			return n;
	}
	return -EINVAL;
}

/*
 * A page fault in the kernel (trap.c's fixup, installed by syscall_init).
 * Only ucopy's one instruction may fault on user memory: a not-present
 * fault in the current thread's reserved stack grows the stack (the copy
 * then resumes); any other fault there makes ucopy return -EFAULT. A fault
 * anywhere else is not ours (0): the kernel's usual report and panic.
 */
int ucopy_fault(struct trapframe *tf)
{
	uintptr_t va = read_cr2();

	if (tf->eip != (uintptr_t)ucopy_insn)
		return 0;
	if (!(tf->err & PF_PRESENT) && ustack_grow(current_thread(), va) > 0)
		return 1;
	tf->eip = (uintptr_t)ucopy_failed;
	return 1;
}

int32_t usbrk(int32_t delta)
{
	struct process *p = current_process();
	uintptr_t old = p->brk, new = old + delta, va;

	if (delta < 0 ? new > old || new < p->heap_start : new < old || new > UVIRT_START)
		return delta < 0 ? -EINVAL : -ENOMEM;
	lock_acquire(&uvm_lock);
	for (va = PAGE_ROUNDUP(old); va < PAGE_ROUNDUP(new); va += PAGE_SIZE) {
		if (map_one(p, va, 1) < 0) {
			while (va > PAGE_ROUNDUP(old)) {	/* nothing changed */
				va -= PAGE_SIZE;
				unmap_one(p, va);
			}
			lock_release(&uvm_lock);
			return -ENOMEM;
		}
	}
	for (va = PAGE_ROUNDUP(new); va < PAGE_ROUNDUP(old); va += PAGE_SIZE)
		unmap_one(p, va);
	lock_release(&uvm_lock);
	p->brk = new;
	return (int32_t)old;
}
