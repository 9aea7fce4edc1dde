#include "vmx/instruction_emulator.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace {

using namespace mmio_emulation;
using guest_paging::AccessKind;
namespace cr0 = guest_paging::cr0;
namespace cr4 = guest_paging::cr4;
namespace efer = guest_paging::efer;
namespace pf_error = guest_paging::pf_error;
namespace seg = x86_decode::seg;

constexpr uint64_t P = 1, RW = 2, US = 4, PS = 0x80, D = 0x40;
constexpr uint64_t CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
constexpr uint64_t STATUS = CF | PF | AF | ZF | SF | OF;

struct Access {
    bool write;
    uint64_t gpa;
    unsigned size;
    uint64_t value;
    bool operator==(const Access&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Access& a)
{
    return os << (a.write ? "write " : "read ") << std::hex << a.gpa << "/" << a.size << "=" << a.value;
}

// A device over [base, base + size) that records every access. Reads return junk above `size`
// bytes, so an emulator that forgets to truncate shows up.
struct FakeDevice {
    uint64_t base;
    std::vector<uint8_t> bytes;
    std::vector<Access> log;
    bool fail = false;

    FakeDevice(uint64_t b, size_t size) : base(b), bytes(size) {}
    bool inside(uint64_t gpa, unsigned size) const
    {
        return !fail && gpa >= base && gpa - base <= bytes.size() && size <= bytes.size() - (gpa - base);
    }
    static bool read(void* context, uint64_t gpa, unsigned size, uint64_t& value)
    {
        auto* d = static_cast<FakeDevice*>(context);
        EXPECT_TRUE(size == 1 || size == 2 || size == 4 || size == 8);
        if (!d->inside(gpa, size)) return false;
        uint64_t v = 0;
        std::memcpy(&v, &d->bytes[gpa - d->base], size);
        d->log.push_back({false, gpa, size, v});
        value = size == 8 ? v : v | (0x5a5a'5a5a'5a5a'5a5aull << (8 * size));
        return true;
    }
    static bool write(void* context, uint64_t gpa, unsigned size, uint64_t value)
    {
        auto* d = static_cast<FakeDevice*>(context);
        if (!d->inside(gpa, size)) return false;
        d->log.push_back({true, gpa, size, value});
        std::memcpy(&d->bytes[gpa - d->base], &value, size);
        return true;
    }
    MmioAccess access() { return {read, write, this}; }
    void poke(uint64_t gpa, uint64_t value, unsigned size = 4) { std::memcpy(&bytes[gpa - base], &value, size); }
    uint64_t peek(uint64_t gpa, unsigned size = 4) const
    {
        uint64_t v = 0;
        std::memcpy(&v, &bytes[gpa - base], size);
        return v;
    }
};

constexpr uint64_t apic = 0xfee0'0000;
constexpr uint64_t apic_linear = 0x7000'0000;  // 64-bit fixture: 4 KiB page -> apic
constexpr uint64_t data_linear = 0x20'0000;    // 16 pages -> RAM 0x100000 + ((i ^ 1) << 12)
constexpr uint64_t code_linear = 0x30'0000;    // 2 pages -> RAM 0x110000, 0x111000; then unmapped

// A 64-bit guest with 4-level paging in 4 MiB of RAM:
// PML4 0x1000, PDPT 0x2000, PD 0x3000 (0-1 GiB), PT 0x4000 (2-4 MiB), PD 0x5000 (1-2 GiB), PT 0x6000.
struct Machine : ::testing::Test {
    std::vector<uint64_t> words = std::vector<uint64_t>((4 << 20) / 8);
    GuestRam ram{reinterpret_cast<uint8_t*>(words.data()), 4 << 20};
    GuestContext guest{};
    GuestRegisters regs{};
    FakeDevice device{apic, 4096};

    void SetUp() override
    {
        guest.mode = CpuMode::long64;
        guest.cpl = 0;
        guest.paging.cr0 = cr0::pe | cr0::pg | cr0::wp;
        guest.paging.cr3 = 0x1000;
        guest.paging.cr4 = cr4::pae;
        guest.paging.efer = efer::lme | efer::lma | efer::nxe;
        guest.ram = &ram;
        set64(0x1000, 0x2000 | P | RW);
        set64(0x2000, 0x3000 | P | RW);
        set64(0x2008, 0x5000 | P | RW);
        set64(0x3000 + 1 * 8, 0x4000 | P | RW);
        for (uint64_t i = 0; i < 16; ++i) set64(0x4000 + i * 8, (0x10'0000 + ((i ^ 1) << 12)) | P | RW);
        set64(0x4000 + 0x100 * 8, 0x11'0000 | P);
        set64(0x4000 + 0x101 * 8, 0x11'1000 | P);
        set64(0x5000 + 0x180 * 8, 0x6000 | P | RW);
        set64(0x6000, apic | P | RW);
        regs.rflags = 0x2;
        regs.rip = code_linear;
    }
    void set64(uint64_t gpa, uint64_t v) { std::memcpy(ram.host + gpa, &v, 8); }
    uint64_t get64(uint64_t gpa) const
    {
        uint64_t v;
        std::memcpy(&v, ram.host + gpa, 8);
        return v;
    }
    // Emulates from a heap copy of exactly these bytes (ASan catches reads past them).
    Result run(std::vector<uint8_t> bytes, uint64_t gpa)
    {
        std::vector<uint8_t> exact(bytes);
        MmioAccess mmio = device.access();
        return emulate(exact.data(), exact.size(), guest, regs, gpa, mmio);
    }
    std::vector<Access> writes() const
    {
        std::vector<Access> w;
        for (const Access& a : device.log)
            if (a.write) w.push_back(a);
        return w;
    }
};

TEST_F(Machine, MovStoreAndLoad)
{
    regs.gpr[reg::rax] = apic_linear;
    regs.gpr[reg::rcx] = 0x1122'3344'5566'7788;
    Result r = run({0x89, 0x88, 0x00, 0x03, 0x00, 0x00}, apic + 0x300);  // mov [rax+0x300], ecx
    ASSERT_EQ(r.outcome, Outcome::done);
    EXPECT_EQ(r.length, 6);
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic + 0x300, 4, 0x5566'7788}}));
    EXPECT_EQ(regs.rip, code_linear + 6);
    EXPECT_EQ(regs.rflags, 0x2u);

    device.poke(apic + 0x20, 0xaabb'ccdd);
    regs.gpr[reg::rdx] = ~0ull;
    regs.rip = 0x40'1000;
    // mov edx, [rip + disp32] with next RIP 0x401006: zero-extends into RDX.
    uint32_t disp = uint32_t(apic_linear + 0x20 - 0x40'1006);
    Result load = run({0x8b, 0x15, uint8_t(disp), uint8_t(disp >> 8), uint8_t(disp >> 16), uint8_t(disp >> 24)},
                      apic + 0x20);
    ASSERT_EQ(load.outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rdx], 0xaabb'ccddu);
    EXPECT_EQ(regs.rip, 0x40'1006u);
}

TEST_F(Machine, PartialRegisterWrites)
{
    regs.gpr[reg::rbx] = apic_linear + 0x10;
    device.poke(apic + 0x10, 0x8765'4321'fedc'ba98, 8);
    regs.gpr[reg::rax] = 0x1111'1111'1111'1111;
    ASSERT_EQ(run({0x66, 0x8b, 0x03}, apic + 0x10).outcome, Outcome::done);  // mov ax, [rbx]
    EXPECT_EQ(regs.gpr[reg::rax], 0x1111'1111'1111'ba98u);
    ASSERT_EQ(run({0x8a, 0x03}, apic + 0x10).outcome, Outcome::done);  // mov al, [rbx]
    EXPECT_EQ(regs.gpr[reg::rax], 0x1111'1111'1111'ba98u);
    regs.gpr[reg::rax] = 0x1111'1111'1111'1111;
    ASSERT_EQ(run({0x8a, 0x23}, apic + 0x10).outcome, Outcome::done);  // mov ah, [rbx]
    EXPECT_EQ(regs.gpr[reg::rax], 0x1111'1111'1111'9811u);
    regs.gpr[reg::rsp] = 0x2222'2222'2222'2222;
    ASSERT_EQ(run({0x40, 0x8a, 0x23}, apic + 0x10).outcome, Outcome::done);  // mov spl, [rbx]
    EXPECT_EQ(regs.gpr[reg::rsp], 0x2222'2222'2222'2298u);
    EXPECT_EQ(regs.gpr[reg::rax], 0x1111'1111'1111'9811u);
    ASSERT_EQ(run({0x48, 0x8b, 0x03}, apic + 0x10).outcome, Outcome::done);  // mov rax, [rbx]
    EXPECT_EQ(regs.gpr[reg::rax], 0x8765'4321'fedc'ba98u);
    ASSERT_EQ(run({0x44, 0x8b, 0x3b}, apic + 0x10).outcome, Outcome::done);  // mov r15d, [rbx]
    EXPECT_EQ(regs.gpr[15], 0xfedc'ba98u);

    // Stores of AH..BH and of SIL with REX.
    regs.gpr[reg::rdx] = 0xabcd;
    regs.gpr[reg::rsi] = 0x77;
    device.log.clear();
    ASSERT_EQ(run({0x88, 0x33}, apic + 0x10).outcome, Outcome::done);        // mov [rbx], dh
    ASSERT_EQ(run({0x40, 0x88, 0x33}, apic + 0x10).outcome, Outcome::done);  // mov [rbx], sil
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic + 0x10, 1, 0xab}, {true, apic + 0x10, 1, 0x77}}));
}

TEST_F(Machine, MovImmediateAndMoffs)
{
    regs.gpr[reg::rbx] = apic_linear + 0x80;
    ASSERT_EQ(run({0xc6, 0x03, 0x5a}, apic + 0x80).outcome, Outcome::done);
    ASSERT_EQ(run({0x66, 0xc7, 0x03, 0x34, 0x12}, apic + 0x80).outcome, Outcome::done);
    ASSERT_EQ(run({0xc7, 0x03, 0x00, 0x00, 0x01, 0x00}, apic + 0x80).outcome, Outcome::done);
    ASSERT_EQ(run({0x48, 0xc7, 0x03, 0xfe, 0xff, 0xff, 0xff}, apic + 0x80).outcome, Outcome::done);
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic + 0x80, 1, 0x5a},
                                               {true, apic + 0x80, 2, 0x1234},
                                               {true, apic + 0x80, 4, 0x10000},
                                               {true, apic + 0x80, 8, 0xffff'ffff'ffff'fffe}}));
    EXPECT_EQ(regs.rip, code_linear + 3 + 5 + 6 + 7);

    device.log.clear();
    device.poke(apic + 0x20, 0x14);
    regs.gpr[reg::rax] = ~0ull;
    // mov eax, [moffs64 apic_linear + 0x20]; mov [moffs64], al
    ASSERT_EQ(run({0xa1, 0x20, 0x00, 0x00, 0x70, 0, 0, 0, 0}, apic + 0x20).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rax], 0x14u);
    ASSERT_EQ(run({0xa2, 0x24, 0x00, 0x00, 0x70, 0, 0, 0, 0}, apic + 0x24).outcome, Outcome::done);
    EXPECT_EQ(device.log, (std::vector<Access>{{false, apic + 0x20, 4, 0x14}, {true, apic + 0x24, 1, 0x14}}));
}

TEST_F(Machine, MovzxMovsx)
{
    regs.gpr[reg::rbx] = apic_linear + 0x40;
    device.poke(apic + 0x40, 0x8001);
    regs.gpr[reg::rax] = ~0ull;
    ASSERT_EQ(run({0x0f, 0xb6, 0x03}, apic + 0x40).outcome, Outcome::done);  // movzx eax, byte
    EXPECT_EQ(regs.gpr[reg::rax], 0x01u);
    ASSERT_EQ(run({0x0f, 0xbe, 0x03}, apic + 0x41).outcome, Outcome::mismatch);  // offset mismatch
    regs.gpr[reg::rbx] += 1;
    ASSERT_EQ(run({0x0f, 0xbe, 0x03}, apic + 0x41).outcome, Outcome::done);  // movsx eax, byte 0x80
    EXPECT_EQ(regs.gpr[reg::rax], 0xffff'ff80u);
    regs.gpr[reg::rbx] -= 1;
    ASSERT_EQ(run({0x48, 0x0f, 0xbf, 0x03}, apic + 0x40).outcome, Outcome::done);  // movsx rax, word
    EXPECT_EQ(regs.gpr[reg::rax], 0xffff'ffff'ffff'8001u);
    regs.gpr[reg::rax] = 0x1234'5678'9abc'def0;
    ASSERT_EQ(run({0x66, 0x0f, 0xb6, 0x03}, apic + 0x40).outcome, Outcome::done);  // movzx ax, byte
    EXPECT_EQ(regs.gpr[reg::rax], 0x1234'5678'9abc'0001u);
    ASSERT_EQ(run({0x0f, 0xb7, 0x03}, apic + 0x40).outcome, Outcome::done);  // movzx eax, word
    EXPECT_EQ(regs.gpr[reg::rax], 0x8001u);
    for (const Access& a : device.log) EXPECT_FALSE(a.write);
}

TEST_F(Machine, LogicalOperationsAndFlags)
{
    regs.gpr[reg::rbx] = apic_linear + 0xf0;
    regs.rflags = 0x2 | STATUS;
    device.poke(apic + 0xf0, 0x0f);
    ASSERT_EQ(run({0x81, 0x0b, 0x00, 0x01, 0x00, 0x00}, apic + 0xf0).outcome, Outcome::done);  // or [rbx], 0x100
    EXPECT_EQ(device.peek(apic + 0xf0), 0x10fu);
    EXPECT_EQ(regs.rflags, 0x2 | PF);  // 0x0f has four bits set

    device.poke(apic + 0xf0, 0x8000'0000);
    regs.rflags = 0x2 | CF | OF | SF;
    ASSERT_EQ(run({0x81, 0x23, 0xff, 0xff, 0xff, 0x7f}, apic + 0xf0).outcome, Outcome::done);  // and 0x7fffffff
    EXPECT_EQ(device.peek(apic + 0xf0), 0u);
    EXPECT_EQ(regs.rflags, 0x2 | ZF | PF);

    device.poke(apic + 0xf0, 0xff);
    regs.gpr[reg::rax] = 0x7f;
    ASSERT_EQ(run({0x30, 0x03}, apic + 0xf0).outcome, Outcome::done);  // xor [rbx], al
    EXPECT_EQ(device.peek(apic + 0xf0), 0x80u);
    EXPECT_EQ(regs.rflags, 0x2 | SF);

    // and eax, [rbx]: the register is the destination, memory is only read; zero-extends.
    regs.gpr[reg::rax] = 0xffff'ffff'ffff'fff0;
    device.log.clear();
    ASSERT_EQ(run({0x23, 0x03}, apic + 0xf0).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rax], 0x80u);
    EXPECT_EQ(device.log, (std::vector<Access>{{false, apic + 0xf0, 4, 0x80}}));

    // lock or dword [rbx], 1 (sign-extended imm8), and the DF bit is left alone.
    regs.rflags = 0x2 | DF;
    ASSERT_EQ(run({0xf0, 0x83, 0x0b, 0x01}, apic + 0xf0).outcome, Outcome::done);
    EXPECT_EQ(device.peek(apic + 0xf0), 0x81u);
    EXPECT_EQ(regs.rflags, 0x2 | DF | PF);
    ASSERT_EQ(run({0x48, 0x83, 0x33, 0xff}, apic + 0xf0).outcome, Outcome::done);  // xor qword, -1
    EXPECT_EQ(device.peek(apic + 0xf0, 8), 0xffff'ffff'ffff'ff7eu);
    EXPECT_EQ(regs.rflags, 0x2 | DF | SF | PF);  // 0x7e: six bits
}

TEST_F(Machine, Test)
{
    regs.gpr[reg::rbx] = apic_linear + 0x300;
    device.poke(apic + 0x300, 0x1000);
    regs.rflags = 0x2 | CF | OF;
    ASSERT_EQ(run({0xf7, 0x03, 0x00, 0x10, 0x00, 0x00}, apic + 0x300).outcome, Outcome::done);  // test 0x1000
    EXPECT_EQ(regs.rflags, 0x2 | PF);
    ASSERT_EQ(run({0xf6, 0x43, 0x01, 0x10}, apic + 0x301).outcome, Outcome::done);  // test byte [rbx+1], 0x10
    EXPECT_EQ(regs.rflags, 0x2u);  // 0x10: one bit, PF clear
    ASSERT_EQ(run({0xf6, 0x43, 0x01, 0x20}, apic + 0x301).outcome, Outcome::done);
    EXPECT_EQ(regs.rflags, 0x2 | ZF | PF);
    regs.gpr[reg::rcx] = 0x8000'1000;
    ASSERT_EQ(run({0x85, 0x0b}, apic + 0x300).outcome, Outcome::done);  // test [rbx], ecx
    EXPECT_EQ(regs.rflags, 0x2 | PF);
    EXPECT_TRUE(writes().empty());
    EXPECT_EQ(regs.gpr[reg::rcx], 0x8000'1000u);
}

TEST_F(Machine, CompareAndArithmeticFlags)
{
    regs.gpr[reg::rbx] = apic_linear + 0x380;
    device.poke(apic + 0x380, 3);
    ASSERT_EQ(run({0x83, 0x3b, 0x05}, apic + 0x380).outcome, Outcome::done);  // cmp dword [rbx], 5
    EXPECT_EQ(regs.rflags, 0x2 | CF | SF | AF);                            // 0xfffffffe: PF odd
    device.poke(apic + 0x380, 0x7f);
    ASSERT_EQ(run({0x80, 0x3b, 0x80}, apic + 0x380).outcome, Outcome::done);  // cmp byte [rbx], 0x80
    EXPECT_EQ(regs.rflags, 0x2 | CF | OF | SF | PF);
    regs.gpr[reg::rax] = 0x7f;
    ASSERT_EQ(run({0x3b, 0x03}, apic + 0x380).outcome, Outcome::done);  // cmp eax, [rbx]
    EXPECT_EQ(regs.rflags, 0x2 | ZF | PF);
    device.poke(apic + 0x380, 0);
    ASSERT_EQ(run({0x81, 0x3b, 0x00, 0x00, 0x00, 0x80}, apic + 0x380).outcome, Outcome::done);
    EXPECT_EQ(regs.rflags, 0x2 | CF | OF | SF | PF);  // 0 - 0x80000000
    regs.gpr[reg::rcx] = 1;
    ASSERT_EQ(run({0x66, 0x39, 0x0b}, apic + 0x380).outcome, Outcome::done);  // cmp word [rbx], cx
    EXPECT_EQ(regs.rflags, 0x2 | CF | SF | AF | PF);                         // 0xffff
    EXPECT_TRUE(writes().empty());

    device.poke(apic + 0x380, 0x7fff'ffff);
    ASSERT_EQ(run({0x83, 0x03, 0x01}, apic + 0x380).outcome, Outcome::done);  // add dword [rbx], 1
    EXPECT_EQ(device.peek(apic + 0x380), 0x8000'0000u);
    EXPECT_EQ(regs.rflags, 0x2 | OF | SF | AF | PF);
    device.poke(apic + 0x380, 0xffff'ffff);
    regs.rflags = 0x2 | CF;
    ASSERT_EQ(run({0x83, 0x13, 0x00}, apic + 0x380).outcome, Outcome::done);  // adc dword [rbx], 0
    EXPECT_EQ(device.peek(apic + 0x380), 0u);
    EXPECT_EQ(regs.rflags, 0x2 | CF | ZF | AF | PF);
    device.poke(apic + 0x380, 0);
    ASSERT_EQ(run({0x80, 0x1b, 0x00}, apic + 0x380).outcome, Outcome::done);  // sbb byte [rbx], 0 (CF in)
    EXPECT_EQ(device.peek(apic + 0x380), 0xffu);
    EXPECT_EQ(regs.rflags, 0x2 | CF | SF | AF | PF);
    regs.gpr[reg::rdx] = 0x10;
    device.poke(apic + 0x380, 0x10);
    ASSERT_EQ(run({0x2b, 0x13}, apic + 0x380).outcome, Outcome::done);  // sub edx, [rbx]
    EXPECT_EQ(regs.gpr[reg::rdx], 0u);
    EXPECT_EQ(regs.rflags, 0x2 | ZF | PF);
}

TEST_F(Machine, Exchange)
{
    regs.gpr[reg::rbx] = apic_linear + 0x20;
    device.poke(apic + 0x20, 0x11);
    regs.gpr[reg::rcx] = 0xffff'ffff'0000'0022;
    ASSERT_EQ(run({0x87, 0x0b}, apic + 0x20).outcome, Outcome::done);  // xchg [rbx], ecx
    EXPECT_EQ(regs.gpr[reg::rcx], 0x11u);
    EXPECT_EQ(device.log, (std::vector<Access>{{false, apic + 0x20, 4, 0x11}, {true, apic + 0x20, 4, 0x22}}));
    regs.gpr[reg::rax] = 0xab00;
    ASSERT_EQ(run({0x86, 0x23}, apic + 0x20).outcome, Outcome::done);  // xchg [rbx], ah
    EXPECT_EQ(regs.gpr[reg::rax], 0x2200u);
    EXPECT_EQ(device.peek(apic + 0x20), 0xabu);
}

TEST_F(Machine, BitTests)
{
    regs.gpr[reg::rbx] = apic_linear + 0x100;
    device.poke(apic + 0x100, 0x8);
    device.poke(apic + 0x104, 0x0);
    device.poke(apic + 0xfc, 0x0);
    regs.rflags = 0x2 | ZF | SF;
    ASSERT_EQ(run({0x0f, 0xba, 0x23, 0x03}, apic + 0x100).outcome, Outcome::done);  // bt dword [rbx], 3
    EXPECT_EQ(regs.rflags, 0x2 | ZF | SF | CF);
    ASSERT_EQ(run({0x0f, 0xba, 0x23, 0x24}, apic + 0x100).outcome, Outcome::done);  // bt [rbx], 36 = bit 4
    EXPECT_EQ(regs.rflags, 0x2 | ZF | SF);
    EXPECT_TRUE(writes().empty());
    // bts [rbx], ecx with ecx = 35: the dword at rbx+4, bit 3.
    regs.gpr[reg::rcx] = 35;
    ASSERT_EQ(run({0x0f, 0xab, 0x0b}, apic + 0x104).outcome, Outcome::done);
    EXPECT_EQ(device.peek(apic + 0x104), 0x8u);
    EXPECT_EQ(regs.rflags & CF, 0u);
    // btr [rbx], ecx with ecx = -1: the dword at rbx-4, bit 31.
    device.poke(apic + 0xfc, 0x8000'0001);
    regs.gpr[reg::rcx] = 0xffff'ffff;
    ASSERT_EQ(run({0xf0, 0x0f, 0xb3, 0x0b}, apic + 0xfc).outcome, Outcome::done);
    EXPECT_EQ(device.peek(apic + 0xfc), 0x1u);
    EXPECT_EQ(regs.rflags & CF, CF);
    ASSERT_EQ(run({0x0f, 0xba, 0x3b, 0x00}, apic + 0x100).outcome, Outcome::done);  // btc [rbx], 0
    EXPECT_EQ(device.peek(apic + 0x100), 0x9u);
    EXPECT_EQ(regs.rflags & CF, 0u);
}

// Another vCPU rewrote the instruction between the exit and the emulator's fetch (cross-modifying
// code): decoded bytes that no longer make the exit's access are a mismatch, with no register or
// device touched; bytes that make the same access with another destination are emulated as they
// are.
TEST_F(Machine, RewrittenInstructionMismatchesTheExit)
{
    device.poke(apic + 0x30, 0x50014);
    regs.gpr[reg::rax] = regs.gpr[reg::rbx] = 0x1111;
    const GuestRegisters before = regs;
    // mov eax, [moffs64 apic_linear + 0x80] for an exit on +0x30
    EXPECT_EQ(run({0xa1, 0x80, 0x00, 0x00, 0x70, 0, 0, 0, 0}, apic + 0x30).outcome, Outcome::mismatch);
    // mov eax, imm32: not decoded at all (vmx/exit_ept.cpp re-executes unsupported bytes too).
    EXPECT_EQ(run({0xb8, 0x30, 0x00, 0x00, 0x70}, apic + 0x30).outcome, Outcome::unsupported);
    EXPECT_EQ(run({0x8b, 0xc3}, apic + 0x30).outcome, Outcome::mismatch);                    // mov eax, ebx
    EXPECT_EQ(std::memcmp(&before, &regs, sizeof regs), 0);
    EXPECT_TRUE(device.log.empty());
    regs.gpr[reg::rsi] = apic_linear + 0x30;
    ASSERT_EQ(run({0x8b, 0x1e}, apic + 0x30).outcome, Outcome::done);  // mov ebx, [rsi]
    EXPECT_EQ(regs.gpr[reg::rbx], 0x50014u);
    EXPECT_EQ(regs.gpr[reg::rax], 0x1111u);
}

TEST_F(Machine, FaultsLeaveStateAlone)
{
    regs.gpr[reg::rbx] = apic_linear + 0x10;
    const GuestRegisters before = regs;
    auto unchanged = [&] { return std::memcmp(&before, &regs, sizeof regs) == 0; };

    Result r = run({0xff, 0x13}, apic + 0x10);  // call [rbx]
    EXPECT_EQ(r.outcome, Outcome::unsupported);
    EXPECT_EQ(r.opcode_length, 1);
    EXPECT_EQ(r.opcode[0], 0xff);
    r = run({0x0f, 0xc7, 0x0b}, apic + 0x10);  // cmpxchg8b
    EXPECT_EQ(run({0xff, 0x03}, apic + 0x14).outcome, Outcome::mismatch);  // inc: not the faulting offset
    EXPECT_EQ(run({0xf0, 0x0f, 0xb1, 0xc8}, apic + 0x10).outcome, Outcome::invalid_opcode);  // lock, register
    EXPECT_EQ(run({0xff, 0x3b}, apic + 0x10).outcome, Outcome::invalid_opcode);  // FF /7
    EXPECT_EQ(r.outcome, Outcome::unsupported);
    EXPECT_EQ(r.opcode[1], 0xc7);
    EXPECT_EQ(run({0x89, 0xd8}, apic + 0x10).outcome, Outcome::mismatch);  // mov eax, ebx
    EXPECT_EQ(run({0xf0, 0x89, 0x03}, apic + 0x10).outcome, Outcome::invalid_opcode);
    EXPECT_EQ(run({0x89}, apic + 0x10).outcome, Outcome::truncated);
    std::vector<uint8_t> long_one(14, 0x66);
    long_one.push_back(0x89);
    long_one.push_back(0x03);
    EXPECT_EQ(run(long_one, apic + 0x10).outcome, Outcome::general_protection);
    EXPECT_EQ(run({0x89, 0x03}, apic + 0x14).outcome, Outcome::mismatch);  // not the faulting offset
    regs.gpr[reg::rbx] = apic_linear + 0xffe;
    EXPECT_EQ(run({0x89, 0x03}, apic + 0xffe).outcome, Outcome::unsupported);  // crosses the page
    regs.gpr[reg::rbx] = 0x0000'8000'0000'0010;                                // non-canonical
    EXPECT_EQ(run({0x89, 0x03}, apic + 0x10).outcome, Outcome::general_protection);
    regs.gpr[reg::rbp] = 0x0000'8000'0000'0010;
    EXPECT_EQ(run({0x89, 0x45, 0x00}, apic + 0x10).outcome, Outcome::stack_fault);  // mov [rbp], eax
    regs.gpr[reg::rbx] = before.gpr[reg::rbx];
    regs.gpr[reg::rbp] = 0;
    EXPECT_EQ(run({0x89, 0x03}, 0xfed0'0010).outcome, Outcome::mmio_failed);  // no device there
    device.fail = true;
    EXPECT_EQ(run({0x87, 0x0b}, apic + 0x10).outcome, Outcome::mmio_failed);
    EXPECT_EQ(run({0xff, 0x03}, apic + 0x10).outcome, Outcome::mmio_failed);        // inc
    EXPECT_EQ(run({0x0f, 0xb1, 0x0b}, apic + 0x10).outcome, Outcome::mmio_failed);  // cmpxchg
    regs.gpr[reg::rsp] = data_linear + 0x100;
    EXPECT_EQ(run({0xff, 0x33}, apic + 0x10).outcome, Outcome::mmio_failed);  // push [rbx]
    EXPECT_EQ(run({0x8f, 0x03}, apic + 0x10).outcome, Outcome::mmio_failed);  // pop [rbx]
    regs.gpr[reg::rsp] = before.gpr[reg::rsp];
    EXPECT_TRUE(unchanged());
    EXPECT_TRUE(device.log.empty());
}

TEST_F(Machine, RepStosForwardAndBackward)
{
    regs.gpr[reg::rdi] = apic_linear + 0x100;
    regs.gpr[reg::rcx] = 4;
    regs.gpr[reg::rax] = 0x1234'5678'cafe'babe;
    ASSERT_EQ(run({0xf3, 0xab}, apic + 0x100).outcome, Outcome::done);  // rep stosd
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic + 0x100, 4, 0xcafe'babe},
                                               {true, apic + 0x104, 4, 0xcafe'babe},
                                               {true, apic + 0x108, 4, 0xcafe'babe},
                                               {true, apic + 0x10c, 4, 0xcafe'babe}}));
    EXPECT_EQ(regs.gpr[reg::rdi], apic_linear + 0x110);
    EXPECT_EQ(regs.gpr[reg::rcx], 0u);
    EXPECT_EQ(regs.rip, code_linear + 2);

    device.log.clear();
    regs.rflags |= DF;
    regs.gpr[reg::rdi] = apic_linear + 0x100;
    regs.gpr[reg::rcx] = 3;
    ASSERT_EQ(run({0x66, 0xf3, 0xab}, apic + 0x100).outcome, Outcome::done);  // rep stosw, DF = 1
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic + 0x100, 2, 0xbabe},
                                               {true, apic + 0xfe, 2, 0xbabe},
                                               {true, apic + 0xfc, 2, 0xbabe}}));
    EXPECT_EQ(regs.gpr[reg::rdi], apic_linear + 0xfa);

    device.log.clear();
    regs.rflags &= ~DF;
    regs.gpr[reg::rdi] = apic_linear;
    regs.gpr[reg::rcx] = 7;
    ASSERT_EQ(run({0x48, 0xab}, apic).outcome, Outcome::done);  // stosq without REP ignores RCX
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic, 8, 0x1234'5678'cafe'babe}}));
    EXPECT_EQ(regs.gpr[reg::rdi], apic_linear + 8);
    EXPECT_EQ(regs.gpr[reg::rcx], 7u);
    regs.gpr[reg::rcx] = 0;

    device.log.clear();
    uint64_t rip = regs.rip;
    ASSERT_EQ(run({0xf3, 0xaa}, apic).outcome, Outcome::done);  // RCX = 0: nothing, but RIP moves
    EXPECT_TRUE(device.log.empty());
    EXPECT_EQ(regs.rip, rip + 2);
}

TEST_F(Machine, RepStosAddressSize32)
{
    regs.gpr[reg::rdi] = 0xffff'ffff'0000'0000 | (apic_linear + 0x40);
    regs.gpr[reg::rcx] = 0xffff'ffff'0000'0002;
    regs.gpr[reg::rax] = 0x99;
    ASSERT_EQ(run({0x67, 0xf3, 0xaa}, apic + 0x40).outcome, Outcome::done);  // rep stosb [edi], ecx
    EXPECT_EQ(writes(), (std::vector<Access>{{true, apic + 0x40, 1, 0x99}, {true, apic + 0x41, 1, 0x99}}));
    EXPECT_EQ(regs.gpr[reg::rdi], apic_linear + 0x42);  // zero-extended
    EXPECT_EQ(regs.gpr[reg::rcx], 0u);
}

TEST_F(Machine, RepStosPageFaultMidway)
{
    regs.gpr[reg::rdi] = apic_linear + 0xff8;
    regs.gpr[reg::rcx] = 4;
    Result r = run({0xf3, 0xab}, apic + 0xff8);
    ASSERT_EQ(r.outcome, Outcome::page_fault);
    EXPECT_EQ(r.fault_address, apic_linear + 0x1000);
    EXPECT_EQ(r.error_code, pf_error::write);
    EXPECT_EQ(writes().size(), 2u);
    EXPECT_EQ(regs.gpr[reg::rcx], 2u);
    EXPECT_EQ(regs.gpr[reg::rdi], apic_linear + 0x1000);
    EXPECT_EQ(regs.rip, code_linear);
}

TEST_F(Machine, RepStosIterationLimit)
{
    regs.gpr[reg::rdi] = apic_linear;
    regs.gpr[reg::rcx] = 5000;
    ASSERT_EQ(run({0xf3, 0xaa}, apic).outcome, Outcome::done);
    EXPECT_EQ(writes().size(), size_t(max_string_iterations));
    EXPECT_EQ(regs.gpr[reg::rcx], 5000u - max_string_iterations);
    EXPECT_EQ(regs.gpr[reg::rdi], apic_linear + max_string_iterations);
    EXPECT_EQ(regs.rip, code_linear);  // the guest re-executes for the rest
}

TEST_F(Machine, MovsFromRamToMmioThroughPaging)
{
    // Linear data page 0 is RAM 0x101000, page 1 is RAM 0x100000.
    const uint8_t bytes[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    std::memcpy(ram.host + 0x101ff8, bytes, 8);      // linear 0x200ff8..0x200fff
    std::memcpy(ram.host + 0x100000, bytes + 8, 4);  // linear 0x201000..0x201003
    regs.gpr[reg::rsi] = data_linear + 0xffa;
    regs.gpr[reg::rdi] = apic_linear + 0x200;
    regs.gpr[reg::rcx] = 2;
    ASSERT_EQ(run({0xf3, 0xa5}, apic + 0x200).outcome, Outcome::done);  // rep movsd
    // The second element straddles two non-contiguous RAM pages.
    EXPECT_EQ(device.log,
              (std::vector<Access>{{true, apic + 0x200, 4, 0x06050403}, {true, apic + 0x204, 4, 0x0a090807}}));
    EXPECT_EQ(regs.gpr[reg::rsi], data_linear + 0x1002);
    EXPECT_EQ(regs.gpr[reg::rdi], apic_linear + 0x208);
    EXPECT_EQ(regs.gpr[reg::rcx], 0u);
    EXPECT_EQ(get64(0x4000) & 0x20, 0x20u);  // accessed set by the walk
}

TEST_F(Machine, MovsFromMmioToRam)
{
    device.poke(apic + 0x30, 0x4433'2211);
    regs.gpr[reg::rsi] = apic_linear + 0x30;
    regs.gpr[reg::rdi] = data_linear + 0x10;
    regs.gpr[reg::rcx] = 4;
    regs.gpr[reg::rdx] = 0;
    ASSERT_EQ(run({0xf3, 0xa4}, apic + 0x30).outcome, Outcome::done);  // rep movsb
    EXPECT_EQ(device.log, (std::vector<Access>{{false, apic + 0x30, 1, 0x11},
                                               {false, apic + 0x31, 1, 0x22},
                                               {false, apic + 0x32, 1, 0x33},
                                               {false, apic + 0x33, 1, 0x44}}));
    uint32_t copied;
    std::memcpy(&copied, ram.host + 0x101010, 4);
    EXPECT_EQ(copied, 0x4433'2211u);
    EXPECT_EQ(get64(0x4000) & D, D);  // the RAM page's PTE is dirty now
    EXPECT_EQ(get64(0x6000) & D, 0u);

    // LODS: the register takes the value; RSI moves.
    regs.gpr[reg::rsi] = apic_linear + 0x30;
    regs.gpr[reg::rax] = ~0ull;
    ASSERT_EQ(run({0xad}, apic + 0x30).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rax], 0x4433'2211u);
    EXPECT_EQ(regs.gpr[reg::rsi], apic_linear + 0x34);
}

TEST_F(Machine, MovsUserToSupervisorPageFaults)
{
    guest.cpl = 3;
    regs.gpr[reg::rsi] = data_linear;
    regs.gpr[reg::rdi] = apic_linear;
    Result r = run({0xa5}, apic);
    ASSERT_EQ(r.outcome, Outcome::page_fault);
    EXPECT_EQ(r.fault_address, data_linear);  // the source is translated first
    EXPECT_EQ(r.error_code, pf_error::present | pf_error::user);
    EXPECT_TRUE(device.log.empty());
    EXPECT_EQ(regs.gpr[reg::rsi], data_linear);
}

TEST_F(Machine, FetchAndEmulateAtRip)
{
    const uint8_t code[] = {0xc7, 0x83, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};  // mov [rbx+0xb0], 0
    std::memcpy(ram.host + 0x11'0000 + 0x100, code, sizeof code);
    regs.rip = code_linear + 0x100;
    regs.gpr[reg::rbx] = apic_linear;
    MmioAccess mmio = device.access();
    Result r = emulate_at_rip(guest, regs, apic + 0xb0, mmio);
    ASSERT_EQ(r.outcome, Outcome::done);
    EXPECT_EQ(r.length, 10);
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic + 0xb0, 4, 0}}));
    EXPECT_EQ(regs.rip, code_linear + 0x10a);

    // An instruction that runs into the unmapped third code page: the fetch's #PF.
    std::memcpy(ram.host + 0x11'1000 + 0xffd, code, 3);
    regs.rip = code_linear + 0x1ffd;
    device.log.clear();
    r = emulate_at_rip(guest, regs, apic + 0xb0, mmio);
    ASSERT_EQ(r.outcome, Outcome::page_fault);
    EXPECT_EQ(r.fault_address, code_linear + 0x2000);
    EXPECT_EQ(r.error_code, pf_error::fetch);
    EXPECT_EQ(regs.rip, code_linear + 0x1ffd);
    EXPECT_TRUE(device.log.empty());

    // A short instruction right before the hole is fine.
    const uint8_t store[] = {0x89, 0x03};
    std::memcpy(ram.host + 0x11'1000 + 0xffe, store, 2);
    regs.rip = code_linear + 0x1ffe;
    r = emulate_at_rip(guest, regs, apic, mmio);
    ASSERT_EQ(r.outcome, Outcome::done);
    EXPECT_EQ(regs.rip, code_linear + 0x2000);

    // Fetching from a page that is not RAM.
    uint8_t bytes[15];
    size_t count = 99;
    r = fetch_instruction(guest, apic_linear, bytes, count);
    EXPECT_EQ(r.outcome, Outcome::not_ram);
    EXPECT_EQ(count, 0u);
    r = fetch_instruction(guest, 0x0000'8000'0000'0000, bytes, count);
    EXPECT_EQ(r.outcome, Outcome::general_protection);
}

TEST_F(Machine, IncDecKeepCarry)
{
    regs.gpr[reg::rbx] = apic_linear + 0x80;
    device.poke(apic + 0x80, 0x7fff'ffff);
    regs.rflags = 0x2 | CF | ZF;
    ASSERT_EQ(run({0xff, 0x03}, apic + 0x80).outcome, Outcome::done);  // inc dword [rbx]
    EXPECT_EQ(device.peek(apic + 0x80), 0x8000'0000u);
    EXPECT_EQ(regs.rflags, 0x2 | CF | OF | SF | AF | PF);  // CF kept; low byte 0: even
    EXPECT_EQ(regs.rip, code_linear + 2);
    EXPECT_EQ(device.log, (std::vector<Access>{{false, apic + 0x80, 4, 0x7fff'ffff}, {true, apic + 0x80, 4, 0x8000'0000}}));

    device.poke(apic + 0x80, 0xff);
    regs.rflags = 0x2;
    ASSERT_EQ(run({0xfe, 0x03}, apic + 0x80).outcome, Outcome::done);  // inc byte [rbx]: no CF, unlike ADD
    EXPECT_EQ(device.peek(apic + 0x80), 0u);
    EXPECT_EQ(regs.rflags, 0x2 | ZF | AF | PF);

    device.poke(apic + 0x80, 0x8000);
    regs.rflags = 0x2 | CF;
    ASSERT_EQ(run({0x66, 0xff, 0x0b}, apic + 0x80).outcome, Outcome::done);  // dec word [rbx]
    EXPECT_EQ(device.peek(apic + 0x80), 0x7fffu);
    EXPECT_EQ(regs.rflags, 0x2 | CF | OF | AF | PF);  // 0xff: eight bits

    device.poke(apic + 0x80, 1);
    regs.rflags = 0x2 | SF;
    ASSERT_EQ(run({0xff, 0x0b}, apic + 0x80).outcome, Outcome::done);  // dec dword [rbx]
    EXPECT_EQ(device.peek(apic + 0x80), 0u);
    EXPECT_EQ(regs.rflags, 0x2 | ZF | PF);

    device.poke(apic + 0x80, 0, 8);
    regs.rflags = 0x2;
    ASSERT_EQ(run({0xf0, 0x48, 0xff, 0x0b}, apic + 0x80).outcome, Outcome::done);  // lock dec qword [rbx]
    EXPECT_EQ(device.peek(apic + 0x80, 8), ~0ull);
    EXPECT_EQ(regs.rflags, 0x2 | SF | AF | PF);  // no CF, unlike SUB

    device.poke(apic + 0x84, 0x0f);
    regs.rflags = 0x2 | CF;
    ASSERT_EQ(run({0xfe, 0x43, 0x04}, apic + 0x84).outcome, Outcome::done);  // inc byte [rbx+4]
    EXPECT_EQ(device.peek(apic + 0x84), 0x10u);
    EXPECT_EQ(regs.rflags, 0x2 | CF | AF);  // 0x10: one bit, PF clear

    // 32-bit mode: inc dword [0xfee00080], the form of guests/lapic_mmio.c.
    guest.mode = CpuMode::protected32;
    guest.paging.cr4 = cr4::pse;
    guest.paging.efer = 0;
    guest.paging.cr0 = cr0::pe;  // paging off: linear = physical
    device.poke(apic + 0x80, 0x40);
    regs.rip = 0x1000;
    ASSERT_EQ(run({0xff, 0x05, 0x80, 0x00, 0xe0, 0xfe}, apic + 0x80).outcome, Outcome::done);
    EXPECT_EQ(device.peek(apic + 0x80), 0x41u);
    EXPECT_EQ(regs.rip, 0x1006u);
    ASSERT_EQ(run({0xff, 0x0d, 0x80, 0x00, 0xe0, 0xfe}, apic + 0x80).outcome, Outcome::done);
    ASSERT_EQ(run({0xff, 0x0d, 0x80, 0x00, 0xe0, 0xfe}, apic + 0x80).outcome, Outcome::done);
    EXPECT_EQ(device.peek(apic + 0x80), 0x3fu);
}

TEST_F(Machine, NotAndNeg)
{
    regs.gpr[reg::rbx] = apic_linear + 0x90;
    device.poke(apic + 0x90, 0x0f0f'00ff);
    regs.rflags = 0x2 | STATUS;
    ASSERT_EQ(run({0xf7, 0x13}, apic + 0x90).outcome, Outcome::done);  // not dword [rbx]
    EXPECT_EQ(device.peek(apic + 0x90), 0xf0f0'ff00u);
    EXPECT_EQ(regs.rflags, 0x2 | STATUS);  // no flag changes
    regs.rflags = 0x2;
    ASSERT_EQ(run({0xf0, 0xf6, 0x13}, apic + 0x90).outcome, Outcome::done);  // lock not byte [rbx]
    EXPECT_EQ(device.peek(apic + 0x90), 0xf0f0'ffffu);
    EXPECT_EQ(regs.rflags, 0x2u);

    device.poke(apic + 0x90, 0);
    regs.rflags = 0x2 | CF | SF | OF | AF;
    ASSERT_EQ(run({0xf7, 0x1b}, apic + 0x90).outcome, Outcome::done);  // neg dword [rbx]: 0
    EXPECT_EQ(device.peek(apic + 0x90), 0u);
    EXPECT_EQ(regs.rflags, 0x2 | ZF | PF);  // CF = (operand != 0)

    device.poke(apic + 0x90, 0x80);
    ASSERT_EQ(run({0xf6, 0x1b}, apic + 0x90).outcome, Outcome::done);  // neg byte [rbx]: 0x80
    EXPECT_EQ(device.peek(apic + 0x90), 0x80u);
    EXPECT_EQ(regs.rflags, 0x2 | CF | OF | SF);

    device.poke(apic + 0x90, 1);
    ASSERT_EQ(run({0x66, 0xf7, 0x1b}, apic + 0x90).outcome, Outcome::done);  // neg word [rbx]: 1
    EXPECT_EQ(device.peek(apic + 0x90), 0xffffu);
    EXPECT_EQ(regs.rflags, 0x2 | CF | SF | AF | PF);

    device.poke(apic + 0x90, 0x8000'0000'0000'0001, 8);
    ASSERT_EQ(run({0x48, 0xf7, 0x1b}, apic + 0x90).outcome, Outcome::done);  // neg qword [rbx]
    EXPECT_EQ(device.peek(apic + 0x90, 8), 0x7fff'ffff'ffff'ffffu);
    EXPECT_EQ(regs.rflags, 0x2 | CF | AF | PF);
    EXPECT_EQ(regs.rip, code_linear + 2 + 3 + 2 + 2 + 3 + 3);
}

TEST_F(Machine, Cmpxchg)
{
    regs.gpr[reg::rbx] = apic_linear + 0x80;
    device.poke(apic + 0x80, 0x21);
    regs.gpr[reg::rax] = 0xdead'beef'0000'0021;
    regs.gpr[reg::rcx] = 0x31;
    regs.rflags = 0x2 | CF | SF;
    ASSERT_EQ(run({0xf0, 0x0f, 0xb1, 0x0b}, apic + 0x80).outcome, Outcome::done);  // lock cmpxchg [rbx], ecx
    EXPECT_EQ(device.log, (std::vector<Access>{{false, apic + 0x80, 4, 0x21}, {true, apic + 0x80, 4, 0x31}}));
    EXPECT_EQ(regs.rflags, 0x2 | ZF | PF);
    EXPECT_EQ(regs.gpr[reg::rax], 0xdead'beef'0000'0021u);  // not written on success
    EXPECT_EQ(regs.rip, code_linear + 4);

    // Mismatch: the accumulator takes the value (zero-extended) and the device gets it back.
    device.log.clear();
    regs.gpr[reg::rax] = 0xdead'beef'0000'0030;
    ASSERT_EQ(run({0x0f, 0xb1, 0x0b}, apic + 0x80).outcome, Outcome::done);
    EXPECT_EQ(device.log, (std::vector<Access>{{false, apic + 0x80, 4, 0x31}, {true, apic + 0x80, 4, 0x31}}));
    EXPECT_EQ(regs.rflags, 0x2 | CF | SF | AF | PF);  // 0x30 - 0x31 = 0xffffffff
    EXPECT_EQ(regs.gpr[reg::rax], 0x31u);
    EXPECT_EQ(regs.gpr[reg::rcx], 0x31u);

    // Byte form with AH as the source: AL is the accumulator.
    device.poke(apic + 0x80, 0x05);
    regs.gpr[reg::rax] = 0x9905;
    ASSERT_EQ(run({0x0f, 0xb0, 0x23}, apic + 0x80).outcome, Outcome::done);  // cmpxchg [rbx], ah
    EXPECT_EQ(device.peek(apic + 0x80), 0x99u);
    EXPECT_EQ(regs.rflags, 0x2 | ZF | PF);
    EXPECT_EQ(regs.gpr[reg::rax], 0x9905u);

    // Word mismatch: AX is written, bits 63:16 stay.
    device.poke(apic + 0x80, 0x1235);
    regs.gpr[reg::rax] = 0xffff'ffff'ffff'1234;
    ASSERT_EQ(run({0x66, 0x0f, 0xb1, 0x0b}, apic + 0x80).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rax], 0xffff'ffff'ffff'1235u);
    EXPECT_EQ(regs.rflags, 0x2 | CF | SF | AF | PF);
    EXPECT_EQ(device.peek(apic + 0x80), 0x1235u);

    // Qword: signed compare gives OF.
    device.poke(apic + 0x80, 0x8000'0000'0000'0000, 8);
    regs.gpr[reg::rax] = 1;
    ASSERT_EQ(run({0x48, 0x0f, 0xb1, 0x0b}, apic + 0x80).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rax], 0x8000'0000'0000'0000u);
    EXPECT_EQ(regs.rflags, 0x2 | CF | OF | SF);  // 1 - 0x80..0 = 0x80..01: no nibble borrow, PF odd
    regs.gpr[reg::rcx] = 0x1234'5678'9abc'def0;
    ASSERT_EQ(run({0x48, 0x0f, 0xb1, 0x0b}, apic + 0x80).outcome, Outcome::done);
    EXPECT_EQ(device.peek(apic + 0x80, 8), 0x1234'5678'9abc'def0u);
    EXPECT_EQ(regs.rflags, 0x2 | ZF | PF);

    // The write-back of a mismatch failing leaves everything as it was.
    struct ReadOnly {
        static bool read(void* context, uint64_t gpa, unsigned size, uint64_t& value)
        {
            return FakeDevice::read(context, gpa, size, value);
        }
        static bool write(void*, uint64_t, unsigned, uint64_t) { return false; }
    };
    regs.gpr[reg::rax] = 0;
    const GuestRegisters zeroed = regs;
    const uint8_t bytes[] = {0x48, 0x0f, 0xb1, 0x0b};
    MmioAccess read_only{ReadOnly::read, ReadOnly::write, &device};
    EXPECT_EQ(emulate(bytes, sizeof bytes, guest, regs, apic + 0x80, read_only).outcome, Outcome::mmio_failed);
    EXPECT_EQ(std::memcmp(&zeroed, &regs, sizeof regs), 0);
    EXPECT_EQ(device.peek(apic + 0x80, 8), 0x1234'5678'9abc'def0u);
}

TEST_F(Machine, Movsxd)
{
    regs.gpr[reg::rbx] = apic_linear + 0x20;
    device.poke(apic + 0x20, 0x8000'0001);
    ASSERT_EQ(run({0x48, 0x63, 0x03}, apic + 0x20).outcome, Outcome::done);  // movsxd rax, [rbx]
    EXPECT_EQ(regs.gpr[reg::rax], 0xffff'ffff'8000'0001u);
    EXPECT_EQ(device.log, (std::vector<Access>{{false, apic + 0x20, 4, 0x8000'0001}}));
    regs.gpr[15] = ~0ull;
    ASSERT_EQ(run({0x4c, 0x63, 0x3b}, apic + 0x20).outcome, Outcome::done);  // movsxd r15, [rbx]
    EXPECT_EQ(regs.gpr[15], 0xffff'ffff'8000'0001u);
    regs.gpr[reg::rcx] = ~0ull;
    ASSERT_EQ(run({0x63, 0x0b}, apic + 0x20).outcome, Outcome::done);  // movsxd ecx, [rbx]: zero-extends
    EXPECT_EQ(regs.gpr[reg::rcx], 0x8000'0001u);
    ASSERT_EQ(run({0x66, 0x63, 0x0b}, apic + 0x20).outcome, Outcome::done);  // movsxd cx, [rbx]
    EXPECT_EQ(regs.gpr[reg::rcx], 0x8000'0001u);
    EXPECT_EQ(regs.rflags, 0x2u);
    EXPECT_TRUE(writes().empty());
}

TEST_F(Machine, PushAndPop)
{
    // Linear data page 0 is RAM 0x101000.
    regs.gpr[reg::rbx] = apic_linear + 0x30;
    regs.gpr[reg::rsp] = data_linear + 0x100;
    regs.rflags = 0x2 | CF;
    device.poke(apic + 0x30, 0x1122'3344'5566'7788, 8);
    ASSERT_EQ(run({0xff, 0x33}, apic + 0x30).outcome, Outcome::done);  // push qword [rbx]
    EXPECT_EQ(device.log, (std::vector<Access>{{false, apic + 0x30, 8, 0x1122'3344'5566'7788}}));
    EXPECT_EQ(regs.gpr[reg::rsp], data_linear + 0xf8);
    EXPECT_EQ(get64(0x101000 + 0xf8), 0x1122'3344'5566'7788u);
    EXPECT_EQ(regs.rip, code_linear + 2);
    EXPECT_EQ(regs.rflags, 0x2 | CF);
    EXPECT_EQ(get64(0x4000) & D, D);  // the stack page's PTE is dirty

    ASSERT_EQ(run({0x66, 0xff, 0x33}, apic + 0x30).outcome, Outcome::done);  // push word [rbx]
    EXPECT_EQ(regs.gpr[reg::rsp], data_linear + 0xf6);
    EXPECT_EQ(get64(0x101000 + 0xf0), 0x7788'0000'0000'0000u);

    // pop word [rbx], then pop qword [rbx + 8].
    device.log.clear();
    regs.gpr[reg::rbx] = apic_linear + 0x40;
    ASSERT_EQ(run({0x66, 0x8f, 0x03}, apic + 0x40).outcome, Outcome::done);
    ASSERT_EQ(run({0x8f, 0x43, 0x08}, apic + 0x48).outcome, Outcome::done);
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic + 0x40, 2, 0x7788}, {true, apic + 0x48, 8, 0x1122'3344'5566'7788}}));
    EXPECT_EQ(regs.gpr[reg::rsp], data_linear + 0x100);

    // A stack element split across two non-contiguous RAM pages (0x101ffc and 0x100000).
    regs.gpr[reg::rsp] = data_linear + 0x1004;
    regs.gpr[reg::rbx] = apic_linear + 0x30;
    ASSERT_EQ(run({0xff, 0x33}, apic + 0x30).outcome, Outcome::done);
    uint32_t low, high;
    std::memcpy(&low, ram.host + 0x101ffc, 4);
    std::memcpy(&high, ram.host + 0x100000, 4);
    EXPECT_EQ(low, 0x5566'7788u);
    EXPECT_EQ(high, 0x1122'3344u);
    device.log.clear();
    ASSERT_EQ(run({0x8f, 0x43, 0x10}, apic + 0x40).outcome, Outcome::done);  // pop qword [rbx+0x10]
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic + 0x40, 8, 0x1122'3344'5566'7788}}));
    EXPECT_EQ(regs.gpr[reg::rsp], data_linear + 0x1004);
}

TEST_F(Machine, PushAndPopWithRspAsBase)
{
    // pop qword [rsp + disp32]: the address uses rSP after the increment.
    regs.gpr[reg::rsp] = data_linear + 0x100;
    set64(0x101000 + 0x100, 0xabcd);
    const uint32_t pop_disp = uint32_t(apic_linear + 0x80 - (data_linear + 0x108));
    ASSERT_EQ(run({0x8f, 0x84, 0x24, uint8_t(pop_disp), uint8_t(pop_disp >> 8), uint8_t(pop_disp >> 16),
                   uint8_t(pop_disp >> 24)},
                  apic + 0x80)
                  .outcome,
              Outcome::done);
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic + 0x80, 8, 0xabcd}}));
    EXPECT_EQ(regs.gpr[reg::rsp], data_linear + 0x108);
    // With the old rSP the operand would be at +0x78: that offset does not match.
    regs.gpr[reg::rsp] = data_linear + 0x100;
    const GuestRegisters before = regs;
    EXPECT_EQ(run({0x8f, 0x84, 0x24, uint8_t(pop_disp), uint8_t(pop_disp >> 8), uint8_t(pop_disp >> 16),
                   uint8_t(pop_disp >> 24)},
                  apic + 0x78)
                  .outcome,
              Outcome::mismatch);
    EXPECT_EQ(std::memcmp(&before, &regs, sizeof regs), 0);

    // push qword [rsp + disp32]: the address uses rSP before the decrement.
    device.poke(apic + 0x80, 0x5151, 8);
    const uint32_t push_disp = uint32_t(apic_linear + 0x80 - (data_linear + 0x100));
    ASSERT_EQ(run({0xff, 0xb4, 0x24, uint8_t(push_disp), uint8_t(push_disp >> 8), uint8_t(push_disp >> 16),
                   uint8_t(push_disp >> 24)},
                  apic + 0x80)
                  .outcome,
              Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rsp], data_linear + 0xf8);
    EXPECT_EQ(get64(0x101000 + 0xf8), 0x5151u);
}

TEST_F(Machine, PushAndPopStackFaults)
{
    regs.gpr[reg::rbx] = apic_linear + 0x30;
    auto unchanged_after = [&](std::vector<uint8_t> bytes, Outcome expected) {
        const GuestRegisters before = regs;
        device.log.clear();
        Result r = run(bytes, apic + 0x30);
        EXPECT_EQ(r.outcome, expected);
        EXPECT_EQ(std::memcmp(&before, &regs, sizeof regs), 0);
        EXPECT_TRUE(device.log.empty());  // the device is not touched
        return r;
    };
    // A read-only stack page (the code page): #PF for the write, present.
    regs.gpr[reg::rsp] = code_linear + 8;
    Result r = unchanged_after({0xff, 0x33}, Outcome::page_fault);
    EXPECT_EQ(r.fault_address, code_linear);
    EXPECT_EQ(r.error_code, pf_error::present | pf_error::write);
    EXPECT_EQ(r.length, 2);
    EXPECT_EQ(run({0x8f, 0x03}, apic + 0x30).outcome, Outcome::done);  // POP only reads it
    EXPECT_EQ(regs.gpr[reg::rsp], code_linear + 16);

    // Not present: #PF for the read, error code 0.
    regs.gpr[reg::rsp] = data_linear + 0x10000;
    r = unchanged_after({0x8f, 0x03}, Outcome::page_fault);
    EXPECT_EQ(r.fault_address, data_linear + 0x10000);
    EXPECT_EQ(r.error_code, 0u);
    // The second page of a split element.
    regs.gpr[reg::rsp] = data_linear + 0x10004;
    r = unchanged_after({0xff, 0x33}, Outcome::page_fault);
    EXPECT_EQ(r.fault_address, data_linear + 0x10000);
    EXPECT_EQ(r.error_code, pf_error::write);

    // CPL 3 on supervisor pages.
    guest.cpl = 3;
    regs.gpr[reg::rsp] = data_linear + 0x100;
    r = unchanged_after({0xff, 0x33}, Outcome::page_fault);
    EXPECT_EQ(r.fault_address, data_linear + 0xf8);
    EXPECT_EQ(r.error_code, pf_error::present | pf_error::write | pf_error::user);
    guest.cpl = 0;

    // Non-canonical: #SS.
    regs.gpr[reg::rsp] = 0x0000'8000'0000'0004;
    unchanged_after({0xff, 0x33}, Outcome::stack_fault);
    regs.gpr[reg::rsp] = 0x0000'7fff'ffff'fffc;
    unchanged_after({0x8f, 0x03}, Outcome::stack_fault);

    // A stack that is not RAM (here the APIC page itself) is not emulated.
    regs.gpr[reg::rsp] = apic_linear + 0x100;
    unchanged_after({0xff, 0x33}, Outcome::unsupported);
    unchanged_after({0x8f, 0x03}, Outcome::unsupported);
    // A page table outside RAM.
    set64(0x3000 + 1 * 8, 0x4000'0000 | P | RW);
    regs.gpr[reg::rsp] = data_linear + 0x100;
    unchanged_after({0xff, 0x33}, Outcome::not_ram);
    // Register forms have no memory operand.
    unchanged_after({0xff, 0xf0}, Outcome::mismatch);  // push rax
    unchanged_after({0x8f, 0xc0}, Outcome::mismatch);  // pop rax
}

// A 32-bit guest with 32-bit paging: PD 0x1000, PT 0x2000 (linear 0x10000 -> RAM 0x180000),
// a 4 MiB PSE page identity-mapping 0xfec00000.
struct Machine32 : Machine {
    void SetUp() override
    {
        Machine::SetUp();
        guest.mode = CpuMode::protected32;
        guest.paging.cr4 = cr4::pse;
        guest.paging.efer = 0;
        std::memset(ram.host, 0, 0x7000);
        set32(0x1000, 0x2000 | P | RW);
        set32(0x1000 + (0xfec0'0000 >> 22) * 4, 0xfec0'0000 | PS | P | RW);
        set32(0x2000 + 0x10 * 4, 0x18'0000 | P | RW);
        regs.rip = 0x1000;
    }
    void set32(uint64_t gpa, uint32_t v) { std::memcpy(ram.host + gpa, &v, 4); }
};

TEST_F(Machine32, MovsThroughThirtyTwoBitPaging)
{
    const uint32_t data[3] = {0x11111111, 0x22222222, 0x33333333};
    std::memcpy(ram.host + 0x18'0100, data, sizeof data);
    guest.segment_base[seg::ds] = 0x1'0000;  // source DS:ESI = 0x10000 + 0x100
    regs.gpr[reg::rsi] = 0xdead'0000'0000'0100;  // upper half ignored with 32-bit addresses
    regs.gpr[reg::rdi] = apic + 0x300;
    regs.gpr[reg::rcx] = 3;
    ASSERT_EQ(run({0xf3, 0xa5}, apic + 0x300).outcome, Outcome::done);
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic + 0x300, 4, 0x11111111},
                                               {true, apic + 0x304, 4, 0x22222222},
                                               {true, apic + 0x308, 4, 0x33333333}}));
    EXPECT_EQ(regs.gpr[reg::rsi], 0x10cu);
    EXPECT_EQ(regs.gpr[reg::rdi], apic + 0x30c);
    EXPECT_EQ(regs.rip, 0x1002u);
}

TEST_F(Machine32, SimpleAccessesAndRipWrap)
{
    regs.gpr[reg::rax] = 0xdead'beef'0000'0000 | apic;  // only EAX is an address
    regs.gpr[reg::rcx] = 0xffff'ffff'1234'5678;
    regs.rip = 0xffff'fffc;
    ASSERT_EQ(run({0x89, 0x88, 0x00, 0x03, 0x00, 0x00}, apic + 0x300).outcome, Outcome::done);
    EXPECT_EQ(device.log, (std::vector<Access>{{true, apic + 0x300, 4, 0x1234'5678}}));
    EXPECT_EQ(regs.rip, 0x2u);  // EIP wraps at 4 GiB
    device.poke(apic + 0x20, 0x77);
    ASSERT_EQ(run({0xa1, 0x20, 0x00, 0xe0, 0xfe}, apic + 0x20).outcome, Outcome::done);  // mov eax, [moffs32]
    EXPECT_EQ(regs.gpr[reg::rax], 0x77u);
    // In 32-bit mode a segment base applies: fs:[0x20] with FS.base = apic.
    guest.segment_base[seg::fs] = apic;
    ASSERT_EQ(run({0x64, 0x8b, 0x0d, 0x20, 0x00, 0x00, 0x00}, apic + 0x20).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rcx], 0x77u);
}

TEST_F(Machine32, PushAndPopThirtyTwoBit)
{
    // The forms of guests/lapic_mmio.c: push dword [0xfee00030]; pop dword [0xfee00080].
    device.poke(apic + 0x30, 0x0005'0014);
    regs.gpr[reg::rsp] = 0xdead'0000'0001'0100;  // ESP 0x10100; the upper half is not part of it
    ASSERT_EQ(run({0xff, 0x35, 0x30, 0x00, 0xe0, 0xfe}, apic + 0x30).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rsp], 0x1'00fcu);
    uint32_t pushed;
    std::memcpy(&pushed, ram.host + 0x18'00fc, 4);
    EXPECT_EQ(pushed, 0x0005'0014u);
    EXPECT_EQ(regs.rip, 0x1006u);
    const uint32_t value = 0x23;
    std::memcpy(ram.host + 0x18'00fc, &value, 4);
    ASSERT_EQ(run({0x8f, 0x05, 0x80, 0x00, 0xe0, 0xfe}, apic + 0x80).outcome, Outcome::done);
    EXPECT_EQ(device.log, (std::vector<Access>{{false, apic + 0x30, 4, 0x0005'0014}, {true, apic + 0x80, 4, 0x23}}));
    EXPECT_EQ(regs.gpr[reg::rsp], 0x1'0100u);

    // The SS base applies; push word with 66.
    guest.segment_base[seg::ss] = 0x1'0000;
    regs.gpr[reg::rsp] = 0x200;
    ASSERT_EQ(run({0x66, 0xff, 0x35, 0x30, 0x00, 0xe0, 0xfe}, apic + 0x30).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rsp], 0x1feu);
    uint16_t word;
    std::memcpy(&word, ram.host + 0x18'01fe, 2);
    EXPECT_EQ(word, 0x0014u);

    // A 16-bit stack (SS.B = 0) in 32-bit code: only SP moves.
    guest.stack_address_size = 2;
    regs.gpr[reg::rsp] = 0xdead'0000'ffff'0104;
    ASSERT_EQ(run({0xff, 0x35, 0x30, 0x00, 0xe0, 0xfe}, apic + 0x30).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rsp], 0xdead'0000'ffff'0100u);
    std::memcpy(&pushed, ram.host + 0x18'0100, 4);
    EXPECT_EQ(pushed, 0x0005'0014u);

    // Past the top of the 16-bit stack: #SS, nothing changed.
    regs.gpr[reg::rsp] = 0x2;
    const GuestRegisters before = regs;
    device.log.clear();
    EXPECT_EQ(run({0xff, 0x35, 0x30, 0x00, 0xe0, 0xfe}, apic + 0x30).outcome, Outcome::stack_fault);
    regs.gpr[reg::rsp] = 0xfffe;
    EXPECT_EQ(run({0x8f, 0x05, 0x80, 0x00, 0xe0, 0xfe}, apic + 0x80).outcome, Outcome::stack_fault);
    regs.gpr[reg::rsp] = 0x2;
    EXPECT_EQ(std::memcmp(&before, &regs, sizeof regs), 0);
    EXPECT_TRUE(device.log.empty());

    // A 32-bit stack wrapping at 4 GiB: #SS as well.
    guest.stack_address_size = 4;
    regs.gpr[reg::rsp] = 0xffff'fffe;
    EXPECT_EQ(run({0x8f, 0x05, 0x80, 0x00, 0xe0, 0xfe}, apic + 0x80).outcome, Outcome::stack_fault);
}

TEST_F(Machine32, CmpxchgIncDecOfLapicMmioGuest)
{
    // lock cmpxchg [0xfee00080], edx with EAX matching, then inc and dec: the guest's sequence.
    device.poke(apic + 0x80, 0x21);
    regs.gpr[reg::rax] = 0x21;
    regs.gpr[reg::rdx] = 0x31;
    ASSERT_EQ(run({0xf0, 0x0f, 0xb1, 0x15, 0x80, 0x00, 0xe0, 0xfe}, apic + 0x80).outcome, Outcome::done);
    EXPECT_EQ(device.peek(apic + 0x80), 0x31u);
    EXPECT_EQ(regs.rflags & ZF, ZF);
    EXPECT_EQ(regs.rip, 0x1008u);
    ASSERT_EQ(run({0xff, 0x05, 0x80, 0x00, 0xe0, 0xfe}, apic + 0x80).outcome, Outcome::done);
    EXPECT_EQ(device.peek(apic + 0x80), 0x32u);
    EXPECT_EQ(regs.rflags & ZF, 0u);
}

TEST_F(Machine, RealModeStack)
{
    guest.mode = CpuMode::real;
    guest.paging = {};
    GuestRam low{ram.host, 0xa'0000};
    guest.ram = &low;
    FakeDevice vga{0xa'0000, 0x1'0000};
    MmioAccess mmio = vga.access();
    guest.segment_base[seg::ds] = 0xa'0000;
    guest.segment_base[seg::ss] = 0x2'0000;
    regs.rip = 0x100;
    regs.gpr[reg::rbx] = 0x10;
    regs.gpr[reg::rsp] = 0x1234'0000'0000;  // SP 0: the push wraps to 0xfffe
    vga.poke(0xa'0010, 0xbeef);
    const uint8_t push[] = {0xff, 0x37};  // push word [bx]
    ASSERT_EQ(emulate(push, sizeof push, guest, regs, 0xa'0010, mmio).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rsp], 0x1234'0000'fffeu);
    uint16_t word;
    std::memcpy(&word, ram.host + 0x2'fffe, 2);
    EXPECT_EQ(word, 0xbeefu);
    EXPECT_EQ(regs.rip, 0x102u);

    const uint8_t pop32[] = {0x66, 0x8f, 0x47, 0x04};  // pop dword [bx+4]: SP 0xfffe + 4 is past the top
    const GuestRegisters before = regs;
    EXPECT_EQ(emulate(pop32, sizeof pop32, guest, regs, 0xa'0014, mmio).outcome, Outcome::stack_fault);
    EXPECT_EQ(std::memcmp(&before, &regs, sizeof regs), 0);
    const uint8_t pop[] = {0x8f, 0x47, 0x04};  // pop word [bx+4]: SP wraps to 0
    ASSERT_EQ(emulate(pop, sizeof pop, guest, regs, 0xa'0014, mmio).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rsp], 0x1234'0000'0000u);
    EXPECT_EQ(vga.log, (std::vector<Access>{{false, 0xa'0010, 2, 0xbeef}, {true, 0xa'0014, 2, 0xbeef}}));
}

TEST_F(Machine, RealModeSixteenBitForms)
{
    guest.mode = CpuMode::real;
    guest.paging = {};
    GuestRam low{ram.host, 0xa'0000};  // 640 KiB: the VGA window is not RAM
    guest.ram = &low;
    FakeDevice vga{0xa'0000, 0x1'0000};
    MmioAccess mmio = vga.access();
    guest.segment_base[seg::ds] = 0xa'0000;
    guest.segment_base[seg::es] = 0xa'0000;
    regs.rip = 0xfffe;
    regs.gpr[reg::rbx] = 0x10;
    regs.gpr[reg::rsi] = 0x20;
    regs.gpr[reg::rax] = 0x1234'5678'9abc'def0;
    const uint8_t store[] = {0x89, 0x40, 0x04};  // mov [bx+si+4], ax
    ASSERT_EQ(emulate(store, sizeof store, guest, regs, 0xa'0034, mmio).outcome, Outcome::done);
    EXPECT_EQ(vga.log, (std::vector<Access>{{true, 0xa'0034, 2, 0xdef0}}));
    EXPECT_EQ(regs.rip, 0x1u);  // IP wraps at 64 KiB

    // [bx+2] with BX = 0xffff wraps to offset 1.
    regs.gpr[reg::rbx] = 0xffff;
    const uint8_t load[] = {0x66, 0x8b, 0x47, 0x02};  // mov eax, [bx+2]
    vga.poke(0xa'0001, 0xcafe'f00d);
    ASSERT_EQ(emulate(load, sizeof load, guest, regs, 0xa'0001, mmio).outcome, Outcome::done);
    EXPECT_EQ(regs.gpr[reg::rax], 0xcafe'f00du);

    // rep movsb with DI wrapping inside ES; the upper bits of RDI/RCX stay.
    vga.log.clear();
    regs.gpr[reg::rsi] = 0x100;
    regs.gpr[reg::rdi] = 0x1234'0000'ffff;
    regs.gpr[reg::rcx] = 0x5555'0000'0002;
    const uint8_t movsb[] = {0xf3, 0xa4};
    ASSERT_EQ(emulate(movsb, sizeof movsb, guest, regs, 0xa'0100, mmio).outcome, Outcome::done);
    EXPECT_EQ(vga.log, (std::vector<Access>{{false, 0xa'0100, 1, 0},
                                            {true, 0xa'ffff, 1, 0},
                                            {false, 0xa'0101, 1, 0},
                                            {true, 0xa'0000, 1, 0}}));
    EXPECT_EQ(regs.gpr[reg::rdi], 0x1234'0000'0001u);
    EXPECT_EQ(regs.gpr[reg::rsi], 0x102u);
    EXPECT_EQ(regs.gpr[reg::rcx], 0x5555'0000'0000u);
}

// Results and flags of the eight ALU operations and TEST against the host CPU, which runs the same
// operation natively; AF of logical operations is undefined but compared too (hosts clear it).
struct Native {
    uint64_t result;
    uint64_t flags;
};

template <class T>
Native native(unsigned op, uint64_t d, uint64_t s, bool carry)
{
    T dd = T(d), ss = T(s);
    uint64_t cin = carry, ax;
    uint8_t o;
#define NATIVE_OP(MNEMONIC)                                                                              \
    asm("bt $0, %[cin]\n\t" MNEMONIC " %[s], %[d]\n\tlahf\n\tseto %[o]"                                  \
        : [d] "+r"(dd), "=&a"(ax), [o] "=&q"(o)                                                          \
        : [s] "r"(ss), [cin] "r"(cin)                                                                    \
        : "cc")
    switch (op) {
    case 0: NATIVE_OP("add"); break;
    case 1: NATIVE_OP("or"); break;
    case 2: NATIVE_OP("adc"); break;
    case 3: NATIVE_OP("sbb"); break;
    case 4: NATIVE_OP("and"); break;
    case 5: NATIVE_OP("sub"); break;
    case 6: NATIVE_OP("xor"); break;
    case 7: NATIVE_OP("cmp"); break;
    default: NATIVE_OP("test"); break;
    }
#undef NATIVE_OP
    return {uint64_t(dd), ((ax >> 8) & 0xd5) | (uint64_t(o) << 11)};
}

TEST_F(Machine, AluMatchesHostCpu)
{
    std::mt19937_64 rng(12345);
    const uint64_t specials[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fff'ffff, 0x8000'0000,
                                 0xffff'ffff, 0x7fff'ffff'ffff'ffff, 0x8000'0000'0000'0000, ~0ull, 0x0f, 0x10};
    regs.gpr[reg::rbx] = apic_linear + 0x400;
    for (int round = 0; round < 6000; ++round) {
        const unsigned op = round % 9, size = 1u << ((round / 9) % 4);
        // Memory destination (op [rbx], rcx) or register destination (op rcx, [rbx]; not TEST).
        const bool to_register = op != 8 && (round / 36) % 2;
        uint64_t m = round % 5 == 0 ? specials[rng() % 16] : rng();
        uint64_t r = round % 7 == 0 ? specials[rng() % 16] : rng();
        if (round % 3 == 0) r = m + (rng() % 3) - 1;
        const bool carry = rng() & 1;
        const uint64_t d = to_register ? r : m, s = to_register ? m : r;
        Native expected = size == 1   ? native<uint8_t>(op, d, s, carry)
                          : size == 2 ? native<uint16_t>(op, d, s, carry)
                          : size == 4 ? native<uint32_t>(op, d, s, carry)
                                      : native<uint64_t>(op, d, s, carry);
        std::vector<uint8_t> bytes;
        if (size == 2) bytes.push_back(0x66);
        if (size == 8) bytes.push_back(0x48);
        uint8_t opcode = op == 8 ? 0x84 : uint8_t(op * 8 + (to_register ? 2 : 0));
        bytes.push_back(uint8_t(opcode | (size == 1 ? 0 : 1)));
        bytes.push_back(0x0b);
        device.poke(apic + 0x400, m, 8);
        regs.gpr[reg::rcx] = r;
        regs.rflags = (0x2 | (rng() & STATUS)) & ~CF;
        if (carry) regs.rflags |= CF;
        ASSERT_EQ(run(bytes, apic + 0x400).outcome, Outcome::done);
        const uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
        const bool writes_back = op != 7 && op != 8;
        SCOPED_TRACE(::testing::Message() << "op " << op << " size " << size << " to_register " << to_register
                                          << std::hex << " m " << m << " r " << r << " cf " << carry);
        if (to_register) {
            const uint64_t kept = size == 4 ? 0 : r & ~mask;  // 32-bit writes zero-extend
            EXPECT_EQ(regs.gpr[reg::rcx], writes_back ? kept | (expected.result & mask) : r);
            EXPECT_EQ(device.peek(apic + 0x400, 8), m);
        } else {
            EXPECT_EQ(device.peek(apic + 0x400, size), writes_back ? expected.result & mask : m & mask);
            EXPECT_EQ(regs.gpr[reg::rcx], r);
        }
        EXPECT_EQ(regs.rflags & STATUS, expected.flags);
    }
}

// INC, DEC, NEG and NOT against the host CPU (CF going in is random: INC/DEC must keep it).
template <class T>
Native native_unary(unsigned op, uint64_t d, bool carry)
{
    T dd = T(d);
    uint64_t cin = carry, ax;
    uint8_t o;
#define NATIVE_UNARY(MNEMONIC)                                                                           \
    asm("bt $0, %[cin]\n\t" MNEMONIC " %[d]\n\tlahf\n\tseto %[o]"                                        \
        : [d] "+r"(dd), "=&a"(ax), [o] "=&q"(o)                                                          \
        : [cin] "r"(cin)                                                                                 \
        : "cc")
    switch (op) {
    case 0: NATIVE_UNARY("inc"); break;
    case 1: NATIVE_UNARY("dec"); break;
    case 2: NATIVE_UNARY("not"); break;
    default: NATIVE_UNARY("neg"); break;
    }
#undef NATIVE_UNARY
    return {uint64_t(dd), ((ax >> 8) & 0xd5) | (uint64_t(o) << 11)};
}

TEST_F(Machine, IncDecNotNegMatchHostCpu)
{
    std::mt19937_64 rng(777);
    const uint64_t specials[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fff'ffff, 0x8000'0000,
                                 0xffff'ffff, 0x7fff'ffff'ffff'ffff, 0x8000'0000'0000'0000, ~0ull, 0x0f, 0x10};
    regs.gpr[reg::rbx] = apic_linear + 0x400;
    for (int round = 0; round < 4000; ++round) {
        const unsigned op = round % 4, size = 1u << ((round / 4) % 4);
        uint64_t m = round % 3 == 0 ? specials[rng() % 16] : rng();
        if (round % 5 == 0) m = specials[rng() % 16] + (rng() % 3) - 1;
        const bool carry = rng() & 1;
        Native expected = size == 1   ? native_unary<uint8_t>(op, m, carry)
                          : size == 2 ? native_unary<uint16_t>(op, m, carry)
                          : size == 4 ? native_unary<uint32_t>(op, m, carry)
                                      : native_unary<uint64_t>(op, m, carry);
        std::vector<uint8_t> bytes;
        if (size == 2) bytes.push_back(0x66);
        if (size == 8) bytes.push_back(0x48);
        bytes.push_back(uint8_t((op < 2 ? 0xfe : 0xf6) | (size == 1 ? 0 : 1)));
        bytes.push_back(uint8_t(0x03 | op << 3));  // /0 INC, /1 DEC (FE/FF); /2 NOT, /3 NEG (F6/F7); [rbx]
        device.poke(apic + 0x400, m, 8);
        const uint64_t flags_in = (0x2 | (rng() & STATUS)) & ~CF;
        regs.rflags = flags_in | (carry ? CF : 0);
        ASSERT_EQ(run(bytes, apic + 0x400).outcome, Outcome::done);
        SCOPED_TRACE(::testing::Message() << "op " << op << " size " << size << std::hex << " m " << m << " cf "
                                          << carry);
        const uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
        EXPECT_EQ(device.peek(apic + 0x400, size), expected.result & mask);
        if (op == 2) EXPECT_EQ(regs.rflags, flags_in | (carry ? CF : 0));  // NOT: unchanged (the host's are BT's)
        else EXPECT_EQ(regs.rflags & STATUS, expected.flags);
    }
}

// CMPXCHG against the host CPU: memory, the whole of RAX (what a 32-bit load or a success does to
// bits 63:32) and the flags.
struct NativeCmpxchg {
    uint64_t memory;
    uint64_t rax;
    uint64_t flags;
};

template <class T>
NativeCmpxchg native_cmpxchg(uint64_t m, uint64_t rax, uint64_t s)
{
    T mem = T(m), ss = T(s);
    uint64_t a = rax, rax_out;
    uint8_t o;
    asm("lock cmpxchg %[s], %[m]\n\tmov %%rax, %[rax_out]\n\tlahf\n\tseto %[o]"
        : [m] "+m"(mem), "+a"(a), [rax_out] "=&r"(rax_out), [o] "=&q"(o)
        : [s] "r"(ss)
        : "cc", "memory");
    return {uint64_t(mem), rax_out, ((a >> 8) & 0xd5) | (uint64_t(o) << 11)};
}

TEST_F(Machine, CmpxchgMatchesHostCpu)
{
    std::mt19937_64 rng(4242);
    regs.gpr[reg::rbx] = apic_linear + 0x400;
    for (int round = 0; round < 4000; ++round) {
        const unsigned size = 1u << (round % 4);
        const uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
        uint64_t m = rng(), rax = rng(), s = rng();
        switch ((round / 4) % 4) {
        case 0: rax = (rax & ~mask) | (m & mask); break;  // equal
        case 1: rax = (rax & ~mask) | ((m + (rng() % 5) - 2) & mask); break;
        case 2: m = (m & ~mask) | ((m >> 1) & mask); break;
        default: break;
        }
        NativeCmpxchg expected = size == 1   ? native_cmpxchg<uint8_t>(m, rax, s)
                                 : size == 2 ? native_cmpxchg<uint16_t>(m, rax, s)
                                 : size == 4 ? native_cmpxchg<uint32_t>(m, rax, s)
                                             : native_cmpxchg<uint64_t>(m, rax, s);
        std::vector<uint8_t> bytes;
        if (size == 2) bytes.push_back(0x66);
        if (size == 8) bytes.push_back(0x48);
        bytes.insert(bytes.end(), {0x0f, uint8_t(size == 1 ? 0xb0 : 0xb1), 0x0b});  // cmpxchg [rbx], cl/cx/ecx/rcx
        device.poke(apic + 0x400, m, 8);
        device.log.clear();
        regs.gpr[reg::rax] = rax;
        regs.gpr[reg::rcx] = s;
        regs.rflags = 0x2 | (rng() & STATUS);
        ASSERT_EQ(run(bytes, apic + 0x400).outcome, Outcome::done);
        SCOPED_TRACE(::testing::Message() << "size " << size << std::hex << " m " << m << " rax " << rax << " s "
                                          << s);
        EXPECT_EQ(device.peek(apic + 0x400, 8), (m & ~mask) | (expected.memory & mask));
        EXPECT_EQ(regs.gpr[reg::rax], expected.rax);
        EXPECT_EQ(regs.gpr[reg::rcx], s);
        EXPECT_EQ(regs.rflags & STATUS, expected.flags);
        ASSERT_EQ(device.log.size(), 2u);  // a read, then a write whatever the outcome
        EXPECT_TRUE(device.log[1].write);
    }
}

// Any byte string, in any mode, with any registers: no crash, no read outside the bytes given
// (each string is its own heap block, so ASan sees overruns), and a failed non-string instruction
// leaves the registers exactly as they were.
TEST_F(Machine, RandomBytesAreHandledSafely)
{
    std::mt19937_64 rng(2024);
    const uint8_t interesting[] = {0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x40, 0x48,
                                   0x4f, 0x41, 0x44, 0x0f, 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0xa0, 0xa1, 0xa2,
                                   0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86,
                                   0x87, 0xf6, 0xf7, 0x21, 0x09, 0x31, 0x39, 0xba, 0xb6, 0xbf, 0xa3, 0x05, 0x04,
                                   0x24, 0x25, 0x80, 0x44, 0x84, 0xc0, 0xff, 0xfe, 0x8f, 0x63, 0xb0,
                                   0xb1, 0x33, 0x35, 0x0b, 0x1b};
    const CpuMode modes[] = {CpuMode::real, CpuMode::protected16, CpuMode::protected32, CpuMode::long64};
    const GuestContext base_guest = guest;
    size_t done = 0, outcomes[16] = {};
    for (int round = 0; round < 100000; ++round) {
        const size_t length = rng() % 18;
        std::vector<uint8_t> bytes(length);
        for (auto& b : bytes) b = rng() % 3 ? interesting[rng() % sizeof interesting] : uint8_t(rng());
        guest = base_guest;
        guest.mode = modes[rng() % 4];
        if (guest.mode != CpuMode::long64 && rng() % 2) guest.paging = {};
        guest.cpl = rng() % 4;
        for (auto& b : guest.segment_base) b = rng() % 4 ? 0 : rng();
        for (auto& r : regs.gpr) {
            switch (rng() % 4) {
            case 0: r = rng(); break;
            case 1: r = apic_linear + (rng() % 4096); break;
            case 2: r = data_linear + (rng() % 0x10000); break;
            default: r = rng() % 8; break;
            }
        }
        regs.rflags = 0x2 | (rng() & (STATUS | DF));
        regs.rip = rng() % 2 ? code_linear : rng();
        const GuestRegisters before = regs;
        device.log.clear();
        // Half the time, fault at the page offset the operand has, so emulation gets past the
        // consistency check (BT's register bit offset aside).
        x86_decode::Instruction insn;
        const bool decoded =
            x86_decode::decode(bytes.data(), bytes.size(), guest.mode, insn) == x86_decode::DecodeStatus::ok;
        const bool string = decoded && insn.form == x86_decode::Form::string;
        uint64_t offset = rng() % 4096;
        if (decoded && insn.memory && rng() % 2) {
            uint64_t ea = uint64_t(insn.displacement) + (insn.rip_relative ? regs.rip + insn.length : 0) +
                          (insn.base >= 0 ? regs.gpr[insn.base] : 0) +
                          (insn.index >= 0 ? regs.gpr[insn.index] * insn.scale : 0);
            uint64_t base =
                guest.mode == CpuMode::long64 && insn.segment < seg::fs ? 0 : guest.segment_base[insn.segment];
            offset = (base + ea) & 0xfff;
        }
        Result r = run(bytes, apic + offset);
        ++outcomes[unsigned(r.outcome)];
        if (r.outcome == Outcome::done) {
            ++done;
        } else if (!string) {
            ASSERT_EQ(std::memcmp(&before, &regs, sizeof regs), 0) << "round " << round;
        }
        ASSERT_LE(r.length, 15);
        ASSERT_LE(r.opcode_length, 3);
        if (round % 16 == 0) {
            uint8_t fetched[15];
            size_t count;
            MmioAccess mmio = device.access();
            emulate_at_rip(guest, regs, apic + (rng() % 4096), mmio);
            fetch_instruction(guest, regs.rip, fetched, count);
            ASSERT_LE(count, 15u);
        }
    }
    // The generator reaches the emulation paths, not just the decoder.
    EXPECT_GT(done, 1000u);
    EXPECT_GT(outcomes[unsigned(Outcome::page_fault)], 100u);
    EXPECT_GT(outcomes[unsigned(Outcome::mmio_failed)], 100u);
}

}  // namespace
