#include "vmx/vm_devices.hpp"

#include "arch/cpu.hpp"
#include "arch/tsc.hpp"
#include "drivers/console.hpp"
#include "lib/format.hpp"
#include "vmx/vm.hpp"

namespace vm_devices {
namespace {

void print_line(void* context, Str text) { print_guest_line(*static_cast<Vm*>(context), text); }

void debug_exit_written(void* context, uint32_t value)
{
    vms::end(*static_cast<Vm*>(context), VmEnd::debug_exit, value, nullptr);
}

void reset_requested(void* context, uint16_t port, uint8_t value)
{
    char report[64];
    format_to(report, sizeof report, "port {:#x} <- 0x{:02x}", port, value);
    vms::end(*static_cast<Vm*>(context), VmEnd::reset, 0, report);
}

// The PC hole as an empty bus (see vm_devices.hpp).
bool hole_read(void*, uint64_t, uint8_t, uint64_t& value)
{
    value = ~0ull;
    return true;
}
bool hole_write(void*, uint64_t, uint8_t, uint64_t) { return true; }

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
    d.uart = uart16550::Uart(uart16550::Output{nullptr, print_line, &vm});
    d.debug_exit = debug_exit::DebugExit(debug_exit::Sink{debug_exit_written, &vm});
    d.cmos = cmos_rtc::CmosRtc(cmos_rtc::TimeSource{now_ns, nullptr},
                               cmos_rtc::Config{vm.ram.size, 0, uint16_t(vm.vcpu_count)});
    d.firmware_config = fw_cfg::FwCfg(fw_cfg::Config{vm.ram.size, uint16_t(vm.vcpu_count), uint16_t(vm.vcpu_count)});
    d.ports.add(d.uart.handler());
    d.ports.add(d.debug_exit.handler());
    d.ports.add(d.cmos.handler());
    d.ports.add(d.firmware_config.handler());
    d.ports.add(io_bus::Handler{DebugConsole::kPort, 1, &vm, console_in, console_out});
    d.reset = reset_ports::ResetPorts(reset_ports::Sink{reset_requested, &vm});
    d.ports.add(d.reset.pci_config_handler());
    d.ports.add(d.reset.keyboard_handler());
    d.mmio.add(mmio_bus::Region{guest_memory::kLowRamEnd, guest_memory::kHighRamBase - guest_memory::kLowRamEnd,
                                nullptr, hole_read, hole_write});
}

void print_guest_line(const Vm& vm, Str text)
{
    char safe[256];
    size_t done = 0;
    do {  // a longer line comes out as several
        size_t length = text.size - done < sizeof safe ? text.size - done : sizeof safe;
        for (size_t i = 0; i < length; ++i) {
            char c = text[done + i];
            safe[i] = (c == '\t' || (c >= 0x20 && c <= 0x7e)) ? c : '?';
        }
        console::print_line("[", "{}] {}", vm.name, Str(safe, length));
        done += length;
    } while (done < text.size);
}

void flush(Vm& vm)
{
    vm.devices.uart.flush();
    console_flush(vm);
}

}  // namespace vm_devices
