#include "vmx/guest_config.hpp"

#include "lib/cmdline.hpp"
#include "lib/format.hpp"
#include "sched/entity.hpp"
#include "vmx/guest_memory_map.hpp"

namespace guest_config {
namespace {

constexpr uint64_t kMinMemoryBytes = guest_memory::kMinRamBytes;
constexpr uint64_t kMaxMemoryBytes = guest_memory::kMaxRamBytes;
static_assert(kMinMemoryBytes % kMemoryGranule == 0 && kMaxMemoryBytes % kMemoryGranule == 0);
static_assert(kPinCpus == sched::kMaxPcpus, "pin_mask is the scheduler's affinity mask");
static_assert(kMaxCapPercent == kMaxVcpus * 100);

bool valid_name(Str name)
{
    if (name.empty() || name.size > kMaxNameLength) return false;
    for (char c : name) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

void copy_name(Str name, char (&out)[kMaxNameLength + 1])
{
    size_t n = name.size < kMaxNameLength ? name.size : kMaxNameLength;
    for (size_t i = 0; i < n; ++i) out[i] = name[i];
    out[n] = 0;
}

// "/guests/linux.elf" -> "linux": after the last '/', before the last '.' (a leading '.' stays).
Str name_from_path(Str path)
{
    size_t start = 0;
    for (size_t i = 0; i < path.size; ++i)
        if (path[i] == '/') start = i + 1;
    Str base = path.slice(start);
    size_t dot = SIZE_MAX;
    for (size_t i = 1; i < base.size; ++i)
        if (base[i] == '.') dot = i;
    return dot == SIZE_MAX ? base : base.slice(0, dot);
}

bool parse_name(Str value, ModuleLine& out)
{
    if (!valid_name(value)) return false;
    copy_name(value, out.guest.name);
    return true;
}

bool parse_mem(Str value, ModuleLine& out)
{
    uint64_t bytes;
    if (!parse_u64(value, bytes, true)) return false;
    if (bytes < kMinMemoryBytes || bytes > kMaxMemoryBytes || bytes % kMemoryGranule) return false;
    out.guest.memory_bytes = bytes;
    return true;
}

// A decimal or 0x number in [1, max] into `out`.
bool parse_count(Str value, uint64_t max, uint32_t& out)
{
    uint64_t number;
    if (!parse_u64(value, number) || number < 1 || number > max) return false;
    out = uint32_t(number);
    return true;
}

bool parse_vcpus(Str value, ModuleLine& out) { return parse_count(value, kMaxVcpus, out.guest.vcpus); }

bool parse_cmdline(Str value, ModuleLine& out)
{
    out.guest.cmdline = value;
    out.file.cmdline = value;
    return true;
}

bool parse_kind(Str value, ModuleLine& out)
{
    if (value == Str("multiboot")) out.guest.kind = Kind::multiboot;
    else if (value == Str("realmode")) out.guest.kind = Kind::realmode;
    else if (value == Str("linux")) out.guest.kind = Kind::linux;
    else return false;
    return true;
}

bool parse_weight(Str value, ModuleLine& out) { return parse_count(value, kMaxWeight, out.guest.weight); }

bool parse_cap(Str value, ModuleLine& out) { return parse_count(value, kMaxCapPercent, out.guest.cap_percent); }

bool parse_on_reboot(Str value, ModuleLine& out)
{
    if (value == Str("end")) out.guest.on_reboot = OnReboot::end;
    else if (value == Str("restart")) out.guest.on_reboot = OnReboot::restart;
    else return false;
    return true;
}

bool parse_max_restarts(Str value, ModuleLine& out)
{
    return parse_count(value, kMaxRestarts, out.guest.max_restarts);
}

bool parse_entry(Str value, ModuleLine& out)
{
    if (value == Str("64")) out.guest.entry = LinuxEntry::bits64;
    else if (value == Str("32")) out.guest.entry = LinuxEntry::bits32;
    else return false;
    return true;
}

bool parse_cpu(Str text, uint64_t& cpu) { return parse_u64(text, cpu) && cpu < kPinCpus; }

// A comma list of CPUs and ranges: "3", "0-1,3". Overlaps and repeats are harmless; an empty item
// or a reversed range is a typo, not "no CPU".
bool parse_pin(Str value, ModuleLine& out)
{
    uint64_t mask = 0;
    for (Str rest = value;;) {
        size_t comma = rest.find(',');
        Str item = rest.slice(0, comma);
        size_t dash = item.find('-');
        uint64_t first, last;
        if (!parse_cpu(item.slice(0, dash), first)) return false; // also "", "-3"
        last = first;
        if (dash != SIZE_MAX && !parse_cpu(item.slice(dash + 1), last)) return false; // also "3-", "1-2-3"
        if (last < first) return false;
        mask |= (~0ull >> (63 - last)) & (~0ull << first);
        if (comma == SIZE_MAX) break;
        rest = rest.slice(comma + 1);
    }
    out.guest.pin_mask = mask;
    return true;
}

bool parse_for(Str value, ModuleLine& out)
{
    if (!valid_name(value)) return false;
    copy_name(value, out.file.guest);
    return true;
}

enum Applies : uint8_t { kGuestLine = 1, kFileLine = 2 };

struct KeySpec {
    const char* key;
    const char* expected;
    uint8_t applies;  // Applies bits: on which kind of line the key is accepted
    bool allow_empty; // `key=` and `key=""` are values, not a missing value
    bool (*parse)(Str value, ModuleLine& out); // false: bad value
};

constexpr KeySpec kKeys[] = {
    {"name", "1 to 31 characters of A-Z a-z 0-9 _ -", kGuestLine, false, parse_name},
    {"mem", "a size like 64M, a multiple of 1M from 1M to 3G", kGuestLine, false, parse_mem},
    {"vcpus", "a vCPU count from 1 to 64", kGuestLine, false, parse_vcpus},
    {"cmdline", "any text, quoted when it has spaces", kGuestLine | kFileLine, true, parse_cmdline},
    {"kind", "multiboot, realmode or linux", kGuestLine, false, parse_kind},
    {"weight", "a weight from 1 to 65535", kGuestLine, false, parse_weight},
    {"cap", "a percentage of one CPU from 1 to 6400", kGuestLine, false, parse_cap},
    {"pin", "CPU numbers from 0 to 63 and ranges, like 0-1,3", kGuestLine, false, parse_pin},
    {"on_reboot", "end or restart", kGuestLine, false, parse_on_reboot},
    {"max_restarts", "a restart count from 1 to 65535", kGuestLine, false, parse_max_restarts},
    {"entry", "64 or 32 (the Linux boot protocol's entry)", kGuestLine, false, parse_entry},
    {"for", "the name of a guest", kFileLine, false, parse_for},
};
constexpr size_t kKeyCount = sizeof kKeys / sizeof kKeys[0];
static_assert(kKeyCount <= 32, "seen-key bitmask");

constexpr auto kKeyList = cmdline::join_keys<kKeys>();

const KeySpec* find_key(Str key)
{
    for (const auto& k : kKeys)
        if (key == Str(k.key)) return &k;
    return nullptr;
}

// Formats "module N (path): " or "module N: " and then the message.
template <class... Args>
bool fail(char* error, size_t error_size, size_t module_index, Str path, Str pattern, const Args&... args)
{
    if (!error || !error_size) return false;
    size_t n = path.empty() ? format_to(error, error_size, "module {}: ", module_index + 1)
                            : format_to(error, error_size, "module {} ({}): ", module_index + 1, path);
    format_to(error + n, error_size - n, pattern, args...);
    return false;
}

bool leading_path(const cmdline::Word& word, bool first) { return first && !word.has_value && word.key.starts_with("/"); }

// What a line is meant to be, read leniently (the line may have errors): a file for a guest, or
// a guest and its name. Used to tie a bad line to the guest it concerns.
struct Identity {
    enum class Kind : uint8_t { unknown, guest, file } kind = Kind::unknown;
    Str name; // the guest's name (for a file: its for=), valid when kind != unknown
};

Identity identify(Str line)
{
    cmdline::Tokenizer tokens(line);
    cmdline::Word word;
    Str path, name, target;
    bool has_for = false, first = true;
    while (tokens.next(word)) {
        if (leading_path(word, first)) path = word.key;
        else if (word.has_value && word.key == Str("for")) has_for = true, target = word.value;
        else if (word.has_value && word.key == Str("name")) name = word.value;
        first = false;
    }
    Identity id;
    if (has_for) {
        if (valid_name(target)) id = Identity{Identity::Kind::file, target};
        return id;
    }
    if (name.empty() && !path.empty()) name = name_from_path(path);
    if (valid_name(name)) id = Identity{Identity::Kind::guest, name};
    return id;
}

Str name_of(const Guest& g) { return Str(g.config.name); }

} // namespace

bool parse_module_line(Str line, size_t module_index, ModuleLine& out, char* error, size_t error_size)
{
    out = ModuleLine{};
    out.guest.memory_bytes = kDefaultMemoryBytes;
    out.guest.vcpus = 1;
    out.guest.kind = Kind::multiboot;
    out.guest.weight = kDefaultWeight;
    if (error && error_size) error[0] = 0;

    // First pass: the path, the kind of line, and syntax.
    cmdline::Tokenizer scan(line);
    cmdline::Word word;
    bool first = true;
    while (scan.next(word)) {
        if (leading_path(word, first)) out.path = word.key;
        if (word.has_value && word.key == Str("for")) out.is_file = true;
        first = false;
    }
    if (scan.error()) return fail(error, error_size, module_index, out.path, "{}", scan.error());
    Str path = out.path;
    uint8_t kind = out.is_file ? kFileLine : kGuestLine;

    uint32_t seen = 0;
    cmdline::Tokenizer tokens(line);
    first = true;
    while (tokens.next(word)) {
        bool was_first = first;
        first = false;
        if (leading_path(word, was_first)) continue;
        if (!word.has_value)
            return fail(error, error_size, module_index, path, "unexpected word '{}' (expected key=value; keys: {})",
                        word.key, kKeyList.text);
        const KeySpec* spec = find_key(word.key);
        if (!spec)
            return fail(error, error_size, module_index, path, "unknown key '{}=' (keys: {})", word.key, kKeyList.text);
        uint32_t bit = 1u << (spec - kKeys);
        if (seen & bit) return fail(error, error_size, module_index, path, "{}= given twice", word.key);
        seen |= bit;
        if (!(spec->applies & kind))
            return fail(error, error_size, module_index, path,
                        "{}= does not apply to a file for a guest (a line with for= takes only cmdline=)", word.key);
        if (word.value.empty() && !spec->allow_empty)
            return fail(error, error_size, module_index, path, "missing value for {}= (expected {})", word.key,
                        spec->expected);
        if (!spec->parse(word.value, out))
            return fail(error, error_size, module_index, path, "bad value '{}' for {}= (expected {})", word.value,
                        word.key, spec->expected);
    }

    if (out.guest.entry != LinuxEntry::automatic && out.guest.kind != Kind::linux)
        return fail(error, error_size, module_index, path, "entry= applies to kind=linux guests only");
    if (out.guest.max_restarts && out.guest.on_reboot != OnReboot::restart)
        return fail(error, error_size, module_index, path, "max_restarts= needs on_reboot=restart");
    if (out.is_file || out.guest.name[0]) return true;
    if (path.empty())
        return fail(error, error_size, module_index, path, "no name= and no file path to take the guest's name from");
    Str derived = name_from_path(path);
    if (!valid_name(derived))
        return fail(error, error_size, module_index, path,
                    "cannot take a guest name from the file name: '{}' is not 1 to 31 characters of A-Z a-z 0-9 _ - "
                    "(add name=)",
                    derived);
    copy_name(derived, out.guest.name);
    return true;
}

void parse_modules(const mb2::Module* modules, size_t count, GuestList& out)
{
    out.guest_count = 0;
    out.error_count = 0;
    out.dropped_errors = 0;
    auto next_error = [&out]() -> char* {
        if (out.error_count == GuestList::kMaxErrors) {
            ++out.dropped_errors;
            return nullptr;
        }
        return out.errors[out.error_count++];
    };
    // Formats an error that does not come from parse_module_line.
    auto report = [&](Str pattern, const auto&... args) {
        if (char* e = next_error()) format_to(e, GuestList::kErrorLength, pattern, args...);
    };

    // 1. Every line: guests go to the list, bad lines become errors.
    ModuleLine line;
    char scratch[GuestList::kErrorLength];
    for (size_t i = 0; i < count; ++i) {
        if (!parse_module_line(modules[i].cmdline, i, line, scratch, sizeof scratch)) {
            if (char* e = next_error()) format_to(e, GuestList::kErrorLength, "{}", scratch);
            continue;
        }
        if (line.is_file) continue;
        if (out.guest_count == GuestList::kMaxGuests) {
            fail(scratch, sizeof scratch, i, line.path, "more than {} guests; guest '{}' is not started",
                 GuestList::kMaxGuests, line.guest.name);
            if (char* e = next_error()) format_to(e, GuestList::kErrorLength, "{}", scratch);
            continue;
        }
        Guest& g = out.guests[out.guest_count++];
        g = Guest{};
        g.config = line.guest;
        g.module_index = i;
        g.start = modules[i].start;
        g.end = modules[i].end;
        g.path = line.path;
    }

    // 2. Guests sharing a name: each later one is reported against the first, then all go.
    bool drop[GuestList::kMaxGuests] = {};
    for (size_t i = 0; i < out.guest_count; ++i) {
        for (size_t j = 0; j < i; ++j) {
            if (name_of(out.guests[i]) == name_of(out.guests[j])) {
                report("two guests named '{}' (modules {} and {}); neither is started", out.guests[i].config.name,
                       out.guests[j].module_index + 1, out.guests[i].module_index + 1);
                drop[i] = drop[j] = true;
                break;
            }
        }
    }
    auto compact = [&out, &drop]() {
        size_t kept = 0;
        for (size_t i = 0; i < out.guest_count; ++i) {
            if (drop[i]) continue;
            if (kept != i) out.guests[kept] = out.guests[i];
            ++kept;
        }
        out.guest_count = kept;
        for (bool& d : drop) d = false;
    };
    compact();

    auto find_guest = [&out](Str name) -> Guest* {
        for (size_t i = 0; i < out.guest_count; ++i)
            if (name_of(out.guests[i]) == name) return &out.guests[i];
        return nullptr;
    };
    // Whether some module line is (meant as) a guest of this name: one that was left out.
    auto guest_line_exists = [&](Str name) {
        for (size_t i = 0; i < count; ++i) {
            Identity id = identify(modules[i].cmdline);
            if (id.kind == Identity::Kind::guest && id.name == name) return true;
        }
        return false;
    };

    // 3. Files join their guests. A guest is started with all its files or not at all, so a
    // file that cannot join (or whose line is bad) spoils its guest.
    size_t spoiled_by[GuestList::kMaxGuests];
    for (size_t& s : spoiled_by) s = SIZE_MAX;
    auto spoil = [&](Guest* g, size_t module_index) {
        size_t index = size_t(g - out.guests);
        if (spoiled_by[index] == SIZE_MAX) spoiled_by[index] = module_index;
    };
    for (size_t i = 0; i < count; ++i) {
        if (!parse_module_line(modules[i].cmdline, i, line, scratch, sizeof scratch)) {
            Identity id = identify(modules[i].cmdline);
            if (id.kind == Identity::Kind::file)
                if (Guest* g = find_guest(id.name)) spoil(g, i);
            continue;
        }
        if (!line.is_file) continue;
        Str target(line.file.guest);
        Guest* g = find_guest(target);
        if (!g) {
            if (!guest_line_exists(target)) {
                fail(scratch, sizeof scratch, i, line.path, "for={} names no guest", target);
                if (char* e = next_error()) format_to(e, GuestList::kErrorLength, "{}", scratch);
            }
            continue;
        }
        if (g->config.kind == Kind::realmode) {
            fail(scratch, sizeof scratch, i, line.path,
                 "for={}: guest '{}' starts in real mode (kind=realmode) and takes no files", target, target);
        } else if (g->config.kind == Kind::linux && g->file_count == 1) {
            fail(scratch, sizeof scratch, i, line.path,
                 "for={}: guest '{}' is a Linux kernel (kind=linux) and takes one file, its initrd", target, target);
        } else if (g->file_count == Guest::kMaxFiles) {
            fail(scratch, sizeof scratch, i, line.path, "for={}: guest '{}' already has {} files, the most a guest can have",
                 target, target, Guest::kMaxFiles);
        } else {
            g->files[g->file_count++] = GuestFile{i, modules[i].start, modules[i].end, line.path, line.file.cmdline};
            continue;
        }
        if (char* e = next_error()) format_to(e, GuestList::kErrorLength, "{}", scratch);
        spoil(g, i);
    }

    // 4. Spoiled guests go.
    for (size_t i = 0; i < out.guest_count; ++i) {
        if (spoiled_by[i] == SIZE_MAX) continue;
        report("guest '{}' (module {}) is not started: its file (module {}) has an error", out.guests[i].config.name,
               out.guests[i].module_index + 1, spoiled_by[i] + 1);
        drop[i] = true;
    }
    compact();
}

} // namespace guest_config
