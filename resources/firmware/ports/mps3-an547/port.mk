# Cortex-M55 bench firmware for QEMU mps3-an547, included by resources/firmware/Makefile.
#   make m55        -> $(OUT)/mps3-an547/board.elf
# The portable kernels as they are; -mcpu=cortex-m55 lets the compiler use MVE where it
# vectorises, and -ffp-contract=off (CFLAGS_COMMON) keeps float results identical.
AN547_PORT := ports/mps3-an547
AN547_CFLAGS := -O2 -g -mcpu=cortex-m55 -mthumb -mfloat-abi=hard \
  -ffunction-sections -fdata-sections -ffreestanding $(CFLAGS_COMMON) -Iprotocol
AN547_PROTO := qb_board qb_cobs qb_crc32
AN547_OBJ := $(patsubst src/%.c,$(OUT)/mps3-an547/obj/%.o,$(SRC)) $(AN547_PROTO:%=$(OUT)/mps3-an547/obj/%.o)

.PHONY: m55
m55: $(OUT)/mps3-an547/board.elf
ifeq ($(HAVE_ARM),1)
all: m55
endif

$(OUT)/mps3-an547/obj/%.o: src/%.c $(HDR) $(AN547_PORT)/port.mk
	@mkdir -p $(dir $@)
	$(ARM_CC) $(AN547_CFLAGS) -c $< -o $@

$(OUT)/mps3-an547/obj/%.o: protocol/%.c $(HDR) $(wildcard protocol/*.h) $(AN547_PORT)/port.mk
	@mkdir -p $(dir $@)
	$(ARM_CC) $(AN547_CFLAGS) -DQB_HAVE_RUNTIME -c $< -o $@

$(OUT)/mps3-an547/libqb.a: $(AN547_OBJ)
	@rm -f $@
	arm-none-eabi-ar rcs $@ $^

# startup.c goes in by name: nothing references the vector table, so an archive would drop it.
$(OUT)/mps3-an547/board.elf: $(wildcard $(AN547_PORT)/*.c $(AN547_PORT)/*.h) $(AN547_PORT)/an547.ld $(OUT)/mps3-an547/libqb.a
	$(ARM_CC) $(AN547_CFLAGS) -I$(AN547_PORT) -nostdlib -nostartfiles -T $(AN547_PORT)/an547.ld -Wl,--gc-sections \
	  $(AN547_PORT)/startup.c $(AN547_PORT)/hal.c $(AN547_PORT)/board_main.c $(OUT)/mps3-an547/libqb.a -lgcc -o $@
