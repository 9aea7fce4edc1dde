#include "drivers/virtual/pit8254.hpp"

namespace pit8254 {
namespace {

constexpr uint8_t kAccessLatch = 0, kAccessLow = 1, kAccessHigh = 2;
constexpr uint8_t kReadBack = 3;  // control word bits 7:6

bool periodic(uint8_t mode) { return mode == 2 || mode == 3; }

}  // namespace

Pit::Pit(Clock clock) : clock_(clock) {}

io_bus::Handler Pit::handler() { return io_bus::Handler{kFirstPort, 4, this, &Pit::io_in, &Pit::io_out}; }

uint32_t Pit::io_in(void* context, uint16_t port, uint8_t size)
{
    auto* self = static_cast<Pit*>(context);
    uint64_t now = self->now();
    uint32_t value = 0;
    for (uint8_t i = 0; i < size; ++i) value |= uint32_t(self->read(uint8_t((port + i - kFirstPort) & 3), now)) << (8 * i);
    return value;
}

void Pit::io_out(void* context, uint16_t port, uint8_t size, uint32_t value)
{
    auto* self = static_cast<Pit*>(context);
    uint64_t now = self->now();
    for (uint8_t i = 0; i < size; ++i) self->write(uint8_t((port + i - kFirstPort) & 3), uint8_t(value >> (8 * i)), now);
}

uint64_t Pit::elapsed(const Counter& c, uint64_t now) const
{
    if (!c.counting) return 0;
    if (!c.gate) return c.mode == 0 ? c.frozen : 0;
    return now - c.start;
}

uint16_t Pit::count(const Counter& c, uint64_t now) const
{
    if (!c.counting) return uint16_t(c.reload);
    uint64_t e = elapsed(c, now);
    if (c.mode == 2) return uint16_t(c.reload - e % c.reload);
    if (c.mode == 3) {
        // Each half period the counter reloads and counts down by two.
        uint64_t high = (c.reload + 1) / 2, phase = e % c.reload;
        uint64_t in_half = phase < high ? phase : phase - high;
        return uint16_t((c.reload & ~1u) - 2 * in_half);
    }
    return uint16_t(c.reload - e);  // modes 0, 1, 4, 5: wraps after the terminal count
}

uint64_t Pit::edges(const Counter& c, uint64_t now) const
{
    if (!c.counting) return 0;
    uint64_t e = elapsed(c, now);
    if (periodic(c.mode)) return e / c.reload;
    return c.mode == 0 && e >= c.reload ? 1 : 0;
}

bool Pit::out(const Counter& c, uint64_t now) const
{
    if (c.mode == 0) return c.counting && elapsed(c, now) >= c.reload;  // low from the control word on
    if (!periodic(c.mode) || !c.counting || !c.gate) return true;
    uint64_t phase = elapsed(c, now) % c.reload;
    if (c.mode == 2) return phase != c.reload - 1;
    return phase < (c.reload + 1) / 2;
}

bool Pit::out(unsigned counter, uint64_t now) const { return counter < 3 && out(counters_[counter], now); }

uint8_t Pit::status(const Counter& c, uint64_t now) const
{
    return uint8_t((out(c, now) ? 0x80 : 0) | (c.counting ? 0 : 0x40) | (c.access << 4) | (c.mode << 1) | (c.bcd ? 1 : 0));
}

uint64_t Pit::take_rising_edges(unsigned counter, uint64_t now)
{
    if (counter >= 3) return 0;
    Counter& c = counters_[counter];
    uint64_t total = edges(c, now);
    uint64_t fresh = total > c.edges_taken ? total - c.edges_taken : 0;
    c.edges_taken = total;
    return fresh;
}

uint64_t Pit::next_rising_edge(unsigned counter, uint64_t now) const
{
    if (counter >= 3) return kNever;
    const Counter& c = counters_[counter];
    if (!c.counting || !c.gate) return kNever;
    uint64_t e = now - c.start;
    if (periodic(c.mode)) return c.start + (e / c.reload + 1) * c.reload;
    if (c.mode == 0 && e < c.reload) return c.start + c.reload;
    return kNever;
}

void Pit::set_gate(unsigned counter, bool high, uint64_t now)
{
    if (counter >= 3) return;
    Counter& c = counters_[counter];
    if (c.gate == high) return;
    if (c.mode == 0) {
        // Counting pauses while the gate is low and resumes where it was.
        if (!high) c.frozen = now - c.start;
        else c.start = now - c.frozen;
    } else if (high && periodic(c.mode) && c.counting) {
        c.start = now;  // the rising gate reloads the count
        c.edges_taken = 0;
    }
    c.gate = high;
}

void Pit::load(Counter& c, uint32_t value, uint64_t now)
{
    c.reload = value ? value : 0x10000;
    c.counting = true;
    c.start = now;
    c.frozen = 0;
    c.edges_taken = 0;
}

void Pit::control(uint8_t value, uint64_t now)
{
    unsigned select = value >> 6;
    if (select == kReadBack) {
        // Read-back (datasheet "Read-Back Command"): bit 5 clear latches the count, bit 4 clear
        // the status, of each counter selected by bits 1-3; an already latched value is kept.
        for (unsigned i = 0; i < 3; ++i) {
            if (!(value & (2u << i))) continue;
            Counter& c = counters_[i];
            if (!(value & 0x20) && !c.count_latched) {
                c.count_latched = true;
                c.latch = count(c, now);
                c.read_high_next = false;
            }
            if (!(value & 0x10) && !c.status_latched) {
                c.status_latched = true;
                c.status = status(c, now);
            }
        }
        return;
    }
    Counter& c = counters_[select];
    uint8_t access = (value >> 4) & 3;
    if (access == kAccessLatch) {
        if (!c.count_latched) {
            c.count_latched = true;
            c.latch = count(c, now);
            c.read_high_next = false;
        }
        return;
    }
    // A control word resets the counter: new mode, no count until one is written.
    uint8_t mode = (value >> 1) & 7;
    c.mode = mode > 5 ? mode - 4 : mode;  // 6 and 7 are modes 2 and 3
    c.access = access;
    c.bcd = value & 1;
    c.counting = false;
    c.write_high_next = c.read_high_next = false;
    c.count_latched = c.status_latched = false;
    c.edges_taken = 0;
}

uint8_t Pit::read_byte(Counter& c, uint16_t value, bool& high_next, bool latched)
{
    uint8_t byte;
    switch (c.access) {
    case kAccessLow: byte = uint8_t(value); break;
    case kAccessHigh: byte = uint8_t(value >> 8); break;
    default:
        byte = high_next ? uint8_t(value >> 8) : uint8_t(value);
        high_next = !high_next;
        if (high_next) return byte;  // the latch holds until both bytes are read
        break;
    }
    if (latched) c.count_latched = false;
    return byte;
}

uint8_t Pit::read(uint8_t offset, uint64_t now)
{
    if (offset >= 3) return 0xff;  // the control word register cannot be read
    Counter& c = counters_[offset];
    if (c.status_latched) {
        c.status_latched = false;
        return c.status;
    }
    if (c.count_latched) return read_byte(c, c.latch, c.read_high_next, true);
    return read_byte(c, count(c, now), c.read_high_next, false);
}

void Pit::write(uint8_t offset, uint8_t value, uint64_t now)
{
    if (offset >= 3) return control(value, now);
    Counter& c = counters_[offset];
    switch (c.access) {
    case kAccessLow: return load(c, value, now);
    case kAccessHigh: return load(c, uint32_t(value) << 8, now);
    default:
        if (!c.write_high_next) {
            c.pending_low = value;
            c.write_high_next = true;
            // Mode 0: writing the first byte stops the count (OUT stays low until the new one ends).
            if (c.mode == 0) c.counting = false;
            return;
        }
        c.write_high_next = false;
        return load(c, c.pending_low | (uint32_t(value) << 8), now);
    }
}

}  // namespace pit8254
