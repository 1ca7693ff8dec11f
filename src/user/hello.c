//@ LAB 7 FILE
/* hello: printf, malloc, arguments, a zeroed bss. */
#include "user/lib/ulib.h"

static int zeroed[1000];

int main(int argc, char **argv)
{
	char *s = malloc(64);
	int bss_ok = 1;

	for (int i = 0; i < 1000; i++)
		bss_ok &= zeroed[i] == 0;
	snprintf(s, 64, "%d argument%s", argc, argc == 1 ? "" : "s");
	printf("hello from user mode: pid %d tid %d, %s:", getpid(), gettid(), s);
	for (int i = 0; i < argc; i++)
		printf(" '%s'", argv[i]);
	printf("\nhello: bss %s, malloc gave %s\n", bss_ok ? "zeroed" : "NOT zeroed",
	       (uintptr_t)s >= 0x00400000 && (uintptr_t)s < 0x80000000 ? "a heap address" : "?");
	free(s);
	return 0;
}
