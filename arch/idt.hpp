// The interrupt descriptor table, shared by all CPUs.
#pragma once
#include <cstdint>

void init_idt();  // once, on the boot CPU
void load_idt();  // on every CPU
uint64_t idt_base();  // for the VMCS host state
