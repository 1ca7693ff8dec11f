//@ LAB 7 FILE
/* printf on the kernel's formatting core (lib/fmt.c): the output is
 * gathered in a buffer and written with one system call per 256 bytes. */
#include <stdarg.h>

#include "user/lib/ulib.h"

struct out {
	char buf[256];
	int n;
};

static void emit(char c, void *arg)
{
	struct out *o = arg;

	o->buf[o->n++] = c;
	if (o->n == (int)sizeof(o->buf)) {
		write(o->buf, o->n);
		o->n = 0;
	}
}

int printf(const char *fmt, ...)
{
	struct out o = { .n = 0 };
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vformat(emit, &o, fmt, ap);
	va_end(ap);
	if (o.n)
		write(o.buf, o.n);
	return n;
}

int puts(const char *s)
{
	return printf("%s\n", s);
}
