// The boot sequence on the boot CPU: from GRUB's handoff to every CPU in VMX root.
#include "arch/cpu.hpp"
#include "arch/exceptions.hpp"
#include "arch/host_mtrr.hpp"
#include "arch/panic.hpp"
#include "arch/idt.hpp"
#include "arch/paging.hpp"
#include "arch/percpu.hpp"
#include "arch/smp.hpp"
#include "arch/tsc.hpp"
#include "boot/multiboot2.hpp"
#include "boot/options.hpp"
#include "drivers/acpi.hpp"
#include "drivers/console.hpp"
#include "drivers/lapic.hpp"
#include "drivers/power.hpp"
#include "lib/frame_allocator.hpp"
#include "vmx/capabilities.hpp"
#include "sched/policy.hpp"
#include "vmx/scheduling.hpp"
#include "vmx/slice_timer.hpp"
#include "vmx/vcpu_loop.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmx_root.hpp"

void run_global_constructors();
extern "C" uint64_t boot_handoff_tsc;  // in .boot, linked at its physical address
extern "C" char image_end[], boot_stack_top[];

namespace {

constexpr uint64_t kImagePhysicalStart = 0x200000;  // linker.ld
constexpr uint32_t kVmxTimeoutMs = 1000;

PerCpu boot_cpu;
// Each IST stack above its guard page (boot/entry.asm does the same for the kernel stack).
alignas(4096) uint8_t boot_ist_stacks[Ist::count][kGuardSize + kIstStackSize];

mb2::BootInfo boot_info;
boot::Options options;
FrameAllocator frames;
acpi::Platform platform;

[[noreturn]] void refuse(power::ExitStatus status, const char* why)
{
    console::error("{}", why);
    power::exit(status);
}

void setup_boot_cpu()
{
    boot_cpu.stack_top = uintptr_t(boot_stack_top);
    boot_cpu.stack_bottom = boot_cpu.stack_top - 16384;  // boot/entry.asm
    for (unsigned i = 0; i < Ist::count; ++i)
        boot_cpu.ist_stacks[i] = uintptr_t(boot_ist_stacks[i]) + kGuardSize + kIstStackSize;
    init_idt();
    activate_cpu(boot_cpu);
    smp::register_boot_cpu(boot_cpu);
    panic::exit_hook = [] {
        if (power::leaves_through_emulator()) power::leave(power::ExitStatus::failure);
    };
}

uint16_t serial_port() { return options.console_serial ? options.serial_port : 0; }

void read_boot_information(uint32_t mbi_physical)
{
    if (const char* error = mb2::parse(paging::phys_to_virt(mbi_physical), boot_info))
        refuse(power::ExitStatus::failure, error);

    boot::ParseResult result = boot::parse_options(boot_info.cmdline, options);
    console::configure({serial_port(), options.e9});
    power::configure(options.exit);
    console::info("Matryoshka hypervisor, loaded by {} ({})", boot_info.bootloader_name,
                  boot_info.booted_from_efi ? "UEFI" : "BIOS");
    console::info("command line: {}", boot_info.cmdline);
    for (size_t i = 0; i < result.count; ++i) {
        const boot::Diagnostic& d = result.diagnostics[i];
        using Kind = boot::Diagnostic::Kind;
        switch (d.kind) {
        case Kind::unknown_key: console::warning("unknown option '{}' ignored (valid: {})", d.key, boot::valid_keys()); break;
        case Kind::bad_value: console::error("bad value '{}' for option {} (expected {})", d.value, d.key, d.expected); break;
        case Kind::missing_value: console::error("option {} needs a value ({})", d.key, d.expected); break;
        case Kind::syntax: console::error("malformed command line at '{}': {}", d.value, d.expected); break;
        }
    }
    if (result.dropped) console::warning("{} more command-line problems not shown", result.dropped);
    if (result.has_error()) power::exit(power::ExitStatus::bad_command_line);
}

// Everything usable, minus what is in use: the first MiB (real-mode structures, the AP
// trampoline), the image, the boot information and the modules.
void init_memory(uint32_t mbi_physical)
{
    uint64_t usable = 0;
    for (size_t i = 0; i < boot_info.memory_count; ++i) {
        const mb2::MemoryRegion& r = boot_info.memory[i];
        if (r.type == 1) {
            frames.add_free(r.base, r.length);
            usable += r.length;
        }
    }
    for (size_t i = 0; i < boot_info.memory_count; ++i)
        if (boot_info.memory[i].type != 1) frames.reserve(boot_info.memory[i].base, boot_info.memory[i].length);
    frames.reserve(0, 1 << 20);
    uint64_t image_bytes = paging::virt_to_phys(image_end) - kImagePhysicalStart;
    frames.reserve(kImagePhysicalStart, image_bytes);
    frames.reserve(mbi_physical, boot_info.total_size);
    for (size_t i = 0; i < boot_info.module_count; ++i)
        frames.reserve(boot_info.modules[i].start, boot_info.modules[i].end - boot_info.modules[i].start);
    if (frames.overflowed()) console::warning("memory map too fragmented: some free memory is not used");

    if (const char* error = paging::init(frames, boot_info)) refuse(power::ExitStatus::failure, error);
    if (!install_stack_guards(boot_cpu)) refuse(power::ExitStatus::failure, "out of memory for the stack guard pages");
    console::info("memory: {} usable in {} regions, {} free; image {} at {:#x}; W^X on, SMEP {}, SMAP {}",
                  Bytes{usable}, boot_info.memory_count, Bytes{frames.free_bytes()}, Bytes{image_bytes},
                  kImagePhysicalStart, paging::smep_enabled(), paging::smap_enabled());
}

// selftest=smap: the boot CPU reads a user-accessible page, first between STAC and CLAC (SMAP
// allows it), then without: with SMAP on (CR4.SMAP, SDM Vol. 3A 4.6.1) that read is a #PF, which
// the exception handler names before the machine stops. Without SMAP the read works and an error
// says so (STAC is #UD there, so that CPU only does the second read).
void smap_selftest()
{
    constexpr uint64_t kUserPage = 0x0000'4000'0000'0000;  // the lower half holds nothing else
    constexpr uint64_t kPattern = 0x5a4d'4150'5a4d'4150;
    uint64_t frame = frames.allocate(4096);
    if (frame == FrameAllocator::kNone || !paging::map_user_page(kUserPage, frame))
        refuse(power::ExitStatus::failure, "selftest smap: out of memory for the user page");
    *paging::phys_to_virt<volatile uint64_t>(frame) = kPattern;
    auto* user = reinterpret_cast<volatile uint64_t*>(kUserPage);
    if (paging::smap_enabled()) {
        uint64_t value;
        asm volatile("stac\n mov (%1), %0\n clac" : "=r"(value) : "r"(user) : "memory");
        if (value != kPattern) refuse(power::ExitStatus::failure, "selftest smap: the user page does not read back");
        console::info("selftest smap: read user-accessible page {:#x} between STAC and CLAC: {:#x}", kUserPage, value);
    }
    console::info("selftest smap: the same read without STAC: SMAP {} it", paging::smap_enabled() ? "must stop" : "is off and lets");
    uint64_t value = *user;
    console::error("selftest smap: read user-accessible page {:#x} without STAC: {:#x}, no fault (SMAP {})", kUserPage,
                   value, paging::smap_enabled() ? "on but not effective" : "off");
    power::exit(power::ExitStatus::failure);
}

// The framebuffer console needs the hypervisor's page tables: the framebuffer may lie above
// 4 GiB and is mapped write-combining. It starts with the lines written so far.
void start_framebuffer_console()
{
    const mb2::Framebuffer& fb = boot_info.framebuffer;
    // Type 2 is GRUB saying the screen stayed in VGA text mode (gfxpayload=text under BIOS).
    if (!options.console_fb || !boot_info.has_framebuffer || fb.type == 2) return;
    if (const char* error = console::configure({serial_port(), options.e9, &fb})) {
        console::warning("framebuffer console off ({}x{}, {} bpp, type {}): {}", fb.width, fb.height, fb.bpp, fb.type,
                         error);
        return;
    }
    console::Active active = console::active();
    console::info("framebuffer console: {}x{}, {} bpp at {:#x} ({}), {}x{} characters", fb.width, fb.height, fb.bpp,
                  fb.address, active.write_combining ? "write-combining" : "uncacheable", active.columns, active.rows);
}

const void* map_firmware(void*, uint64_t physical, size_t length) { return paging::map_firmware(physical, length); }

void read_acpi()
{
    acpi::PhysicalReader reader{map_firmware, nullptr};
    const char* error = nullptr;
    if (boot_info.rsdp) {
        error = acpi::parse(boot_info.rsdp, boot_info.rsdp_length, reader, platform);
    } else if (uint64_t rsdp = acpi::scan_bios_areas(reader)) {
        error = acpi::parse_at(rsdp, reader, platform);
    } else {
        error = "no RSDP (neither in the boot information nor in the BIOS areas)";
    }
    for (size_t i = 0; i < platform.warning_count; ++i)
        console::warning("ACPI {} at {:#x}: {}", platform.warnings[i].signature, platform.warnings[i].address,
                         platform.warnings[i].message);
    if (error) {
        console::warning("ACPI unusable ({}): only the boot CPU will run, power-off by ACPI is unavailable", error);
        platform = acpi::Platform{};
        return;
    }
    size_t enabled = 0;
    for (size_t i = 0; i < platform.cpu_count; ++i) enabled += platform.cpus[i].enabled;
    console::info("ACPI: revision {} ({}), {}, MADT {}: {} CPUs ({} enabled), {} IOAPICs; S5 {}, reset register {}",
                  platform.revision, platform.oem_id, platform.uses_xsdt ? "XSDT" : "RSDT", platform.has_madt,
                  platform.cpu_count, enabled, platform.ioapic_count, platform.power.has_s5,
                  platform.power.reset_supported);
    power::use_acpi(platform.power);
}

void init_timers_and_apic()
{
    if (!lapic::init_boot_cpu()) refuse(power::ExitStatus::failure, "cannot map the local APIC");
    lapic::init_this_cpu();
    boot_cpu.apic_id = lapic::id();
    if (!tsc::calibrate()) refuse(power::ExitStatus::failure, "cannot determine the TSC frequency (no CPUID 0x15/0x16, PIT silent)");
    if (tsc::cpuid_disagreed()) console::warning("CPUID's TSC frequency does not match the PIT's measurement; using the PIT");
    console::info("local APIC: {}, boot CPU APIC ID {}; TSC {} kHz ({})",
                  lapic::mode() == lapic::Mode::x2apic ? "x2APIC" : "xAPIC", boot_cpu.apic_id,
                  tsc::frequency_hz() / 1000, tsc::source_name());
}

void hang_on_cpu_1(PerCpu& cpu)
{
    if (cpu.index == 1) cpu::halt_forever();
}

void start_cpus()
{
    smp::Limits limits{options.max_cpus, options.ap_timeout_ms};
    if (const char* error = smp::start_application_processors(platform, boot_info, frames, limits))
        console::error("CPU bring-up stopped: {}", error);
    console::info("{} of {} CPUs started", smp::cpus_online(), smp::cpus_found());
    if (options.selftest == boot::SelfTest::hang_ap && smp::cpus_online() > 1) {
        console::info("selftest hang-ap: CPU 1 never finishes; the boot CPU waits for it");
        smp::run_everywhere(hang_on_cpu_1, smp::kNoTimeout);
    }
}

void print_vmx_summary(const vmx::Features& f)
{
    console::info("VMX: revision {:#x}, VMCS region {} bytes, true controls {}", f.revision, f.vmcs_size,
                  f.true_controls);
    console::info("VMX: EPT 4-level {}, write-back {}, pages 4K{}{}, accessed/dirty {}, INVEPT {}", f.ept_4level,
                  f.ept_wb, f.ept_2m ? " 2M" : "", f.ept_1g ? " 1G" : "", f.ept_ad, f.invept);
    console::info("VMX: VPID {}, unrestricted guest {}, pause-loop exiting {}", f.vpid, f.unrestricted_guest, f.ple);
    if (!(vmx::platform().controls.proc2.value & vmx::proc2::enable_vpid))
        console::info("VMX: VPIDs not used ({}): every VM entry and exit flushes the guest's TLB entries",
                      !f.vpid ? "not supported" : !f.invvpid ? "no INVVPID" : "vpid=off");
    if (!f.unrestricted_guest)
        console::warning("VMX: no unrestricted guest: VMs that start in real mode or with paging off are refused");
    if (f.preemption_timer)
        console::info("VMX: preemption timer yes, one tick every 2^{} TSC ticks ({} kHz)", f.preemption_timer_shift,
                      (tsc::frequency_hz() >> f.preemption_timer_shift) / 1000);
    else
        console::info("VMX: preemption timer no");
    console::info("VMX: APIC virtualization: TPR shadow {}, APIC-access page {}, x2APIC mode {}, register "
                  "virtualization {}, virtual interrupt delivery {}, posted interrupts {}",
                  f.tpr_shadow, f.virtualize_apic_accesses, f.virtualize_x2apic_mode, f.apic_register_virtualization,
                  f.virtual_interrupt_delivery, f.posted_interrupts);
}

// Recurses until the stack's guard page stops it (selftest=stack-overflow).
[[gnu::noinline]] uint64_t overflow_stack(uint64_t depth)
{
    volatile uint64_t frame[64];
    frame[depth % 64] = depth;
    if (depth == ~0ull) return 0;
    return overflow_stack(depth + 1) + frame[depth % 64];
}

void enter_root_on_this_cpu(PerCpu& cpu)
{
    bool fault = (options.selftest == boot::SelfTest::fault_ap && cpu.index == 1) ||
                 (options.selftest == boot::SelfTest::fault_boot_cpu && cpu.index == 0);
    if (fault) asm volatile("ud2");
    if (options.selftest == boot::SelfTest::stack_overflow && cpu.index == 1) overflow_stack(0);
    vmx::enter_root(cpu);
}

// The boot CPU decides whether this machine can run VMs at all; then every CPU enters VMX root.
void enter_vmx_root_everywhere()
{
    char text[160];
    vmx::ControlRequests requests = vmx::matryoshka_controls;
    if (!options.vpid) requests.proc2.optional &= ~vmx::proc2::enable_vpid;
    if (const char* error = vmx::probe(requests, text, sizeof text)) refuse(power::ExitStatus::refused, error);
    const vmx::Features& features = vmx::platform().features;

    uint64_t below = features.physical_address_width_32 ? 1ull << 32 : FrameAllocator::kNone;
    for (size_t i = 0; i < smp::cpus_online(); ++i) {
        smp::cpu(i).vmxon_region = frames.allocate(4096, 4096, below);
        if (smp::cpu(i).vmxon_region == FrameAllocator::kNone) refuse(power::ExitStatus::failure, "out of memory for VMXON regions");
    }
    smp::run_everywhere(enter_root_on_this_cpu, kVmxTimeoutMs);
    uint64_t handoff_tsc = *paging::phys_to_virt<uint64_t>(uint64_t(&boot_handoff_tsc));
    uint64_t ticks = cpu::rdtsc() - handoff_tsc;

    size_t in_root = 0;
    for (size_t i = 0; i < smp::cpus_online(); ++i) {
        PerCpu& c = smp::cpu(i);
        if (c.in_vmx_root) ++in_root;
        else console::error("CPU {} (APIC ID {}): {}", c.index, c.apic_id, c.vmx_error ? c.vmx_error : "did not answer");
    }
    print_vmx_summary(features);
    console::info("{} of {} CPUs in VMX root", in_root, smp::cpus_found());
    console::info("handoff to VMX root: {} ticks", ticks);
    console::info("GRUB handoff at TSC {}", handoff_tsc);  // guests' TSC readings count from power-on too
    if (in_root != smp::cpus_found()) power::exit(power::ExitStatus::failure);
}

// What ends slices: from the pin-based controls' allowed-1 bits (the VMX-preemption timer), CPUID
// (TSC-deadline mode of the LAPIC timer) and preemption=.
void choose_slice_timer()
{
    using Wanted = slice_timer::Wanted;
    Wanted wanted = options.preemption == boot::Preemption::lapic            ? Wanted::lapic
                    : options.preemption == boot::Preemption::lapic_one_shot ? Wanted::lapic_one_shot
                                                                             : Wanted::automatic;
    bool tsc_deadline = cpu::cpuid(1).ecx & cpu::feature::ecx1_tsc_deadline;
    slice_timer::Kind kind = slice_timer::choose(wanted, vmx::platform().features.preemption_timer, tsc_deadline);
    slice_timer::init(kind);
    console::info("slice timer: {}", slice_timer::name(kind));
}

// Every VM the modules describe, run until each has ended; the status says whether all passed.
[[noreturn]] void run_virtual_machines()
{
    vms::create_all(boot_info, frames);
    if (boot_info.module_count == 0) power::exit(power::ExitStatus::success);
    if (vms::count() == 0) {
        console::error("no virtual machine could be started");
        power::exit(vms::all_refused() ? power::ExitStatus::refused : power::ExitStatus::failure);
    }
    choose_slice_timer();
    scheduling::Config config{sched::find_policy(Str(options.sched_policy)), options.slice_us, options.trace_at_end};
    if (!scheduling::init(config, frames)) power::exit(power::ExitStatus::failure);
    smp::run_everywhere(vcpu_loop::run, smp::kNoTimeout);
    scheduling::report_end();
    power::exit(vms::summarize() ? power::ExitStatus::success : power::ExitStatus::failure);
}

}  // namespace

extern "C" [[noreturn]] void kernel_main(uint32_t mbi_physical)
{
    setup_boot_cpu();
    run_global_constructors();
    read_boot_information(mbi_physical);
    init_memory(mbi_physical);
    if (options.selftest == boot::SelfTest::smap) smap_selftest();
    host_mtrr::read();
    start_framebuffer_console();
    read_acpi();
    init_timers_and_apic();
    start_cpus();
    enter_vmx_root_everywhere();
    run_virtual_machines();
}
