/* printk: formatted output to the console (formats: lib/fmt.h). */
#ifndef STRATA_PRINTK_H
#define STRATA_PRINTK_H

#include <stdarg.h>

#include "lib/fmt.h"

int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintk(const char *fmt, va_list ap);
//@ LAB 7 BEGIN

/* Whole lines (printk.c): owner() names who prints (a thread, or a CPU),
 * poll (or NULL) is called while waiting for the console; lock.c registers
 * both. printk_panic takes the console for a panic, after waiting a
 * bounded time for a printk in progress elsewhere. */
void printk_set_owner(const void *(*owner)(void), void (*poll)(void));
void printk_panic(void);
//@ LAB 7 END

#define snprintf fmt_snprintf
#define vsnprintf fmt_vsnprintf

#endif
