#include "vmx/guest_config.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace {

using guest_config::GuestList;
using guest_config::ModuleLine;
using guest_config::Kind;

std::string str(Str s) { return std::string(s.data, s.size); }

struct Parsed {
    bool ok;
    ModuleLine line;
    std::string error;
};

// Lines are kept alive so that the views in ModuleLine stay valid.
Parsed parse(const std::string& text, size_t index = 0)
{
    static std::deque<std::string> keep;
    keep.push_back(text);
    Parsed p;
    char error[192];
    std::memset(error, 'x', sizeof error);
    p.ok = guest_config::parse_module_line(Str(keep.back().data(), keep.back().size()), index, p.line, error,
                                           sizeof error);
    p.error = error;
    return p;
}

std::string error_of(const std::string& text, size_t index = 0)
{
    Parsed p = parse(text, index);
    EXPECT_FALSE(p.ok) << text;
    return p.error;
}

TEST(GuestConfig, FullGuestLine)
{
    Parsed p = parse("/guests/a.elf name=alpha mem=64M vcpus=2 cmdline=\"console=ttyS0 quiet\" kind=multiboot");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.error, "");
    EXPECT_FALSE(p.line.is_file);
    EXPECT_EQ(str(p.line.path), "/guests/a.elf");
    EXPECT_STREQ(p.line.guest.name, "alpha");
    EXPECT_EQ(p.line.guest.memory_bytes, 64ull << 20);
    EXPECT_EQ(p.line.guest.vcpus, 2u);
    EXPECT_EQ(str(p.line.guest.cmdline), "console=ttyS0 quiet");
    EXPECT_EQ(p.line.guest.kind, Kind::multiboot);
}

TEST(GuestConfig, DefaultsAndNameFromPath)
{
    Parsed p = parse("/guests/x.elf");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_STREQ(p.line.guest.name, "x");
    EXPECT_EQ(p.line.guest.memory_bytes, 32ull << 20);
    EXPECT_EQ(p.line.guest.vcpus, 1u);
    EXPECT_TRUE(p.line.guest.cmdline.empty());
    EXPECT_EQ(p.line.guest.kind, Kind::multiboot);
    EXPECT_EQ(p.line.guest.weight, 256u);
    EXPECT_EQ(p.line.guest.cap_percent, 0u);
    EXPECT_EQ(p.line.guest.pin_mask, 0u);

    EXPECT_STREQ(parse("/guests/my_os-2").line.guest.name, "my_os-2");
    EXPECT_STREQ(parse("/k.elf").line.guest.name, "k");
    EXPECT_STREQ(parse("/guests/linux-6.1.elf name=linux").line.guest.name, "linux");

    // name= wins over the path; a line may have no path at all.
    Parsed q = parse("name=b mem=1G");
    ASSERT_TRUE(q.ok) << q.error;
    EXPECT_STREQ(q.line.guest.name, "b");
    EXPECT_TRUE(q.line.path.empty());
    EXPECT_EQ(q.line.guest.memory_bytes, 1ull << 30);

    // cmdline="" and cmdline= are empty command lines.
    EXPECT_TRUE(parse("name=c cmdline=\"\"").ok);
    EXPECT_TRUE(parse("name=c cmdline=").ok);

    Parsed r = parse("  /g/boot.bin   kind=realmode\n");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_STREQ(r.line.guest.name, "boot");
    EXPECT_EQ(r.line.guest.kind, Kind::realmode);
}

TEST(GuestConfig, NameErrors)
{
    EXPECT_EQ(error_of("/guests/linux-6.1.elf", 2),
              "module 3 (/guests/linux-6.1.elf): cannot take a guest name from the file name: 'linux-6.1' is not 1 to "
              "31 characters of A-Z a-z 0-9 _ - (add name=)");
    EXPECT_EQ(error_of("/guests/.hidden"),
              "module 1 (/guests/.hidden): cannot take a guest name from the file name: '.hidden' is not 1 to 31 "
              "characters of A-Z a-z 0-9 _ - (add name=)");
    EXPECT_EQ(error_of("/guests/"), "module 1 (/guests/): cannot take a guest name from the file name: '' is not 1 to 31 "
                                    "characters of A-Z a-z 0-9 _ - (add name=)");
    EXPECT_EQ(error_of("mem=64M", 1), "module 2: no name= and no file path to take the guest's name from");
    EXPECT_EQ(error_of(""), "module 1: no name= and no file path to take the guest's name from");
    EXPECT_EQ(error_of("/g.elf name=a.b"),
              "module 1 (/g.elf): bad value 'a.b' for name= (expected 1 to 31 characters of A-Z a-z 0-9 _ -)");
    EXPECT_EQ(error_of("/g.elf name=abcdefghijklmnopqrstuvwxyz123456"),
              "module 1 (/g.elf): bad value 'abcdefghijklmnopqrstuvwxyz123456' for name= (expected 1 to 31 characters "
              "of A-Z a-z 0-9 _ -)");
    Parsed longest = parse("/g.elf name=abcdefghijklmnopqrstuvwxyz12345");
    ASSERT_TRUE(longest.ok);
    EXPECT_STREQ(longest.line.guest.name, "abcdefghijklmnopqrstuvwxyz12345");
    EXPECT_EQ(error_of("/g.elf name="), "module 1 (/g.elf): missing value for name= (expected 1 to 31 characters of A-Z "
                                        "a-z 0-9 _ -)");
}

TEST(GuestConfig, Memory)
{
    const std::pair<const char*, uint64_t> good[] = {
        {"1M", 1ull << 20},      {"64M", 64ull << 20}, {"64m", 64ull << 20},      {"1G", 1ull << 30},
        {"3G", 3ull << 30},      {"3072M", 3ull << 30}, {"2048K", 2ull << 20},    {"1048576", 1ull << 20},
        {"0x4000000", 64ull << 20},
    };
    for (auto [text, bytes] : good) {
        Parsed p = parse(std::string("/a.elf mem=") + text);
        ASSERT_TRUE(p.ok) << text << ": " << p.error;
        EXPECT_EQ(p.line.guest.memory_bytes, bytes) << text;
    }
    const char* const bad[] = {"lots", "0", "512K", "1536K", "3073M", "4G", "64MB", "-1", "1.5G", "99999999999999999999G"};
    for (const char* text : bad)
        EXPECT_EQ(error_of(std::string("/guests/x.elf mem=") + text, 2),
                  std::string("module 3 (/guests/x.elf): bad value '") + text +
                      "' for mem= (expected a size like 64M, a multiple of 1M from 1M to 3G)");
    EXPECT_EQ(error_of("/guests/x.elf mem="),
              "module 1 (/guests/x.elf): missing value for mem= (expected a size like 64M, a multiple of 1M from 1M to "
              "3G)");
}

TEST(GuestConfig, VcpusAndStart)
{
    EXPECT_EQ(parse("/a vcpus=64").line.guest.vcpus, 64u);
    EXPECT_EQ(parse("/a vcpus=1").line.guest.vcpus, 1u);
    for (const char* text : {"0", "65", "x", "1K"})
        EXPECT_EQ(error_of(std::string("/a vcpus=") + text),
                  std::string("module 1 (/a): bad value '") + text + "' for vcpus= (expected a vCPU count from 1 to 64)");
    EXPECT_EQ(error_of("/a kind=bios"), "module 1 (/a): bad value 'bios' for kind= (expected multiboot, realmode or linux)");
}

TEST(GuestConfig, WeightAndCap)
{
    Parsed p = parse("/a weight=512 cap=150");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.line.guest.weight, 512u);
    EXPECT_EQ(p.line.guest.cap_percent, 150u);
    EXPECT_EQ(p.line.guest.pin_mask, 0u);
    EXPECT_EQ(parse("/a weight=1").line.guest.weight, 1u);
    EXPECT_EQ(parse("/a weight=65535").line.guest.weight, 65535u);
    EXPECT_EQ(parse("/a weight=0x100").line.guest.weight, 256u);
    EXPECT_EQ(parse("/a cap=1").line.guest.cap_percent, 1u);
    EXPECT_EQ(parse("/a cap=6400").line.guest.cap_percent, 6400u);
    for (const char* text : {"0", "65536", "x", "1K", "-1", "99999999999999999999"})
        EXPECT_EQ(error_of(std::string("/a weight=") + text),
                  std::string("module 1 (/a): bad value '") + text + "' for weight= (expected a weight from 1 to 65535)");
    // cap=0 is not "no cap": leave cap= out for that.
    for (const char* text : {"0", "6401", "50%", "1.5", "-1"})
        EXPECT_EQ(error_of(std::string("/a cap=") + text),
                  std::string("module 1 (/a): bad value '") + text +
                      "' for cap= (expected a percentage of one CPU from 1 to 6400)");
    EXPECT_EQ(error_of("/a weight="), "module 1 (/a): missing value for weight= (expected a weight from 1 to 65535)");
    EXPECT_EQ(error_of("/a cap=\"\""),
              "module 1 (/a): missing value for cap= (expected a percentage of one CPU from 1 to 6400)");
    EXPECT_EQ(error_of("/a weight=2 weight=3"), "module 1 (/a): weight= given twice");
}

TEST(GuestConfig, RebootAndLinuxEntry)
{
    using guest_config::LinuxEntry, guest_config::OnReboot;
    Parsed p = parse("/a");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.line.guest.on_reboot, OnReboot::end);
    EXPECT_EQ(p.line.guest.max_restarts, 0u);
    EXPECT_EQ(p.line.guest.entry, LinuxEntry::automatic);
    p = parse("/a on_reboot=restart max_restarts=3");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.line.guest.on_reboot, OnReboot::restart);
    EXPECT_EQ(p.line.guest.max_restarts, 3u);
    EXPECT_EQ(parse("/a on_reboot=end").line.guest.on_reboot, OnReboot::end);
    EXPECT_EQ(parse("/a on_reboot=restart max_restarts=65535").line.guest.max_restarts, 65535u);
    EXPECT_EQ(parse("/a kind=linux entry=32").line.guest.entry, LinuxEntry::bits32);
    EXPECT_EQ(parse("/a entry=64 kind=linux").line.guest.entry, LinuxEntry::bits64);
    EXPECT_EQ(error_of("/a on_reboot=reset"), "module 1 (/a): bad value 'reset' for on_reboot= (expected end or restart)");
    for (const char* text : {"0", "65536", "x"})
        EXPECT_EQ(error_of(std::string("/a on_reboot=restart max_restarts=") + text),
                  std::string("module 1 (/a): bad value '") + text +
                      "' for max_restarts= (expected a restart count from 1 to 65535)");
    EXPECT_EQ(error_of("/a max_restarts=2"), "module 1 (/a): max_restarts= needs on_reboot=restart");
    EXPECT_EQ(error_of("/a on_reboot=end max_restarts=2"), "module 1 (/a): max_restarts= needs on_reboot=restart");
    EXPECT_EQ(error_of("/a kind=linux entry=16"),
              "module 1 (/a): bad value '16' for entry= (expected 64 or 32 (the Linux boot protocol's entry))");
    EXPECT_EQ(error_of("/a entry=32"), "module 1 (/a): entry= applies to kind=linux guests only");
}

TEST(GuestConfig, Pin)
{
    const std::pair<const char*, uint64_t> good[] = {
        {"0", 1},
        {"3", 1ull << 3},
        {"63", 1ull << 63},
        {"0-1,3", 0b1011},
        {"3,0-1", 0b1011},
        {"1-1", 0b10},
        {"0-63", ~0ull},
        {"62-63", 3ull << 62},
        {"0,0,0-1", 0b11},      // repeats are harmless
        {"2-5,4-6", 0b1111100}, // and so are overlaps
        {"0x2-0x3", 0b1100},    // numbers as everywhere else: decimal or 0x hexadecimal
        {"\"0-1,3\"", 0b1011},
    };
    for (auto [text, mask] : good) {
        Parsed p = parse(std::string("/a pin=") + text);
        ASSERT_TRUE(p.ok) << text << ": " << p.error;
        EXPECT_EQ(p.line.guest.pin_mask, mask) << text;
    }
    // Empty items, CPUs past 63, reversed or malformed ranges, other separators.
    const char* const bad[] = {",",  "0,", ",0",    "0,,1", "64",   "0-64", "100", "3-1", "63-0", "-1",
                               "1-", "-",  "1-2-3", "a",    "0x40", "1.5",  "0;1", "0 1", "0, 1", "all"};
    for (const char* text : bad)
        EXPECT_EQ(error_of(std::string("/a pin=\"") + text + "\""),
                  std::string("module 1 (/a): bad value '") + text +
                      "' for pin= (expected CPU numbers from 0 to 63 and ranges, like 0-1,3)")
            << text;
    EXPECT_EQ(error_of("/a pin="),
              "module 1 (/a): missing value for pin= (expected CPU numbers from 0 to 63 and ranges, like 0-1,3)");
}

TEST(GuestConfig, FileLines)
{
    Parsed p = parse("/guests/initrd.img for=a cmdline=\"initrd root\"");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_TRUE(p.line.is_file);
    EXPECT_STREQ(p.line.file.guest, "a");
    EXPECT_EQ(str(p.line.file.cmdline), "initrd root");
    EXPECT_EQ(str(p.line.path), "/guests/initrd.img");

    Parsed bare = parse("for=b");
    ASSERT_TRUE(bare.ok) << bare.error;
    EXPECT_STREQ(bare.line.file.guest, "b");
    EXPECT_TRUE(bare.line.file.cmdline.empty());

    // Keys of a guest do not apply, whatever their order.
    EXPECT_EQ(error_of("/f.bin mem=64M for=a", 3),
              "module 4 (/f.bin): mem= does not apply to a file for a guest (a line with for= takes only cmdline=)");
    EXPECT_EQ(error_of("/f.bin for=a name=x"),
              "module 1 (/f.bin): name= does not apply to a file for a guest (a line with for= takes only cmdline=)");
    // Nor do the scheduler's: they are the VM's, not a file's.
    for (std::string key : {"weight", "cap", "pin"}) {
        std::string want = "module 1 (/f.bin): " + key +
                           "= does not apply to a file for a guest (a line with for= takes only cmdline=)";
        EXPECT_EQ(error_of("/f.bin for=a " + key + "=1"), want);
        EXPECT_EQ(error_of("/f.bin " + key + "=1 for=a"), want);
    }
    EXPECT_EQ(error_of("/f.bin for=a/b"), "module 1 (/f.bin): bad value 'a/b' for for= (expected the name of a guest)");
    EXPECT_EQ(error_of("/f.bin for="), "module 1 (/f.bin): missing value for for= (expected the name of a guest)");
}

TEST(GuestConfig, SyntaxAndUnknownKeys)
{
    EXPECT_EQ(error_of("/a.elf size=4"), "module 1 (/a.elf): unknown key 'size=' (keys: name, mem, vcpus, cmdline, "
                                         "kind, weight, cap, pin, on_reboot, max_restarts, entry, for)");
    EXPECT_EQ(error_of("/a.elf mem=64M mem=32M"), "module 1 (/a.elf): mem= given twice");
    EXPECT_EQ(error_of("/a.elf fast"),
              "module 1 (/a.elf): unexpected word 'fast' (expected key=value; keys: name, mem, vcpus, cmdline, kind, "
              "weight, cap, pin, on_reboot, max_restarts, entry, for)");
    // Only a leading path is skipped.
    EXPECT_EQ(error_of("name=a /b.elf"), "module 1: unexpected word '/b.elf' (expected key=value; keys: name, mem, "
                                         "vcpus, cmdline, kind, weight, cap, pin, on_reboot, max_restarts, entry, for)");
    EXPECT_EQ(error_of("/a.elf cmdline=\"oops"), "module 1 (/a.elf): unterminated quote in value of cmdline=");
    EXPECT_EQ(error_of("/a.elf =x"), "module 1 (/a.elf): missing key before '=' in =x");
}

TEST(GuestConfig, ErrorBufferIsRespected)
{
    ModuleLine line;
    char small[16];
    std::string text = "/guests/a-very-long-path.elf mem=lots";
    EXPECT_FALSE(guest_config::parse_module_line(Str(text.data(), text.size()), 0, line, small, sizeof small));
    EXPECT_STREQ(small, "module 1 (/gues");
    EXPECT_FALSE(guest_config::parse_module_line(Str(text.data(), text.size()), 0, line, nullptr, 0));
}

// ---- the whole module list ---------------------------------------------------------------------

class ModuleList {
public:
    ModuleList& add(const std::string& line)
    {
        lines_.push_back(line);
        return *this;
    }
    std::unique_ptr<GuestList> parse()
    {
        modules_.clear();
        uint32_t at = 0x400000;
        for (const std::string& l : lines_) {
            modules_.push_back(mb2::Module{at, at + 0x1000, Str(l.data(), l.size())});
            at += 0x2000;
        }
        auto list = std::make_unique<GuestList>();
        std::memset(static_cast<void*>(list.get()), 0xa5, sizeof *list);
        guest_config::parse_modules(modules_.data(), modules_.size(), *list);
        return list;
    }

private:
    std::deque<std::string> lines_;
    std::vector<mb2::Module> modules_;
};

std::vector<std::string> errors(const GuestList& l)
{
    std::vector<std::string> v;
    for (size_t i = 0; i < l.error_count; ++i) v.push_back(l.errors[i]);
    return v;
}

std::vector<std::string> names(const GuestList& l)
{
    std::vector<std::string> v;
    for (size_t i = 0; i < l.guest_count; ++i) v.push_back(l.guests[i].config.name);
    return v;
}

TEST(GuestModules, GuestsAndFiles)
{
    ModuleList m;
    m.add("/guests/initrd-a for=a cmdline=\"initrd\"") // a file may come before its guest
        .add("/guests/a.elf mem=64M vcpus=2 weight=512 cap=150 pin=0-1,3")
        .add("/guests/b.elf name=b cmdline=\"x y\"")
        .add("for=a")
        .add("/guests/r.bin kind=realmode");
    auto l = m.parse();
    EXPECT_EQ(errors(*l), std::vector<std::string>{});
    EXPECT_EQ(l->dropped_errors, 0u);
    ASSERT_EQ(names(*l), (std::vector<std::string>{"a", "b", "r"}));

    const auto& a = l->guests[0];
    EXPECT_EQ(a.module_index, 1u);
    EXPECT_EQ(a.start, 0x402000u);
    EXPECT_EQ(a.end, 0x403000u);
    EXPECT_EQ(str(a.path), "/guests/a.elf");
    EXPECT_EQ(a.config.memory_bytes, 64ull << 20);
    EXPECT_EQ(a.config.vcpus, 2u);
    EXPECT_EQ(a.config.weight, 512u);
    EXPECT_EQ(a.config.cap_percent, 150u);
    EXPECT_EQ(a.config.pin_mask, 0b1011u);
    ASSERT_EQ(a.file_count, 2u);
    EXPECT_EQ(a.files[0].module_index, 0u);
    EXPECT_EQ(a.files[0].start, 0x400000u);
    EXPECT_EQ(a.files[0].end, 0x401000u);
    EXPECT_EQ(str(a.files[0].cmdline), "initrd");
    EXPECT_EQ(str(a.files[0].path), "/guests/initrd-a");
    EXPECT_EQ(a.files[1].module_index, 3u);
    EXPECT_TRUE(a.files[1].cmdline.empty());
    EXPECT_TRUE(a.files[1].path.empty());

    EXPECT_EQ(str(l->guests[1].config.cmdline), "x y");
    EXPECT_EQ(l->guests[1].config.weight, 256u);
    EXPECT_EQ(l->guests[1].config.pin_mask, 0u);
    EXPECT_EQ(l->guests[1].file_count, 0u);
    EXPECT_EQ(l->guests[2].config.kind, Kind::realmode);
}

TEST(GuestModules, EmptyList)
{
    ModuleList m;
    auto l = m.parse();
    EXPECT_EQ(l->guest_count, 0u);
    EXPECT_EQ(l->error_count, 0u);
    EXPECT_EQ(l->dropped_errors, 0u);
}

TEST(GuestModules, BadLinesLeaveOthersRunning)
{
    ModuleList m;
    m.add("/guests/a.elf").add("/guests/x.elf mem=lots").add("/guests/c.elf").add("for=b");
    auto l = m.parse();
    EXPECT_EQ(names(*l), (std::vector<std::string>{"a", "c"}));
    EXPECT_EQ(errors(*l), (std::vector<std::string>{
                              "module 2 (/guests/x.elf): bad value 'lots' for mem= (expected a size like 64M, a "
                              "multiple of 1M from 1M to 3G)",
                              "module 4: for=b names no guest",
                          }));
}

TEST(GuestModules, FilesOfABadGuestAreDroppedQuietly)
{
    // Guest 'x' has an error; its file is not reported again as naming no guest.
    ModuleList m;
    m.add("/guests/x.elf mem=lots").add("/x.initrd for=x").add("/y.elf vcpus=0 name=y").add("for=y");
    auto l = m.parse();
    EXPECT_EQ(l->guest_count, 0u);
    EXPECT_EQ(errors(*l), (std::vector<std::string>{
                              "module 1 (/guests/x.elf): bad value 'lots' for mem= (expected a size like 64M, a "
                              "multiple of 1M from 1M to 3G)",
                              "module 3 (/y.elf): bad value '0' for vcpus= (expected a vCPU count from 1 to 64)",
                          }));
}

TEST(GuestModules, DuplicateNames)
{
    ModuleList m;
    m.add("/guests/a.elf").add("/other/a.bin").add("/guests/b.elf").add("name=a").add("for=a");
    auto l = m.parse();
    EXPECT_EQ(names(*l), (std::vector<std::string>{"b"}));
    EXPECT_EQ(errors(*l), (std::vector<std::string>{
                              "two guests named 'a' (modules 1 and 2); neither is started",
                              "two guests named 'a' (modules 1 and 4); neither is started",
                          }));
}

TEST(GuestModules, BadFileLeavesItsGuestOut)
{
    ModuleList m;
    m.add("/guests/a.elf").add("/a.initrd for=a mem=1M").add("/guests/b.elf");
    auto l = m.parse();
    EXPECT_EQ(names(*l), (std::vector<std::string>{"b"}));
    EXPECT_EQ(errors(*l), (std::vector<std::string>{
                              "module 2 (/a.initrd): mem= does not apply to a file for a guest (a line with for= takes "
                              "only cmdline=)",
                              "guest 'a' (module 1) is not started: its file (module 2) has an error",
                          }));
}

TEST(GuestModules, RealModeGuestTakesNoFiles)
{
    ModuleList m;
    m.add("/r.bin kind=realmode").add("/data for=r");
    auto l = m.parse();
    EXPECT_EQ(l->guest_count, 0u);
    EXPECT_EQ(errors(*l), (std::vector<std::string>{
                              "module 2 (/data): for=r: guest 'r' starts in real mode (kind=realmode) and takes no files",
                              "guest 'r' (module 1) is not started: its file (module 2) has an error",
                          }));
}

TEST(GuestModules, LinuxGuestTakesOneInitrd)
{
    ModuleList m;
    m.add("/bzImage name=l kind=linux mem=256M").add("/initrd.cpio.gz for=l");
    auto l = m.parse();
    ASSERT_EQ(l->guest_count, 1u);
    EXPECT_EQ(l->guests[0].config.kind, Kind::linux);
    EXPECT_EQ(l->guests[0].file_count, 1u);

    m.add("/second.cpio for=l");
    l = m.parse();
    EXPECT_EQ(l->guest_count, 0u);
    EXPECT_EQ(errors(*l), (std::vector<std::string>{
                              "module 3 (/second.cpio): for=l: guest 'l' is a Linux kernel (kind=linux) and takes one "
                              "file, its initrd",
                              "guest 'l' (module 1) is not started: its file (module 3) has an error",
                          }));
}

TEST(GuestModules, Capacities)
{
    ModuleList m;
    for (int i = 0; i < 18; ++i) m.add("name=g" + std::to_string(i));
    for (int i = 0; i < 9; ++i) m.add("for=g0");
    m.add("for=g17"); // the guest left out by capacity: dropped quietly
    auto l = m.parse();
    ASSERT_EQ(l->guest_count, 15u); // g0 goes for its 9th file
    EXPECT_STREQ(l->guests[0].config.name, "g1");
    EXPECT_EQ(errors(*l), (std::vector<std::string>{
                              "module 17: more than 16 guests; guest 'g16' is not started",
                              "module 18: more than 16 guests; guest 'g17' is not started",
                              "module 27: for=g0: guest 'g0' already has 8 files, the most a guest can have",
                              "guest 'g0' (module 1) is not started: its file (module 27) has an error",
                          }));
}

TEST(GuestModules, ErrorOverflowIsCounted)
{
    ModuleList m;
    for (int i = 0; i < 40; ++i) m.add("/x.elf mem=lots");
    auto l = m.parse();
    EXPECT_EQ(l->guest_count, 0u);
    EXPECT_EQ(l->error_count, GuestList::kMaxErrors);
    EXPECT_EQ(l->dropped_errors, 8u);
    EXPECT_EQ(std::string(l->errors[31]),
              "module 32 (/x.elf): bad value 'lots' for mem= (expected a size like 64M, a multiple of 1M from 1M to 3G)");
}

TEST(GuestModules, LongErrorsAreTruncated)
{
    ModuleList m;
    m.add("/" + std::string(300, 'p') + " mem=lots");
    auto l = m.parse();
    ASSERT_EQ(l->error_count, 1u);
    EXPECT_EQ(std::string(l->errors[0]).size(), GuestList::kErrorLength - 1);
}

} // namespace
