/* Start-up (guest_lib_init, called by _start before main) and the Multiboot v1 information. */
#include "guest.h"

u32 boot_magic;
struct mb_info *boot_info;
void idt_init(void);

void guest_lib_init(u32 magic, u32 info)
{
    uart_init();
    idt_init();
    pic_disable();
    boot_magic = magic;
    boot_info = magic == MB1_BOOT_MAGIC ? (struct mb_info *)(uintptr_t)info : 0;
}

const char *boot_cmdline(void)
{
    if (!boot_info || !(boot_info->flags & MB_INFO_CMDLINE) || !boot_info->cmdline) return "";
    return (const char *)(uintptr_t)boot_info->cmdline;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

int cmdline_get(const char *key, char *buf, size_t size)
{
    const char *p = boot_cmdline();
    size_t klen = strlen(key);
    while (*p) {
        while (is_blank(*p)) ++p;
        const char *word = p;
        while (*p && !is_blank(*p)) ++p;
        if ((size_t)(p - word) > klen && !strncmp(word, key, klen) && word[klen] == '=') {
            const char *v = word + klen + 1;
            size_t n = (size_t)(p - v);
            if (size) {
                if (n >= size) n = size - 1;
                memcpy(buf, v, n);
                buf[n] = '\0';
            }
            return 1;
        }
    }
    return 0;
}

u64 cmdline_number(const char *key, u64 def)
{
    char buf[32];
    if (!cmdline_get(key, buf, sizeof buf)) return def;
    const char *end;
    u64 v = parse_number(buf, &end);
    return end == buf ? def : v;
}

void mmap_foreach(void (*fn)(u64 addr, u64 len, u32 type, void *ctx), void *ctx)
{
    if (!boot_info) return;
    if (boot_info->flags & MB_INFO_MMAP) {
        u32 p = boot_info->mmap_addr, end = p + boot_info->mmap_length;
        while (p < end) {
            const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)(uintptr_t)p;
            fn(e->addr, e->len, e->type, ctx);
            p += e->size + 4;
        }
    } else if (boot_info->flags & MB_INFO_MEM) {
        fn(0, (u64)boot_info->mem_lower << 10, 1, ctx);
        fn(0x100000, (u64)boot_info->mem_upper << 10, 1, ctx);
    }
}

static void raise_to(u32 *mark, u32 start, u32 len)
{
    if (start + len > *mark) *mark = start + len;
}

u32 boot_data_end(void)
{
    u32 mark = (u32)(uintptr_t)image_end;
    if (!boot_info) return mark;
    raise_to(&mark, (u32)(uintptr_t)boot_info, sizeof *boot_info + 64 /* VBE/framebuffer fields */);
    if (boot_info->flags & MB_INFO_CMDLINE) raise_to(&mark, boot_info->cmdline, strlen(boot_cmdline()) + 1);
    if (boot_info->flags & MB_INFO_MMAP) raise_to(&mark, boot_info->mmap_addr, boot_info->mmap_length);
    if (boot_info->flags & MB_INFO_LOADER_NAME)
        raise_to(&mark, boot_info->boot_loader_name,
                 strlen((const char *)(uintptr_t)boot_info->boot_loader_name) + 1);
    if (boot_info->flags & MB_INFO_MODS) {
        const struct mb_module *m = (const struct mb_module *)(uintptr_t)boot_info->mods_addr;
        raise_to(&mark, boot_info->mods_addr, boot_info->mods_count * sizeof *m);
        for (u32 i = 0; i < boot_info->mods_count; ++i) {
            raise_to(&mark, m[i].start, m[i].end - m[i].start);
            if (m[i].string) raise_to(&mark, m[i].string, strlen((const char *)(uintptr_t)m[i].string) + 1);
        }
    }
    return mark;
}
