// libFuzzer target: boot/multiboot2's MBI parser. The input is the MBI, copied to an 8-byte
// aligned buffer of exactly its size rounded up to 8 (the spec's alignment). The parser trusts
// total_size to say how much the boot loader mapped, so the harness clamps the total_size
// field to the buffer (it keeps the fuzzer's value when it is smaller or out of range, which
// the parser must reject). Checked: no read outside the buffer (ASan), views inside it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "boot/multiboot2.hpp"
#include "tests/fuzz/check.hpp"

namespace {

bool inside(const void* p, size_t n, const uint8_t* base, size_t size)
{
    auto b = static_cast<const uint8_t*>(p);
    return n == 0 || (b >= base && b <= base + size && n <= size_t(base + size - b));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 4 || size > 2 * mb2::kMaxTotalSize) return 0;
    size_t padded = (size + 7) / 8 * 8;
    std::unique_ptr<uint64_t[]> words(new uint64_t[padded / 8]);
    auto mbi = reinterpret_cast<uint8_t*>(words.get());
    std::memset(mbi, 0, padded);
    std::memcpy(mbi, data, size);
    uint32_t total;
    std::memcpy(&total, mbi, 4);
    if (total > padded && total <= mb2::kMaxTotalSize) {
        total = uint32_t(padded);
        std::memcpy(mbi, &total, 4);
    }

    static mb2::BootInfo info;
    if (mb2::parse(mbi, info) == nullptr) {
        check(info.total_size <= padded);
        check(info.memory_count <= mb2::kMaxRegions && info.module_count <= mb2::kMaxModules);
        check(inside(info.cmdline.data, info.cmdline.size, mbi, padded));
        check(inside(info.bootloader_name.data, info.bootloader_name.size, mbi, padded));
        for (size_t i = 0; i < info.module_count; ++i)
            check(inside(info.modules[i].cmdline.data, info.modules[i].cmdline.size, mbi, padded));
        if (info.rsdp) check(inside(info.rsdp, info.rsdp_length, mbi, padded));
    } else {
        check(std::memchr(info.error, 0, sizeof info.error) != nullptr);
    }
    return 0;
}
