; The guests' application-processor start-up code (SDM Vol. 3A "MP Initialization", the
; INIT-SIPI-SIPI protocol), driven by smp.c. Two parts:
;
; ap_trampoline .. ap_trampoline_end: real-mode code that smp.c copies to a free 4 KiB page
;   below 1 MiB (the SIPI vector is that page's number). A started AP runs it at CS:IP =
;   (page << 8):0000 with IF=0. It is position-independent within the page (DS = CS, offsets
;   from ap_trampoline); the BSP patches the one absolute value it needs, the base of the GDTR
;   (ap_tramp_gdtr + 2), with page + (ap_tramp_gdt - ap_trampoline). It loads that flat GDT
;   (0x08 code, 0x10 data: the same selectors as the image's GDT), clears CR0.CD/NW (set by
;   INIT), sets CR0.PE and far-jumps into the image, whose 32-bit code is at its link address.
;
; ap_entry32: 32-bit code in the image. Loads the data segments, the image's own GDT
;   (gdt_descriptor, lib/entry.asm) and the BSP's IDT (ap_idtr, stored by the BSP with SIDT),
;   takes a stack slot with an atomic counter (lock xadd on ap_next_slot) and its stack top from
;   ap_stack_tops[slot] (filled by the BSP), reads its APIC ID from the xAPIC ID register and
;   calls smp_ap_main(apic_id), which does not return. A slot beyond ap_slot_limit or a null stack
;   top parks the AP in cli; hlt (the BSP sees it never came online).

%include "guests/lib/selectors.inc"
LAPIC_ID   equ 0xfee00020

section .text
bits 16
global ap_trampoline, ap_trampoline_end, ap_tramp_gdtr, ap_tramp_gdt
ap_trampoline:
    cli
    cld
    mov ax, cs
    mov ds, ax
    o32 lgdt [ap_tramp_gdtr - ap_trampoline]
    mov eax, cr0
    and eax, 0x9fffffff                   ; CD (30) and NW (29) off: INIT leaves both set
    or eax, 1                             ; PE
    mov cr0, eax
    jmp dword CODE32:ap_entry32           ; absolute: the image runs at its link address
align 8
ap_tramp_gdt:
    dq 0
    dq 0x00CF9A000000FFFF                 ; 0x08: flat 32-bit code
    dq 0x00CF92000000FFFF                 ; 0x10: flat data
ap_tramp_gdtr:
    dw 3 * 8 - 1
    dd 0                                  ; patched by the BSP: linear address of ap_tramp_gdt
ap_trampoline_end:

bits 32
extern gdt_descriptor, smp_ap_main
extern ap_idtr, ap_next_slot, ap_slot_limit, ap_stack_tops
ap_entry32:
    LOAD_FLAT_DATA_SEGMENTS
    lgdt [gdt_descriptor]
    jmp CODE32:.flat
.flat:
    LOAD_FLAT_DATA_SEGMENTS               ; reload from the image's GDT
    lidt [ap_idtr]
    mov eax, 1
    lock xadd [ap_next_slot], eax         ; eax = this AP's slot
    cmp eax, [ap_slot_limit]
    jae .park
    mov esp, [ap_stack_tops + eax * 4]
    test esp, esp
    jz .park
    xor ebp, ebp                          ; ends the frame chain
    mov edx, [LAPIC_ID]
    shr edx, 24
    push edx
    call smp_ap_main
.park:
    cli
    hlt
    jmp .park

section .note.GNU-stack noalloc noexec nowrite progbits
