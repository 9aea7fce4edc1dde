#include "drivers/lapic.hpp"

#include "arch/cpu.hpp"
#include "arch/paging.hpp"

namespace lapic {
namespace {

// Register offsets (xAPIC MMIO byte offset; the x2APIC MSR is 0x800 + offset / 16, SDM Vol. 3A 10.12.1.2).
constexpr uint32_t reg_id = 0x20, reg_eoi = 0xb0, reg_svr = 0xf0, reg_icr_low = 0x300, reg_icr_high = 0x310,
                   reg_lvt_timer = 0x320, reg_lvt_thermal = 0x330, reg_lvt_perf = 0x340, reg_lvt_lint0 = 0x350,
                   reg_lvt_lint1 = 0x360, reg_lvt_error = 0x370, reg_esr = 0x280, reg_timer_initial = 0x380,
                   reg_timer_current = 0x390, reg_timer_divide = 0x3e0;
constexpr uint64_t base_enable = 1ull << 11, base_x2apic = 1ull << 10;
constexpr uint32_t lvt_masked = 1u << 16, svr_enable = 1u << 8, spurious_vector = 0xff;
constexpr uint32_t icr_pending = 1u << 12, icr_level_assert = 1u << 14;
constexpr uint32_t delivery_nmi = 4u << 8, delivery_init = 5u << 8, delivery_startup = 6u << 8;
constexpr uint32_t shorthand_all_but_self = 3u << 18;
constexpr uint32_t lvt_timer_one_shot = 0u << 17, lvt_timer_tsc_deadline = 2u << 17;
constexpr uint32_t divide_by_1 = 0xb;  // divide configuration register bits 3, 1:0 = 1011b
constexpr uint32_t msr_tsc_deadline = 0x6e0;

Mode current = Mode::xapic;
volatile uint32_t* xapic = nullptr;

uint32_t read(uint32_t reg)
{
    if (current == Mode::x2apic) return uint32_t(cpu::rdmsr(0x800 + reg / 16));
    return xapic[reg / 4];
}

void write(uint32_t reg, uint32_t value)
{
    if (current == Mode::x2apic) cpu::wrmsr(0x800 + reg / 16, value);
    else xapic[reg / 4] = value;
}

bool send_ipi(uint32_t apic_id, uint32_t command)
{
    if (current == Mode::x2apic) {
        // One 64-bit write; x2APIC has no delivery-status bit to poll (SDM Vol. 3A 10.12.9).
        cpu::wrmsr(0x800 + reg_icr_low / 16, (uint64_t(apic_id) << 32) | command);
        return true;
    }
    write(reg_icr_high, apic_id << 24);
    write(reg_icr_low, command);
    for (unsigned spins = 0; spins < 1'000'000; ++spins) {
        if (!(read(reg_icr_low) & icr_pending)) return true;
        cpu::pause();
    }
    return false;
}

}  // namespace

bool init_boot_cpu()
{
    uint64_t base = cpu::rdmsr(cpu::msr::apic_base);
    uint64_t base_address = base & ~0xfffull & ((1ull << 52) - 1);
    bool supported = cpu::cpuid(1).ecx & cpu::feature::ecx1_x2apic;
    current = (supported || (base & base_x2apic)) ? Mode::x2apic : Mode::xapic;
    if (current == Mode::x2apic) return true;
    xapic = static_cast<volatile uint32_t*>(paging::map_device(base_address, 4096));
    return xapic != nullptr;
}

void init_this_cpu()
{
    // Never clear EN: the xAPIC-to-x2APIC transition is legal with EN kept set (SDM Vol. 3A
    // 10.12.5), and some implementations (Bochs) never re-enable an APIC once it is disabled.
    uint64_t base = cpu::rdmsr(cpu::msr::apic_base) | base_enable;
    if (current == Mode::x2apic) base |= base_x2apic;
    cpu::wrmsr(cpu::msr::apic_base, base);
    const uint32_t local_vector_table[] = {reg_lvt_timer, reg_lvt_thermal, reg_lvt_perf,
                                           reg_lvt_lint0, reg_lvt_lint1, reg_lvt_error};
    for (uint32_t reg : local_vector_table) write(reg, lvt_masked);
    write(reg_svr, svr_enable | spurious_vector);
    if (current == Mode::xapic) write(reg_esr, 0);
}

Mode mode() { return current; }
uint32_t id() { return current == Mode::x2apic ? read(reg_id) : read(reg_id) >> 24; }

void end_of_interrupt() { write(reg_eoi, 0); }

void send_fixed(uint32_t apic_id, uint8_t vector) { send_ipi(apic_id, icr_level_assert | vector); }

bool send_init(uint32_t apic_id) { return send_ipi(apic_id, delivery_init | icr_level_assert); }
void send_nmi_to_others() { send_ipi(0, shorthand_all_but_self | delivery_nmi | icr_level_assert); }

bool send_startup(uint32_t apic_id, uint8_t vector_page)
{
    return send_ipi(apic_id, delivery_startup | icr_level_assert | vector_page);
}

void timer_use_tsc_deadline(uint8_t vector)
{
    write(reg_lvt_timer, lvt_timer_tsc_deadline | vector);
    // An xAPIC's LVT write is MMIO, weakly ordered against WRMSR: fence it so the first deadline
    // is written in TSC-deadline mode (SDM Vol. 3A 10.5.4.1).
    asm volatile("mfence" ::: "memory");
    cpu::wrmsr(msr_tsc_deadline, 0);
}

void timer_use_one_shot(uint8_t vector)
{
    write(reg_timer_divide, divide_by_1);
    write(reg_lvt_timer, lvt_timer_one_shot | vector);
    write(reg_timer_initial, 0);
}

void timer_arm_tsc_deadline(uint64_t tsc) { cpu::wrmsr(msr_tsc_deadline, tsc); }
void timer_arm_one_shot(uint32_t count) { write(reg_timer_initial, count); }
uint32_t timer_current_count() { return read(reg_timer_current); }

}  // namespace lapic
