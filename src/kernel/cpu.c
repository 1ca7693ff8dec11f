//@ LAB 7 FILE
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/gdt.h"
#include "kernel/panic.h"
#include "kernel/x86.h"

struct cpu cpus[NCPU];
int ncpu = 1;

struct cpu *mycpu(void)
{
	uint32_t eflags;
	struct cpu *c = &cpus[0];	/* one CPU until lab 8 */

	__asm__ volatile("pushfl; popl %0" : "=r"(eflags));
	if (eflags & FL_IF)
		panic("mycpu() with interrupts on");

	//@ LAB 8 BEGIN
	/* %gs's base is this CPU's struct cpu, whose first field points at it. */
	__asm__ volatile("movl %%gs:0, %0" : "=r"(c));
	//@ LAB 8 STUB
	//@ /* LAB 8 exercise 2: find this CPU's struct cpu through %gs
	//@    (handouts/lab8-smp.md); every CPU is cpus[0] until then. */
	//@ LAB 8 END

	return c;
}

int cpu_id(void)
{
	return mycpu()->id;
}

//@ LAB 8 BEGIN
void cpu_load(struct cpu *c)
{
	c->self = c;
	gdt_install(c->gdt, &c->tss, (uint32_t)c, sizeof(*c));
}

void cpu_boot_init(void)
{
	cpus[0].id = 0;
	cpus[0].online = 1;
	cpus[0].cr3 = read_cr3();
	cpu_load(&cpus[0]);
}

int cpu_wait_each(int (*pending)(void *arg, int cpu), void *arg, uint32_t max_ticks)
{
	uint32_t ticks0[NCPU];
	int err = 0;

	for (int i = 0; i < ncpu; i++)
		ticks0[i] = cpus[i].ticks;
	for (int i = 0; i < ncpu; i++) {
		while (cpus[i].online && pending(arg, i)) {
			if (cpus[i].ticks - ticks0[i] > max_ticks) {
				err = -1;
				break;
			}
			__asm__ volatile("pause" ::: "memory");
		}
	}
	return err;
}
//@ LAB 8 END
