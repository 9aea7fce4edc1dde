#include "arch/panic.hpp"

#include "arch/cpu.hpp"
#include "arch/percpu.hpp"
#include "arch/smp.hpp"
#include "arch/tsc.hpp"
#include "drivers/console.hpp"
#include "drivers/lapic.hpp"

namespace panic {

void (*exit_hook)() = nullptr;

namespace {

bool started = false;
size_t cpus_stopped = 0;

// Long enough for a CPU to leave guest mode and print one line at 115200 baud.
constexpr uint64_t kStopWaitUs = 100'000;

}  // namespace

bool begin()
{
    bool expected = false;
    return __atomic_compare_exchange_n(&started, &expected, true, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

bool in_progress() { return __atomic_load_n(&started, __ATOMIC_ACQUIRE); }

void stop_this_cpu()
{
    FormatSink out = console::emergency_sink();
    format(out, "matryoshka: CPU {} stopped\n", this_cpu().index);
    __atomic_add_fetch(&cpus_stopped, 1, __ATOMIC_ACQ_REL);
    cpu::halt_forever();
}

void stop_machine()
{
    FormatSink out = console::emergency_sink();
    format(out, "matryoshka: CPU {} stopped\n", this_cpu().index);
    size_t online = smp::cpus_online();
    size_t others = online > 1 ? online - 1 : 0;
    if (others) {
        lapic::send_nmi_to_others();
        for (uint64_t waited = 0; waited < kStopWaitUs && __atomic_load_n(&cpus_stopped, __ATOMIC_ACQUIRE) < others;
             waited += 100)
            tsc::delay_us(100);
    }
    size_t stopped = __atomic_load_n(&cpus_stopped, __ATOMIC_ACQUIRE);
    if (stopped < others) format(out, "matryoshka: {} of {} other CPUs did not confirm they stopped\n", others - stopped, others);
    format(out, "matryoshka: exit status 1\n");
    console::flush();
    if (exit_hook) exit_hook();
    cpu::halt_forever();
}

}  // namespace panic
