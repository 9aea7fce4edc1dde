// The boot CPU's MTRRs (lib/mtrr.hpp), read once at boot: EPT gives each guest page the type
// the host's MTRRs give the host frame behind it (vmx/ept.cpp). Firmware programs the same
// MTRRs on every CPU (SDM Vol. 3A 12.11.8), so the boot CPU's are the machine's.
#pragma once
#include "lib/mtrr.hpp"

namespace host_mtrr {

// Reads them and writes the map on the console: the default type and each enabled range.
void read();
const mtrr::Registers& registers();

}  // namespace host_mtrr
