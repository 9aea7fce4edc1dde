// EPT leaves with the host's memory types (SDM Vol. 3C 29.3.7.1 "Memory Type Used for
// Translated Guest-Physical Addresses"): with "ignore PAT" clear (ept::EptFormat), the EPT type
// takes the place the MTRR type has on bare metal and is combined with the guest's own PAT type by
// the rules of SDM Vol. 3A Table 12-7. Giving a guest page the type the host MTRRs give the host
// frame behind it therefore makes the guest's caching exactly what the same PAT choice would give
// natively: RAM stays WB unless the guest's PAT asks for less, and a frame the firmware marked
// UC (device memory) can never become cacheable through a guest mapping. Guest PAT is honoured
// (IPAT=0) so that a guest's UC or WC mappings of its own pages (DMA buffers, a framebuffer it
// shares) keep their meaning; a guest making its own RAM UC only slows itself down.
#pragma once
#include <cstdint>

#include "lib/mtrr.hpp"
#include "lib/page_table.hpp"

namespace ept {

// Maps guest-physical [guest, +length) to host [host, +length) with `access` (whose type is
// ignored): each run of host memory of one MTRR type gets that type, so a large page is used only
// where its whole range has one type and is split into smaller ones otherwise. False when a map()
// fails (out of memory); what was mapped before stays.
template <class Table>
bool map_with_host_types(Table& tables, const mtrr::Registers& host_mtrrs, uint64_t guest, uint64_t host,
                         uint64_t length, Access access)
{
    for (uint64_t done = 0; done < length;) {
        uint64_t run = mtrr::uniform_run(host_mtrrs, host + done, length - done, access.type);
        if (!tables.map(guest + done, host + done, run, access)) return false;
        done += run;
    }
    return true;
}

}  // namespace ept
