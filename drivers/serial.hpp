// 16550 UART used as the hypervisor's console (polled, 115200 8N1).
#pragma once
#include <cstddef>
#include <cstdint>

namespace serial {

// Programs the UART; false when nothing answers at `port` (scratch register test).
bool init(uint16_t port);
void write(uint16_t port, const char* text, size_t length);
// Waits (bounded) until the transmitter has shifted out every byte: before power-off or an
// emulator exit, or the last line is lost.
void flush(uint16_t port);
// Takes one received byte if the UART has one (line status Data Ready); never waits. False when
// nothing arrived or nothing answers at `port`.
bool try_read(uint16_t port, uint8_t& byte);

}  // namespace serial
