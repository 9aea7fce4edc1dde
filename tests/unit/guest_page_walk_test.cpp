#include "vmx/guest_page_walk.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using namespace guest_paging;

constexpr uint64_t P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, XD = 1ull << 63;

// Guest RAM as a host buffer, 8-byte aligned like the hypervisor's page-aligned RAM.
struct Memory {
    std::vector<uint64_t> words;
    GuestRam ram;
    explicit Memory(uint64_t bytes) : words(bytes / 8)
    {
        ram.host = reinterpret_cast<uint8_t*>(words.data());
        ram.size = bytes;
    }
    void set64(uint64_t gpa, uint64_t v) { std::memcpy(ram.host + gpa, &v, 8); }
    void set32(uint64_t gpa, uint32_t v) { std::memcpy(ram.host + gpa, &v, 4); }
    uint64_t get64(uint64_t gpa) const
    {
        uint64_t v;
        std::memcpy(&v, ram.host + gpa, 8);
        return v;
    }
    uint32_t get32(uint64_t gpa) const
    {
        uint32_t v;
        std::memcpy(&v, ram.host + gpa, 4);
        return v;
    }
};

// 4-level tables: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000, and PML4[511] -> PDPT 0x5000.
struct FourLevel : ::testing::Test {
    Memory mem{16 << 20};
    PagingRegisters regs;
    void SetUp() override
    {
        regs.cr0 = cr0::pe | cr0::pg | cr0::wp;
        regs.cr3 = 0x1000;
        regs.cr4 = cr4::pae;
        regs.efer = efer::lme | efer::lma | efer::nxe;
        mem.set64(0x1000, 0x2000 | P | RW | US);
        mem.set64(0x1000 + 511 * 8, 0x5000 | P | RW);
        mem.set64(0x2000, 0x3000 | P | RW | US);
        mem.set64(0x2008, 0x8000'0000 | PS | P | RW);  // 1 GiB at linear 1 GiB
        mem.set64(0x3000 + 2 * 8, 0x4000 | P | RW | US);
        mem.set64(0x3000 + 3 * 8, 0x4000'0000 | PS | P | RW | US);  // 2 MiB at linear 6 MiB
        mem.set64(0x4000, 0x10000 | P | RW | US);        // 0x400000: user, writable
        mem.set64(0x4008, 0x11000 | P);                  // 0x401000: supervisor, read-only
        mem.set64(0x4010, 0x12000 | P | RW | US | XD);   // 0x402000: no execute
        mem.set64(0x5000 + 511 * 8, 0xc000'0000 | PS | P | RW);
    }
    Translation walk(uint64_t linear, AccessKind kind = AccessKind::read, bool user = false, bool ad = true)
    {
        return translate(regs, mem.ram, linear, kind, user, ad);
    }
};

TEST_F(FourLevel, TranslatesFourKilobytePages)
{
    Translation t = walk(0x400abc);
    ASSERT_EQ(t.status, WalkStatus::ok);
    EXPECT_EQ(t.gpa, 0x10abcu);
    EXPECT_EQ(t.page_size, 4096u);
    EXPECT_EQ(walk(0x401ffc).gpa, 0x11ffcu);
}

TEST_F(FourLevel, TranslatesLargePagesAndHighHalf)
{
    Translation t = walk(0x612345);
    ASSERT_EQ(t.status, WalkStatus::ok);
    EXPECT_EQ(t.gpa, 0x4001'2345u);
    EXPECT_EQ(t.page_size, 2u << 20);
    t = walk(0x4123'4567);
    ASSERT_EQ(t.status, WalkStatus::ok);
    EXPECT_EQ(t.gpa, 0x8123'4567u);
    EXPECT_EQ(t.page_size, 1u << 30);
    t = walk(0xffff'ffff'c000'0123);
    ASSERT_EQ(t.status, WalkStatus::ok);
    EXPECT_EQ(t.gpa, 0xc000'0123u);
}

TEST_F(FourLevel, NotPresentErrorCodes)
{
    Translation t = walk(0x403000);  // PTE 3 is empty
    ASSERT_EQ(t.status, WalkStatus::page_fault);
    EXPECT_EQ(t.error_code, 0u);
    EXPECT_EQ(walk(0x403000, AccessKind::write, true).error_code, pf_error::write | pf_error::user);
    EXPECT_EQ(walk(0x403000, AccessKind::execute).error_code, pf_error::fetch);  // PAE-type paging with NXE
    EXPECT_EQ(walk(0x8000'0000'00).error_code, 0u);                            // PML4E 1 empty
    regs.efer &= ~efer::nxe;
    EXPECT_EQ(walk(0x403000, AccessKind::execute).error_code, 0u);  // no I/D without NX
}

TEST_F(FourLevel, WriteProtection)
{
    Translation t = walk(0x401000, AccessKind::write);
    ASSERT_EQ(t.status, WalkStatus::page_fault);
    EXPECT_EQ(t.error_code, pf_error::present | pf_error::write);
    regs.cr0 &= ~cr0::wp;
    EXPECT_EQ(walk(0x401000, AccessKind::write).status, WalkStatus::ok);  // supervisor ignores R/W
    t = walk(0x401000, AccessKind::write, true);
    ASSERT_EQ(t.status, WalkStatus::page_fault);  // user never does
    EXPECT_EQ(t.error_code, pf_error::present | pf_error::write | pf_error::user);
}

TEST_F(FourLevel, UserAccessToSupervisorPage)
{
    Translation t = walk(0x401000, AccessKind::read, true);
    ASSERT_EQ(t.status, WalkStatus::page_fault);
    EXPECT_EQ(t.error_code, pf_error::present | pf_error::user);
    // U/S must be set at every level: the 1 GiB page's PDPTE lacks it.
    EXPECT_EQ(walk(0x4000'0000, AccessKind::read, true).error_code, pf_error::present | pf_error::user);
    EXPECT_EQ(walk(0x400000, AccessKind::write, true).status, WalkStatus::ok);
    // Supervisor accesses to user pages pass (SMAP/SMEP not modelled).
    EXPECT_EQ(walk(0x400000, AccessKind::execute).status, WalkStatus::ok);
}

TEST_F(FourLevel, ExecuteDisable)
{
    Translation t = walk(0x402000, AccessKind::execute);
    ASSERT_EQ(t.status, WalkStatus::page_fault);
    EXPECT_EQ(t.error_code, pf_error::present | pf_error::fetch);
    EXPECT_EQ(walk(0x402000, AccessKind::execute, true).error_code,
              pf_error::present | pf_error::fetch | pf_error::user);
    EXPECT_EQ(walk(0x402000, AccessKind::read).status, WalkStatus::ok);
    // With EFER.NXE = 0 bit 63 is reserved, whatever the access.
    regs.efer &= ~efer::nxe;
    t = walk(0x402000, AccessKind::read);
    ASSERT_EQ(t.status, WalkStatus::page_fault);
    EXPECT_EQ(t.error_code, pf_error::present | pf_error::reserved);
}

TEST_F(FourLevel, ReservedBits)
{
    regs.maxphyaddr = 36;
    mem.set64(0x4018, (1ull << 40) | 0x13000 | P);
    Translation t = walk(0x403000, AccessKind::write);
    ASSERT_EQ(t.status, WalkStatus::page_fault);
    EXPECT_EQ(t.error_code, pf_error::present | pf_error::reserved | pf_error::write);
    regs.maxphyaddr = 52;
    EXPECT_EQ(walk(0x403000).gpa, (1ull << 40) | 0x13000);
    // Bits 62:52 are ignored in 4-level paging.
    mem.set64(0x4018, (1ull << 62) | 0x13000 | P);
    EXPECT_EQ(walk(0x403000).gpa, 0x13000u);
    // PS in a PML4E, bit 13 in a 2 MiB PDE, bit 20 in a 1 GiB PDPTE.
    mem.set64(0x1000, 0x2000 | P | RW | US | PS);
    EXPECT_EQ(walk(0x400000).error_code, pf_error::present | pf_error::reserved);
    mem.set64(0x1000, 0x2000 | P | RW | US);
    mem.set64(0x3018, 0x4000'0000 | (1 << 13) | PS | P);
    EXPECT_EQ(walk(0x600000).error_code, pf_error::present | pf_error::reserved);
    mem.set64(0x3018, 0x4000'0000 | (1 << 12) | PS | P);  // bit 12 is PAT, not an address bit
    EXPECT_EQ(walk(0x600000).gpa, 0x4000'0000u);
    mem.set64(0x2008, 0x8000'0000 | (1 << 20) | PS | P);
    EXPECT_EQ(walk(0x4000'0000).error_code, pf_error::present | pf_error::reserved);
}

TEST_F(FourLevel, AccessedAndDirtyFlags)
{
    ASSERT_EQ(walk(0x400010, AccessKind::read, false, false).status, WalkStatus::ok);
    EXPECT_EQ(mem.get64(0x4000) & (A | D), 0u);
    ASSERT_EQ(walk(0x400010).status, WalkStatus::ok);
    EXPECT_EQ(mem.get64(0x1000) & (A | D), A);
    EXPECT_EQ(mem.get64(0x2000) & (A | D), A);
    EXPECT_EQ(mem.get64(0x3010) & (A | D), A);
    EXPECT_EQ(mem.get64(0x4000) & (A | D), A);
    ASSERT_EQ(walk(0x400010, AccessKind::write).status, WalkStatus::ok);
    EXPECT_EQ(mem.get64(0x3010) & (A | D), A);  // D only in the final entry
    EXPECT_EQ(mem.get64(0x4000), 0x10000 | P | RW | US | A | D);
    ASSERT_EQ(walk(0x612345, AccessKind::write).status, WalkStatus::ok);
    EXPECT_EQ(mem.get64(0x3018) & (A | D), A | D);
    // A faulting walk changes nothing.
    ASSERT_EQ(walk(0x401000, AccessKind::write).status, WalkStatus::page_fault);
    EXPECT_EQ(mem.get64(0x4008), 0x11000 | P);
}

TEST_F(FourLevel, TablesOutsideRamAndUnsupportedModes)
{
    mem.set64(0x4000, 0x10000 | P | RW | US);
    mem.set64(0x3010, 0x7000'0000 | P | RW | US);  // PT beyond the 16 MiB of RAM
    EXPECT_EQ(walk(0x400000).status, WalkStatus::not_ram);
    regs.cr3 = 16 << 20;
    EXPECT_EQ(walk(0x400000).status, WalkStatus::not_ram);
    regs.cr3 = 0x1000;
    regs.cr4 |= cr4::la57;
    EXPECT_EQ(walk(0x400000).status, WalkStatus::unsupported);
    regs.cr4 = 0;  // LMA without PAE
    EXPECT_EQ(walk(0x400000).status, WalkStatus::unsupported);
}

TEST(PagingOff, LinearIsPhysical)
{
    Memory mem{4096};
    PagingRegisters regs;
    regs.cr0 = cr0::pe;
    Translation t = translate(regs, mem.ram, 0x1'fee0'0030, AccessKind::write, true);
    ASSERT_EQ(t.status, WalkStatus::ok);
    EXPECT_EQ(t.gpa, 0xfee0'0030u);
}

// 32-bit paging: PD 0x1000, PT 0x2000.
struct ThirtyTwoBit : ::testing::Test {
    Memory mem{16 << 20};
    PagingRegisters regs;
    void SetUp() override
    {
        regs.cr0 = cr0::pe | cr0::pg | cr0::wp;
        regs.cr3 = 0x1000;
        regs.cr4 = cr4::pse;
        mem.set32(0x1000 + 1 * 4, 0x2000 | P | RW | US);
        mem.set32(0x2000 + 5 * 4, 0x7000 | P | US);                      // 0x405000: user, read-only
        mem.set32(0x1000 + 2 * 4, 0x00c0'0000 | PS | P | RW);           // 4 MiB at 8 MiB
        mem.set32(0x1000 + 3 * 4, 0x0100'0000 | (0x12u << 13) | PS | P);  // PSE-36: bits 39:32 = 0x12
        mem.set32(0x00c0'0000 + 0x12 * 4, 0x9000 | P);                  // a PT there when PSE is off
    }
    Translation walk(uint64_t linear, AccessKind kind = AccessKind::read, bool user = false)
    {
        return translate(regs, mem.ram, linear, kind, user);
    }
};

TEST_F(ThirtyTwoBit, FourKilobyteAndFourMegabytePages)
{
    Translation t = walk(0x405123);
    ASSERT_EQ(t.status, WalkStatus::ok);
    EXPECT_EQ(t.gpa, 0x7123u);
    t = walk(0x812345);
    ASSERT_EQ(t.status, WalkStatus::ok);
    EXPECT_EQ(t.gpa, 0xc1'2345u);
    EXPECT_EQ(t.page_size, 4u << 20);
    EXPECT_EQ(walk(0xc00010).gpa, 0x12'0100'0010ull);
    regs.maxphyaddr = 36;  // bits 20:17 are reserved then; 0x12 << 13 sets bit 17
    EXPECT_EQ(walk(0xc00010).error_code, pf_error::present | pf_error::reserved);
    regs.maxphyaddr = 40;
    mem.set32(0x100c, 0x0100'0000 | (1u << 21) | PS | P);
    EXPECT_EQ(walk(0xc00010).error_code, pf_error::present | pf_error::reserved);
}

TEST_F(ThirtyTwoBit, PageSizeIgnoredWithoutPse)
{
    regs.cr4 = 0;
    Translation t = walk(0x812345);
    ASSERT_EQ(t.status, WalkStatus::ok);
    EXPECT_EQ(t.gpa, 0x9345u);
}

TEST_F(ThirtyTwoBit, ErrorCodesAndFlags)
{
    EXPECT_EQ(walk(0x405000, AccessKind::write, true).error_code,
              pf_error::present | pf_error::write | pf_error::user);
    EXPECT_EQ(walk(0x406000, AccessKind::execute).error_code, 0u);  // no I/D in 32-bit paging
    EXPECT_EQ(walk(0x1000'0000).error_code, 0u);                    // PDE not present
    ASSERT_EQ(walk(0x405000, AccessKind::read, true).status, WalkStatus::ok);
    EXPECT_EQ(mem.get32(0x1004), 0x2000u | P | RW | US | A);
    EXPECT_EQ(mem.get32(0x2014), 0x7000u | P | US | A);
    ASSERT_EQ(walk(0x800000, AccessKind::write).status, WalkStatus::ok);
    EXPECT_EQ(mem.get32(0x1008), 0x00c0'0000u | PS | P | RW | A | D);
    EXPECT_EQ(walk(0x1'0040'5123).gpa, 0x7123u);  // bits above 31 of the linear address are ignored
}

// PAE paging: PDPTEs at CR3 = 0x1020, PD 0x3000, PT 0x4000.
struct Pae : ::testing::Test {
    Memory mem{16 << 20};
    PagingRegisters regs;
    void SetUp() override
    {
        regs.cr0 = cr0::pe | cr0::pg;
        regs.cr3 = 0x1020;
        regs.cr4 = cr4::pae;
        regs.efer = efer::nxe;
        mem.set64(0x1020, 0x3000 | P);
        mem.set64(0x3000 + 2 * 8, 0x4000 | P | RW | US);
        mem.set64(0x3000 + 3 * 8, 0x8000'0000 | PS | P | RW);
        mem.set64(0x4000, 0x5000 | P | RW | US | XD);
    }
    Translation walk(uint64_t linear, AccessKind kind = AccessKind::read, bool user = false)
    {
        return translate(regs, mem.ram, linear, kind, user);
    }
};

TEST_F(Pae, Translates)
{
    EXPECT_EQ(walk(0x400123).gpa, 0x5123u);
    Translation t = walk(0x6abcde);
    ASSERT_EQ(t.status, WalkStatus::ok);
    EXPECT_EQ(t.gpa, 0x800a'bcdeu);
    EXPECT_EQ(t.page_size, 2u << 20);
    EXPECT_EQ(mem.get64(0x1020), 0x3000 | P);  // PDPTEs have no accessed flag
    EXPECT_EQ(mem.get64(0x3010), 0x4000 | P | RW | US | A);
}

TEST_F(Pae, PdpteFaultsAndRegisters)
{
    EXPECT_EQ(walk(0x4000'0000, AccessKind::write).error_code, pf_error::write);  // PDPTE 1 not present
    mem.set64(0x1020, 0x3000 | P | RW);  // bit 1 is reserved in a PAE PDPTE
    EXPECT_EQ(walk(0x400000).error_code, pf_error::present | pf_error::reserved);
    regs.use_pdpte_registers = true;  // the VMCS copies win over memory
    regs.pdpte[0] = 0x6000 | P;
    mem.set64(0x6000 + 2 * 8, 0x7000 | P | RW);
    mem.set64(0x7000, 0x9000 | P | RW);
    EXPECT_EQ(walk(0x400321).gpa, 0x9321u);
}

TEST_F(Pae, ExecuteDisableAndReservedHighBits)
{
    EXPECT_EQ(walk(0x400000, AccessKind::execute).error_code, pf_error::present | pf_error::fetch);
    regs.efer = 0;
    EXPECT_EQ(walk(0x400000).error_code, pf_error::present | pf_error::reserved);
    mem.set64(0x4000, 0x5000 | P | RW | US);
    EXPECT_EQ(walk(0x400000, AccessKind::execute).status, WalkStatus::ok);
    mem.set64(0x4000, (1ull << 62) | 0x5000 | P);  // 62:MAXPHYADDR are reserved in PAE paging
    EXPECT_EQ(walk(0x400000).error_code, pf_error::present | pf_error::reserved);
}

}  // namespace
