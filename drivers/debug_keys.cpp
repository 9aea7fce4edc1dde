#include "drivers/debug_keys.hpp"

#include "arch/cpu.hpp"
#include "arch/tsc.hpp"
#include "drivers/console.hpp"
#include "drivers/power.hpp"
#include "drivers/serial.hpp"
#include "vmx/scheduling.hpp"

namespace debug_keys {
namespace {

uint64_t last_poll;

void print_keys()
{
    console::info("debug keys: r reboot, p power off, t scheduler metrics and trace, h this list");
}

void handle(uint8_t key)
{
    switch (key) {
    case 'r': power::reboot();
    case 'p':
        console::info("power-off requested on the console");
        power::exit(power::ExitStatus::stopped);
    case 't': scheduling::dump(); return;
    case '\r':
    case '\n': return;
    default: print_keys(); return;
    }
}

}  // namespace

void poll()
{
    uint64_t now = cpu::rdtsc();
    uint64_t interval = tsc::frequency_hz() / 1000;
    if (interval && now - last_poll < interval) return;
    last_poll = now;
    uint16_t port = console::active().serial_port;
    if (!port) return;
    uint8_t key;
    // A few bytes per poll at most: a flood of input must not keep the CPU here.
    for (int i = 0; i < 4 && serial::try_read(port, key); ++i) handle(key);
}

}  // namespace debug_keys
