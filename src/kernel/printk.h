/* printk: formatted output to the console (formats: lib/fmt.h). */
#ifndef STRATA_PRINTK_H
#define STRATA_PRINTK_H

#include <stdarg.h>

#include "lib/fmt.h"

int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintk(const char *fmt, va_list ap);

#define snprintf fmt_snprintf
#define vsnprintf fmt_vsnprintf

#endif
