/*
 * The 8259A PICs (see pic.h). Each has a command port and a data port; the
 * data port reads and writes the interrupt mask register (bit n set: line
 * n masked) once initialization is over.
 */
#include <stdint.h>

#include "kernel/pic.h"
#include "kernel/x86.h"

#define PIC1		0x20	/* master: command port; data is PIC1 + 1 */
#define PIC2		0xA0	/* slave */
#define PIC_CASCADE	2	/* the master's line the slave is wired to */
#define ICW1_INIT	0x11	/* initialization, ICW4 follows, cascaded */
#define ICW4_8086	0x01
#define OCW2_EOI	0x20	/* non-specific end of interrupt */

static uint16_t mask_port(unsigned irq)
{
	return irq < 8 ? PIC1 + 1 : PIC2 + 1;
}

/* The PICs start on vectors 8-15, where the CPU's exceptions are: move them
 * to base .. base + 15, and mask every line until a driver wants one. */
void pic_init(uint8_t base)
{
	outb(PIC1, ICW1_INIT);
	outb(PIC2, ICW1_INIT);
	outb(PIC1 + 1, base);		/* ICW2: vector of line 0 */
	outb(PIC2 + 1, base + 8);
	outb(PIC1 + 1, 1u << PIC_CASCADE);	/* ICW3: slave on IRQ2 */
	outb(PIC2 + 1, PIC_CASCADE);		/* ICW3: the slave's identity */
	outb(PIC1 + 1, ICW4_8086);
	outb(PIC2 + 1, ICW4_8086);
	outb(PIC1 + 1, 0xFF);
	outb(PIC2 + 1, 0xFF);
}

void pic_enable(unsigned irq)
{
	uint16_t port = mask_port(irq);

	outb(port, inb(port) & ~(1u << (irq % 8)));
	if (irq >= 8)
		outb(PIC1 + 1, inb(PIC1 + 1) & ~(1u << PIC_CASCADE));
}

void pic_disable(unsigned irq)
{
	uint16_t port = mask_port(irq);

	outb(port, inb(port) | (1u << (irq % 8)));
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC2, OCW2_EOI);
	outb(PIC1, OCW2_EOI);
}
