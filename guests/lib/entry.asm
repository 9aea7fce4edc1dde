; Test-guest entry: the Multiboot v1 header, _start (a flat GDT of our own, a stack, a cleared
; bss, the IDT, then main(magic, info) and exit(its return value)), the 256 interrupt stubs and
; try_call, which runs a function and comes back from a fault inside it.
;
; Multiboot v1 (spec 3.2) enters in 32-bit protected mode with paging off, EAX = 0x2BADB002,
; EBX = physical address of the multiboot information, and a GDTR the OS must not rely on:
; hence our own GDT before any segment load.

MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00000003                   ; bit 0: page-align modules, bit 1: memory info

%include "guests/lib/selectors.inc"
%include "guests/lib/interrupt_stubs.inc"

section .multiboot progbits alloc noexec nowrite align=4
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)

section .data
align 16
global gdt, gdt_descriptor
; 0x08 flat 32-bit code, 0x10 flat data, 0x18 64-bit code (long_mode), 0x20 and 0x28 free for
; tests (gdt_set in cpu.c), 0x30/0x38 flat ring-3 code/data and 0x40 the TSS (try_user in
; user_mode.c). Selectors from 0x48 on are beyond the limit: loading one is a #GP.
gdt:
    dq 0
    dq 0x00CF9A000000FFFF
    dq 0x00CF92000000FFFF
    dq 0x00AF9A000000FFFF
    dq 0
    dq 0
    dq 0x00CFFA000000FFFF
    dq 0x00CFF2000000FFFF
    dq 0
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt

section .bss
align 16
stack_bottom:
    resb 16384
global stack_top
stack_top:

section .text.entry progbits alloc exec nowrite align=16
bits 32
global _start
extern main, exit, guest_lib_init, bss_start, bss_end
_start:
    cli
    cld
    mov esi, eax                          ; magic; EBX (info) is left alone below
    mov edi, bss_start
    mov ecx, bss_end
    sub ecx, edi
    xor eax, eax
    rep stosb
    lgdt [gdt_descriptor]
    jmp CODE32:.reload
.reload:
    LOAD_FLAT_DATA_SEGMENTS
    mov esp, stack_top
    xor ebp, ebp                          ; ends the frame chain
    push ebx
    push esi
    call guest_lib_init                   ; IDT, PIC masked, MBI pointers; (magic, info)
    call main                             ; same two arguments, still on the stack
    push eax
    call exit
.hang:
    cli
    hlt
    jmp .hang

; ---- interrupt stubs ------------------------------------------------------------------------
; Every vector gets a stub (lib/interrupt_stubs.inc) that makes the frame uniform and joins
; isr_common, which saves the registers and calls isr_dispatch(struct frame *).
section .text
align 16
global isr_stubs
isr_stubs:
    INTERRUPT_STUBS 256, isr_common

extern isr_dispatch
isr_common:
    pushad
    push ds
    push es
    push fs
    push gs
    mov ax, DATA32
    mov ds, ax
    mov es, ax
    cld
    push esp
    call isr_dispatch
    add esp, 4
    pop gs
    pop fs
    pop es
    pop ds
    popad
    add esp, 8                            ; vector and error code
    iretd

; ---- try_call -------------------------------------------------------------------------------
; int try_call(void (*fn)(void *), void *arg): 0 if fn returned, 1 if it faulted. isr_dispatch
; records the fault and, while try_active is set, makes the IRET land on try_recover with the
; faulting context's EFLAGS; try_recover then restores the stack and registers of try_call.
section .bss
global try_active
try_active: resd 1
try_esp:    resd 1

section .text
global try_call, try_recover
try_call:
    push ebp
    push ebx
    push esi
    push edi
    mov [try_esp], esp
    mov eax, [esp + 20]                   ; fn
    mov edx, [esp + 24]                   ; arg
    mov dword [try_active], 1
    push edx
    call eax
    add esp, 4
    mov dword [try_active], 0
    xor eax, eax
    jmp try_out
try_recover:
    mov esp, [try_esp]
    LOAD_FLAT_DATA_SEGMENTS               ; the faulting code may have left odd selectors
    mov eax, 1
try_out:
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
