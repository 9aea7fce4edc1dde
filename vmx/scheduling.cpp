#include "vmx/scheduling.hpp"

#include "arch/cpu.hpp"
#include "arch/paging.hpp"
#include "arch/percpu.hpp"
#include "arch/smp.hpp"
#include "arch/tsc.hpp"
#include "drivers/console.hpp"
#include "drivers/lapic.hpp"
#include "vmx/ipi.hpp"
#include "vmx/vm.hpp"

namespace scheduling {
namespace {

constexpr uint32_t kTraceEventsPerCpu = 4096;

sched::Scheduler the_scheduler;
bool started;  // the debug keys work before VMs exist (e.g. on a CPU without VT-x)
bool trace_at_end;

// A CPU running a guest exits on the host interrupt (external-interrupt exiting) and sees the
// resched flag the core set; an idle CPU polls the flag anyway.
void kick(void*, uint32_t pcpu)
{
    PerCpu& cpu = smp::cpu(pcpu);
    if (&cpu != &this_cpu()) lapic::send_fixed(cpu.apic_id, ipi::kKickVector);
}

void console_line(void*, const char* line) { console::info("{}", line); }

}  // namespace

sched::Scheduler& scheduler() { return the_scheduler; }

uint64_t ticks_per_us()
{
    uint64_t per_us = tsc::frequency_hz() / 1'000'000;
    return per_us ? per_us : 1;
}

bool init(const Config& config, FrameAllocator& frames)
{
    trace_at_end = config.trace_at_end;
    sched::Params params = sched::Params::defaults(ticks_per_us());
    params.slice = config.slice_us * ticks_per_us();
    sched::Scheduler& s = the_scheduler;
    s.configure(*config.policy, params, sched::Platform{kick, nullptr}, uint32_t(smp::cpus_online()));
    for (size_t v = 0; v < vms::count(); ++v) {
        Vm& vm = vms::get(v);
        if (!s.add_vm(vm.name, vm.weight, vm.cap_percent)) {
            console::error("scheduler: more than {} VMs", sched::kMaxVms);
            return false;
        }
        for (uint32_t i = 0; i < vm.vcpu_count; ++i) {
            Vcpu& vcpu = vm.vcpus[i];
            auto initial = vcpu.state == VcpuState::runnable ? sched::State::runnable : sched::State::blocked;
            if (!s.add_entity(vcpu.entity, &vcpu, vm.pin_mask, initial)) {
                console::error("scheduler: more than {} vCPUs", sched::kMaxEntities);
                return false;
            }
        }
    }
    for (uint32_t p = 0; p < smp::cpus_online(); ++p) {
        smp::cpu(p).sleeper_deadline = ~0ull;
        uint64_t bytes = (kTraceEventsPerCpu * sizeof(sched::TraceEvent) + 4095) & ~4095ull;
        uint64_t physical = frames.allocate(bytes);
        if (physical == FrameAllocator::kNone) continue;  // tracing is optional
        s.attach_trace(p, paging::phys_to_virt<sched::TraceEvent>(physical), kTraceEventsPerCpu);
    }
    if (const char* why = s.start(cpu::rdtsc())) {
        console::error("scheduler {}: {}", config.policy->name, why);
        return false;
    }
    size_t cpus = smp::cpus_online();
    console::info("scheduler: {} on {} CPU{}, slice {} us", config.policy->name, cpus, cpus == 1 ? "" : "s",
                  config.slice_us);
    started = true;
    return true;
}

void wake(Vcpu& vcpu)
{
    if (__atomic_load_n(&vcpu.entity.state, __ATOMIC_RELAXED) == sched::State::blocked)
        the_scheduler.wake(vcpu.entity, cpu::rdtsc());
}

void end_vm(Vm& vm)
{
    uint64_t now = cpu::rdtsc();
    for (uint32_t i = 0; i < vm.vcpu_count; ++i) the_scheduler.end(vm.vcpus[i].entity, now);
}

bool finished()
{
    for (uint32_t i = 0; i < the_scheduler.entity_count(); ++i)
        if (__atomic_load_n(&the_scheduler.entity(i).state, __ATOMIC_RELAXED) != sched::State::ended) return false;
    return true;
}

void wake_sleepers(PerCpu& cpu, uint64_t now)
{
    uint64_t earliest = ~0ull;
    for (uint32_t i = 0; i < the_scheduler.entity_count(); ++i) {
        sched::Entity& e = the_scheduler.entity(i);
        if (__atomic_load_n(&e.state, __ATOMIC_RELAXED) != sched::State::blocked || e.pcpu != cpu.index) continue;
        Vcpu& vcpu = vcpu_of(e);
        if (vcpu.wake_deadline <= now) the_scheduler.wake(e, now);
        else if (vcpu.wake_deadline < earliest) earliest = vcpu.wake_deadline;
    }
    cpu.sleeper_deadline = earliest;
}

void report_end()
{
    the_scheduler.dump_metrics(cpu::rdtsc(), sched::LineSink{console_line, nullptr});
    if (trace_at_end) the_scheduler.dump_trace(sched::LineSink{console_line, nullptr});
}

void dump()
{
    if (!started) return console::info("scheduler: not running");
    the_scheduler.dump_metrics(cpu::rdtsc(), sched::LineSink{console_line, nullptr});
    the_scheduler.dump_trace(sched::LineSink{console_line, nullptr});
}

}  // namespace scheduling
