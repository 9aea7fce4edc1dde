// The VM's 8254 programmable interval timer at ports 0x40-0x43 (Intel 8254 datasheet, order
// 231164): three 16-bit counters clocked at 1.193182 MHz. A pure model: "now" is the count of
// PIT input clock ticks since any fixed origin (the hypervisor derives it from the guest TSC), and
// must not go backwards. Counter 0's OUT is the PC's IRQ0; counter 2's gate and OUT are wired to
// port 0x61 (system_port.hpp); counter 1 (DRAM refresh on old PCs) counts but drives nothing.
//
// Modelled: control words, counter latch and read-back commands (count and status), the LSB /
// MSB / LSB-then-MSB access modes with their read and write flip-flops, modes 0 (interrupt on
// terminal count: OUT rises once at the end, the counter wraps on), 2 (rate generator: OUT low
// for the last tick of each period) and 3 (square wave: OUT high for the first ceil(N/2) ticks of
// each period), a count of 0 meaning 65536, and the gate (counting paused in mode 0; in modes 2
// and 3 a low gate stops the counter with OUT high and the rising edge reloads it).
// Simplified: a count is loaded at the write, not at the next clock edge; a new count written in
// modes 2/3 restarts the period at once instead of at its end; modes 1, 4 and 5 count down like
// mode 0 with OUT high (nothing uses them on a PC); BCD counting (bit 0 of the control word) is
// kept for the status byte but the counter counts in binary.
#pragma once
#include <cstdint>

#include "drivers/virtual/io_bus.hpp"

namespace pit8254 {

constexpr uint64_t kInputHz = 1193182;
constexpr uint16_t kFirstPort = 0x40;  // counters 0-2 at 0x40-0x42, control word at 0x43
constexpr uint64_t kNever = ~0ull;

struct Clock {
    uint64_t (*now)(void* context);  // PIT input ticks
    void* context;
};

class Pit {
public:
    explicit Pit(Clock clock);

    io_bus::Handler handler();

    // `offset` 0..3 from port 0x40.
    uint8_t read(uint8_t offset, uint64_t now);
    void write(uint8_t offset, uint8_t value, uint64_t now);

    void set_gate(unsigned counter, bool high, uint64_t now);
    bool gate(unsigned counter) const { return counters_[counter].gate; }
    bool out(unsigned counter, uint64_t now) const;

    // Rising edges of the counter's OUT since the last call (or since its count was loaded):
    // the edge-triggered IRQ0 fires once if this is non-zero (missed ticks coalesce).
    uint64_t take_rising_edges(unsigned counter, uint64_t now);
    // The tick of OUT's next rising edge after `now`, or kNever.
    uint64_t next_rising_edge(unsigned counter, uint64_t now) const;

    uint64_t now() const { return clock_.now(clock_.context); }

private:
    struct Counter {
        uint8_t mode = 0, access = 3;
        bool bcd = false;
        uint32_t reload = 0x10000;   // N: 1..65536
        bool counting = false;       // a count is loaded (else "null count")
        bool gate = true;
        uint64_t start = 0;          // tick at which the current count began
        uint64_t frozen = 0;         // elapsed ticks while a mode-0 gate is low
        uint64_t edges_taken = 0;
        bool write_high_next = false;  // LSB-then-MSB write flip-flop
        uint8_t pending_low = 0;
        bool read_high_next = false;   // LSB-then-MSB read flip-flop (live or latched)
        bool count_latched = false;
        uint16_t latch = 0;
        bool status_latched = false;
        uint8_t status = 0;
    };

    uint64_t elapsed(const Counter& c, uint64_t now) const;
    uint16_t count(const Counter& c, uint64_t now) const;
    uint64_t edges(const Counter& c, uint64_t now) const;
    bool out(const Counter& c, uint64_t now) const;
    uint8_t status(const Counter& c, uint64_t now) const;
    void control(uint8_t value, uint64_t now);
    void load(Counter& c, uint32_t value, uint64_t now);
    uint8_t read_byte(Counter& c, uint16_t value, bool& high_next, bool latched);

    static uint32_t io_in(void* context, uint16_t port, uint8_t size);
    static void io_out(void* context, uint16_t port, uint8_t size, uint32_t value);

    Clock clock_;
    Counter counters_[3];
};

}  // namespace pit8254
