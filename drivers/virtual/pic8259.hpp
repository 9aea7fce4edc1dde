// The PC's two cascaded 8259A programmable interrupt controllers (Intel 8259A datasheet, order
// 231468): the master at ports 0x20/0x21 (IRQs 0-7), the slave at 0xA0/0xA1 (IRQs 8-15) on the
// master's IRQ2, and the edge/level control registers (ELCR) of the PIIX/ICH south bridges at
// 0x4D0/0x4D1. A pure model: devices drive the 16 ISA IRQ lines, interrupt_output() is the
// master's INT pin and acknowledge() the INTA cycle that returns the vector.
//
// Modelled: the ICW1-ICW4 initialisation sequence (single or cascaded, ICW4 optional; ICW1
// clears the IMR, ISR and IRR and leaves special mask mode), OCW1 (IMR), OCW2 (non-specific,
// specific and rotating EOIs, set priority, rotate in automatic EOI mode), OCW3 (read IRR or ISR,
// poll command, special mask mode), automatic EOI, special fully nested mode on the master,
// edge or level triggering per IRQ (ELCR; ICW1's LTIM makes a whole chip level-triggered), and
// the spurious IRQ 7/15 vector when the request went away before INTA. Not modelled: 8080/8085
// call sequences (ICW4 bit 0 clear is treated as 8086 mode), buffered mode (ICW4 bits 3:2 are
// stored only). IRQ 0, 1, 2, 8 and 13 are edge-only in the ELCR, as on the PIIX.
#pragma once
#include <cstdint>

#include "drivers/virtual/io_bus.hpp"

namespace pic8259 {

constexpr uint16_t kMasterPort = 0x20, kSlavePort = 0xa0, kElcrPort = 0x4d0;

class PicPair {
public:
    PicPair();

    // Ports 0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1.
    io_bus::Handler master_handler();
    io_bus::Handler slave_handler();
    io_bus::Handler elcr_handler();

    uint8_t read(uint16_t port);
    void write(uint16_t port, uint8_t value);

    // The level of ISA IRQ line `irq` (0..15). IRQ 2 is the cascade: not an input.
    void set_irq(unsigned irq, bool high);
    // The master's INT output: an unmasked request outranks everything in service.
    bool interrupt_output() const;
    // INTA: the vector of the highest-priority request, now in service (unless automatic EOI).
    uint8_t acknowledge();

    uint8_t imr(unsigned chip) const { return chips_[chip].imr; }
    uint8_t irr(unsigned chip) const { return chips_[chip].irr; }
    uint8_t isr(unsigned chip) const { return chips_[chip].isr; }

private:
    struct Chip {
        uint8_t irr = 0, isr = 0, imr = 0;
        uint8_t lines = 0;          // input levels
        uint8_t elcr = 0;           // level-triggered inputs
        uint8_t elcr_writable = 0;
        uint8_t vector_base = 0;
        uint8_t priority_add = 0;   // the IRQ with the highest priority
        uint8_t init_step = 0;      // 0 ready, 1 ICW2 next, 2 ICW3 next, 3 ICW4 next
        bool icw4_needed = false, single = false, ltim = false;
        bool auto_eoi = false, rotate_on_auto_eoi = false, special_fully_nested = false;
        bool special_mask = false, read_isr = false, poll = false;
        uint8_t icw3 = 0, icw4 = 0;
    };

    static int priority(const Chip& c, uint8_t mask);
    int pending_irq(unsigned chip) const;
    void set_line(unsigned chip, unsigned irq, bool high);
    void take(Chip& c, unsigned irq);
    void cascade();
    void write_command(Chip& c, uint8_t value);
    void write_data(Chip& c, uint8_t value);
    uint8_t read_command(unsigned chip);

    static uint32_t io_in(void* context, uint16_t port, uint8_t size);
    static void io_out(void* context, uint16_t port, uint8_t size, uint32_t value);

    Chip chips_[2];  // master, slave
};

}  // namespace pic8259
