// libFuzzer target: vmx/linux_loader. The input is a guest kernel image, loaded into a 32 MiB
// GuestRam with a command line and an initrd, and again without the initrd. Checked: no access
// outside the image or RAM (ASan), a NUL-terminated error on failure, and on success an entry,
// zero page, kernel and initrd inside RAM and not overlapping.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tests/fuzz/check.hpp"
#include "tests/fuzz/guest_ram.hpp"
#include "vmx/linux_loader.hpp"

constexpr uint64_t kRamSize = 32ull << 20;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::vector<uint8_t> image(data, data + size);  // exact size: ASan sees over-reads
    static const uint8_t initrd[] = {'0', '7', '0', '7', '0', '1', 0, 1, 2, 3};
    for (size_t initrd_size : {sizeof initrd, size_t(0)}) {
        linux_boot::LoadRequest request{};
        request.ram = fuzz_guest_ram<kRamSize>();
        request.image = image.data();
        request.image_size = image.size();
        request.cmdline = Str("console=ttyS0 quiet");
        request.initrd = initrd_size ? initrd : nullptr;
        request.initrd_size = initrd_size;
        request.acpi_rsdp = 0x9f000;
        request.guest_name = Str("fuzz");
        linux_boot::LoadResult result{};
        char error[256];
        std::memset(error, 'x', sizeof error);
        if (linux_boot::load_bzimage(request, result, error, sizeof error)) {
            check(result.kernel_start >= (1u << 20) && result.kernel_start < result.kernel_end);
            check(result.kernel_end <= kRamSize && result.entry == result.kernel_start + 0x200);
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
