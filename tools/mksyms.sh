#!/bin/sh
# mksyms.sh FILE: turn `nm -n` output (FILE, or - for stdin) into an assembly
# file holding the kernel's text symbols, sorted by address, for backtraces.
# /dev/null gives the empty table used by the first link.
awk '
BEGIN {
	print "\t.section .ksyms, \"a\""
	print "\t.balign 4"
	print "\t.globl ksyms, ksyms_count"
	print "ksyms:"
	n = 0
}
$2 ~ /^[Tt]$/ && $3 !~ /^\./ {
	printf "\t.long 0x%s, .Lname%d\n", $1, n
	names[n++] = $3
}
END {
	print "ksyms_count:"
	printf "\t.long %d\n", n
	for (i = 0; i < n; i++)
		printf ".Lname%d:\t.asciz \"%s\"\n", i, names[i]
}' "$1"
