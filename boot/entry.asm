; Multiboot2 header and the 32-bit entry GRUB jumps to (Multiboot2 spec 3.2: EAX = magic,
; EBX = physical address of the boot information, paging off, protected mode flat segments).
; It builds page tables that map the first 4 GiB three times (identity, the direct map at
; 0xFFFF800000000000 and the -2 GiB image window), enters long mode and calls kernel_main.

KERNEL_OFFSET     equ 0xFFFFFFFF80000000
DIRECT_MAP_PML4   equ 256
MB2_MAGIC         equ 0xE85250D6
MB2_BOOT_MAGIC    equ 0x36D76289
COM1              equ 0x3F8

section .multiboot2 align=8
mb2_header:
    dd MB2_MAGIC
    dd 0                                  ; i386 protected mode entry
    dd mb2_header_end - mb2_header
    dd 0x100000000 - (MB2_MAGIC + (mb2_header_end - mb2_header))
    align 8
    dw 6, 0                               ; module alignment tag: modules page-aligned
    dd 8
    align 8
    ; Framebuffer tag (spec 3.1.10), optional (flags bit 0); width, height and depth 0: no
    ; preference. GRUB then sets a graphics mode and describes it in the boot information, for the
    ; framebuffer console: a VBE mode under BIOS; under UEFI a GOP mode, once grub.cfg has loaded
    ; efi_gop (insmod efi_gop or all_video; without it GRUB 2.06 says "no suitable video mode
    ; found" and boots without one). `set gfxpayload=text` after the multiboot2 line keeps the
    ; text mode (tools/run-vm does by default: Bochs's term display cannot show VBE modes).
    dw 5, 1
    dd 20
    dd 0, 0, 0
    align 8
    dw 0, 0                               ; end tag
    dd 8
mb2_header_end:

section .boot.bss nobits alloc write align=4096
boot_pml4:       resq 512
boot_pdpt_low:   resq 512
boot_pdpt_image: resq 512
boot_pd:         resq 4 * 512
                 resd 64
boot_stack_low_top:

section .boot.data write align=8
boot_gdt:
    dq 0
    dq 0x00AF9A000000FFFF                 ; 0x08: 64-bit code
    dq 0x00CF92000000FFFF                 ; 0x10: data
boot_gdt_end:
boot_gdtr:
    dw boot_gdt_end - boot_gdt - 1
    dq boot_gdt
global boot_handoff_tsc
boot_handoff_tsc: dq 0
boot_mbi:         dd 0

section .boot.text
bits 32
global boot_entry
boot_entry:
    mov ebp, eax                          ; RDTSC below clobbers EAX/EDX
    mov esi, ebx
    mov [boot_mbi], ebx
    rdtsc
    mov [boot_handoff_tsc], eax
    mov [boot_handoff_tsc + 4], edx
    mov esp, boot_stack_low_top
    cmp ebp, MB2_BOOT_MAGIC
    jne .bad_magic
    ; Long mode and NX are required (every VT-x CPU has them unless firmware hides XD).
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz .no_long_mode
    test edx, 1 << 20                     ; NX: the hypervisor's W^X mappings rely on it
    jz .no_nx

    ; Four page directories of 2 MiB leaves cover 0-4 GiB (present, writable, PS).
    mov ecx, 0
.fill_pd:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov [boot_pd + ecx * 8], eax
    mov eax, ecx
    shr eax, 11
    mov [boot_pd + ecx * 8 + 4], eax
    inc ecx
    cmp ecx, 4 * 512
    jne .fill_pd
    %assign i 0
    %rep 4
        mov dword [boot_pdpt_low + i * 8], boot_pd + i * 4096 + 3
    %assign i i + 1
    %endrep
    ; -2 GiB window: PML4[511] -> PDPT[510] -> first 1 GiB.
    mov dword [boot_pdpt_image + 510 * 8], boot_pd + 3
    mov dword [boot_pml4], boot_pdpt_low + 3
    mov dword [boot_pml4 + DIRECT_MAP_PML4 * 8], boot_pdpt_low + 3
    mov dword [boot_pml4 + 511 * 8], boot_pdpt_image + 3

    mov eax, cr4
    or eax, 1 << 5                        ; PAE
    mov cr4, eax
    mov eax, boot_pml4
    mov cr3, eax
    mov ecx, 0xC0000080                   ; IA32_EFER
    rdmsr
    or eax, (1 << 8) | (1 << 11)          ; LME, NXE
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | (1 << 16) | 1     ; PG, WP, PE
    mov cr0, eax
    lgdt [boot_gdtr]
    jmp 0x08:boot_long_mode

.bad_magic:
    mov esi, msg_bad_magic
    jmp .fatal
.no_long_mode:
    mov esi, msg_no_long_mode
    jmp .fatal
.no_nx:
    mov esi, msg_no_nx
.fatal:
    ; No console exists yet: program COM1 (115200 8N1), print there and on port 0xE9.
    cld
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al
    mov dx, COM1
    mov al, 1
    out dx, al
    mov dx, COM1 + 1
    xor al, al
    out dx, al
    mov dx, COM1 + 3
    mov al, 3
    out dx, al
    call early_print
    ; Without the Multiboot2 magic the MBI cannot be trusted to say how to leave: stop here.
    cmp ebp, MB2_BOOT_MAGIC
    jne .halt
    mov esi, msg_refused
    call early_print
    call early_exit
.halt:
    cli
    hlt
    jmp .halt

; Prints the NUL-terminated string at ESI on COM1 and port 0xE9, then waits until the UART has
; sent it all (an emulator exit right after must not cut the line).
early_print:
    lodsb
    test al, al
    jz .drain
    mov ah, al
    mov dx, COM1 + 5
.wait_thr:
    in al, dx
    test al, 0x20
    jz .wait_thr
    mov al, ah
    mov dx, COM1
    out dx, al
    out 0xE9, al
    jmp early_print
.drain:
    mov dx, COM1 + 5
    mov ecx, 1000000                      ; bounded: an absent UART must not hang this
.wait_empty:
    in al, dx
    test al, 0x40
    jnz .done
    loop .wait_empty
.done:
    ret

; Test runs leave through the emulator's exit port with status 2 (refused), as the C++ code
; does once it runs: `exit=bochs` or `exit=qemu` in the Multiboot2 command line (tag type 1).
; Anything else (ACPI power-off needs the FADT) halts.
early_exit:
    mov edx, [boot_mbi]
    mov ebx, edx
    add ebx, [edx]                        ; end of the MBI (total_size)
    add edx, 8
.tag:
    cmp edx, ebx
    jae .no_method
    mov eax, [edx]
    test eax, eax
    jz .no_method                         ; end tag
    cmp eax, 1
    je .scan_start
    mov ecx, [edx + 4]
    cmp ecx, 8
    jb .no_method                         ; malformed: never loop on a zero size
    add ecx, 7
    and ecx, ~7
    add edx, ecx
    jmp .tag
.scan_start:
    mov ebx, edx
    add ebx, [edx + 4]                    ; end of the command-line tag
    add edx, 8
.scan:
    cmp edx, ebx
    jae .no_method
    cmp byte [edx], 0
    je .no_method
    mov esi, str_exit_bochs
    mov edi, edx
    mov ecx, str_exit_bochs_end - str_exit_bochs
    repe cmpsb
    je .bochs
    mov esi, str_exit_qemu
    mov edi, edx
    mov ecx, str_exit_qemu_end - str_exit_qemu
    repe cmpsb
    je .qemu
    inc edx
    jmp .scan
.bochs:
    mov esi, str_shutdown
    mov dx, 0x8900
    mov ecx, 8
    rep outsb
    ret
.qemu:
    mov al, 2
    out 0xF4, al
.no_method:
    ret

bits 64
boot_long_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rax, boot_higher_half
    jmp rax

msg_bad_magic:    db "matryoshka: error: not started by a Multiboot2 loader (bad magic in EAX)", 13, 10, 0
msg_no_long_mode: db "matryoshka: error: this CPU does not support 64-bit long mode", 13, 10, 0
msg_no_nx:        db "matryoshka: error: execute-disable (NX/XD) is off: enable XD in the firmware setup", 13, 10, 0
msg_refused:      db "matryoshka: exit status 2", 13, 10, 0
str_exit_bochs:   db "exit=bochs"
str_exit_bochs_end:
str_exit_qemu:    db "exit=qemu"
str_exit_qemu_end:
str_shutdown:     db "Shutdown"

section .text
boot_higher_half:
    mov rsp, boot_stack_top
    xor ebp, ebp                          ; ends frame-pointer backtraces
    mov edi, esi                          ; kernel_main(mbi_physical)
    extern kernel_main
    call kernel_main
.stop:
    cli
    hlt
    jmp .stop

; The boot CPU's kernel stack, above a guard page that main.cpp unmaps (arch/percpu.hpp).
section .bss align=4096
    resb 4096
    resb 16384
global boot_stack_top
boot_stack_top:
