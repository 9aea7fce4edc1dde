#include "boot/options.hpp"

#include "lib/cmdline.hpp"
#include "sched/policy.hpp"

namespace boot {
namespace {

bool parse_range(Str value, uint64_t min, uint64_t max, uint64_t& out)
{
    uint64_t v;
    if (!parse_u64(value, v) || v < min || v > max) return false;
    out = v;
    return true;
}

bool parse_serial(Str value, Options& out)
{
    // Legacy COM port bases, as the BIOS data area lists them.
    static constexpr struct { const char* name; uint16_t port; } kPorts[] = {
        {"com1", 0x3f8}, {"com2", 0x2f8}, {"com3", 0x3e8}, {"com4", 0x2e8}, {"off", 0},
    };
    for (const auto& p : kPorts) {
        if (value == Str(p.name)) {
            out.serial_port = p.port;
            return true;
        }
    }
    uint64_t port;
    if (!parse_range(value, 1, 0xffff, port)) return false;
    out.serial_port = uint16_t(port);
    return true;
}

// A comma list of outputs, each at least once: "serial", "fb", "fb,serial".
bool parse_console(Str value, Options& out)
{
    bool serial = false, fb = false;
    for (Str rest = value;;) {
        size_t comma = rest.find(',');
        Str item = rest.slice(0, comma);
        if (item == Str("serial")) serial = true;
        else if (item == Str("fb")) fb = true;
        else return false; // also an empty item: "", "fb,", ",fb"
        if (comma == SIZE_MAX) break;
        rest = rest.slice(comma + 1);
    }
    out.console_serial = serial;
    out.console_fb = fb;
    return true;
}

bool parse_e9(Str value, Options& out)
{
    if (value == Str("1") || value == Str("on")) out.e9 = true;
    else if (value == Str("0") || value == Str("off")) out.e9 = false;
    else return false;
    return true;
}

bool parse_vpid(Str value, Options& out)
{
    if (value == Str("on")) out.vpid = true;
    else if (value == Str("off")) out.vpid = false;
    else return false;
    return true;
}

bool parse_exit(Str value, Options& out)
{
    static constexpr struct { const char* name; ExitMethod method; } kMethods[] = {
        {"acpi", ExitMethod::acpi}, {"bochs", ExitMethod::bochs},
        {"qemu", ExitMethod::qemu}, {"halt", ExitMethod::halt},
    };
    for (const auto& m : kMethods) {
        if (value == Str(m.name)) {
            out.exit = m.method;
            return true;
        }
    }
    return false;
}

bool parse_cpus(Str value, Options& out)
{
    uint64_t v;
    if (!parse_range(value, 1, 4096, v)) return false;
    out.max_cpus = uint32_t(v);
    return true;
}

bool parse_ap_timeout(Str value, Options& out)
{
    uint64_t v;
    if (!parse_range(value, 1, 10000, v)) return false;
    out.ap_timeout_ms = uint32_t(v);
    return true;
}

bool parse_selftest(Str value, Options& out)
{
    static constexpr struct { const char* name; SelfTest test; } kTests[] = {
        {"none", SelfTest::none}, {"fault-ap", SelfTest::fault_ap}, {"fault-boot-cpu", SelfTest::fault_boot_cpu},
        {"stack-overflow", SelfTest::stack_overflow},
        {"hang-ap", SelfTest::hang_ap}, {"smap", SelfTest::smap},
    };
    for (const auto& t : kTests) {
        if (value == Str(t.name)) {
            out.selftest = t.test;
            return true;
        }
    }
    return false;
}

bool parse_sched(Str value, Options& out)
{
    const sched::Policy* policy = sched::find_policy(value);
    if (!policy) return false;
    out.sched_policy = policy->name;
    return true;
}

bool parse_slice(Str value, Options& out)
{
    uint64_t v;
    if (!parse_range(value, 100, 1000000, v)) return false;
    out.slice_us = uint32_t(v);
    return true;
}

bool parse_sched_trace(Str value, Options& out)
{
    if (value == Str("end")) out.trace_at_end = true;
    else if (value == Str("off")) out.trace_at_end = false;
    else return false;
    return true;
}

bool parse_preemption(Str value, Options& out)
{
    static constexpr struct { const char* name; Preemption preemption; } kTimers[] = {
        {"auto", Preemption::automatic}, {"lapic", Preemption::lapic}, {"lapic-oneshot", Preemption::lapic_one_shot},
    };
    for (const auto& t : kTimers) {
        if (value == Str(t.name)) {
            out.preemption = t.preemption;
            return true;
        }
    }
    return false;
}

struct OptionSpec {
    const char* key;
    const char* expected;
    bool (*parse)(Str value, Options& out); // leaves `out` untouched when it returns false
};

constexpr OptionSpec kOptions[] = {
    {"serial", "com1, com2, com3, com4, a port number from 1 to 0xffff, or off", parse_serial},
    {"console", "a comma list of serial and fb", parse_console},
    {"e9", "0, 1, on, or off", parse_e9},
    {"exit", "acpi, bochs, qemu, or halt", parse_exit},
    {"cpus", "a CPU count from 1 to 4096", parse_cpus},
    {"ap_timeout", "milliseconds from 1 to 10000", parse_ap_timeout},
    {"selftest", "none, fault-ap, fault-boot-cpu, stack-overflow, hang-ap, or smap", parse_selftest},
    // The registry (sched/policies.cpp) is an extern table, not a compile-time one, so the list is
    // written out; Options.SchedExpectedNamesEveryPolicy checks that it names every registered policy.
    {"sched", "a scheduling policy (round-robin, credit, lock-holder-aware, gang, relaxed-co, balance)", parse_sched},
    {"slice", "microseconds from 100 to 1000000", parse_slice},
    {"sched_trace", "off or end", parse_sched_trace},
    {"vpid", "on or off", parse_vpid},
    {"preemption", "auto, lapic, or lapic-oneshot", parse_preemption},
};

constexpr auto kValidKeys = cmdline::join_keys<kOptions>();

const OptionSpec* find_option(Str key)
{
    for (const auto& o : kOptions)
        if (key == Str(o.key)) return &o;
    return nullptr;
}

void report(ParseResult& result, Diagnostic::Kind kind, Str key, Str value, const char* expected)
{
    if (kind != Diagnostic::Kind::unknown_key) ++result.error_count;
    if (result.count == ParseResult::kMaxDiagnostics) {
        ++result.dropped;
        return;
    }
    result.diagnostics[result.count++] = Diagnostic{kind, key, value, expected};
}

} // namespace

ParseResult parse_options(Str cmdline, Options& out)
{
    using Kind = Diagnostic::Kind;
    ParseResult result;
    cmdline::Tokenizer tokens(cmdline);
    cmdline::Word word;
    while (tokens.next(word)) {
        if (!word.has_value && word.key.starts_with("/")) continue;
        const OptionSpec* option = find_option(word.key);
        if (!option) report(result, Kind::unknown_key, word.key, word.value, kValidKeys.text);
        else if (word.value.empty()) report(result, Kind::missing_value, word.key, word.value, option->expected);
        else if (!option->parse(word.value, out)) report(result, Kind::bad_value, word.key, word.value, option->expected);
    }
    if (tokens.error())
        report(result, Kind::syntax, tokens.error_key(), tokens.error_text(), tokens.error_expected());
    return result;
}

Str valid_keys() { return Str(kValidKeys.text, sizeof kValidKeys.text - 1); }

} // namespace boot
