; long64_enter: a round trip through 64-bit mode for guests whose test code is 32-bit C
; (long64.c builds the page tables and declares the interface in guest.h). From 32-bit protected
; mode with paging off: CR4.PAE, CR3, EFER.LME, CR0.PG (IA-32e mode, SDM Vol. 3 10.8.5), a far
; jump to the 64-bit code segment, a 64-bit IDT whose 32 exception stubs record the fault in
; last_fault and unwind, then fn64(RDI = arg). Back out: CR4, CR3 and CR8 as they were on
; entering 64-bit mode (fn64 may have changed them), the upper halves of the registers cleared
; (32-bit code must not inherit 64-bit values), a far return to compatibility mode, paging off
; (LMA = 0), LME and PAE cleared, the 32-bit IDT back.

%include "guests/lib/selectors.inc"
%include "guests/lib/interrupt_stubs.inc"
%include "guests/lib/ia32e.inc"
; struct fault_info (guest.h)
F_VECTOR  equ 0
F_ERROR   equ 4
F_EIP     equ 8
F_CR2     equ 12
F_COUNT   equ 16

section .bss align=16
idt64:      resb 32 * 16
call_rsp:   resq 1
entry_cr4:  resq 1
entry_cr3:  resq 1
entry_cr8:  resq 1
saved_esp:  resd 1
result:     resd 1
in_call:    resd 1
saved_idtr: resb 6

section .data
align 8
idt64_descriptor:
    dw 32 * 16 - 1
    dd idt64, 0

section .text
bits 32
extern last_fault
global long64_enter
; u32 long64_enter(u32 pml4, u32 fn64, u32 arg): 0, or the exception vector + 1.
long64_enter:
    push ebp
    push ebx
    push esi
    push edi
    pushfd
    cli
    mov [saved_esp], esp
    sidt [saved_idtr]
    ENTER_IA32E [esp + 24], 0, 0
    jmp CODE64:.in64

bits 64
.in64:
    mov esp, esp
    lidt [idt64_descriptor]
    FILL_IDT64 idt64, stubs64, CODE64
    mov rax, cr4
    mov [entry_cr4], rax
    mov rax, cr3
    mov [entry_cr3], rax
    mov rax, cr8
    mov [entry_cr8], rax
    mov ebx, [rsp + 28]                   ; fn64
    mov edi, [rsp + 32]                   ; arg
    mov [call_rsp], rsp
    mov dword [in_call], 1
    call rbx
    xor eax, eax
    jmp leave64

; Exception stubs (lib/interrupt_stubs.inc): vector, error code, then the CPU's frame.
align 16
stubs64:
    INTERRUPT_STUBS 32, fault64

fault64:
    cmp dword [in_call], 0
    je .fatal
    mov eax, [rsp]
    mov [last_fault + F_VECTOR], eax
    mov eax, [rsp + 8]
    mov [last_fault + F_ERROR], eax
    mov rax, [rsp + 16]
    mov [last_fault + F_EIP], eax
    mov rax, cr2
    mov [last_fault + F_CR2], eax
    inc dword [last_fault + F_COUNT]
    mov eax, [rsp]
    inc eax
    mov rsp, [call_rsp]
    jmp leave64
.fatal:                                   ; a fault outside fn64: the library itself is broken
    mov al, 2                             ; EXIT_EXCEPTION
    out 0xf4, al
.halt:
    hlt
    jmp .halt

leave64:                                  ; EAX = result
    mov dword [in_call], 0
    mov [result], eax
    mov rax, [entry_cr3]
    mov cr3, rax
    mov rax, [entry_cr4]
    mov cr4, rax
    mov rax, [entry_cr8]
    mov cr8, rax
    mov eax, eax
    mov ebx, ebx
    mov ecx, ecx
    mov edx, edx
    mov esi, esi
    mov edi, edi
    mov ebp, ebp
    mov esp, esp
    push CODE32
    lea rax, [compat]
    push rax
    retfq

bits 32
compat:
    LEAVE_IA32E
    LOAD_FLAT_DATA_SEGMENTS
    lidt [saved_idtr]
    mov esp, [saved_esp]
    mov eax, [result]
    popfd
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; ---- one-instruction routines for long64_call, arg = struct long64_op (guest.h) -------------
; { u32 index; u32 pad; u64 value; u64 args[2]; }: the MSR, or the value to write / read back.
OP_INDEX  equ 0
OP_VALUE  equ 8
OP_ARG0   equ 16
OP_ARG1   equ 24
bits 64
global long64_rdmsr, long64_wrmsr, long64_write_cr0, long64_write_cr3, long64_write_cr4
global long64_write_cr8, long64_read_cr8, long64_compat_write_cr0, long64_compat_write_cr4
global long64_vmcall, long64_compat_vmcall
long64_rdmsr:
    mov ecx, [rdi + OP_INDEX]
    rdmsr
    mov [rdi + OP_VALUE], eax
    mov [rdi + OP_VALUE + 4], edx
    ret
long64_wrmsr:
    mov ecx, [rdi + OP_INDEX]
    mov eax, [rdi + OP_VALUE]
    mov edx, [rdi + OP_VALUE + 4]
    wrmsr
    ret
; long64_write_crN: MOV to CRn of value, all 64 bits.
%macro LONG64_WRITE_CR 1
long64_write_cr%1:
    mov rax, [rdi + OP_VALUE]
    mov cr%1, rax
    ret
%endmacro
LONG64_WRITE_CR 0
LONG64_WRITE_CR 3
LONG64_WRITE_CR 4
LONG64_WRITE_CR 8
long64_read_cr8:
    mov rax, cr8
    mov [rdi + OP_VALUE], rax
    ret
; VMCALL with RAX = value, RBX = args[0], RCX = args[1] (64-bit); the result into value.
long64_vmcall:
    push rbx
    mov rax, [rdi + OP_VALUE]
    mov rbx, [rdi + OP_ARG0]
    mov rcx, [rdi + OP_ARG1]
    vmcall
    mov [rdi + OP_VALUE], rax
    pop rbx
    ret
; MOV to CR0/CR4 from compatibility mode, where the operand is EAX (SDM Vol. 2B "MOV—Move
; to/from Control Registers": 32-bit outside 64-bit mode) while RAX holds all 64 bits of value.
%macro LONG64_COMPAT_WRITE_CR 1
long64_compat_write_cr%1:
    mov rax, [rdi + OP_VALUE]
    push CODE32
    lea rcx, [%%compat]
    push rcx
    retfq
bits 32
%%compat:
    mov cr%1, eax
    jmp CODE64:long64_back
bits 64
%endmacro
LONG64_COMPAT_WRITE_CR 0
LONG64_COMPAT_WRITE_CR 4
; VMCALL from compatibility mode, where a hypercall's registers are 32 bits wide (KVM's
; is_64_bit_hypercall), with RAX = value, RBX = args[0], RCX = args[1] holding all 64 bits; all
; of RAX afterwards into value. RDI (the op) keeps its upper half: compatibility mode never
; writes it.
long64_compat_vmcall:
    push rbx
    push CODE32
    lea rax, [.compat]
    push rax
    mov rax, [rdi + OP_VALUE]
    mov rbx, [rdi + OP_ARG0]
    mov rcx, [rdi + OP_ARG1]
    retfq
bits 32
.compat:
    vmcall
    jmp CODE64:.in64
bits 64
.in64:
    mov [rdi + OP_VALUE], rax
    pop rbx
    ret
long64_back:
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
