; long_mode's mode switch (SDM Vol. 3 9.8.5): from 32-bit protected mode with paging off into
; 64-bit mode and back. C builds the page tables and calls
;     u32 long_mode_run(u32 pml4, struct lm_results *out)
; which enables PAE, loads CR3, sets EFER.LME, turns on paging (IA-32e mode, compatibility),
; far-jumps to the 64-bit code segment (0x18), works in 64-bit mode (a 64-bit IDT whose stubs
; print "FAIL long_mode: ..." and exit 2, prints from 64-bit mode, 64-bit values above 4 GiB,
; memory through an alias mapped above 4 GiB, EFER, CR8 and the TPR, RIP-relative addressing),
; then goes back through compatibility mode, turns paging off (LMA=0), clears LME and PAE,
; restores the 32-bit IDT and returns 0.

COM1      equ 0x3f8
%include "guests/lib/selectors.inc"
%include "guests/lib/interrupt_stubs.inc"
%include "guests/lib/ia32e.inc"

; struct lm_results (long_mode.c)
R_BIG       equ 0
R_ALIAS     equ 8
R_ALIAS_W   equ 16
R_EFER      equ 24
R_CR8       equ 32
R_TPR       equ 40
R_RIPREL    equ 48
R_CS        equ 56

section .bss align=16
idt64:       resb 32 * 16
scratch:     resq 1
saved_esp:   resd 1
results:     resd 1
saved_idtr:  resb 6

section .data
align 8
idt64_descriptor:
    dw 32 * 16 - 1
    dd idt64, 0                           ; a 64-bit base; the image is below 4 GiB
msg_hello:   db "long_mode: hello from 64-bit mode", 10, 0
msg_value:   db "long_mode: 64-bit RAX = 0x", 0
msg_alias:   db "long_mode: read RAM through its alias at 0x", 0
msg_nl:      db 10, 0
msg_fault:   db "FAIL long_mode: exception vector 0x", 0
msg_at:      db " in 64-bit mode at RIP 0x", 0

section .text
bits 32
global long_mode_run
long_mode_run:
    push ebp
    push ebx
    push esi
    push edi
    mov [saved_esp], esp
    mov eax, [esp + 24]
    mov [results], eax
    sidt [saved_idtr]
    ENTER_IA32E [esp + 20], 0, 0
    jmp CODE64:long64

bits 64
long64:
    mov esp, esp                          ; upper halves are undefined after the switch
    lidt [idt64_descriptor]
    FILL_IDT64 idt64, fault_stubs, CODE64

    lea rsi, [msg_hello]
    call puts64

    mov r15d, [results]                   ; zero-extended: the struct is below 4 GiB
    mov rax, 0x123456789abcdef0
    mov rbx, rax
    add rax, rbx                          ; 0x2468acf13579bde0: carries across bit 31
    ror rax, 4                            ; 0x02468acf13579bde
    mov r8, 0xffffffff00000000
    xor rax, r8                           ; 0xfdb97530_13579bde
    mov [r15 + R_BIG], rax
    lea rsi, [msg_value]
    call puts64
    call puthex64
    lea rsi, [msg_nl]
    call puts64

    ; The alias: virtual 4 GiB + x maps physical x (long_mode.c: PDPT[4] -> the first PD).
    mov rax, 0x0123456789abcdef
    mov [scratch], rax
    lea rbx, [scratch]
    mov rcx, 0x100000000
    add rbx, rcx
    mov rax, [rbx]
    mov [r15 + R_ALIAS], rax
    mov rdx, 0x5555aaaa5555aaaa
    mov [rbx], rdx                        ; write through the alias...
    mov rdx, [scratch]                    ; ...read through the identity map
    mov [r15 + R_ALIAS_W], rdx
    push rax
    lea rsi, [msg_alias]
    call puts64
    mov rax, rbx
    call puthex64
    lea rsi, [msg_nl]
    call puts64
    pop rax

    mov ecx, EFER
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov [r15 + R_EFER], rax

    ; CR8 is the TPR's priority class (SDM Vol. 3 10.8.6.1): CR8 = 5 makes the TPR 0x50.
    mov eax, 5
    mov cr8, rax
    mov rax, cr8
    mov [r15 + R_CR8], rax
    mov ecx, 0xfee00080                   ; (a disp32 would be sign-extended)
    mov eax, [rcx]
    mov [r15 + R_TPR], rax
    xor eax, eax
    mov cr8, rax

    lea rax, [rel riprel_target]
    mov edx, riprel_target                ; absolute, zero-extended
    xor rax, rdx
    mov [r15 + R_RIPREL], rax             ; 0: RIP-relative LEA found the absolute address
    mov ax, cs
    movzx eax, ax
    mov [r15 + R_CS], rax

    ; Back to compatibility mode: a far return to the 32-bit code segment.
    push CODE32
    lea rax, [compat]
    push rax
    retfq
riprel_target:

bits 32
compat:
    LEAVE_IA32E
    LOAD_FLAT_DATA_SEGMENTS
    lidt [saved_idtr]
    mov esp, [saved_esp]
    xor eax, eax
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

bits 64
; puts64: RSI = NUL-terminated string; polls LSR.THRE (bounded) before each byte.
puts64:
    push rax
    push rcx
    push rdx
.next:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov ecx, 1000000
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jnz .ready
    pause
    dec ecx
    jnz .wait
.ready:
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp .next
.done:
    pop rdx
    pop rcx
    pop rax
    ret

; puthex64: RAX as 16 hex digits.
puthex64:
    push rax
    push rbx
    push rcx
    push rsi
    mov rbx, rax
    mov ecx, 16
    sub rsp, 24
.digit:
    rol rbx, 4
    mov eax, ebx
    and eax, 15
    cmp eax, 10
    jb .dec
    add eax, 'a' - 10 - '0'
.dec:
    add eax, '0'
    mov rsi, 16
    sub rsi, rcx
    mov [rsp + rsi], al
    dec ecx
    jnz .digit
    mov byte [rsp + 16], 0
    mov rsi, rsp
    call puts64
    add rsp, 24
    pop rsi
    pop rcx
    pop rbx
    pop rax
    ret

; 64-bit exception stubs: print the vector and RIP, then debug-exit 2.
align 16
fault_stubs:
    INTERRUPT_STUBS 32, fault64

fault64:
    lea rsi, [msg_fault]
    call puts64
    mov rax, [rsp]
    call puthex64
    lea rsi, [msg_at]
    call puts64
    mov rax, [rsp + 16]                   ; RIP, above the vector and error code
    call puthex64
    lea rsi, [msg_nl]
    call puts64
    mov al, 2
    out 0xf4, al
.halt:
    cli
    hlt
    jmp .halt

section .note.GNU-stack noalloc noexec nowrite progbits
