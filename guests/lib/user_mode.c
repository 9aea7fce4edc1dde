/* try_user: runs a function at CPL 3 (flat ring-3 segments 0x30/0x38 of entry.asm's GDT, IF=0,
 * IOPL 0) and comes back through the fault it ends with. A fault at CPL 3 switches to the
 * TSS's ring-0 stack (SDM Vol. 3 7.2.1, 6.12.1); try_call's recovery then returns to CPL 0 and
 * restores its own stack. The function ends with UD2 at user_return when it returns, so every
 * way out is a fault; the TSS has no I/O bitmap (its base is past the limit), so IN/OUT at
 * CPL 3 with IOPL 0 raise #GP (SDM Vol. 1 19.5.2). */
#include "guest.h"

#define SEL_TSS 0x40
#define STRINGIFY(x) #x
#define STR(x) STRINGIFY(x)

static struct {
    u32 link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    u32 eax, ecx, edx, ebx, esp, ebp, esi, edi, es, cs, ss, ds, fs, gs, ldt;
    u16 trap, iomap_base;
} __attribute__((packed)) tss;

static u8 ring0_stack[4096] __attribute__((aligned(16)));
static u8 user_stack[4096] __attribute__((aligned(16)));
void (*volatile user_fn)(void *);
void *volatile user_arg;
u32 user_stack_top;

void user_entry(void);
void enter_user(void *);
extern char user_return[];
__asm__(".text\n"
        ".globl user_entry, user_return, enter_user\n"
        "user_entry:\n"
        "    movw $" STR(SEL_USER_DATA) ", %ax\n"
        "    movw %ax, %ds\n"
        "    movw %ax, %es\n"
        "    movw %ax, %fs\n"
        "    movw %ax, %gs\n"
        "    pushl user_arg\n"
        "    call *user_fn\n"
        "user_return: ud2\n"
        /* An IRET frame to CPL 3: SS, ESP, EFLAGS (IF=0, IOPL 0, bit 1), CS, EIP. */
        "enter_user:\n"
        "    pushl $" STR(SEL_USER_DATA) "\n"
        "    pushl user_stack_top\n"
        "    pushl $2\n"
        "    pushl $" STR(SEL_USER_CODE) "\n"
        "    pushl $user_entry\n"
        "    iretl\n");

int try_user(void (*fn)(void *), void *arg)
{
    static int tss_loaded;
    if (!tss_loaded) {
        tss.ss0 = SEL_DATA32;
        tss.esp0 = (u32)(uintptr_t)(ring0_stack + sizeof ring0_stack);
        tss.iomap_base = sizeof tss;
        gdt_set(SEL_TSS, (u32)(uintptr_t)&tss, sizeof tss - 1, 0x89 /* present, 32-bit TSS */, 0);
        __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
        tss_loaded = 1;
    }
    user_fn = fn;
    user_arg = arg;
    user_stack_top = (u32)(uintptr_t)(user_stack + sizeof user_stack);
    if (!try_call(enter_user, 0)) return 1; /* cannot happen: the IRET does not come back */
    if (last_fault.vector == 6 && last_fault.eip == (u32)(uintptr_t)user_return) return 0;
    return 1;
}
