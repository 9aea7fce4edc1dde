#include "drivers/virtual/vlapic.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace vlapic;

namespace {

constexpr uint32_t kId = 0x20, kVer = 0x30, kTpr = 0x80, kPpr = 0xa0, kEoi = 0xb0, kLdr = 0xd0,
                   kDfr = 0xe0, kSvr = 0xf0, kIsr = 0x100, kTmr = 0x180, kIrr = 0x200, kEsr = 0x280,
                   kIcrLo = 0x300, kIcrHi = 0x310, kLvtTimer = 0x320, kLvtLint0 = 0x350,
                   kLvtError = 0x370, kInit = 0x380, kCur = 0x390, kDiv = 0x3e0;
constexpr uint64_t kEn = 1ull << 11, kExtd = 1ull << 10;

struct Recorder {
    std::vector<IpiRequest> ipis;
    std::vector<uint8_t> level_eois;
    static void send(void* c, const IpiRequest& r) { static_cast<Recorder*>(c)->ipis.push_back(r); }
    static void eoi(void* c, uint8_t v) { static_cast<Recorder*>(c)->level_eois.push_back(v); }
};

struct Lapic {
    Recorder rec;
    Vlapic apic;
    explicit Lapic(uint32_t id = 1, uint32_t tsc_per_bus_tick = 1)
        : apic(Config{.apic_id = id, .bsp = true, .tsc_per_bus_tick = tsc_per_bus_tick, .phys_addr_bits = 39},
               Callbacks{&Recorder::send, &Recorder::eoi, &rec})
    {
    }
    uint32_t rd(uint32_t off, uint64_t now = 0) { return uint32_t(apic.read_mmio(off, 4, now)); }
    void wr(uint32_t off, uint32_t v, uint64_t now = 0) { apic.write_mmio(off, 4, v, now); }
    void enable() { wr(kSvr, 0x1ff); }
    uint32_t esr()
    {
        wr(kEsr, 0);
        return rd(kEsr);
    }
    bool irr(uint8_t v) { return (rd(kIrr + 0x10 * (v >> 5)) >> (v & 31)) & 1; }
    bool isr(uint8_t v) { return (rd(kIsr + 0x10 * (v >> 5)) >> (v & 31)) & 1; }
    bool tmr(uint8_t v) { return (rd(kTmr + 0x10 * (v >> 5)) >> (v & 31)) & 1; }
    MsrResult wrmsr(uint32_t msr, uint64_t v, uint64_t now = 0) { return apic.write_msr(msr, v, now); }
    MsrResult rdmsr(uint32_t msr, uint64_t& v, uint64_t now = 0) { return apic.read_msr(msr, now, v); }
    uint64_t msr(uint32_t m)
    {
        uint64_t v = 0;
        EXPECT_EQ(rdmsr(m, v), MsrResult::ok) << std::hex << m;
        return v;
    }
    void to_x2apic() { ASSERT_EQ(wrmsr(kMsrApicBase, kDefaultBase | kEn | kExtd), MsrResult::ok); }
};

TEST(Vlapic, ResetState)
{
    Lapic l;
    EXPECT_EQ(l.apic.mode(), Mode::xapic);
    EXPECT_EQ(l.apic.apic_base(), 0xfee00900u);  // enabled, BSP
    EXPECT_EQ(l.rd(kId), 1u << 24);
    EXPECT_EQ(l.rd(kVer), 0x50014u);
    EXPECT_EQ(l.rd(kSvr), 0xffu);
    EXPECT_EQ(l.rd(kDfr), 0xffffffffu);
    EXPECT_EQ(l.rd(kTpr), 0u);
    EXPECT_EQ(l.rd(kPpr), 0u);
    for (uint32_t off = kLvtTimer; off <= kLvtError; off += 0x10) EXPECT_EQ(l.rd(off), 0x10000u) << std::hex << off;
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    EXPECT_EQ(l.apic.next_deadline(), kNoDeadline);
    EXPECT_TRUE(l.apic.mmio_decodes(0xfee00000));
    EXPECT_TRUE(l.apic.mmio_decodes(0xfee00fff));
    EXPECT_FALSE(l.apic.mmio_decodes(0xfee01000));
}

TEST(Vlapic, SoftwareDisabledDropsFixedInterrupts)
{
    Lapic l;
    l.apic.accept(0x30);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    l.enable();
    l.apic.accept(0x30);
    EXPECT_TRUE(l.irr(0x30));
    EXPECT_EQ(l.rd(kIrr + 0x10), 1u << 16);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x30);
    // Pending interrupts stay deliverable after a software disable; new ones are dropped.
    l.wr(kSvr, 0xff);
    l.apic.accept(0x40);
    EXPECT_FALSE(l.irr(0x40));
    EXPECT_EQ(l.apic.highest_deliverable(), 0x30);
}

TEST(Vlapic, TprMasksDeliveryByPriorityClass)
{
    Lapic l;
    l.enable();
    l.apic.accept(0x31);
    l.wr(kTpr, 0x30);
    EXPECT_EQ(l.rd(kPpr), 0x30u);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);  // same class as the TPR
    l.wr(kTpr, 0x2f);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x31);
    l.wr(kTpr, 0x1ff);  // bits 31:8 reserved
    EXPECT_EQ(l.rd(kTpr), 0xffu);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    l.apic.set_tpr(0);
    EXPECT_EQ(l.apic.tpr(), 0);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x31);
}

TEST(Vlapic, PprFollowsInServiceVector)
{
    Lapic l;
    l.enable();
    l.apic.accept(0x50);
    ASSERT_EQ(l.apic.highest_deliverable(), 0x50);
    l.apic.acknowledge(0x50);
    EXPECT_FALSE(l.irr(0x50));
    EXPECT_TRUE(l.isr(0x50));
    EXPECT_EQ(l.rd(kPpr), 0x50u);
    l.apic.accept(0x5f);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);  // same class as the one in service
    l.apic.accept(0x60);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x60);
    l.wr(kTpr, 0x45);  // ISR class wins: PPR[3:0] = 0
    EXPECT_EQ(l.rd(kPpr), 0x50u);
    l.wr(kTpr, 0x73);  // TPR class wins: PPR = TPR
    EXPECT_EQ(l.rd(kPpr), 0x73u);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    EXPECT_EQ(l.apic.ppr(), 0x73);
}

TEST(Vlapic, EoiClearsHighestInService)
{
    Lapic l;
    l.enable();
    l.apic.accept(0x40);
    l.apic.acknowledge(0x40);
    l.apic.accept(0x80);
    ASSERT_EQ(l.apic.highest_deliverable(), 0x80);
    l.apic.acknowledge(0x80);
    l.wr(kEoi, 0);
    EXPECT_FALSE(l.isr(0x80));
    EXPECT_TRUE(l.isr(0x40));
    EXPECT_EQ(l.rd(kPpr), 0x40u);
    l.wr(kEoi, 0x1234);  // any value in xAPIC mode
    EXPECT_FALSE(l.isr(0x40));
    EXPECT_EQ(l.rd(kPpr), 0u);
    l.wr(kEoi, 0);  // nothing in service: no effect
    EXPECT_TRUE(l.rec.level_eois.empty());
    EXPECT_EQ(l.rd(kEoi), 0u);  // write-only: reads 0
}

TEST(Vlapic, LevelTriggeredEoiIsReported)
{
    Lapic l;
    l.enable();
    l.apic.accept(0x61, true);
    l.apic.accept(0x62, false);
    EXPECT_TRUE(l.tmr(0x61));
    EXPECT_FALSE(l.tmr(0x62));
    l.apic.acknowledge(0x62);
    l.wr(kEoi, 0);
    EXPECT_TRUE(l.rec.level_eois.empty());
    l.apic.acknowledge(0x61);
    l.wr(kEoi, 0);
    EXPECT_EQ(l.rec.level_eois, std::vector<uint8_t>{0x61});
}

TEST(Vlapic, IllegalVectorAndEsrWriteThenRead)
{
    Lapic l;
    l.enable();
    l.apic.accept(15);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    EXPECT_EQ(l.rd(kEsr), 0u);  // not latched until the ESR is written
    l.wr(kEsr, 0);
    EXPECT_EQ(l.rd(kEsr), kEsrReceiveIllegalVector);
    EXPECT_EQ(l.rd(kEsr), kEsrReceiveIllegalVector);
    l.wr(kEsr, 0);
    EXPECT_EQ(l.rd(kEsr), 0u);
    // With the error LVT unmasked, an error raises its vector.
    l.wr(kLvtError, 0xfe);
    l.apic.accept(3);
    EXPECT_EQ(l.apic.highest_deliverable(), 0xfe);
    EXPECT_EQ(l.esr(), kEsrReceiveIllegalVector);
}

TEST(Vlapic, ReservedRegisterAccessSetsIllegalRegisterAddress)
{
    Lapic l;
    l.enable();
    EXPECT_EQ(l.rd(0x40), 0u);
    EXPECT_EQ(l.esr(), kEsrIllegalRegisterAddress);
    l.wr(0x3f0, 0x40);  // SELF IPI exists only in x2APIC mode
    EXPECT_FALSE(l.irr(0x40));
    EXPECT_EQ(l.esr(), kEsrIllegalRegisterAddress);
    EXPECT_EQ(l.rd(0x2f0), 0u);  // no CMCI LVT (max LVT 5)
    EXPECT_EQ(l.esr(), kEsrIllegalRegisterAddress);
}

TEST(Vlapic, ReadOnlyRegistersIgnoreWritesInXapicMode)
{
    Lapic l;
    l.wr(kId, 0x05000000);
    l.wr(kVer, 0);
    l.wr(kPpr, 0xff);
    l.wr(kIrr + 0x10, 0xffffffff);
    EXPECT_EQ(l.rd(kId), 1u << 24);
    EXPECT_EQ(l.rd(kVer), kVersion);
    EXPECT_EQ(l.rd(kPpr), 0u);
    EXPECT_EQ(l.rd(kIrr + 0x10), 0u);
    EXPECT_EQ(l.esr(), 0u);
}

TEST(Vlapic, LogicalDestinationRegisters)
{
    Lapic l;
    l.wr(kLdr, 0x03ffffff);
    EXPECT_EQ(l.rd(kLdr), 0x03000000u);
    EXPECT_TRUE(l.apic.matches_destination(0x01, true));  // flat: any common bit
    EXPECT_TRUE(l.apic.matches_destination(0x02, true));
    EXPECT_FALSE(l.apic.matches_destination(0x04, true));
    EXPECT_TRUE(l.apic.matches_destination(0xff, true));
    l.wr(kDfr, 0);  // cluster model; bits 27:0 read as 1
    EXPECT_EQ(l.rd(kDfr), 0x0fffffffu);
    l.wr(kLdr, 0x21000000);
    EXPECT_TRUE(l.apic.matches_destination(0x21, true));
    EXPECT_TRUE(l.apic.matches_destination(0x23, true));
    EXPECT_FALSE(l.apic.matches_destination(0x31, true));
    EXPECT_FALSE(l.apic.matches_destination(0x22, true));
    EXPECT_TRUE(l.apic.matches_destination(1, false));
    EXPECT_FALSE(l.apic.matches_destination(2, false));
    EXPECT_TRUE(l.apic.matches_destination(0xff, false));
}

TEST(Vlapic, SvrDisableMasksLvtsAndKeepsThemMasked)
{
    Lapic l;
    l.enable();
    l.wr(kLvtTimer, 0x20);
    l.wr(kLvtLint0, 0x700);  // ExtINT, unmasked
    EXPECT_EQ(l.rd(kLvtTimer), 0x20u);
    l.wr(kSvr, 0xff);
    EXPECT_EQ(l.rd(kLvtTimer), 0x10020u);
    EXPECT_EQ(l.rd(kLvtLint0), 0x10700u);
    l.wr(kLvtTimer, 0x21);  // mask cannot be cleared while disabled
    EXPECT_EQ(l.rd(kLvtTimer), 0x10021u);
    l.enable();
    EXPECT_EQ(l.rd(kLvtTimer), 0x10021u);  // stays masked until software unmasks it
    l.wr(kLvtTimer, 0x21);
    EXPECT_EQ(l.rd(kLvtTimer), 0x21u);
}

TEST(Vlapic, LvtReservedAndReadOnlyBitsAreDropped)
{
    Lapic l;
    l.enable();
    l.wr(kLvtTimer, 0xfff8ffff);
    EXPECT_EQ(l.rd(kLvtTimer), 0x000700ffu & 0xfff8ffff);
    l.wr(kLvtLint0, 0xffffffff);
    EXPECT_EQ(l.rd(kLvtLint0), 0x0001a7ffu);
    l.wr(kLvtError, 0xffffffff);
    EXPECT_EQ(l.rd(kLvtError), 0x000100ffu);
    l.wr(kDiv, 0xffffffff);
    EXPECT_EQ(l.rd(kDiv), 0xbu);
    l.wr(kSvr, 0xffffffff);
    EXPECT_EQ(l.rd(kSvr), 0x3ffu);
}

TEST(Vlapic, IllegalLocalVectors)
{
    Lapic l;
    l.enable();
    l.wr(kDiv, 0xb);
    l.wr(kLvtTimer, 0x05);  // timer vector below 16
    l.wr(kInit, 1, 0);
    l.apic.update(1);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    EXPECT_EQ(l.esr(), kEsrReceiveIllegalVector);
    l.wr(kLvtError, 0x03);  // an illegal error vector only records itself
    l.apic.accept(1);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    EXPECT_EQ(l.esr(), kEsrReceiveIllegalVector);
}

TEST(Vlapic, XapicToX2apicKeepsRegisterState)
{
    Lapic l(5);
    l.enable();
    l.wr(kTpr, 0x20);
    l.wr(kLvtTimer, 0x33);
    l.apic.accept(0x70);
    l.to_x2apic();
    EXPECT_EQ(l.msr(0x808), 0x20u);
    EXPECT_EQ(l.msr(0x80f), 0x1ffu);
    EXPECT_EQ(l.msr(0x832), 0x33u);
    EXPECT_EQ(l.msr(0x802), 5u);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x70);
}

// ---- timer ------------------------------------------------------------------------------------

TEST(Vlapic, OneShotExpiresAtTheExactTick)
{
    Lapic l;
    l.enable();
    l.wr(kDiv, 0xb);  // divide by 1
    l.wr(kLvtTimer, 0x40);
    l.wr(kInit, 100, 1000);
    EXPECT_EQ(l.rd(kInit, 1000), 100u);
    EXPECT_EQ(l.rd(kCur, 1000), 100u);
    EXPECT_EQ(l.rd(kCur, 1050), 50u);
    EXPECT_EQ(l.apic.next_deadline(), 1100u);
    l.apic.update(1099);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    EXPECT_EQ(l.apic.current_count(1099), 1u);
    l.apic.update(1100);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x40);
    EXPECT_EQ(l.rd(kCur, 1100), 0u);
    EXPECT_EQ(l.apic.next_deadline(), kNoDeadline);
    EXPECT_EQ(l.rd(kInit, 2000), 100u);
    // Expires only once.
    l.apic.acknowledge(0x40);
    l.wr(kEoi, 0, 2000);
    l.apic.update(5000);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
}

TEST(Vlapic, AccessProcessesAnOverdueTimer)
{
    Lapic l;
    l.enable();
    l.wr(kDiv, 0xb);
    l.wr(kLvtTimer, 0x40);
    l.wr(kInit, 10, 0);
    // No update() call: reading the IRR at t=10 already shows the interrupt.
    EXPECT_TRUE(l.irr(0x40) == false);
    EXPECT_EQ((l.rd(kIrr + 0x20, 10) >> 0) & 1, 1u);
}

TEST(Vlapic, PeriodicReloadsWithoutDrift)
{
    Lapic l(1, 3);  // 3 TSC ticks per bus tick
    l.enable();
    l.wr(kDiv, 0);  // divide by 2: one count every 6 TSC ticks
    l.wr(kLvtTimer, (1u << 17) | 0x41);
    l.wr(kInit, 10, 0);
    EXPECT_EQ(l.apic.next_deadline(), 60u);
    EXPECT_EQ(l.rd(kCur, 5), 10u);
    EXPECT_EQ(l.rd(kCur, 6), 9u);
    EXPECT_EQ(l.rd(kCur, 59), 1u);
    l.apic.update(60);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x41);
    EXPECT_EQ(l.rd(kCur, 60), 10u);
    EXPECT_EQ(l.apic.next_deadline(), 120u);
    l.apic.acknowledge(0x41);
    l.wr(kEoi, 0, 70);
    l.apic.update(125);  // late: the next period still starts at 120
    EXPECT_EQ(l.apic.highest_deliverable(), 0x41);
    EXPECT_EQ(l.apic.next_deadline(), 180u);
    EXPECT_EQ(l.rd(kCur, 125), 10u);
    EXPECT_EQ(l.rd(kCur, 126), 9u);
    l.apic.acknowledge(0x41);
    l.wr(kEoi, 0, 130);
    l.apic.update(400);  // several periods missed: one interrupt, phase kept
    EXPECT_EQ(l.apic.highest_deliverable(), 0x41);
    EXPECT_EQ(l.apic.next_deadline(), 420u);
    l.wr(kInit, 0, 401);  // stops the timer
    EXPECT_EQ(l.apic.next_deadline(), kNoDeadline);
    EXPECT_EQ(l.rd(kCur, 402), 0u);
}

TEST(Vlapic, DivideConfiguration)
{
    const struct {
        uint32_t code, divisor;
    } table[] = {{0x0, 2}, {0x1, 4}, {0x2, 8}, {0x3, 16}, {0x8, 32}, {0x9, 64}, {0xa, 128}, {0xb, 1}};
    for (auto t : table) {
        Lapic l(1, 5);
        l.enable();
        l.wr(kDiv, t.code);
        l.wr(kLvtTimer, 0x40);
        l.wr(kInit, 3, 1000);
        EXPECT_EQ(l.apic.next_deadline(), 1000u + 3 * 5 * t.divisor) << t.code;
        EXPECT_EQ(l.rd(kCur, 1000 + 5 * t.divisor - 1), 3u);
        EXPECT_EQ(l.rd(kCur, 1000 + 5 * t.divisor), 2u);
    }
}

TEST(Vlapic, DivideChangeKeepsTheCount)
{
    Lapic l;
    l.enable();
    l.wr(kDiv, 0xb);
    l.wr(kLvtTimer, 0x40);
    l.wr(kInit, 100, 0);
    EXPECT_EQ(l.rd(kCur, 40), 60u);
    l.wr(kDiv, 0, 40);  // now divide by 2
    EXPECT_EQ(l.rd(kCur, 40), 60u);
    EXPECT_EQ(l.rd(kCur, 60), 50u);
    EXPECT_EQ(l.apic.next_deadline(), 160u);
}

TEST(Vlapic, MaskedTimerExpiresSilently)
{
    Lapic l;
    l.enable();
    l.wr(kDiv, 0xb);
    l.wr(kLvtTimer, 0x10040);
    l.wr(kInit, 10, 0);
    EXPECT_EQ(l.apic.next_deadline(), kNoDeadline);
    l.apic.update(20);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    l.wr(kLvtTimer, 0x40, 30);  // unmasking after the expiry does not raise it
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    EXPECT_EQ(l.rd(kCur, 30), 0u);
    // Unmasking before the expiry: it fires.
    l.wr(kLvtTimer, 0x10040, 30);
    l.wr(kInit, 10, 30);
    l.wr(kLvtTimer, 0x40, 35);
    EXPECT_EQ(l.apic.next_deadline(), 40u);
    l.apic.update(40);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x40);
}

TEST(Vlapic, TscDeadlineMode)
{
    Lapic l;
    l.enable();
    uint64_t v = 0;
    // Outside TSC-deadline mode the MSR reads 0 and ignores writes.
    EXPECT_EQ(l.wrmsr(kMsrTscDeadline, 500, 100), MsrResult::ok);
    EXPECT_EQ(l.msr(kMsrTscDeadline), 0u);
    EXPECT_EQ(l.apic.next_deadline(), kNoDeadline);

    l.wr(kLvtTimer, (2u << 17) | 0x42, 100);
    l.wrmsr(kMsrTscDeadline, 500, 100);
    EXPECT_EQ(l.rdmsr(kMsrTscDeadline, v, 100), MsrResult::ok);
    EXPECT_EQ(v, 500u);
    EXPECT_EQ(l.apic.next_deadline(), 500u);
    l.wr(kInit, 1000, 200);  // ignored in TSC-deadline mode
    EXPECT_EQ(l.rd(kInit, 200), 0u);
    EXPECT_EQ(l.rd(kCur, 200), 0u);
    l.apic.update(499);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    l.apic.update(500);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x42);
    EXPECT_EQ(l.apic.next_deadline(), kNoDeadline);
    EXPECT_EQ(l.rdmsr(kMsrTscDeadline, v, 501), MsrResult::ok);
    EXPECT_EQ(v, 0u);  // disarmed after firing
    l.apic.acknowledge(0x42);
    l.wr(kEoi, 0, 502);

    // Writing 0 disarms.
    l.wrmsr(kMsrTscDeadline, 900, 600);
    l.wrmsr(kMsrTscDeadline, 0, 601);
    l.apic.update(1000);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    // A deadline in the past fires at once.
    l.wrmsr(kMsrTscDeadline, 50, 1000);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x42);
    l.apic.acknowledge(0x42);
    l.wr(kEoi, 0, 1001);

    // Leaving TSC-deadline mode disarms.
    l.wrmsr(kMsrTscDeadline, 5000, 1002);
    l.wr(kLvtTimer, 0x42, 1003);
    l.wr(kLvtTimer, (2u << 17) | 0x42, 1004);
    EXPECT_EQ(l.msr(kMsrTscDeadline), 0u);
    l.apic.update(6000);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
}

// IA32_TSC_DEADLINE is a guest TSC value: after the guest moved its TSC (offset), a deadline
// fires when the moved TSC reaches it, and the model reports it in host time.
TEST(Vlapic, TscDeadlineFollowsTheGuestTscOffset)
{
    Lapic l;
    l.enable();
    l.wr(kLvtTimer, (2u << 17) | 0x42, 100);
    // Guest TSC = host - 1000 (it wrote a smaller TSC): deadline 300 is host 1300.
    l.apic.set_tsc_offset(uint64_t(0) - 1000, 1100);
    l.wrmsr(kMsrTscDeadline, 300, 1200);
    EXPECT_EQ(l.msr(kMsrTscDeadline), 300u);
    EXPECT_EQ(l.apic.next_deadline(), 1300u);
    l.apic.update(1299);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    l.apic.update(1300);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x42);
    l.apic.acknowledge(0x42);
    l.wr(kEoi, 0, 1301);

    // Guest TSC just below 2^64: 2^64 - 10 is still ahead; deadline 1 (what "now + a little"
    // gives past the wrap) is numerically behind it and fires at once.
    uint64_t guest_now = ~0ull - 99;
    l.apic.set_tsc_offset(guest_now - 2000, 2000);
    l.wrmsr(kMsrTscDeadline, ~0ull - 9, 2000);
    EXPECT_EQ(l.apic.next_deadline(), 2090u);
    l.wrmsr(kMsrTscDeadline, 1, 2001);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x42);
    l.apic.acknowledge(0x42);
    l.wr(kEoi, 0, 2002);

    // Moving the TSC while armed: the deadline keeps its guest value.
    l.apic.set_tsc_offset(0, 3000);
    l.wrmsr(kMsrTscDeadline, 5000, 3000);
    l.apic.set_tsc_offset(1000, 3100);  // guest TSC jumps from 3100 to 4100
    EXPECT_EQ(l.apic.next_deadline(), 4000u);
    l.apic.set_tsc_offset(2000, 3200);  // guest TSC 5200: reached
    EXPECT_EQ(l.apic.highest_deliverable(), 0x42);
    uint64_t v = 1;
    EXPECT_EQ(l.rdmsr(kMsrTscDeadline, v, 3201), MsrResult::ok);
    EXPECT_EQ(v, 0u);
    l.apic.acknowledge(0x42);
    l.wr(kEoi, 0, 3202);

    // Guest TSC 0, deadline 2^64 - 1: beyond the host TSC's own range, so never.
    l.apic.set_tsc_offset(uint64_t(0) - 4000, 4000);
    l.wrmsr(kMsrTscDeadline, ~0ull, 4000);
    EXPECT_EQ(l.apic.next_deadline(), kNoDeadline);
    l.apic.update(~0ull - 1);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
}

TEST(Vlapic, SwitchingOneShotToPeriodicKeepsCounting)
{
    Lapic l;
    l.enable();
    l.wr(kDiv, 0xb);
    l.wr(kLvtTimer, 0x40);
    l.wr(kInit, 100, 0);
    l.wr(kLvtTimer, (1u << 17) | 0x40, 50);
    EXPECT_EQ(l.rd(kCur, 50), 50u);
    l.apic.update(100);
    EXPECT_EQ(l.apic.next_deadline(), 200u);
}

// ---- IPIs -------------------------------------------------------------------------------------

TEST(Vlapic, SelfIpiThroughIcr)
{
    Lapic l;
    l.enable();
    l.wr(kIcrLo, (1u << 18) | 0x41);  // shorthand self
    EXPECT_TRUE(l.irr(0x41));
    EXPECT_EQ(l.rd(kIcrLo) & (1u << 12), 0u);  // delivery status: idle
    EXPECT_EQ(l.rd(kIcrLo), (1u << 18) | 0x41);
    l.wr(kIcrHi, 0x01ffffff);  // destination == own ID
    EXPECT_EQ(l.rd(kIcrHi), 0x01000000u);
    l.wr(kIcrLo, 0x42);
    EXPECT_TRUE(l.irr(0x42));
    EXPECT_TRUE(l.rec.ipis.empty());
}

TEST(Vlapic, OtherIpisGoToTheRouter)
{
    Lapic l;
    l.enable();
    l.wr(kIcrHi, 0x02000000);
    l.wr(kIcrLo, 0x4000 | 0x43);
    ASSERT_EQ(l.rec.ipis.size(), 1u);
    IpiRequest r = l.rec.ipis[0];
    EXPECT_EQ(r.vector, 0x43);
    EXPECT_EQ(r.delivery_mode, DeliveryMode::fixed);
    EXPECT_EQ(r.destination, 2u);
    EXPECT_EQ(r.shorthand, Shorthand::none);
    EXPECT_EQ(r.dest_mode, DestMode::physical);
    EXPECT_TRUE(r.level);
    EXPECT_EQ(r.trigger, Trigger::edge);
    EXPECT_FALSE(r.x2apic);
    EXPECT_FALSE(l.irr(0x43));

    // INIT level de-assert, SIPI, NMI to self, broadcast, logical: all reported as written.
    l.wr(kIcrLo, (5u << 8) | (1u << 15));
    l.wr(kIcrLo, (6u << 8) | 0x9a);
    l.wr(kIcrHi, 0x01000000);
    l.wr(kIcrLo, (4u << 8));
    l.wr(kIcrLo, (2u << 18) | 0x44);
    l.wr(kIcrLo, (1u << 11) | 0x45);
    ASSERT_EQ(l.rec.ipis.size(), 6u);
    EXPECT_EQ(l.rec.ipis[1].delivery_mode, DeliveryMode::init);
    EXPECT_FALSE(l.rec.ipis[1].level);
    EXPECT_EQ(l.rec.ipis[1].trigger, Trigger::level);
    EXPECT_EQ(l.rec.ipis[2].delivery_mode, DeliveryMode::startup);
    EXPECT_EQ(l.rec.ipis[2].vector, 0x9a);
    EXPECT_EQ(l.rec.ipis[3].delivery_mode, DeliveryMode::nmi);
    EXPECT_EQ(l.rec.ipis[3].destination, 1u);
    EXPECT_EQ(l.rec.ipis[4].shorthand, Shorthand::all_including_self);
    EXPECT_EQ(l.rec.ipis[5].dest_mode, DestMode::logical);
    EXPECT_EQ(l.rec.ipis[5].destination, 1u);
}

TEST(Vlapic, SendingAnIllegalVectorFails)
{
    Lapic l;
    l.enable();
    l.wr(kIcrHi, 0x02000000);
    l.wr(kIcrLo, 0x05);
    l.wr(kIcrLo, (1u << 18) | 0x0f);
    EXPECT_TRUE(l.rec.ipis.empty());
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    EXPECT_EQ(l.esr(), kEsrSendIllegalVector);
    l.wr(kIcrLo, (4u << 8) | 0x02);  // NMI: the vector is ignored
    EXPECT_EQ(l.rec.ipis.size(), 1u);
}

// ---- IA32_APIC_BASE and x2APIC ----------------------------------------------------------------

TEST(Vlapic, ApicBaseTransitions)
{
    Lapic l;
    const uint64_t base = kDefaultBase;
    EXPECT_EQ(l.wrmsr(kMsrApicBase, base | kExtd), MsrResult::gp);           // invalid state
    EXPECT_EQ(l.wrmsr(kMsrApicBase, base | kEn | kExtd | 1), MsrResult::gp); // reserved bit 0
    EXPECT_EQ(l.wrmsr(kMsrApicBase, base | kEn | (1ull << 9)), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(kMsrApicBase, (1ull << 39) | base | kEn), MsrResult::gp);  // above MAXPHYADDR
    EXPECT_EQ(l.wrmsr(kMsrApicBase, base | kEn | kExtd), MsrResult::ok);
    EXPECT_EQ(l.apic.mode(), Mode::x2apic);
    EXPECT_EQ(l.wrmsr(kMsrApicBase, base | kEn), MsrResult::gp);  // x2APIC -> xAPIC
    EXPECT_EQ(l.apic.mode(), Mode::x2apic);
    EXPECT_EQ(l.wrmsr(kMsrApicBase, base), MsrResult::ok);  // x2APIC -> disabled
    EXPECT_EQ(l.apic.mode(), Mode::disabled);
    EXPECT_EQ(l.wrmsr(kMsrApicBase, base | kEn | kExtd), MsrResult::gp);  // disabled -> x2APIC
    EXPECT_EQ(l.wrmsr(kMsrApicBase, base | kEn), MsrResult::ok);
    EXPECT_EQ(l.apic.mode(), Mode::xapic);
    EXPECT_EQ(l.msr(kMsrApicBase), base | kEn | (1ull << 8));  // BSP kept
    // BSP is read-only; moving the base is recorded.
    EXPECT_EQ(l.wrmsr(kMsrApicBase, 0xfec00000 | kEn), MsrResult::ok);
    EXPECT_EQ(l.msr(kMsrApicBase), 0xfec00000 | kEn | (1ull << 8));
    EXPECT_EQ(l.apic.mmio_base(), 0xfec00000u);
    EXPECT_TRUE(l.apic.mmio_decodes(0xfec00020));
    EXPECT_FALSE(l.apic.mmio_decodes(0xfee00020));
}

TEST(Vlapic, DisablingResetsRegistersButKeepsTheId)
{
    Lapic l(3);
    l.enable();
    l.wr(kTpr, 0x20);
    l.wr(kLvtTimer, 0x40);
    l.apic.accept(0x50);
    l.wrmsr(kMsrApicBase, kDefaultBase);
    EXPECT_FALSE(l.apic.mmio_decodes(kDefaultBase));
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
    l.apic.accept(0x60);  // a disabled APIC accepts nothing
    l.wrmsr(kMsrApicBase, kDefaultBase | kEn);
    EXPECT_EQ(l.rd(kTpr), 0u);
    EXPECT_EQ(l.rd(kSvr), 0xffu);
    EXPECT_EQ(l.rd(kLvtTimer), 0x10000u);
    EXPECT_EQ(l.rd(kId), 3u << 24);
    EXPECT_EQ(l.apic.highest_deliverable(), -1);
}

TEST(Vlapic, X2apicMsrsOnlyInX2apicMode)
{
    Lapic l(0x123);
    uint64_t v = 0;
    EXPECT_EQ(l.rdmsr(0x802, v), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x808, 0), MsrResult::gp);
    l.to_x2apic();
    EXPECT_FALSE(l.apic.mmio_decodes(kDefaultBase));  // MMIO not decoded in x2APIC mode
    EXPECT_EQ(l.msr(0x802), 0x123u);                   // 32-bit ID
    EXPECT_EQ(l.apic.id(), 0x123u);
    EXPECT_EQ(l.msr(0x803), kVersion);
    EXPECT_EQ(l.msr(0x80d), (0x12u << 16) | (1u << 3));  // logical x2APIC ID
    EXPECT_EQ(l.msr(0x80f), 0xffu);
}

TEST(Vlapic, X2apicGeneralProtectionRules)
{
    Lapic l(0x123);
    l.to_x2apic();
    uint64_t v = 0;
    // Unlisted registers: APR, RRD, DFR, ICR high, CMCI, beyond SELF IPI.
    for (uint32_t msr : {0x800u, 0x801u, 0x809u, 0x80cu, 0x80eu, 0x831u, 0x82fu, 0x83au, 0x840u, 0x8ffu, 0xbffu}) {
        EXPECT_EQ(l.rdmsr(msr, v), MsrResult::gp) << std::hex << msr;
        EXPECT_EQ(l.wrmsr(msr, 0), MsrResult::gp) << std::hex << msr;
    }
    // Write-only registers cannot be read.
    EXPECT_EQ(l.rdmsr(0x80b, v), MsrResult::gp);
    EXPECT_EQ(l.rdmsr(0x83f, v), MsrResult::gp);
    // Read-only registers cannot be written.
    for (uint32_t msr : {0x802u, 0x803u, 0x80au, 0x80du, 0x810u, 0x818u, 0x820u, 0x827u, 0x839u})
        EXPECT_EQ(l.wrmsr(msr, 0), MsrResult::gp) << std::hex << msr;
    // Reserved bits.
    EXPECT_EQ(l.wrmsr(0x808, 0x100), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x808, 1ull << 32), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x808, 0x40), MsrResult::ok);
    EXPECT_EQ(l.msr(0x808), 0x40u);
    EXPECT_EQ(l.wrmsr(0x80b, 1), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x80b, 0), MsrResult::ok);
    EXPECT_EQ(l.wrmsr(0x828, 1), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x828, 0), MsrResult::ok);
    EXPECT_EQ(l.wrmsr(0x80f, 1u << 12), MsrResult::gp);  // no EOI-broadcast suppression
    EXPECT_EQ(l.wrmsr(0x80f, 0x1ff), MsrResult::ok);
    EXPECT_EQ(l.wrmsr(0x83e, 4), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x83e, 0xb), MsrResult::ok);
    EXPECT_EQ(l.wrmsr(0x832, 3u << 17), MsrResult::gp);  // reserved timer mode
    EXPECT_EQ(l.wrmsr(0x832, 1u << 19), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x832, 0x20), MsrResult::ok);
    EXPECT_EQ(l.wrmsr(0x835, (1u << 15) | (1u << 13) | 0x700), MsrResult::ok);
    EXPECT_EQ(l.wrmsr(0x837, 0x700), MsrResult::gp);  // error LVT has no delivery mode
    EXPECT_EQ(l.wrmsr(0x830, (1ull << 12) | 0x40), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x830, (1ull << 13) | 0x40), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x830, (1ull << 16) | 0x40), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x830, (1ull << 20) | 0x40), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x83f, 0x100), MsrResult::gp);
    EXPECT_EQ(l.wrmsr(0x838, 1ull << 32), MsrResult::gp);
    EXPECT_TRUE(l.rec.ipis.empty());
}

TEST(Vlapic, X2apicIcrAndSelfIpi)
{
    Lapic l(0x123);
    l.to_x2apic();
    l.wrmsr(0x80f, 0x1ff);
    // ICR is one 64-bit MSR with a 32-bit destination.
    EXPECT_EQ(l.wrmsr(0x830, (0x123ull << 32) | 0x51), MsrResult::ok);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x51);
    EXPECT_EQ(l.msr(0x830), (0x123ull << 32) | 0x51);
    EXPECT_EQ(l.wrmsr(0x830, (0x456ull << 32) | (1u << 11) | 0x52), MsrResult::ok);
    ASSERT_EQ(l.rec.ipis.size(), 1u);
    EXPECT_TRUE(l.rec.ipis[0].x2apic);
    EXPECT_EQ(l.rec.ipis[0].destination, 0x456u);
    EXPECT_EQ(l.rec.ipis[0].dest_mode, DestMode::logical);
    // SELF IPI MSR.
    EXPECT_EQ(l.wrmsr(0x83f, 0x61), MsrResult::ok);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x61);
    EXPECT_EQ((l.msr(0x823) >> 1) & 1, 1u);  // IRR bit 0x61
    EXPECT_EQ(l.wrmsr(0x83f, 0x0e), MsrResult::ok);
    l.wrmsr(0x828, 0);
    EXPECT_EQ(l.msr(0x828), kEsrSendIllegalVector);
    // EOI through the MSR clears the highest in-service vector.
    l.apic.acknowledge(0x61);
    EXPECT_EQ(l.msr(0x80a), 0x60u);
    l.wrmsr(0x80b, 0);
    EXPECT_EQ(l.msr(0x80a), 0u);
}

TEST(Vlapic, X2apicLogicalDestination)
{
    Lapic l(0x123);
    l.to_x2apic();
    EXPECT_TRUE(l.apic.matches_destination((0x12u << 16) | 0x8, true));
    EXPECT_TRUE(l.apic.matches_destination((0x12u << 16) | 0xff0f, true));
    EXPECT_FALSE(l.apic.matches_destination((0x12u << 16) | 0x4, true));
    EXPECT_FALSE(l.apic.matches_destination((0x13u << 16) | 0x8, true));
    EXPECT_TRUE(l.apic.matches_destination(0xffffffff, true));
    EXPECT_TRUE(l.apic.matches_destination(0x123, false));
    EXPECT_FALSE(l.apic.matches_destination(0x23, false));
}

TEST(Vlapic, X2apicTimerThroughMsrs)
{
    Lapic l(0, 2);
    l.to_x2apic();
    l.wrmsr(0x80f, 0x1ff);
    l.wrmsr(0x83e, 0xb);
    l.wrmsr(0x832, 0x30);
    l.wrmsr(0x838, 50, 100);
    EXPECT_EQ(l.apic.next_deadline(), 200u);
    uint64_t v = 0;
    EXPECT_EQ(l.rdmsr(0x839, v, 150), MsrResult::ok);
    EXPECT_EQ(v, 25u);
    l.apic.update(200);
    EXPECT_EQ(l.apic.highest_deliverable(), 0x30);
}

TEST(Vlapic, MmioAccessSizes)
{
    Lapic l;
    EXPECT_EQ(l.apic.read_mmio(0x30, 1, 0), 0x14u);
    EXPECT_EQ(l.apic.read_mmio(0x32, 1, 0), 0x05u);
    EXPECT_EQ(l.apic.read_mmio(0x32, 2, 0), 0x05u);
    EXPECT_EQ(l.apic.read_mmio(0x34, 4, 0), 0u);  // bytes 4..15 of a slot
    EXPECT_EQ(l.apic.read_mmio(0x30, 8, 0), 0x50014u);
    EXPECT_EQ(l.apic.read_mmio(0x3c, 8, 0), 0u);  // crosses into the next slot
    l.apic.write_mmio(0x80, 1, 0x20, 0);          // not a 32-bit aligned store: ignored
    l.apic.write_mmio(0x84, 4, 0x20, 0);
    l.apic.write_mmio(0x80, 2, 0x20, 0);
    EXPECT_EQ(l.rd(kTpr), 0u);
    l.apic.write_mmio(0x80, 4, 0x20, 0);
    EXPECT_EQ(l.rd(kTpr), 0x20u);
}

TEST(Vlapic, InitResetKeepsModeAndId)
{
    Lapic l(0x123);
    l.to_x2apic();
    l.wrmsr(0x80f, 0x1ff);
    l.wrmsr(0x808, 0x30);
    l.apic.init_reset();
    EXPECT_EQ(l.apic.mode(), Mode::x2apic);
    EXPECT_EQ(l.msr(0x802), 0x123u);
    EXPECT_EQ(l.msr(0x808), 0u);
    EXPECT_EQ(l.msr(0x80f), 0xffu);
}

TEST(Vlapic, HandlesMsr)
{
    EXPECT_TRUE(Vlapic::handles_msr(0x1b));
    EXPECT_TRUE(Vlapic::handles_msr(0x6e0));
    EXPECT_TRUE(Vlapic::handles_msr(0x800));
    EXPECT_TRUE(Vlapic::handles_msr(0x83f));
    EXPECT_FALSE(Vlapic::handles_msr(0x10));
    EXPECT_FALSE(Vlapic::handles_msr(0xc00));
}

}  // namespace
