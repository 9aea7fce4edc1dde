#include "drivers/virtual/pic8259.hpp"

namespace pic8259 {
namespace {

constexpr unsigned kMaster = 0, kSlave = 1, kCascadeIrq = 2;
constexpr uint8_t kIcw1 = 0x10, kIcw1Ic4 = 0x01, kIcw1Single = 0x02, kIcw1Ltim = 0x08;
constexpr uint8_t kOcw3 = 0x08, kOcw3Poll = 0x04, kOcw3ReadRegister = 0x02, kOcw3SpecialMask = 0x40;
constexpr uint8_t kIcw4AutoEoi = 0x02, kIcw4Sfnm = 0x10;

}  // namespace

PicPair::PicPair()
{
    chips_[kMaster].elcr_writable = 0xf8;
    chips_[kSlave].elcr_writable = 0xde;
}

io_bus::Handler PicPair::master_handler() { return {kMasterPort, 2, this, &PicPair::io_in, &PicPair::io_out}; }
io_bus::Handler PicPair::slave_handler() { return {kSlavePort, 2, this, &PicPair::io_in, &PicPair::io_out}; }
io_bus::Handler PicPair::elcr_handler() { return {kElcrPort, 2, this, &PicPair::io_in, &PicPair::io_out}; }

uint32_t PicPair::io_in(void* context, uint16_t port, uint8_t size)
{
    auto* self = static_cast<PicPair*>(context);
    uint32_t value = 0;
    for (uint8_t i = 0; i < size; ++i) value |= uint32_t(self->read(uint16_t(port + i))) << (8 * i);
    return value;
}

void PicPair::io_out(void* context, uint16_t port, uint8_t size, uint32_t value)
{
    auto* self = static_cast<PicPair*>(context);
    for (uint8_t i = 0; i < size; ++i) self->write(uint16_t(port + i), uint8_t(value >> (8 * i)));
}

// Rank of the highest-priority bit of `mask` (0 = the top priority), 8 for none.
int PicPair::priority(const Chip& c, uint8_t mask)
{
    if (!mask) return 8;
    int p = 0;
    while (!(mask & (1u << ((p + c.priority_add) & 7)))) ++p;
    return p;
}

// The IRQ (0-7) this chip would raise INT for, or -1: the top unmasked request must outrank
// everything in service (in special mask mode, masked in-service levels do not count; in special
// fully nested mode the master lets the slave's cascade input interrupt its own service).
int PicPair::pending_irq(unsigned chip) const
{
    const Chip& c = chips_[chip];
    int request = priority(c, uint8_t(c.irr & ~c.imr));
    if (request == 8) return -1;
    uint8_t in_service = c.isr;
    if (c.special_mask) in_service &= uint8_t(~c.imr);
    if (chip == kMaster && c.special_fully_nested) in_service &= uint8_t(~(1u << kCascadeIrq));
    return request < priority(c, in_service) ? (request + c.priority_add) & 7 : -1;
}

bool PicPair::interrupt_output() const { return pending_irq(kMaster) >= 0; }

void PicPair::set_line(unsigned chip, unsigned irq, bool high)
{
    Chip& c = chips_[chip];
    uint8_t bit = uint8_t(1u << irq);
    // The cascade input follows the slave's INT: a request the slave withdraws is gone.
    bool level = c.ltim || (c.elcr & bit) || (chip == kMaster && irq == kCascadeIrq);
    if (level) {
        c.irr = high ? c.irr | bit : c.irr & ~bit;
    } else if (high && !(c.lines & bit)) {
        c.irr |= bit;  // rising edge
    }
    c.lines = high ? c.lines | bit : c.lines & ~bit;
}

// The slave's INT drives the master's IRQ2 input.
void PicPair::cascade() { set_line(kMaster, kCascadeIrq, pending_irq(kSlave) >= 0); }

void PicPair::set_irq(unsigned irq, bool high)
{
    if (irq >= 16 || irq == kCascadeIrq) return;
    set_line(irq < 8 ? kMaster : kSlave, irq & 7, high);
    cascade();
}

void PicPair::take(Chip& c, unsigned irq)
{
    uint8_t bit = uint8_t(1u << irq);
    if (!(c.ltim || (c.elcr & bit)) && !(&c == &chips_[kMaster] && irq == kCascadeIrq)) c.irr &= uint8_t(~bit);
    if (!c.auto_eoi) c.isr |= bit;
    else if (c.rotate_on_auto_eoi) c.priority_add = uint8_t((irq + 1) & 7);
}

uint8_t PicPair::acknowledge()
{
    Chip& master = chips_[kMaster];
    Chip& slave = chips_[kSlave];
    int irq = pending_irq(kMaster);
    uint8_t vector;
    if (irq < 0) {
        vector = uint8_t(master.vector_base + 7);  // spurious: the request went away
    } else {
        take(master, unsigned(irq));
        if (irq == int(kCascadeIrq) && !master.single) {
            int slave_irq = pending_irq(kSlave);
            if (slave_irq >= 0) take(slave, unsigned(slave_irq));
            vector = uint8_t(slave.vector_base + (slave_irq >= 0 ? slave_irq : 7));
        } else {
            vector = uint8_t(master.vector_base + irq);
        }
    }
    cascade();
    return vector;
}

void PicPair::write_command(Chip& c, uint8_t value)
{
    if (value & kIcw1) {
        uint8_t elcr = c.elcr, writable = c.elcr_writable, lines = c.lines;
        c = Chip{};
        c.elcr = elcr;
        c.elcr_writable = writable;
        c.lines = lines;
        c.icw4_needed = value & kIcw1Ic4;
        c.single = value & kIcw1Single;
        c.ltim = value & kIcw1Ltim;
        c.init_step = 1;
        return;
    }
    if (value & kOcw3) {
        if (value & kOcw3Poll) c.poll = true;
        if (value & kOcw3ReadRegister) c.read_isr = value & 1;
        if (value & kOcw3SpecialMask) c.special_mask = value & 0x20;
        return;
    }
    // OCW2: R, SL, EOI in bits 7:5, the level in bits 2:0.
    unsigned level = value & 7;
    switch (value >> 5) {
    case 0: c.rotate_on_auto_eoi = false; break;
    case 4: c.rotate_on_auto_eoi = true; break;
    case 1:    // non-specific EOI
    case 5: {  // ... and rotate
        int p = priority(c, c.isr);
        if (p == 8) break;
        unsigned irq = unsigned(p + c.priority_add) & 7;
        c.isr &= uint8_t(~(1u << irq));
        if (value >> 5 == 5) c.priority_add = uint8_t((irq + 1) & 7);
        break;
    }
    case 3: c.isr &= uint8_t(~(1u << level)); break;  // specific EOI
    case 7:                                          // specific EOI and rotate
        c.isr &= uint8_t(~(1u << level));
        c.priority_add = uint8_t((level + 1) & 7);
        break;
    case 6: c.priority_add = uint8_t((level + 1) & 7); break;  // set the lowest priority
    default: break;                                            // 2: no operation
    }
}

void PicPair::write_data(Chip& c, uint8_t value)
{
    switch (c.init_step) {
    case 1:
        c.vector_base = value & 0xf8;
        c.init_step = c.single ? (c.icw4_needed ? 3 : 0) : 2;
        return;
    case 2:
        c.icw3 = value;
        c.init_step = c.icw4_needed ? 3 : 0;
        return;
    case 3:
        c.icw4 = value;
        c.auto_eoi = value & kIcw4AutoEoi;
        c.special_fully_nested = value & kIcw4Sfnm;
        c.init_step = 0;
        return;
    default: c.imr = value; return;
    }
}

uint8_t PicPair::read_command(unsigned chip)
{
    Chip& c = chips_[chip];
    if (!c.poll) return c.read_isr ? c.isr : c.irr;
    // Poll command: the next read is an INTA without the vector: bit 7 and the IRQ number.
    c.poll = false;
    int irq = pending_irq(chip);
    if (irq < 0) return 0;
    take(c, unsigned(irq));
    cascade();
    return uint8_t(0x80 | irq);
}

uint8_t PicPair::read(uint16_t port)
{
    switch (port) {
    case kMasterPort: return read_command(kMaster);
    case kSlavePort: return read_command(kSlave);
    case kMasterPort + 1: return chips_[kMaster].imr;
    case kSlavePort + 1: return chips_[kSlave].imr;
    case kElcrPort: return chips_[kMaster].elcr;
    case kElcrPort + 1: return chips_[kSlave].elcr;
    default: return 0xff;
    }
}

void PicPair::write(uint16_t port, uint8_t value)
{
    switch (port) {
    case kMasterPort: write_command(chips_[kMaster], value); break;
    case kSlavePort: write_command(chips_[kSlave], value); break;
    case kMasterPort + 1: write_data(chips_[kMaster], value); break;
    case kSlavePort + 1: write_data(chips_[kSlave], value); break;
    case kElcrPort: chips_[kMaster].elcr = value & chips_[kMaster].elcr_writable; break;
    case kElcrPort + 1: chips_[kSlave].elcr = value & chips_[kSlave].elcr_writable; break;
    default: return;
    }
    cascade();
}

}  // namespace pic8259
