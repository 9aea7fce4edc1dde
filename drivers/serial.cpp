#include "drivers/serial.hpp"

#include "arch/cpu.hpp"

namespace serial {
namespace {
// 16550 register offsets (PC16550D data sheet, Table 2).
constexpr uint16_t data = 0, interrupt_enable = 1, divisor_low = 0, divisor_high = 1, interrupt_identification = 2,
                   fifo_control = 2, line_control = 3, modem_control = 4, line_status = 5, scratch = 7;
constexpr uint8_t line_status_data_ready = 0x01, line_status_thr_empty = 0x20, line_status_transmitter_empty = 0x40;

// Bounded: a UART that stops draining must not hang the hypervisor. True when `bit` came up.
bool wait_line_status(uint16_t port, uint8_t bit)
{
    for (unsigned spins = 0; spins < 100000; ++spins) {
        if (cpu::inb(port + line_status) & bit) return true;
        cpu::pause();
    }
    return false;
}
constexpr uint32_t base_clock = 115200;

// With its FIFOs enabled a 16550A reports both IIR bits 7:6; THRE then means the whole 16-byte
// transmit FIFO is empty (PC16550D data sheet, "FIFO Interrupt Mode Operation"), so a line goes
// out with one wait per 16 bytes instead of one per byte. 8250/16450 parts (no FIFO) and the
// 16550 (unusable FIFO, bits 7:6 = 10) take one byte per THRE.
constexpr uint8_t fifos_enabled = 0xc0;
constexpr unsigned fifo_depth = 16;
uint16_t port_with_fifo = 0;  // the port init found a working transmit FIFO on (0: none)

unsigned room_when_empty(uint16_t port) { return port == port_with_fifo ? fifo_depth : 1; }
}  // namespace

bool init(uint16_t port)
{
    // An absent UART floats the bus: the scratch register will not hold a value.
    cpu::outb(port + scratch, 0x5a);
    if (cpu::inb(port + scratch) != 0x5a) return false;
    cpu::outb(port + interrupt_enable, 0);
    cpu::outb(port + line_control, 0x80);  // DLAB: divisor latch access
    cpu::outb(port + divisor_low, uint8_t(base_clock / 115200));
    cpu::outb(port + divisor_high, 0);
    cpu::outb(port + line_control, 0x03);  // 8 data bits, no parity, 1 stop bit
    cpu::outb(port + fifo_control, 0x07);  // enable and clear FIFOs
    cpu::outb(port + modem_control, 0x03); // DTR, RTS
    if ((cpu::inb(port + interrupt_identification) & fifos_enabled) == fifos_enabled) port_with_fifo = port;
    else if (port_with_fifo == port) port_with_fifo = 0;
    return true;
}

unsigned transmit_room(uint16_t port)
{
    return cpu::inb(port + line_status) & line_status_thr_empty ? room_when_empty(port) : 0;
}

unsigned wait_transmit_room(uint16_t port)
{
    return wait_line_status(port, line_status_thr_empty) ? room_when_empty(port) : 0;
}

void transmit(uint16_t port, char byte) { cpu::outb(port + data, uint8_t(byte)); }

void flush(uint16_t port) { wait_line_status(port, line_status_transmitter_empty); }

bool try_read(uint16_t port, uint8_t& byte)
{
    uint8_t status = cpu::inb(port + line_status);
    if (status == 0xff || !(status & line_status_data_ready)) return false;  // 0xff: floating bus
    byte = cpu::inb(port + data);
    return true;
}

}  // namespace serial
