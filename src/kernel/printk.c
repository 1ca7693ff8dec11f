#include "kernel/console.h"
#include "kernel/printk.h"

static void console_emit(char c, void *arg)
{
	(void)arg;
	console_putc(c);
}

int vprintk(const char *fmt, va_list ap)
{
	return fmt_vformat(console_emit, 0, fmt, ap);
}

int printk(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}
