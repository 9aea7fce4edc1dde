#include "vmx/instruction_decoder.hpp"

namespace x86_decode {
namespace {

enum : uint32_t {
    supported = 1u << 0,
    has_modrm = 1u << 1,
    byte_op = 1u << 2,
    imm8 = 1u << 3,
    immz = 1u << 4,        // 16 bits with a 16-bit operand size, else 32 (sign-extended to 64)
    moffs = 1u << 5,       // an address-size offset instead of ModRM (A0-A3)
    group1 = 1u << 6,      // 80-83: the operation is ModRM.reg
    group_zero = 1u << 7,  // C6/C7 (MOV), 8F (POP): /0 only
    group3 = 1u << 8,      // F6/F7: /0 TEST imm, /2 NOT, /3 NEG; /1 and MUL/IMUL/DIV/IDIV are not MMIO
                           // instructions here
    group_bt = 1u << 9,    // 0F BA: /4-/7
    source8 = 1u << 10,    // MOVZX/MOVSX r, r/m8
    source16 = 1u << 11,   // MOVZX/MOVSX r, r/m16
    invalid64 = 1u << 12,  // #UD in 64-bit mode
    group5 = 1u << 13,     // FE/FF: /0 INC, /1 DEC, FF /6 PUSH; FF /2-/5 CALL/JMP unsupported; the rest #UD
    stack_op = 1u << 14,   // PUSH/POP: 64 bits by default in 64-bit mode (16 with 66, no 32-bit form)
    source32 = 1u << 15,   // MOVSXD r, r/m32; without REX.W the source has the register's size
    only64 = 1u << 16,     // outside 64-bit mode another instruction (63: ARPL): unsupported
};

struct OpcodeInfo {
    uint32_t flags;
    Operation operation;
    Form form;
};
struct OpcodeMap {
    OpcodeInfo entry[256];
};

constexpr OpcodeMap make_one_byte_map()
{
    OpcodeMap m{};
    auto set = [&](unsigned opcode, uint32_t flags, Operation op, Form form) {
        m.entry[opcode] = {flags | supported, op, form};
    };
    for (unsigned alu = 0; alu < 8; ++alu) {
        Operation op = Operation(alu);
        set(alu * 8 + 0, has_modrm | byte_op, op, Form::rm_reg);
        set(alu * 8 + 1, has_modrm, op, Form::rm_reg);
        set(alu * 8 + 2, has_modrm | byte_op, op, Form::reg_rm);
        set(alu * 8 + 3, has_modrm, op, Form::reg_rm);
    }
    set(0x80, has_modrm | group1 | byte_op | imm8, Operation::add, Form::rm_imm);
    set(0x81, has_modrm | group1 | immz, Operation::add, Form::rm_imm);
    set(0x82, has_modrm | group1 | byte_op | imm8 | invalid64, Operation::add, Form::rm_imm);
    set(0x63, has_modrm | source32 | only64, Operation::movsx, Form::reg_rm);
    set(0x83, has_modrm | group1 | imm8, Operation::add, Form::rm_imm);
    set(0x84, has_modrm | byte_op, Operation::test, Form::rm_reg);
    set(0x85, has_modrm, Operation::test, Form::rm_reg);
    set(0x86, has_modrm | byte_op, Operation::xchg, Form::rm_reg);
    set(0x87, has_modrm, Operation::xchg, Form::rm_reg);
    set(0x88, has_modrm | byte_op, Operation::mov, Form::rm_reg);
    set(0x89, has_modrm, Operation::mov, Form::rm_reg);
    set(0x8a, has_modrm | byte_op, Operation::mov, Form::reg_rm);
    set(0x8b, has_modrm, Operation::mov, Form::reg_rm);
    set(0x8f, has_modrm | group_zero | stack_op, Operation::pop, Form::rm);
    set(0xa0, moffs | byte_op, Operation::mov, Form::reg_rm);
    set(0xa1, moffs, Operation::mov, Form::reg_rm);
    set(0xa2, moffs | byte_op, Operation::mov, Form::rm_reg);
    set(0xa3, moffs, Operation::mov, Form::rm_reg);
    set(0xa4, byte_op, Operation::movs, Form::string);
    set(0xa5, 0, Operation::movs, Form::string);
    set(0xaa, byte_op, Operation::stos, Form::string);
    set(0xab, 0, Operation::stos, Form::string);
    set(0xac, byte_op, Operation::lods, Form::string);
    set(0xad, 0, Operation::lods, Form::string);
    set(0xc6, has_modrm | group_zero | byte_op | imm8, Operation::mov, Form::rm_imm);
    set(0xc7, has_modrm | group_zero | immz, Operation::mov, Form::rm_imm);
    set(0xf6, has_modrm | group3 | byte_op, Operation::test, Form::rm_imm);
    set(0xf7, has_modrm | group3, Operation::test, Form::rm_imm);
    set(0xfe, has_modrm | group5 | byte_op, Operation::inc, Form::rm);
    set(0xff, has_modrm | group5, Operation::inc, Form::rm);
    return m;
}

constexpr OpcodeMap make_two_byte_map()
{
    OpcodeMap m{};
    auto set = [&](unsigned opcode, uint32_t flags, Operation op, Form form) {
        m.entry[opcode] = {flags | supported, op, form};
    };
    set(0xa3, has_modrm, Operation::bt, Form::rm_reg);
    set(0xab, has_modrm, Operation::bts, Form::rm_reg);
    set(0xb3, has_modrm, Operation::btr, Form::rm_reg);
    set(0xbb, has_modrm, Operation::btc, Form::rm_reg);
    set(0xba, has_modrm | group_bt | imm8, Operation::bt, Form::rm_imm);
    set(0xb6, has_modrm | source8, Operation::movzx, Form::reg_rm);
    set(0xb7, has_modrm | source16, Operation::movzx, Form::reg_rm);
    set(0xbe, has_modrm | source8, Operation::movsx, Form::reg_rm);
    set(0xbf, has_modrm | source16, Operation::movsx, Form::reg_rm);
    set(0xb0, has_modrm | byte_op, Operation::cmpxchg, Form::rm_reg);
    set(0xb1, has_modrm, Operation::cmpxchg, Form::rm_reg);
    return m;
}

constexpr OpcodeMap one_byte_map = make_one_byte_map();
constexpr OpcodeMap two_byte_map = make_two_byte_map();

struct Reader {
    const uint8_t* bytes;
    size_t count;
    size_t position;
    DecodeStatus error;

    // The 15-byte limit is checked first: an instruction that needs a 16th byte is too long
    // whether or not the caller could supply it.
    bool next(uint8_t& out)
    {
        if (position >= max_instruction_length) {
            error = DecodeStatus::too_long;
            return false;
        }
        if (position >= count) {
            error = DecodeStatus::truncated;
            return false;
        }
        out = bytes[position++];
        return true;
    }
    bool little_endian(unsigned size, uint64_t& out)
    {
        out = 0;
        for (unsigned i = 0; i < size; ++i) {
            uint8_t b;
            if (!next(b)) return false;
            out |= uint64_t(b) << (8 * i);
        }
        return true;
    }
};

constexpr int64_t sign_extend(uint64_t value, unsigned size)
{
    unsigned shift = 64 - 8 * size;
    return int64_t(value << shift) >> shift;
}

// SDM Vol. 2 2.1.5 Table 2-1 (16-bit forms) and Tables 2-2/2-3 with 2.2.1 (REX, RIP-relative).
bool decode_memory_operand(Reader& r, uint8_t modrm, uint8_t rex, CpuMode mode, Instruction& out)
{
    const unsigned mod = modrm >> 6, rm = modrm & 7;
    unsigned displacement_size = mod == 1 ? 1 : 0;
    out.memory = true;
    if (out.address_size == 2) {
        constexpr int8_t base16[8] = {reg::rbx, reg::rbx, reg::rbp, reg::rbp, reg::rsi, reg::rdi, reg::rbp, reg::rbx};
        constexpr int8_t index16[8] = {reg::rsi, reg::rdi, reg::rsi, reg::rdi, -1, -1, -1, -1};
        out.base = base16[rm];
        out.index = index16[rm];
        if (mod == 2) displacement_size = 2;
        if (mod == 0 && rm == 6) {
            out.base = -1;
            displacement_size = 2;
        }
    } else {
        if (mod == 2) displacement_size = 4;
        if (rm == 4) {
            uint8_t sib;
            if (!r.next(sib)) return false;
            out.scale = uint8_t(1u << (sib >> 6));
            unsigned index = ((sib >> 3) & 7) | (rex & 2 ? 8 : 0);
            if (index != reg::rsp) out.index = int8_t(index);
            if ((sib & 7) == 5 && mod == 0) {
                displacement_size = 4;  // no base, whatever REX.B says
            } else {
                out.base = int8_t((sib & 7) | (rex & 1 ? 8 : 0));
            }
        } else if (rm == 5 && mod == 0) {
            displacement_size = 4;
            out.rip_relative = mode == CpuMode::long64;
        } else {
            out.base = int8_t(rm | (rex & 1 ? 8 : 0));
        }
    }
    // SDM Vol. 1 3.7.4: rBP or rSP as the base selects SS by default (R12/R13 do not).
    if (out.base == reg::rbp || out.base == reg::rsp) out.segment = seg::ss;
    uint64_t displacement = 0;
    if (!r.little_endian(displacement_size, displacement)) return false;
    out.displacement = displacement_size ? sign_extend(displacement, displacement_size) : 0;
    return true;
}

bool lock_allowed(const Instruction& insn)
{
    // SDM Vol. 2 "LOCK": only read-modify-write forms with a memory destination.
    if (!insn.memory) return false;
    switch (insn.operation) {
    case Operation::add: case Operation::or_: case Operation::adc: case Operation::sbb:
    case Operation::and_: case Operation::sub: case Operation::xor_:
        return insn.form != Form::reg_rm;
    case Operation::xchg: case Operation::bts: case Operation::btr: case Operation::btc:
    case Operation::inc: case Operation::dec: case Operation::not_: case Operation::neg:
    case Operation::cmpxchg:
        return true;
    default:
        return false;
    }
}

}  // namespace

DecodeStatus decode(const uint8_t* bytes, size_t count, CpuMode mode, Instruction& out)
{
    out = Instruction{};
    out.base = out.index = -1;
    out.scale = 1;
    out.segment = seg::ds;
    Reader r{bytes, count, 0, DecodeStatus::ok};
    const bool long64 = mode == CpuMode::long64;
    const bool default16 = mode == CpuMode::real || mode == CpuMode::protected16;

    bool operand_size_prefix = false, address_size_prefix = false;
    int segment_override = -1;
    uint8_t rex = 0, b;
    for (;;) {
        if (!r.next(b)) return r.error;
        switch (b) {
        case 0x26: case 0x2e: case 0x36: case 0x3e:
            segment_override = (b >> 3) & 3;
            rex = 0;
            continue;
        case 0x64: case 0x65:
            segment_override = b - 0x60;
            rex = 0;
            continue;
        case 0x66:
            operand_size_prefix = true;
            rex = 0;
            continue;
        case 0x67:
            address_size_prefix = true;
            rex = 0;
            continue;
        case 0xf0:
            out.lock = true;
            rex = 0;
            continue;
        case 0xf2: case 0xf3:
            out.rep = b;
            rex = 0;
            continue;
        default:
            break;
        }
        // SDM Vol. 2 2.2.1: REX counts only immediately before the opcode.
        if (long64 && (b & 0xf0) == 0x40) {
            rex = b;
            continue;
        }
        break;
    }

    out.opcode[0] = b;
    out.opcode_length = 1;
    const OpcodeInfo* info = &one_byte_map.entry[b];
    if (b == 0x0f) {
        if (!r.next(b)) return r.error;
        out.opcode[1] = b;
        out.opcode_length = 2;
        if (b == 0x38 || b == 0x3a) {
            if (!r.next(b)) return r.error;
            out.opcode[2] = b;
            out.opcode_length = 3;
            return DecodeStatus::unsupported;
        }
        info = &two_byte_map.entry[b];
    }
    const uint32_t flags = info->flags;
    if (!(flags & supported)) return DecodeStatus::unsupported;
    if ((flags & invalid64) && long64) return DecodeStatus::invalid_opcode;
    if ((flags & only64) && !long64) return DecodeStatus::unsupported;

    out.operation = info->operation;
    out.form = info->form;
    out.rex = rex != 0;
    out.operand_size = flags & byte_op ? 1 : rex & 8 ? 8 : operand_size_prefix != default16 ? 2 : 4;
    // SDM Vol. 2 "PUSH"/"POP": in 64-bit mode 64 bits unless 66 (without REX.W) makes it 16.
    const uint8_t stack_operand_size = long64 && !(rex & 8) && !operand_size_prefix ? 8 : out.operand_size;
    if (flags & stack_op) out.operand_size = stack_operand_size;
    out.memory_size = flags & source8    ? 1
                      : flags & source16 ? 2
                      : flags & source32 ? (out.operand_size == 8 ? 4 : out.operand_size)
                                         : out.operand_size;
    out.address_size = long64 ? (address_size_prefix ? 4 : 8) : address_size_prefix != default16 ? 2 : 4;

    unsigned immediate_size = flags & imm8 ? 1 : flags & immz ? (out.operand_size == 2 ? 2 : 4) : 0;
    if (flags & has_modrm) {
        uint8_t modrm;
        if (!r.next(modrm)) return r.error;
        const unsigned extension = (modrm >> 3) & 7;  // opcode extension: REX.R does not apply
        out.reg = uint8_t(extension | (rex & 4 ? 8 : 0));
        if (modrm >> 6 == 3) {
            out.rm = uint8_t((modrm & 7) | (rex & 1 ? 8 : 0));
        } else if (!decode_memory_operand(r, modrm, rex, mode, out)) {
            return r.error;
        }
        if (flags & group1) out.operation = Operation(extension);
        if (flags & group_zero && extension != 0) {
            // C6 F8 / C7 F8 are XABORT/XBEGIN; the rest of the group (and 8F /1-/7) is undefined.
            return modrm == 0xf8 && out.opcode[0] != 0x8f ? DecodeStatus::unsupported : DecodeStatus::invalid_opcode;
        }
        if (flags & group3) {
            if (extension == 2 || extension == 3) {
                out.operation = extension == 2 ? Operation::not_ : Operation::neg;
                out.form = Form::rm;
            } else if (extension == 0) {
                immediate_size = out.operand_size == 1 ? 1 : out.operand_size == 2 ? 2 : 4;
            } else {
                return DecodeStatus::unsupported;
            }
        }
        if (flags & group5) {
            // SDM Vol. 2 Table A-6, groups 4 (FE) and 5 (FF).
            if (extension == 0 || extension == 1) {
                out.operation = extension == 0 ? Operation::inc : Operation::dec;
            } else if (extension == 6 && !(flags & byte_op)) {
                out.operation = Operation::push;
                out.operand_size = out.memory_size = stack_operand_size;
            } else {
                return extension == 7 || (flags & byte_op) ? DecodeStatus::invalid_opcode : DecodeStatus::unsupported;
            }
        }
        if (flags & group_bt) {
            if (extension < 4) return DecodeStatus::invalid_opcode;
            out.operation = Operation(unsigned(Operation::bt) + extension - 4);
        }
    }
    if (flags & moffs) {
        uint64_t address;
        if (!r.little_endian(out.address_size, address)) return r.error;
        out.memory = true;
        out.displacement = int64_t(address);
    }
    if (segment_override >= 0) out.segment = uint8_t(segment_override);

    uint64_t immediate = 0;
    if (!r.little_endian(immediate_size, immediate)) return r.error;
    out.immediate = immediate_size ? uint64_t(sign_extend(immediate, immediate_size)) : 0;
    out.length = uint8_t(r.position);

    if (out.lock && !lock_allowed(out)) return DecodeStatus::invalid_opcode;
    return DecodeStatus::ok;
}

}  // namespace x86_decode
