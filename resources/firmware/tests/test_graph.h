/* Builds interpreters by hand (no flatbuffer) so planner and kernel tests control every
 * tensor; operator options live in a small flatbuffer table built by opts_table(). */
#ifndef QB_TEST_GRAPH_H
#define QB_TEST_GRAPH_H

#include "qb_internal.h"

typedef struct {
  qb_interpreter it;
  uint8_t options[4096];
  uint32_t options_used;
  uint8_t arena[1 << 16] __attribute__((aligned(16)));
} test_graph;

void tg_init(test_graph *g);
int tg_tensor(test_graph *g, qb_type type, int rank, const int32_t *dims, float scale, int32_t zp, const void *const_data);
/* Adds an op; `fields` are int32 option fields 0..n-1 (a field value INT32_MIN is absent). */
int tg_op(test_graph *g, int32_t code, int n_in, const int *in, int n_out, const int *out, int n_fields, const int32_t *fields);
void tg_io(test_graph *g, int n_in, const int *in, int n_out, const int *out);
/* Plans and binds the arena. */
qb_status tg_ready(test_graph *g);
void *tg_data(test_graph *g, int tensor);

#endif
