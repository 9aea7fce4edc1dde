#include "vmx/instruction_emulator.hpp"

namespace mmio_emulation {
namespace {

using guest_paging::AccessKind;
using guest_paging::Translation;
using guest_paging::WalkStatus;
using x86_decode::DecodeStatus;
using x86_decode::Form;
using x86_decode::Instruction;
using x86_decode::Operation;
namespace seg = x86_decode::seg;

constexpr uint64_t cf = 1ull << 0, pf = 1ull << 2, af = 1ull << 4, zf = 1ull << 6, sf = 1ull << 7,
                   df = 1ull << 10, of = 1ull << 11;
constexpr uint64_t status_flags = cf | pf | af | zf | sf | of;
constexpr uint64_t page_size = 4096;
constexpr GuestRam no_ram{};

constexpr uint64_t mask_of(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

constexpr uint64_t sign_extend(uint64_t value, unsigned size)
{
    unsigned shift = 64 - 8 * size;
    return uint64_t(int64_t(value << shift) >> shift);
}

const GuestRam& ram_of(const GuestContext& guest) { return guest.ram ? *guest.ram : no_ram; }

// Without REX, byte registers 4-7 are AH, CH, DH, BH (SDM Vol. 1 3.4.1.1 / Vol. 2 2.2.1.2).
uint64_t read_register(const GuestRegisters& regs, unsigned n, unsigned size, bool rex)
{
    if (size == 1 && !rex && n >= 4 && n < 8) return (regs.gpr[n - 4] >> 8) & 0xff;
    return regs.gpr[n & 15] & mask_of(size);
}

void write_register(GuestRegisters& regs, unsigned n, unsigned size, bool rex, uint64_t value)
{
    if (size == 1 && !rex && n >= 4 && n < 8) {
        uint64_t& r = regs.gpr[n - 4];
        r = (r & ~0xff00ull) | ((value & 0xff) << 8);
        return;
    }
    uint64_t& r = regs.gpr[n & 15];
    if (size == 4) r = value & 0xffff'ffffull;  // zero-extends
    else if (size == 8) r = value;
    else r = (r & ~mask_of(size)) | (value & mask_of(size));
}

// rSI/rDI/rCX as the address size sees them: a 32-bit update zero-extends, a 16-bit one keeps
// bits 63:16 (SDM Vol. 2 "REP", "MOVS").
void add_address_register(uint64_t& r, uint64_t delta, unsigned address_size)
{
    if (address_size == 8) r += delta;
    else if (address_size == 4) r = (r + delta) & 0xffff'ffffull;
    else r = (r & ~0xffffull) | ((r + delta) & 0xffff);
}

uint64_t parity_zero_sign(uint64_t result, unsigned size)
{
    uint8_t low = uint8_t(result);
    low ^= low >> 4;
    low ^= low >> 2;
    low ^= low >> 1;
    return (low & 1 ? 0 : pf) | (result == 0 ? zf : 0) | (result >> (8 * size - 1) & 1 ? sf : 0);
}

// The eight group-1 operations and TEST (as AND) on `size`-byte operands (SDM Vol. 1 Appendix A).
// Carry and borrow vectors give CF from the top bit and AF from bit 3 for every width.
uint64_t alu(Operation op, uint64_t d, uint64_t s, unsigned size, uint64_t& rflags)
{
    const uint64_t mask = mask_of(size), sign = 1ull << (8 * size - 1);
    d &= mask;
    s &= mask;
    uint64_t r, flags = 0;
    switch (op) {
    case Operation::add:
    case Operation::adc: {
        r = d + s + (op == Operation::adc && (rflags & cf) ? 1 : 0);
        uint64_t carries = (d & s) | ((d | s) & ~r);
        flags = (carries & sign ? cf : 0) | ((d ^ r) & (s ^ r) & sign ? of : 0) | ((d ^ s ^ r) & 0x10 ? af : 0);
        break;
    }
    case Operation::sub:
    case Operation::sbb:
    case Operation::cmp: {
        r = d - s - (op == Operation::sbb && (rflags & cf) ? 1 : 0);
        uint64_t borrows = (~d & s) | ((~d | s) & r);
        flags = (borrows & sign ? cf : 0) | ((d ^ s) & (d ^ r) & sign ? of : 0) | ((d ^ s ^ r) & 0x10 ? af : 0);
        break;
    }
    case Operation::or_: r = d | s; break;
    case Operation::xor_: r = d ^ s; break;
    default: r = d & s; break;  // and_, test
    }
    r &= mask;
    rflags = (rflags & ~status_flags) | flags | parity_zero_sign(r, size);
    return r;
}

void advance_rip(GuestRegisters& regs, CpuMode mode, unsigned length)
{
    uint64_t rip = regs.rip + length;
    regs.rip = mode == CpuMode::long64 ? rip : mode == CpuMode::protected32 ? rip & 0xffff'ffffull : rip & 0xffff;
}

bool canonical(uint64_t linear) { return uint64_t(int64_t(linear << 16) >> 16) == linear; }

// Segment base + offset (SDM Vol. 3A 3.4 and 3.4.4): 64-bit mode ignores the ES/CS/SS/DS bases
// and requires canonical addresses for the first and last byte; other modes wrap at 4 GiB.
bool to_linear(const GuestContext& guest, unsigned segment, uint64_t offset, unsigned size, uint64_t& linear,
               Result& result)
{
    if (guest.mode == CpuMode::long64) {
        linear = (segment >= seg::fs ? guest.segment_base[segment] : 0) + offset;
        if (!canonical(linear) || !canonical(linear + size - 1)) {
            result.outcome = segment == seg::ss ? Outcome::stack_fault : Outcome::general_protection;
            return false;
        }
        return true;
    }
    linear = (guest.segment_base[segment] + offset) & 0xffff'ffffull;
    return true;
}

bool translate(const GuestContext& guest, uint64_t linear, AccessKind kind, uint64_t& gpa, Result& result)
{
    Translation t = guest_paging::translate(guest.paging, ram_of(guest), linear, kind, guest.cpl == 3);
    switch (t.status) {
    case WalkStatus::ok:
        gpa = t.gpa;
        return true;
    case WalkStatus::page_fault:
        result.outcome = Outcome::page_fault;
        result.fault_address = linear;
        result.error_code = t.error_code;
        return false;
    case WalkStatus::not_ram:
        result.outcome = Outcome::not_ram;
        return false;
    default:
        result.outcome = Outcome::unsupported;
        return false;
    }
}

// One string element, translated page by page; an access split across pages must be RAM.
struct Span {
    uint64_t gpa[2];
    unsigned size[2];
    unsigned pieces;
};

bool translate_span(const GuestContext& guest, uint64_t linear, unsigned size, AccessKind kind, Span& span,
                    Result& result)
{
    unsigned first = unsigned(page_size - (linear & (page_size - 1)));
    span.pieces = first < size ? 2 : 1;
    span.size[0] = first < size ? first : size;
    span.size[1] = size - span.size[0];
    if (!translate(guest, linear, kind, span.gpa[0], result)) return false;
    if (span.pieces == 1) return true;
    uint64_t second = linear + first;
    if (guest.mode != CpuMode::long64) second &= 0xffff'ffffull;
    return translate(guest, second, kind, span.gpa[1], result);
}

bool read_span(const GuestContext& guest, const MmioAccess& mmio, const Span& span, unsigned size,
               uint64_t& value, Result& result)
{
    const GuestRam& ram = ram_of(guest);
    if (span.pieces == 1 && !ram.contains(span.gpa[0], size)) {
        if (!mmio.read(mmio.context, span.gpa[0], size, value)) {
            result.outcome = Outcome::mmio_failed;
            return false;
        }
        value &= mask_of(size);
        return true;
    }
    uint8_t buffer[8] = {};
    if (!ram.read(span.gpa[0], buffer, span.size[0]) ||
        (span.pieces == 2 && !ram.read(span.gpa[1], buffer + span.size[0], span.size[1]))) {
        result.outcome = Outcome::unsupported;  // a split access that is partly MMIO
        return false;
    }
    value = 0;
    for (unsigned i = 0; i < size; ++i) value |= uint64_t(buffer[i]) << (8 * i);
    return true;
}

bool write_span(const GuestContext& guest, const MmioAccess& mmio, const Span& span, unsigned size,
                uint64_t value, Result& result)
{
    const GuestRam& ram = ram_of(guest);
    if (span.pieces == 1 && !ram.contains(span.gpa[0], size)) {
        if (!mmio.write(mmio.context, span.gpa[0], size, value & mask_of(size))) {
            result.outcome = Outcome::mmio_failed;
            return false;
        }
        return true;
    }
    if (!ram.contains(span.gpa[0], span.size[0]) || (span.pieces == 2 && !ram.contains(span.gpa[1], span.size[1]))) {
        result.outcome = Outcome::unsupported;
        return false;
    }
    uint8_t buffer[8];
    for (unsigned i = 0; i < size; ++i) buffer[i] = uint8_t(value >> (8 * i));
    ram.write(span.gpa[0], buffer, span.size[0]);
    if (span.pieces == 2) ram.write(span.gpa[1], buffer + span.size[0], span.size[1]);
    return true;
}

// MOVS, STOS, LODS (SDM Vol. 2 "MOVS", "STOS", "LODS", "REP"): source DS:rSI (overridable),
// destination ES:rDI, both translated before either is touched so a fault has no side effect.
Result emulate_string(const Instruction& insn, const GuestContext& guest, GuestRegisters& regs,
                      const MmioAccess& mmio, Result result)
{
    const unsigned size = insn.operand_size, address_size = insn.address_size;
    const uint64_t address_mask = mask_of(address_size);
    const uint64_t step = regs.rflags & df ? uint64_t(0) - size : size;
    const bool reads_source = insn.operation != Operation::stos;
    const bool writes_destination = insn.operation != Operation::lods;
    uint64_t& rsi = regs.gpr[reg::rsi];
    uint64_t& rdi = regs.gpr[reg::rdi];
    uint64_t& rcx = regs.gpr[reg::rcx];

    for (unsigned iteration = 0;; ++iteration) {
        if (insn.rep && (rcx & address_mask) == 0) break;
        if (iteration == max_string_iterations) {
            result.outcome = Outcome::done;  // RIP stays: the guest re-executes the rest
            return result;
        }
        Span source{}, destination{};
        uint64_t linear;
        if (reads_source && (!to_linear(guest, insn.segment, rsi & address_mask, size, linear, result) ||
                             !translate_span(guest, linear, size, AccessKind::read, source, result)))
            return result;
        if (writes_destination && (!to_linear(guest, seg::es, rdi & address_mask, size, linear, result) ||
                                   !translate_span(guest, linear, size, AccessKind::write, destination, result)))
            return result;
        uint64_t value = read_register(regs, reg::rax, size, true);
        if (reads_source && !read_span(guest, mmio, source, size, value, result)) return result;
        if (writes_destination) {
            if (!write_span(guest, mmio, destination, size, value, result)) return result;
            add_address_register(rdi, step, address_size);
        }
        if (reads_source) add_address_register(rsi, step, address_size);
        if (insn.operation == Operation::lods) write_register(regs, reg::rax, size, true, value);
        if (!insn.rep) break;
        add_address_register(rcx, ~0ull, address_size);
    }
    advance_rip(regs, guest.mode, insn.length);
    result.outcome = Outcome::done;
    return result;
}

// The stack side of PUSH and POP (SDM Vol. 1 6.2, Vol. 2 "PUSH", "POP"): SS:rSP with the stack's
// address size; translated like a string element, and RAM only.
struct StackAccess {
    Span span;
    uint64_t new_rsp;  // rSP after the instruction
};

unsigned stack_address_size(const GuestContext& guest)
{
    if (guest.mode == CpuMode::long64) return 8;
    if (guest.stack_address_size == 2 || guest.stack_address_size == 4) return guest.stack_address_size;
    return guest.mode == CpuMode::protected32 ? 4 : 2;
}

bool prepare_stack(const Instruction& insn, const GuestContext& guest, const GuestRegisters& regs, StackAccess& stack,
                   Result& result)
{
    const unsigned size = insn.operand_size, address_size = stack_address_size(guest);
    const bool push = insn.operation == Operation::push;
    const uint64_t rsp = regs.gpr[reg::rsp];
    stack.new_rsp = rsp;
    add_address_register(stack.new_rsp, push ? 0 - uint64_t(size) : uint64_t(size), address_size);
    // PUSH writes below the old rSP, POP reads at it.
    const uint64_t offset = (push ? stack.new_rsp : rsp) & mask_of(address_size);
    if (address_size < 8 && offset + size - 1 > mask_of(address_size)) {
        result.outcome = Outcome::stack_fault;  // past the top of the stack segment's offsets
        return false;
    }
    uint64_t linear;
    if (!to_linear(guest, seg::ss, offset, size, linear, result) ||
        !translate_span(guest, linear, size, push ? AccessKind::write : AccessKind::read, stack.span, result))
        return false;
    const GuestRam& ram = ram_of(guest);
    for (unsigned i = 0; i < stack.span.pieces; ++i) {
        if (!ram.contains(stack.span.gpa[i], stack.span.size[i])) {
            result.outcome = Outcome::unsupported;
            return false;
        }
    }
    return true;
}

}  // namespace

Result fetch_instruction(const GuestContext& guest, uint64_t rip, uint8_t (&bytes)[x86_decode::max_instruction_length],
                         size_t& count)
{
    Result result{};
    result.outcome = Outcome::done;
    const GuestRam& ram = ram_of(guest);
    const uint64_t ip_mask = guest.mode == CpuMode::long64       ? ~0ull
                             : guest.mode == CpuMode::protected32 ? 0xffff'ffffull
                                                                  : 0xffffull;
    uint64_t page = ~0ull, page_gpa = 0;
    for (count = 0; count < x86_decode::max_instruction_length; ++count) {
        uint64_t linear;
        if (!to_linear(guest, seg::cs, (rip + count) & ip_mask, 1, linear, result)) {
            result.outcome = Outcome::general_protection;  // #GP(0) for a non-canonical RIP, even via CS
            return result;
        }
        if (linear / page_size != page) {
            if (!translate(guest, linear, AccessKind::execute, page_gpa, result)) return result;
            page_gpa &= ~(page_size - 1);
            page = linear / page_size;
        }
        if (!ram.read(page_gpa | (linear & (page_size - 1)), &bytes[count], 1)) {
            result.outcome = Outcome::not_ram;
            return result;
        }
    }
    return result;
}

Result emulate(const uint8_t* bytes, size_t count, const GuestContext& guest, GuestRegisters& regs,
               uint64_t faulting_gpa, const MmioAccess& mmio)
{
    Result result{};
    Instruction insn;
    DecodeStatus status = x86_decode::decode(bytes, count, guest.mode, insn);
    result.length = insn.length;
    result.opcode_length = insn.opcode_length;
    for (unsigned i = 0; i < 3; ++i) result.opcode[i] = insn.opcode[i];
    switch (status) {
    case DecodeStatus::ok: break;
    case DecodeStatus::invalid_opcode: result.outcome = Outcome::invalid_opcode; return result;
    case DecodeStatus::too_long: result.outcome = Outcome::general_protection; return result;
    case DecodeStatus::truncated: result.outcome = Outcome::truncated; return result;
    default: result.outcome = Outcome::unsupported; return result;
    }
    if (insn.form == Form::string) return emulate_string(insn, guest, regs, mmio, result);

    // No memory operand, or one at another page offset: not the instruction that exited.
    result.outcome = Outcome::mismatch;
    if (!insn.memory) return result;

    const unsigned size = insn.operand_size, memory_size = insn.memory_size;
    const Operation op = insn.operation;
    const bool bit_op = op == Operation::bt || op == Operation::bts || op == Operation::btr || op == Operation::btc;
    const bool stack_op = op == Operation::push || op == Operation::pop;
    uint64_t source = insn.form == Form::rm_imm ? insn.immediate
                      : insn.form == Form::rm   ? 0
                                                : read_register(regs, insn.reg, size, insn.rex);

    // POP addresses its destination with the incremented rSP (SDM Vol. 2 "POP").
    uint64_t new_rsp = regs.gpr[reg::rsp];
    if (op == Operation::pop) add_address_register(new_rsp, size, stack_address_size(guest));

    // Effective address (SDM Vol. 1 3.7.5); RIP-relative counts from the next instruction.
    uint64_t offset = uint64_t(insn.displacement);
    if (insn.rip_relative) offset += regs.rip + insn.length;
    if (insn.base >= 0) offset += insn.base == int8_t(reg::rsp) ? new_rsp : regs.gpr[insn.base];
    if (insn.index >= 0) offset += regs.gpr[insn.index] * insn.scale;
    if (bit_op && insn.form == Form::rm_reg) {
        // A register bit offset is signed and selects the operand-sized word it falls in
        // (SDM Vol. 2 "BT": bit base + 8 * size * floor(offset / (8 * size))).
        const unsigned shift = size == 2 ? 4 : size == 4 ? 5 : 6;
        offset += uint64_t(int64_t(sign_extend(source, size)) >> shift) * size;
    }
    offset &= mask_of(insn.address_size);

    uint64_t linear;
    if (!to_linear(guest, insn.segment, offset, memory_size, linear, result)) return result;
    const uint64_t page_offset = linear & (page_size - 1);
    if (page_offset + memory_size > page_size) {
        result.outcome = Outcome::unsupported;
        return result;
    }
    if (page_offset != (faulting_gpa & (page_size - 1))) return result;
    result.outcome = Outcome::unsupported;

    // The stack is translated (and POP's value read) before the device is touched.
    StackAccess stack{};
    uint64_t stack_value = 0;
    if (stack_op) {
        if (!prepare_stack(insn, guest, regs, stack, result)) return result;
        if (op == Operation::pop && !read_span(guest, mmio, stack.span, size, stack_value, result)) return result;
    }

    const uint64_t gpa = faulting_gpa;
    uint64_t memory = 0;
    auto load = [&] {
        if (!mmio.read(mmio.context, gpa, memory_size, memory)) return false;
        memory &= mask_of(memory_size);
        return true;
    };
    auto store = [&](uint64_t value) {
        return mmio.write(mmio.context, gpa, memory_size, value & mask_of(memory_size));
    };
    result.outcome = Outcome::mmio_failed;
    uint64_t rflags = regs.rflags;

    switch (op) {
    case Operation::mov:
        if (insn.form == Form::reg_rm) {
            if (!load()) return result;
            write_register(regs, insn.reg, size, insn.rex, memory);
        } else if (!store(source)) {
            return result;
        }
        break;
    case Operation::movzx:
    case Operation::movsx:
        if (!load()) return result;
        if (op == Operation::movsx) memory = sign_extend(memory, memory_size);
        write_register(regs, insn.reg, size, insn.rex, memory);
        break;
    case Operation::test:
        if (!load()) return result;
        alu(Operation::and_, memory, source, size, rflags);
        break;
    case Operation::xchg:
        if (!load() || !store(source)) return result;
        write_register(regs, insn.reg, size, insn.rex, memory);
        break;
    case Operation::bt:
    case Operation::bts:
    case Operation::btr:
    case Operation::btc: {
        if (!load()) return result;
        const uint64_t bit = 1ull << (source & (8 * size - 1));
        rflags = (rflags & ~cf) | (memory & bit ? cf : 0);
        uint64_t value = op == Operation::bts ? memory | bit : op == Operation::btr ? memory & ~bit : memory ^ bit;
        if (op != Operation::bt && !store(value)) return result;
        break;
    }
    case Operation::add: case Operation::or_: case Operation::adc: case Operation::sbb:
    case Operation::and_: case Operation::sub: case Operation::xor_: case Operation::cmp:
        if (!load()) return result;
        if (insn.form == Form::reg_rm) {
            uint64_t value = alu(op, source, memory, size, rflags);
            if (op != Operation::cmp) write_register(regs, insn.reg, size, insn.rex, value);
        } else {
            uint64_t value = alu(op, memory, source, size, rflags);
            if (op != Operation::cmp && !store(value)) return result;
        }
        break;
    case Operation::inc:
    case Operation::dec: {
        // SDM Vol. 2 "INC", "DEC": CF is not affected.
        if (!load()) return result;
        const uint64_t carry = rflags & cf;
        uint64_t value = alu(op == Operation::inc ? Operation::add : Operation::sub, memory, 1, size, rflags);
        rflags = (rflags & ~cf) | carry;
        if (!store(value)) return result;
        break;
    }
    case Operation::not_:
        if (!load() || !store(~memory)) return result;
        break;
    case Operation::neg: {
        // SDM Vol. 2 "NEG": CF = (operand != 0), the rest as 0 - operand; the borrow of 0 - x is
        // exactly x != 0.
        if (!load()) return result;
        uint64_t value = alu(Operation::sub, 0, memory, size, rflags);
        if (!store(value)) return result;
        break;
    }
    case Operation::cmpxchg: {
        // SDM Vol. 2 "CMPXCHG": flags of CMP accumulator, r/m; the r/m always gets a write (the
        // source when equal, its own value back otherwise; see the header).
        if (!load()) return result;
        alu(Operation::cmp, read_register(regs, reg::rax, size, true), memory, size, rflags);
        const bool equal = rflags & zf;
        if (!store(equal ? source : memory)) return result;
        if (!equal) write_register(regs, reg::rax, size, true, memory);
        break;
    }
    case Operation::push:
        if (!load() || !write_span(guest, mmio, stack.span, size, memory, result)) return result;
        regs.gpr[reg::rsp] = stack.new_rsp;
        break;
    case Operation::pop:
        if (!store(stack_value)) return result;
        regs.gpr[reg::rsp] = stack.new_rsp;
        break;
    default:
        result.outcome = Outcome::unsupported;
        return result;
    }
    regs.rflags = rflags;
    advance_rip(regs, guest.mode, insn.length);
    result.outcome = Outcome::done;
    return result;
}

Result emulate_at_rip(const GuestContext& guest, GuestRegisters& regs, uint64_t faulting_gpa, const MmioAccess& mmio)
{
    uint8_t bytes[x86_decode::max_instruction_length];
    size_t count = 0;
    Result fetch = fetch_instruction(guest, regs.rip, bytes, count);
    Result result = emulate(bytes, count, guest, regs, faulting_gpa, mmio);
    if (result.outcome != Outcome::truncated) return result;
    fetch.length = result.length;
    fetch.opcode_length = result.opcode_length;
    for (unsigned i = 0; i < 3; ++i) fetch.opcode[i] = result.opcode[i];
    return fetch;
}

}  // namespace mmio_emulation
