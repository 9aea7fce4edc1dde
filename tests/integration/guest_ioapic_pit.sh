#!/usr/bin/env bash
# The PC platform devices: 8259 pair, PCI host bridge, CPUID 0x15, ACPI PM timer, PIT counter 2
# TSC calibration, PIT counter 0 interrupts through the I/O APIC, a level-triggered I/O APIC pin
# with Remote IRR and EOI, and the ACPI S5 power-off that ends the VM.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs ioapic_pit
expect_line "[ioapic_pit] ok PCI: host bridge 8086:1237 at 00:00.0 (0x12378086)"
expect_line "[ioapic_pit] ok I/O APIC: version 0x170011 (0x11, 24 redirection entries)"
expect_line "[ioapic_pit] ok I/O APIC: level-triggered UART interrupt delivered again after each EOI while asserted (3)"
expect_line "[ioapic_pit] PASS ioapic_pit"
expect_line "matryoshka: vm ioapic_pit ended: power-off"
expect_line "matryoshka: exit status 0"
pass
