# Board protocol programs: the virtual board, the fuzz harness and the QEMU board image.
# Included by resources/firmware/Makefile (`-include protocol/protocol.mk`) and usable on
# its own: make -f resources/firmware/protocol/protocol.mk protocol

QB_FW_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
QB_BUILD ?= $(or $(OUT),$(abspath $(QB_FW_DIR)/../../build/firmware))
QB_HOST_CC ?= cc
QB_FUZZ_CC ?= clang
QB_ARM_CC ?= arm-none-eabi-gcc

QB_PROTO_SRCS := $(addprefix $(QB_FW_DIR)/protocol/,qb_board.c qb_cobs.c qb_crc32.c)
QB_PROTO_HDRS := $(wildcard $(QB_FW_DIR)/protocol/*.h) $(wildcard $(QB_FW_DIR)/include/*.h)
# The runtime links in once its sources link completely (probed once per make run);
# until then the board answers inference commands with NO_RUNTIME and make says so.
QB_RUNTIME_SRCS ?= $(wildcard $(QB_FW_DIR)/src/*.c)
QB_WITH_RUNTIME ?= $(shell printf '#include "qb_runtime.h"\nint main(void){return (int)qb_interpreter_size()+qb_supported_ops(0)+(int)qb_invoke(0);}\n' | \
  $(QB_HOST_CC) -std=c99 -x c -I$(QB_FW_DIR)/include -I$(QB_FW_DIR)/src -o /dev/null - -x none $(QB_RUNTIME_SRCS) -lm >/dev/null 2>&1 && echo 1 || echo 0)
ifneq ($(QB_WITH_RUNTIME),1)
$(info protocol.mk: the runtime in src/ does not link yet; boards are built without inference (NO_RUNTIME))
endif
QB_PROTO_RT_SRCS := $(if $(filter 1,$(QB_WITH_RUNTIME)),$(QB_RUNTIME_SRCS))
QB_PROTO_DEFS := $(if $(filter 1,$(QB_WITH_RUNTIME)),-DQB_HAVE_RUNTIME)
QB_PROTO_INC := -I$(QB_FW_DIR)/include -I$(QB_FW_DIR)/protocol -I$(QB_FW_DIR)/src
QB_PROTO_CFLAGS ?= -std=c99 -O2 -Wall -Wextra -Wno-unused-parameter

QB_VIRTUAL_BOARD := $(QB_BUILD)/host/virtual_board
QB_PROTOCOL_FUZZ := $(QB_BUILD)/host/protocol_fuzz
QB_MPS2_BOARD := $(QB_BUILD)/mps2/board.elf
QB_MPS2_RUNTIME := $(QB_BUILD)/mps2/libqbruntime.a
QB_ARM_CFLAGS ?= -std=c99 -O2 -g -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 \
  -ffunction-sections -fdata-sections -ffreestanding -Wall -Wextra -Wno-unused-parameter

QB_PROTOCOL_TARGETS := $(QB_VIRTUAL_BOARD)
ifneq ($(shell command -v $(QB_ARM_CC) 2>/dev/null),)
QB_PROTOCOL_TARGETS += $(QB_MPS2_BOARD)
endif

.PHONY: all protocol protocol-fuzz protocol-mps2 protocol-arduino
protocol: $(QB_PROTOCOL_TARGETS)
# Joins the firmware Makefile's default goal when included from it.
all: protocol
protocol-fuzz: $(QB_PROTOCOL_FUZZ)
protocol-mps2: $(QB_MPS2_BOARD)

$(QB_VIRTUAL_BOARD): $(QB_FW_DIR)/ports/host/virtual_board.c $(QB_PROTO_SRCS) $(QB_RUNTIME_SRCS) $(QB_PROTO_HDRS)
	@mkdir -p $(dir $@)
	$(QB_HOST_CC) $(QB_PROTO_CFLAGS) $(QB_PROTO_DEFS) $(QB_PROTO_INC) -o $@ $(QB_FW_DIR)/ports/host/virtual_board.c $(QB_PROTO_SRCS) $(QB_PROTO_RT_SRCS) -lpthread -lm

$(QB_PROTOCOL_FUZZ): $(QB_FW_DIR)/protocol/fuzz_protocol.c $(QB_PROTO_SRCS) $(QB_RUNTIME_SRCS) $(QB_PROTO_HDRS)
	@mkdir -p $(dir $@)
	$(QB_FUZZ_CC) -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DQB_MAX_PAYLOAD=1024 $(QB_PROTO_DEFS) $(QB_PROTO_INC) -o $@ $(QB_FW_DIR)/protocol/fuzz_protocol.c $(QB_PROTO_SRCS) $(QB_PROTO_RT_SRCS) -lm

# The runtime library (with the port's startup and HAL) comes from the firmware Makefile;
# used on its own, this file asks that Makefile for it.
ifndef MPS2_PORT
$(QB_MPS2_RUNTIME): $(QB_RUNTIME_SRCS) $(wildcard $(QB_FW_DIR)/ports/mps2-an386/*.c $(QB_FW_DIR)/ports/mps2-an386/*.h)
	$(MAKE) -s -C $(QB_FW_DIR) OUT=$(QB_BUILD) $@
endif

# startup.o goes in by name: nothing references the vector table, so the archive alone
# would drop it.
$(QB_MPS2_BOARD): $(QB_FW_DIR)/ports/mps2-an386/board_main.c $(QB_PROTO_SRCS) $(QB_PROTO_HDRS) $(QB_MPS2_RUNTIME)
	$(QB_ARM_CC) $(QB_ARM_CFLAGS) -DQB_HAVE_RUNTIME $(QB_PROTO_INC) -I$(QB_FW_DIR)/ports/mps2-an386 \
	  -nostdlib -nostartfiles -T $(QB_FW_DIR)/ports/mps2-an386/mps2.ld -Wl,--gc-sections \
	  -o $@ $(QB_FW_DIR)/ports/mps2-an386/board_main.c $(QB_PROTO_SRCS) $(QB_BUILD)/mps2/obj/startup.o $(QB_MPS2_RUNTIME) -lgcc

# The Arduino library with the bench sketch: the firmware Makefile assembles the runtime,
# this adds the protocol sources beside it (examples/QuantbenchBoard needs them).
protocol-arduino: arduino
	cp $(QB_FW_DIR)/protocol/qb_board.c $(QB_FW_DIR)/protocol/qb_cobs.c $(QB_FW_DIR)/protocol/qb_crc32.c \
	  $(QB_FW_DIR)/protocol/qb_board.h $(QB_FW_DIR)/protocol/qb_cobs.h $(QB_FW_DIR)/protocol/qb_crc32.h \
	  $(QB_FW_DIR)/protocol/qb_protocol.h $(QB_BUILD)/arduino/Quantbench/src/
