/*
 * Arduino entry point of the Quantbench runtime. The runtime sources are copied beside this
 * file by `make -C resources/firmware arduino` (build/firmware/arduino/Quantbench); the API
 * is qb_runtime.h, unchanged. qb_internal.h is included so a sketch can place the
 * interpreter statically (`static qb_interpreter it;`).
 */
#ifndef QUANTBENCH_H
#define QUANTBENCH_H

#include "qb_internal.h"
#include "qb_runtime.h"

#endif
