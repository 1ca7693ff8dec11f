/*
 * The formatting core of printk. Pure: compiles in the kernel and on the
 * host (tests/test_fmt.c), with no kernel headers.
 *
 * Conversions: %d %i %u %x %X %p %s %c %%, with a field width, '0' padding,
 * '-' left adjustment and the 'l' length modifier (long == int on i386).
 * %p prints 0x followed by 8 hex digits. A NULL %s prints "(null)".
 * Unknown conversions are printed as they are.
 */
#ifndef STRATA_FMT_H
#define STRATA_FMT_H

#include <stdarg.h>
#include <stddef.h>

typedef void (*fmt_emit_fn)(char c, void *arg);

/* Formats into emit(c, arg), one character at a time; returns the count. */
int fmt_vformat(fmt_emit_fn emit, void *arg, const char *fmt, va_list ap);

/* snprintf semantics: always NUL-terminates when size > 0, returns the
 * length the whole output would have had. */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
