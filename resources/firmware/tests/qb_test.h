/* A minimal C test harness: each CHECK counts, failures print file:line and continue. */
#ifndef QB_TEST_H
#define QB_TEST_H

#include <stdio.h>

extern int qb_test_failures, qb_test_checks;

#define CHECK(cond)                                                             \
  do {                                                                          \
    qb_test_checks++;                                                           \
    if (!(cond)) {                                                              \
      qb_test_failures++;                                                       \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                           \
  } while (0)

#define CHECK_EQ(a, b)                                                                                    \
  do {                                                                                                    \
    long long qa_ = (long long)(a), qb_ = (long long)(b);                                                 \
    qb_test_checks++;                                                                                     \
    if (qa_ != qb_) {                                                                                     \
      qb_test_failures++;                                                                                 \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, qa_, qb_); \
    }                                                                                                     \
  } while (0)

/* The shared models folder, or NULL when absent (tests that need it report a skip). */
const char *qb_test_models_dir(void);
unsigned char *qb_test_read_file(const char *dir, const char *name, size_t *size);

void test_fixedpoint(void);
void test_reader(void);
void test_planner(void);
void test_kernels(void);
void test_fast_kernels(void);

#endif
