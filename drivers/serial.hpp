// 16550 UART used as the hypervisor's console (polled, 115200 8N1).
#pragma once
#include <cstddef>
#include <cstdint>

namespace serial {

// Programs the UART; false when nothing answers at `port` (scratch register test).
bool init(uint16_t port);
// The transmitter, byte by byte, for a console that queues its output and never waits in the
// common case. Bytes go out raw ("\r\n" is the caller's business).
// How many bytes it takes now without waiting: 0 while the last batch is still going out; when
// THR is empty, the whole 16-byte FIFO of a 16550A, else 1.
unsigned transmit_room(uint16_t port);
// The same after waiting (bounded: a UART that stops draining must not hang the hypervisor) for
// THR empty; 0 when it never empties.
unsigned wait_transmit_room(uint16_t port);
void transmit(uint16_t port, char byte);
// Waits (bounded) until the transmitter has shifted out every byte: before power-off or an
// emulator exit, or the last line is lost.
void flush(uint16_t port);
// Takes one received byte if the UART has one (line status Data Ready); never waits. False when
// nothing arrived or nothing answers at `port`.
bool try_read(uint16_t port, uint8_t& byte);

}  // namespace serial
