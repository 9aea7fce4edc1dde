#include "vmx/vm_devices.hpp"

#include <new>

#include "arch/cpu.hpp"
#include "arch/tsc.hpp"
#include "drivers/console.hpp"
#include "vmx/guest_acpi.hpp"
#include "vmx/guest_memory_map.hpp"
#include "vmx/ipi.hpp"
#include "vmx/vm.hpp"
#include "vmx/vm_reset.hpp"

namespace vm_devices {
namespace {

void print_line(void* context, Str text) { print_guest_line(*static_cast<Vm*>(context), text); }

static_assert(kMaxVms <= console::kMaxGuests, "VM i writes as console guest i");
// print_guest_line's pieces in the serial queue: "[NAME] " + up to 256 bytes + "\r\n".
constexpr size_t kGuestPieceBytes = 256;
constexpr size_t kGuestLineFrame = sizeof "[] \r\n" - 1 + guest_config::kMaxNameLength;
constexpr size_t kLongestGuestLine = kGuestLineFrame + kGuestPieceBytes;
static_assert(uart16550::Uart::kLineCapacity <= kGuestPieceBytes, "a UART line is one console line");
// What the UART's bytes can add to the queue once it reported THR empty: its FIFO's worth may
// complete the line it holds and as many lines of their own.
constexpr size_t kUartBurstBytes = kLongestGuestLine + uart16550::Uart::kFifoSize * (kGuestLineFrame + 1);
static_assert(kUartBurstBytes <= console::kSmallestGuestShare, "the UART must be able to report THR empty");

// The UART's transmitter is busy while the VM's share of the console queue could not take a
// FIFO's worth: the lines it completes always fit, and the guest waits on its own time (polling
// LSR, or for the THRE interrupt) instead of in its VM exits for the physical UART.
bool uart_ready(void* context) { return console::guest_room(static_cast<Vm*>(context)->index) >= kUartBurstBytes; }
void uart_lost(void* context) { __atomic_fetch_add(&static_cast<Vm*>(context)->devices.console_losses.uart_bytes, 1, __ATOMIC_RELAXED); }

constexpr unsigned kPitIrq = 0, kUartIrq = 4;
constexpr unsigned kPitGsi = 2;  // the MADT's override of ISA IRQ 0

// The PC's 14.31818 MHz oscillator, counted from the TSC in 32.32 fixed point (the product
// needs 128 bits: a multiplication, no division, so no libgcc). The inverse, TSC ticks per
// oscillator tick, in 44.20 fixed point, turns a PIT deadline back into a TSC value.
constexpr uint64_t kOscillatorHz = 14318180;
uint64_t oscillator_per_tsc = 0, tsc_per_oscillator = 0;

void init_clock()
{
    if (oscillator_per_tsc) return;
    uint64_t hz = tsc::frequency_hz();
    oscillator_per_tsc = (kOscillatorHz << 32) / hz;
    tsc_per_oscillator = (hz << 20) / kOscillatorHz + 1;  // rounded up: never early
}

uint64_t oscillator_ticks(uint64_t tsc) { return uint64_t((unsigned __int128)tsc * oscillator_per_tsc >> 32); }
uint64_t pit_now(void*) { return oscillator_ticks(cpu::rdtsc()) / 12; }
uint64_t pm_timer_now(void*) { return oscillator_ticks(cpu::rdtsc()) / 4; }
uint64_t tsc_of_pit_tick(uint64_t tick) { return uint64_t((unsigned __int128)(tick * 12) * tsc_per_oscillator >> 20) + 1; }

// The VGA/BIOS hole [640 KiB, 1 MiB) (vmx/guest_memory_map.hpp) holds no device and no ROM: like
// an empty ISA bus, reads float to all ones and writes go nowhere. Kernels probe it for option
// ROMs (Linux's probe_roms reads 0xC0000-0xFFFFF) and find none.
bool empty_hole_read(void*, uint64_t, uint8_t, uint64_t& value) { return value = ~0ull, true; }
bool empty_hole_write(void*, uint64_t, uint8_t, uint64_t) { return true; }

void power_off(void* context) { vms::end(*static_cast<Vm*>(context), VmEnd::power_off, 0, nullptr); }
void machine_reset(void* context) { vm_reset::request(*static_cast<Vm*>(context)); }

void deliver(void* context, const ioapic::Message& message) { ipi::deliver_message(*static_cast<Vm*>(context), message); }

// The UART's and the PIT's ports go through the VM so that the interrupt line and the timer
// deadline follow what the guest did.
void uart_changed(Vm& vm)
{
    set_isa_irq(vm, kUartIrq, vm.devices.uart.irq_level());
    __atomic_store_n(&vm.devices.uart_owes_thre, vm.devices.uart.owes_thre(), __ATOMIC_RELEASE);
}

uint32_t uart_in(void* context, uint16_t port, uint8_t size)
{
    Vm& vm = *static_cast<Vm*>(context);
    uint32_t value = vm.devices.uart.handler().in(&vm.devices.uart, port, size);
    uart_changed(vm);
    return value;
}

void uart_out(void* context, uint16_t port, uint8_t size, uint32_t value)
{
    Vm& vm = *static_cast<Vm*>(context);
    vm.devices.uart.handler().out(&vm.devices.uart, port, size, value);
    uart_changed(vm);
}

void rearm_timer(Vm& vm)
{
    uint64_t tick = vm.devices.pit.next_rising_edge(0, vm.devices.pit.now());
    uint64_t deadline = tick == pit8254::kNever ? ~0ull : tsc_of_pit_tick(tick);
    __atomic_store_n(&vm.devices.timer_deadline, deadline, __ATOMIC_RELEASE);
}

uint32_t pit_in(void* context, uint16_t port, uint8_t size)
{
    Vm& vm = *static_cast<Vm*>(context);
    return vm.devices.pit.handler().in(&vm.devices.pit, port, size);
}

void pit_out(void* context, uint16_t port, uint8_t size, uint32_t value)
{
    Vm& vm = *static_cast<Vm*>(context);
    vm.devices.pit.handler().out(&vm.devices.pit, port, size, value);
    vm.devices.pit.take_rising_edges(0, vm.devices.pit.now());  // a new count starts afresh
    rearm_timer(vm);
}

void debug_exit_written(void* context, uint32_t value)
{
    vms::end(*static_cast<Vm*>(context), VmEnd::debug_exit, value, nullptr);
}

// Wall-clock time for the RTC: the host's boot time plus TSC time since then.
uint64_t now_ns(void*)
{
    return tsc::boot_wall_clock_ns() + tsc::to_ns(cpu::rdtsc() - tsc::boot_tsc());
}

void console_flush(Vm& vm)
{
    DebugConsole& c = vm.devices.console;
    if (c.length) print_line(&vm, Str(c.line, c.length));
    c.length = 0;
}

uint32_t console_in(void*, uint16_t, uint8_t size) { return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff; }

void console_out(void* context, uint16_t, uint8_t size, uint32_t value)
{
    Vm& vm = *static_cast<Vm*>(context);
    DebugConsole& c = vm.devices.console;
    for (uint8_t i = 0; i < size; ++i) {
        char ch = char(value >> (8 * i));
        if (ch == '\n') console_flush(vm);
        else if (ch != '\r') c.line[c.length++] = ch;
        if (c.length == sizeof c.line) console_flush(vm);
    }
}

}  // namespace

void init(Vm& vm)
{
    VmDevices& d = vm.devices;
    d.uart = uart16550::Uart(uart16550::Output{nullptr, print_line, &vm, uart_ready, uart_lost});
    d.debug_exit = debug_exit::DebugExit(debug_exit::Sink{debug_exit_written, &vm});
    d.cmos = cmos_rtc::CmosRtc(cmos_rtc::TimeSource{now_ns, nullptr},
                               cmos_rtc::Config{vm.ram.size, 0, uint16_t(vm.vcpu_count)});
    d.firmware_config = fw_cfg::FwCfg(fw_cfg::Config{vm.ram.size, uint16_t(vm.vcpu_count), uint16_t(vm.vcpu_count)});
    init_clock();
    d.ioapic = ioapic::Ioapic(ioapic::Delivery{deliver, &vm});
    d.pit = pit8254::Pit(pit8254::Clock{pit_now, nullptr});
    d.port61 = system_port::SystemPort(d.pit);
    d.pci = pci_host::PciHost(pci_host::ResetSink{machine_reset, &vm});
    d.acpi_pm = acpi_pm::AcpiPm(acpi_pm::Clock{pm_timer_now, nullptr}, acpi_pm::PowerSink{power_off, &vm});
    d.kbc = kbc_reset::KbcReset(kbc_reset::ResetSink{machine_reset, &vm});
    // The SCI (GSI 9) is active low: its idle pin is high.
    d.ioapic.set_pin(guest_acpi::kSciIrq, true);

    io_bus::Handler uart = d.uart.handler();
    bool added = d.ports.add(io_bus::Handler{uart.first, uart.count, &vm, uart_in, uart_out});
    added &= d.ports.add(d.debug_exit.handler());
    added &= d.ports.add(d.cmos.handler());
    added &= d.ports.add(d.firmware_config.handler());
    added &= d.ports.add(io_bus::Handler{DebugConsole::kPort, 1, &vm, console_in, console_out});
    added &= d.ports.add(d.pics.master_handler());
    added &= d.ports.add(d.pics.slave_handler());
    added &= d.ports.add(d.pics.elcr_handler());
    io_bus::Handler pit = d.pit.handler();
    added &= d.ports.add(io_bus::Handler{pit.first, pit.count, &vm, pit_in, pit_out});
    added &= d.ports.add(d.port61.handler());
    added &= d.ports.add(d.pci.handler());
    added &= d.ports.add(d.acpi_pm.handler());
    added &= d.ports.add(d.kbc.handler());
    added &= d.mmio.add(d.ioapic.region());
    added &= d.mmio.add(mmio_bus::Region{guest_memory::kLowRamEnd, guest_memory::kHighRamBase - guest_memory::kLowRamEnd,
                                         nullptr, empty_hole_read, empty_hole_write});
    if (!added) console::error("vm {}: a device's ports or MMIO range clash (hypervisor bug)", vm.name);
}

void reset(Vm& vm)
{
    flush(vm);
    cmos_rtc::CmosRtc cmos = vm.devices.cmos;
    ConsoleLosses losses = vm.devices.console_losses;  // the end-of-run summary counts every run
    vm.devices.~VmDevices();
    new (&vm.devices) VmDevices();
    init(vm);
    vm.devices.cmos = cmos;
    vm.devices.console_losses = losses;
}

void set_isa_irq(Vm& vm, unsigned irq, bool level)
{
    vm.devices.pics.set_irq(irq, level);
    vm.devices.ioapic.set_pin(irq == kPitIrq ? kPitGsi : irq, level);
}

void update_timers(Vm& vm, uint64_t now)
{
    if (now < __atomic_load_n(&vm.devices.timer_deadline, __ATOMIC_ACQUIRE)) return;
    SpinlockGuard guard(vm.devices_lock);
    pit8254::Pit& pit = vm.devices.pit;
    if (pit.take_rising_edges(0, pit.now())) {
        // ISA interrupts are edges: a pulse (ticks missed meanwhile coalesce into one).
        set_isa_irq(vm, kPitIrq, true);
        set_isa_irq(vm, kPitIrq, false);
    }
    rearm_timer(vm);
}

void update_uart(Vm& vm)
{
    if (!__atomic_load_n(&vm.devices.uart_owes_thre, __ATOMIC_ACQUIRE)) return;
    SpinlockGuard guard(vm.devices_lock);
    vm.devices.uart.transmitter_ready();
    uart_changed(vm);
}

void print_guest_line(Vm& vm, Str text)
{
    char safe[kGuestPieceBytes];
    size_t done = 0;
    do {  // a longer line comes out as several
        size_t length = text.size - done < sizeof safe ? text.size - done : sizeof safe;
        for (size_t i = 0; i < length; ++i) {
            char c = text[done + i];
            safe[i] = (c == '\t' || (c >= 0x20 && c <= 0x7e)) ? c : '?';
        }
        char line[kLongestGuestLine];  // it holds "\n" where the queue has "\r\n": room for the NUL
        size_t line_length = format_to(line, sizeof line, "[{}] {}\n", vm.name, Str(safe, length));
        if (!console::write_for_guest(vm.index, line, line_length))
            __atomic_fetch_add(&vm.devices.console_losses.lines, 1, __ATOMIC_RELAXED);
        done += length;
    } while (done < text.size);
}

void flush(Vm& vm)
{
    vm.devices.uart.flush();
    console_flush(vm);
}

}  // namespace vm_devices
