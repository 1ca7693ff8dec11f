#include <stdint.h>

#include "lib/fmt.h"

struct spec {
	int width;
	int zero;
	int left;
	int is_long;
};

static int emit_n(fmt_emit_fn emit, void *arg, char c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		emit(c, arg);
	return n > 0 ? n : 0;
}

/* Prints digits[0..len) right- or left-aligned in the field. */
static int emit_field(fmt_emit_fn emit, void *arg, const struct spec *sp,
		      const char *sign, const char *digits, int len)
{
	int slen = 0, pad, count = 0;

	while (sign[slen])
		slen++;
	pad = sp->width - len - slen;
	if (!sp->left && !sp->zero)
		count += emit_n(emit, arg, ' ', pad);
	for (int i = 0; i < slen; i++, count++)
		emit(sign[i], arg);
	if (!sp->left && sp->zero)
		count += emit_n(emit, arg, '0', pad);
	for (int i = 0; i < len; i++, count++)
		emit(digits[i], arg);
	if (sp->left)
		count += emit_n(emit, arg, ' ', pad);
	return count;
}

static int emit_number(fmt_emit_fn emit, void *arg, const struct spec *sp,
		       unsigned long v, unsigned base, int upper,
		       const char *sign)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[32], digits[32];
	int n = 0;

	do {
		tmp[n++] = set[v % base];
		v /= base;
	} while (v);
	for (int i = 0; i < n; i++)
		digits[i] = tmp[n - 1 - i];
	return emit_field(emit, arg, sp, sign, digits, n);
}

static const char *parse_spec(const char *f, struct spec *sp)
{
	sp->width = 0;
	sp->zero = 0;
	sp->left = 0;
	sp->is_long = 0;
	for (;; f++) {
		if (*f == '0')
			sp->zero = 1;
		else if (*f == '-')
			sp->left = 1;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	while (*f == 'l') {
		sp->is_long = 1;
		f++;
	}
	return f;
}

int fmt_vformat(fmt_emit_fn emit, void *arg, const char *fmt, va_list ap)
{
	struct spec sp;
	int count = 0;

	for (const char *f = fmt; *f; f++) {
		const char *start = f;
		if (*f != '%') {
			emit(*f, arg);
			count++;
			continue;
		}
		f = parse_spec(f + 1, &sp);
		switch (*f) {
		case 'd':
		case 'i': {
			long v = sp.is_long ? va_arg(ap, long) : va_arg(ap, int);
			unsigned long mag = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
			count += emit_number(emit, arg, &sp, mag, 10, 0, v < 0 ? "-" : "");
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			unsigned long v = sp.is_long ? va_arg(ap, unsigned long)
						     : va_arg(ap, unsigned int);
			count += emit_number(emit, arg, &sp, v, *f == 'u' ? 10 : 16,
					     *f == 'X', "");
			break;
		}
		case 'p': {
			/* "0x" and every hex digit of the pointer */
			struct spec ps = { .width = 2 + 2 * (int)sizeof(void *), .zero = 1 };
			unsigned long v = (unsigned long)(uintptr_t)va_arg(ap, void *);
			count += emit_number(emit, arg, &ps, v, 16, 0, "0x");
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len = 0;
			if (!s)
				s = "(null)";
			while (s[len])
				len++;
			sp.zero = 0;
			count += emit_field(emit, arg, &sp, "", s, len);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			sp.zero = 0;
			count += emit_field(emit, arg, &sp, "", &c, 1);
			break;
		}
		case '%':
			emit('%', arg);
			count++;
			break;
		default:	/* unknown or truncated: print it as written */
			for (; start <= f && *start; start++, count++)
				emit(*start, arg);
			if (!*f)
				return count;
			break;
		}
	}
	return count;
}

struct sbuf {
	char *buf;
	size_t size;
	size_t len;
};

static void sbuf_emit(char c, void *arg)
{
	struct sbuf *sb = arg;

	if (sb->len + 1 < sb->size)
		sb->buf[sb->len] = c;
	sb->len++;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sbuf sb = { buf, size, 0 };
	int n = fmt_vformat(sbuf_emit, &sb, fmt, ap);

	if (size > 0)
		buf[sb.len < size ? sb.len : size - 1] = '\0';
	return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
