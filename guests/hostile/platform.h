/* The VM's PC platform for scenarios (vmx/vm_devices.hpp): the I/O APIC's indirect registers and
 * PCI configuration mechanism #1. Not a scenario. */
#ifndef HOSTILE_PLATFORM_H
#define HOSTILE_PLATFORM_H
#include "guest.h"

#define IOAPIC_BASE 0xfec00000u
#define IOAPIC_REGSEL IOAPIC_BASE
#define IOAPIC_WINDOW (IOAPIC_BASE + 0x10)
#define IOAPIC_PINS 24
#define IOAPIC_VERSION 0x00170011u
#define IOAPIC_ENTRY_LOW(pin) (0x10u + 2 * (pin))
#define IOAPIC_ENTRY_HIGH(pin) (0x11u + 2 * (pin))
#define IOAPIC_MASKED (1u << 16)
#define IOAPIC_LEVEL (1u << 15)
#define IOAPIC_REMOTE_IRR (1u << 14)
#define IOAPIC_ACTIVE_LOW (1u << 13)
#define IOAPIC_LOGICAL (1u << 11)
#define IOAPIC_MODE(m) ((u32)(m) << 8)
#define PIT_GSI 2 /* ISA IRQ 0 (the MADT's override) */
#define SCI_GSI 9 /* level, active low, idle high */

static inline u32 ioapic_read(u32 index)
{
    mmio_write32(IOAPIC_REGSEL, index);
    return mmio_read32(IOAPIC_WINDOW);
}

static inline void ioapic_write(u32 index, u32 value)
{
    mmio_write32(IOAPIC_REGSEL, index);
    mmio_write32(IOAPIC_WINDOW, value);
}

#define PCI_ADDRESS(bus, dev, fn, reg) (0x80000000u | (u32)(bus) << 16 | (u32)(dev) << 11 | (u32)(fn) << 8 | (reg))

static inline u32 pci_read(u32 bus, u32 dev, u32 fn, u32 reg)
{
    outl(0xcf8, PCI_ADDRESS(bus, dev, fn, reg & 0xfc));
    return inl(0xcfc);
}

#endif
