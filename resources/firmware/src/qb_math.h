/* Float functions without libm (the wasm32 and bare-metal builds link no libc). */
#ifndef QB_MATH_H
#define QB_MATH_H

double qb_exp(double x);
float qb_expf(float x);
float qb_tanhf(float x);

#endif
