#include <stdint.h>

#include "kernel/console.h"
#include "kernel/layout.h"
#include "kernel/pic.h"
#include "kernel/x86.h"

#define COM1		0x3F8
#define COM_DATA	0	/* DLAB=0: data; DLAB=1: divisor low */
#define COM_IER		1	/* DLAB=0: interrupt enable; DLAB=1: divisor high */
#define COM_FCR		2
#define COM_LCR		3
#define COM_MCR		4
#define COM_LSR		5
#define IER_RX		0x01	/* interrupt when a byte has arrived */
#define MCR_OUT2	0x08	/* on a PC, gates the UART's interrupt line */
#define COM1_IRQ	4
#define LSR_RX_READY	0x01
#define LSR_TX_EMPTY	0x20

#define VGA_COLS	80
#define VGA_ROWS	25
#define VGA_ATTR	0x0700

static volatile uint16_t *const vga = P2V(0xB8000);
static int vga_pos;

static void serial_init(void)
{
	outb(COM1 + COM_IER, 0x00);
	outb(COM1 + COM_LCR, 0x80);	/* DLAB: set the divisor */
	outb(COM1 + COM_DATA, 1);	/* 115200 baud */
	outb(COM1 + COM_IER, 0);
	outb(COM1 + COM_LCR, 0x03);	/* 8 bits, no parity, 1 stop */
	outb(COM1 + COM_FCR, 0x07);	/* FIFO on, cleared, interrupt at 1 byte */
	outb(COM1 + COM_MCR, 0x03);	/* DTR, RTS */
}

static void serial_putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + COM_LSR) & LSR_TX_EMPTY); i++)
		;
	outb(COM1 + COM_DATA, (uint8_t)c);
}

static void vga_scroll(void)
{
	for (int i = 0; i < VGA_COLS * (VGA_ROWS - 1); i++)
		vga[i] = vga[i + VGA_COLS];
	for (int i = VGA_COLS * (VGA_ROWS - 1); i < VGA_COLS * VGA_ROWS; i++)
		vga[i] = VGA_ATTR | ' ';
	vga_pos -= VGA_COLS;
}

static void vga_putc(char c)
{
	if (c == '\n')
		vga_pos += VGA_COLS - vga_pos % VGA_COLS;
	else if (c == '\b') {
		if (vga_pos > 0)
			vga[--vga_pos] = VGA_ATTR | ' ';
	} else if (c != '\r')
		vga[vga_pos++] = VGA_ATTR | (uint8_t)c;
	if (vga_pos >= VGA_COLS * VGA_ROWS)
		vga_scroll();
}

void console_init(void)
{
	serial_init();
	for (int i = 0; i < VGA_COLS * VGA_ROWS; i++)
		vga[i] = VGA_ATTR | ' ';
	vga_pos = 0;
}

void console_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	serial_putc(c);
	vga_putc(c);
}

int console_getc(void)
{
	if (!(inb(COM1 + COM_LSR) & LSR_RX_READY))
		return -1;
	return inb(COM1 + COM_DATA);
}

/*
 * Waits with the CPU halted, so that QEMU uses no host CPU while the
 * monitor waits for a key: COM1 raises IRQ 4 when a byte arrives, which
 * ends the hlt. Interrupts are on inside the wait ("sti; hlt": an
 * interrupt that came in before the sti is taken at the hlt, so no byte
 * is missed) and as they were before it afterwards (popfl); the IRQ
 * handler only acknowledges it and the byte stays in the UART until
 * console_getc reads it. From lab 7 on interrupts are on all the time: a
 * byte that arrives between the check and the hlt is then seen at the next
 * timer tick, and the timer preempts the waiting thread like any other.
 */
int console_getc_wait(void)
{
	static int irq_on;
	int c;

	if (!irq_on) {
		outb(COM1 + COM_IER, IER_RX);
		outb(COM1 + COM_MCR, 0x03 | MCR_OUT2);
		pic_enable(COM1_IRQ);
		irq_on = 1;
	}
	while ((c = console_getc()) < 0)
		__asm__ volatile("pushfl; sti; hlt; popfl" ::: "memory");
	return c;
}
