; Real-mode start code for application processors. The boot CPU copies it to a page below
; 1 MiB, fills in the parameter block at its end and sends INIT-SIPI-SIPI; the AP starts here
; with CS = page >> 4, IP = 0 (SDM Vol. 3A 9.4.4), goes straight to long mode on the
; hypervisor's page tables (which identity-map this page while CPUs start) and jumps to ap_main.
; Only CS-relative (16-bit) and RIP-relative (64-bit) addressing: the code runs at any page.

section .rodata
bits 16
align 16
global ap_trampoline_start, ap_trampoline_end, ap_trampoline_params
ap_trampoline_start:
    cli
    cld
    mov ax, cs
    mov ds, ax
    o32 lgdt [gdtr - ap_trampoline_start]
    mov eax, [param_cr4 - ap_trampoline_start]
    mov cr4, eax
    mov eax, [param_cr3 - ap_trampoline_start]
    mov cr3, eax
    mov ecx, 0xC0000080                   ; IA32_EFER: LME and NXE as on the boot CPU
    mov eax, [param_efer - ap_trampoline_start]
    xor edx, edx
    wrmsr
    mov eax, [param_cr0 - ap_trampoline_start]
    mov cr0, eax                          ; PE and PG together: real mode to IA-32e directly
    o32 jmp far [far_target - ap_trampoline_start]

bits 64
ap_long_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, [rel param_stack]
    mov rdi, [rel param_cpu]
    xor ebp, ebp
    mov rax, [rel param_entry]
    push 0                                ; a null return address ends backtraces
    jmp rax

; Accessed bits preset: the page is mapped read-only, and loading a selector would otherwise
; make the CPU write them (SDM Vol. 3A 3.4.5.1).
align 8
gdt:
    dq 0
    dq 0x00AF9B000000FFFF
    dq 0x00CF93000000FFFF
; Parameter block, layout shared with struct TrampolineParams in arch/smp.cpp.
align 8
ap_trampoline_params:
gdtr:        dw 23
gdtr_base:   dd 0                         ; page + (gdt - start)
             dw 0
far_target:  dd 0                         ; page + (ap_long_mode - start)
             dw 0x08
             dw 0
param_cr0:   dd 0
param_cr3:   dd 0
param_cr4:   dd 0
param_efer:  dd 0
param_stack: dq 0
param_cpu:   dq 0
param_entry: dq 0
global ap_trampoline_gdt_offset, ap_trampoline_long_mode_offset
ap_trampoline_gdt_offset:       dq gdt - ap_trampoline_start
ap_trampoline_long_mode_offset: dq ap_long_mode - ap_trampoline_start
ap_trampoline_end:
