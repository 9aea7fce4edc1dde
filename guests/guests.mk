# Test guests (included by the top-level Makefile). Each guests/NAME.c (plus guests/NAME.asm if
# there is one) links with the shared library guests/lib/ into build/guests/NAME.elf: a
# Multiboot v1 ELF32 kernel loaded at 1 MiB. The library is an archive after lib/entry.asm (the
# entry point), so a guest carries only the parts it uses (the SMP code and its AP stacks only
# where APs are started). guests/realmode.asm (no .c) is a flat 64 KiB binary for
# kind=realmode. Built with the host gcc in -m32 mode and ld directly: no multilib and no libgcc
# needed (guests/lib/string.c has the 64-bit division helpers). `make guests` builds them all.
GUEST_BUILD := $(or $(BUILD),build)/guests
GUEST_NASM := $(or $(NASM),nasm)
GUEST_CC := gcc
GUEST_CFLAGS := -m32 -march=i686 -std=gnu11 -O2 -g -Iguests/lib -Wall -Wextra -Werror -ffreestanding \
    -fno-pic -fno-pie -fno-stack-protector -nostdlib -fno-asynchronous-unwind-tables -mgeneral-regs-only \
    -fno-omit-frame-pointer -fno-builtin-exit -fno-builtin-printf
GUEST_LDFLAGS := -m elf_i386 -nostdlib -static -no-pie -z max-page-size=4096 -z noexecstack --fatal-warnings \
    -T guests/lib/guest.ld
GUEST_NAMES := $(sort $(basename $(notdir $(wildcard guests/*.c))))
# The hostile-guest catalogue (guests/hostile/README.md): guests/hostile/NAME.c is built into
# build/guests/hostile/NAME.elf with the same library and rules.
HOSTILE_NAMES := $(sort $(basename $(notdir $(wildcard guests/hostile/*.c))))
GUEST_ENTRY_OBJ := $(GUEST_BUILD)/lib/entry.asm.o
GUEST_LIB_OBJS := $(patsubst guests/lib/%.c,$(GUEST_BUILD)/lib/%.o,$(wildcard guests/lib/*.c)) \
    $(patsubst guests/lib/%.asm,$(GUEST_BUILD)/lib/%.asm.o,$(filter-out guests/lib/entry.asm,$(wildcard guests/lib/*.asm)))
GUEST_LIB := $(GUEST_BUILD)/lib/libguest.a
GUEST_ELFS := $(patsubst %,$(GUEST_BUILD)/%.elf,$(GUEST_NAMES)) $(GUEST_BUILD)/realmode.bin \
    $(patsubst %,$(GUEST_BUILD)/hostile/%.elf,$(HOSTILE_NAMES))

$(GUEST_BUILD)/%.o: guests/%.c guests/guests.mk
	@mkdir -p $(dir $@)
	@echo "  CC32    $<"
	@$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_BUILD)/%.asm.o: guests/%.asm guests/guests.mk
	@mkdir -p $(dir $@)
	@echo "  NASM32  $<"
	@$(GUEST_NASM) -f elf32 -w+all -Werror -MD $(@:.o=.d) -o $@ $<

$(GUEST_LIB): $(GUEST_LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(GUEST_BUILD)/%.elf: $(GUEST_BUILD)/%.o $(GUEST_ENTRY_OBJ) $(GUEST_LIB) guests/lib/guest.ld
	@echo "  LD32    $@"
	@ld $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^) $(GUEST_LIB)

# A guest's own .asm file (long_mode's mode switch) is linked in when there is one.
$(foreach g,$(GUEST_NAMES),$(if $(wildcard guests/$(g).asm),$(eval $(GUEST_BUILD)/$(g).elf: $(GUEST_BUILD)/$(g).asm.o)))
$(foreach g,$(HOSTILE_NAMES),$(if $(wildcard guests/hostile/$(g).asm),$(eval $(GUEST_BUILD)/hostile/$(g).elf: $(GUEST_BUILD)/hostile/$(g).asm.o)))

# Real mode: a flat binary, its last 16 bytes at 0xFFFF0 (reset vector F000:FFF0).
$(GUEST_BUILD)/realmode.bin: guests/realmode.asm guests/guests.mk
	@mkdir -p $(dir $@)
	@echo "  NASM16  $<"
	@$(GUEST_NASM) -f bin -w+all -Werror -MD $@.d -o $@ $<

.PHONY: guests
guests: $(GUEST_ELFS)
