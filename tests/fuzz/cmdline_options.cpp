// libFuzzer target: the command-line parsers. The input (as an exact-size, not NUL-terminated
// buffer) is parsed as the hypervisor's command line (boot::parse_options, over lib/cmdline's
// Tokenizer), as a GRUB module line (guest_config::parse_module_line), and word by word by the
// Tokenizer itself. Checked: no read outside the line (ASan), every view inside it, bounded
// diagnostics, NUL-terminated error texts and guest names.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "boot/options.hpp"
#include "lib/cmdline.hpp"
#include "tests/fuzz/check.hpp"
#include "vmx/guest_config.hpp"

namespace {

bool inside(Str s, const char* base, size_t size)
{
    return s.size == 0 || (s.data >= base && s.data <= base + size && s.size <= size_t(base + size - s.data));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::vector<char> line(data, data + size);  // exact size: ASan sees over-reads
    const char* base = line.data();
    Str text(base, size);

    boot::Options options;
    boot::ParseResult result = boot::parse_options(text, options);
    check(result.count <= boot::ParseResult::kMaxDiagnostics);
    check(result.error_count <= result.count + result.dropped);
    for (size_t i = 0; i < result.count; ++i) {
        check(inside(result.diagnostics[i].key, base, size));
        check(inside(result.diagnostics[i].value, base, size));
    }

    cmdline::Tokenizer tokenizer(text);
    cmdline::Word word;
    size_t words = 0;
    while (tokenizer.next(word)) {
        check(inside(word.key, base, size) && inside(word.value, base, size));
        check(++words <= size);
    }
    if (const char* message = tokenizer.error()) {
        check(std::memchr(message, 0, 96) != nullptr);
        check(inside(tokenizer.error_key(), base, size) && inside(tokenizer.error_text(), base, size));
    }

    guest_config::ModuleLine module{};
    char error[200];
    std::memset(error, 'x', sizeof error);
    if (guest_config::parse_module_line(text, 2, module, error, sizeof error)) {
        check(inside(module.path, base, size));
        if (module.is_file) {
            check(std::memchr(module.file.guest, 0, sizeof module.file.guest) != nullptr);
            check(inside(module.file.cmdline, base, size));
        } else {
            check(std::memchr(module.guest.name, 0, sizeof module.guest.name) != nullptr);
            check(inside(module.guest.cmdline, base, size));
            check(module.guest.vcpus >= 1 && module.guest.vcpus <= guest_config::kMaxVcpus);
            check(module.guest.memory_bytes % guest_config::kMemoryGranule == 0);
            check(module.guest.weight >= 1 && module.guest.weight <= guest_config::kMaxWeight);
            check(module.guest.cap_percent <= guest_config::kMaxCapPercent);
        }
    } else {
        check(std::memchr(error, 0, sizeof error) != nullptr);
    }
    std::memset(error, 'x', sizeof error);
    guest_config::parse_module_line(text, 0, module, error, 1);  // the smallest error buffer
    check(error[0] == 0 || error[0] == 'x');
    return 0;
}
