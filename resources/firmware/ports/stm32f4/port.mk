# STM32F4 bench firmware, included by resources/firmware/Makefile.
#   make stm32f4                      every board below, into $(OUT)/stm32f4/BOARD/board.elf
#   make stm32f4-nucleo-f411re        one board
# A board is a USART, a PLL target and a name; the runtime and protocol objects are
# shared by all of them (they depend only on the small-board limits).
STM32_PORT := ports/stm32f4
STM32_BOARDS := nucleo-f446re nucleo-f411re
STM32_DEFS_nucleo-f446re := -DQB_STM32_USART=2 -DQB_STM32_SYSCLK_MHZ=168
STM32_DEFS_nucleo-f411re := -DQB_STM32_USART=2 -DQB_STM32_SYSCLK_MHZ=100
# A frame big enough for one 28x28 float32 sample (3,136 bytes) per EVALUATE, a 100-run
# bench buffer, an interpreter for 64 tensors and 48 ops and a profile of as many: with a 4 KB
# stack they leave 104 KB of the 128 KB for model (62 KB) and arena (42 KB, the sample's int8
# export with its prepared requantization data).
STM32_LIMITS := -DQB_MAX_PAYLOAD=3200 -DQB_BENCHMARK_CAPACITY=100 -DQB_MAX_TENSORS=64 -DQB_MAX_OPS=48 -DQB_PROFILE_CAPACITY=48 \
  -DQB_STM32_INTERPRETER_BYTES=6912
STM32_CFLAGS := -O2 -g -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 \
  -ffunction-sections -fdata-sections -ffreestanding $(CFLAGS_COMMON) -Iprotocol $(STM32_LIMITS)
STM32_PROTO := qb_board qb_cobs qb_crc32
STM32_OBJ := $(patsubst src/%.c,$(OUT)/stm32f4/obj/%.o,$(SRC)) $(STM32_PROTO:%=$(OUT)/stm32f4/obj/%.o)

.PHONY: stm32f4 $(STM32_BOARDS:%=stm32f4-%)
stm32f4: $(STM32_BOARDS:%=stm32f4-%)
ifeq ($(HAVE_ARM),1)
all: stm32f4
endif

$(OUT)/stm32f4/obj/%.o: src/%.c $(HDR) $(STM32_PORT)/port.mk
	@mkdir -p $(dir $@)
	$(ARM_CC) $(STM32_CFLAGS) -c $< -o $@

$(OUT)/stm32f4/obj/%.o: protocol/%.c $(HDR) $(wildcard protocol/*.h) $(STM32_PORT)/port.mk
	@mkdir -p $(dir $@)
	$(ARM_CC) $(STM32_CFLAGS) -DQB_HAVE_RUNTIME -c $< -o $@

$(OUT)/stm32f4/libqb.a: $(STM32_OBJ)
	@rm -f $@
	arm-none-eabi-ar rcs $@ $^

define STM32_BOARD_RULES
stm32f4-$(1): $(OUT)/stm32f4/$(1)/board.elf
# startup.c goes in by name: nothing references the vector table, so an archive would drop it.
$(OUT)/stm32f4/$(1)/board.elf: $(wildcard $(STM32_PORT)/*.c $(STM32_PORT)/*.h) $(STM32_PORT)/stm32f4.ld $(OUT)/stm32f4/libqb.a
	@mkdir -p $$(dir $$@)
	$(ARM_CC) $(STM32_CFLAGS) $(STM32_DEFS_$(1)) '-DQB_STM32_BOARD_NAME="$(1)"' -I$(STM32_PORT) \
	  -nostdlib -nostartfiles -T $(STM32_PORT)/stm32f4.ld -Wl,--gc-sections -Wl,-Map=$$(@:.elf=.map) \
	  $(STM32_PORT)/startup.c $(STM32_PORT)/hal.c $(STM32_PORT)/board_main.c $(OUT)/stm32f4/libqb.a -lgcc -o $$@
endef
$(foreach b,$(STM32_BOARDS),$(eval $(call STM32_BOARD_RULES,$(b))))
