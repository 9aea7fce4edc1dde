#include "drivers/virtual/uart16550.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace uart16550;

namespace {

struct Sink {
    std::string bytes;
    std::vector<std::string> lines;
    static void byte(void* c, uint8_t v) { static_cast<Sink*>(c)->bytes.push_back(char(v)); }
    static void line(void* c, Str s) { static_cast<Sink*>(c)->lines.emplace_back(s.data, s.size); }
};

struct Fixture {
    Sink sink;
    Uart uart{Output{&Sink::byte, &Sink::line, &sink}};
    void send(const std::string& s)
    {
        for (char c : s) uart.write(kRbrThr, uint8_t(c));
    }
};

using Lines = std::vector<std::string>;

TEST(Vuart, ResetValues)
{
    Fixture f;
    EXPECT_EQ(f.uart.base(), 0x3f8);
    EXPECT_EQ(f.uart.read(kIer), 0);
    EXPECT_EQ(f.uart.read(kIirFcr), kIirNone);
    EXPECT_EQ(f.uart.read(kLcr), 0);
    EXPECT_EQ(f.uart.read(kMcr), 0);
    EXPECT_EQ(f.uart.read(kLsr), kLsrThre | kLsrTemt);
    EXPECT_EQ(f.uart.read(kMsr), 0xb0);  // CTS, DSR, DCD
    EXPECT_EQ(f.uart.read(kScr), 0);
    EXPECT_FALSE(f.uart.interrupt_pending());
    EXPECT_FALSE(f.uart.irq_level());
}

TEST(Vuart, ScratchRegister)
{
    Fixture f;
    f.uart.write(kScr, 0x5a);
    EXPECT_EQ(f.uart.read(kScr), 0x5a);
    f.uart.write(kScr, 0xa5);
    EXPECT_EQ(f.uart.read(kScr), 0xa5);
}

TEST(Vuart, DivisorLatchBehindDlab)
{
    Fixture f;
    f.uart.write(kIer, 0x05);
    f.uart.write(kLcr, 0x83);  // DLAB, 8N1
    EXPECT_EQ(f.uart.read(kRbrThr), 12);  // 9600 baud after reset
    f.uart.write(kRbrThr, 0x01);          // 115200
    f.uart.write(kIer, 0x00);
    EXPECT_EQ(f.uart.read(kRbrThr), 0x01);
    EXPECT_EQ(f.uart.read(kIer), 0x00);
    EXPECT_EQ(f.uart.read(kLcr), 0x83);
    EXPECT_TRUE(f.sink.bytes.empty());  // DLL writes are not transmitted
    f.uart.write(kLcr, 0x03);
    EXPECT_EQ(f.uart.read(kIer), 0x05);  // IER untouched by the DLM write
    f.uart.write(kRbrThr, 'A');
    EXPECT_EQ(f.sink.bytes, "A");
    f.uart.write(kLcr, 0x83);
    EXPECT_EQ(f.uart.read(kRbrThr), 0x01);
    EXPECT_EQ(f.uart.read(kIer), 0x00);
}

TEST(Vuart, IerUpperBitsReadZero)
{
    Fixture f;
    f.uart.write(kIer, 0xff);
    EXPECT_EQ(f.uart.read(kIer), 0x0f);
    f.uart.write(kMcr, 0xff);
    EXPECT_EQ(f.uart.read(kMcr), 0x1f);
}

TEST(Vuart, LinesAndBytes)
{
    Fixture f;
    f.send("hello\r\nworld\n\npartial");
    EXPECT_EQ(f.sink.bytes, "hello\r\nworld\n\npartial");
    EXPECT_EQ(f.sink.lines, (Lines{"hello", "world", ""}));
    f.uart.flush();
    EXPECT_EQ(f.sink.lines, (Lines{"hello", "world", "", "partial"}));
    f.uart.flush();  // nothing left
    EXPECT_EQ(f.sink.lines.size(), 4u);
}

TEST(Vuart, LongLinesAreCut)
{
    Fixture f;
    f.send(std::string(256, 'a') + "\n");
    EXPECT_EQ(f.sink.lines, (Lines{std::string(256, 'a')}));
    f.sink.lines.clear();
    f.send(std::string(300, 'b') + "\n");
    EXPECT_EQ(f.sink.lines, (Lines{std::string(256, 'b'), std::string(44, 'b')}));
}

TEST(Vuart, NullCallbacksAreFine)
{
    Uart uart{Output{nullptr, nullptr, nullptr}};
    uart.write(kRbrThr, 'x');
    uart.write(kRbrThr, '\n');
    uart.flush();
}

TEST(Vuart, ReceiveSetsDataReady)
{
    Fixture f;
    EXPECT_TRUE(f.uart.receive('q'));
    EXPECT_EQ(f.uart.read(kLsr), kLsrDr | kLsrThre | kLsrTemt);
    EXPECT_EQ(f.uart.read(kRbrThr), 'q');
    EXPECT_EQ(f.uart.read(kLsr), kLsrThre | kLsrTemt);
    EXPECT_EQ(f.uart.read(kRbrThr), 'q');  // RBR keeps the last byte
}

TEST(Vuart, OverrunWithoutFifo)
{
    Fixture f;
    EXPECT_TRUE(f.uart.receive('1'));
    EXPECT_FALSE(f.uart.receive('2'));  // overwrites RBR
    EXPECT_EQ(f.uart.read(kLsr), kLsrDr | kLsrOe | kLsrThre | kLsrTemt);
    EXPECT_EQ(f.uart.read(kLsr), kLsrDr | kLsrThre | kLsrTemt);  // OE cleared by the read
    EXPECT_EQ(f.uart.read(kRbrThr), '2');
}

TEST(Vuart, FifoModeAndTriggerLevels)
{
    Fixture f;
    f.uart.write(kIirFcr, 0xc7);  // enable, clear both, trigger 14
    f.uart.write(kIer, kIirRxData >> 2);  // RDA only (IER bit 0)
    EXPECT_EQ(f.uart.read(kIirFcr), 0xc1);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(f.uart.receive(uint8_t('a' + i)));
    EXPECT_EQ(f.uart.read(kIirFcr), 0xc0 | kIirRxTimeout);  // below the trigger level
    for (int i = 3; i < 14; ++i) EXPECT_TRUE(f.uart.receive(uint8_t('a' + i)));
    EXPECT_EQ(f.uart.read(kIirFcr), 0xc0 | kIirRxData);
    EXPECT_TRUE(f.uart.receive('o'));
    EXPECT_TRUE(f.uart.receive('p'));
    EXPECT_FALSE(f.uart.receive('!'));  // 17th byte: lost, FIFO kept
    std::string got;
    while (f.uart.read(kLsr) & kLsrDr) got.push_back(char(f.uart.read(kRbrThr)));
    EXPECT_EQ(got, "abcdefghijklmnop");
    EXPECT_EQ(f.uart.read(kIirFcr), 0xc1);
    // FCR bit 1 clears the receive FIFO.
    f.uart.receive('z');
    f.uart.write(kIirFcr, 0x03);
    EXPECT_EQ(f.uart.read(kLsr) & kLsrDr, 0);
    // Trigger level 4 (FCR 0x41).
    f.uart.write(kIirFcr, 0x41);
    for (int i = 0; i < 4; ++i) f.uart.receive('x');
    EXPECT_EQ(f.uart.read(kIirFcr), 0xc0 | kIirRxData);
    // Disabling the FIFO clears it and IIR bits 7:6.
    f.uart.write(kIirFcr, 0x00);
    EXPECT_EQ(f.uart.read(kIirFcr), kIirNone);
    EXPECT_EQ(f.uart.read(kLsr) & kLsrDr, 0);
}

TEST(Vuart, ThreInterruptRules)
{
    Fixture f;
    f.uart.write(kIer, 0x02);  // enabling it with THR empty raises it
    EXPECT_EQ(f.uart.read(kIirFcr), kIirThre);
    EXPECT_EQ(f.uart.read(kIirFcr), kIirNone);  // cleared by the IIR read that reported it
    f.uart.write(kRbrThr, 'x');                 // THR empties again at once
    EXPECT_TRUE(f.uart.interrupt_pending());
    EXPECT_EQ(f.uart.read(kIirFcr), kIirThre);
    f.uart.write(kRbrThr, 'y');
    f.uart.write(kIer, 0x00);
    EXPECT_FALSE(f.uart.interrupt_pending());
}

// A line that takes `room` more bytes, counting the bytes lost once it is full.
struct BusyLine {
    Sink sink;
    int room = 100;
    int lost = 0;
    static bool is_ready(void* c) { return static_cast<BusyLine*>(c)->room > 0; }
    static void byte(void* c, uint8_t v)
    {
        --static_cast<BusyLine*>(c)->room;
        static_cast<BusyLine*>(c)->sink.bytes.push_back(char(v));
    }
    static void line(void* c, Str s) { static_cast<BusyLine*>(c)->sink.lines.emplace_back(s.data, s.size); }
    static void count_lost(void* c) { ++static_cast<BusyLine*>(c)->lost; }
    Uart uart{Output{&byte, &line, this, &is_ready, &count_lost}};
};

TEST(Vuart, ABusyLineClearsThreAndTemt)
{
    BusyLine l;
    l.room = 0;
    EXPECT_EQ(l.uart.read(kLsr), 0);
    l.uart.receive('r');
    EXPECT_EQ(l.uart.read(kLsr), kLsrDr);
    l.room = 100;
    EXPECT_EQ(l.uart.read(kLsr), kLsrDr | kLsrThre | kLsrTemt);
}

TEST(Vuart, AByteWrittenWhileBusyIsLostAndReported)
{
    BusyLine l;
    l.room = 1;
    l.uart.write(kRbrThr, 'a');  // the line's last byte for now: THR does not empty again
    l.uart.write(kRbrThr, 'b');
    l.uart.write(kRbrThr, '\n');
    l.room = 100;
    l.uart.write(kRbrThr, 'c');
    l.uart.write(kRbrThr, '\n');
    EXPECT_EQ(l.sink.bytes, "ac\n");
    EXPECT_EQ(l.sink.lines, (Lines{"ac"}));
    EXPECT_EQ(l.lost, 2);
}

TEST(Vuart, ThreGrantsAFullFifoEvenIfTheLineFillsMeanwhile)
{
    BusyLine l;
    l.uart.write(kIirFcr, 0x01);  // FIFO on
    l.room = 1;
    ASSERT_EQ(l.uart.read(kLsr), kLsrThre | kLsrTemt);
    for (int i = 0; i < 17; ++i) l.uart.write(kRbrThr, uint8_t('a' + i));
    EXPECT_EQ(l.sink.bytes, "abcdefghijklmnop");
    EXPECT_EQ(l.lost, 1);
    EXPECT_EQ(l.uart.read(kLsr), 0);
}

TEST(Vuart, WithoutFifoThreGrantsOneByte)
{
    BusyLine l;
    l.room = 1;
    ASSERT_EQ(l.uart.read(kLsr), kLsrThre | kLsrTemt);
    l.uart.write(kRbrThr, 'a');
    l.uart.write(kRbrThr, 'b');
    EXPECT_EQ(l.sink.bytes, "a");
    EXPECT_EQ(l.lost, 1);
}

TEST(Vuart, LoopbackIsNeverBusy)
{
    BusyLine l;
    l.room = 0;
    l.uart.write(kMcr, 0x10);
    EXPECT_EQ(l.uart.read(kLsr), kLsrThre | kLsrTemt);
    l.uart.write(kRbrThr, 'x');
    EXPECT_EQ(l.uart.read(kRbrThr), 'x');
    EXPECT_EQ(l.lost, 0);
}

TEST(Vuart, TheThreInterruptWaitsForTheLine)
{
    BusyLine l;
    l.uart.write(kIer, 0x02);
    EXPECT_EQ(l.uart.read(kIirFcr), kIirThre);
    l.room = 1;  // the byte below is the last the line takes for now
    l.uart.write(kRbrThr, 'x');
    EXPECT_FALSE(l.uart.interrupt_pending());
    EXPECT_TRUE(l.uart.owes_thre());
    l.uart.transmitter_ready();  // still busy: nothing
    EXPECT_FALSE(l.uart.interrupt_pending());
    l.room = 100;
    l.uart.transmitter_ready();
    EXPECT_FALSE(l.uart.owes_thre());
    EXPECT_EQ(l.uart.read(kIirFcr), kIirThre);
    EXPECT_EQ(l.sink.bytes, "x");
}

TEST(Vuart, EnablingThreWhileBusyRaisesItOnceTheLineIsReady)
{
    BusyLine l;
    l.room = 0;
    l.uart.write(kIer, 0x02);
    EXPECT_FALSE(l.uart.interrupt_pending());
    l.room = 100;
    l.uart.transmitter_ready();
    EXPECT_EQ(l.uart.read(kIirFcr), kIirThre);
}

TEST(Vuart, IirReportsTheHighestPrioritySource)
{
    Fixture f;
    f.uart.write(kIer, 0x0f);  // all four sources; THRE now pending
    EXPECT_EQ(f.uart.read(kLsr), kLsrThre | kLsrTemt);
    f.uart.receive('1');
    f.uart.receive('2');  // overrun
    EXPECT_EQ(f.uart.read(kIirFcr), kIirLineStatus);
    EXPECT_EQ(f.uart.read(kIirFcr), kIirLineStatus);  // reading IIR does not clear it
    f.uart.read(kLsr);
    EXPECT_EQ(f.uart.read(kIirFcr), kIirRxData);
    f.uart.read(kRbrThr);
    EXPECT_EQ(f.uart.read(kIirFcr), kIirThre);  // still pending: not cleared by other IIR reads
    EXPECT_EQ(f.uart.read(kIirFcr), kIirNone);
    // Modem status: a change of the loopback-wired inputs.
    f.uart.write(kMcr, 0x10);
    EXPECT_EQ(f.uart.read(kIirFcr), kIirModemStatus);
    f.uart.read(kMsr);
    EXPECT_EQ(f.uart.read(kIirFcr), kIirNone);
}

TEST(Vuart, LoopbackReturnsTransmittedBytes)
{
    Fixture f;
    f.uart.write(kMcr, 0x10);
    f.uart.write(kRbrThr, 'L');
    EXPECT_TRUE(f.sink.bytes.empty());
    EXPECT_EQ(f.uart.read(kLsr), kLsrDr | kLsrThre | kLsrTemt);
    EXPECT_EQ(f.uart.read(kRbrThr), 'L');
    EXPECT_FALSE(f.uart.receive('e'));  // serial input disconnected
    EXPECT_EQ(f.uart.read(kLsr) & kLsrDr, 0);
    f.uart.write(kMcr, 0x00);
    f.uart.write(kRbrThr, '\n');
    EXPECT_EQ(f.sink.bytes, "\n");
    EXPECT_EQ(f.sink.lines, (Lines{""}));
}

TEST(Vuart, LoopbackModemLines)
{
    Fixture f;
    f.uart.read(kMsr);
    f.uart.write(kMcr, 0x10);  // loopback, all outputs low: inputs fall
    EXPECT_EQ(f.uart.read(kMsr), 0x0b);  // DCTS, DDSR, DDCD
    f.uart.write(kMcr, 0x1f);
    EXPECT_EQ(f.uart.read(kMsr), 0xf0 | 0x0b);
    EXPECT_EQ(f.uart.read(kMsr), 0xf0);  // deltas cleared by the read
    f.uart.write(kMcr, 0x1b);  // OUT1 low: RI trailing edge
    EXPECT_EQ(f.uart.read(kMsr), 0xb4);
    f.uart.write(kMcr, 0x11);  // DTR only
    EXPECT_EQ(f.uart.read(kMsr), 0x20 | 0x09);
}

TEST(Vuart, IrqLineGatedByOut2)
{
    Fixture f;
    f.uart.write(kIer, 0x02);
    EXPECT_TRUE(f.uart.interrupt_pending());
    EXPECT_FALSE(f.uart.irq_level());
    f.uart.write(kMcr, 0x0b);  // DTR, RTS, OUT2
    EXPECT_TRUE(f.uart.irq_level());
    f.uart.write(kMcr, 0x1b);  // loopback disconnects the line
    EXPECT_FALSE(f.uart.irq_level());
    f.uart.write(kMcr, 0x0b);
    f.uart.read(kIirFcr);
    EXPECT_FALSE(f.uart.irq_level());
}

TEST(Vuart, IoBusHandler)
{
    Sink sink;
    Uart uart{Output{&Sink::byte, &Sink::line, &sink}, 0x2f8};
    io_bus::IoBus bus;
    ASSERT_TRUE(bus.add(uart.handler()));
    bus.dispatch_out(0x2ff, 1, 0x77);
    EXPECT_EQ(bus.dispatch_in(0x2ff, 1), 0x77u);
    bus.dispatch_out(0x2fb, 2, 0x0b03);  // LCR = 0x03, MCR = 0x0b in one word write
    EXPECT_EQ(uart.read(kLcr), 0x03);
    EXPECT_EQ(uart.read(kMcr), 0x0b);
    EXPECT_EQ(bus.dispatch_in(0x2fd, 2), 0xb060u);  // LSR, MSR
    bus.dispatch_out(0x2f8, 1, 'k');
    EXPECT_EQ(sink.bytes, "k");
    EXPECT_EQ(bus.dispatch_in(0x3f8, 1), 0xffu);  // COM1 not present
}

}  // namespace
