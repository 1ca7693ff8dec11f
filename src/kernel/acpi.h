//@ LAB 8 FILE
/*
 * Finding the CPUs and the IOAPIC (lab 8): the ACPI MADT (acpi.c) or, when
 * there is none, the Intel MultiProcessor table (mp.c). Both fill a struct
 * smp_config. They read physical memory through a map function the
 * caller gives (smp.c maps pages that are not in the kernel's direct map),
 * print what they find or why a table is unusable, and return -1 when
 * they found nothing usable (the caller then runs on the boot CPU only).
 */
#ifndef STRATA_ACPI_H
#define STRATA_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_CPUS		256	/* APIC IDs are 8 bits */
#define CONFIG_MAX_OVERRIDES	16

/* A bus IRQ that is not wired to the IOAPIC input of the same number, or
 * not with the ISA bus's edge/active-high (ACPI MADT type 2, MP type 3):
 * e.g. QEMU's ISA IRQ 0 (the PIT) -> GSI 2. flags: the MPS INTI flags
 * (bits 0-1 polarity, 2-3 trigger; 0 = as the bus says). */
struct irq_override {
	uint8_t irq;
	uint32_t gsi;
	uint16_t flags;
};

struct smp_config {
	const char *source;		/* "ACPI MADT" or "MP table" */
	uintptr_t lapic_phys;
	int ncpus;			/* enabled CPUs found, in table order */
	uint8_t apic_ids[CONFIG_MAX_CPUS];
	int disabled;			/* entries not enabled (maxcpus > CPUs) */
	int ioapic_id;			/* -1: none */
	uintptr_t ioapic_phys;
	uint32_t ioapic_gsi_base;
	int noverrides;
	struct irq_override overrides[CONFIG_MAX_OVERRIDES];
};

/* Returns a kernel pointer to the physical bytes [pa, pa + len), or NULL. */
typedef const void *(*phys_map_fn)(uintptr_t pa, size_t len);

int acpi_find(struct smp_config *cfg, phys_map_fn map);
int mp_find(struct smp_config *cfg, phys_map_fn map);

/* The sum of n bytes (a table is valid when its bytes sum to 0, mod 256). */
uint8_t acpi_sum(const void *p, size_t n);
/* The first 16-byte aligned structure in [pa, pa + len) that starts with
 * the string sig and whose first sum_len bytes sum to 0 (mod 256), or 0:
 * how the RSDP and the MP floating pointer are found in BIOS memory. */
uintptr_t bios_scan(uintptr_t pa, size_t len, const char *sig, size_t sum_len,
		    phys_map_fn map);

#endif
