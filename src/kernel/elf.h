//@ LAB 7 FILE
/*
 * The ELF loader (lab 7): static ELF32 i386 executables (ET_EXEC), each
 * PT_LOAD segment mapped at its address with its permissions (text not
 * writable), the file's bytes copied, the rest (bss) zeroed.
 */
#ifndef STRATA_ELF_H
#define STRATA_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/elfcheck.h"
#include "kernel/process.h"

/* elf_check (elfcheck.h) is called on the image before a process is made. */
/* Loads the checked image into p (p's directory loaded, its user half
 * empty): sets *entry and p's heap (after the highest segment). 0, or
 * -ENOMEM (the pages mapped so far go with the process). */
int elf_load(struct process *p, const void *image, size_t size, uintptr_t *entry);

#endif
