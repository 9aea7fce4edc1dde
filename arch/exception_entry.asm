; Entry stubs for exceptions 0-31: each pushes a uniform frame (a dummy error code where the CPU
; pushes none, SDM Vol. 3A 6.13) and the vector, then saves every general register and calls
; exception_handler(ExceptionFrame*).
bits 64
section .text

%macro STUB 1
exception_stub_%1:
%if %1 = 8 || (%1 >= 10 && %1 <= 14) || %1 = 17 || %1 = 21 || %1 = 29 || %1 = 30
%else
    push 0
%endif
    push %1
    jmp exception_common
%endmacro

%assign v 0
%rep 32
STUB v
%assign v v + 1
%endrep

extern exception_handler
exception_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld
    and rsp, -16
    call exception_handler      ; does not return: the CPU stops after its dump
.stop:
    cli
    hlt
    jmp .stop

section .rodata
global exception_stubs
exception_stubs:
%assign v 0
%rep 32
    dq exception_stub_ %+ v
%assign v v + 1
%endrep
