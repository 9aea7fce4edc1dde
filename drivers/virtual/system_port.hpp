// Port 0x61, the PC's "system control port B" (NMI status and control register of the PIIX/ICH
// south bridges): bit 0 is the gate of PIT counter 2, bit 1 enables its output to the speaker,
// bits 2-3 enable parity and I/O channel check NMIs (stored, nothing raises them), bit 4 the
// refresh toggle (flips every 15.09 us: every 18 PIT ticks), bit 5 the level of counter 2's OUT,
// bits 6-7 the NMI sources (always 0). Writes keep bits 0-3. Linux's TSC calibration
// (pit_calibrate_tsc, quick_pit_calibrate) raises the gate here and polls bit 5.
#pragma once
#include <cstdint>

#include "drivers/virtual/io_bus.hpp"
#include "drivers/virtual/pit8254.hpp"

namespace system_port {

constexpr uint16_t kPort = 0x61;
constexpr uint8_t kGate2 = 0x01, kSpeaker = 0x02, kRefreshToggle = 0x10, kOut2 = 0x20;

class SystemPort {
public:
    // Gate 2 starts low (bit 0 clear). Counter 2 holds no count yet, so the time is irrelevant.
    explicit SystemPort(pit8254::Pit& pit) : pit_(&pit) { pit_->set_gate(2, false, 0); }

    io_bus::Handler handler();
    uint8_t read(uint64_t now) const;
    void write(uint8_t value, uint64_t now);

private:
    static uint32_t io_in(void* context, uint16_t port, uint8_t size);
    static void io_out(void* context, uint16_t port, uint8_t size, uint32_t value);

    pit8254::Pit* pit_;
    uint8_t control_ = 0;  // bits 3:0
};

}  // namespace system_port
