/* Links a model and an input into the self-test image; paths come from the build. */
  .section .rodata.qb_embedded, "a"
  .balign 16
  .global qb_model_data
qb_model_data:
  .incbin QB_MODEL_FILE
  .global qb_model_end
qb_model_end:
  .balign 16
  .global qb_input_data
qb_input_data:
  .incbin QB_INPUT_FILE
  .global qb_input_end
qb_input_end:
