//@ LAB 8 FILE
/*
 * The Intel MultiProcessor Specification 1.4 tables, the fallback when
 * there is no ACPI MADT. The floating pointer "_MP_" (16 bytes, on a
 * 16-byte boundary in the EBDA's first KiB, the last KiB of base memory or
 * 0xF0000-0xFFFFF) points at the configuration table "PCMP": a 44-byte
 * header with the LAPIC address, then entries: processor (type 0, 20
 * bytes), bus (1), IOAPIC (2), I/O interrupt (3), local interrupt (4),
 * each 8 bytes. Since QEMU 6.2, SeaBIOS's MP table lists only the first
 * core of a socket, which is why the MADT comes first.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/acpi.h"
#include "kernel/printk.h"
#include "lib/string.h"

struct mp_float {
	char signature[4];
	uint32_t config;
	uint8_t length, revision, checksum, type;
	uint8_t features[4];
} __attribute__((packed));

struct mp_config {
	char signature[4];
	uint16_t length;
	uint8_t revision, checksum;
	char oem[8], product[12];
	uint32_t oem_table;
	uint16_t oem_size, entries;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
} __attribute__((packed));

#define MP_PROC		0
#define MP_BUS		1
#define MP_IOAPIC	2
#define MP_IOINT	3
#define MP_LINT		4
#define PROC_ENABLED	0x1
#define MAX_BUSES	32

/* The MP floating pointer (16 bytes) in [pa, pa + len), or 0. */
static uintptr_t float_scan(uintptr_t pa, size_t len, phys_map_fn map)
{
	return bios_scan(pa, len, "_MP_", 16, map);
}

static uintptr_t float_find(phys_map_fn map)
{
	const uint16_t *ebda_seg = map(0x40E, 2), *base_kib = map(0x413, 2);
	uintptr_t f = 0;

	if (ebda_seg && *ebda_seg)
		f = float_scan((uintptr_t)*ebda_seg << 4, 1024, map);
	if (!f && base_kib && *base_kib)
		f = float_scan(((uintptr_t)*base_kib - 1) * 1024, 1024, map);
	if (!f)
		f = float_scan(0xF0000, 0x10000, map);
	return f;
}

/* An I/O interrupt entry from an ISA bus to an IOAPIC input: an override
 * when the input is not the IRQ's number or the flags are not the bus's. */
static void mp_ioint(struct smp_config *cfg, const uint8_t *e, const uint8_t *isa)
{
	uint16_t flags;

	memcpy(&flags, e + 2, 2);
	if (e[1] != 0 || e[4] >= MAX_BUSES || !isa[e[4]])	/* INT on an ISA bus only */
		return;
	if ((e[5] == e[7] && !flags) || cfg->noverrides >= CONFIG_MAX_OVERRIDES)
		return;
	cfg->overrides[cfg->noverrides++] = (struct irq_override){ e[5], e[7], flags };
}

int mp_find(struct smp_config *cfg, phys_map_fn map)
{
	uintptr_t fp = float_find(map);
	const struct mp_float *f;
	const struct mp_config *c;
	const uint8_t *e, *end;
	uint8_t isa[MAX_BUSES] = { 0 };

	if (!fp) {
		printk("[mp] no MP floating pointer\n");
		return -1;
	}
	f = map(fp, sizeof(*f));
	if (!f->config) {
		printk("[mp] MP floating pointer at 0x%08x: a default configuration (%u), "
		       "not supported\n", fp, f->type);
		return -1;
	}
	c = map(f->config, sizeof(*c));
	if (c && !memcmp(c->signature, "PCMP", 4) && c->length >= sizeof(*c))
		c = map(f->config, c->length);
	if (!c || memcmp(c->signature, "PCMP", 4) || acpi_sum(c, c->length) != 0) {
		printk("[mp] MP configuration table at 0x%08x: bad signature or checksum\n",
		       f->config);
		return -1;
	}
	printk("[mp] MP table at 0x%08x, configuration at 0x%08x\n", fp, f->config);
	cfg->source = "MP table";
	cfg->lapic_phys = c->lapic;
	e = (const uint8_t *)(c + 1);
	end = (const uint8_t *)c + c->length;
	/* Buses first: an I/O interrupt entry names its bus by id. */
	for (const uint8_t *b = e; b < end; b += b[0] == MP_PROC ? 20 : 8)
		if (b[0] == MP_BUS && b[1] < MAX_BUSES && !memcmp(b + 2, "ISA", 3))
			isa[b[1]] = 1;
	for (; e < end; e += e[0] == MP_PROC ? 20 : 8) {
		if (e[0] > MP_LINT) {
			printk("[mp] entry of unknown type %u: the rest is ignored\n", e[0]);
			break;
		}
		if (e[0] == MP_PROC) {
			if (!(e[3] & PROC_ENABLED))
				cfg->disabled++;
			else if (cfg->ncpus < CONFIG_MAX_CPUS)
				cfg->apic_ids[cfg->ncpus++] = e[1];
		} else if (e[0] == MP_IOAPIC && (e[3] & 1) && cfg->ioapic_id < 0) {
			cfg->ioapic_id = e[1];
			memcpy(&cfg->ioapic_phys, e + 4, 4);
			cfg->ioapic_gsi_base = 0;
		} else if (e[0] == MP_IOINT) {
			mp_ioint(cfg, e, isa);
		}
	}
	if (cfg->ncpus == 0) {
		printk("[mp] MP table lists no enabled CPU\n");
		return -1;
	}
	return 0;
}
