; Entering a guest and coming back (SDM Vol. 3C 28 "VM Entries", 29 "VM Exits").
;
; uint32_t vmx_enter(GuestRegisters* registers, uint32_t resume)
;   Loads the guest's general registers (all but RSP, which the VMCS holds) and executes
;   VMRESUME (resume != 0) or VMLAUNCH. Returns 0 after a VM exit with the guest's registers
;   saved back, 1 on VMfailInvalid, 2 on VMfailValid (the VM-instruction error field says why).
; The VMCS's HOST_RIP is vmx_exit_point; HOST_RSP is this function's stack, written right before
; entry, so the exit lands with the GuestRegisters pointer on top of the stack.

bits 64
section .text

HOST_RSP_FIELD equ 0x6c14

global vmx_enter
vmx_enter:
    push rbp
    mov rbp, rsp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi
    mov rax, HOST_RSP_FIELD
    vmwrite rax, rsp
    test esi, esi                   ; the moves below leave the flags alone
    mov rax, [rdi + 0 * 8]
    mov rcx, [rdi + 1 * 8]
    mov rdx, [rdi + 2 * 8]
    mov rbx, [rdi + 3 * 8]
    mov rbp, [rdi + 5 * 8]
    mov rsi, [rdi + 6 * 8]
    mov r8,  [rdi + 8 * 8]
    mov r9,  [rdi + 9 * 8]
    mov r10, [rdi + 10 * 8]
    mov r11, [rdi + 11 * 8]
    mov r12, [rdi + 12 * 8]
    mov r13, [rdi + 13 * 8]
    mov r14, [rdi + 14 * 8]
    mov r15, [rdi + 15 * 8]
    mov rdi, [rdi + 7 * 8]
    jnz .resume
    vmlaunch
    jmp .failed
.resume:
    vmresume
.failed:
    mov eax, 1                      ; VMfailInvalid sets CF, VMfailValid sets ZF
    jc .return
    mov eax, 2
.return:
    pop rdi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

global vmx_exit_point
vmx_exit_point:
    push rdi
    mov rdi, [rsp + 8]
    mov [rdi + 0 * 8], rax
    mov [rdi + 1 * 8], rcx
    mov [rdi + 2 * 8], rdx
    mov [rdi + 3 * 8], rbx
    mov [rdi + 5 * 8], rbp
    mov [rdi + 6 * 8], rsi
    mov [rdi + 8 * 8], r8
    mov [rdi + 9 * 8], r9
    mov [rdi + 10 * 8], r10
    mov [rdi + 11 * 8], r11
    mov [rdi + 12 * 8], r12
    mov [rdi + 13 * 8], r13
    mov [rdi + 14 * 8], r14
    mov [rdi + 15 * 8], r15
    pop rax
    mov [rdi + 7 * 8], rax
    xor eax, eax
    jmp vmx_enter.return
