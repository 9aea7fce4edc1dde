// Emulation of one guest instruction that touched a guest-physical page no RAM backs (an EPT
// violation on the local APIC, an IOAPIC, ...): decode it, perform its memory access against a
// device model, update registers, RFLAGS and RIP. Pure: guest memory is GuestRam, devices are
// callbacks, so this unit also runs in host tests.
//
// Instructions: those of instruction_decoder.hpp with a memory operand. MOV/MOVZX/MOVSX/MOVSXD/
// ALU/TEST/XCHG/BT*/INC/DEC/NOT/NEG/CMPXCHG make their access(es) at `faulting_gpa` only (the VMCS
// guest-physical address of the exit: the hardware has already translated the linear address and
// checked its rights, and the guest's TLB may legitimately differ from its page tables); the
// access may not cross a page (else Outcome::unsupported) and the page offset of the decoded
// operand must match it (else Outcome::mismatch). MOVS/STOS/LODS (with REP/REPNE, which act alike on them) translate every
// element through the guest's page tables instead, since each iteration touches new addresses: a
// guest-physical address inside GuestRam is RAM, anything else goes to the callbacks.
// PUSH r/m and POP r/m make their r/m access at `faulting_gpa` like the first group, and their
// stack access at SS:rSP through the guest's page tables like a string element; the stack must be
// RAM (else Outcome::unsupported: the exit may then have been the stack access, not the r/m one). The stack is translated,
// and for POP read, before the device is touched, so a #PF/#SS on it has no side effect. POP with
// rSP as the base addresses its destination with the incremented rSP, PUSH with the old one (SDM
// Vol. 2 "POP", "PUSH").
//
// Exactness notes. Logical operations (AND/OR/XOR/TEST) clear CF, OF and AF (AF is undefined in
// the SDM; AF = 0 is what current processors produce). BT* change only CF. 32-bit register writes
// zero-extend to 64 bits in every mode (the upper half is undefined outside 64-bit mode). Segment
// limits and attributes are not checked (the hardware checked the access that exited; later REP
// iterations are not limit-checked); 64-bit mode checks canonical addresses (#GP, #SS via SS).
// Linear addresses outside 64-bit mode wrap at 4 GiB; A20 masking is not modelled. A stack access
// past offset 0xffff (16-bit stack) or 0xffffffff (32-bit stack) is #SS(0), as the limit check of
// a flat or 64 KiB stack segment would make it.
// INC/DEC keep CF and set OF/SF/ZF/AF/PF as ADD/SUB of 1; NOT changes no flag; NEG sets the flags
// of SUB 0 - x, which makes CF = (x != 0). CMPXCHG sets the flags of CMP accumulator, r/m; on a
// mismatch it loads the accumulator (a 32-bit load zero-extends RAX) and, like the processor (SDM
// Vol. 2 "CMPXCHG": "the destination operand receives a write cycle without regard to the result
// of the comparison") and KVM's emulator (em_cmpxchg writes the old value back, which for MMIO is
// a plain write), writes the value it read back to the device. A device therefore sees the same
// read-then-write sequence as behind real hardware; rewriting the value just read is idempotent
// for storage registers, and where a write has side effects (an EOI register, an ICR) real
// hardware would trigger them too, so no guest can rely on their absence. A read-modify-write is
// a read callback then a write callback; LOCK does not make the pair atomic against other vCPUs
// (a device model shared between vCPUs serializes itself if it must).
// Not handled here, left to the caller: RFLAGS.TF single-step traps, RF, the interrupt shadow.
#pragma once
#include <cstddef>
#include <cstdint>

#include "vmx/guest_page_walk.hpp"
#include "vmx/guest_ram.hpp"
#include "vmx/guest_registers.hpp"
#include "vmx/instruction_decoder.hpp"

namespace mmio_emulation {

// A device model. `size` is 1, 2, 4 or 8; reads return the value in the low `size` bytes.
// False means no device answers there (Outcome::mmio_failed).
struct MmioAccess {
    bool (*read)(void* context, uint64_t gpa, unsigned size, uint64_t& value);
    bool (*write)(void* context, uint64_t gpa, unsigned size, uint64_t value);
    void* context;
};

struct GuestContext {
    CpuMode mode;  // of the code segment: compatibility mode is protected16/32 with EFER.LMA set
    unsigned cpl;  // 3: accesses are user-mode accesses for the page walk
    guest_paging::PagingRegisters paging;
    uint64_t segment_base[6];  // indexed by x86_decode::seg; 64-bit mode uses only FS and GS
    // Outside 64-bit mode the stack's address size is SS.B (SDM Vol. 3A 3.4.5, the D/B flag of
    // the SS descriptor; the VMCS guest SS access rights bit 14): 4 when set, 2 when clear. 0
    // means "as the code segment": 2 in real and protected16 mode, 4 in protected32. 64-bit mode
    // always uses RSP (8) and ignores this.
    uint8_t stack_address_size;
    const GuestRam* ram;
};

enum class Outcome : uint8_t {
    done,                // registers, RFLAGS and RIP updated (see max_string_iterations)
    unsupported,         // an instruction or form not emulated; opcode[] says which
    // Not the instruction that exited: no memory operand, or its operand is at another page
    // offset than `faulting_gpa`. Its bytes changed after the processor fetched them (another
    // vCPU or a DMA rewrote them: cross-modifying code, SDM Vol. 3A 8.1.3) or the exit was an
    // implicit access the decoder does not model. Nothing was changed; the caller may resume the
    // guest unemulated so the processor fetches the bytes again (bounded: it may never match).
    mismatch,
    invalid_opcode,      // inject #UD
    general_protection,  // inject #GP(0): longer than 15 bytes, or a non-canonical address
    stack_fault,         // inject #SS(0): a non-canonical address through SS
    page_fault,          // inject #PF: CR2 = fault_address, error_code
    mmio_failed,         // a device callback returned false
    not_ram,             // a page table, or an instruction byte that was needed, is outside guest RAM
    truncated,           // emulate() only: `count` bytes do not hold the whole instruction
};

struct Result {
    Outcome outcome;
    uint8_t length;         // of the instruction, when decoded
    uint8_t opcode[3];      // for reports, when the opcode was reached
    uint8_t opcode_length;
    uint64_t fault_address;
    uint32_t error_code;
};

// A REP string instruction runs at most this many iterations per call. If RCX is not exhausted
// then, RCX/RSI/RDI reflect the iterations done, RIP stays on the instruction and the outcome is
// done: the guest re-executes it (and exits again), as after an interrupted REP on hardware.
constexpr unsigned max_string_iterations = 4096;

// Reads up to 15 bytes at CS.base + RIP through the guest's page tables (execute accesses at the
// guest's CPL). Stops at the first byte it cannot read: `count` says how many it got and the
// Result says why it stopped (done when it got all 15): page_fault, general_protection (a
// non-canonical RIP), not_ram (code outside RAM or a page table outside RAM), unsupported.
Result fetch_instruction(const GuestContext& guest, uint64_t rip, uint8_t (&bytes)[x86_decode::max_instruction_length],
                         size_t& count);

// Emulates the instruction in bytes[0, count). On done, `regs` holds the new GPRs, RFLAGS and
// RIP. On a fault nothing is changed, except in REP string instructions, where the iterations
// completed before the faulting one stay done (RCX/RSI/RDI updated, RIP on the instruction) as on
// hardware. Call it only for EPT violations on the access to the translated linear address (exit
// qualification bit 8 set), not for accesses to guest paging structures.
Result emulate(const uint8_t* bytes, size_t count, const GuestContext& guest, GuestRegisters& regs,
               uint64_t faulting_gpa, const MmioAccess& mmio);

// fetch_instruction + emulate: what the EPT-violation handler calls. An instruction that runs
// past the fetched bytes gives the reason the fetch stopped (e.g. the #PF to inject).
Result emulate_at_rip(const GuestContext& guest, GuestRegisters& regs, uint64_t faulting_gpa,
                      const MmioAccess& mmio);

}  // namespace mmio_emulation
