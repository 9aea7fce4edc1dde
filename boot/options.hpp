// The hypervisor's own options, from the command line the boot loader passes it.
#pragma once
#include <cstddef>
#include <cstdint>

#include "lib/str.hpp"

namespace boot {

enum class ExitMethod : uint8_t { acpi, bochs, qemu, halt };
// Deliberate faults that let the test suite check the fault path: the register dump, and that
// every CPU stops (a panic); a stack overflow that must hit a guard page; and an application
// processor that never finishes its boot work (hang_ap), so that the boot CPU waits for it forever
// and only the debug keys can end the run.
enum class SelfTest : uint8_t { none, fault_ap, fault_boot_cpu, stack_overflow, hang_ap, smap };
// What ends a scheduler's slice (vmx/slice_timer.hpp): the best timer the CPU has, or the host
// LAPIC timer even where the VMX-preemption timer exists, so that the fallback can be tested.
enum class Preemption : uint8_t { automatic, lapic, lapic_one_shot };

struct Options {
    uint16_t serial_port = 0x3f8; // 0 = serial console off
    // Key console=: which outputs carry the console. Each is used only if present: the UART
    // must answer, GRUB must have left a framebuffer.
    bool console_serial = true;
    bool console_fb = true;
    bool e9 = false;              // also write the console to the Bochs/QEMU port 0xe9
    ExitMethod exit = ExitMethod::acpi;
    uint32_t max_cpus = 0;        // 0 = all; key cpus=
    uint32_t ap_timeout_ms = 200; // key ap_timeout=
    SelfTest selftest = SelfTest::none;
    // Key sched=: the name of a policy sched::find_policy() knows. A given sched= stores the
    // registry's own string, so it outlives the command line; a name keeps sched/ types out of here.
    const char* sched_policy = "round-robin";
    uint32_t slice_us = 10000;    // key slice=: the scheduler's time slice in microseconds
    // Key sched_trace= (off or end): dump the scheduler's trace on the console at the end of the
    // run; the `t` debug key is for a dump on demand.
    bool trace_at_end = false;
    // Key vpid= (on or off): off runs VMs without VPIDs even where the CPU has them, as on a CPU
    // without (every VM entry and exit then flushes the guest's TLB entries).
    bool vpid = true;
    Preemption preemption = Preemption::automatic;  // key preemption=: auto, lapic or lapic-oneshot
};

struct Diagnostic {
    enum class Kind : uint8_t { unknown_key, bad_value, missing_value, syntax };
    Kind kind = Kind::unknown_key;
    Str key;                        // views into the parsed command line
    Str value;                      // for syntax: the offending text as written
    const char* expected = nullptr; // what is accepted; for unknown_key, the list of valid keys
};

struct ParseResult {
    static constexpr size_t kMaxDiagnostics = 8;
    Diagnostic diagnostics[kMaxDiagnostics];
    size_t count = 0;
    size_t dropped = 0;     // diagnostics past kMaxDiagnostics, not kept
    size_t error_count = 0; // errors among all diagnostics, dropped ones included

    // bad_value, missing_value and syntax are errors; unknown_key is a warning.
    bool has_error() const { return error_count != 0; }
};

// Applies each valid option to `out`, leaving options that are absent or in error as they were;
// a later duplicate key overrides an earlier one. Bare words starting with '/' (the kernel path
// GRUB may pass) are ignored. A syntax error stops parsing at the offending word.
ParseResult parse_options(Str cmdline, Options& out);

// "serial, console, e9, ...": for the warning about an unknown key.
Str valid_keys();

} // namespace boot
