; cr_long_mode's 64-bit routines (run by long64_call, RDI = struct long64_op, guest.h).
OP_VALUE  equ 8
OP_ARG0   equ 16
bits 64
section .text
global pcide_with_cr3, cr8_round_trip
; CR3 = args[0], then CR4 = value: CR4.PCIDE against the CR3 just loaded (long64 puts both back).
pcide_with_cr3:
    mov rax, [rdi + OP_ARG0]
    mov cr3, rax
    mov rax, [rdi + OP_VALUE]
    mov cr4, rax
    ret
; CR8 = value; value = CR8 read back, args[0] = the xAPIC TPR register; CR8 = 0 again.
cr8_round_trip:
    mov rax, [rdi + OP_VALUE]
    mov cr8, rax
    mov rax, cr8
    mov [rdi + OP_VALUE], rax
    mov ecx, 0xfee00080
    mov eax, [rcx]
    mov [rdi + OP_ARG0], rax
    xor eax, eax
    mov cr8, rax
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
