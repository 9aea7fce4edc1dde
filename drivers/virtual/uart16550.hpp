// A 16550A UART as the guest sees it at COM1 (PC16550D data sheet). Output is immediate (THR and
// the transmitter are empty again by the time the guest looks) while the line behind it takes
// bytes (the `ready` callback); when it does not, the transmitter reads busy (LSR THRE and TEMT
// clear) and the THRE interrupt waits: a polled driver waits on its own time. Once the guest saw
// THR empty it may write a FIFO's worth (16 bytes, 1 without FIFO), as drivers do on a THRE
// interrupt; a byte beyond that while busy is lost, as one written to a full transmitter FIFO
// (the data sheet has no transmit overrun flag), and reported to `lost`.
// Transmitted bytes go to the `byte` callback and, cut into lines, to the `line` callback.
//
// Not modelled: baud timing (the divisor latch is stored and read back, nothing else), the word
// length (all 8 bits go out, as with QEMU, so a kernel that never programs LCR still prints),
// parity/framing/break errors (nothing produces them), DMA mode. Without a character clock the
// FIFO "character timeout" is considered already elapsed: data below the trigger level reports
// IIR 0xc at once.
#pragma once
#include <cstddef>
#include <cstdint>

#include "drivers/virtual/io_bus.hpp"
#include "lib/str.hpp"

namespace uart16550 {

struct Output {
    void (*byte)(void* context, uint8_t value);  // every transmitted byte (not in loopback); may be null
    // Each complete line without its '\n', a partial line when kLineCapacity bytes arrive without
    // one, and what is left at flush(). '\r' is dropped. The view lives for the call. May be null.
    void (*line)(void* context, Str text);
    void* context;
    // The line takes kFifoSize bytes now: the transmitter reads empty (null: always).
    bool (*ready)(void* context) = nullptr;
    void (*lost)(void* context) = nullptr;  // a byte written while the transmitter was busy; may be null
};

// Register offsets (data sheet Table II).
constexpr uint8_t kRbrThr = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7;
// IIR values (data sheet Table IV), highest priority first.
constexpr uint8_t kIirLineStatus = 0x06, kIirRxData = 0x04, kIirRxTimeout = 0x0c, kIirThre = 0x02,
                  kIirModemStatus = 0x00, kIirNone = 0x01;
// LSR bits.
constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;

class Uart {
public:
    static constexpr uint16_t kCom1 = 0x3f8;
    static constexpr size_t kLineCapacity = 256;
    static constexpr size_t kFifoSize = 16;

    explicit Uart(Output output, uint16_t base = kCom1);

    uint16_t base() const { return base_; }
    // Ports base .. base+7; wider accesses are split into byte accesses at consecutive ports,
    // as the ISA bus does for an 8-bit device.
    io_bus::Handler handler();

    // `offset` 0..7, with the side effects of a guest access.
    uint8_t read(uint8_t offset);
    void write(uint8_t offset, uint8_t value);

    // A byte arriving on the serial input. False when it was lost: overrun (LSR OE set), or the
    // UART is in loopback mode, where the input is disconnected.
    bool receive(uint8_t byte);

    // The INTRPT pin: some enabled interrupt is pending (IIR bit 0 clear).
    bool interrupt_pending() const { return iir() != kIirNone; }
    // The PC's ISA IRQ line: INTRPT through the driver enabled by OUT2 (MCR bit 3). In loopback
    // mode OUT2 is disconnected from the pin, so the line stays low. For the IOAPIC/PIC.
    bool irq_level() const;

    // Hands the partial line (if any) to `line`: at VM end.
    void flush();

    // The transmitter was busy when it last emptied THR (or when the guest enabled the THRE
    // interrupt), so the THRE interrupt waits for it: call transmitter_ready() once `ready` may
    // have changed.
    bool owes_thre() const { return thre_owed_; }
    // Raises the owed THRE interrupt if the line takes bytes now.
    void transmitter_ready();

private:
    uint8_t iir() const;
    bool transmitter_busy();
    void raise_thre();
    void transmit(uint8_t value);
    bool push_rx(uint8_t value);
    void emit_line();
    void set_modem_inputs(uint8_t inputs);
    uint8_t modem_inputs() const;
    bool fifo_enabled() const { return fcr_ & 1; }
    size_t trigger_level() const;

    static uint32_t io_in(void* context, uint16_t port, uint8_t size);
    static void io_out(void* context, uint16_t port, uint8_t size, uint32_t value);

    Output output_;
    uint16_t base_;
    uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, fcr_ = 0, scr_ = 0;
    uint8_t dll_ = 12, dlm_ = 0;  // 9600 baud
    uint8_t lsr_errors_ = 0;      // OE (PE, FE, BI never occur)
    uint8_t msr_ = 0;             // bits 7:4 input lines, 3:0 deltas
    bool thre_pending_ = false;   // the THRE interrupt, until IIR read or THR write
    bool thre_owed_ = false;      // THR emptied (or the interrupt was enabled) while busy
    size_t transmit_room_ = 0;    // bytes the guest may write since it last could see THR empty
    uint8_t rbr_ = 0;             // the last byte read out, returned again when empty
    uint8_t rx_[kFifoSize] = {};
    size_t rx_head_ = 0, rx_count_ = 0;
    char line_[kLineCapacity] = {};
    size_t line_length_ = 0;
};

}  // namespace uart16550
