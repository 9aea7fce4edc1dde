// The guest's execution context as the emulation code needs it (mode, CPL, paging registers,
// segment bases), read from the current VMCS.
#pragma once
#include "vmx/instruction_emulator.hpp"
#include "vmx/vcpu.hpp"

namespace guest_context {

mmio_emulation::GuestContext read(const Vcpu& vcpu);
// RSP, RIP and RFLAGS live in the VMCS; the emulator works on GuestRegisters.
void load_vmcs_registers(Vcpu& vcpu);
void store_vmcs_registers(const Vcpu& vcpu);
// CR0/CR4 as the guest sees them: its own bits from the VMCS field, host-owned ones from the
// read shadow (SDM Vol. 3C 25.6.6).
uint64_t cr0();
uint64_t cr4();
// The guest's current privilege level: SS.DPL (SDM Vol. 3C 25.4.1).
unsigned cpl();
// 64-bit mode: IA-32e mode (EFER.LMA) with a 64-bit code segment (CS.L), SDM Vol. 3A 3.4.5.
bool in_64_bit_mode();

}  // namespace guest_context
