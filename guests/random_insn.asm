; random_insn's mode switches and recovery paths (random_insn.c drives them). Each function runs
; one random stream and returns the event that ended it (a vector, or RM_FILTERED/RM_BUDGET):
;
;   u32 rm_run(void)                          real mode, CPL 0, single-stepped and filtered
;   u32 pm_run(u32 entry, u32 user_stack, const struct start_regs *regs)
;                                             32-bit protected mode, CPL 3, PAE paging (already on)
;   u32 lm_run(u32 pml4, u32 entry, u32 user_stack, const struct start_regs *regs)
;                                             64-bit mode, CPL 3, 4-level paging (turned on here)
;
; Real mode has no paging and no privilege levels, so protection there comes from segments and
; single-stepping: every segment register holds the sandbox segment and the stream cannot load
; another (the filter below stops segment loads, far transfers, IRET/POPF/CLI, HLT, I/O and the
; system instructions before they execute), so all it can touch is the sandbox's 64 KiB. The
; #DB stub inspects each next instruction (after prefixes) through three class tables that
; random_insn.c fills, and counts a step budget. The blob from rm_blob to rm_blob_end runs at
; RM_BLOB_BASE (random_insn.c copies it there): CS = RM_BLOB_BASE >> 4 in real mode, the
; 16-bit code segment based there in protected mode, so its offsets are OFF(label).
;
; In protected and long mode the stream runs at CPL 3 with IOPL 0: the guest's code, stacks,
; IDT, GDT, TSS and page tables are supervisor pages it cannot reach, privileged instructions
; raise #GP, and the LAPIC timer (IF stays 1) bounds every loop. Any exception or interrupt goes
; through a ring-0 gate on the TSS's stack; the recovery path reloads the saved stack and
; registers and returns here.

%include "guests/lib/selectors.inc"
%include "guests/lib/interrupt_stubs.inc"
CODE16     equ 0x20
DATA16     equ 0x28
STACK16    equ 0x68                       ; DATA16 with limit 0x10000: see rm16_entry
USER_CS32  equ 0x33
USER_DS    equ 0x3b
USER_CS64  equ 0x43
TSS64_SEL  equ 0x58
%include "guests/lib/ia32e.inc"

RM_BLOB_BASE equ 0x7000
RM_SANDBOX_SEG equ 0x8000
RM_FILTERED equ 0x100
RM_BUDGET   equ 0x101

; struct start_regs (random_insn.c)
SR_EAX equ 0
SR_EBX equ 4
SR_ECX equ 8
SR_EDX equ 12
SR_ESI equ 16
SR_EDI equ 20
SR_EBP equ 24

%define OFF(x) ((x) - rm_blob)

; ---- real mode ------------------------------------------------------------------------------
section .data
align 4
rm_saved_esp: dd 0
rm_saved_idtr: times 6 db 0

section .text
bits 32
global rm_run
rm_run:
    push ebp
    push ebx
    push esi
    push edi
    mov [rm_saved_esp], esp
    sidt [rm_saved_idtr]
    jmp CODE16:OFF(rm16_entry)

; The blob's way back: protected mode again (the stream's state is gone).
rm_back32:
    LOAD_FLAT_DATA_SEGMENTS
    mov esp, [rm_saved_esp]
    lidt [rm_saved_idtr]
    cld
    movzx eax, word [RM_BLOB_BASE + OFF(rm_vector)]
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

global rm_blob, rm_blob_end, rm_stubs, rm_vector, rm_ip, rm_cs, rm_budget, rm_init_ip, rm_init_sp
global rm_regs, rm_gdtr, rm_class, rm_class_0f, rm_allow_0f01
align 16
bits 16
rm_blob:
; 16-bit protected mode, CS based at RM_BLOB_BASE: 64 KiB segments everywhere, then PE off.
rm16_entry:
    mov ax, DATA16
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    ; Real-mode segment loads change only the base (SDM Vol. 3A 21.1.1), so SS keeps this limit
    ; of 0x10000 in real mode: a push with SP = 1 then writes 0xFFFF-0x10000 instead of raising
    ; the #SS that real mode cannot deliver (SDM Vol. 3B 20.1.4: shutdown). The one byte beyond
    ; the window is unused.
    mov ax, STACK16
    mov ss, ax
    mov eax, cr0
    and eax, ~1
    mov cr0, eax
    jmp (RM_BLOB_BASE >> 4):OFF(rm_real)
rm_real:
    lidt [cs:OFF(rm_ivtr)]
    mov ax, RM_SANDBOX_SEG
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov sp, [cs:OFF(rm_init_sp)]
    push word 0x0302                      ; IF and TF: the timer and the step filter
    push word RM_SANDBOX_SEG
    push word [cs:OFF(rm_init_ip)]
    mov eax, [cs:OFF(rm_regs) + SR_EAX]
    mov ebx, [cs:OFF(rm_regs) + SR_EBX]
    mov ecx, [cs:OFF(rm_regs) + SR_ECX]
    mov edx, [cs:OFF(rm_regs) + SR_EDX]
    mov esi, [cs:OFF(rm_regs) + SR_ESI]
    mov edi, [cs:OFF(rm_regs) + SR_EDI]
    mov ebp, [cs:OFF(rm_regs) + SR_EBP]
    iret                                  ; the first byte is a NOP (its #DB checks the next)

; Single-step #DB (vector 1): the stream's next instruction is at the IP/CS just pushed.
rm_step:
    mov [cs:OFF(sv_ax)], ax
    mov [cs:OFF(sv_bx)], bx
    mov [cs:OFF(sv_cx)], cx
    mov [cs:OFF(sv_si)], si
    mov [cs:OFF(sv_bp)], bp
    mov [cs:OFF(sv_ds)], ds
    dec word [cs:OFF(rm_budget)]
    jz .budget
    mov bp, sp
    lds si, [ss:bp]                       ; DS:SI = CS:IP of the next instruction
    mov cl, 14
.prefix:
    mov al, [si]                          ; 16-bit offsets wrap: no fault here
    inc si
    mov bx, OFF(rm_class)
    cs xlatb
    cmp al, 1                             ; prefix
    jne .opcode
    dec cl
    jnz .prefix
    jmp .allow                            ; too long: the CPU raises #GP itself
.opcode:
    test al, al
    jz .allow
    cmp al, 2
    je .forbid
    mov ah, [si]                          ; the byte after the opcode
    cmp al, 4
    je .group_ff
    mov al, ah                            ; 0F xx
    mov bx, OFF(rm_class_0f)
    cs xlatb
    test al, al
    jz .allow
    cmp al, 1
    je .forbid
    mov al, [si + 1]                      ; 0F 01 /r: the ModRM byte decides
    mov bx, OFF(rm_allow_0f01)
    cs xlatb
    test al, al
    jnz .allow
    jmp .forbid
.group_ff:                                ; FF /3 and /5 are far CALL and JMP
    shr ah, 3
    and ah, 7
    cmp ah, 3
    je .forbid
    cmp ah, 5
    je .forbid
.allow:
    mov ds, [cs:OFF(sv_ds)]
    mov bp, [cs:OFF(sv_bp)]
    mov si, [cs:OFF(sv_si)]
    mov cx, [cs:OFF(sv_cx)]
    mov bx, [cs:OFF(sv_bx)]
    mov ax, [cs:OFF(sv_ax)]
    iret
.forbid:
    mov word [cs:OFF(rm_vector)], RM_FILTERED
    jmp rm_common
.budget:
    mov word [cs:OFF(rm_vector)], RM_BUDGET
    jmp rm_common

; Every other vector: the stream is over. Back to protected mode through the saved GDT.
rm_common:
    mov bp, sp
    mov ax, [ss:bp]
    mov [cs:OFF(rm_ip)], ax
    mov ax, [ss:bp + 2]
    mov [cs:OFF(rm_cs)], ax
    o32 lgdt [cs:OFF(rm_gdtr)]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword CODE32:rm_back32

; One 16-byte stub per vector: records it and joins rm_common (vector 1 goes to rm_step).
align 16
rm_stubs:
%assign vec 0
%rep 256
    align 16
%if vec == 1
    jmp rm_step
%else
    mov word [cs:OFF(rm_vector)], vec
    jmp rm_common
%endif
%assign vec vec + 1
%endrep

align 4
rm_vector:   dw 0
rm_ip:       dw 0
rm_cs:       dw 0
rm_budget:   dw 0
rm_init_ip:  dw 0
rm_init_sp:  dw 0
sv_ax:       dw 0
sv_bx:       dw 0
sv_cx:       dw 0
sv_si:       dw 0
sv_bp:       dw 0
sv_ds:       dw 0
rm_regs:     times 7 dd 0
rm_gdtr:     times 6 db 0
rm_ivtr:     dw 0x3ff
             dd 0
; 0 allowed, 1 prefix, 2 forbidden, 3 two-byte escape (0F), 4 group FF
rm_class:    times 256 db 0
; after 0F: 0 allowed, 1 forbidden, 2 look at the ModRM byte (rm_allow_0f01)
rm_class_0f: times 256 db 0
; 0F 01 ModRM bytes: 1 allowed
rm_allow_0f01: times 256 db 0
rm_blob_end:

; ---- 32-bit protected mode, CPL 3 --------------------------------------------------------------
section .data
align 4
pm_saved_esp: dd 0

section .text
bits 32
global pm_run, pm_recover
pm_run:
    push ebp
    push ebx
    push esi
    push edi
    mov [pm_saved_esp], esp
    mov eax, [esp + 20]                   ; entry
    mov edx, [esp + 24]                   ; user stack
    mov esi, [esp + 28]                   ; regs
    mov cx, USER_DS
    mov ds, cx
    mov es, cx
    mov fs, cx
    mov gs, cx
    push USER_DS
    push edx
    push 0x202                            ; IF, IOPL 0
    push USER_CS32
    push eax
    mov eax, [ss:esi + SR_EAX]
    mov ebx, [ss:esi + SR_EBX]
    mov ecx, [ss:esi + SR_ECX]
    mov edx, [ss:esi + SR_EDX]
    mov edi, [ss:esi + SR_EDI]
    mov ebp, [ss:esi + SR_EBP]
    mov esi, [ss:esi + SR_ESI]
    iretd

; random_insn.c's handler points the saved EIP here (EFLAGS 2: IF, DF, AC, NT all clear); the
; vector it recorded is the result.
pm_recover:
    LOAD_FLAT_DATA_SEGMENTS
    mov esp, [pm_saved_esp]
    xor eax, eax
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; ---- 64-bit mode, CPL 3 -------------------------------------------------------------------------
section .bss align=16
global lm_idt
lm_idt:        resb 256 * 16
section .data
align 8
lm_idt_descriptor:
    dw 256 * 16 - 1
    dd lm_idt, 0
lm_saved_esp:  dd 0
lm_saved_idtr: times 6 db 0
global lm_event
lm_event:                                 ; struct lm_event (random_insn.c)
lm_vector:     dd 0
lm_error:      dd 0
lm_rip:        dq 0
lm_cs:         dd 0
lm_pad:        dd 0
lm_cr2:        dq 0

extern gdt_table
section .text
bits 32
global lm_run
lm_run:
    push ebp
    push ebx
    push esi
    push edi
    mov [lm_saved_esp], esp
    sidt [lm_saved_idtr]
    ENTER_IA32E [esp + 20], 1 << 11, 1 << 16  ; also EFER.NXE and CR0.WP
    jmp CODE64:lm64

bits 64
lm64:
    mov esp, esp
    lidt [lm_idt_descriptor]
    and byte [gdt_table + TSS64_SEL + 5], ~2   ; not busy, so LTR takes it again
    mov ax, TSS64_SEL
    ltr ax
    mov ecx, [rsp + 24]                   ; entry
    mov edx, [rsp + 28]                   ; user stack
    mov esi, [rsp + 32]                   ; regs
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    push USER_DS
    push rdx
    push 0x202
    push USER_CS64
    push rcx
    mov eax, [rsi + SR_EAX]
    mov ebx, [rsi + SR_EBX]
    mov ecx, [rsi + SR_ECX]
    mov edx, [rsi + SR_EDX]
    mov edi, [rsi + SR_EDI]
    mov ebp, [rsi + SR_EBP]
    mov esi, [rsi + SR_ESI]
    mov r8, rax
    mov r9, rbx
    mov r10, rcx
    mov r11, rdx
    mov r12, rsi
    mov r13, rdi
    mov r14, rbp
    xor r15d, r15d
    iretq

; [rsp] vector, error code, RIP, CS, RFLAGS, RSP, SS (SDM Vol. 3A 6.14.2).
lm_common:
    cld
    LOAD_FLAT_DATA_SEGMENTS
    mov rax, [rsp]
    mov [lm_vector], eax
    mov rax, [rsp + 8]
    mov [lm_error], eax
    mov rax, [rsp + 16]
    mov [lm_rip], rax
    mov rax, [rsp + 24]
    mov [lm_cs], eax
    mov rax, cr2
    mov [lm_cr2], rax
    mov esp, [lm_saved_esp]
    push CODE32
    lea rax, [lm_compat]
    push rax
    retfq

bits 32
lm_compat:
    LEAVE_IA32E
    LOAD_FLAT_DATA_SEGMENTS
    lidt [lm_saved_idtr]
    mov eax, [lm_vector]
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; The 64-bit IDT's stubs (lib/interrupt_stubs.inc).
bits 64
align 16
global lm_stubs
lm_stubs:
    INTERRUPT_STUBS 256, lm_common

section .note.GNU-stack noalloc noexec nowrite progbits
