// EPT entry encoding for PageTable (SDM Vol. 3C 29.3.2): 4-level EPT,
// 48-bit guest-physical addresses. Fill the allow_* fields from IA32_VMX_EPT_VPID_CAP.
#pragma once
#include <cstdint>

#include "lib/page_table.hpp"

namespace ept {

struct EptFormat {
    static constexpr uint64_t kRead = 1ull << 0;
    static constexpr uint64_t kWrite = 1ull << 1;
    static constexpr uint64_t kExecute = 1ull << 2;
    static constexpr int kTypeShift = 3; // bits 5:3, leaves only
    static constexpr uint64_t kTypeMask = 7ull << kTypeShift;
    static constexpr uint64_t kIgnorePat = 1ull << 6; // leaves only
    static constexpr uint64_t kLarge = 1ull << 7;     // 1 GiB / 2 MiB leaf
    static constexpr uint64_t kAddress = 0x000f'ffff'ffff'f000; // bits 51:12
    static constexpr uint64_t kGuestPhysicalLimit = 1ull << 48;

    bool allow_1g = false;           // IA32_VMX_EPT_VPID_CAP bit 17
    bool allow_2m = false;           // IA32_VMX_EPT_VPID_CAP bit 16
    bool allow_execute_only = false; // IA32_VMX_EPT_VPID_CAP bit 0
    // Set: the leaf's type is the effective type. Clear: it is combined with the guest's PAT
    // type, so e.g. a guest mapping its framebuffer WC gets WC over WB RAM (SDM Vol. 3C 29.3.7.2).
    bool ignore_pat = false;

    static constexpr uint64_t leaf_mask(int level)
    {
        return level == 3 ? 0x000f'ffff'c000'0000 : level == 2 ? 0x000f'ffff'ffe0'0000 : kAddress;
    }

    // Non-leaf entries grant everything; the leaf decides. Bits 7:3 are reserved in them.
    constexpr uint64_t table_entry(uint64_t phys) const
    {
        return (phys & kAddress) | kRead | kWrite | kExecute;
    }

    constexpr uint64_t leaf(uint64_t phys, int level, Access access) const
    {
        uint64_t e = (phys & leaf_mask(level)) | (uint64_t(access.type) << kTypeShift);
        if (access.read) e |= kRead;
        if (access.write) e |= kWrite;
        if (access.execute) e |= kExecute;
        if (ignore_pat) e |= kIgnorePat;
        if (level > 1) e |= kLarge;
        return e;
    }

    // An EPT entry is present if any of bits 2:0 is set (SDM Vol. 3C 29.3.2).
    constexpr bool present(uint64_t e) const { return (e & (kRead | kWrite | kExecute)) != 0; }
    constexpr bool is_leaf(uint64_t e, int level) const
    {
        return level == 1 || ((level == 2 || level == 3) && (e & kLarge));
    }
    constexpr uint64_t address(uint64_t e, int level) const
    {
        return e & (is_leaf(e, level) ? leaf_mask(level) : kAddress);
    }

    // EPT has no global pages: `global` is ignored by leaf() and reads back false.
    constexpr Access access(uint64_t e, int) const
    {
        Access a;
        a.read = e & kRead;
        a.write = e & kWrite;
        a.execute = e & kExecute;
        a.type = MemoryType((e & kTypeMask) >> kTypeShift);
        a.global = false;
        return a;
    }

    constexpr bool leaf_allowed(int level) const
    {
        return level == 1 || (level == 2 && allow_2m) || (level == 3 && allow_1g);
    }

    // Leaves that would be EPT misconfigurations are refused (SDM Vol. 3C 29.3.3.1): writable but
    // not readable, execute-only without the capability, memory type 2, 3 or 7. No access at all
    // would be a not-present entry; that is unmap()'s job.
    constexpr bool encodable(Access access) const
    {
        if (!is_memory_type(access.type) || access.user) return false;  // EPT has no privilege levels
        if (!access.read && !access.write && !access.execute) return false;
        if (access.write && !access.read) return false;
        if (access.execute && !access.read && !allow_execute_only) return false;
        return true;
    }

    constexpr bool valid_range(uint64_t, uint64_t last) const { return last < kGuestPhysicalLimit; }
};

} // namespace ept
