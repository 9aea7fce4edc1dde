#include "drivers/virtual/pic8259.hpp"

#include <gtest/gtest.h>

using namespace pic8259;

namespace {

// Linux's init_8259A(): ICW1 edge/cascade/ICW4, vectors 0x30 and 0x38, cascade on IRQ2, 8086
// mode (auto EOI when asked).
void linux_init(PicPair& p, bool auto_eoi = false)
{
    p.write(0x21, 0xff);
    p.write(0xa1, 0xff);
    p.write(0x20, 0x11);
    p.write(0x21, 0x30);
    p.write(0x21, 0x04);
    p.write(0x21, auto_eoi ? 0x03 : 0x01);
    p.write(0xa0, 0x11);
    p.write(0xa1, 0x38);
    p.write(0xa1, 0x02);
    p.write(0xa1, 0x01);
    p.write(0x21, 0x00);
    p.write(0xa1, 0x00);
}

TEST(Vpic, LinuxProbeFindsItAndMaskingSticks)
{
    PicPair p;
    p.write(0xa1, 0xff);
    p.write(0x21, 0xfb);
    EXPECT_EQ(p.read(0x21), 0xfb);
    p.write(0x21, 0xff);
    EXPECT_EQ(p.read(0x21), 0xff);
    EXPECT_EQ(p.read(0xa1), 0xff);
    p.set_irq(0, true);
    EXPECT_FALSE(p.interrupt_output());  // masked
    EXPECT_EQ(p.read(0x20), 0x01);       // but requested (IRR)
}

TEST(Vpic, Icw1ClearsMasksAndRequests)
{
    PicPair p;
    p.write(0x21, 0xff);
    p.set_irq(3, true);
    p.write(0x20, 0x11);
    EXPECT_EQ(p.read(0x21), 0x00);
    EXPECT_EQ(p.irr(0), 0x00);
    p.write(0x21, 0x20);  // ICW2, not the IMR
    EXPECT_EQ(p.read(0x21), 0x00);
}

TEST(Vpic, DeliversByPriorityAndEoi)
{
    PicPair p;
    linux_init(p);
    p.set_irq(4, true);
    p.set_irq(1, true);
    ASSERT_TRUE(p.interrupt_output());
    EXPECT_EQ(p.acknowledge(), 0x31);
    EXPECT_EQ(p.isr(0), 0x02);
    EXPECT_FALSE(p.interrupt_output());  // IRQ4 waits for IRQ1's EOI
    p.write(0x20, 0x0b);                 // OCW3: read ISR
    EXPECT_EQ(p.read(0x20), 0x02);
    p.write(0x20, 0x0a);  // read IRR
    EXPECT_EQ(p.read(0x20), 0x10);
    p.write(0x20, 0x20);  // non-specific EOI
    EXPECT_TRUE(p.interrupt_output());
    EXPECT_EQ(p.acknowledge(), 0x34);
    p.write(0x20, 0x64);  // specific EOI of IRQ4
    EXPECT_EQ(p.isr(0), 0);
    EXPECT_FALSE(p.interrupt_output());
    p.set_irq(4, false);
    p.set_irq(4, true);  // a new edge
    EXPECT_TRUE(p.interrupt_output());
}

TEST(Vpic, SlaveThroughCascade)
{
    PicPair p;
    linux_init(p);
    p.set_irq(12, true);
    ASSERT_TRUE(p.interrupt_output());
    EXPECT_EQ(p.acknowledge(), 0x3c);
    EXPECT_EQ(p.isr(0), 0x04);
    EXPECT_EQ(p.isr(1), 0x10);
    p.write(0xa0, 0x20);
    p.write(0x20, 0x20);
    EXPECT_EQ(p.isr(0), 0);
    EXPECT_EQ(p.isr(1), 0);
    p.write(0xa1, 0x10);  // masking at the slave drops the cascade request
    p.set_irq(12, false);
    p.set_irq(12, true);
    EXPECT_FALSE(p.interrupt_output());
}

TEST(Vpic, LevelTriggeredThroughElcr)
{
    PicPair p;
    linux_init(p);
    p.write(0x4d1, 0xff);
    EXPECT_EQ(p.read(0x4d1), 0xde);  // IRQ 8 and 13 are edge-only
    p.write(0x4d0, 0xff);
    EXPECT_EQ(p.read(0x4d0), 0xf8);
    p.set_irq(9, true);
    EXPECT_EQ(p.acknowledge(), 0x39);
    p.write(0xa0, 0x20);
    p.write(0x20, 0x20);
    EXPECT_TRUE(p.interrupt_output());  // still asserted: requests again
    p.set_irq(9, false);
    EXPECT_FALSE(p.interrupt_output());
}

TEST(Vpic, AutoEoiPollAndSpurious)
{
    PicPair p;
    linux_init(p, true);
    p.set_irq(5, true);
    EXPECT_EQ(p.acknowledge(), 0x35);
    EXPECT_EQ(p.isr(0), 0);  // automatic EOI
    EXPECT_EQ(p.acknowledge(), 0x37);  // nothing pending: spurious IRQ7
    p.set_irq(6, true);
    p.write(0x20, 0x0c);  // poll
    EXPECT_EQ(p.read(0x20), 0x86);
    p.write(0x20, 0x0c);
    EXPECT_EQ(p.read(0x20), 0x00);
}

TEST(Vpic, RotationAndSpecialMask)
{
    PicPair p;
    linux_init(p);
    p.write(0x20, 0xc4);  // set priority: IRQ4 lowest, so IRQ5 highest
    p.set_irq(1, true);
    p.set_irq(6, true);
    EXPECT_EQ(p.acknowledge(), 0x36);
    p.write(0x20, 0xa0);  // rotate on non-specific EOI: IRQ6 becomes lowest
    EXPECT_EQ(p.acknowledge(), 0x31);
    // Special mask mode: masking the in-service IRQ1 lets lower priorities in.
    p.set_irq(3, true);
    EXPECT_FALSE(p.interrupt_output());
    p.write(0x21, 0x02);
    p.write(0x20, 0x68);
    EXPECT_TRUE(p.interrupt_output());
}

}  // namespace
