/* lapic_mmio: local APIC registers (xAPIC page at 0xFEE00000) through the instruction forms a
 * hypervisor's MMIO emulator must decode. Read-only ID and version through MOV loads (moffs,
 * base, base+disp8, SIB) and MOVZX (byte, word);
 * the TPR (harmless with IF=0: only priority, 8 writable bits) through MOV stores (moffs,
 * imm32, register), OR/AND/XOR on memory (results and flags), TEST, XCHG, STOSD and REP STOSD
 * with ECX=1 (exactly one dword: the neighbouring offsets are reserved); the SVR enable bit.
 * Then more forms in groups: addsub, incdec (on memory), cmp, cmpxchg (LOCK CMPXCHG), movs (MOVSD
 * in both directions), pushpop (PUSH/POP m32), segment (a load through FS based at 0xFEE00000).
 * Command line extra=LIST runs only the listed groups (extra=0: none); default: all. */
#include "guest.h"

TEST("lapic_mmio");

#define A_ID "0xfee00020"
#define A_VER "0xfee00030"
#define A_TPR "0xfee00080"
#define TPR_ADDR 0xfee00080u

/* cmdline extra=: absent = every group of more forms, 0 = none, else a comma list of groups. */
static int want(const char *group)
{
    char list[96];
    if (!cmdline_get("extra", list, sizeof list)) return 1;
    size_t n = strlen(group);
    for (const char *p = list; *p;) {
        const char *end = p;
        while (*end && *end != ',') ++end;
        if ((size_t)(end - p) == n && !strncmp(p, group, n)) return 1;
        p = *end ? end + 1 : end;
    }
    skip("%s forms (extra=%s)", group, list);
    return 0;
}

static u32 tpr(void) { return lapic_read(LAPIC_TPR); }
static void set_tpr(u32 v) { lapic_write(LAPIC_TPR, v); }

/* Runs an instruction on the TPR that starts from `start`; returns the TPR afterwards. */
#define RMW(start, insn, zf)                                                                           \
    ({                                                                                                 \
        set_tpr(start);                                                                                \
        __asm__ volatile(insn "\n setz %0" : "=q"(zf) : : "memory", "cc");                             \
        tpr();                                                                                         \
    })

int main(void)
{
    u32 ver = lapic_read(LAPIC_VERSION);
    note("version register 0x%08x, ID register 0x%08x", ver, lapic_read(LAPIC_ID));
    CHECK((ver & 0xff) >= 0x10 && (ver & 0xff) <= 0x15, "version: integrated APIC (0x10-0x15): 0x%x", ver & 0xff);
    CHECK(((ver >> 16) & 0xff) >= 3, "version: max LVT entry %u >= 3", (ver >> 16) & 0xff);

    /* Loads. */
    u32 a, b, c, d;
    __asm__ volatile("movl " A_VER ", %0" : "=a"(a));                       /* A1: mov eax, moffs32 */
    __asm__ volatile("movl (%1), %0" : "=r"(b) : "r"(0xfee00030u));        /* 8B /r, [base] */
    __asm__ volatile("movl 0x30(%1), %0" : "=r"(c) : "r"(LAPIC_BASE));      /* 8B /r, [base+disp8] */
    __asm__ volatile("movl (%1,%2,4), %0" : "=r"(d) : "r"(LAPIC_BASE), "r"(0x30u / 4)); /* SIB */
    CHECK(a == ver && b == ver && c == ver && d == ver, "mov loads (moffs, [base], [base+disp8], [base+index*4]) read the version");
    u32 id;
    __asm__ volatile("movl " A_ID ", %%ecx" : "=c"(id));
    CHECK(id >> 24 == cpuid(1, 0).ebx >> 24, "ID register APIC ID %u matches CPUID.1:EBX[31:24]", id >> 24);

    /* Stores to the TPR. */
    set_tpr(0);
    __asm__ volatile("movl $0x20, " A_TPR ::: "memory");                    /* C7 /0 imm32 */
    u32 t1 = tpr();
    __asm__ volatile("movl %0, " A_TPR : : "a"(0x30u) : "memory");          /* A3: mov moffs32, eax */
    u32 t2 = tpr();
    __asm__ volatile("movl %0, 0x80(%1)" : : "r"(0x40u), "r"(LAPIC_BASE) : "memory"); /* 89 /r */
    u32 t3 = tpr();
    CHECK(t1 == 0x20 && t2 == 0x30 && t3 == 0x40, "mov stores (imm32, moffs, register) write the TPR (0x%x 0x%x 0x%x)", t1, t2, t3);
    set_tpr(0xffffffff);
    u32 t4 = tpr();
    CHECK(t4 == 0xff, "TPR keeps 8 bits: 0xffffffff reads 0x%x", t4);

    /* MOVZX: sub-dword reads of the TPR. */
    set_tpr(0x5a);
    u32 zb, zw;
    __asm__ volatile("movzbl " A_TPR ", %0" : "=r"(zb));
    __asm__ volatile("movzwl " A_TPR ", %0" : "=r"(zw));
    CHECK_HV(zb == 0x5a && zw == 0x5a, "movzx byte/word of the TPR 0x5a (0x%x 0x%x)", zb, zw);

    /* Read-modify-write on memory: values and flags. */
    u8 zf;
    u32 r = RMW(0x10, "orl $0x20, " A_TPR, zf);
    CHECK(r == 0x30 && !zf, "or m32, imm: 0x10 | 0x20 = 0x%x", r);
    r = RMW(0x30, "andl $0xf0, " A_TPR, zf);
    u32 r2 = RMW(0x30, "andl $0x0f, " A_TPR, zf);
    CHECK(r == 0x30 && r2 == 0 && zf, "and m32, imm: 0x30 & 0xf0 = 0x%x, 0x30 & 0x0f = 0x%x with ZF", r, r2);
    r = RMW(0x30, "xorl $0x55, " A_TPR, zf);
    CHECK(r == 0x65 && !zf, "xor m32, imm: 0x30 ^ 0x55 = 0x%x", r);
    set_tpr(0x11);
    __asm__ volatile("orl %0, " A_TPR : : "r"(0x44u) : "memory", "cc");
    r = tpr();
    CHECK(r == 0x55, "or m32, reg: 0x11 | 0x44 = 0x%x", r);
    set_tpr(0x40);
    u8 z1, z2;
    __asm__ volatile("testl $0x40, " A_TPR "\n setz %0" : "=q"(z1) : : "cc");
    __asm__ volatile("testl $0x20, " A_TPR "\n setz %0" : "=q"(z2) : : "cc");
    CHECK(!z1 && z2, "test m32, imm: bit 6 set (ZF=0), bit 5 clear (ZF=1)");
    set_tpr(0x12);
    u32 x = 0x77;
    __asm__ volatile("xchgl %0, " A_TPR : "+r"(x) : : "memory");
    r = tpr();
    CHECK(x == 0x12 && r == 0x77, "xchg reg, m32: got the old 0x%x, wrote 0x%x", x, r);

    /* String stores: exactly one dword. */
    set_tpr(0);
    u32 edi = TPR_ADDR, ecx = 1;
    __asm__ volatile("rep stosl" : "+D"(edi), "+c"(ecx) : "a"(0x66u) : "memory");
    r = tpr();
    CHECK(r == 0x66 && edi == TPR_ADDR + 4 && ecx == 0, "rep stosd with ECX=1: TPR 0x%x, EDI +4, ECX 0", r);
    edi = TPR_ADDR;
    __asm__ volatile("stosl" : "+D"(edi) : "a"(0x67u) : "memory");
    r = tpr();
    CHECK(r == 0x67 && edi == TPR_ADDR + 4, "stosd: TPR 0x%x, EDI +4", r);

    set_tpr(0);
    u32 svr = lapic_read(LAPIC_SVR);
    lapic_write(LAPIC_SVR, (svr & ~0xffu) | 0x1ff);
    u32 svr2 = lapic_read(LAPIC_SVR);
    CHECK((svr2 & 0x1ff) == 0x1ff, "SVR: enable bit and spurious vector 0xff read back (0x%x)", svr2);
    note("more instruction forms (extra=0 skips them; extra=addsub,incdec,... picks groups)");
    if (want("addsub")) {
        r = RMW(0x40, "addl $0x08, " A_TPR, zf);
        r2 = RMW(0x40, "subl $0x40, " A_TPR, zf);
        CHECK(r == 0x48 && r2 == 0 && zf, "add/sub m32, imm: 0x%x, 0x%x with ZF", r, r2);
    }
    if (want("incdec")) {
        r = RMW(0x40, "incl " A_TPR, zf);
        r2 = RMW(0x40, "decl " A_TPR, zf);
        CHECK(r == 0x41 && r2 == 0x3f, "inc/dec m32: 0x%x, 0x%x", r, r2);
    }
    if (want("cmp")) {
        set_tpr(0x40);
        u8 below;
        __asm__ volatile("cmpl $0x50, " A_TPR "\n setb %0" : "=q"(below) : : "cc");
        CHECK(below, "cmp m32, imm: 0x40 < 0x50 (CF=1)");
    }
    if (want("cmpxchg")) {
        set_tpr(0x21);
        u32 expected = 0x21;
        __asm__ volatile("lock cmpxchgl %2, " A_TPR "\n setz %1" : "+a"(expected), "=q"(zf) : "r"(0x31u) : "memory", "cc");
        r = tpr();
        CHECK(zf && r == 0x31, "lock cmpxchg m32: matched 0x21, wrote 0x%x", r);
    }
    if (want("movs")) {
        static u32 ram_word = 0x44, ram_copy;
        u32 esi = (u32)(uintptr_t)&ram_word;
        edi = TPR_ADDR;
        __asm__ volatile("movsl" : "+S"(esi), "+D"(edi) : : "memory");
        r = tpr();
        CHECK(r == 0x44, "movsd RAM -> TPR: 0x%x", r);
        esi = 0xfee00030;
        edi = (u32)(uintptr_t)&ram_copy;
        __asm__ volatile("movsl" : "+S"(esi), "+D"(edi) : : "memory");
        CHECK(ram_copy == ver, "movsd version -> RAM: 0x%x", ram_copy);
    }
    if (want("pushpop")) {
        u32 pushed;
        __asm__ volatile("pushl " A_VER "\n popl %0" : "=r"(pushed) : : "memory");
        CHECK(pushed == ver, "push m32 of the version: 0x%x", pushed);
        __asm__ volatile("pushl $0x23\n popl " A_TPR : : : "memory");
        r = tpr();
        CHECK(r == 0x23, "pop m32 into the TPR: 0x%x", r);
    }
    if (want("segment")) {
        /* A segment based at the APIC page: the emulator must add the segment base (or use the
         * guest-physical address of the exit). */
        gdt_set(SEL_FREE1, LAPIC_BASE, 0, 0x92 /* present, data, writable */, 0xc);
        u32 fsver;
        __asm__ volatile("movw %w1, %%fs\n movl %%fs:0x30, %0\n movw %w2, %%fs" : "=r"(fsver) : "r"(SEL_FREE1), "r"(SEL_DATA32));
        CHECK(fsver == ver, "mov load through FS (base 0xFEE00000) offset 0x30: 0x%x", fsver);
    }
    finish();
}
