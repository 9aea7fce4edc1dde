// libFuzzer target: drivers/acpi. The input is physical memory at [0xE0000, 0xE0000 + size)
// (the BIOS area the RSDP scan covers) with the RSDP at 0xE0000; every table address points
// into the same bytes. Runs parse_at(0xE0000), parse() from a copy of the RSDP, scan_bios_areas
// and find_table. The PhysicalReader hands out a fresh heap copy of exactly the bytes asked
// for and frees the previous one (a single reused window, which the interface allows), so ASan
// catches reads past a mapping and uses of a stale one.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "drivers/acpi.hpp"
#include "tests/fuzz/check.hpp"

namespace {

constexpr uint64_t kBase = 0xE0000;

struct Memory {
    const uint8_t* data;
    size_t size;
    std::unique_ptr<uint8_t[]> window;

    static const void* map(void* context, uint64_t phys, size_t length)
    {
        auto* m = static_cast<Memory*>(context);
        m->window.reset();
        if (length == 0 || phys < kBase || phys - kBase > m->size || length > m->size - (phys - kBase)) return nullptr;
        m->window.reset(new uint8_t[length]);
        std::memcpy(m->window.get(), m->data + (phys - kBase), length);
        return m->window.get();
    }
};

void check_platform(const acpi::Platform& p)
{
    check(p.cpu_count <= acpi::kMaxCpus && p.ioapic_count <= acpi::kMaxIoApics);
    check(p.override_count <= acpi::kMaxOverrides && p.nmi_count <= acpi::kMaxNmis);
    check(p.ecam_count <= acpi::kMaxEcamRegions && p.table_count <= acpi::kMaxTables);
    check(p.warning_count <= acpi::kMaxWarnings);
    for (size_t i = 0; i < p.warning_count; ++i) check(p.warnings[i].message != nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size > 256 * 1024) return 0;
    Memory memory{data, size, nullptr};
    acpi::PhysicalReader reader{&Memory::map, &memory};
    static acpi::Platform platform;

    acpi::parse_at(kBase, reader, platform);
    check_platform(platform);
    acpi::find_table(platform, "APIC");
    acpi::find_table(platform, "DMAR");

    for (size_t copy_size : {size_t(20), size_t(36), size}) {
        if (copy_size > size || copy_size == 0) continue;
        std::unique_ptr<uint8_t[]> copy(new uint8_t[copy_size]);
        std::memcpy(copy.get(), data, copy_size);
        acpi::validate_rsdp(copy.get(), copy_size);
        acpi::parse(copy.get(), copy_size, reader, platform);
        check_platform(platform);
    }

    uint64_t found = acpi::scan_bios_areas(reader);
    check(found == 0 || (found >= kBase && found < kBase + size));
    return 0;
}
