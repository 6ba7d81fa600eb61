#include "qb_test.h"
#include "test_graph.h"

static test_graph g;

/* Tensors whose lifetimes overlap must not share arena bytes. */
static int plan_is_sound(const qb_interpreter *it) {
  int32_t a, b;
  for (a = 0; a < it->tensor_count; a++)
    for (b = a + 1; b < it->tensor_count; b++) {
      const qb_tensor *x = &it->tensors[a], *y = &it->tensors[b];
      if (x->is_const || y->is_const || x->last_use < -1 || y->last_use < -1) continue;
      if (x->last_use < y->first_use || y->last_use < x->first_use) continue;
      if (x->arena_offset < y->arena_offset + y->bytes && y->arena_offset < x->arena_offset + x->bytes) return 0;
      if (x->arena_offset + x->bytes > it->arena_required || y->arena_offset + y->bytes > it->arena_required) return 0;
    }
  return 1;
}

int qb_test_plan_is_sound(const qb_interpreter *it) { return plan_is_sound(it); }

void test_planner(void) {
  int32_t d100[1] = {100}, d200[1] = {200};
  int a, b, c, d, e;
  /* chain a -> b -> c: the input a lives to the end; b and c cannot share with it:
   * 112 (a) + 208 (b), c reuses nothing b holds -> 112 + 208 + 112 at most */
  tg_init(&g);
  a = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  b = tg_tensor(&g, QB_TYPE_INT8, 1, d200, 1.0f, 0, 0);
  c = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &a, 1, &b, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &b, 1, &c, 0, 0);
  tg_io(&g, 1, &a, 1, &c);
  CHECK_EQ(qb_plan(&g.it), QB_OK);
  CHECK_EQ(g.it.arena_required, 432);
  CHECK(plan_is_sound(&g.it));

  /* a long chain needs the input plus its two largest neighbours, not the sum of all */
  tg_init(&g);
  a = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  b = tg_tensor(&g, QB_TYPE_INT8, 1, d200, 1.0f, 0, 0);
  c = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  d = tg_tensor(&g, QB_TYPE_INT8, 1, d200, 1.0f, 0, 0);
  e = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &a, 1, &b, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &b, 1, &c, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &c, 1, &d, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &d, 1, &e, 0, 0);
  tg_io(&g, 1, &a, 1, &e);
  CHECK_EQ(qb_plan(&g.it), QB_OK);
  CHECK_EQ(g.it.arena_required, 432); /* the input, one 208-byte and one 112-byte slot */
  CHECK(plan_is_sound(&g.it));

  /* a skip connection keeps a alive until the ADD: a, b, c all overlap at op 1 */
  tg_init(&g);
  a = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  b = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  c = tg_tensor(&g, QB_TYPE_INT8, 1, d100, 1.0f, 0, 0);
  tg_op(&g, QB_OP_RELU, 1, &a, 1, &b, 0, 0);
  {
    int ins[2];
    ins[0] = a;
    ins[1] = b;
    tg_op(&g, QB_OP_ADD, 2, ins, 1, &c, 0, 0);
  }
  tg_io(&g, 1, &a, 1, &c);
  CHECK_EQ(qb_plan(&g.it), QB_OK);
  CHECK_EQ(g.it.arena_required, 336);
  CHECK(plan_is_sound(&g.it));
}
