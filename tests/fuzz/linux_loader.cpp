// libFuzzer target: vmx/linux_loader. The input is a guest kernel image, loaded into a 32 MiB
// GuestRam with a command line and an initrd (automatic entry), and again without the initrd with
// the 64-bit and the 32-bit entry asked for. Checked: no access outside the image or RAM (ASan), a
// NUL-terminated error on failure, and on success the entry the request and the image allow
// (64-bit: load address + 0x200 with page tables; 32-bit: code32_start, paging off), zero page,
// kernel and initrd inside RAM and not overlapping.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "tests/fuzz/check.hpp"
#include "tests/fuzz/guest_ram.hpp"
#include "vmx/linux_loader.hpp"

constexpr uint64_t kRamSize = 32ull << 20;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::vector<uint8_t> image(data, data + size);  // exact size: ASan sees over-reads
    static const uint8_t initrd[] = {'0', '7', '0', '7', '0', '1', 0, 1, 2, 3};
    using guest_config::LinuxEntry;
    for (auto [initrd_size, entry] : {std::pair{sizeof initrd, LinuxEntry::automatic},
                                      std::pair{size_t(0), LinuxEntry::bits64}, std::pair{size_t(0), LinuxEntry::bits32}}) {
        linux_boot::LoadRequest request{};
        request.ram = fuzz_guest_ram<kRamSize>();
        request.image = image.data();
        request.image_size = image.size();
        request.cmdline = Str("console=ttyS0 quiet");
        request.initrd = initrd_size ? initrd : nullptr;
        request.initrd_size = initrd_size;
        request.acpi_rsdp = 0x9f000;
        request.guest_name = Str("fuzz");
        request.entry = entry;
        linux_boot::LoadResult result{};
        char error[256];
        std::memset(error, 'x', sizeof error);
        if (linux_boot::load_bzimage(request, result, error, sizeof error)) {
            check(result.kernel_start >= (1u << 20) && result.kernel_start < result.kernel_end);
            check(result.kernel_end <= kRamSize);
            check(result.long_mode ? result.entry == result.kernel_start + 0x200 && result.cr3 != 0
                                   : result.entry == result.kernel_start && result.cr3 == 0);
            check(entry == LinuxEntry::automatic || result.long_mode == (entry == LinuxEntry::bits64));
            check(result.zero_page + 4096 <= kRamSize);
            if (initrd_size) {
                check(result.initrd_start + initrd_size <= kRamSize && result.initrd_start >= (1u << 20));
                check(result.initrd_start >= result.kernel_end || result.initrd_start + initrd_size <= result.kernel_start);
            }
        } else {
            check(std::memchr(error, 0, sizeof error) != nullptr);
        }
    }
    return 0;
}
