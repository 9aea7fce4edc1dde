#include "arch/smp.hpp"

#include "arch/cpu.hpp"
#include "arch/paging.hpp"
#include "arch/tsc.hpp"
#include "drivers/console.hpp"
#include "drivers/debug_keys.hpp"
#include "drivers/lapic.hpp"

extern "C" const char ap_trampoline_start[], ap_trampoline_end[], ap_trampoline_params[];
extern "C" const uint64_t ap_trampoline_gdt_offset, ap_trampoline_long_mode_offset;

namespace smp {
namespace {

// Must match the parameter block in boot/ap_trampoline.asm.
struct [[gnu::packed]] TrampolineParams {
    uint16_t gdt_limit;
    uint32_t gdt_base;
    uint16_t pad0;
    uint32_t long_mode_offset;
    uint16_t code_selector;
    uint16_t pad1;
    uint32_t cr0, cr3, cr4, efer;
    uint64_t stack, cpu, entry;
};

PerCpu* cpus[kMaxCpus];
size_t online_count = 0;
size_t found_count = 1;

// Real-mode code needs a page below 1 MiB that nothing else uses: take the highest usable
// one the firmware reports under the EBDA (0x9f000 is a common EBDA start).
uint64_t find_trampoline_page(const mb2::BootInfo& boot)
{
    uint64_t best = 0;
    for (size_t i = 0; i < boot.memory_count; ++i) {
        const mb2::MemoryRegion& r = boot.memory[i];
        if (r.type != 1) continue;
        uint64_t start = (r.base + 0xfff) & ~0xfffull;
        uint64_t end = r.base + r.length < 0x9f000 ? (r.base + r.length) & ~0xfffull : 0x9f000;
        if (start < 0x1000) start = 0x1000;
        if (end >= start + 0x1000 && end - 0x1000 > best) best = end - 0x1000;
    }
    return best;
}

// One block per CPU: PerCpu, then its kernel stack, then its IST stacks, each stack above its
// guard page (unmapped from the direct map while the CPU exists).
constexpr uint64_t kPerCpuBytes = (sizeof(PerCpu) + 0xfff) & ~0xfffull;
constexpr uint64_t kCpuBlockBytes = kPerCpuBytes + kGuardSize + kStackSize + Ist::count * (kGuardSize + kIstStackSize);

void free_cpu(FrameAllocator& frames, PerCpu* cpu)
{
    restore_stack_guards(*cpu);
    frames.free(paging::virt_to_phys(cpu), kCpuBlockBytes);
}

PerCpu* allocate_cpu(FrameAllocator& frames, uint32_t index, uint32_t apic_id)
{
    uint64_t phys = frames.allocate(kCpuBlockBytes);
    if (phys == FrameAllocator::kNone) return nullptr;
    auto* base = paging::phys_to_virt<char>(phys);
    for (uint64_t i = 0; i < kCpuBlockBytes; ++i) base[i] = 0;
    auto* cpu = reinterpret_cast<PerCpu*>(base);
    cpu->index = index;
    cpu->apic_id = apic_id;
    cpu->stack_bottom = uintptr_t(base + kPerCpuBytes + kGuardSize);
    cpu->stack_top = cpu->stack_bottom + kStackSize;
    for (unsigned i = 0; i < Ist::count; ++i)
        cpu->ist_stacks[i] = cpu->stack_top + (i + 1) * (kGuardSize + kIstStackSize);
    if (!install_stack_guards(*cpu)) {
        free_cpu(frames, cpu);
        return nullptr;
    }
    return cpu;
}

// Every wait of the boot CPU for the others goes through here: queued console output goes out
// and the serial debug keys are read between short steps, so the operator can still reboot or
// power off a machine whose CPUs never answer or never finish (drivers/debug_keys.hpp).
constexpr uint64_t kWaitStepUs = 50;
void wait_step()
{
    debug_keys::poll();
    console::poll();
    tsc::delay_us(kWaitStepUs);
}

bool wait_online(PerCpu& cpu, uint64_t microseconds)
{
    for (uint64_t waited = 0; waited < microseconds; waited += kWaitStepUs) {
        if (__atomic_load_n(&cpu.online, __ATOMIC_ACQUIRE)) return true;
        wait_step();
    }
    return __atomic_load_n(&cpu.online, __ATOMIC_ACQUIRE);
}

// SDM Vol. 3A 9.4.4.1: INIT, 10 ms, SIPI, 200 us, a second SIPI only if the first was missed.
bool start_one(PerCpu& cpu, uint64_t trampoline, uint32_t timeout_ms)
{
    uint8_t vector = uint8_t(trampoline >> 12);
    if (!lapic::send_init(cpu.apic_id)) return false;
    tsc::delay_us(10'000);
    if (!lapic::send_startup(cpu.apic_id, vector)) return false;
    if (wait_online(cpu, 200)) return true;
    if (!lapic::send_startup(cpu.apic_id, vector)) return false;
    return wait_online(cpu, uint64_t(timeout_ms) * 1000);
}

}  // namespace

extern "C" [[noreturn]] void ap_main(PerCpu* self)
{
    paging::use_on_this_cpu();  // before it prints: the framebuffer's mapping needs this CPU's PAT
    activate_cpu(*self);
    lapic::init_this_cpu();
    __atomic_store_n(&self->online, true, __ATOMIC_RELEASE);
    for (;;) {
        auto work = __atomic_load_n(&self->work, __ATOMIC_ACQUIRE);
        if (!work) {
            cpu::pause();
            continue;
        }
        work(*self);
        __atomic_store_n(&self->work, nullptr, __ATOMIC_RELEASE);
    }
}

void register_boot_cpu(PerCpu& boot_cpu)
{
    cpus[0] = &boot_cpu;
    boot_cpu.online = true;
    online_count = 1;
}

const char* start_application_processors(const acpi::Platform& platform, const mb2::BootInfo& boot,
                                         FrameAllocator& frames, Limits limits)
{
    uint32_t self_id = lapic::id();
    found_count = 1;
    for (size_t i = 0; i < platform.cpu_count; ++i)
        if (platform.cpus[i].enabled && platform.cpus[i].apic_id != self_id) ++found_count;
    if (found_count == 1) return nullptr;

    uint64_t trampoline = find_trampoline_page(boot);
    if (!trampoline) return "no usable page below 1 MiB for the AP start-up code";
    size_t code_size = size_t(ap_trampoline_end - ap_trampoline_start);
    if (!paging::map_identity_code(trampoline, 4096)) return "cannot map the AP start-up page";
    auto* page = paging::phys_to_virt<char>(trampoline);
    for (size_t i = 0; i < code_size; ++i) page[i] = ap_trampoline_start[i];
    auto* params = reinterpret_cast<TrampolineParams*>(page + (ap_trampoline_params - ap_trampoline_start));
    params->gdt_base = uint32_t(trampoline + ap_trampoline_gdt_offset);
    params->long_mode_offset = uint32_t(trampoline + ap_trampoline_long_mode_offset);
    params->cr0 = uint32_t(cpu::read_cr0());
    params->cr3 = uint32_t(paging::root());
    params->cr4 = uint32_t(cpu::read_cr4() & ~cpu::cr4::vmxe);
    params->efer = uint32_t(cpu::efer::lme | cpu::efer::nxe);
    params->entry = uint64_t(ap_main);

    const char* error = nullptr;
    for (size_t i = 0; i < platform.cpu_count && !error; ++i) {
        const acpi::Cpu& entry = platform.cpus[i];
        if (!entry.enabled || entry.apic_id == self_id) continue;
        if (limits.max_cpus && online_count >= limits.max_cpus) break;
        PerCpu* cpu = allocate_cpu(frames, uint32_t(online_count), entry.apic_id);
        if (!cpu) {
            error = "out of memory for per-CPU data";
            break;
        }
        params->stack = cpu->stack_top;
        params->cpu = uint64_t(cpu);
        if (start_one(*cpu, trampoline, limits.timeout_ms)) {
            cpus[online_count++] = cpu;
            continue;
        }
        // Park it again so a late start cannot run on parameters meant for the next CPU.
        lapic::send_init(entry.apic_id);
        tsc::delay_us(10'000);
        console::warning("CPU with APIC ID {} did not start within {} ms; continuing without it", entry.apic_id,
                         limits.timeout_ms);
        free_cpu(frames, cpu);
    }
    paging::unmap_identity(trampoline, 4096);
    return error;
}

size_t cpus_found() { return found_count; }
size_t cpus_online() { return online_count; }
PerCpu& cpu(size_t index) { return *cpus[index]; }

size_t run_everywhere(void (*work)(PerCpu&), uint32_t timeout_ms)
{
    for (size_t i = 1; i < online_count; ++i) __atomic_store_n(&cpus[i]->work, work, __ATOMIC_RELEASE);
    work(*cpus[0]);
    size_t finished = 1;
    for (size_t i = 1; i < online_count; ++i) {
        uint64_t waited = 0;
        while (__atomic_load_n(&cpus[i]->work, __ATOMIC_ACQUIRE) &&
               (timeout_ms == kNoTimeout || waited < uint64_t(timeout_ms) * 1000)) {
            wait_step();
            waited += kWaitStepUs;
        }
        if (!__atomic_load_n(&cpus[i]->work, __ATOMIC_ACQUIRE)) ++finished;
    }
    return finished;
}

}  // namespace smp
