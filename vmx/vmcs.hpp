// VMCS field encodings (SDM Vol. 3D Appendix B "Field Encoding in VMCS") as one enum class per
// width, so a 16-bit field cannot be written as 64 bits by accident: the accessor's overload
// follows the field's type. Kernel-only (VMREAD/VMWRITE).
#pragma once
#include <cstdint>

namespace vmcs {

enum class Field16 : uint32_t {
    vpid = 0x0000,
    guest_es_selector = 0x0800, guest_cs_selector = 0x0802, guest_ss_selector = 0x0804,
    guest_ds_selector = 0x0806, guest_fs_selector = 0x0808, guest_gs_selector = 0x080a,
    guest_ldtr_selector = 0x080c, guest_tr_selector = 0x080e,
    host_es_selector = 0x0c00, host_cs_selector = 0x0c02, host_ss_selector = 0x0c04,
    host_ds_selector = 0x0c06, host_fs_selector = 0x0c08, host_gs_selector = 0x0c0a,
    host_tr_selector = 0x0c0c,
};

enum class Field64 : uint32_t {
    io_bitmap_a = 0x2000, io_bitmap_b = 0x2002, msr_bitmap = 0x2004,
    tsc_offset = 0x2010, virtual_apic_address = 0x2012, apic_access_address = 0x2014,
    ept_pointer = 0x201a,
    guest_physical_address = 0x2400,
    vmcs_link_pointer = 0x2800, guest_debugctl = 0x2802, guest_pat = 0x2804, guest_efer = 0x2806,
    guest_pdpte0 = 0x280a, guest_pdpte1 = 0x280c, guest_pdpte2 = 0x280e, guest_pdpte3 = 0x2810,
    host_pat = 0x2c00, host_efer = 0x2c02,
};

enum class Field32 : uint32_t {
    pin_based_controls = 0x4000, processor_based_controls = 0x4002, exception_bitmap = 0x4004,
    page_fault_error_mask = 0x4006, page_fault_error_match = 0x4008, cr3_target_count = 0x400a,
    exit_controls = 0x400c, exit_msr_store_count = 0x400e, exit_msr_load_count = 0x4010,
    entry_controls = 0x4012, entry_msr_load_count = 0x4014, entry_interruption_info = 0x4016,
    entry_exception_error_code = 0x4018, entry_instruction_length = 0x401a, tpr_threshold = 0x401c,
    secondary_controls = 0x401e, ple_gap = 0x4020, ple_window = 0x4022,
    instruction_error = 0x4400, exit_reason = 0x4402, exit_interruption_info = 0x4404,
    exit_interruption_error_code = 0x4406, idt_vectoring_info = 0x4408, idt_vectoring_error_code = 0x440a,
    exit_instruction_length = 0x440c, exit_instruction_info = 0x440e,
    guest_es_limit = 0x4800, guest_cs_limit = 0x4802, guest_ss_limit = 0x4804, guest_ds_limit = 0x4806,
    guest_fs_limit = 0x4808, guest_gs_limit = 0x480a, guest_ldtr_limit = 0x480c, guest_tr_limit = 0x480e,
    guest_gdtr_limit = 0x4810, guest_idtr_limit = 0x4812,
    guest_es_access = 0x4814, guest_cs_access = 0x4816, guest_ss_access = 0x4818, guest_ds_access = 0x481a,
    guest_fs_access = 0x481c, guest_gs_access = 0x481e, guest_ldtr_access = 0x4820, guest_tr_access = 0x4822,
    guest_interruptibility = 0x4824, guest_activity_state = 0x4826, guest_sysenter_cs = 0x482a,
    preemption_timer_value = 0x482e,
    host_sysenter_cs = 0x4c00,
};

enum class FieldNatural : uint32_t {
    cr0_guest_host_mask = 0x6000, cr4_guest_host_mask = 0x6002, cr0_read_shadow = 0x6004,
    cr4_read_shadow = 0x6006,
    exit_qualification = 0x6400, guest_linear_address = 0x640a,
    guest_cr0 = 0x6800, guest_cr3 = 0x6802, guest_cr4 = 0x6804,
    guest_es_base = 0x6806, guest_cs_base = 0x6808, guest_ss_base = 0x680a, guest_ds_base = 0x680c,
    guest_fs_base = 0x680e, guest_gs_base = 0x6810, guest_ldtr_base = 0x6812, guest_tr_base = 0x6814,
    guest_gdtr_base = 0x6816, guest_idtr_base = 0x6818, guest_dr7 = 0x681a, guest_rsp = 0x681c,
    guest_rip = 0x681e, guest_rflags = 0x6820, guest_pending_debug = 0x6822,
    guest_sysenter_esp = 0x6824, guest_sysenter_eip = 0x6826,
    host_cr0 = 0x6c00, host_cr3 = 0x6c02, host_cr4 = 0x6c04, host_fs_base = 0x6c06, host_gs_base = 0x6c08,
    host_tr_base = 0x6c0a, host_gdtr_base = 0x6c0c, host_idtr_base = 0x6c0e, host_sysenter_esp = 0x6c10,
    host_sysenter_eip = 0x6c12, host_rsp = 0x6c14, host_rip = 0x6c16,
};

inline uint64_t read_raw(uint32_t field)
{
    uint64_t value;
    asm volatile("vmread %1, %0" : "=r"(value) : "r"(uint64_t(field)) : "cc");
    return value;
}

// A VMWRITE to a field the CPU does not support fails silently here; vmcs_setup checks the
// VM-instruction error once after setting up, which names the failing field.
inline void write_raw(uint32_t field, uint64_t value)
{
    asm volatile("vmwrite %1, %0" ::"r"(uint64_t(field)), "r"(value) : "cc", "memory");
}

inline uint16_t read(Field16 f) { return uint16_t(read_raw(uint32_t(f))); }
inline uint32_t read(Field32 f) { return uint32_t(read_raw(uint32_t(f))); }
inline uint64_t read(Field64 f) { return read_raw(uint32_t(f)); }
inline uint64_t read(FieldNatural f) { return read_raw(uint32_t(f)); }
inline void write(Field16 f, uint16_t v) { write_raw(uint32_t(f), v); }
inline void write(Field32 f, uint32_t v) { write_raw(uint32_t(f), v); }
inline void write(Field64 f, uint64_t v) { write_raw(uint32_t(f), v); }
inline void write(FieldNatural f, uint64_t v) { write_raw(uint32_t(f), v); }

// VMCLEAR/VMPTRLD: false on VMfail (SDM Vol. 3C 31.2 "Conventions").
inline bool clear(uint64_t physical)
{
    bool failed;
    asm volatile("vmclear %1; setna %0" : "=qm"(failed) : "m"(physical) : "cc", "memory");
    return !failed;
}
inline bool load(uint64_t physical)
{
    bool failed;
    asm volatile("vmptrld %1; setna %0" : "=qm"(failed) : "m"(physical) : "cc", "memory");
    return !failed;
}

}  // namespace vmcs
