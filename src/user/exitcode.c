//@ LAB 7 FILE
/* exitcode N: exits with N (through exit(), not main's return). */
#include "user/lib/ulib.h"

int main(int argc, char **argv)
{
	exit(argc > 1 ? (int)strtoul(argv[1], NULL, 10) : 0);
}
