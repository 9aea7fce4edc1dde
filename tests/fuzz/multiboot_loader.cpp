// libFuzzer target: vmx/multiboot_loader. The input is a guest kernel image, loaded into a
// 16 MiB GuestRam with every Protocol, a command line and one module, and (when it is at most
// 128 KiB) as a kind=realmode flat binary. Checked: no access outside the image or RAM
// (ASan), a NUL-terminated error on failure, and on success an entry, boot information and
// kernel inside RAM.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tests/fuzz/check.hpp"
#include "tests/fuzz/guest_ram.hpp"
#include "vmx/multiboot_loader.hpp"

constexpr uint64_t kRamSize = 16ull << 20;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::vector<uint8_t> image(data, data + size);  // exact size: ASan sees over-reads
    static const uint8_t module_bytes[] = {'i', 'n', 'i', 't', 'r', 'd', 0, 1, 2, 3};
    static const uint8_t rsdp[20] = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};
    multiboot::ModuleImage module{module_bytes, sizeof module_bytes, Str("initrd arg")};
    GuestRam ram = fuzz_guest_ram<kRamSize>();

    static const multiboot::Protocol protocols[] = {multiboot::Protocol::automatic, multiboot::Protocol::v1,
                                                    multiboot::Protocol::v2};
    for (multiboot::Protocol protocol : protocols) {
        multiboot::LoadRequest request{};
        request.ram = ram;
        request.image = image.data();
        request.image_size = image.size();
        request.cmdline = Str("console=ttyS0 quiet");
        request.modules = &module;
        request.module_count = 1;
        request.protocol = protocol;
        request.guest_name = Str("fuzz");
        request.acpi_rsdp = rsdp;
        request.acpi_rsdp_length = sizeof rsdp;
        multiboot::LoadResult result{};
        char error[160];
        std::memset(error, 'x', sizeof error);
        if (multiboot::load_multiboot(request, result, error, sizeof error)) {
            check(result.entry < kRamSize);
            check(result.ebx_info < kRamSize && result.highest_used <= kRamSize);
            check(result.kernel_start < result.kernel_end && result.kernel_end <= kRamSize);
            check(result.protocol != multiboot::Protocol::automatic);
        } else {
            check(std::memchr(error, 0, sizeof error) != nullptr);
        }
    }

    if (image.size() <= 128 * 1024) {
        multiboot::RealModeStart start{};
        char error[160];
        std::memset(error, 'x', sizeof error);
        if (multiboot::load_flat_binary(ram, image.data(), image.size(), Str("fuzz"), start, error, sizeof error))
            check(start.load_base + image.size() == 0x100000);
        else
            check(std::memchr(error, 0, sizeof error) != nullptr);
    }
    return 0;
}
