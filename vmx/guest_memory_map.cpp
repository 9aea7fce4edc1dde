#include "vmx/guest_memory_map.hpp"

#include "lib/format.hpp"

namespace guest_memory {

bool Layout::is_ram(uint64_t base, uint64_t length) const
{
    for (size_t i = 0; i < region_count; ++i) {
        const Region& r = regions[i];
        if (r.type != RegionType::ram) continue;
        if (base >= r.base && base - r.base <= r.length && length <= r.length - (base - r.base)) return true;
    }
    return false;
}

uint64_t firmware_region_bytes(uint64_t binary_bytes)
{
    if (binary_bytes == 0 || binary_bytes > kFirmwareLargeBytes) return 0;
    return binary_bytes <= kFirmwareSmallBytes ? kFirmwareSmallBytes : kFirmwareLargeBytes;
}

bool build_layout(uint64_t ram_bytes, uint64_t firmware_bytes, Layout& out, char* error, size_t error_size)
{
    out = Layout{};
    if (ram_bytes < kMinRamBytes || ram_bytes > kMaxRamBytes || ram_bytes % (4 * kKiB)) {
        format_to(error, error_size, "guest RAM of {} bytes is not a multiple of 4 KiB from {} to {}", ram_bytes,
                  Bytes{kMinRamBytes}, Bytes{kMaxRamBytes});
        return false;
    }
    if (firmware_bytes != 0 && firmware_bytes != kFirmwareSmallBytes && firmware_bytes != kFirmwareLargeBytes) {
        format_to(error, error_size, "firmware region of {} bytes is none of 0, {} and {}", firmware_bytes,
                  Bytes{kFirmwareSmallBytes}, Bytes{kFirmwareLargeBytes});
        return false;
    }
    out.ram_bytes = ram_bytes;
    out.firmware_bytes = firmware_bytes;

    auto region = [&out](uint64_t base, uint64_t length, RegionType type) {
        out.regions[out.region_count++] = Region{base, length, type};
    };
    out.acpi_base = kAcpiRegionBase;
    out.acpi_bytes = kAcpiRegionBytes;
    region(0, kAcpiRegionBase, RegionType::ram);
    region(kAcpiRegionBase, kAcpiRegionBytes, RegionType::reserved);
    region(kLowRamEnd, kHighRamBase - kLowRamEnd, RegionType::reserved);
    if (ram_bytes > kHighRamBase) region(kHighRamBase, ram_bytes - kHighRamBase, RegionType::ram);
    // QEMU's e820 likewise reserves the BIOS alias below 4 GiB, so the guest never places MMIO there.
    if (firmware_bytes) region(k4GiB - firmware_bytes, firmware_bytes, RegionType::reserved);

    auto ept = [&out](uint64_t gpa, uint64_t offset, uint64_t length, EptKind kind) {
        out.ept[out.ept_count++] = EptRange{gpa, offset, length, kind};
    };
    ept(0, 0, kAcpiRegionBase, EptKind::ram);
    ept(kAcpiRegionBase, kAcpiRegionBase, kAcpiRegionBytes, EptKind::acpi);
    uint64_t firmware_base = kHighRamBase - firmware_bytes;
    if (firmware_bytes) ept(firmware_base, firmware_base, firmware_bytes, EptKind::firmware);
    if (ram_bytes > kHighRamBase) ept(kHighRamBase, kHighRamBase, ram_bytes - kHighRamBase, EptKind::ram);
    if (firmware_bytes) ept(k4GiB - firmware_bytes, firmware_base, firmware_bytes, EptKind::firmware_alias);

    out.mem_lower_kib = uint32_t(kAcpiRegionBase / kKiB);
    out.mem_upper_kib = uint32_t((ram_bytes - kHighRamBase) / kKiB);
    return true;
}

} // namespace guest_memory
