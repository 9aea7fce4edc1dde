// The VM's I/O APIC: an 82093AA-style IOAPIC with 24 pins at 0xFEC00000 (Intel 82093AA I/O
// Advanced Programmable Interrupt Controller datasheet, 3.0 "Register Description"; the
// interrupt message fields are those of the SDM Vol. 3A "Message Signalled Interrupts"/IPI
// chapter). A pure model: devices drive its pins, it hands interrupt messages to `deliver`, and
// the local APICs' EOIs of level-triggered vectors come back through eoi().
//
// Registers: IOREGSEL (offset 0x00, the index, 8 bits) and IOWIN (offset 0x10, the selected
// 32-bit register). Index 0 ID (bits 27:24), 1 version (0x00170011: version 0x11, 24 entries),
// 2 arbitration ID (= the ID), 0x10 + 2n / 0x11 + 2n the low / high halves of redirection entry
// n. Version 0x11 has no EOI register: EOIs arrive as the local APIC's broadcast.
//
// Pins are electrical levels: an entry's polarity bit (13) says whether high or low asserts.
// Edge-triggered entries deliver on the asserting edge when unmasked (an edge on a masked pin is
// lost, datasheet 3.2.4 "Interrupt Mask"). Level-triggered entries deliver while asserted,
// unmasked and Remote IRR (bit 14) clear, and set Remote IRR; an EOI of their vector clears it
// and, if the pin is still asserted, delivers again. Delivery status (bit 12) always reads 0:
// delivery is instantaneous here.
//
// Accesses: the datasheet defines only 32-bit accesses to the two registers; a PC's chipset
// passes any other access on with its byte enables, so every width and alignment inside the
// page works byte lane by byte lane: bytes 0-3 are IOREGSEL (the index in byte 0, bits 31:8
// reserved: read 0, writes ignored), bytes 0x10-0x13 the selected register (a narrow write
// merges into it, then writes it whole), and every other byte of the page decodes to nothing:
// reads all ones, writes vanish (the bus's master abort). Indices no register has read 0 and
// ignore writes. Not thread-safe: the caller serialises.
#pragma once
#include <cstdint>

#include "drivers/virtual/mmio_bus.hpp"

namespace ioapic {

constexpr uint64_t kBase = 0xFEC00000;
constexpr uint64_t kPageBytes = 0x1000;  // IOREGSEL and IOWIN, then nothing decoded
constexpr unsigned kPins = 24;
constexpr uint32_t kVersion = 0x00170011;  // max redirection entry 23, version 0x11

// Delivery modes of a redirection entry (bits 10:8).
enum class DeliveryMode : uint8_t { fixed = 0, lowest_priority = 1, smi = 2, nmi = 4, init = 5, extint = 7 };

// One interrupt message to the local APICs.
struct Message {
    uint8_t vector;
    DeliveryMode delivery_mode;
    bool logical;         // destination mode (bit 11)
    uint8_t destination;  // bits 63:56
    bool level;           // trigger mode (bit 15): the local APIC sets TMR and EOIs come back
};

struct Delivery {
    void (*deliver)(void* context, const Message& message);
    void* context;
};

class Ioapic {
public:
    explicit Ioapic(Delivery delivery, uint8_t id = 0);

    mmio_bus::Region region(uint64_t base = kBase);

    // Offsets from the base; `size` 1, 2, 4 or 8 bytes inside the page (else false: refused).
    bool read(uint64_t offset, uint8_t size, uint64_t& value);
    bool write(uint64_t offset, uint8_t size, uint64_t value);

    // The electrical level of input pin `pin` (0..23; others are ignored).
    void set_pin(unsigned pin, bool high);
    // A local APIC's EOI of a level-triggered `vector`.
    void eoi(uint8_t vector);

    uint32_t read_register(uint8_t index) const;
    void write_register(uint8_t index, uint32_t value);
    uint64_t entry(unsigned pin) const { return redirection_[pin]; }

private:
    bool asserted(unsigned pin) const;
    void service(unsigned pin);  // delivers a level-triggered pin if it is due
    void send(unsigned pin);

    static bool mmio_read(void* context, uint64_t offset, uint8_t size, uint64_t& value);
    static bool mmio_write(void* context, uint64_t offset, uint8_t size, uint64_t value);

    Delivery delivery_;
    uint8_t id_;
    uint8_t select_ = 0;
    uint32_t pins_ = 0;  // bit n: pin n is high
    uint64_t redirection_[kPins];
};

}  // namespace ioapic
