//@ LAB 8 FILE
/*
 * The ACPI tables the kernel needs to find its CPUs (ACPI 6.x spec, 5.2):
 *
 *   RSDP ("RSD PTR ", on a 16-byte boundary in the EBDA's first KiB or in
 *     the BIOS area 0xE0000-0xFFFFF; checksum over 20 bytes, and over its
 *     length from revision 2) -> RSDT (32-bit entries) or XSDT (64-bit)
 *   RSDT/XSDT: a header, then the physical addresses of the other tables
 *   MADT ("APIC"): the LAPIC's address, then entries: type 0 a CPU's LAPIC
 *     (enabled or not), type 1 an IOAPIC, type 2 an interrupt source
 *     override, type 5 a 64-bit LAPIC address.
 *
 * Every table header (36 bytes) has a length and a checksum: a table whose
 * bytes do not sum to 0 is refused with a line saying so.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/acpi.h"
#include "kernel/layout.h"
#include "kernel/printk.h"
#include "lib/string.h"

struct rsdp {
	char signature[8];
	uint8_t checksum;
	char oem[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;	/* revision >= 2 */
	uint64_t xsdt;
	uint8_t xchecksum;
	uint8_t reserved[3];
} __attribute__((packed));

struct sdt {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_revision, creator, creator_revision;
} __attribute__((packed));

struct madt {
	struct sdt h;
	uint32_t lapic;
	uint32_t flags;
} __attribute__((packed));

#define MADT_LAPIC	0
#define MADT_IOAPIC	1
#define MADT_OVERRIDE	2
#define MADT_LAPIC64	5
#define LAPIC_ENABLED	0x1

uint8_t acpi_sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

uintptr_t bios_scan(uintptr_t pa, size_t len, const char *sig, size_t sum_len,
		    phys_map_fn map)
{
	const uint8_t *p = map(pa, len);
	size_t sig_len = strlen(sig);

	if (!p)
		return 0;
	for (size_t off = 0; off + sum_len <= len; off += 16)
		if (!memcmp(p + off, sig, sig_len) && acpi_sum(p + off, sum_len) == 0)
			return pa + off;
	return 0;
}

/* An RSDP (its ACPI 1.0 part: 20 bytes) in [pa, pa + len), or 0. */
static uintptr_t rsdp_scan(uintptr_t pa, size_t len, phys_map_fn map)
{
	return bios_scan(pa, len, "RSD PTR ", 20, map);
}

/* The EBDA's segment is at 0x40E in the BIOS data area. */
static uintptr_t rsdp_find(phys_map_fn map)
{
	const uint16_t *ebda_seg = map(0x40E, 2);
	uintptr_t r = 0;

	if (ebda_seg && *ebda_seg)
		r = rsdp_scan((uintptr_t)*ebda_seg << 4, 1024, map);
	if (!r)
		r = rsdp_scan(0xE0000, 0x20000, map);
	return r;
}

/* The table at pa, mapped whole, if its header and checksum are good. */
static const struct sdt *sdt_map(uintptr_t pa, const char *want, phys_map_fn map)
{
	const struct sdt *h = map(pa, sizeof(*h));

	if (!h)
		return 0;
	if (want && memcmp(h->signature, want, 4))
		return 0;
	if (h->length < sizeof(*h) || h->length > 0x100000) {
		printk("[acpi] table %s at 0x%08x: bad length %u, ignored\n", want, pa, h->length);
		return 0;
	}
	h = map(pa, h->length);
	if (h && acpi_sum(h, h->length) != 0) {
		printk("[acpi] table %s at 0x%08x: bad checksum, ignored\n", want, pa);
		return 0;
	}
	return h;
}

static void madt_entry(struct smp_config *cfg, const uint8_t *e)
{
	switch (e[0]) {
	case MADT_LAPIC:	/* ACPI processor id, APIC id, flags (u32) */
		if (!(e[4] & LAPIC_ENABLED))
			cfg->disabled++;
		else if (cfg->ncpus < CONFIG_MAX_CPUS)
			cfg->apic_ids[cfg->ncpus++] = e[3];
		break;
	case MADT_IOAPIC:	/* id, reserved, address (u32), GSI base (u32) */
		if (cfg->ioapic_id < 0) {
			cfg->ioapic_id = e[2];
			memcpy(&cfg->ioapic_phys, e + 4, 4);
			memcpy(&cfg->ioapic_gsi_base, e + 8, 4);
		}
		break;
	case MADT_OVERRIDE:	/* bus (0: ISA), source IRQ, GSI (u32), flags (u16) */
		if (e[2] == 0 && cfg->noverrides < CONFIG_MAX_OVERRIDES) {
			struct irq_override *o = &cfg->overrides[cfg->noverrides++];

			o->irq = e[3];
			memcpy(&o->gsi, e + 4, 4);
			memcpy(&o->flags, e + 8, 2);
		}
		break;
	case MADT_LAPIC64: {	/* reserved (u16), address (u64) */
		uint32_t hi;

		memcpy(&hi, e + 8, 4);
		if (!hi)
			memcpy(&cfg->lapic_phys, e + 4, 4);
		break;
	}
	}
}

static int madt_parse(struct smp_config *cfg, const struct madt *m)
{
	const uint8_t *e = (const uint8_t *)(m + 1), *end = (const uint8_t *)m + m->h.length;

	cfg->source = "ACPI MADT";
	cfg->lapic_phys = m->lapic;
	for (; e + 2 <= end; e += e[1]) {
		if (e[1] < 2 || e + e[1] > end) {
			printk("[acpi] MADT: entry of type %u at offset %u has length %u: "
			       "the rest is ignored\n", e[0], (unsigned)(e - (const uint8_t *)m), e[1]);
			break;
		}
		madt_entry(cfg, e);
	}
	if (cfg->ncpus == 0) {
		printk("[acpi] MADT lists no enabled CPU\n");
		return -1;
	}
	return 0;
}

int acpi_find(struct smp_config *cfg, phys_map_fn map)
{
	uintptr_t rp = rsdp_find(map), t;
	const struct rsdp *r;
	const struct sdt *root;
	int xsdt = 0;
	size_t n;

	if (!rp) {
		printk("[acpi] no RSDP in the EBDA or 0xE0000-0xFFFFF\n");
		return -1;
	}
	r = map(rp, sizeof(*r));
	if (r->revision >= 2 && r->xsdt && !(r->xsdt >> 32) &&
	    acpi_sum(r, sizeof(*r)) == 0)
		xsdt = 1;
	t = xsdt ? (uintptr_t)r->xsdt : r->rsdt;
	root = sdt_map(t, xsdt ? "XSDT" : "RSDT", map);
	printk("[acpi] RSDP at 0x%08x (revision %u), %s at 0x%08x%s\n", rp, r->revision,
	       xsdt ? "XSDT" : "RSDT", t, root ? "" : ": unusable");
	if (!root)
		return -1;
	n = (root->length - sizeof(*root)) / (xsdt ? 8 : 4);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *ent = (const uint8_t *)(root + 1) + i * (xsdt ? 8 : 4);
		uint32_t lo, hi = 0;
		const struct sdt *h;

		memcpy(&lo, ent, 4);
		if (xsdt)
			memcpy(&hi, ent + 4, 4);
		if (hi)
			continue;	/* above 4 GiB: not reachable from 32-bit paging */
		h = sdt_map(lo, "APIC", map);
		if (h) {
			printk("[acpi] MADT at 0x%08x\n", lo);
			return madt_parse(cfg, (const struct madt *)h);
		}
	}
	printk("[acpi] no MADT in the %s\n", xsdt ? "XSDT" : "RSDT");
	return -1;
}
