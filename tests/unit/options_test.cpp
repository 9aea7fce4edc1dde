#include "boot/options.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "sched/policy.hpp"

namespace {

using boot::Diagnostic;
using boot::ExitMethod;
using boot::Options;
using boot::ParseResult;
using Kind = Diagnostic::Kind;

std::string str(Str s) { return std::string(s.data, s.size); }

struct Parsed {
    Options options;
    ParseResult result;
};

// The line is kept alive in a static so that diagnostics' views stay valid in the test.
Parsed parse(const std::string& line)
{
    static std::string keep;
    keep = line;
    Parsed p;
    p.result = boot::parse_options(Str(keep.data(), keep.size()), p.options);
    return p;
}

void expect_defaults_except_serial(const Options& o)
{
    EXPECT_TRUE(o.console_serial);
    EXPECT_TRUE(o.console_fb);
    EXPECT_FALSE(o.e9);
    EXPECT_EQ(o.exit, ExitMethod::acpi);
    EXPECT_EQ(o.max_cpus, 0u);
    EXPECT_EQ(o.ap_timeout_ms, 200u);
    EXPECT_STREQ(o.sched_policy, "round-robin");
    EXPECT_EQ(o.slice_us, 10000u);
    EXPECT_FALSE(o.trace_at_end);
}

void expect_one(const ParseResult& r, Kind kind, const std::string& key, const std::string& value,
                const std::string& expected)
{
    ASSERT_EQ(r.count, 1u);
    EXPECT_EQ(r.dropped, 0u);
    EXPECT_EQ(r.diagnostics[0].kind, kind);
    EXPECT_EQ(str(r.diagnostics[0].key), key);
    EXPECT_EQ(str(r.diagnostics[0].value), value);
    ASSERT_NE(r.diagnostics[0].expected, nullptr);
    EXPECT_EQ(std::string(r.diagnostics[0].expected), expected);
    EXPECT_EQ(r.has_error(), kind != Kind::unknown_key);
}

const std::string kValidKeys = "serial, console, e9, exit, cpus, ap_timeout, selftest, sched, slice, sched_trace, vpid, preemption";
const std::string kSerialExpected = "com1, com2, com3, com4, a port number from 1 to 0xffff, or off";
const std::string kSchedExpected =
    "a scheduling policy (round-robin, credit, lock-holder-aware, gang, relaxed-co, balance)";

TEST(Options, EmptyLineKeepsDefaults)
{
    auto p = parse("");
    EXPECT_EQ(p.result.count, 0u);
    EXPECT_FALSE(p.result.has_error());
    EXPECT_EQ(p.options.serial_port, 0x3f8);
    expect_defaults_except_serial(p.options);
}

TEST(Options, ValidKeys) { EXPECT_EQ(str(boot::valid_keys()), kValidKeys); }

TEST(Options, SerialValid)
{
    const std::pair<const char*, uint16_t> cases[] = {
        {"com1", 0x3f8}, {"com2", 0x2f8}, {"com3", 0x3e8}, {"com4", 0x2e8}, {"off", 0},
        {"0x2f8", 0x2f8}, {"0X2F8", 0x2f8}, {"760", 0x2f8}, {"1", 1}, {"0xffff", 0xffff}, {"65535", 0xffff},
    };
    for (auto [value, port] : cases) {
        auto p = parse(std::string("serial=") + value);
        EXPECT_EQ(p.result.count, 0u) << value;
        EXPECT_EQ(p.options.serial_port, port) << value;
        expect_defaults_except_serial(p.options);
    }
}

TEST(Options, SerialInvalid)
{
    for (const char* value : {"com5", "COM1", "0", "0x0", "0x10000", "65536", "-1", "3f8", "on", "com1x"}) {
        auto p = parse(std::string("serial=") + value);
        expect_one(p.result, Kind::bad_value, "serial", value, kSerialExpected);
        EXPECT_EQ(p.options.serial_port, 0x3f8) << value;
    }
}

TEST(Options, Console)
{
    struct Case {
        const char* value;
        bool serial, fb;
    };
    const Case cases[] = {
        {"serial", true, false}, {"fb", false, true}, {"serial,fb", true, true},
        {"fb,serial", true, true}, {"fb,fb", false, true}, {"\"fb,serial\"", true, true},
    };
    for (const Case& c : cases) {
        auto p = parse(std::string("console=") + c.value);
        EXPECT_EQ(p.result.count, 0u) << c.value;
        EXPECT_EQ(p.options.console_serial, c.serial) << c.value;
        EXPECT_EQ(p.options.console_fb, c.fb) << c.value;
        EXPECT_EQ(p.options.serial_port, 0x3f8) << c.value; // serial= still picks the port
    }
    // A later console= replaces the whole list.
    auto p = parse("console=fb console=serial");
    EXPECT_TRUE(p.options.console_serial);
    EXPECT_FALSE(p.options.console_fb);
    // serial= and console= are independent.
    p = parse("serial=com2 console=serial");
    EXPECT_EQ(p.result.count, 0u);
    EXPECT_EQ(p.options.serial_port, 0x2f8);
    EXPECT_FALSE(p.options.console_fb);
}

TEST(Options, ConsoleInvalid)
{
    for (const char* value : {"vga", "FB", "serial,", ",fb", "fb,,serial", "serial fb", "fb;serial", "off", "e9"}) {
        std::string line = std::string("console=\"") + value + "\"";
        auto p = parse(line);
        expect_one(p.result, Kind::bad_value, "console", value, "a comma list of serial and fb");
        EXPECT_TRUE(p.options.console_serial) << value;
        EXPECT_TRUE(p.options.console_fb) << value;
    }
    // A bad value keeps what an earlier console= chose.
    auto p = parse("console=fb console=video");
    expect_one(p.result, Kind::bad_value, "console", "video", "a comma list of serial and fb");
    EXPECT_FALSE(p.options.console_serial);
    EXPECT_TRUE(p.options.console_fb);

    p = parse("console=");
    expect_one(p.result, Kind::missing_value, "console", "", "a comma list of serial and fb");
}

TEST(Options, E9)
{
    const std::pair<const char*, bool> cases[] = {{"1", true}, {"on", true}, {"0", false}, {"off", false}};
    for (auto [value, on] : cases) {
        Options o;
        o.e9 = !on;
        std::string line = std::string("e9=") + value;
        auto r = boot::parse_options(Str(line.data(), line.size()), o);
        EXPECT_EQ(r.count, 0u) << value;
        EXPECT_EQ(o.e9, on) << value;
    }
    for (const char* value : {"2", "yes", "true", "ON"}) {
        auto p = parse(std::string("e9=") + value);
        expect_one(p.result, Kind::bad_value, "e9", value, "0, 1, on, or off");
        EXPECT_FALSE(p.options.e9);
    }
}

TEST(Options, Exit)
{
    const std::pair<const char*, ExitMethod> cases[] = {
        {"acpi", ExitMethod::acpi}, {"bochs", ExitMethod::bochs}, {"qemu", ExitMethod::qemu}, {"halt", ExitMethod::halt},
    };
    for (auto [value, method] : cases) {
        auto p = parse(std::string("exit=bochs exit=") + value);
        EXPECT_EQ(p.result.count, 0u) << value;
        EXPECT_EQ(p.options.exit, method) << value;
    }
    auto p = parse("exit=reboot");
    expect_one(p.result, Kind::bad_value, "exit", "reboot", "acpi, bochs, qemu, or halt");
    EXPECT_EQ(p.options.exit, ExitMethod::acpi);
}

TEST(Options, Cpus)
{
    EXPECT_EQ(parse("cpus=1").options.max_cpus, 1u);
    EXPECT_EQ(parse("cpus=4096").options.max_cpus, 4096u);
    EXPECT_EQ(parse("cpus=0x10").options.max_cpus, 16u);
    for (const char* value : {"0", "4097", "x", "1K", "99999999999999999999999"}) {
        auto p = parse(std::string("cpus=") + value);
        expect_one(p.result, Kind::bad_value, "cpus", value, "a CPU count from 1 to 4096");
        EXPECT_EQ(p.options.max_cpus, 0u);
    }
}

TEST(Options, ApTimeout)
{
    EXPECT_EQ(parse("ap_timeout=1").options.ap_timeout_ms, 1u);
    EXPECT_EQ(parse("ap_timeout=10000").options.ap_timeout_ms, 10000u);
    for (const char* value : {"0", "10001", "5ms"}) {
        auto p = parse(std::string("ap_timeout=") + value);
        expect_one(p.result, Kind::bad_value, "ap_timeout", value, "milliseconds from 1 to 10000");
        EXPECT_EQ(p.options.ap_timeout_ms, 200u);
    }
}

TEST(Options, Vpid)
{
    EXPECT_TRUE(parse("").options.vpid);
    EXPECT_FALSE(parse("vpid=off").options.vpid);
    EXPECT_TRUE(parse("vpid=off vpid=on").options.vpid);
    auto p = parse("vpid=0");
    expect_one(p.result, Kind::bad_value, "vpid", "0", "on or off");
    EXPECT_TRUE(p.options.vpid);
}

TEST(Options, SelfTest)
{
    EXPECT_EQ(parse("selftest=fault-ap").options.selftest, boot::SelfTest::fault_ap);
    EXPECT_EQ(parse("selftest=fault-boot-cpu").options.selftest, boot::SelfTest::fault_boot_cpu);
    EXPECT_EQ(parse("selftest=stack-overflow").options.selftest, boot::SelfTest::stack_overflow);
    EXPECT_EQ(parse("selftest=hang-ap").options.selftest, boot::SelfTest::hang_ap);
    EXPECT_EQ(parse("selftest=smap").options.selftest, boot::SelfTest::smap);
    EXPECT_EQ(parse("selftest=fault-ap selftest=none").options.selftest, boot::SelfTest::none);
    for (const char* value : {"fault", "FAULT-AP", "1"}) {
        auto p = parse(std::string("selftest=") + value);
        expect_one(p.result, Kind::bad_value, "selftest", value, "none, fault-ap, fault-boot-cpu, stack-overflow, hang-ap, or smap");
        EXPECT_EQ(p.options.selftest, boot::SelfTest::none);
    }
}

TEST(Options, Sched)
{
    auto p = parse("sched=round-robin");
    EXPECT_EQ(p.result.count, 0u);
    // The registry's own name pointer, not a view into the command line.
    EXPECT_EQ(p.options.sched_policy, sched::find_policy("round-robin")->name);
    EXPECT_STREQ(p.options.sched_policy, "round-robin");
    EXPECT_EQ(parse("sched=\"round-robin\"").result.count, 0u);
    for (const char* value : {"roundrobin", "Round-Robin", "round-robin,credit", "fifo", "1"}) {
        auto bad = parse(std::string("sched=") + value);
        expect_one(bad.result, Kind::bad_value, "sched", value, kSchedExpected);
        EXPECT_STREQ(bad.options.sched_policy, "round-robin") << value;
    }
    p = parse("sched=");
    expect_one(p.result, Kind::missing_value, "sched", "", kSchedExpected);
}

// The expected text is written out (the registry is not a compile-time table): it must name every
// registered policy, and the default must be one of them.
TEST(Options, SchedExpectedNamesEveryPolicy)
{
    ASSERT_NE(sched::find_policy(Options{}.sched_policy), nullptr);
    auto p = parse("sched=?");
    ASSERT_EQ(p.result.count, 1u);
    const std::string expected = p.result.diagnostics[0].expected;
    std::set<std::string> listed; // the names between the parentheses, ", "-separated
    size_t open = expected.find('('), close = expected.find(')');
    ASSERT_LT(open, close);
    ASSERT_NE(close, std::string::npos);
    for (size_t at = open + 1;;) {
        size_t end = std::min(expected.find(", ", at), close);
        listed.insert(expected.substr(at, end - at));
        if (end == close) break;
        at = end + 2;
    }
    for (const sched::Policy* const* policy = sched::kPolicies; *policy; ++policy) {
        std::string name = (*policy)->name;
        EXPECT_EQ(listed.count(name), 1u) << name << " is missing from sched='s expected text";
        p = parse("sched=" + name);
        EXPECT_EQ(p.result.count, 0u) << name;
        EXPECT_EQ(p.options.sched_policy, (*policy)->name);
    }
}

TEST(Options, Slice)
{
    EXPECT_EQ(parse("slice=100").options.slice_us, 100u);
    EXPECT_EQ(parse("slice=1000000").options.slice_us, 1000000u);
    EXPECT_EQ(parse("slice=0x3e8").options.slice_us, 1000u);
    EXPECT_EQ(parse("slice=5000 slice=30000").options.slice_us, 30000u);
    for (const char* value : {"0", "99", "1000001", "10ms", "1K", "-1", "99999999999999999999999"}) {
        auto p = parse(std::string("slice=") + value);
        expect_one(p.result, Kind::bad_value, "slice", value, "microseconds from 100 to 1000000");
        EXPECT_EQ(p.options.slice_us, 10000u) << value;
    }
    auto p = parse("slice=");
    expect_one(p.result, Kind::missing_value, "slice", "", "microseconds from 100 to 1000000");
}

TEST(Options, SchedTrace)
{
    EXPECT_TRUE(parse("sched_trace=end").options.trace_at_end);
    EXPECT_FALSE(parse("sched_trace=end sched_trace=off").options.trace_at_end);
    for (const char* value : {"on", "1", "END", "start"}) {
        auto p = parse(std::string("sched_trace=") + value);
        expect_one(p.result, Kind::bad_value, "sched_trace", value, "off or end");
        EXPECT_FALSE(p.options.trace_at_end) << value;
    }
    auto p = parse("sched_trace");
    expect_one(p.result, Kind::missing_value, "sched_trace", "", "off or end");
}

TEST(Options, Preemption)
{
    EXPECT_EQ(parse("").options.preemption, boot::Preemption::automatic);
    EXPECT_EQ(parse("preemption=lapic").options.preemption, boot::Preemption::lapic);
    EXPECT_EQ(parse("preemption=lapic-oneshot").options.preemption, boot::Preemption::lapic_one_shot);
    EXPECT_EQ(parse("preemption=lapic preemption=auto").options.preemption, boot::Preemption::automatic);
    for (const char* value : {"vmx", "LAPIC", "lapic-deadline", "1"}) {
        auto p = parse(std::string("preemption=") + value);
        expect_one(p.result, Kind::bad_value, "preemption", value, "auto, lapic, or lapic-oneshot");
        EXPECT_EQ(p.options.preemption, boot::Preemption::automatic) << value;
    }
}

TEST(Options, AllKeysTogether)
{
    auto p = parse("/boot/matryoshka.elf serial=0x2e8 console=fb e9=on exit=halt cpus=8 ap_timeout=500 "
                   "sched=round-robin slice=2000 sched_trace=end preemption=lapic");
    EXPECT_EQ(p.result.count, 0u);
    EXPECT_EQ(p.options.serial_port, 0x2e8);
    EXPECT_FALSE(p.options.console_serial);
    EXPECT_TRUE(p.options.console_fb);
    EXPECT_TRUE(p.options.e9);
    EXPECT_EQ(p.options.exit, ExitMethod::halt);
    EXPECT_EQ(p.options.max_cpus, 8u);
    EXPECT_EQ(p.options.ap_timeout_ms, 500u);
    EXPECT_STREQ(p.options.sched_policy, "round-robin");
    EXPECT_EQ(p.options.slice_us, 2000u);
    EXPECT_TRUE(p.options.trace_at_end);
    EXPECT_EQ(p.options.preemption, boot::Preemption::lapic);
}

TEST(Options, MissingValue)
{
    auto p = parse("serial=");
    expect_one(p.result, Kind::missing_value, "serial", "", kSerialExpected);
    EXPECT_EQ(p.options.serial_port, 0x3f8);

    p = parse("e9");
    expect_one(p.result, Kind::missing_value, "e9", "", "0, 1, on, or off");

    p = parse("cpus=\"\"");
    expect_one(p.result, Kind::missing_value, "cpus", "", "a CPU count from 1 to 4096");
}

TEST(Options, UnknownKeyIsAWarning)
{
    auto p = parse("verbose=2 cpus=2");
    expect_one(p.result, Kind::unknown_key, "verbose", "2", kValidKeys);
    EXPECT_EQ(p.options.max_cpus, 2u);

    p = parse("quiet");
    expect_one(p.result, Kind::unknown_key, "quiet", "", kValidKeys);

    // Keys are case-sensitive.
    p = parse("CPUS=2");
    expect_one(p.result, Kind::unknown_key, "CPUS", "2", kValidKeys);
    EXPECT_EQ(p.options.max_cpus, 0u);
}

TEST(Options, PathWordIgnored)
{
    auto p = parse("/boot/matryoshka e9=1 /x");
    EXPECT_EQ(p.result.count, 0u);
    EXPECT_TRUE(p.options.e9);

    // Only a bare word is a path: with '=' it is an unknown key.
    p = parse("/boot/x=1");
    expect_one(p.result, Kind::unknown_key, "/boot/x", "1", kValidKeys);
}

TEST(Options, LaterDuplicateOverrides)
{
    auto p = parse("cpus=2 serial=off cpus=8 serial=com3");
    EXPECT_EQ(p.result.count, 0u);
    EXPECT_EQ(p.options.max_cpus, 8u);
    EXPECT_EQ(p.options.serial_port, 0x3e8);
}

TEST(Options, BadDuplicateKeepsEarlierValue)
{
    auto p = parse("cpus=2 cpus=0");
    expect_one(p.result, Kind::bad_value, "cpus", "0", "a CPU count from 1 to 4096");
    EXPECT_EQ(p.options.max_cpus, 2u);
}

TEST(Options, ErrorsLeaveOtherFieldsParsed)
{
    auto p = parse("serial=com2 cpus=0 exit=qemu e9=maybe ap_timeout=50");
    ASSERT_EQ(p.result.count, 2u);
    EXPECT_TRUE(p.result.has_error());
    EXPECT_EQ(p.result.diagnostics[0].kind, Kind::bad_value);
    EXPECT_EQ(str(p.result.diagnostics[0].key), "cpus");
    EXPECT_EQ(p.result.diagnostics[1].kind, Kind::bad_value);
    EXPECT_EQ(str(p.result.diagnostics[1].key), "e9");
    EXPECT_EQ(str(p.result.diagnostics[1].value), "maybe");
    EXPECT_EQ(p.options.serial_port, 0x2f8);
    EXPECT_EQ(p.options.exit, ExitMethod::qemu);
    EXPECT_EQ(p.options.ap_timeout_ms, 50u);
    EXPECT_EQ(p.options.max_cpus, 0u);
    EXPECT_FALSE(p.options.e9);
}

TEST(Options, QuotedValue)
{
    auto p = parse("exit=\"qemu\"");
    EXPECT_EQ(p.result.count, 0u);
    EXPECT_EQ(p.options.exit, ExitMethod::qemu);
}

TEST(Options, SyntaxErrorStopsParsing)
{
    auto p = parse("serial=com2 exit=\"qemu cpus=4");
    expect_one(p.result, Kind::syntax, "exit", "exit=\"qemu cpus=4", "a closing double quote");
    EXPECT_EQ(p.options.serial_port, 0x2f8);
    EXPECT_EQ(p.options.exit, ExitMethod::acpi);
    EXPECT_EQ(p.options.max_cpus, 0u);

    p = parse("=4");
    expect_one(p.result, Kind::syntax, "", "=4", "a key before '='");
}

TEST(Options, DiagnosticsBeyondCapacityAreCounted)
{
    auto p = parse("a b c d e f g h i j");
    EXPECT_EQ(p.result.count, 8u);
    EXPECT_EQ(p.result.dropped, 2u);
    EXPECT_EQ(str(p.result.diagnostics[7].key), "h");
    EXPECT_FALSE(p.result.has_error());
}

TEST(Options, DroppedErrorStillCounts)
{
    auto p = parse("a b c d e f g h cpus=0 e9=2");
    EXPECT_EQ(p.result.count, 8u);
    EXPECT_EQ(p.result.dropped, 2u);
    EXPECT_EQ(p.result.error_count, 2u);
    EXPECT_TRUE(p.result.has_error());
    for (size_t i = 0; i < p.result.count; ++i) EXPECT_EQ(p.result.diagnostics[i].kind, Kind::unknown_key);
}

} // namespace
