// Decoder for the x86 instructions a guest uses on MMIO pages (SDM Vol. 2, chapter 2 "Instruction
// Format" and the opcode map of Appendix A). Pure and bounds-checked: any byte sequence gives a
// status, never a read past `count` or past the 15-byte limit.
//
// Decoded: legacy prefixes (66, 67, segment overrides, F0, F2, F3, in any order and number up to
// the length limit), REX in 64-bit mode (a REX followed by a legacy prefix is ignored, as on
// hardware), ModRM/SIB/displacement with 16-, 32- and 64-bit addressing and RIP-relative forms,
// immediates and moffs. Supported opcodes:
//   00-03 08-0B 10-13 18-1B 20-23 28-2B 30-33 38-3B  ADD OR ADC SBB AND SUB XOR CMP r/m,r / r,r/m
//   80 81 82 83 /0-/7  the same with an immediate (82 is #UD in 64-bit mode)
//   84 85 TEST r/m,r   86 87 XCHG r/m,r   88-8B MOV   A0-A3 MOV moffs   C6 C7 /0 MOV r/m,imm
//   A4 A5 MOVS   AA AB STOS   AC AD LODS   F6 F7 /0 TEST r/m,imm   F6 F7 /2 /3 NOT NEG r/m
//   FE FF /0 /1 INC DEC r/m   FF /6 PUSH r/m   8F /0 POP r/m   63 MOVSXD r,r/m (64-bit mode only)
//   0F B6 B7 MOVZX   0F BE BF MOVSX   0F A3 AB B3 BB BT BTS BTR BTC r/m,r   0F BA /4-/7 with imm8
//   0F B0 B1 CMPXCHG r/m,r
// Anything else is DecodeStatus::unsupported with the opcode bytes filled in for the report; in
// particular 40-4F outside 64-bit mode (INC/DEC of a register: never a memory access), 63 outside
// 64-bit mode (ARPL), FF /2-/5 (CALL/JMP through memory) and F6/F7 /1 /4-/7.
#pragma once
#include <cstddef>
#include <cstdint>

#include "vmx/guest_registers.hpp"

namespace x86_decode {

// Segment register numbers as the x86 encodes them (SDM Vol. 2 3.1.1.3, Sreg).
namespace seg {
constexpr uint8_t es = 0, cs = 1, ss = 2, ds = 3, fs = 4, gs = 5;
}

constexpr unsigned max_instruction_length = 15;  // SDM Vol. 2 2.3.11: longer is #GP(0)

enum class Operation : uint8_t {
    add, or_, adc, sbb, and_, sub, xor_, cmp,  // ModRM.reg order of group 1 (80-83)
    mov, movzx, movsx, test, xchg, bt, bts, btr, btc, movs, stos, lods,
    inc, dec, not_, neg, cmpxchg, push, pop,
};

enum class Form : uint8_t {
    rm_reg,  // r/m is the destination (or first operand), the register the source: 88, 01, 84, 0F A3, 0F B1
    reg_rm,  // the register is the destination: 8A, 03, A0/A1, 0F B6
    rm_imm,  // r/m is the destination, the immediate the source: C6, 80, F6 /0, 0F BA
    string,  // MOVS, STOS, LODS: operands implied by rSI, rDI and rAX
    rm,      // r/m is the only explicit operand: INC, DEC, NOT, NEG; PUSH, POP (the stack is implied)
};

enum class DecodeStatus : uint8_t {
    ok,
    unsupported,     // a valid (or unknown) instruction outside the list above
    invalid_opcode,  // #UD: LOCK where it is not allowed, 82 in 64-bit mode, C6/C7 /1-/6, 0F BA /0-/3,
                     // FE /2-/7, FF /7, 8F /1-/7
    too_long,        // more than 15 bytes: #GP(0)
    truncated,       // `count` ended before the instruction did
};

struct Instruction {
    Operation operation;
    Form form;
    uint8_t length;
    uint8_t opcode[3];  // for reports; also filled for unsupported opcodes
    uint8_t opcode_length;
    uint8_t operand_size;  // bytes: 1, 2, 4, 8 (the register's size for MOVZX/MOVSX/MOVSXD; for PUSH
                           // and POP the size pushed: 64-bit mode has 8 and, with 66, 2)
    uint8_t memory_size;   // bytes read or written at the memory operand
    uint8_t address_size;  // bytes: 2, 4, 8
    uint8_t segment;       // seg::*: of the memory operand (of the source for MOVS and LODS)
    uint8_t rep;           // 0xf3, 0xf2 or 0 (the last of them wins)
    bool lock;
    bool rex;              // a REX prefix is in effect: byte registers 4-7 are SPL..DIL, not AH..BH
    bool memory;           // the r/m operand is memory (ModRM.mod != 3, or a moffs form)
    uint8_t reg;           // ModRM.reg with REX.R (0, rAX, for moffs forms)
    uint8_t rm;            // ModRM.rm with REX.B, when !memory
    int8_t base;           // register number, or -1
    int8_t index;          // register number, or -1
    uint8_t scale;         // 1, 2, 4, 8
    bool rip_relative;     // effective address = next instruction's RIP + displacement
    int64_t displacement;  // sign-extended; the absolute address for moffs forms
    uint64_t immediate;    // sign-extended to 64 bits
};

// `count` may exceed 15; bytes past the 15th are never read.
DecodeStatus decode(const uint8_t* bytes, size_t count, CpuMode mode, Instruction& out);

}  // namespace x86_decode
