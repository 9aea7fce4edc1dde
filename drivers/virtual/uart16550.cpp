#include "drivers/virtual/uart16550.hpp"

namespace uart16550 {
namespace {

constexpr uint8_t kIerRda = 0x01, kIerThre = 0x02, kIerLineStatus = 0x04, kIerModemStatus = 0x08;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02;
constexpr uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;
constexpr uint8_t kMsrDcts = 0x01, kMsrDdsr = 0x02, kMsrTeri = 0x04, kMsrDdcd = 0x08;
// Outside loopback the modem inputs read as a connected terminal: CTS, DSR and DCD asserted,
// RI not (as QEMU's serial device reports them).
constexpr uint8_t kExternalModemInputs = kMsrCts | kMsrDsr | kMsrDcd;

}  // namespace

Uart::Uart(Output output, uint16_t base) : output_(output), base_(base), msr_(kExternalModemInputs) {}

io_bus::Handler Uart::handler() { return io_bus::Handler{base_, 8, this, &Uart::io_in, &Uart::io_out}; }

uint32_t Uart::io_in(void* context, uint16_t port, uint8_t size)
{
    auto* self = static_cast<Uart*>(context);
    uint32_t value = 0;
    for (uint8_t i = 0; i < size; ++i) value |= uint32_t(self->read(uint8_t((port + i - self->base_) & 7))) << (8 * i);
    return value;
}

void Uart::io_out(void* context, uint16_t port, uint8_t size, uint32_t value)
{
    auto* self = static_cast<Uart*>(context);
    for (uint8_t i = 0; i < size; ++i) self->write(uint8_t((port + i - self->base_) & 7), uint8_t(value >> (8 * i)));
}

size_t Uart::trigger_level() const
{
    static constexpr size_t levels[4] = {1, 4, 8, 14};
    return levels[fcr_ >> 6];
}

// Data sheet Table IV: one source at a time, by priority: receiver line status, received data
// (or character timeout in FIFO mode), THR empty, modem status.
uint8_t Uart::iir() const
{
    if ((ier_ & kIerLineStatus) && lsr_errors_) return kIirLineStatus;
    if ((ier_ & kIerRda) && rx_count_) {
        if (!fifo_enabled() || rx_count_ >= trigger_level()) return kIirRxData;
        return kIirRxTimeout;
    }
    if ((ier_ & kIerThre) && thre_pending_) return kIirThre;
    if ((ier_ & kIerModemStatus) && (msr_ & 0x0f)) return kIirModemStatus;
    return kIirNone;
}

bool Uart::irq_level() const { return interrupt_pending() && (mcr_ & kMcrOut2) && !(mcr_ & kMcrLoop); }

uint8_t Uart::read(uint8_t offset)
{
    switch (offset & 7) {
    case kRbrThr:
        if (lcr_ & kLcrDlab) return dll_;
        if (rx_count_) {
            rbr_ = rx_[rx_head_];
            rx_head_ = (rx_head_ + 1) % kFifoSize;
            --rx_count_;
        }
        return rbr_;
    case kIer:
        return (lcr_ & kLcrDlab) ? dlm_ : ier_;
    case kIirFcr: {
        uint8_t id = iir();
        // Reading IIR while it reports THRE clears that interrupt.
        if (id == kIirThre) thre_pending_ = false;
        return uint8_t(id | (fifo_enabled() ? 0xc0 : 0));
    }
    case kLcr:
        return lcr_;
    case kMcr:
        return mcr_;
    case kLsr: {
        // Output is immediate: THRE and TEMT set unless the line is busy. Reading clears the
        // error bits.
        uint8_t lsr = uint8_t((rx_count_ ? kLsrDr : 0) | lsr_errors_ | (transmitter_busy() ? 0 : kLsrThre | kLsrTemt));
        lsr_errors_ = 0;
        return lsr;
    }
    case kMsr: {
        uint8_t msr = msr_;
        msr_ &= 0xf0;  // reading clears the delta bits
        return msr;
    }
    default:
        return scr_;
    }
}

void Uart::write(uint8_t offset, uint8_t value)
{
    switch (offset & 7) {
    case kRbrThr:
        if (lcr_ & kLcrDlab) dll_ = value;
        else transmit(value);
        return;
    case kIer: {
        if (lcr_ & kLcrDlab) {
            dlm_ = value;
            return;
        }
        uint8_t old = ier_;
        ier_ = value & 0x0f;
        // Enabling the THRE interrupt while THR is empty raises it at once.
        if ((ier_ & kIerThre) && !(old & kIerThre)) raise_thre();
        return;
    }
    case kIirFcr:
        // Changing FCR0 clears both FIFOs; bits 1 and 2 clear them and self-clear.
        if (((value ^ fcr_) & kFcrEnable) || (value & kFcrClearRx)) rx_count_ = rx_head_ = 0;
        fcr_ = value & 0xc9;
        if (!fifo_enabled()) fcr_ = 0;
        return;
    case kLcr:
        lcr_ = value;
        return;
    case kMcr:
        mcr_ = value & 0x1f;
        set_modem_inputs(modem_inputs());
        return;
    case kLsr:
    case kMsr:
        return;  // LSR writes are for factory testing; MSR is read-only here
    default:
        scr_ = value;
        return;
    }
}

// In loopback the transmitter feeds the receiver, not the line: never busy. While it is not,
// THR is empty and the guest may fill the FIFO.
bool Uart::transmitter_busy()
{
    bool busy = !(mcr_ & kMcrLoop) && output_.ready && !output_.ready(output_.context);
    if (!busy) transmit_room_ = fifo_enabled() ? kFifoSize : 1;
    return busy;
}

// THR is empty unless the transmitter is busy; then the interrupt comes once it is not
// (transmitter_ready).
void Uart::raise_thre()
{
    thre_owed_ = transmitter_busy();
    thre_pending_ = !thre_owed_;
}

void Uart::transmitter_ready()
{
    if (thre_owed_) raise_thre();
}

void Uart::transmit(uint8_t value)
{
    if (transmitter_busy() && !transmit_room_) {
        if (output_.lost) output_.lost(output_.context);
        raise_thre();  // the write cleared a pending THRE interrupt; it comes when THR empties
        return;
    }
    --transmit_room_;
    if (mcr_ & kMcrLoop) {
        push_rx(value);  // loopback: transmitter output feeds the receiver
    } else {
        if (output_.byte) output_.byte(output_.context, value);
        if (value == '\n') {
            emit_line();
        } else if (value != '\r') {
            if (line_length_ == kLineCapacity) emit_line();
            line_[line_length_++] = char(value);
        }
    }
    raise_thre();  // THR is empty again at once
}

bool Uart::receive(uint8_t byte)
{
    if (mcr_ & kMcrLoop) return false;
    return push_rx(byte);
}

bool Uart::push_rx(uint8_t value)
{
    size_t depth = fifo_enabled() ? kFifoSize : 1;
    if (rx_count_ == depth) {
        lsr_errors_ |= kLsrOe;
        // Without FIFO the new character overwrites RBR; with it, the FIFO is kept and the
        // character in the shift register is lost.
        if (!fifo_enabled()) rx_[rx_head_] = value;
        return false;
    }
    rx_[(rx_head_ + rx_count_) % kFifoSize] = value;
    ++rx_count_;
    return true;
}

// In loopback the modem inputs are wired to the modem outputs: CTS = RTS, DSR = DTR, RI = OUT1,
// DCD = OUT2.
uint8_t Uart::modem_inputs() const
{
    if (!(mcr_ & kMcrLoop)) return kExternalModemInputs;
    return uint8_t(((mcr_ & kMcrRts) ? kMsrCts : 0) | ((mcr_ & kMcrDtr) ? kMsrDsr : 0) |
                   ((mcr_ & kMcrOut1) ? kMsrRi : 0) | ((mcr_ & kMcrOut2) ? kMsrDcd : 0));
}

void Uart::set_modem_inputs(uint8_t inputs)
{
    uint8_t changed = uint8_t((msr_ ^ inputs) & 0xf0);
    uint8_t deltas = msr_ & 0x0f;
    if (changed & kMsrCts) deltas |= kMsrDcts;
    if (changed & kMsrDsr) deltas |= kMsrDdsr;
    if ((changed & kMsrRi) && !(inputs & kMsrRi)) deltas |= kMsrTeri;  // trailing edge only
    if (changed & kMsrDcd) deltas |= kMsrDdcd;
    msr_ = uint8_t(inputs | deltas);
}

void Uart::emit_line()
{
    if (output_.line) output_.line(output_.context, Str(line_, line_length_));
    line_length_ = 0;
}

void Uart::flush()
{
    if (line_length_) emit_line();
}

}  // namespace uart16550
